"""The shape of each provider package: the plugin beside a ``sandbox/`` subpackage holding its
fake, and imports that only run downwards (read from the source, nothing is imported)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p for p in (ROOT / "providers").glob("trashscan_*") if p.is_dir())


def imported(module: Path) -> set[str]:
    """Absolute names of the modules ``module`` imports (``from x import y`` gives x and x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_provider_has_a_plugin_and_a_sandbox() -> None:
    assert [p.name for p in PACKAGES] == [
        "trashscan_dropbox",
        "trashscan_google_drive",
        "trashscan_google_photos",
        "trashscan_icloud",
        "trashscan_local_trash",
        "trashscan_onedrive",
    ]
    for package in PACKAGES:
        assert (package / "plugin.py").is_file()
        assert (package / "sandbox" / "__init__.py").is_file(), package.name
        assert not list(package.glob("fake*.py")), f"{package.name}: a fake outside sandbox/"
        assert not list((package / "sandbox").glob("fake_*.py")), package.name


def test_sandbox_entry_points_name_the_sandbox_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    sandboxes = project["entry-points"]["trashscan.sandbox"]
    providers = project["entry-points"]["trashscan.providers"]
    assert set(sandboxes) == set(providers)
    for name, target in sandboxes.items():
        package = providers[name].split(".")[0]
        assert target.split(":")[0] == f"{package}.sandbox", name


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_the_plugin_never_imports_its_sandbox_nor_the_sandbox_the_plugin(package: Path) -> None:
    sandbox = f"{package.name}.sandbox"
    for module in package.glob("*.py"):
        assert not {n for n in imported(module) if n.startswith(sandbox)}, module.name
    for module in (package / "sandbox").glob("*.py"):
        plugin = {
            n
            for n in imported(module)
            if n.startswith(f"{package.name}.")
            and not (n == sandbox or n.startswith(f"{sandbox}."))
        }
        assert not plugin, f"sandbox/{module.name} imports the plugin: {sorted(plugin)}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_only_the_package_entry_imports_the_fake(package: Path) -> None:
    """Seeding, the API and the model sit below the fake: none of them imports it (at run time
    or for type checking), so there is no fake <-> seed cycle."""
    fake = f"{package.name}.sandbox.fake"
    for module in (package / "sandbox").glob("*.py"):
        if module.name not in ("__init__.py", "fake.py"):
            assert not {n for n in imported(module) if n.startswith(fake)}, module.name
