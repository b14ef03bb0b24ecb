#!/usr/bin/env python3
"""elastix chains and transformix's answers for ElastixParameterFileTests and the CLI's apply test.

For a 2-D pair (Euler, then B-spline) and a 3-D pair (Euler, then affine, then B-spline), on
oblique, anisotropic grids with non-zero origins, `elastix` (Debian 5.x) writes the parameter
files; `transformix` then resamples the moving image with the last file (cubic B-spline
interpolation, float output) and writes the deformation field (`-def all`: T(x) − x at every
fixed voxel, LPS mm). The files are renamed per case and each chain's
InitialTransformParametersFileName is left as elastix wrote it (an absolute path in a temporary
folder that no longer exists), so the reader must find the file beside the one naming it.

Run from this folder: python3 make_elastix_fixtures.py (needs elastix, transformix, SimpleITK, numpy).
"""
import glob, os, shutil, subprocess, tempfile
import numpy as np
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "elastix")

STAGE = """(FixedImageDimension {d})
(MovingImageDimension {d})
(FixedInternalImagePixelType "float")
(MovingInternalImagePixelType "float")
(UseDirectionCosines "true")
(Registration "MultiResolutionRegistration")
(Interpolator "BSplineInterpolator")
(ResampleInterpolator "FinalBSplineInterpolator")
(FinalBSplineInterpolationOrder 3)
(Resampler "DefaultResampler")
(FixedImagePyramid "FixedSmoothingImagePyramid")
(MovingImagePyramid "MovingSmoothingImagePyramid")
(Optimizer "AdaptiveStochasticGradientDescent")
(ImageSampler "RandomCoordinate")
(NumberOfSpatialSamples 2000)
(NewSamplesEveryIteration "true")
(HowToCombineTransforms "Compose")
(Metric "AdvancedMeanSquares")
(AutomaticScalesEstimation "true")
(AutomaticTransformInitialization "{init}")
(Transform "{transform}")
(NumberOfResolutions 2)
(MaximumNumberOfIterations 150)
(FinalGridSpacingInPhysicalUnits {grid})
(DefaultPixelValue 0)
(WriteResultImage "false")
(ResultImagePixelType "float")
(ResultImageFormat "nii.gz")
(RandomSeed 7)
"""


def blobs(size, spacing, origin, direction, seed):
    """A smooth image: a few Gaussian blobs in physical space (so the pair has structure to align)."""
    rng = np.random.default_rng(seed)
    d = len(size)
    img = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
    img.SetSpacing(spacing); img.SetOrigin(origin); img.SetDirection(direction)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in size], indexing="ij"), -1).reshape(-1, d).astype(float)
    D = np.array(direction).reshape(d, d)
    pts = np.array(origin) + (idx * np.array(spacing)) @ D.T
    centre = pts.mean(0)
    extent = pts.max(0) - pts.min(0)
    values = np.zeros(len(pts))
    for _ in range(7):
        c = centre + (rng.random(d) - 0.5) * 0.6 * extent
        r = (0.08 + 0.1 * rng.random()) * extent.min()
        values += (50 + 100 * rng.random()) * np.exp(-((pts - c) ** 2).sum(1) / (2 * r * r))
    arr = values.reshape(size).transpose(list(range(d))[::-1])      # numpy z,y,x order
    out = sitk.GetImageFromArray(arr.astype(np.float32))
    out.CopyInformation(img)
    return out


def rotation(d, angles):
    if d == 2:
        a = angles[0]
        return [np.cos(a), -np.sin(a), np.sin(a), np.cos(a)]
    r = sitk.Euler3DTransform((0, 0, 0), *angles).GetMatrix()
    return list(r)


def case(name, size, spacing, origin, direction, stages, moving_transform):
    d = len(size)
    fixed = blobs(size, spacing, origin, direction, 3)
    moving = sitk.Resample(fixed, fixed, moving_transform, sitk.sitkBSpline, 0.0)
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        f, m = os.path.join(tmp, "fixed.nii.gz"), os.path.join(tmp, "moving.nii.gz")
        sitk.WriteImage(fixed, f); sitk.WriteImage(moving, m)
        cmd = ["elastix", "-f", f, "-m", m, "-out", tmp]
        for i, (transform, grid) in enumerate(stages):
            p = os.path.join(tmp, f"stage{i}.txt")
            open(p, "w").write(STAGE.format(d=d, transform=transform, grid=grid, init="true" if i == 0 else "false"))
            cmd += ["-p", p]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        last = os.path.join(tmp, f"TransformParameters.{len(stages) - 1}.txt")
        subprocess.run(["transformix", "-in", m, "-out", tmp, "-tp", last, "-def", "all"], check=True, stdout=subprocess.DEVNULL)
        for p in glob.glob(os.path.join(tmp, "TransformParameters.*.txt")):
            shutil.copy(p, os.path.join(OUT, f"{name}_{os.path.basename(p)}"))
        # The chain names the earlier files by their elastix names: keep those names beside ours.
        for i in range(len(stages)):
            src = os.path.join(OUT, f"{name}_TransformParameters.{i}.txt")
            text = open(src).read().replace(os.path.join(tmp, "TransformParameters."), f"/nonexistent/{name}_TransformParameters.")
            open(src, "w").write(text)
        shutil.copy(f, os.path.join(OUT, f"{name}_fixed.nii.gz"))
        shutil.copy(m, os.path.join(OUT, f"{name}_moving.nii.gz"))
        shutil.copy(os.path.join(tmp, "result.nii.gz"), os.path.join(OUT, f"{name}_transformix.nii.gz"))
        field = sitk.ReadImage(os.path.join(tmp, "deformationField.nii.gz"))
        sitk.WriteImage(sitk.Cast(field, sitk.sitkVectorFloat32), os.path.join(OUT, f"{name}_deformation.nii.gz"))


if __name__ == "__main__":
    d2 = rotation(2, [0.35])
    t2 = sitk.Euler2DTransform((10.0, -4.0), 0.12, (3.0, -2.0))
    case("chain2d", [48, 40], (0.9, 1.2), (-12.0, 7.5), d2, [("EulerTransform", 8), ("BSplineTransform", 8)], t2)
    d3 = rotation(3, [0.1, -0.2, 0.25])
    t3 = sitk.AffineTransform((1.04, 0.03, -0.02, 0.01, 0.96, 0.05, -0.04, 0.02, 1.03), (2.0, -1.5, 1.0), (-3.0, 5.0, 8.0))
    case("chain3d", [26, 22, 18], (1.1, 0.9, 1.6), (-20.0, 12.0, 4.0), d3,
         [("EulerTransform", 10), ("AffineTransform", 10), ("BSplineTransform", 10)], t3)
