"""The layout's rules, checked from the source: no import cycles, unique module names,
SQL only in the storage and accounts packages, the bucket size defined once, and
backends that never call back into the stats pipeline or the web layer.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "analytics"
SQL_HOMES = ("analytics.store", "analytics.accounts")
# A statement, not a word: a keyword followed by the clause that makes it SQL.
SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)"
    r"|DROP\s+TABLE|ALTER\s+TABLE|PRAGMA\s+\w+)",
    re.S,
)


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Every analytics module `name` imports, at any depth of the file (function-level ones too)."""
    tree = ast.parse(path.read_text("utf-8"))
    known = modules()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = name.split(".")[: -node.level] if path.name != "__init__.py" else name.split(".")
                base = ".".join([*package, node.module])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known)
    return {m for m in found if m in known and m != name}


def test_no_import_cycles() -> None:
    graph = {name: imports(name, path) for name, path in modules().items()}
    # A package's __init__ importing its own submodules is how a package exposes them, not a cycle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".") or (PACKAGE.parent / Path(*m.split("."))).is_file()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_no_two_modules_share_a_name() -> None:
    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert [n for n, count in names.items() if count > 1] == []


def test_sql_lives_only_in_the_storage_and_accounts_packages() -> None:
    offenders = []
    for name, path in modules().items():
        if name.startswith(SQL_HOMES):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
        uses = imports(name, path) | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        } | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        for driver in ("sqlite3", "aiosqlite", "clickhouse_connect"):
            if driver in uses:
                offenders.append(f"{name}: imports {driver}")
    assert offenders == []


def test_the_sql_check_sees_sql() -> None:
    assert SQL.search("SELECT id FROM strings WHERE value = ?")
    assert SQL.search("INSERT OR IGNORE INTO strings (value) VALUES (?)")
    assert not SQL.search("Select a site from the list")
    assert not SQL.search("delete the site")


def test_the_bucket_size_is_defined_once() -> None:
    offenders = []
    for name, path in modules().items():
        if name == "analytics.model":
            continue
        for lineno, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            # Bucket arithmetic with a literal, or a second definition of the constant.
            if re.search(r"(//|\*)\s*900\b|\b900\s*\*|\bBUCKET\w*\s*=\s*\d", code):
                offenders.append(f"{name}:{lineno}: {line.strip()}")
    assert offenders == []


def test_backends_never_call_back_into_stats_or_the_web() -> None:
    """A backend may use the pipeline's types and facts, never its stages."""
    stages = ("analytics.stats.run", "analytics.stats.shape", "analytics.stats.parse", "analytics.api", "analytics.web")
    for name, path in modules().items():
        if name.startswith("analytics.store"):
            bad = [m for m in imports(name, path) if m.startswith(stages)]
            assert bad == [], name
