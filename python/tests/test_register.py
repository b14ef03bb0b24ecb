"""Registration from Python: the same warp as the command line, bit for bit; transforms that
SimpleITK and ANTsPy apply to the same warped image; cancellation from a callback within one
iteration; bad input as exceptions; memory that stays flat over many calls."""
import json
import os
import subprocess

import numpy as np
import pytest

import swiftreg


def blobs(shape, shift=(0.0, 0.0, 0.0)):
    """A smooth test object: Gaussian blobs, moved by `shift` voxels."""
    grid = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    rng = np.random.default_rng(5)
    out = np.zeros(shape)
    for _ in range(7):
        centre = rng.uniform(0.3, 0.7, len(shape)) * np.array(shape) + np.array(shift[:len(shape)])
        width = rng.uniform(0.08, 0.15) * min(shape)
        out += 100 * np.exp(-sum((g - c) ** 2 for g, c in zip(grid, centre)) / (2 * width ** 2))
    return out.astype(np.float32)


@pytest.fixture
def pair(tmp_path):
    """A 3-D pair on an oblique anisotropic grid, the moving one shifted (written, so the CLI reads the same)."""
    geometry = dict(spacing=(1.5, 1.2, 2.0), origin=(-20, 10, 5), direction=np.array([[0.98, -0.17, 0.0], [0.17, 0.98, 0.0], [0, 0, 1]]))
    geometry["direction"] = np.linalg.qr(geometry["direction"])[0] * np.sign(np.diag(np.linalg.qr(geometry["direction"])[0]))
    swiftreg.Image(blobs((32, 30, 24)), **geometry).write(tmp_path / "fixed.nii.gz")
    swiftreg.Image(blobs((32, 30, 24), shift=(2.5, -1.5, 1.0)), **geometry).write(tmp_path / "moving.nii.gz")
    return tmp_path / "fixed.nii.gz", tmp_path / "moving.nii.gz"


def lapirn_half(data, tmp_path):
    """The lapirn pair at 2 mm (2×2×2 block means), whole brains."""
    nib = pytest.importorskip("nibabel")
    paths = []
    for name in ("A", "B"):
        img = nib.load(os.path.join(data, "brain", "lapirn", f"image_{name}_160x192x144.nii.gz"))
        a = np.asarray(img.dataobj, dtype=np.float32)
        half = a.reshape(80, 2, 96, 2, 72, 2).mean(axis=(1, 3, 5))
        affine = img.affine @ np.diag([2.0, 2.0, 2.0, 1.0])
        affine[:3, 3] = (img.affine @ [0.5, 0.5, 0.5, 1])[:3]
        path = tmp_path / f"lapirn_{name}.nii.gz"
        nib.save(nib.Nifti1Image(half, affine), path)
        paths.append(path)
    return paths


def fields_equal(a, b):
    nib = pytest.importorskip("nibabel")
    return np.array_equal(np.asanyarray(nib.load(a).dataobj), np.asanyarray(nib.load(b).dataobj))


def test_the_lapirn_pair_gives_the_clis_warp_bit_for_bit(cli, data, tmp_path):
    fixed, moving = lapirn_half(data, tmp_path)
    subprocess.run([cli, "register", "-f", str(fixed), "-m", str(moving), "--preset", "syn", "-o", str(tmp_path / "cli"), "-q", "--threads", "2"], check=True)
    result = swiftreg.register(swiftreg.Image.read(fixed), swiftreg.Image.read(moving), preset="syn", threads=2, progress=False)
    result.save(tmp_path / "py")
    for suffix in ("_warp.nii.gz", "_inverse_warp.nii.gz", "_warped.nii.gz"):
        assert fields_equal(f"{tmp_path}/cli{suffix}", f"{tmp_path}/py{suffix}"), suffix
    with open(f"{tmp_path}/cli_affine.txt") as a, open(f"{tmp_path}/py_affine.txt") as b:
        assert a.read() == b.read()
    summary = json.load(open(f"{tmp_path}/cli_summary.json"))
    assert result.summary["correlationAfter"] == summary["correlationAfter"] > summary["correlationBefore"] + 0.05


def test_the_transforms_applied_by_simpleitk_and_antspy_match_warped(pair, tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    fixed, moving = pair
    result = swiftreg.register(fixed, moving, preset="syn", progress=False)
    files = result.save(tmp_path / "reg")
    warped = result.warped.array
    tolerance = 1e-3 * (warped.max() - warped.min())
    # SimpleITK: fixed points go through the warp first, then the affine (ITK applies the last added first).
    composite = sitk.CompositeTransform(3)
    composite.AddTransform(sitk.ReadTransform(str(tmp_path / "reg_affine.txt")))
    composite.AddTransform(sitk.DisplacementFieldTransform(sitk.Cast(sitk.ReadImage(str(tmp_path / "reg_warp.nii.gz")), sitk.sitkVectorFloat64)))
    theirs = sitk.Resample(sitk.ReadImage(str(moving), sitk.sitkFloat32), sitk.ReadImage(str(fixed), sitk.sitkFloat32), composite, sitk.sitkLinear, 0.0)
    difference = np.abs(sitk.GetArrayFromImage(theirs).T - warped)
    assert np.percentile(difference, 99.9) < tolerance, difference.max()
    # The library's own apply through the saved files, and through the result's transforms.
    np.testing.assert_allclose(swiftreg.apply(moving, fixed, [tmp_path / "reg_warp.nii.gz", tmp_path / "reg_affine.txt"]).array, warped, atol=tolerance)
    np.testing.assert_allclose(result.transforms.apply(moving, fixed).array, warped, atol=1e-6)
    assert str(tmp_path / "reg_summary.json") in files
    ants = pytest.importorskip("ants")
    theirs = ants.apply_transforms(ants.image_read(str(fixed)), ants.image_read(str(moving)),
                                   [str(tmp_path / "reg_warp.nii.gz"), str(tmp_path / "reg_affine.mat")])
    difference = np.abs(theirs.numpy() - warped)
    assert np.percentile(difference, 99.9) < tolerance, difference.max()


def test_a_saved_composite_maps_points_as_the_chain_does(pair, tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    fixed, moving = pair
    result = swiftreg.register(fixed, moving, preset="syn", progress=False)
    grid = swiftreg.Image.read(fixed)
    rng = np.random.default_rng(2)
    points = np.array([(grid.affine @ [*(rng.uniform(4, 20, 3)), 1])[:3] for _ in range(20)])
    ours = result.transforms.points(points)
    result.transforms.save(tmp_path / "forward.h5")
    np.testing.assert_allclose(swiftreg.Transform.read(tmp_path / "forward.h5").points(points), ours, atol=1e-6)
    composite = sitk.ReadTransform(str(tmp_path / "forward.h5"))
    np.testing.assert_allclose([composite.TransformPoint(tuple(p)) for p in points], ours, atol=1e-3)
    # Moving → fixed undoes fixed → moving.
    np.testing.assert_allclose(result.inverse_transforms.points(ours), points, atol=0.05)
    with pytest.raises(swiftreg.Error, match="composite"):
        result.transforms.save(tmp_path / "forward.txt")


def test_a_callback_cancels_within_one_iteration(pair):
    fixed, moving = pair
    events = []

    def stop_at_third(event):
        events.append(event)
        return len(events) == 3

    with pytest.raises(swiftreg.Cancelled, match="cancelled"):
        swiftreg.register(fixed, moving, preset="syn", progress=stop_at_third)
    assert len(events) == 3 and events[-1]["kind"] == "iteration"


def test_an_initial_transform_starts_as_on_the_command_line(cli, pair, tmp_path):
    """register(initial_transform=…) runs what `register --initial-transform` runs (the same affine,
    bit for bit), and with no iterations keeps the start: SimpleITK maps points as the result does."""
    sitk = pytest.importorskip("SimpleITK")
    fixed, moving = pair
    start = sitk.Euler3DTransform((-14.0, 26.0, 28.0), 0.05, -0.03, 0.08, (2.0, -1.0, 1.5))
    sitk.WriteTransform(start, str(tmp_path / "start.txt"))
    result = swiftreg.register(fixed, moving, preset="rigid", initial_transform=tmp_path / "start.txt", threads=1, progress=False)
    assert result.summary["start"] == "initialTransform"
    result.save(tmp_path / "py")
    subprocess.run([cli, "register", "-f", str(fixed), "-m", str(moving), "--preset", "rigid", "--initial-transform", str(tmp_path / "start.txt"),
                    "-o", str(tmp_path / "cli"), "-q", "--threads", "1"], check=True)
    with open(f"{tmp_path}/cli_affine.txt") as a, open(f"{tmp_path}/py_affine.txt") as b:
        assert a.read() == b.read()
    plan = {"linear": [{"model": "rigid", "metrics": [{"metric": "mse"}], "shrink": [1], "smoothing": [0], "iterations": [0]}]}
    kept = swiftreg.register(fixed, moving, plan=plan, initial_transform=tmp_path / "start.txt", progress=False)
    points = np.array([[-10.0, 20.0, 30.0], [5.0, 35.0, 12.0], [-25.0, 15.0, 40.0]])
    np.testing.assert_allclose(kept.transforms.points(points), [start.TransformPoint(tuple(p)) for p in points], atol=1e-4)
    with pytest.raises(swiftreg.Error, match="no_such"):
        swiftreg.register(fixed, moving, preset="rigid", initial_transform=tmp_path / "no_such.txt", progress=False)


def test_bad_input_raises_the_librarys_message(pair):
    fixed, moving = pair
    other_grid = swiftreg.Image(np.ones((10, 10, 10), np.float32))
    with pytest.raises(swiftreg.Error, match="mask"):
        swiftreg.register(fixed, moving, preset="affine", fixed_mask=other_grid, progress=False)
    with pytest.raises(swiftreg.Error, match="preset|plan"):
        swiftreg.register(fixed, moving, preset="no-such-preset", progress=False)
    with pytest.raises(swiftreg.Error, match="interpolation"):
        swiftreg.apply(moving, fixed, [], interpolation="cubic")
    with pytest.raises(TypeError):
        swiftreg.register(np.zeros((4, 4, 4)), moving)


def test_masks_given_as_paths_and_arrays(pair, tmp_path):
    """Masks that exist only for the call (read from a path, made from another library's image) stay valid through it."""
    fixed, moving = pair
    grid = swiftreg.Image.read(fixed)
    swiftreg.Image((grid.array > 5).astype(np.uint8), grid.spacing, grid.origin, grid.direction).write(tmp_path / "mask.nii.gz")
    import gc
    gc.collect()
    result = swiftreg.register(fixed, moving, preset="affine", fixed_mask=tmp_path / "mask.nii.gz", moving_mask=tmp_path / "mask.nii.gz", progress=False)
    assert result.summary["correlationAfter"] > result.summary["correlationBefore"]


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def test_memory_stays_flat_over_many_registrations():
    fixed = swiftreg.Image(blobs((48, 48)), spacing=(1.0, 1.0))
    moving = swiftreg.Image(blobs((48, 48), shift=(2.0, -1.0)), spacing=(1.0, 1.0))
    for _ in range(10):
        swiftreg.register(fixed, moving, preset="syn", progress=False).warped.array
    before = rss_mb()
    for _ in range(40):
        swiftreg.register(fixed, moving, preset="syn", progress=False).warped.array
    assert rss_mb() - before < 8, f"RSS grew from {before:.1f} MB to {rss_mb():.1f} MB"


def test_ctrl_c_cancels_cleanly(pair):
    """SIGINT during a registration (progress off): KeyboardInterrupt in Python once the library
    has stopped, well before the registration would have ended."""
    import signal
    import sys
    import time
    fixed, moving = pair
    script = f"""
import sys, time
sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
import swiftreg
fixed, moving = swiftreg.Image.read({str(fixed)!r}), swiftreg.Image.read({str(moving)!r})
plan = {{"linear": [], "deformable": {{"method": "syn", "shrink": [1], "smoothing": [0.0], "iterations": [100000], "step": [0.3],
                                     "convergenceThreshold": 0.0}}}}
print("started", flush=True)
try:
    swiftreg.register(fixed, moving, plan=plan, progress=False)
    print("finished")
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    time.sleep(1.5)
    start = time.time()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert out.strip() == "interrupted" and child.returncode == 0, err
    assert time.time() - start < 5


def test_a_float32_fortran_array_is_read_in_place_and_released():
    """No copy on the way in: the image shares the caller's float32 Fortran-order array, registers
    exactly as a copied (C-order) array does, never writes it, and lets it go when the image and its
    results are gone."""
    import gc
    import sys
    from swiftreg import image as image_module
    shape = (40, 36, 28)
    fixed_array = np.asfortranarray(blobs(shape))
    moving_array = np.asfortranarray(blobs(shape, shift=(2.0, -1.5, 1.0)))
    moving_array.flags.writeable = False          # the library must not need to write it
    untouched = moving_array.copy()
    references = sys.getrefcount(fixed_array), sys.getrefcount(moving_array)
    geometry = dict(spacing=(1.2, 1.0, 1.5), origin=(3.0, -7.0, 11.0))
    fixed, moving = swiftreg.Image(fixed_array, **geometry), swiftreg.Image(moving_array, **geometry)
    assert np.shares_memory(fixed.array, fixed_array) and np.shares_memory(moving.array, moving_array)
    copied = swiftreg.Image(np.ascontiguousarray(fixed_array), **geometry), swiftreg.Image(np.ascontiguousarray(moving_array), **geometry)
    assert not np.shares_memory(copied[0].array, fixed_array)

    shared = swiftreg.register(fixed, moving, preset="syn", threads=2, progress=False)
    reference = swiftreg.register(*copied, preset="syn", threads=2, progress=False)
    np.testing.assert_array_equal(shared.warped.array, reference.warped.array)
    assert shared.summary["correlationAfter"] > shared.summary["correlationBefore"] + 0.05
    np.testing.assert_array_equal(moving_array, untouched)

    fixed_array[0, 0, 0] = 1234.5                 # shared: the image sees the caller's change
    assert fixed.array[0, 0, 0] == np.float32(1234.5)

    del fixed, moving, shared
    gc.collect()
    assert (sys.getrefcount(fixed_array), sys.getrefcount(moving_array)) == references
    assert not image_module._lent


def test_a_result_array_is_the_librarys_memory_and_outlives_the_result(pair):
    """`array` of a library image is a view of the library's voxels (no copy on the way out) that
    keeps them alive after the result and the image are gone."""
    import gc
    result = swiftreg.register(*pair, preset="affine", progress=False)
    warped = result.warped
    view = warped.array
    assert not view.flags.writeable and not view.flags.owndata
    expected = view.copy()
    del result, warped
    gc.collect()
    blobs((64, 64, 32))                            # reuse freed memory, were the view dangling
    np.testing.assert_array_equal(view, expected)
