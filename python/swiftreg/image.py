"""`swiftreg.Image`: voxels and their place in the patient (LPS millimetres), held by the library."""
from __future__ import annotations

import ctypes
import itertools
import os
from typing import Any, Optional, Sequence, Union
import numpy as np

from . import _native
from ._native import lib, check, Handle

# nibabel's world space is RAS; ITK's, SimpleITK's, ANTsPy's and SwiftReg's is LPS.
_RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0])


# Arrays the library reads in place (sr_image_borrow), each kept alive by its token until the
# library releases it.
_lent: dict = {}
_tokens = itertools.count(1)


def _lend(array: np.ndarray) -> int:
    token = next(_tokens)
    _lent[token] = array
    return token


@_native.RELEASE
def _release(token):
    _lent.pop(token, None)


class Image:
    """A 2-D or 3-D scalar image: an array indexed (x, y[, z]) with its spacing (mm), origin (the
    centre of voxel 0, LPS mm) and direction (column j: the LPS unit vector of index axis j).

    A float32 array with x fastest in memory (Fortran order, as nibabel gives) is shared, not
    copied: the library reads it in place, keeps it alive as long as it needs it, and never writes
    it, so changing the array changes the image. Any other array (another dtype, C order) is
    copied once, converted to float32. `array` is read-only.

    >>> import numpy as np, swiftreg
    >>> image = swiftreg.Image(np.zeros((64, 64, 40), np.float32), spacing=(1, 1, 2.5), origin=(-32, -32, 0))
    >>> image.shape, image.spacing
    ((64, 64, 40), (1.0, 1.0, 2.5))
    """

    def __init__(self, array: Any, spacing: Optional[Sequence[float]] = None, origin: Optional[Sequence[float]] = None,
                 direction: Optional[Any] = None):
        a = np.asanyarray(array)
        ndim = a.ndim
        k = max(ndim, 3)
        shape = (ctypes.c_int64 * k)(*a.shape, *([1] * (k - ndim)))
        strides = (ctypes.c_int64 * k)(*a.strides, *([0] * (k - ndim)))
        sp, org, dr = _geometry3(min(ndim, 3), spacing, origin, direction)
        out = _native.handle()
        if a.dtype == np.float32 and ndim in (2, 3) and a.size and a.flags.f_contiguous:
            token = _lend(a)
            try:
                check(lib.sr_image_borrow(a.ctypes.data, ndim, shape, sp, org, dr, _release, token, ctypes.byref(out)))
            except BaseException:
                _lent.pop(token, None)
                raise
            self._adopt(out.value)
            view = a.view(np.ndarray)
            view.flags.writeable = False
            self._array = view
            return
        data = a.ctypes.data if a.size else None
        check(lib.sr_image_create(data, a.dtype.name.encode(), ndim, shape, strides, sp, org, dr, ctypes.byref(out)))
        self._adopt(out.value)

    def _adopt(self, value):
        self._handle = Handle(value, lib.sr_image_free)
        self._array = None
        ndim = ctypes.c_int32()
        shape, spacing, origin, direction = (ctypes.c_int64 * 3)(), (ctypes.c_double * 3)(), (ctypes.c_double * 3)(), (ctypes.c_double * 9)()
        check(lib.sr_image_geometry(value, ctypes.byref(ndim), shape, spacing, origin, direction))
        n = ndim.value
        self.ndim = n
        self.shape = tuple(int(x) for x in shape[:n])
        self.spacing = tuple(float(x) for x in spacing[:n])
        self.origin = tuple(float(x) for x in origin[:n])
        self.direction = np.array(direction[:9], dtype=np.float64).reshape(3, 3)[:n, :n].copy()

    @classmethod
    def _wrap(cls, value):
        image = cls.__new__(cls)
        image._adopt(value)
        return image

    @property
    def array(self) -> np.ndarray:
        """The voxels as a read-only float32 array, indexed (x, y[, z]) (Fortran order): the
        library's memory itself (or the caller's array it shares), not a copy."""
        if self._array is None:
            data, count = ctypes.c_void_p(), ctypes.c_int64()
            check(lib.sr_image_voxels(self._handle.value, ctypes.byref(data), ctypes.byref(count)))
            memory = (ctypes.c_float * count.value).from_address(data.value)
            memory.handle = self._handle  # the voxels live as long as the handle, which the array now keeps
            a = np.frombuffer(memory, dtype=np.float32).reshape(self.shape, order="F")
            a.flags.writeable = False
            self._array = a
        return self._array

    def numpy(self) -> np.ndarray:
        """A writable float32 copy of the voxels, indexed (x, y[, z])."""
        return np.array(self.array, order="F")

    @property
    def affine(self) -> np.ndarray:
        """The 4×4 map from voxel indices to LPS millimetres (3-D; a 2-D image's third axis is the identity)."""
        m = np.eye(4)
        d = np.eye(3)
        d[:self.ndim, :self.ndim] = self.direction
        s = np.ones(3)
        s[:self.ndim] = self.spacing
        m[:3, :3] = d @ np.diag(s)
        m[:self.ndim, 3] = self.origin
        return m

    def __repr__(self):
        return f"swiftreg.Image(shape={self.shape}, spacing={self.spacing}, origin={self.origin})"

    # Files -------------------------------------------------------------------------------------

    @classmethod
    def read(cls, path: Union[str, os.PathLike]) -> "Image":
        """An image file (NIfTI, MetaImage, NRRD, PNG, JPEG, a DICOM series folder), read by the
        library exactly as the command line reads it."""
        out = _native.handle()
        check(lib.sr_image_read(str(path).encode(), ctypes.byref(out)))
        return cls._wrap(out.value)

    def write(self, path: Union[str, os.PathLike]) -> None:
        """Writes the image (float32; the format from the extension)."""
        check(lib.sr_image_write(self._handle.value, str(path).encode()))

    # Other libraries' images ---------------------------------------------------------------------

    @classmethod
    def from_nibabel(cls, image: Any) -> "Image":
        """A nibabel image (its affine is RAS; converted to LPS)."""
        affine = np.asarray(image.affine, dtype=np.float64)
        data = np.asanyarray(image.dataobj)
        n = min(data.ndim, 3)
        lps = (_RAS_FROM_LPS @ affine[:3, :3])[:n, :n]
        spacing = np.linalg.norm(lps, axis=0)
        return cls(data, spacing=spacing, origin=(_RAS_FROM_LPS @ affine[:3, 3])[:n], direction=lps / spacing)

    def to_nibabel(self) -> Any:
        """A nibabel Nifti1Image (float32) with this image's affine in RAS."""
        import nibabel
        affine = self.affine
        affine[:3, :] = _RAS_FROM_LPS @ affine[:3, :]
        data = self.numpy()
        return nibabel.Nifti1Image(data if self.ndim == 3 else data[:, :, None], affine)

    @classmethod
    def from_sitk(cls, image: Any) -> "Image":
        """A SimpleITK image (2-D or 3-D, scalar)."""
        import SimpleITK as sitk
        if image.GetNumberOfComponentsPerPixel() != 1:
            raise _native.Error(f"a SimpleITK image with {image.GetNumberOfComponentsPerPixel()} components per voxel: an image here has one",
                                _native.SR_BAD_INPUT)
        n = image.GetDimension()
        array = sitk.GetArrayFromImage(image).T  # (z, y, x) C order, transposed: (x, y, z), x fastest
        return cls(array, spacing=image.GetSpacing(), origin=image.GetOrigin(), direction=np.array(image.GetDirection()).reshape(n, n))

    def to_sitk(self) -> Any:
        """A SimpleITK image (float32)."""
        import SimpleITK as sitk
        image = sitk.GetImageFromArray(self.array.T, isVector=False)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(tuple(self.direction.ravel()))
        return image

    @classmethod
    def from_ants(cls, image: Any) -> "Image":
        """An ANTsPy image (2-D or 3-D, scalar)."""
        if image.components != 1:
            raise _native.Error(f"an ANTsPy image with {image.components} components per voxel: an image here has one", _native.SR_BAD_INPUT)
        return cls(image.numpy(), spacing=image.spacing, origin=image.origin, direction=image.direction)

    def to_ants(self) -> Any:
        """An ANTsPy image (float32)."""
        import ants
        return ants.from_numpy(self.numpy(), origin=self.origin, spacing=self.spacing, direction=self.direction)


def as_image(value: Any, name: str = "image") -> Image:
    """An Image from an Image, a path, or a nibabel, SimpleITK or ANTsPy image."""
    if isinstance(value, Image):
        return value
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return Image.read(value)
    kind = type(value).__module__.split(".")[0]
    if kind == "nibabel":
        return Image.from_nibabel(value)
    if kind == "SimpleITK":
        return Image.from_sitk(value)
    if kind == "ants":
        return Image.from_ants(value)
    raise TypeError(f"{name}: expected a swiftreg.Image, a path, or a nibabel, SimpleITK or ANTsPy image; got {type(value).__name__}")


def _geometry3(ndim, spacing, origin, direction):
    """Spacing, origin and direction as the library takes them (3 values, 3, 9 row-major)."""
    def vector(values, default, name):
        if values is None:
            return [default] * 3
        v = [float(x) for x in np.ravel(values)]
        if len(v) != ndim:
            raise ValueError(f"{name}: {ndim} values for a {ndim}-D array, found {len(v)}")
        return (v + [default] * 3)[:3]
    d = np.eye(3)
    if direction is not None:
        m = np.asarray(direction, dtype=np.float64)
        if m.shape != (ndim, ndim):
            raise ValueError(f"direction: a {ndim}×{ndim} matrix for a {ndim}-D array, found shape {m.shape}")
        d[:ndim, :ndim] = m
    return ((ctypes.c_double * 3)(*vector(spacing, 1.0, "spacing")), (ctypes.c_double * 3)(*vector(origin, 0.0, "origin")),
            (ctypes.c_double * 9)(*d.ravel()))
