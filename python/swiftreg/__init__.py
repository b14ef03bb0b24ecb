"""SwiftReg from Python: medical image registration over the library's C ABI.

>>> import swiftreg
>>> fixed, moving = swiftreg.Image.read("fixed.nii.gz"), swiftreg.Image.read("moving.nii.gz")
>>> result = swiftreg.register(fixed, moving, preset="syn")
>>> result.summary["correlationAfter"], result.warped.shape
"""
from ._native import Error, Cancelled, lib as _lib
from .image import Image
from .registration import Result, Transform, register, apply
from .applications import evaluate, segment, longitudinal, template

__version__ = _lib.sr_version().decode()
__all__ = ["Image", "Result", "Transform", "register", "apply", "evaluate", "segment", "longitudinal", "template", "Error", "Cancelled"]
