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


async def sums(conn: aiosqlite.Connection, plans: Sequence[Plan]) -> list[Groups]:
    """Per plan: group key (dimension values, strings resolved) -> sums."""
    await conn.create_function("regexp", 2, regexp, deterministic=True)
    # One statement for the batch's bookkeeping: how far each site's daily tier reaches,
    # and the string ids of the built-in event names (absent ones match nothing).
    site_ids = sorted({p.query.site.id for p in plans})
    rows = await _all(
        conn,
        f"SELECT 0, site_id, timezone, through_day FROM rollup_days WHERE site_id IN ({', '.join('?' * len(site_ids))})"
        f" UNION ALL SELECT 1, value, id, NULL FROM strings WHERE value IN ({', '.join('?' * len(NAMES))})",
        [*site_ids, *NAMES],
    )
    through = {(site_id, tz): day for kind, site_id, tz, day in rows if kind == 0}
    names = {value: id_ for kind, value, id_, _ in rows if kind == 1}

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
