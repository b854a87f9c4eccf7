"""Copy htmx from node_modules (installed by ``npm ci`` from package-lock.json) into the
package's static folder, where the blueprint serves it. The copy is never committed.

Run from a clone after ``npm ci``: ``python scripts/copy_htmx.py``. Every build of the
package (``pip install .``, ``pip install -e .``, ``python -m build``) runs the same copy
through ``hatch_build.py``, so the sdist and the wheel both carry htmx.min.js. Standard
library only: the build loads this file by path.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("node_modules", "htmx.org", "dist", "htmx.min.js")
TARGET = Path("xero_panel", "static", "xero_panel", "htmx.min.js")
LOCKFILE = "package-lock.json"


class HtmxError(Exception):
    """htmx cannot be copied or is missing; the message says what to run."""


def locked_version(root: Path = ROOT) -> str:
    """The htmx version package-lock.json pins."""
    lock = json.loads((root / LOCKFILE).read_text())
    return str(lock["packages"]["node_modules/htmx.org"]["version"])


def file_version(path: Path) -> str | None:
    """The version a minified htmx file declares (``version:"2.0.11"``), if any."""
    found = re.search(r'version:\s*"([^"]+)"', path.read_text(encoding="utf-8")[:20000])
    return found.group(1) if found else None


def copy_htmx(root: Path = ROOT) -> str:
    """Copy node_modules' htmx into the static folder after checking its version
    against the lockfile; return what was done."""
    source = root / SOURCE
    if not source.exists():
        raise HtmxError(f"{source} is missing: run 'npm ci' first.")
    installed = json.loads((source.parent.parent / "package.json").read_text())["version"]
    if installed != locked_version(root):
        raise HtmxError(
            f"node_modules has htmx {installed} but {LOCKFILE} pins {locked_version(root)}:"
            " run 'npm ci'."
        )
    target = root / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return f"copied htmx {installed} to {TARGET.as_posix()}"


def ensure_htmx(root: Path = ROOT) -> str:
    """What a build needs: copy from node_modules when it is there; else (an unpacked
    sdist) keep the copy already in the static folder if its version is the lockfile's."""
    if (root / SOURCE).exists():
        return copy_htmx(root)
    target = root / TARGET
    if not target.exists():
        raise HtmxError(
            f"{TARGET.as_posix()} is missing and there is no {SOURCE.as_posix()} to copy it"
            " from: run 'npm ci' in the repository root (it installs the htmx that"
            f" {LOCKFILE} pins), then build again."
        )
    have, want = file_version(target), locked_version(root)
    if have != want:
        raise HtmxError(
            f"{TARGET.as_posix()} is htmx {have} but {LOCKFILE} pins {want}:"
            " run 'npm ci', then build again."
        )
    return f"using htmx {have} already in {TARGET.as_posix()}"


def main() -> int:
    try:
        print(copy_htmx())
    except HtmxError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
