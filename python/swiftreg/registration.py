"""Registration, transforms and resampling through the library."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import lib, check, Handle, take_string
from .image import Image, as_image

# An Image, a path, or a nibabel, SimpleITK or ANTsPy image.
ImageLike = Any


class Transform:
    """A chain of transforms mapping points of a reference (fixed) space to another (moving)
    space, in ANTs order: what `apply` resamples through.

    >>> t = swiftreg.Transform.read("out/reg_warp.nii.gz", "out/reg_affine.txt")
    >>> warped = t.apply(moving, reference=fixed)
    """

    def __init__(self, value):
        self._handle = Handle(value, lib.sr_transform_free)

    @classmethod
    def read(cls, *files: Union[str, os.PathLike]) -> "Transform":
        """Transform files in ANTs order (ITK/ANTs .txt, .mat, .h5, elastix parameter files,
        displacement fields); `"[FILE,1]"` takes a file's inverse."""
        out = _native.handle()
        check(lib.sr_transform_read(json.dumps([os.fspath(f) for f in files]).encode(), ctypes.byref(out)))
        return cls(out.value)

    def apply(self, image: ImageLike, reference: ImageLike, interpolation: str = "linear") -> Image:
        """`image` resampled onto `reference`'s grid; interpolation linear, nearest, bspline or label."""
        image, reference = as_image(image, "image"), as_image(reference, "reference")
        out = _native.handle()
        check(lib.sr_transform_apply(self._handle.value, image._handle.value, reference._handle.value, interpolation.encode(), ctypes.byref(out)))
        return Image._wrap(out.value)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the chain: an ITK HDF5 composite (`.h5`, any chain, which antsApplyTransforms
        and SimpleITK read), or one affine as ITK/ANTs `.txt`/`.mat`, or one field as an image."""
        check(lib.sr_transform_save(self._handle.value, os.fspath(path).encode()))

    def points(self, points: Any) -> np.ndarray:
        """Points (n × 3, LPS mm) mapped through the chain."""
        p = np.array(points, dtype=np.float64, order="C").reshape(-1, 3)
        check(lib.sr_transform_points(self._handle.value, p.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(p)))
        return p


class Result:
    """A registration's outcome: `warped` (the moving image on the fixed grid), `summary` (the
    dict `register` writes as PREFIX_summary.json), `transforms` (fixed → moving points, what
    `apply` takes) and `inverse_transforms` (moving → fixed)."""

    def __init__(self, value):
        self._handle = Handle(value, lib.sr_result_free)
        self._warped = None
        pointer = ctypes.c_void_p()
        check(lib.sr_result_summary(value, ctypes.byref(pointer)))
        self.summary = json.loads(take_string(pointer))

    def _image(self, which):
        out = _native.handle()
        check(lib.sr_result_image(self._handle.value, which, ctypes.byref(out)))
        return Image._wrap(out.value) if out.value else None

    @property
    def warped(self) -> Image:
        if self._warped is None:
            self._warped = self._image(0)
        return self._warped

    def jacobian(self) -> Optional[Image]:
        """det J of the deformable warp on the fixed grid (None without a deformable stage)."""
        return self._image(1)

    def _transform(self, inverse):
        out = _native.handle()
        check(lib.sr_result_transform(self._handle.value, inverse, ctypes.byref(out)))
        return Transform(out.value)

    @property
    def transforms(self) -> Transform:
        return self._transform(0)

    @property
    def inverse_transforms(self) -> Transform:
        return self._transform(1)

    def save(self, prefix: Union[str, os.PathLike], composite: bool = False) -> list:
        """Writes what `swiftreg register -o PREFIX` writes (ITK/ANTs transforms, fields, the
        warped image, det J, the summary); returns the paths."""
        folder = os.path.dirname(os.fspath(prefix))
        if folder:
            os.makedirs(folder, exist_ok=True)
        pointer = ctypes.c_void_p()
        check(lib.sr_result_save(self._handle.value, os.fspath(prefix).encode(), int(composite), ctypes.byref(pointer)))
        return json.loads(take_string(pointer))


class _Progress:
    """Relays the library's progress events: to a tqdm bar, a line per level, or a callable."""

    def __init__(self, progress):
        self.user = progress if callable(progress) else None
        self.bar = None
        self.interrupted = False
        self.error = None
        self.shown = bool(progress)
        if progress is True:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=0, unit="it", leave=False)
            except ImportError:
                pass
        self.c_callback = _native.PROGRESS(self._event)

    def _event(self, text, _context):
        try:
            event = json.loads(text)
            if self.interrupted:
                return 1
            if self.user is not None:
                return 1 if self.user(event) else 0
            if not self.shown:
                return 0
            if self.bar is not None:
                if event["kind"] == "iteration":
                    if self.bar.total != event["iterations"]:
                        self.bar.reset(total=event["iterations"])
                    self.bar.set_description(f"{event['stage']} {event['level']}/{event['levels']}")
                    self.bar.n = event["iteration"]
                    self.bar.refresh()
                elif event["kind"] == "level" and event.get("message"):
                    self.bar.write(event["message"])
            elif event["kind"] == "level" and event.get("message"):
                print(event["message"], file=sys.stderr, flush=True)
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1
        except BaseException as error:  # an exception cannot cross the C library: stop, and raise it after
            self.error = error
            return 1

    def close(self):
        if self.bar is not None:
            self.bar.close()


def register(fixed: ImageLike, moving: ImageLike, preset: str = "syn", plan: Union[None, dict, str, os.PathLike] = None,
             fixed_mask: Optional[ImageLike] = None, moving_mask: Optional[ImageLike] = None,
             landmarks: Optional[tuple] = None, initial_transform: Union[None, str, os.PathLike] = None,
             threads: Optional[int] = None, progress: Union[bool, Callable[[dict], Any]] = True) -> Result:
    """Registers `moving` to `fixed` and returns a `Result`.

    fixed, moving: `swiftreg.Image`s, paths, or nibabel, SimpleITK or ANTsPy images.
    preset: a preset name (rigid, affine, syn, …); plan: a plan instead (a dict, YAML/JSON text,
    or a path to a plan file). Masks: images, non-zero inside. landmarks: (fixed_points,
    moving_points), each n × 3 in LPS mm. initial_transform: a linear transform file (ITK .txt/.tfm/
    .h5, ANTs .mat, elastix TransformParameters) the first stage starts from instead of the plan's
    initialization, as ANTs' --initial-moving-transform. threads: None for all cores. progress: True (a tqdm bar
    when tqdm is installed, else a line per level), False, or a callable that receives each event
    (a dict) and returns True to cancel. Ctrl-C cancels cleanly (KeyboardInterrupt is raised after
    the library stops); a cancelled registration raises `swiftreg.Cancelled`.

    >>> result = swiftreg.register("fixed.nii.gz", "moving.nii.gz", preset="syn")
    >>> result.warped.write("warped.nii.gz"); result.save("out/reg")
    """
    f, m = as_image(fixed, "fixed"), as_image(moving, "moving")
    # The mask Images are kept alive for the call: their handles are what the library reads.
    mask_images = [as_image(x, name) if x is not None else None for x, name in ((fixed_mask, "fixed_mask"), (moving_mask, "moving_mask"))]
    masks = [image._handle.value if image is not None else None for image in mask_images]
    text = _plan_text(preset, plan, initial_transform)
    fixed_points = moving_points = None
    count = 0
    if landmarks is not None:
        a, b = (np.ascontiguousarray(np.asarray(p, dtype=np.float64).reshape(-1, 3)) for p in landmarks)
        if len(a) != len(b):
            raise ValueError(f"landmarks: {len(a)} fixed points and {len(b)} moving points; give pairs")
        fixed_points, moving_points, count = a.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), b.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(a)
    relay = _Progress(progress)
    out = _native.handle()
    # Ctrl-C while the library runs: the handler marks the relay, whose next event (within one
    # iteration) cancels; KeyboardInterrupt is raised once the library has stopped.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: setattr(relay, "interrupted", True))
    try:
        code = lib.sr_register(f._handle.value, m._handle.value, text.encode(), masks[0], masks[1], fixed_points, moving_points, count,
                               int(threads or 0), relay.c_callback, None, ctypes.byref(out))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        relay.close()
    if relay.interrupted:
        raise KeyboardInterrupt
    if relay.error is not None:
        raise relay.error
    check(code)
    return Result(out.value)


def _plan_text(preset, plan, initial_transform=None):
    """The plan sr_register reads: a preset's name, or a plan's YAML/JSON text; with a starting
    transform, the library's complete plan document with inputs.initialTransform set."""
    if plan is None:
        text = preset
    elif isinstance(plan, dict):
        text = json.dumps(plan)
    else:
        text = os.fspath(plan)
        if "\n" not in text and os.path.exists(text):
            with open(text) as f:
                text = f.read()
    if initial_transform is None:
        return text
    request = {"plan": text} if plan is not None else {"preset": preset}
    request["initialTransform"] = os.fspath(initial_transform)
    pointer = ctypes.c_void_p()
    check(lib.sr_run(b"plan", json.dumps(request).encode(), b"", _native.LINE(), None, ctypes.byref(pointer)))
    return take_string(pointer)


def apply(image: ImageLike, reference: ImageLike, transforms: Union[Transform, str, os.PathLike, Sequence[Union[str, os.PathLike]]],
          interpolation: str = "linear") -> Image:
    """`image` resampled onto `reference`'s grid through `transforms` (a `Transform`, or transform
    files in ANTs order); interpolation linear, nearest, bspline or label.

    >>> warped = swiftreg.apply("atlas_labels.nii.gz", "subject.nii.gz", ["reg_warp.nii.gz", "reg_affine.txt"], "label")
    """
    chain = transforms if isinstance(transforms, Transform) else Transform.read(*([transforms] if isinstance(transforms, (str, os.PathLike)) else transforms))
    return chain.apply(image, reference, interpolation)
