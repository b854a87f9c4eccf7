from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import xero_emulator

import xero_panel
from tests.packaging_support import build, built

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "xero_panel" / "static" / "xero_panel"


def locked_htmx_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/htmx.org"]["version"])


def test_htmx_pinned_exactly_in_package_json() -> None:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["htmx.org"]
    assert wanted == locked_htmx_version()


def test_served_htmx_matches_lockfile() -> None:
    head = (STATIC / "htmx.min.js").read_text()[:20000]
    assert f'version:"{locked_htmx_version()}"' in head.replace(" ", "")


def test_docs_name_the_pinned_htmx_version() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"htmx {locked_htmx_version()}" in readme


def test_htmx_copy_not_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "xero_panel/static"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "htmx.min.js" not in tracked


def test_no_minified_or_vendored_files_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert [f for f in tracked if re.search(r"\.min\.(js|css)$|node_modules/", f)] == []


HTMX = "xero_panel/static/xero_panel/htmx.min.js"
IN_THE_WHEEL = [
    "xero_panel/__init__.py",
    "xero_panel/py.typed",
    "xero_panel/templates/xero_panel/widget.html",
    "xero_panel/templates/xero_panel/partials/panel.html",
    "xero_panel/static/xero_panel/panel.css",
    "xero_panel/static/xero_panel/panel.js",
    "xero_panel/static/xero_panel/pin.svg",
    "xero_panel/static/xero_panel/pin-pinned.svg",
    HTMX,
]
IN_THE_SDIST = [
    *IN_THE_WHEEL,
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "package-lock.json",
    "hatch_build.py",
    "scripts/copy_htmx.py",
    "scripts/dump_0_1_database.py",
    "tests/fixtures/xero_panel_0_1.sqlite.sql",
    "tests/fixtures/xero_panel_0_1.postgresql.sql",
    "tests/conftest.py",
    "tests/test_packaging.py",
    "tests/packaging_support.py",
    "demo_app.py",
    "docs/panel.md",
]


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sdist_files(sdist: Path) -> dict[str, bytes]:
    files = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                files[member.name.split("/", 1)[1]] = extracted.read()
    return files


def dist_info(names: set[str]) -> str:
    return next(name.split("/")[0] for name in names if ".dist-info/" in name)


def htmx_version(text: bytes) -> str | None:
    found = re.search(rb'version:\s*"([^"]+)"', text[:20000])
    return found.group(1).decode() if found else None


def no_emulator_nor_node_modules(names: set[str]) -> list[str]:
    return [
        name
        for name in names
        if name.startswith(("emulator/", "xero_emulator/", "node_modules/"))
        or "/xero_emulator/" in name
        or "/node_modules/" in name
    ]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Where the wheel built from the tree went, and where ``python -m build`` put the
    sdist and the wheel built from it."""
    tree, via_sdist = tmp_path_factory.mktemp("tree"), tmp_path_factory.mktemp("sdist")
    for out, args in [(tree, ["--wheel"]), (via_sdist, [])]:
        result = build(ROOT, out, *args)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        # "clean": no warning from the build (hatchling's about files or metadata).
        assert "warning" not in output.lower(), output
    return tree, via_sdist


@pytest.fixture(scope="module")
def artefacts(dists: tuple[Path, Path]) -> dict[str, dict[str, bytes]]:
    """The wheel built from the tree, the sdist, and the wheel built from the sdist (what
    pip does with an sdist; ``python -m build`` with no flags does the same)."""
    tree, via_sdist = dists
    return {
        "wheel": wheel_files(next(tree.glob("xero_panel-*.whl"))),
        "sdist": sdist_files(next(via_sdist.glob("xero_panel-*.tar.gz"))),
        "wheel from sdist": wheel_files(next(via_sdist.glob("xero_panel-*.whl"))),
    }


@pytest.mark.parametrize("kind", ["wheel", "sdist", "wheel from sdist"])
def test_artefact_carries_htmx_of_the_lockfile(
    artefacts: dict[str, dict[str, bytes]], kind: str
) -> None:
    files = artefacts[kind]
    assert HTMX in files
    assert htmx_version(files[HTMX]) == locked_htmx_version()


@pytest.mark.parametrize("kind", ["wheel", "wheel from sdist"])
def test_wheel_carries_package_templates_static_and_py_typed(
    artefacts: dict[str, dict[str, bytes]], kind: str
) -> None:
    names = set(artefacts[kind])
    assert [name for name in IN_THE_WHEEL if name not in names] == []
    assert {name.split("/")[0] for name in names} == {"xero_panel", dist_info(names)}


def test_sdist_carries_package_tests_demo_and_docs(
    artefacts: dict[str, dict[str, bytes]],
) -> None:
    names = set(artefacts["sdist"])
    assert [name for name in IN_THE_SDIST if name not in names] == []


@pytest.mark.parametrize("kind", ["wheel", "sdist", "wheel from sdist"])
def test_artefact_has_no_emulator_and_no_node_modules(
    artefacts: dict[str, dict[str, bytes]], kind: str
) -> None:
    assert no_emulator_nor_node_modules(set(artefacts[kind])) == []


def test_build_without_npm_install_fails_naming_npm_ci(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    for name in ["pyproject.toml", "hatch_build.py", "README.md", "package-lock.json"]:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, clone / name)
    shutil.copytree(ROOT / "scripts", clone / "scripts")
    shutil.copytree(ROOT / "xero_panel", clone / "xero_panel")
    (clone / HTMX).unlink()
    result = build(clone, tmp_path / "dist", "--sdist")
    assert result.returncode != 0
    assert (
        "xero-panel's build needs htmx: xero_panel/static/xero_panel/htmx.min.js is missing"
        " and there is no node_modules/htmx.org/dist/htmx.min.js to copy it from:"
        " run 'npm ci' in the repository root"
    ) in result.stdout + result.stderr


def test_emulator_distribution_has_only_xero_emulator(tmp_path: Path) -> None:
    built(ROOT / "emulator", tmp_path)
    names = set(wheel_files(next(tmp_path.glob("xero_emulator-*.whl"))))
    assert "xero_emulator/__init__.py" in names
    assert {name.split("/")[0] for name in names} == {"xero_emulator", dist_info(names)}
    sdist = set(sdist_files(next(tmp_path.glob("xero_emulator-*.tar.gz"))))
    assert "xero_emulator/__init__.py" in sdist
    assert [name for name in names | sdist if "xero_panel" in name] == []


def load_copy_htmx() -> ModuleType:
    spec = importlib.util.spec_from_file_location("copy_htmx", ROOT / "scripts" / "copy_htmx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


copy_htmx = load_copy_htmx()


def fake_checkout(root: Path, *, installed: str | None, copied: str | None) -> Path:
    """A lockfile pinning 2.0.11, node_modules with ``installed`` and the static copy
    with ``copied`` (None: absent)."""
    shutil.copyfile(ROOT / "package-lock.json", root / "package-lock.json")
    if installed is not None:
        dist = root / copy_htmx.SOURCE
        dist.parent.mkdir(parents=True)
        dist.write_text(f'(function(){{var htmx={{version:"{installed}"}}}})();')
        (dist.parent.parent / "package.json").write_text(json.dumps({"version": installed}))
    if copied is not None:
        (root / copy_htmx.TARGET).parent.mkdir(parents=True)
        (root / copy_htmx.TARGET).write_text(f'var htmx={{version: "{copied}"}};')
    return root


def test_copy_htmx_copies_the_locked_version(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path, installed=locked_htmx_version(), copied=None)
    assert copy_htmx.ensure_htmx(root) == (
        f"copied htmx {locked_htmx_version()} to xero_panel/static/xero_panel/htmx.min.js"
    )
    assert copy_htmx.file_version(root / copy_htmx.TARGET) == locked_htmx_version()


def test_copy_htmx_refuses_node_modules_other_than_the_lockfile(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path, installed="1.9.0", copied=locked_htmx_version())
    with pytest.raises(copy_htmx.HtmxError) as error:
        copy_htmx.ensure_htmx(root)
    assert str(error.value) == (
        f"node_modules has htmx 1.9.0 but package-lock.json pins {locked_htmx_version()}:"
        " run 'npm ci'."
    )


def test_build_without_node_modules_keeps_a_copy_of_the_locked_version(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path, installed=None, copied=locked_htmx_version())
    assert copy_htmx.ensure_htmx(root) == (
        f"using htmx {locked_htmx_version()} already in xero_panel/static/xero_panel/htmx.min.js"
    )


def test_build_without_node_modules_refuses_a_stale_copy(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path, installed=None, copied="1.9.0")
    with pytest.raises(copy_htmx.HtmxError) as error:
        copy_htmx.ensure_htmx(root)
    assert str(error.value) == (
        "xero_panel/static/xero_panel/htmx.min.js is htmx 1.9.0 but package-lock.json pins"
        f" {locked_htmx_version()}: run 'npm ci', then build again."
    )


# -- the release: one version, clean metadata, an upgrade from 0.1 --------------------------


def metadata_version(files: dict[str, bytes], name: str) -> str:
    found = re.search(rb"^Version: (.+)$", files[name], re.M)
    assert found is not None, name
    return found.group(1).decode().strip()


@pytest.mark.parametrize("kind", ["wheel", "sdist", "wheel from sdist"])
def test_artefact_version_is_the_package_version(
    artefacts: dict[str, dict[str, bytes]], kind: str
) -> None:
    files = artefacts[kind]
    names = set(files)
    meta = "PKG-INFO" if kind == "sdist" else f"{dist_info(names)}/METADATA"
    assert metadata_version(files, meta) == xero_panel.__version__
    if kind != "sdist":
        assert dist_info(names) == f"xero_panel-{xero_panel.__version__}.dist-info"


def test_this_release_is_0_2_0_and_the_emulator_is_released_with_it() -> None:
    assert xero_panel.__version__ == "0.2.0"
    assert xero_emulator.__version__ == xero_panel.__version__


def test_the_changelog_has_a_section_for_this_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## (.+)$", changelog, re.M)
    assert sections[0] == "Unreleased"
    assert re.fullmatch(
        rf"{re.escape(xero_panel.__version__)} - \d{{4}}-\d{{2}}-\d{{2}}", sections[1]
    )
    assert re.search(r"^### Upgrading from 0\.1$", changelog, re.M)
    assert re.match(r"0\.1\.0 - ", sections[-1])


def test_readme_status_names_this_release() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"**Status: {xero_panel.__version__}" in readme


def test_twine_check_passes_on_every_artefact(dists: tuple[Path, Path], tmp_path: Path) -> None:
    """What a package index checks before it takes an upload (the README renders)."""
    built(ROOT / "emulator", tmp_path)
    files = [*dists[0].glob("*.whl"), *dists[1].iterdir(), *tmp_path.iterdir()]
    assert len(files) == 5
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 5, result.stdout


#: xero-panel 0.1: the last commit before its tables became migrations (see CHANGELOG.md).
RELEASE_0_1 = "6e4e8ca"


def build_0_1(out: Path, work: Path) -> Path:
    """0.1's wheel, built from its commit as it stands (its version says 0.1.0.dev0)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", RELEASE_0_1],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(work, filter="data")
    # 0.1 built with flit_core<4; the one installed here builds it the same way.
    result = build(work, out, "--wheel", "--skip-dependency-check")
    assert result.returncode == 0, result.stdout + result.stderr
    return next(out.glob("xero_panel-*.whl"))


@pytest.mark.timeout(300)
def test_the_0_2_0_wheel_installs_over_0_1_and_pip_reports_0_2_0(
    dists: tuple[Path, Path], tmp_path: Path
) -> None:
    """With HEAD still at 0.1.0.dev0, pip said "already installed with the same version"
    and kept 0.1's files."""
    old = build_0_1(tmp_path / "dist-0.1", tmp_path / "src-0.1")
    new = next(dists[0].glob("xero_panel-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")

    def pip(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "pip", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def installed() -> tuple[str, set[str]]:
        shown = pip("show", "--files", "xero-panel")
        assert shown.returncode == 0, shown.stderr
        version = re.search(r"^Version: (.+)$", shown.stdout, re.M)
        assert version is not None
        return version.group(1), {line.strip() for line in shown.stdout.splitlines()}

    # No dependencies: the test is about xero-panel's own files and version.
    assert pip("install", "--no-deps", "--no-index", str(old)).returncode == 0
    version, files = installed()
    assert version.startswith("0.1.0") and "xero_panel/models.py" in files

    upgraded = pip("install", "--no-deps", "--no-index", str(new))

    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "Successfully installed xero-panel-0.2.0" in upgraded.stdout
    version, files = installed()
    assert version == "0.2.0"
    assert "xero_panel/schema/__main__.py" in files
    assert "xero_panel/models.py" not in files  # 0.1's files went with it


def test_readme_says_how_to_install_before_and_after_an_index_release() -> None:
    """It said only ``pip install xero-panel``, which finds nothing before a release; how
    to build was under Development, after the Makefile and hatch_build.py."""
    readme = (ROOT / "README.md").read_text()
    installing = readme[readme.index("### Installing") : readme.index("### Supported versions")]
    version = xero_panel.__version__
    for step in [
        f'pip install "xero-panel=={version}"',  # after the release
        "npm ci",  # the build copies htmx from node_modules (hatch_build.py)
        "python -m build",
        f"xero_panel-{version}-py3-none-any.whl",  # the wheel file
        f"xero_panel-{version}.tar.gz",  # the sdist
        "#subdirectory=emulator",  # a git URL, for the emulator
    ]:
        assert step in installing, step
    assert readme.index("### Installing") < readme.index("### Database tables")
