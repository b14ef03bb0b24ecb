"""The ten whole-head label maps (`brain/synthseg_label_maps`) painted with one shared T1-like
contrast (`swiftreg synth contrast --seed 7`) at 2 mm and cropped to the head (+4 voxels), with
their labels: the labelled cohort of the template and batch benchmarks."""
import os
import subprocess
import numpy as np
import nibabel as nib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAPS = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain", "synthseg_label_maps")


def painted_heads(out, swiftreg, count=10):
    """Writes headNN.nii.gz and headNN_labels.nii.gz in `out`; returns (images, labels)."""
    images, labels = [], []
    for i in range(1, count + 1):
        img, lab = os.path.join(out, f"head{i:02d}.nii.gz"), os.path.join(out, f"head{i:02d}_labels.nii.gz")
        subprocess.run([swiftreg, "synth", "contrast", os.path.join(MAPS, f"training_seg_{i:02d}.nii.gz"), "--shrink", "2", "--seed", "7",
                        "-o", img, "--labels-output", lab], check=True)
        a, l = nib.load(img), nib.load(lab)
        la = np.asarray(l.dataobj)
        nz = np.argwhere(la > 0)
        lo, hi = np.maximum(nz.min(0) - 4, 0), np.minimum(nz.max(0) + 5, la.shape)
        crop = tuple(slice(x, y) for x, y in zip(lo, hi))
        affine = a.affine.copy()
        affine[:3, 3] = (a.affine @ np.array([*lo, 1]))[:3]
        nib.save(nib.Nifti1Image(np.asarray(a.dataobj, dtype=np.float32)[crop], affine), img)
        nib.save(nib.Nifti1Image(la[crop].astype(np.int16), affine), lab)
        images.append(img)
        labels.append(lab)
    return images, labels
