#!/usr/bin/env bash
# Installs what the demo and the tests need, into .venv and node_modules, from the
# pinned versions (constraints.txt, package-lock.json). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# npm first: building xero-panel (the editable install too) copies htmx from node_modules
# into xero_panel/static/xero_panel/ (hatch_build.py) and stops when it is missing.
npm ci --no-audit --no-fund --loglevel=error
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c constraints.txt -e ".[dev,redis,postgres]" -e ./emulator
