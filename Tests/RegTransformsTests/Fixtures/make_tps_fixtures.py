"""Reference values for ThinPlateSplineTests, computed independently with SciPy's
RBFInterpolator (a thin-plate spline is a radial basis interpolant with a degree-1 polynomial:
kernel 'linear' (-r) in 3-D, 'thin_plate_spline' (r^2 log r) in 2-D).
Run: python3 make_tps_fixtures.py > tps.json"""
import json
import numpy as np
from scipy.interpolate import RBFInterpolator

rng = np.random.default_rng(7)
out = {}
for dim, kernel in ((3, "linear"), (2, "thin_plate_spline")):
    fixed = rng.uniform(-40, 40, size=(9, dim))
    moving = fixed @ (np.eye(dim) + rng.uniform(-0.1, 0.1, size=(dim, dim))).T + rng.uniform(-5, 5, size=(9, dim))
    queries = rng.uniform(-50, 50, size=(5, dim))
    for smoothing in ((0.0, 0.5) if dim == 2 else (0.0,)):
        f = RBFInterpolator(fixed, moving, kernel=kernel, degree=1, smoothing=smoothing)
        out[f"{dim}d_smoothing{smoothing}"] = {"fixed": fixed.tolist(), "moving": moving.tolist(),
                                               "queries": queries.tolist(), "mapped": f(queries).tolist()}
print(json.dumps(out, indent=1))
