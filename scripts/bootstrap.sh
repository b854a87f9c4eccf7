#!/usr/bin/env bash
# Installs what the demo and the tests need, into a virtualenv and node_modules, from the
# pinned versions (package-lock.json and a constraints file). Safe to run again.
#   VENV         the virtualenv (default .venv)
#   CONSTRAINTS  the pins (default constraints.txt, the newest supported versions;
#                constraints-min.txt holds the oldest, for `make test-min`)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=${VENV:-.venv}
constraints=${CONSTRAINTS:-constraints.txt}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# npm first: building xero-panel (the editable install too) copies htmx from node_modules
# into xero_panel/static/xero_panel/ (hatch_build.py) and stops when it is missing.
# `npm ci` starts from an empty node_modules, so skip it when node_modules was installed from
# this very lockfile (a second virtualenv's bootstrap, or a test run that started meanwhile).
stamp=node_modules/.xero-panel-lock
if ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$constraints" -e ".[dev,redis,postgres]" -e ./emulator
# Every Python process of the test virtualenv imports tests/clock_shift/xp_clock_shift.py at
# start-up; it moves the wall clock only when XP_CLOCK_SHIFT_DAYS is set (.ci/run's second run).
"$venv/bin/python" tests/clock_shift/write_pth.py
