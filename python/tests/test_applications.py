"""The applications on files from Python: the same outputs as the command line (template, bit
for bit), Dice matched to NumPy, segmentation volumes that match the labels written, no change
measured between a scan and itself."""
import json
import os
import subprocess

import numpy as np
import pytest

import swiftreg
from test_register import blobs

GRID = dict(spacing=(1.5, 1.2, 2.0), origin=(-20, 10, 5))


def dice(a, b, label):
    return 2 * np.sum((a == label) & (b == label)) / (np.sum(a == label) + np.sum(b == label))


def test_evaluate_gives_numpys_dice(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, (20, 18, 12)).astype(np.int16)
    b = np.where(rng.random(a.shape) < 0.8, a, rng.integers(0, 4, a.shape)).astype(np.int16)
    scores = swiftreg.evaluate(swiftreg.Image(a, **GRID), swiftreg.Image(b, **GRID), distances=False)
    by_label = {entry["id"]: entry["dice"] for entry in scores["labels"]["labels"]}
    for label in (1, 2, 3):
        assert by_label[label] == pytest.approx(dice(a, b, label), abs=1e-12)
    with pytest.raises(swiftreg.Error, match="give both"):
        swiftreg.evaluate(fixed_labels=swiftreg.Image(a, **GRID))


def test_template_from_python_is_the_clis_bit_for_bit(cli, tmp_path):
    paths = []
    for k, shift in enumerate([(0, 0, 0), (1.5, -1, 0.5), (-1, 1, 1)]):
        path = tmp_path / f"s{k}.nii.gz"
        swiftreg.Image(blobs((28, 26, 20), shift), **GRID).write(path)
        paths.append(str(path))
    # One subject at a time on one thread here, the command line's defaults there: the same bits.
    summary = swiftreg.template(paths, tmp_path / "py", iterations=1, concurrent=1, threads=1, progress=False)
    subprocess.run([cli, "template", *paths, "-o", str(tmp_path / "cli"), "--iterations", "1", "-q"], check=True)
    assert len(summary["iterations"]) == 2
    for name in ("template.nii.gz", "template_iter0.nii.gz", "subjects/s1_warp.nii.gz", "subjects/s1_affine.txt"):
        with open(tmp_path / "py" / name, "rb") as a, open(tmp_path / "cli" / name, "rb") as b:
            assert a.read() == b.read(), name


def test_segment_volumes_match_the_labels_it_writes(tmp_path):
    nib = pytest.importorskip("nibabel")
    target = swiftreg.Image(blobs((28, 26, 20)), **GRID)
    atlases = []
    for k, shift in enumerate([(1, 0, 0), (0, -1, 0.5)]):
        image = blobs((28, 26, 20), shift)
        labels = (image > 30).astype(np.int16) + (image > 70)
        atlases.append((swiftreg.Image(image, **GRID), swiftreg.Image(labels, **GRID)))
    lines = []
    summary = swiftreg.segment(target, atlases, tmp_path / "out" / "subject", preset="affine", fusion="majority", progress=lines.append)
    written = np.asanyarray(nib.load(tmp_path / "out" / "subject_labels.nii.gz").dataobj)
    voxel = np.prod(GRID["spacing"])
    for v in summary["volumes"]:
        assert v["voxels"] == np.sum(written == v["label"]) and v["volume"] == pytest.approx(v["voxels"] * voxel)
    assert len(summary["atlases"]) == 2 and lines


def test_segment_registers_without_the_finest_level_for_jlf_unless_asked(tmp_path):
    target = swiftreg.Image(blobs((24, 22, 16)), **GRID)
    atlas = (swiftreg.Image(blobs((24, 22, 16), (1, 0, 0)), **GRID), swiftreg.Image((blobs((24, 22, 16), (1, 0, 0)) > 30).astype(np.int16), **GRID))
    def shrinks(name, **options):
        swiftreg.segment(target, [atlas], tmp_path / name, keep_warps=True, progress=False, **options)
        with open(tmp_path / f"{name}_atlas01_summary.json") as f:
            return [level["shrink"] for level in json.load(f)["deformableLevels"]]
    assert shrinks("jlf") == [4, 2]
    assert shrinks("finest", finest_level=True) == [4, 2, 1]
    assert shrinks("majority", fusion="majority") == [4, 2, 1]
    plan = tmp_path / "plan.yaml"
    plan.write_text("deformable: {method: syn, shrink: [2, 1], smoothing: [1, 0], iterations: [3, 2]}\n")
    with pytest.raises(swiftreg.Error, match="finest_level.*applies to presets"):
        swiftreg.segment(target, [atlas], tmp_path / "planned", plan=plan.read_text(), finest_level=True, progress=False)


def test_thread_and_concurrency_counts_out_of_range_are_refused(tmp_path):
    target = swiftreg.Image(blobs((16, 14, 12)), **GRID)
    atlas = (target, swiftreg.Image((blobs((16, 14, 12)) > 30).astype(np.int16), **GRID))
    with pytest.raises(swiftreg.Error, match="concurrent.*must be ≥ 1, found 0"):
        swiftreg.segment(target, [atlas], tmp_path / "a", preset="affine", concurrent=0, progress=False)
    with pytest.raises(swiftreg.Error, match="threads.*must be ≥ 0"):
        swiftreg.template([target, target], tmp_path / "b", iterations=1, threads=-1, progress=False)
    assert not [f for f in os.listdir(tmp_path) if f.startswith("a_")]


def test_longitudinal_from_python_measures_what_the_cli_measures(cli, tmp_path):
    nib = pytest.importorskip("nibabel")
    baseline, followup = tmp_path / "bl.nii.gz", tmp_path / "fu.nii.gz"
    swiftreg.Image(blobs((32, 30, 24)), **GRID).write(baseline)
    # The follow-up: the same object 4 % smaller in each direction about the grid centre.
    shrunk = blobs((32, 30, 24))
    centre = (np.array(shrunk.shape) - 1) / 2
    grid = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shrunk.shape], indexing="ij")
    map_coordinates = pytest.importorskip("scipy.ndimage").map_coordinates
    shrunk = map_coordinates(shrunk, [centre[a] + (grid[a] - centre[a]) / 0.96 for a in range(3)], order=1).astype(np.float32)
    swiftreg.Image(shrunk, **GRID).write(followup)
    swiftreg.Image((blobs((32, 30, 24)) > 20).astype(np.uint8), **GRID).write(tmp_path / "mask.nii.gz")
    summary = swiftreg.longitudinal(baseline, followup, tmp_path / "py", mask=tmp_path / "mask.nii.gz", progress=False)
    subprocess.run([cli, "longitudinal", str(baseline), str(followup), "-o", str(tmp_path / "cli"), "--mask", str(tmp_path / "mask.nii.gz"), "-q"],
                   check=True)
    import json
    theirs = json.load(open(tmp_path / "cli_summary.json"))
    assert summary["percentVolumeChange"] == theirs["percentVolumeChange"] < -3
    assert np.array_equal(np.asanyarray(nib.load(tmp_path / "py_warp.nii.gz").dataobj), np.asanyarray(nib.load(tmp_path / "cli_warp.nii.gz").dataobj))
