#!/usr/bin/env bash
# One command on a fresh Debian machine: installs what is missing, builds release, fetches public
# data (Colin27 + AAL from Debian, ICBM 2009a from PyPI) and runs the demo (scripts/demo.sh) on it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/demo.sh
