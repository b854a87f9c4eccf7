"""Writes xp_clock_shift.pth into the site-packages of the Python that runs this script."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import xp_clock_shift

if __name__ == "__main__":
    site = Path(sysconfig.get_paths()["purelib"])
    (site / xp_clock_shift.PTH_NAME).write_text(xp_clock_shift.pth_text())
