"""Answering a batch of plans on one reader connection.

A whole dashboard arrives as one batch: the daily-tier bookkeeping of its
sites is read once, each plan runs as one statement (store.sqlite.compiler),
and every interned string id in every result is resolved in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from analytics.catalog import BY_NAME, PROPS_PREFIX
from analytics.stats.metrics import Sums
from analytics.stats.plan import Plan
from analytics.store.sqlite.compiler import Compiler, regexp, union

Key = tuple[Any, ...]
Groups = dict[Key, Sums]
NAMES = ("pageview", "engagement")


async def _all(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def name_ids(conn: aiosqlite.Connection) -> dict[str, int]:
    """The string ids of the built-in event names; an absent one matches nothing."""
    rows = await _all(conn, f"SELECT value, id FROM strings WHERE value IN ({', '.join('?' * len(NAMES))})", NAMES)
    return {v: i for v, i in rows}


async def sums(conn: aiosqlite.Connection, plans: Sequence[Plan], names: dict[str, int]) -> list[Groups]:
    """Per plan: group key (dimension values, strings resolved) -> sums."""
    await conn.create_function("regexp", 2, regexp, deterministic=True)
    sites = sorted({(p.query.site.id, p.query.site.timezone) for p in plans})
    through: dict[tuple[int, str], int] = {}
    if sites:
        marks = ", ".join("?" * len(sites))
        rows = await _all(
            conn, f"SELECT site_id, timezone, through_day FROM rollup_days WHERE site_id IN ({marks})",
            [site_id for site_id, _ in sites],
        )  # fmt: skip
        through = {(site_id, tz): day for site_id, tz, day in rows}

    native: list[Groups] = []
    imported: list[Groups] = []
    for plan in plans:
        q = plan.query
        groups: Groups = {}
        extra: Groups = {}  # imported rows are keyed by text already
        parts = Compiler(plan, names, through.get((q.site.id, q.site.timezone))).parts()
        if parts:
            sql, params, layout = union(parts, len(q.dimensions))
            ndims = len(q.dimensions)
            for row in await _all(conn, sql, params):
                names_of, from_imports = layout[row[0]]
                key, values = tuple(row[1 : 1 + ndims]), row[1 + ndims :]
                bucket = (extra if from_imports else groups).setdefault(key, {})
                for name, value in zip(names_of, values, strict=False):
                    bucket[name] = bucket.get(name, 0) + (value or 0)
        native.append(groups)
        imported.append(extra)

    strings = await _resolve(conn, plans, native)
    out = []
    for plan, groups, extra in zip(plans, native, imported, strict=True):
        resolved = _rekey(plan, groups, strings)
        for key, more in extra.items():
            bucket = resolved.setdefault(key, {})
            for name, value in more.items():
                bucket[name] = bucket.get(name, 0) + value
        out.append(resolved)
    return out


def _interned(plan: Plan) -> list[int]:
    """Positions of the dimensions whose values are string ids."""
    return [
        i for i, d in enumerate(plan.query.dimensions)
        if not d.startswith("time") and not d.startswith(PROPS_PREFIX) and not BY_NAME[d].text
    ]  # fmt: skip


async def _resolve(conn: aiosqlite.Connection, plans: Sequence[Plan], native: list[Groups]) -> dict[int, str]:
    pairs = zip(plans, native, strict=True)
    ids = sorted({key[i] for plan, groups in pairs for i in _interned(plan) for key in groups})
    if not ids:
        return {}
    # One statement, however many ids: they travel as one JSON array.
    sql = "SELECT id, value FROM strings WHERE id IN (SELECT value FROM json_each(?))"
    rows = await _all(conn, sql, [json.dumps(ids)])
    return dict(rows)


def _rekey(plan: Plan, groups: Groups, strings: dict[int, str]) -> Groups:
    interned = _interned(plan)
    if not interned:
        return groups
    out: Groups = {}
    for key, values in groups.items():
        resolved = tuple(strings.get(v, "") if i in interned else v for i, v in enumerate(key))
        prev = out.get(resolved)
        out[resolved] = values if prev is None else {k: prev.get(k, 0) + values.get(k, 0) for k in {*prev, *values}}
    return out
