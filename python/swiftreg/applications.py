"""The applications on files — evaluate, segment, longitudinal, template — as the command line
runs them: inputs are paths (or `swiftreg.Image`s, written to a temporary folder first), outputs
files under a prefix or folder, and each call returns the summary the command writes."""
from __future__ import annotations

import ctypes
import json
import os
import sys
import tempfile
from typing import Any, Optional, Sequence, Union

from . import _native
from ._native import lib, check, take_string
from .image import Image

PathLike = Union[str, os.PathLike]


def _run(application: str, request: dict, output: str = "", progress: Any = True, threads: Optional[int] = None) -> dict:
    def line(text, _context):
        message = text.decode()
        if callable(progress):
            progress(message)
        elif progress:
            print(message, file=sys.stderr, flush=True)
    callback = _native.LINE(line)
    folder = os.path.dirname(output)
    if output and folder:
        os.makedirs(output if application == "template" else folder, exist_ok=True)
    pointer = ctypes.c_void_p()
    body = json.dumps({k: v for k, v in dict(request, threads=threads).items() if v is not None})
    check(lib.sr_run(application.encode(), body.encode(), output.encode(), callback, None, ctypes.byref(pointer)))
    return json.loads(take_string(pointer))


class _Files:
    """Paths for the inputs: a path as given, an Image written to a temporary folder."""

    def __init__(self):
        self.folder = None

    def __call__(self, value, name):
        if value is None:
            return None
        if isinstance(value, Image):
            if self.folder is None:
                self.folder = tempfile.TemporaryDirectory(prefix="swiftreg-")
            path = os.path.join(self.folder.name, f"{name}.nii.gz")
            value.write(path)
            return path
        return os.fspath(value)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.folder is not None:
            self.folder.cleanup()


def evaluate(fixed_labels: Optional[Union[PathLike, Image]] = None, moving_labels: Optional[Union[PathLike, Image]] = None,
             transforms: Sequence[PathLike] = (), warp: Optional[PathLike] = None, mask: Optional[PathLike] = None,
             lut: Optional[PathLike] = None, distances: bool = True, threads: Optional[int] = None) -> dict:
    """Scores a registration as `swiftreg evaluate` does: with labels, Dice, Jaccard, volumes and
    (with `distances`) HD95, ASSD and Hausdorff per label, the moving labels carried onto the
    fixed ones through `transforms` (files, ANTs order); with `warp`, det J statistics over `mask`.

    >>> scores = swiftreg.evaluate("fixed_seg.nii.gz", "moving_seg.nii.gz", ["out/reg_warp.nii.gz", "out/reg_affine.txt"])
    >>> scores["labels"]["meanDice"]
    """
    with _Files() as files:
        return _run("evaluate", {"fixedLabels": files(fixed_labels, "fixed_labels"), "movingLabels": files(moving_labels, "moving_labels"),
                                 "transforms": [os.fspath(t) for t in transforms], "warp": files(warp, "warp"), "mask": files(mask, "mask"),
                                 "lut": files(lut, "lut"), "distances": distances}, threads=threads)


def segment(target: Union[PathLike, Image], atlases: Sequence[tuple], output: PathLike, preset: str = "syn", plan: Optional[str] = None,
            fusion: str = "jlf", select: Optional[int] = None, mask: Optional[PathLike] = None, lut: Optional[PathLike] = None,
            keep_warps: bool = False, concurrent: Optional[int] = None, finest_level: bool = False, threads: Optional[int] = None,
            progress: Any = True) -> dict:
    """Atlas-based segmentation as `swiftreg segment`: `atlases` are (image, labels) pairs of
    paths; writes `OUTPUT_labels.nii.gz`, posteriors, confidence, volumes and the report; returns
    the summary. `concurrent`: registrations at once (None: one per 4 threads, as memory allows);
    `finest_level`: also register at the preset's finest deformable level (left out by default, as
    `segment --finest-level`); `threads`: None for all cores.

    >>> summary = swiftreg.segment("subject.nii.gz", [("a1.nii.gz", "a1_seg.nii.gz"), ("a2.nii.gz", "a2_seg.nii.gz")], "out/subject")
    """
    with _Files() as files:
        pairs = [{"image": files(i, f"atlas{k}"), "labels": files(l, f"atlas{k}_labels")} for k, (i, l) in enumerate(atlases)]
        return _run("segment", {"target": files(target, "target"), "atlases": pairs, "preset": preset, "plan": plan, "fusion": fusion,
                                "select": select, "mask": files(mask, "mask"), "lut": files(lut, "lut"), "keepWarps": keep_warps,
                                "concurrent": concurrent, "finestLevel": finest_level}, os.fspath(output), progress, threads)


def longitudinal(baseline: Union[PathLike, Image], followup: Union[PathLike, Image], output: PathLike, mask: Optional[PathLike] = None,
                 labels: Optional[PathLike] = None, lut: Optional[PathLike] = None, preset: Optional[str] = None, plan: Optional[str] = None,
                 allow_scaling: bool = False, threads: Optional[int] = None, progress: Any = True) -> dict:
    """Change between two scans of one subject in their halfway space, as `swiftreg longitudinal`;
    returns the summary (`percentVolumeChange`, the boundary-shift estimate, per-label change).

    >>> swiftreg.longitudinal("bl.nii.gz", "fu.nii.gz", "out/subject", mask="bl_brain.nii.gz")["percentVolumeChange"]
    """
    with _Files() as files:
        return _run("longitudinal", {"baseline": files(baseline, "baseline"), "followup": files(followup, "followup"), "mask": files(mask, "mask"),
                                     "labels": files(labels, "labels"), "lut": files(lut, "lut"), "preset": preset, "plan": plan,
                                     "allowScaling": allow_scaling}, os.fspath(output), progress, threads)


def template(images: Sequence[Union[PathLike, Image]], output: PathLike, iterations: int = 4, preset: str = "syn", plan: Optional[str] = None,
             labels: Optional[Sequence[PathLike]] = None, initial: Optional[PathLike] = None, average: str = "mean",
             gradient_step: float = 0.25, sharpen: float = 0.25, fusion: str = "majority", fine_rounds: int = 1,
             concurrent: Optional[int] = None, threads: Optional[int] = None, progress: Any = True) -> dict:
    """An unbiased template of `images`, as `swiftreg template` builds it in one process; writes
    the folder `output` (template.nii.gz, each subject's transforms, the report); returns the summary.
    `fine_rounds`: the last rounds registered with the whole plan (the earlier ones leave out the
    deformable stage's finest level; `iterations` for every round). `concurrent`: subjects registered at once, threads divided (None: one per thread, as memory
    allows); `threads`: None for all cores.

    >>> summary = swiftreg.template(["s1.nii.gz", "s2.nii.gz", "s3.nii.gz"], "out/template", iterations=3)
    """
    with _Files() as files:
        return _run("template", {"images": [files(p, f"image{k}") for k, p in enumerate(images)],
                                 "labels": None if labels is None else [files(p, f"labels{k}") for k, p in enumerate(labels)],
                                 "initial": files(initial, "initial"), "iterations": iterations, "preset": preset, "plan": plan,
                                 "average": average, "gradientStep": gradient_step, "sharpen": sharpen, "fusion": fusion,
                                 "fineRounds": fine_rounds, "concurrent": concurrent}, os.fspath(output), progress, threads)
