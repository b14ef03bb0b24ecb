"""SimpleITK (ITK) timings of the kernels `swiftreg bench` also times, on the same image and thread count:
trilinear warp by a dense displacement field (the same smooth ±2 mm field) and Gaussian smoothing, σ = 2 voxels
(recursive IIR and discrete kernel). Writes {kernel name: median ms} as JSON.
Usage: kernels_sitk.py IMAGE THREADS OUT.json"""
import json
import sys
import time
import numpy as np
import SimpleITK as sitk

image = sitk.Cast(sitk.ReadImage(sys.argv[1]), sitk.sitkFloat32)
sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(sys.argv[2]))
nx, ny, nz = image.GetSize()
z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
u = np.stack([2 * np.sin(y * 0.05 + z * 0.06), 2 * np.cos(x * 0.07 + z * 0.06), 2 * np.sin(x * 0.07 - y * 0.05)], axis=-1)
field = sitk.GetImageFromArray(u.astype(np.float64), isVector=True)
field.CopyInformation(image)
transform = sitk.DisplacementFieldTransform(field)
sigma = [2 * s for s in image.GetSpacing()]


def median_ms(body, repeats=5):
    body()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        body()
        times.append(1000 * (time.perf_counter() - t0))
    return sorted(times)[repeats // 2]


out = {
    "warp, trilinear, dense field": median_ms(lambda: sitk.Resample(image, image, transform, sitk.sitkLinear, 0.0)),
    "gaussian σ=2 vox": median_ms(lambda: sitk.SmoothingRecursiveGaussian(image, sigma)),
    "gaussian σ=2 vox (discrete kernel)": median_ms(lambda: sitk.DiscreteGaussian(image, [s * s for s in sigma], 32, 0.01, False)),
}
json.dump(out, open(sys.argv[3], "w"), indent=1)
