#!/usr/bin/env python3
"""Independent reference for SwiftReg's label metrics (SimpleITK + scipy).

  label_metrics_reference.py REFERENCE TEST        prints per-label metrics as JSON
  label_metrics_reference.py --make-fixtures DIR   writes the synthetic oblique, anisotropic
                                                   label images and their expected metrics

Dice and Jaccard come from SimpleITK's LabelOverlapMeasuresImageFilter. Boundaries are
label XOR its erosion by the face-connected structuring element with a zero border (MedPy);
distances come from scipy's exact Euclidean distance transform with the voxel spacing;
HD95 is numpy's 95th percentile of both directions' boundary distances together, ASSD the
mean of the two directions' means.
"""
import json
import sys

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def boundary(mask):
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask ^ ndimage.binary_erosion(mask, structure=structure, border_value=0)


def metrics(ref_path, test_path):
    ref, test = sitk.ReadImage(ref_path), sitk.ReadImage(test_path)
    test.CopyInformation(ref)
    a, b = sitk.GetArrayFromImage(ref), sitk.GetArrayFromImage(test)
    if ref.GetDimension() == 3 and a.shape[0] == 1:
        a, b = a[0], b[0]
    spacing = list(reversed(ref.GetSpacing()))[-a.ndim:]
    overlap = sitk.LabelOverlapMeasuresImageFilter()
    overlap.Execute(sitk.Cast(ref, sitk.sitkInt32), sitk.Cast(test, sitk.sitkInt32))
    out = {}
    for label in sorted(set(np.unique(a)) | set(np.unique(b))):
        if label == 0:
            continue
        ma, mb = a == label, b == label
        entry = {"dice": overlap.GetDiceCoefficient(int(label)) if ma.any() and mb.any() else 0.0,
                 "jaccard": overlap.GetJaccardCoefficient(int(label)) if ma.any() and mb.any() else 0.0}
        if ma.any() and mb.any():
            ba, bb = boundary(ma), boundary(mb)
            d_ab = ndimage.distance_transform_edt(~bb, sampling=spacing)[ba]
            d_ba = ndimage.distance_transform_edt(~ba, sampling=spacing)[bb]
            both = np.hstack([d_ab, d_ba])
            entry.update(hd95=float(np.percentile(both, 95)), assd=float((d_ab.mean() + d_ba.mean()) / 2),
                         hausdorff=float(both.max()))
        out[str(int(label))] = entry
    return out


def ellipsoid(shape, centre, radii):
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1


def make_fixtures(folder):
    rng = np.random.default_rng(7)
    # 3-D, array order (z, y, x): 20 × 40 × 48, spacing x 0.7, y 0.9, z 2.2, oblique.
    shape = (20, 40, 48)
    ref = np.zeros(shape, np.int16)
    test = np.zeros(shape, np.int16)
    ref[ellipsoid(shape, (10, 20, 22), (6, 12, 15))] = 1
    test[ellipsoid(shape, (10.6, 21.5, 24), (5.5, 13, 14))] = 1
    ref[ellipsoid(shape, (9, 17, 30), (4, 6, 7))] = 2
    test[ellipsoid(shape, (8, 18, 28), (4, 7, 6))] = 2
    ref[0:6, 0:9, 38:48] = 5            # touches the image edge
    test[0:5, 0:11, 36:48] = 5
    noise = rng.random(shape) < 0.01    # isolated voxels: tiny components
    test[noise & (test == 0)] = 2
    angle = np.deg2rad(20)
    c, s = np.cos(angle), np.sin(angle)
    direction = np.array([[c, -s, 0], [s * 0.8, c * 0.8, 0.6], [-s * 0.6, -c * 0.6, 0.8]])
    for name, array in (("ref3d", ref), ("test3d", test)):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.7, 0.9, 2.2))
        image.SetOrigin((-20.0, 14.0, 7.5))
        image.SetDirection(direction.flatten().tolist())
        sitk.WriteImage(image, f"{folder}/{name}.nii.gz")
    # 2-D: 50 × 60 pixels, spacing x 0.6, y 1.3.
    shape2 = (50, 60)
    ref2 = np.zeros(shape2, np.int16)
    test2 = np.zeros(shape2, np.int16)
    ref2[ellipsoid(shape2, (25, 28), (14, 20))] = 3
    test2[ellipsoid(shape2, (27, 31), (12, 22))] = 3
    ref2[5:15, 40:60] = 7
    test2[3:14, 44:60] = 7
    for name, array in (("ref2d", ref2), ("test2d", test2)):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.6, 1.3))
        image.SetOrigin((4.0, -9.0))
        sitk.WriteImage(image, f"{folder}/{name}.nii.gz")
    expected = {"3d": metrics(f"{folder}/ref3d.nii.gz", f"{folder}/test3d.nii.gz"),
                "2d": metrics(f"{folder}/ref2d.nii.gz", f"{folder}/test2d.nii.gz")}
    with open(f"{folder}/label_metrics.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    if sys.argv[1] == "--make-fixtures":
        make_fixtures(sys.argv[2])
    else:
        print(json.dumps(metrics(sys.argv[1], sys.argv[2])))
