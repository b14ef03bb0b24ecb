"""Builds the library (`swift build --product swiftreg_c`, the Swift runtime linked in statically)
and bundles it in the package, unless python/swiftreg/libswiftreg_c.so is there already (as
scripts/build-wheel.sh leaves it); the wheel is tagged for this platform and any Python 3."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBRARY = os.path.join(HERE, "swiftreg", "libswiftreg_c.so")


class BuildWithSwift(build_py):
    """Copies the package; the library comes from python/swiftreg when scripts/build-wheel.sh put it
    there, else it is built and placed in the build folder (the source tree stays as it was)."""

    def run(self):
        super().run()
        if os.path.exists(LIBRARY):
            return
        if shutil.which("swift") is None:
            raise RuntimeError("building swiftreg from source needs the Swift toolchain on PATH (or install a wheel built by scripts/build-wheel.sh)")
        scratch = os.path.join(ROOT, ".build", "wheel")
        # The Swift runtime linked in (SwiftPM's --static-swift-stdlib covers executables only).
        static = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("swift")))), "lib", "swift_static", "linux")
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "swiftreg_c", "--scratch-path", scratch,
                               "-Xswiftc", "-static-stdlib", "-Xlinker", "-L" + static], cwd=ROOT)
        self.copy_file(os.path.join(scratch, "release", "libswiftreg_c.so"), os.path.join(self.build_lib, "swiftreg", "libswiftreg_c.so"))


class NativeLibrary(Distribution):
    """A package with a native library: installed as platform files (platlib), as auditwheel requires."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """Pure Python calling a native library: any Python 3, this platform."""

    def get_tag(self):
        return "py3", "none", super().get_tag()[2]


setup(distclass=NativeLibrary, cmdclass={"build_py": BuildWithSwift, "bdist_wheel": PlatformWheel})
