#!/usr/bin/env bash
# Fetches public data for SwiftReg's demo and benchmarks into data/ (git-ignored):
#   data/mricron/   Colin27 (ch2bet.nii.gz, ch2.nii.gz) and the AAL atlas (aal.nii.gz, aal.nii.txt),
#                   from Debian's mricron-data package (BSD-3; atlases keep their own terms)
#   data/icbm2009a/ ICBM 2009a symmetric template with grey/white-matter maps, from PyPI nilearn==0.14.1
#   data/dicom/     DICOM samples (CT, MR, enhanced multi-frame, every compressed transfer syntax they
#                   hold) from PyPI pydicom==3.0.2 (test_files/) and pydicom-data==1.0.0 (data/), MIT
# Usage: scripts/fetch-data.sh [DATA_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$root/data}"
mkdir -p "$data"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -f "$data/mricron/ch2bet.nii.gz" ]; then
  echo "fetching Colin27 + AAL (Debian mricron-data)…"
  ( cd "$work" && { apt-get download mricron-data >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download mricron-data; }; } )
  dpkg -x "$work"/mricron-data_*.deb "$work/mricron"
  mkdir -p "$data/mricron"
  cp "$work"/mricron/usr/share/mricron/templates/{ch2bet.nii.gz,ch2.nii.gz,aal.nii.gz,aal.nii.txt} "$data/mricron/"
fi

if [ ! -f "$data/icbm2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz" ]; then
  echo "fetching ICBM 2009a template (PyPI nilearn==0.14.1)…"
  python3 -m pip download --quiet --no-deps --dest "$work" nilearn==0.14.1
  mkdir -p "$data/icbm2009a"
  python3 - "$work"/nilearn-0.14.1-*.whl "$data/icbm2009a" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for kind in ("t1", "gm", "wm"):
        name = f"nilearn/datasets/data/mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz"
        with z.open(name) as src, open(os.path.join(out, os.path.basename(name)), "wb") as dst:
            dst.write(src.read())
PY
fi
if [ ! -f "$data/dicom/pydicom/CT_small.dcm" ]; then
  echo "fetching DICOM samples (PyPI pydicom==3.0.2, pydicom-data==1.0.0)…"
  python3 -m pip download --quiet --no-deps --dest "$work" pydicom==3.0.2 pydicom-data==1.0.0
  mkdir -p "$data/dicom"
  python3 - "$work" "$data/dicom" <<'PY'
import sys, zipfile, os, glob
work, out = sys.argv[1], sys.argv[2]
for wheel, prefix, folder in [("pydicom-3.0.2-*.whl", "pydicom/data/test_files/", "pydicom"),
                              ("pydicom_data-1.0.0-*.whl", "data_store/data/", "pydicom-data")]:
    with zipfile.ZipFile(glob.glob(os.path.join(work, wheel))[0]) as z:
        for name in z.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                target = os.path.join(out, folder, name[len(prefix):])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(name) as src, open(target, "wb") as dst:
                    dst.write(src.read())
PY
fi

echo "data in $data:"
find "$data" -type f | sort
