"""Building the distributions as a host's CI would (``python -m build``), for the packaging
tests and the example hosts' browser tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def build(source: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No isolation: the build backends come from the dev extra, so no index is needed.
    return subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), *args, str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def built(source: Path, out: Path, *args: str) -> None:
    result = build(source, out, *args)
    assert result.returncode == 0, result.stdout + result.stderr
