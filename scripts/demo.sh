#!/usr/bin/env bash
# The demo: registers Colin27 (Debian mricron-data) to the ICBM 2009a template (PyPI nilearn),
# rigid + affine + SyN, carries the AAL atlas onto the template through the result, and writes
# the quality-control report. About 45 s on 2 cores once built and fetched.
# Usage: scripts/demo.sh [OUTPUT_DIR]   (default out/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/swiftreg
[ -x "$bin" ] || scripts/build.sh
scripts/fetch-data.sh >/dev/null
out="${1:-out/demo}"
mkdir -p "$out"
icbm=data/icbm2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
colin=data/mricron/ch2bet.nii.gz
aal=data/mricron/aal.nii.gz
prefix="$out/colin27_to_icbm2009a"
"$bin" info "$colin" "$aal" "$icbm"
"$bin" register -f "$icbm" -m "$colin" -o "$prefix" --preset syn \
    --report --moving-labels "$aal" --lut data/mricron/aal.nii.txt --slice axial:0.65
"$bin" apply -i "$aal" -r "$icbm" -t "${prefix}_warp.nii.gz" -t "${prefix}_affine.txt" --interp label \
    -o "$out/aal_on_icbm2009a.nii.gz"
"$bin" evaluate --warp "${prefix}_warp.nii.gz"
"$bin" snapshot "$icbm" --slice coronal:0.55 --overlay "$out/aal_on_icbm2009a.nii.gz" -o "$out/aal_on_icbm2009a_coronal.png"
echo "report: $(pwd)/${prefix}_report.html"
