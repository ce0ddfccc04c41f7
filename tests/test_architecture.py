"""The code's shape: imports point one way, and none hides inside a function to dodge a cycle.

The layer contract itself is import-linter's (`[tool.importlinter]` in pyproject.toml, run by
scripts/check); an import made inside a function is invisible to nobody but easy to miss in a
review, so this counts them. A migration is frozen: it imports no app code, only the column
types of `hostguard.db.types`, so an old upgrade step never runs against newer models.
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


# A migration runs against the schema of its own revision: models or service code imported from
# the app describe the newest schema (a column a later migration adds, a rule changed since), so
# an installation upgrading from before the migration would fail or count differently.
MIGRATIONS = PACKAGE / "db" / "migrations" / "versions"
FROZEN_MAY_IMPORT = "hostguard.db.types"


def _app_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """The imports of hostguard modules other than `hostguard.db.types`, wherever they are."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                node.module if node.module == FROZEN_MAY_IMPORT else f"{node.module}.{a.name}"
                for a in node.names
            ]
        elif isinstance(node, ast.ImportFrom):  # relative: the app's package, whatever it names
            names = [f"{'.' * node.level}{node.module or ''}"]
        else:
            continue
        found.extend(
            (node.lineno, name)
            for name in names
            if (name.startswith(".") or name.split(".")[0] == "hostguard")
            and name != FROZEN_MAY_IMPORT
        )
    return found


def test_migrations_import_no_app_code():
    found = [
        f"{path.relative_to(PACKAGE.parent).as_posix()}:{line} imports {name}"
        for path in sorted(MIGRATIONS.glob("*.py"))
        for line, name in _app_imports(ast.parse(path.read_text()))
    ]
    assert found == [], (
        "a migration is frozen: it imports nothing from hostguard but hostguard.db.types (write a "
        "backfill against sa.table(...) columns of its revision, copy the rules it needs)\n"
        + "\n".join(found)
    )


def test_the_check_finds_app_code_in_a_migration():
    imported = (
        "import hostguard.db.types\n"
        "from hostguard.db.types import UTCDateTime\n"
        "from hostguard.db import types\n"
        "import sqlalchemy as sa\n"
        "def upgrade():\n"
        "    from hostguard.cases.rollup import rebuild\n"
        "    import hostguard.registry\n"
        "    from hostguard.db import make_engine\n"
        "    from ..models import Case\n"
    )
    assert _app_imports(ast.parse(imported)) == [
        (6, "hostguard.cases.rollup.rebuild"),
        (7, "hostguard.registry"),
        (8, "hostguard.db.make_engine"),
        (9, "..models"),
    ]
