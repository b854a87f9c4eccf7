"""The supported dependency range is stated once and tested at both ends: pyproject.toml's
lower bounds are constraints-min.txt's pins, the README's table says both ends, and a run
with XP_TEST_CONSTRAINTS (make test, make test-min) really has those versions installed."""

from __future__ import annotations

import os
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = [
    "flask",
    "werkzeug",
    "flask-sqlalchemy",
    "sqlalchemy",
    "flask-wtf",
    "flask-login",
    "authlib",
    "alembic",
]


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith("#"):
            package, pinned = line.split("==")
            found[canonicalize_name(package)] = pinned
    return found


def lower_bounds() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        (spec,) = requirement.specifier
        assert spec.operator == ">=", text
        bounds[canonicalize_name(requirement.name)] = spec.version
    return bounds


def readme_table() -> dict[str, tuple[str, str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Supported versions") :]
    rows = re.findall(r"^\| ([A-Za-z-]+) \| ([\d.]+) \| ([\d.]+) \|$", section, flags=re.M)
    return {canonicalize_name(name): (oldest, newest) for name, oldest, newest in rows}


def test_lower_bounds_are_the_oldest_pins() -> None:
    bounds, oldest = lower_bounds(), pins("constraints-min.txt")
    assert {name: Version(bounds[name]) for name in SUPPORTED} == {
        name: Version(oldest[name]) for name in SUPPORTED
    }


def test_the_readme_states_both_ends() -> None:
    oldest, newest = pins("constraints-min.txt"), pins("constraints.txt")
    assert readme_table() == {name: (oldest[name], newest[name]) for name in SUPPORTED}


def test_both_constraint_files_pin_the_same_packages() -> None:
    assert set(pins("constraints-min.txt")) == set(pins("constraints.txt"))


def test_this_run_has_the_versions_of_its_constraints_file() -> None:
    # make test and make test-min name the file; a bare pytest run is the newest set.
    pinned = pins(os.environ.get("XP_TEST_CONSTRAINTS", "constraints.txt"))
    assert {name: version(name) for name in SUPPORTED} == {name: pinned[name] for name in SUPPORTED}
