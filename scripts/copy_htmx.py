"""Copy htmx from node_modules (installed by ``npm ci`` from package-lock.json) into the
package's static folder, where the blueprint serves it. The copy is not committed.

Run from the repository root: ``python scripts/copy_htmx.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
TARGET = ROOT / "xero_panel" / "static" / "xero_panel" / "htmx.min.js"


def locked_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/htmx.org"]["version"])


def main() -> int:
    if not SOURCE.exists():
        print(f"{SOURCE} is missing: run 'npm ci' first.", file=sys.stderr)
        return 1
    installed = json.loads((SOURCE.parent.parent / "package.json").read_text())["version"]
    if installed != locked_version():
        print(
            f"node_modules has htmx {installed} but package-lock.json pins {locked_version()}:"
            " run 'npm ci'.",
            file=sys.stderr,
        )
        return 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, TARGET)
    print(f"copied htmx {installed} to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
