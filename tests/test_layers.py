"""Imports go one way (DESIGN.md): lower layers never import the API or the web pages, and the
engine never imports the ERP domain."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

RULES = {
    "app/engine": ("app.api", "app.web", "app.domain", "service_tasks"),
    "app/models": ("app.api", "app.web", "app.domain", "service_tasks"),
    "app/domain": ("app.api", "app.web", "app.engine", "flask"),
    "service_tasks": ("app.api", "app.web"),
}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("folder, forbidden", sorted(RULES.items()))
def test_imports_go_one_way(folder, forbidden):
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_rule_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from app.api.services import runtime\n")
    assert list(imported_modules(bad)) == ["app.api.services"]
