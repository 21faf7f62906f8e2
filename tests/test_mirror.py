"""Test files mirror the modules they test: every module with logic has its own test file.

The rule, checked over every `.py` file under analytics/:

- A module **has logic** when it defines at least one function or method whose
  body is more than a docstring, `pass` or `...`. Modules of constants,
  dataclasses, protocols and re-exports have none and need no test file of
  their own (store/base.py, accounts/__init__.py, __main__.py ...).
- Its test file is `tests/test_<name>.py`, or `tests/test_<package>_<name>.py`
  naming one of its enclosing packages (`test_accounts_db.py` for
  accounts/db.py). Where the bare name is ambiguous, because two modules share
  it, or a package has it too (store/sqlite/transfer.py beside analytics/transfer/),
  only the qualified name counts.
- The test file imports the module it is named for, so a file cannot mirror a
  module by its name alone.
- `EXEMPT` lists the modules with logic that have no test file of their own, each
  with its reason. It stays short; an entry that no longer applies fails here.

The check runs from modules to test files only. Feature suites (test_api_query,
test_dashboard_browser, test_server, test_fuzz, test_roundtrip, ...) test
behaviour across modules and need no module of their name.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "analytics"
TESTS = ROOT / "tests"

EXEMPT: dict[str, str] = {
    "analytics/web/__init__.py": "the dashboard's route table, one list; every dashboard test requests through it",
}


def _trivial(body: list[ast.stmt]) -> bool:
    """A body of at most a docstring, `pass` and `...`."""
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or `...`
        return False
    return True


def has_logic(path: Path) -> bool:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _trivial(node.body)
        for node in ast.walk(tree)
    )


def modules() -> dict[str, tuple[str, ...]]:
    """Every module under analytics/: its path from the root -> its package path (without `analytics`)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        out[str(path.relative_to(ROOT))] = rel.parts
    return out


def ambiguous() -> set[str]:
    """Module names a bare test name cannot tell apart: shared by two modules, or also a package's name."""
    names = [parts[-1] for parts in modules().values() if parts[-1] not in ("__init__", "__main__")]
    packages = {p.name for p in PACKAGE.rglob("*") if p.is_dir() and (p / "__init__.py").exists()}
    return {n for n in names if names.count(n) > 1} | (set(names) & packages)


def names_for(parts: tuple[str, ...]) -> set[str]:
    """The file names that count as the test file of the module at `parts`."""
    name = parts[-1]
    qualified = {f"test_{package}_{name}.py" for package in parts[:-1]}
    return qualified if name in ambiguous() else {f"test_{name}.py", *qualified}


def imported(test_file: Path) -> set[str]:
    """Every module a test file imports, as dotted names (`from a.b import c` gives a.b and a.b.c)."""
    out = set()
    for node in ast.walk(ast.parse(test_file.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def with_logic() -> dict[str, tuple[str, ...]]:
    return {path: parts for path, parts in modules().items() if has_logic(ROOT / path)}


def test_every_module_with_logic_has_its_test_file() -> None:
    existing = {p.name for p in TESTS.glob("test_*.py")}
    missing = []
    for path, parts in with_logic().items():
        if path in EXEMPT:
            continue
        if not names_for(parts) & existing:
            missing.append(f"{path}: add {' or '.join(sorted(names_for(parts)))}")
    assert missing == [], "modules without a test file:\n" + "\n".join(missing)


def test_a_test_file_named_for_a_module_imports_it() -> None:
    wrong = []
    for path, parts in modules().items():
        dotted = ".".join(("analytics", *parts))
        for name in sorted(names_for(parts)):
            test_file = TESTS / name
            if test_file.exists() and dotted not in imported(test_file):
                wrong.append(f"{name} is named for {path} but does not import {dotted}")
    assert wrong == [], "\n".join(wrong)


def test_exemptions_are_few_and_current() -> None:
    logic = with_logic()
    existing = {p.name for p in TESTS.glob("test_*.py")}
    assert len(EXEMPT) <= 5, "keep the exemptions few: write the test instead"
    for path, reason in EXEMPT.items():
        assert path in logic, f"{path} is exempt but has no logic (or is gone): drop the entry"
        assert not names_for(logic[path]) & existing, f"{path} has a test file now: drop the entry"
        assert reason.strip(), path


def test_the_rule_itself() -> None:
    """What counts as logic, and which names are ambiguous, on this tree."""
    assert has_logic(PACKAGE / "stats" / "metrics.py")
    assert not has_logic(PACKAGE / "store" / "base.py")  # dataclasses and a protocol
    assert not has_logic(PACKAGE / "accounts" / "__init__.py")  # a re-export
    assert ambiguous() == {"store", "transfer"}  # modules named like a package
    assert names_for(("store", "sqlite", "transfer")) == {"test_store_transfer.py", "test_sqlite_transfer.py"}
    assert names_for(("accounts", "db")) == {"test_db.py", "test_accounts_db.py"}
