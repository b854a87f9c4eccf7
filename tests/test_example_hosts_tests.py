"""The example hosts' own test suites (examples/*/tests/), run as each host runs them: pytest
in the example's folder, with xero-emulator's pytest plugin and TESTING on.

They run here, on this run's installed packages, rather than in each example's virtualenv of
tests/browser/test_examples.py: that one installs the built wheel without the emulator, and
its browser run costs minutes; these cost seconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent.parent.name for p in ROOT.glob("examples/*/tests/test_*.py"))


def test_every_example_has_its_own_tests() -> None:
    assert EXAMPLES == ["multi_tenant_tailwind", "single_tenant_bootstrap"]


@pytest.mark.timeout(300)
def test_the_example_hosts_own_tests_pass(tmp_path: Path) -> None:
    # Both at once, each in its own process (each example's tests import its own app.py).
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=ROOT / "examples" / name,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in EXAMPLES
    }
    for name, process in runs.items():
        output, _ = process.communicate(timeout=280)
        assert process.returncode == 0, f"{name}:\n{output}"
        assert " passed" in output and "skipped" not in output, output
