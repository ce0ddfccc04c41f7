"""The code's shape: imports point one way, and none hides inside a function to dodge a cycle.

The layer contract itself is import-linter's (`[tool.importlinter]` in pyproject.toml, run by
scripts/check); an import made inside a function is invisible to nobody but easy to miss in a
review, so this counts them.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hostguard"

# Function-level imports of hostguard's own modules that are there for a reason other than a
# cycle, with the reason. The command line loads its command modules lazily (start-up time,
# benchmarks/cli); the gunicorn master never imports the web app, only its workers do.
ALLOWED = {
    (
        "ops/server.py",
        "hostguard.web",
    ): "the web app is loaded in gunicorn's workers, after the fork",
    (
        "datasets/engines.py",
        "hostguard.datasets.dask_plugin",
    ): "the plugin imports `distributed`, loaded only when a scan runs on Dask (as `Client` is)",
}
LAZY_PACKAGES = ("cli/", "db/migrations/")


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _function_level_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(child, ast.ImportFrom) and child.module:
                if child.module.startswith("hostguard"):
                    found.append((child.lineno, child.module))
            elif in_function and isinstance(child, ast.Import):
                found.extend(
                    (child.lineno, a.name) for a in child.names if a.name.startswith("hostguard")
                )
            visit(child, inside)

    visit(tree, False)
    return found


def test_no_import_of_hostguard_inside_a_function():
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(LAZY_PACKAGES):
            continue
        for line, module in _function_level_imports(ast.parse(path.read_text())):
            if (where, module) not in ALLOWED:
                hidden.append(f"hostguard/{where}:{line} imports {module} inside a function")
    assert hidden == [], "\n".join(hidden)


def test_the_check_finds_a_hidden_import():
    tree = ast.parse("def f():\n    from hostguard.cases import intake\n")
    assert _function_level_imports(tree) == [(2, "hostguard.cases")]
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hostguard.runtime import Runtime\n"
    assert _function_level_imports(ast.parse(guarded)) == []
