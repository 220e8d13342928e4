"""The direction of imports (DESIGN.md "Packages and the direction of imports"): schemas imports
nothing of ours, hub never imports gateway or device_drivers, gateway never imports hub. What
the hub and a terminal both need (a document's layout) must therefore live in schemas."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "schemas": {"hub", "gateway", "device_drivers", "ehub"},
    "hub": {"gateway", "device_drivers", "ehub"},
    "gateway": {"hub", "ehub"},
    "device_drivers": {"hub", "gateway", "ehub"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_against_the_direction(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    wrong = {
        str(f.relative_to(ROOT)): sorted(imported_packages(f) & FORBIDDEN[package]) for f in files
    }
    assert {f: w for f, w in wrong.items() if w} == {}
