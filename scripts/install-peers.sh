#!/usr/bin/env bash
# Installs the peer registration tools the benchmark compares SwiftReg with, into a private folder
# (default: peers/ in the repository, git-ignored), without touching the system Python:
#   ANTs      antsRegistration / antsApplyTransforms: the binaries compiled into PyPI antspyx,
#             called through three-line Python wrappers in PEERS/bin
#   elastix   elastix / transformix from Debian (apt; skipped without root or sudo)
#   NiftyReg  reg_aladin / reg_f3d / reg_resample / reg_transform, built by PyPI niftyreg
#   checks    nibabel, numpy, scipy and SimpleITK in the same virtual environment
# Every peer is optional: a failed install is reported and the benchmark skips that tool.
# Usage: scripts/install-peers.sh [PEERS_DIR]
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${1:-$root/peers}"
mkdir -p "$peers/bin"
peers="$(cd "$peers" && pwd)"
venv="$peers/venv"
log="$peers/install.log"
: >"$log"
ok=() failed=()

if [ ! -x "$venv/bin/python" ]; then
  echo "creating the virtual environment $venv"
  python3 -m venv "$venv" >>"$log" 2>&1 || { echo "python3 -m venv failed (Debian: apt-get install python3-venv); see $log" >&2; exit 1; }
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip >>"$log" 2>&1

echo "installing nibabel, numpy, scipy, SimpleITK (checks)…"
if "$py" -m pip install --quiet nibabel numpy scipy SimpleITK >>"$log" 2>&1; then ok+=(checks); else failed+=(checks); fi

echo "installing ANTs (PyPI antspyx)…"
if "$py" -m pip install --quiet antspyx >>"$log" 2>&1; then
  for tool in antsRegistration antsApplyTransforms; do
    cat >"$peers/bin/$tool" <<PYEOF
#!$py
import sys
from ants import lib
sys.exit(lib.$tool(sys.argv[1:]))
PYEOF
    chmod +x "$peers/bin/$tool"
  done
  ok+=(ants)
else
  failed+=(ants)
fi

echo "installing elastix (Debian)…"
if ! command -v elastix >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  { $sudo apt-get install -y -qq elastix || { $sudo apt-get update -qq && $sudo apt-get install -y -qq elastix; }; } >>"$log" 2>&1
fi
if command -v elastix >/dev/null && command -v transformix >/dev/null; then
  ln -sf "$(command -v elastix)" "$peers/bin/elastix"
  ln -sf "$(command -v transformix)" "$peers/bin/transformix"
  ok+=(elastix)
else
  failed+=(elastix)
fi

echo "installing NiftyReg (PyPI niftyreg, built from source: a few minutes)…"
if CMAKE_POLICY_VERSION_MINIMUM=3.5 "$py" -m pip install --quiet niftyreg >>"$log" 2>&1; then
  bin="$("$py" -c 'import niftyreg, os; print(os.path.dirname(niftyreg.bin_path) if os.path.isfile(niftyreg.bin_path) else niftyreg.bin_path)' 2>>"$log")"
  for tool in reg_aladin reg_f3d reg_resample reg_transform; do
    [ -x "$bin/$tool" ] && ln -sf "$bin/$tool" "$peers/bin/$tool"
  done
  if [ -x "$peers/bin/reg_f3d" ]; then ok+=(niftyreg); else failed+=(niftyreg); fi
else
  failed+=(niftyreg)
fi

echo "peers in $peers/bin: installed: ${ok[*]:-none}; failed: ${failed[*]:-none} (details in $log)"
