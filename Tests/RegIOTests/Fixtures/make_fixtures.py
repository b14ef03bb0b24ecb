#!/usr/bin/env python3
"""Reference values for SwiftReg's I/O tests, computed independently with SimpleITK and nibabel.

Run from the repository root with `python3 Tests/RegIOTests/Fixtures/make_fixtures.py`
(needs `pip install SimpleITK nibabel scipy numpy` and ../shared/data). Writes, beside this script:
  shared_data_reference.json   geometry (LPS) and voxel checksums of every image under ../shared/data,
                               as SimpleITK reads them; nibabel's reading of NIfTI files is cross-checked
  lapirn_segA_on_imageA.nii.gz seg A resampled (nearest) onto image A's grid through both headers, by
                               SimpleITK; checked against scipy.ndimage.map_coordinates on nibabel affines
  oblique_sitk.nii.gz          a small oblique, anisotropic image written by SimpleITK
  oblique_reference.json       its geometry and the RAS affine nibabel reads from it
"""
import glob, json, math, os, sys
import numpy as np
import SimpleITK as sitk
import nibabel as nib
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.abspath(os.path.join(HERE, "../../../../shared/data"))
EXTS = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".jpg", ".jpeg")


def checksums(arr, ncomp):
    """arr: numpy array in SimpleITK order (z, y, x[, c]) or nibabel order reversed. Returns
    (sum of all values, sum over component 0 of v * (i % 7 + 1) with i the x-fastest voxel index)."""
    a = np.asarray(arr, dtype=np.float64)
    total = float(a.sum())
    first = a[..., 0] if ncomp > 1 else a
    flat = first.reshape(-1)
    weights = (np.arange(flat.size) % 7 + 1).astype(np.float64)
    return total, float((flat * weights).sum())


def sitk_entry(path):
    img = sitk.ReadImage(path)
    dim = img.GetDimension()
    ncomp = img.GetNumberOfComponentsPerPixel()
    arr = sitk.GetArrayFromImage(img)  # (z, y, x[, c]) or for 4-D (t, z, y, x)
    size = list(img.GetSize())
    spacing = list(img.GetSpacing())
    origin = list(img.GetOrigin())
    direction = np.array(img.GetDirection()).reshape(dim, dim)
    if dim == 4:  # a 4-D NIfTI series: SwiftReg holds it as components
        ncomp = size[3]
        arr = np.moveaxis(arr, 0, -1)
        size, spacing, origin, direction = size[:3], spacing[:3], origin[:3], direction[:3, :3]
        dim = 3
    if path.lower().endswith((".png", ".jpg", ".jpeg")) and ncomp > 1:
        # RGB slices with equal channels: SwiftReg reads them as grey, which is any channel.
        assert all((arr[..., 0] == arr[..., k]).all() for k in range(min(ncomp, 3))), path
        arr, ncomp = arr[..., 0], 1
    d3 = np.eye(3)
    d3[:dim, :dim] = direction[:dim, :dim]
    while len(size) < 3:
        size.append(1); spacing.append(1.0); origin.append(0.0)
    total, weighted = checksums(arr, ncomp)
    return {
        "dimension": dim, "size": size, "spacing": spacing, "origin": origin,
        "direction": d3.reshape(-1).tolist(), "components": ncomp,
        "pixel": img.GetPixelIDTypeAsString(), "sum": total, "weighted_sum": weighted,
    }


def nibabel_check(path, entry):
    """Cross-check SimpleITK's geometry against nibabel's affine (converted to LPS)."""
    im = nib.load(path)
    aff = im.affine
    lps = np.diag([-1, -1, 1]) @ aff[:3, :3]
    origin = np.diag([-1, -1, 1]) @ aff[:3, 3]
    d = entry["dimension"]
    sp = np.array(entry["spacing"][:d])
    direction = np.array(entry["direction"]).reshape(3, 3)
    ok_origin = np.allclose(origin[:d], entry["origin"][:d], atol=1e-3)
    ok_dir = np.allclose(lps[:d, :d] / sp, direction[:d, :d], atol=1e-4)
    return bool(ok_origin and ok_dir)


def main():
    if not os.path.isdir(DATA):
        sys.exit(f"no shared data at {DATA}")
    files = sorted(f for f in glob.glob(os.path.join(DATA, "**", "*"), recursive=True)
                   if f.lower().endswith(EXTS))
    reference = {}
    for f in files:
        rel = os.path.relpath(f, DATA)
        entry = sitk_entry(f)
        if f.endswith((".nii", ".nii.gz")):
            entry["nibabel_agrees"] = nibabel_check(f, entry)
        reference[rel] = entry
        print(rel, entry["size"], entry["pixel"], entry.get("nibabel_agrees", ""))
    with open(os.path.join(HERE, "shared_data_reference.json"), "w") as out:
        json.dump({"generator": "SimpleITK " + sitk.Version.VersionString() + ", nibabel " + nib.__version__,
                   "files": reference}, out, indent=1, sort_keys=True)

    # Seg A onto image A through both headers, nearest neighbour.
    a_path = os.path.join(DATA, "brain/lapirn/image_A_160x192x144.nii.gz")
    s_path = os.path.join(DATA, "brain/lapirn/image_A_160x192x144_seg.nii.gz")
    image_a, seg_a = sitk.ReadImage(a_path), sitk.ReadImage(s_path)
    resampled = sitk.Resample(seg_a, image_a, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    sitk.WriteImage(resampled, os.path.join(HERE, "lapirn_segA_on_imageA.nii.gz"), True)
    # Independent check with nibabel affines and scipy.
    ia, sa = nib.load(a_path), nib.load(s_path)
    vox = np.indices(ia.shape).reshape(3, -1)
    world = ia.affine[:3, :3] @ vox + ia.affine[:3, 3:4]
    src = np.linalg.inv(sa.affine)[:3, :3] @ world + np.linalg.inv(sa.affine)[:3, 3:4]
    scipy_result = ndimage.map_coordinates(np.asarray(sa.dataobj), src, order=0, mode="constant", cval=0)
    sitk_result = np.transpose(sitk.GetArrayFromImage(resampled), (2, 1, 0)).reshape(-1)
    mismatch = int((scipy_result != sitk_result).sum())
    print("seg A onto image A: SimpleITK vs scipy mismatching voxels:", mismatch)

    # A small oblique anisotropic image written by SimpleITK, and nibabel's affine of it.
    def rot(axis, deg):
        c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
        m = np.eye(3); i, j = [(1, 2), (0, 2), (0, 1)][axis]
        m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
        return m
    direction = rot(2, 20) @ rot(0, -15) @ rot(1, 10)
    size, spacing, origin = (7, 6, 5), (0.7, 1.1, 2.3), (-12.5, 30.25, 7.75)
    arr = np.fromfunction(lambda z, y, x: x + 10 * y + 100 * z, size[::-1]).astype(np.float32)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing); img.SetOrigin(origin); img.SetDirection(direction.reshape(-1).tolist())
    sitk.WriteImage(img, os.path.join(HERE, "oblique_sitk.nii.gz"))
    nimg = nib.load(os.path.join(HERE, "oblique_sitk.nii.gz"))
    with open(os.path.join(HERE, "oblique_reference.json"), "w") as out:
        json.dump({"size": size, "spacing": spacing, "origin": origin,
                   "direction": direction.reshape(-1).tolist(),
                   "nibabel_affine": nimg.affine.reshape(-1).tolist()}, out, indent=1)


if __name__ == "__main__":
    main()
