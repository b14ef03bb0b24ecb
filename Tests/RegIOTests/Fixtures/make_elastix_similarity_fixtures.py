#!/usr/bin/env python3
"""elastix SimilarityTransform files (3-D and 2-D) and transformix's mapping of two points each,
for ElastixParameterFileTests. Debian's elastix lacks SimilarityTransform, so this uses PyPI
itk-elastix (5.4): `python -m venv v && v/bin/pip install itk-elastix numpy`, then, from this
folder, `v/bin/python make_elastix_similarity_fixtures.py`; the points transformix prints
(`outputpoints.txt`, OutputPoint) go into elastix/similarity_transformix_points.json.
"""
import shutil
import numpy as np
import itk


def is_number(x):
    try:
        float(x)
        return True
    except ValueError:
        return False


for d, size in [(3, (24, 20, 16)), (2, (40, 36))]:
    arr = np.zeros(size[::-1], np.float32)
    idx = np.indices(size[::-1]).astype(float)
    c = np.array(size[::-1]) / 2
    for k, off in enumerate([0, 3, -4]):
        arr += 100 * np.exp(-sum((idx[i] - c[i] - (off if i == 0 else -off / 2)) ** 2 for i in range(d)) / (2 * (3 + k) ** 2))
    fixed, moving = itk.image_from_array(arr), itk.image_from_array(np.roll(arr, 2, axis=-1))
    for image in (fixed, moving):
        image.SetSpacing([1.0, 1.2, 1.5][:d]); image.SetOrigin([5.0, -30.0, 10.0][:d])
    parameters = itk.ParameterObject.New()
    stage = parameters.GetDefaultParameterMap("rigid")
    stage["Transform"] = ["SimilarityTransform"]
    stage["MaximumNumberOfIterations"] = ["60"]
    parameters.AddParameterMap(stage)
    _, result = itk.elastix_registration_method(fixed, moving, parameter_object=parameters, log_to_console=False)
    found = result.GetParameterMap(0)
    with open(f"elastix/similarity{d}d_TransformParameters.0.txt", "w") as f:
        for key in found.keys():
            f.write("(" + key + " " + " ".join(v if is_number(v) else '"' + v + '"' for v in found[key]) + ")\n")
    with open(f"points{d}.txt", "w") as f:
        f.write("point\n2\n" + "\n".join(" ".join(map(str, p[:d])) for p in [[8.0, -25.0, 14.0], [20.0, -10.0, 25.0]]) + "\n")
    transformix = itk.TransformixFilter.New(moving)
    transformix.SetTransformParameterObject(result)
    transformix.SetFixedPointSetFileName(f"points{d}.txt")
    transformix.SetOutputDirectory(".")
    transformix.UpdateLargestPossibleRegion()
    shutil.move("outputpoints.txt", f"outputpoints{d}.txt")
