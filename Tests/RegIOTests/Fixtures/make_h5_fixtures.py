#!/usr/bin/env python3
"""ITK HDF5 transform files and the points they map, for HDF5TransformFileTests.

- ants_Composite.h5 / ants_InverseComposite.h5: antspyx `ants.registration(type_of_transform="SyN",
  write_composite_transform=True)` on the oblique warps/ fixtures (affine + SyN field, as
  antsRegistration --write-composite-transform writes them), with points mapped by
  `ants.apply_transforms_to_points` (LPS, the image transform's direction: fixed → moving) and
  the moving image warped by `ants.apply_transforms`.
- sitk_*.h5: SimpleITK `WriteTransform` of a 3-D BSplineTransform, a 2-D displacement field and a
  composite (Euler, then a B-spline), with points mapped by `TransformPoint`.

Run from this folder: python3 make_h5_fixtures.py (needs antspyx, SimpleITK, numpy, pandas).
"""
import json, os, shutil
import numpy as np
import SimpleITK as sitk
import ants

os.makedirs("h5", exist_ok=True)
out = {}
rng = np.random.default_rng(11)

fixed = ants.image_read("warps/fixed.nii.gz")
moving = ants.image_read("warps/moving.nii.gz")
reg = ants.registration(fixed, moving, type_of_transform="SyN", reg_iterations=(20, 10), write_composite_transform=True,
                        outprefix=os.path.abspath("h5") + "/ants_", verbose=False)
assert reg["fwdtransforms"].endswith("Composite.h5"), reg["fwdtransforms"]
ants.image_write(ants.apply_transforms(fixed, moving, transformlist=[reg["fwdtransforms"]], interpolator="linear"),
                 "h5/ants_warped.nii.gz")
for name in os.listdir("h5"):
    if name.startswith("ants_") and not name.endswith((".h5", "warped.nii.gz")):
        os.remove("h5/" + name)
arr = fixed.numpy()
idx = np.array([[i, j, k] for i in range(2, arr.shape[0] - 2, 5) for j in range(2, arr.shape[1] - 2, 5) for k in range(2, arr.shape[2] - 2, 5)], float)
D = np.array(fixed.direction).reshape(3, 3)
pts = np.array(fixed.origin) + (idx * np.array(fixed.spacing)) @ D.T
import pandas as pd
df = pd.DataFrame(pts, columns=["x", "y", "z"])
for name, path in [("ants_Composite.h5", reg["fwdtransforms"]), ("ants_InverseComposite.h5", reg["invtransforms"])]:
    mapped = ants.apply_transforms_to_points(3, df, [path]).values
    out[name] = [{"in": [float(v) for v in p], "out": [float(v) for v in q]} for p, q in zip(pts, mapped)]

def record(name, transform, points):
    sitk.WriteTransform(transform, "h5/" + name)
    d = transform.GetDimension()
    out[name] = [{"in": list(p) + ([0.0] if d == 2 else []), "out": list(transform.TransformPoint(list(p))) + ([0.0] if d == 2 else [])}
                 for p in points]

grid_image = sitk.Image([20, 18, 16], sitk.sitkFloat32)
grid_image.SetSpacing((1.2, 1.0, 1.4)); grid_image.SetOrigin((-10.0, 20.0, 5.0))
grid_image.SetDirection(sitk.Euler3DTransform((0, 0, 0), 0.1, -0.15, 0.2).GetMatrix())
bspline = sitk.BSplineTransformInitializer(grid_image, [4, 3, 5], 3)
bspline.SetParameters(list(rng.normal(0, 1.5, len(bspline.GetParameters()))))
inside = [grid_image.TransformContinuousIndexToPhysicalPoint([float(v) for v in rng.uniform([0, 0, 0], [19, 17, 15])]) for _ in range(12)]
outside = [(200.0, -150.0, 80.0)]
record("sitk_bspline3d.h5", bspline, inside + outside)

plane = sitk.Image([14, 12], sitk.sitkVectorFloat64, 2)
plane.SetSpacing((1.5, 0.8)); plane.SetOrigin((3.0, -7.0)); plane.SetDirection((0.8, -0.6, 0.6, 0.8))
values = rng.normal(0, 2.0, (12, 14, 2))
field_image = sitk.GetImageFromArray(values, isVector=True)
field_image.CopyInformation(plane)
field = sitk.DisplacementFieldTransform(sitk.Cast(field_image, sitk.sitkVectorFloat64))
pts2 = [plane.TransformContinuousIndexToPhysicalPoint([float(v) for v in rng.uniform([0, 0], [13, 11])]) for _ in range(10)]
record("sitk_field2d.h5", field, pts2)

composite = sitk.CompositeTransform(3)
composite.AddTransform(sitk.Euler3DTransform((-4.0, 27.0, 16.0), 0.05, -0.1, 0.08, (1.5, -2.0, 0.5)))
composite.AddTransform(bspline)
record("sitk_composite.h5", composite, inside)

json.dump(out, open("h5_reference.json", "w"), indent=1)
