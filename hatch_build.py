"""hatchling build hook: put htmx.min.js into the sdist and the wheel.

htmx comes from npm (``npm ci`` installs the version package-lock.json pins) and is never
committed. Every build (sdist, wheel, editable install) first runs
``scripts/copy_htmx.py``'s ``ensure_htmx``: it copies node_modules' htmx into
``xero_panel/static/xero_panel/`` after checking its version against the lockfile. The
sdist carries that copy (``artifacts`` in pyproject.toml, since .gitignore excludes it), so
a wheel built from the sdist, where there is no node_modules, has it too. With neither
node_modules nor the copy, the build stops and says to run ``npm ci``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _load_copy_htmx(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("copy_htmx", root / "scripts" / "copy_htmx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class HtmxBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "htmx"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        copy_htmx = _load_copy_htmx(Path(self.root))
        try:
            self.app.display_info(copy_htmx.ensure_htmx(Path(self.root)))
        except copy_htmx.HtmxError as error:
            self.app.abort(f"xero-panel's build needs htmx: {error}")
