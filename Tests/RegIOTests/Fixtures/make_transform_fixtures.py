#!/usr/bin/env python3
"""Transform files written by SimpleITK and ANTs (antspyx), and the points they map, for
TransformFileTests. Run from this folder: python3 make_transform_fixtures.py"""
import json
import SimpleITK as sitk
import ants

points3 = [[0, 0, 0], [10.5, -20.25, 33], [-47, 61.5, -12.75]]
points2 = [[0, 0, 0], [110, 128, 0], [-35.5, 12.25, 0]]
out = {}

def record(name, transform, points):
    path = f"transforms/{name}"
    sitk.WriteTransform(transform, path)
    d = transform.GetDimension()
    out[name] = [{"in": p, "out": list(transform.TransformPoint(p[:d])) + ([0.0] if d == 2 else [])} for p in points]

t = sitk.Euler3DTransform((12.5, -7.25, 30.0), 0.1, -0.2, 0.3, (4.5, -3.0, 11.0))
record("euler3d.tfm", t, points3)
t = sitk.Similarity3DTransform(1.08, (0.2, 0.5, -0.3), 0.25, (1.0, -2.0, 3.5), (-9.0, 14.0, 2.5))
record("similarity3d.txt", t, points3)
t = sitk.VersorRigid3DTransform()
t.SetCenter((20.0, -10.0, 5.0))
t.SetParameters((0.1, -0.05, 0.2, 5.0, 6.0, -7.0))
record("versorrigid3d.tfm", t, points3)
t = sitk.AffineTransform((1.05, 0.04, -0.03, 0.02, 0.93, 0.06, -0.05, 0.01, 1.1), (3.0, -4.0, 5.5), (-15.0, 22.0, 8.0))
record("affine3d.mat", t, points3)
record("affine3d.txt", t, points3)
t = sitk.Euler2DTransform((110.0, 128.0), 0.17453292519943295, (13.0, 17.0))
record("euler2d.txt", t, points2)
t = sitk.Similarity2DTransform(0.9, -0.4, (2.5, -1.5), (40.0, -30.0))
record("similarity2d.tfm", t, points2)

# ANTs: an affine written by antspyx (as antsRegistration writes its 0GenericAffine.mat).
a = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                               matrix=[[0.97, -0.05, 0.02], [0.04, 1.06, -0.03], [0.01, 0.02, 0.99]],
                               translation=[-6.0, 2.5, 9.0], center=[10.0, -12.0, 4.0])
ants.write_transform(a, "transforms/ants_affine.mat")
out["ants_affine.mat"] = [{"in": p, "out": list(a.apply_to_point(p))} for p in points3]

with open("transforms_reference.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote", len(out), "transform fixtures")
