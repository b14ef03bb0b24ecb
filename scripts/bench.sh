#!/usr/bin/env bash
# The benchmark against ANTs, elastix and NiftyReg (whichever scripts/install-peers.sh installed):
# builds SwiftReg, fetches the public data, runs bench/run.py, checks the evaluator independently
# (when the peers' Python has numpy and scipy) and writes docs/BENCHMARKS.md.
# Usage: scripts/bench.sh [--quick] [--threads N] [other bench/run.py options]
#        scripts/bench.sh segment [scripts/segment-loo.py options]: leave-one-out atlas segmentation on the
#        ten whole-head label maps, with ANTs' joint label fusion on the same warps when antspyx is installed
#        scripts/bench.sh longitudinal [scripts/longitudinal-sim.py options]: simulated atrophy on real brains,
#        with ANTs (rigid + SyN, integrated det J) when antspyx is installed
#        scripts/bench.sh abnormality [scripts/abnormality-sim.py options]: normative models, simulated lesions
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = segment ]; then
  shift
  scripts/build.sh >/dev/null
  ants=()
  peers/venv/bin/python -c "import ants" 2>/dev/null && ants=(--ants)
  python3 scripts/segment-loo.py "${ants[@]}" --record bench/results/segment_loo.json "$@"
  exec python3 bench/report.py
fi
if [ "${1:-}" = longitudinal ] || [ "${1:-}" = abnormality ]; then
  case=$1
  shift
  scripts/build.sh >/dev/null
  py=python3
  peers/venv/bin/python -c "import nibabel, numpy, scipy" 2>/dev/null && py=peers/venv/bin/python
  if [ "$case" = longitudinal ]; then
    ants=()
    peers/venv/bin/python -c "import ants" 2>/dev/null && ants=(--ants)
    "$py" scripts/longitudinal-sim.py "${ants[@]}" --record bench/results/longitudinal_sim.json "$@"
  else
    "$py" scripts/abnormality-sim.py --record bench/results/abnormality_sim.json "$@"
  fi
  exec python3 bench/report.py
fi
scripts/build.sh >/dev/null
scripts/fetch-data.sh >/dev/null
python3 bench/run.py "$@"
py=peers/venv/bin/python
work=out/bench
if [ -x "$py" ] && "$py" -c "import nibabel, numpy, scipy" 2>/dev/null; then
  pairs=()
  for pair in lapirn_AB/swiftreg lapirn_AB/ants-quick lapirn_AB/elastix lapirn_AB/niftyreg knownwarp_clapirnA/swiftreg; do
    [ -f "$work/$pair/evaluation.json" ] && pairs+=("$pair")
  done
  [ ${#pairs[@]} -gt 0 ] && "$py" bench/check_evaluator.py "$work" bench/results/evaluator_check.json "${pairs[@]}"
else
  echo "evaluator check skipped: scripts/install-peers.sh installs nibabel, numpy and scipy into peers/venv"
fi
python3 bench/report.py
