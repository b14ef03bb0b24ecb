#!/usr/bin/env bash
# Installs the Debian packages SwiftReg builds against, when missing:
#   zlib1g-dev (.nii.gz, compressed MetaImage/NRRD), libpng-dev (PNG), libturbojpeg0-dev (JPEG),
#   libopenblas-dev (the convolutions of RegLearn), libhdf5-dev (ITK .h5 transforms),
#   libgdcm-dev (DICOM), pkg-config.
# The Swift toolchain (6.0 or newer) is expected on PATH.
set -euo pipefail
packages=(zlib1g-dev libpng-dev libturbojpeg0-dev libopenblas-dev libhdf5-dev libgdcm-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift not found: install Swift 6 from swift.org and put it on PATH" >&2; exit 1; }
