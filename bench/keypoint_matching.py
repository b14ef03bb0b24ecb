"""Keypoint matching precision (issue 37): `swiftreg keypoints FIXED --match MOVING` on pairs with a
known answer, each moving image a real image deformed by `swiftreg synth warp` (up to 15 mm); the
truth for a fixed point p is p + u(p) with u the known fixed → moving displacement (read with
SimpleITK, an independent reader). Precision is the share of kept matches within 2 mm of the truth.

Cases:
  * same contrast, 3-D brains: four OASIS subjects (lapirn A/B, clapirn A, symnet A), mask = brain > 0;
  * same contrast, lung CT (57×78×64, 2.73×2.73×5 mm): the thoracic CT warped;
  * across contrasts: a T1 brain (lapirn A) against a synthetic contrast of its own three tissue
    classes (`synth classes`, then `synth contrast`: a random intensity per class, noise, blur, bias),
    warped; two paintings of one whole-head label map (`synthseg_label_maps/training_seg_01`, 2 mm),
    the second warped; the ITK T1 slice against its proton-density slice, warped (2-D), and against
    ITK's PD slice shifted by 13, 17 pixels (both with their 20-pixel border; `--filter rigid`).

Usage: python3 bench/keypoint_matching.py [--record bench/results/keypoint_matching.json]
"""
import argparse, json, os, subprocess, time
import numpy as np
import nibabel as nib
import SimpleITK as sitk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
SWIFTREG = os.path.join(ROOT, ".build", "release", "swiftreg")


def run(*args):
    return subprocess.run([SWIFTREG, *args], check=True, capture_output=True, text=True).stdout


def positive_mask(image, path):
    img = nib.load(image)
    nib.save(nib.Nifti1Image((np.asarray(img.dataobj) > 0).astype(np.uint8), img.affine), path)
    return path


def precision(pairs, warp):
    """Kept matches, share within 2 mm, median error; `warp` is a displacement field file or a shift."""
    d = np.loadtxt(pairs, delimiter=",", skiprows=1, ndmin=2)
    if isinstance(warp, tuple):
        dim = len(warp)
        truth = d[:, :dim] + np.array(warp)
    else:
        field = sitk.ReadImage(warp, sitk.sitkVectorFloat64)
        dim = field.GetDimension()
        t = sitk.DisplacementFieldTransform(field)
        truth = np.array([t.TransformPoint(tuple(p)) for p in d[:, :dim]])
    err = np.linalg.norm(truth - d[:, 3:3 + dim], axis=1)
    return len(d), float(np.mean(err < 2)), float(np.median(err))


def case(name, kind, fixed, moving, warp, out, mask=None, extra=()):
    start = time.time()
    pairs = os.path.join(out, name + "_pairs.csv")
    line = run("keypoints", fixed, "--match", moving, "-o", pairs, "--threads", "2", *(["--mask", mask] if mask else []), *extra)
    seconds = time.time() - start
    fields = line.split(",")
    detected, matched = int(fields[0].split()[0]), int(fields[1].split()[0])
    kept, share, median = precision(pairs, warp)
    print(f"{name:28s} {kind:32s} detected {detected:5d} matched {matched:5d} kept {kept:5d} within 2 mm {share:.3f} median {median:.2f} mm {seconds:.1f} s")
    return {"case": name, "kind": kind, "detected": detected, "matchedBothWays": matched, "kept": kept,
            "within2mm": round(share, 4), "medianErrorMM": round(median, 3), "seconds": round(seconds, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/keypoint_matching")
    parser.add_argument("--record")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    o = lambda f: os.path.join(args.out, f)
    cases = []
    brains = [("lapirn_A", "brain/lapirn/image_A_160x192x144.nii.gz"), ("lapirn_B", "brain/lapirn/image_B_160x192x144.nii.gz"),
              ("clapirn_A", "brain/clapirn/image_A_fullsize.nii.gz"), ("symnet_A", "brain/symnet/image_A_full_size.nii.gz")]
    for seed, (name, rel) in enumerate(brains, start=1):
        image = os.path.join(DATA, rel)
        run("synth", "warp", image, "-o", o(name), "--seed", str(seed), "--max-displacement", "15")
        cases.append(case(name, "same contrast", image, o(name + "_moving.nii.gz"), o(name + "_true_warp.nii.gz"), args.out,
                          positive_mask(image, o(name + "_mask.nii.gz"))))
    lung = os.path.join(DATA, "ct/elastix_lung/3DCT_lung_baseline_small.mha")
    run("synth", "warp", lung, "-o", o("lung"), "--seed", "1", "--max-displacement", "15")
    cases.append(case("lung_ct", "same contrast", lung, o("lung_moving.nii.gz"), o("lung_true_warp.nii.gz"), args.out))

    t1 = os.path.join(DATA, "brain/lapirn/image_A_160x192x144.nii.gz")
    run("synth", "classes", t1, "-o", o("classes.nii.gz"))
    run("synth", "contrast", o("classes.nii.gz"), "--seed", "4", "-o", o("classes_painted.nii.gz"))
    run("synth", "warp", o("classes_painted.nii.gz"), "-o", o("t1_vs_painted"), "--seed", "1")
    cases.append(case("t1_vs_painted_classes", "across contrasts", t1, o("t1_vs_painted_moving.nii.gz"),
                      o("t1_vs_painted_true_warp.nii.gz"), args.out, positive_mask(t1, o("t1_mask.nii.gz"))))
    label_map = os.path.join(DATA, "brain/synthseg_label_maps/training_seg_01.nii.gz")
    run("synth", "contrast", label_map, "--shrink", "2", "--seed", "1", "-o", o("paint1.nii.gz"), "--labels-output", o("paint_labels.nii.gz"))
    run("synth", "contrast", label_map, "--shrink", "2", "--seed", "2", "-o", o("paint2.nii.gz"))
    run("synth", "warp", o("paint2.nii.gz"), "-o", o("paintings"), "--seed", "3")
    cases.append(case("two_paintings_2mm", "across contrasts", o("paint1.nii.gz"), o("paintings_moving.nii.gz"),
                      o("paintings_true_warp.nii.gz"), args.out, positive_mask(o("paint_labels.nii.gz"), o("paint_mask.nii.gz"))))
    itk = os.path.join(DATA, "2d/itk_examples")
    run("synth", "warp", os.path.join(itk, "BrainProtonDensitySlice.png"), "-o", o("pd"), "--seed", "1")
    cases.append(case("itk_t1_vs_pd_2d", "across contrasts", os.path.join(itk, "BrainT1Slice.png"), o("pd_moving.nii.gz"),
                      o("pd_true_warp.nii.gz"), args.out))
    cases.append(case("itk_t1_vs_pd_shift_2d", "across contrasts, rigid filter", os.path.join(itk, "BrainT1SliceBorder20.png"),
                      os.path.join(itk, "BrainProtonDensitySliceShifted13x17y.png"), (13.0, 17.0), args.out,
                      extra=("--filter", "rigid", "--search-radius", "30")))
    if args.record:
        json.dump({"started": time.strftime("%Y-%m-%d %H:%M"), "threads": 2, "cases": cases}, open(args.record, "w"), indent=1)


if __name__ == "__main__":
    main()
