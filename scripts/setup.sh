#!/usr/bin/env bash
# One command on a fresh Debian machine: installs what is missing, builds release, fetches public
# data (Colin27 + AAL from Debian, ICBM 2009a from PyPI) and runs the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/fetch-data.sh >/dev/null
bin=.build/release/swiftreg
out=out/demo
mkdir -p "$out"
icbm=data/icbm2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
"$bin" info data/mricron/ch2bet.nii.gz data/mricron/aal.nii.gz "$icbm"
# Colin27 onto the ICBM 2009a template, and the AAL labels carried through the result.
"$bin" register -f "$icbm" -m data/mricron/ch2bet.nii.gz -o "$out/colin27_to_icbm2009a" --preset affine --metric mi
"$bin" apply -i data/mricron/aal.nii.gz -r "$icbm" -t "$out/colin27_to_icbm2009a_affine.txt" --interp label \
    -o "$out/aal_on_icbm2009a_by_registration.nii.gz"
"$bin" convert data/mricron/ch2bet.nii.gz "$out/colin27.mha"
"$bin" convert "$icbm" "$out/icbm2009a.nrrd"
"$bin" resample data/mricron/aal.nii.gz "$out/aal_on_icbm2009a_grid.nii.gz" --like "$icbm" --interp label
"$bin" resample data/mricron/ch2bet.nii.gz "$out/colin27_2mm.nii.gz" --spacing 2
"$bin" info "$out"/*.nii.gz "$out"/*.mha "$out"/*.nrrd
echo "outputs in $out"
