"""ctypes bindings of the C ABI (include/swiftreg.h in the repository)."""
import ctypes
import os

SR_OK, SR_BAD_INPUT, SR_BAD_ARGUMENT, SR_CANCELLED = 0, 1, 2, 3
LIBRARY_NAME = "libswiftreg_c.so"


class Error(ValueError):
    """A failure the library reports: the file or array it refuses, or an option outside its domain.
    `code` is the status (1 bad input, 2 bad argument); the message is the library's."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class Cancelled(Exception):
    """A registration stopped by its progress callback."""


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    if os.environ.get("SWIFTREG_LIBRARY"):
        yield os.environ["SWIFTREG_LIBRARY"]
    yield os.path.join(here, LIBRARY_NAME)
    # A checkout: python/swiftreg → .build/release of the repository.
    yield os.path.join(here, "..", "..", ".build", "release", LIBRARY_NAME)


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(os.path.abspath(path))
        tried.append(os.path.abspath(path))
    raise ImportError(f"swiftreg: {LIBRARY_NAME} not found (tried {', '.join(tried)}): install the wheel, "
                      "or build it with `swift build -c release --product swiftreg_c` and set SWIFTREG_LIBRARY")


lib = _load()
handle = ctypes.c_void_p
status = ctypes.c_int32
PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)
LINE = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
RELEASE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_i64p, _f64p = ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_double)

_signatures = {
    "sr_version": (ctypes.c_char_p, []),
    "sr_last_error": (ctypes.c_char_p, []),
    "sr_string_free": (None, [ctypes.c_void_p]),
    "sr_image_create": (status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, _i64p, _i64p, _f64p, _f64p, _f64p,
                                 ctypes.POINTER(handle)]),
    "sr_image_borrow": (status, [ctypes.c_void_p, ctypes.c_int32, _i64p, _f64p, _f64p, _f64p, RELEASE, ctypes.c_void_p,
                                 ctypes.POINTER(handle)]),
    "sr_image_geometry": (status, [handle, ctypes.POINTER(ctypes.c_int32), _i64p, _f64p, _f64p, _f64p]),
    "sr_image_copy_voxels": (status, [handle, ctypes.c_void_p, ctypes.c_int64]),
    "sr_image_voxels": (status, [handle, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64)]),
    "sr_image_read": (status, [ctypes.c_char_p, ctypes.POINTER(handle)]),
    "sr_image_write": (status, [handle, ctypes.c_char_p]),
    "sr_image_free": (None, [handle]),
    "sr_register": (status, [handle, handle, ctypes.c_char_p, handle, handle, _f64p, _f64p, ctypes.c_int64, ctypes.c_int32,
                             PROGRESS, ctypes.c_void_p, ctypes.POINTER(handle)]),
    "sr_result_image": (status, [handle, ctypes.c_int32, ctypes.POINTER(handle)]),
    "sr_result_summary": (status, [handle, ctypes.POINTER(ctypes.c_void_p)]),
    "sr_result_transform": (status, [handle, ctypes.c_int32, ctypes.POINTER(handle)]),
    "sr_result_save": (status, [handle, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]),
    "sr_result_free": (None, [handle]),
    "sr_transform_read": (status, [ctypes.c_char_p, ctypes.POINTER(handle)]),
    "sr_transform_apply": (status, [handle, handle, handle, ctypes.c_char_p, ctypes.POINTER(handle)]),
    "sr_transform_points": (status, [handle, _f64p, ctypes.c_int64]),
    "sr_transform_save": (status, [handle, ctypes.c_char_p]),
    "sr_transform_free": (None, [handle]),
    "sr_run": (status, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, LINE, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]),
}
for _name, (_restype, _argtypes) in _signatures.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes


def check(code):
    """Raises the library's failure as an exception."""
    if code == SR_OK:
        return
    message = (lib.sr_last_error() or b"unknown error").decode()
    if code == SR_CANCELLED:
        raise Cancelled(message)
    raise Error(message, code)


def take_string(pointer):
    """A string the library returned, freed."""
    try:
        return ctypes.string_at(pointer).decode()
    finally:
        lib.sr_string_free(pointer)


class Handle:
    """Owns one library handle and frees it with `free` when collected."""

    def __init__(self, value, free):
        self.value = value
        self._free = free

    def __del__(self):
        if self.value:
            self._free(self.value)
            self.value = None
