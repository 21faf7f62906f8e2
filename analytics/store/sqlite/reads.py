"""Answering a batch of plans on one reader connection.

A whole dashboard arrives as one batch: the daily-tier bookkeeping of its
sites is read once, each plan runs as one statement (store.sqlite.compiler),
and every interned string id in every result is resolved in one statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import aiosqlite

from analytics.catalog import BY_NAME, PROPS_PREFIX
from analytics.stats import dates, sharing
from analytics.stats.metrics import Sums
from analytics.stats.plan import Plan, kept
from analytics.store.sqlite import halves, segments
from analytics.store.sqlite.compiler import Compiler, Half, regexp, union
from analytics.store.sqlite.days import EPOCH, day_number

Key = tuple[Any, ...]
Groups = dict[Key, Sums]
NAMES = ("pageview", "engagement")
# SQLite calls the progress handler every so many virtual machine steps: often
# enough to stop within milliseconds, rarely enough to cost nothing measurable.
PROGRESS_STEPS = 10_000


class Budget:
    """The time one statement on a reader connection may take.

    SQLite's progress handler (`check`) runs on the connection's thread while a
    statement steps; a nonzero answer interrupts the statement, which then fails
    with an "interrupted" error that the store maps to `QueryTimeout`.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = float("inf")
        self.tripped = False

    def arm(self) -> None:
        """Start the clock for the next statement."""
        self.deadline = time.monotonic() + self.seconds
        self.tripped = False

    def check(self) -> int:
        if time.monotonic() > self.deadline:
            self.tripped = True
            return 1
        return 0

    async def install(self, conn: aiosqlite.Connection) -> None:
        await conn.set_progress_handler(self.check, PROGRESS_STEPS)


async def _all(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = (), budget: Budget | None = None
) -> list[Any]:
    if budget is not None:
        budget.arm()
    # One call on the connection's thread: a caller cancelled while it runs leaves no open cursor.
    return list(await conn.execute_fetchall(sql, params))


async def sums(
    conn: aiosqlite.Connection,
    plans: Sequence[Plan],
    budget: Budget | None = None,
    *,
    share: bool = True,
    spare: Spare | None = None,
) -> list[Groups]:
    """Per plan: group key (dimension values, strings resolved) -> sums.

    With a `budget` (installed on `conn`), each statement gets the whole budget.
    `share=False` runs every plan alone, even those that could share a filtered set
    (the design before; the bench measures both). With a `spare` (lending another reader
    and its budget once one is free), each raw plan or filtered set is read in two halves
    of its range (store.sqlite.halves), and the spare reader runs statements beside `conn`.
    """
    await conn.create_function("regexp", 2, regexp, deterministic=True)
    # One statement for the batch's bookkeeping: how far each site's daily tier reaches,
    # and the string ids of the built-in event names (absent ones match nothing).
    site_ids = sorted({p.query.site.id for p in plans})
    rows = await _all(
        conn,
        f"SELECT 0, site_id, timezone, through_day FROM rollup_days WHERE site_id IN ({', '.join('?' * len(site_ids))})"
        f" UNION ALL SELECT 1, value, id, NULL FROM strings WHERE value IN ({', '.join('?' * len(NAMES))})"
        f" UNION ALL SELECT 2, site_id, timezone, through_day FROM segment_days"
        f" WHERE site_id IN ({', '.join('?' * len(site_ids))})"
        " UNION ALL SELECT 3, NULL, MAX(id), NULL FROM strings",
        [*site_ids, *NAMES, *site_ids],
        budget,
    )
    through = {(site_id, tz): day for kind, site_id, tz, day in rows if kind == 0}
    names = {value: id_ for kind, value, id_, _ in rows if kind == 1}
    segment_through = {(site_id, tz): day for kind, site_id, tz, day in rows if kind == 2}
    string_count = next((n or 0 for kind, _, n, _ in rows if kind == 3), 0)  # its largest id: at least the count

    # A totals plan's page sums, when the batch's pages tab has them over the same events, are that
    # tab's rows' sum: it is not asked for them.
    asked, plans = plans, list(plans)
    derived = sharing.page_totals(asked)
    for i, _, given in derived:
        plans[i] = dataclasses.replace(plans[i], sums=plans[i].sums - given)

    # A segment plan's settled days come from the per-segment rollups, the days after from a
    # raw plan of their own, answered with the others (and sharing their filtered set) and
    # summed into the plan's groups. Visitor credits are per local day, so the two add up.
    count = len(plans)
    owner = list(range(count))  # the plan whose groups each plan's rows add to
    for i in range(count):
        q = plans[i].query
        split = _split(plans[i], segment_through.get((q.site.id, q.site.timezone)))
        if split is not None:
            plans[i], tail = split
            if tail is not None:
                owner.append(i)
                plans.append(tail)

    native: list[Groups] = [{} for _ in range(count)]
    imported: list[Groups] = [{} for _ in range(count)]  # imported rows are keyed by text already

    def add(index: int, row: Sequence[Any], ndims: int, names_of: tuple[str, ...], from_imports: bool) -> None:
        key, values = tuple(row[1 : 1 + ndims]), row[1 + ndims :]
        bucket = (imported if from_imports else native)[owner[index]].setdefault(key, {})
        for name, value in zip(names_of, values, strict=False):
            bucket[name] = bucket.get(name, 0) + (value or 0)

    # Raw plans with the same site, range and filter read one filtered set (store.sqlite.segments).
    by_range: dict[Hashable, list[int]] = {}
    for i, plan in enumerate(plans):
        key = sharing.shared_key(plan) if share else None
        if key is not None:
            by_range.setdefault(key, []).append(i)
    alone = [i for i, plan in enumerate(plans) if not share or sharing.shared_key(plan) is None]
    pairs: dict[Hashable, tuple[Half, Half] | None] = {}

    async def halves_of(plan: Plan) -> Sequence[Half | None]:
        """The halves a raw plan is read in, with a spare reader (store.sqlite.halves); else (None,)."""
        if spare is None:
            return (None,)
        q = plan.query
        key = (q.site.id, q.site.timezone, q.start, q.end)
        if key not in pairs:
            pairs[key] = await halves.half_pair(lambda sql, params: _all(conn, sql, params, budget), plan)
        return pairs[key] or (None,)

    jobs: list[Job] = []
    for indexes in by_range.values():
        for shared, positions in sharing.groups([plans[i] for i in indexes]):
            members = [indexes[p] for p in positions]
            if len(members) < 2:
                alone += members
                continue
            q = plans[members[0]].query
            group = [plans[i] for i in members]
            tier = through.get((q.site.id, q.site.timezone))
            for half in await halves_of(group[0]):
                sql, params, tagged = segments.statement(group, shared, names, tier, string_count, half)

                def shared_row(
                    row: Sequence[Any], tagged: list[segments.Tagged] = tagged, m: list[int] = members
                ) -> None:
                    member, (_, _, names_of), from_imports = tagged[row[0]]
                    add(m[member], row, plans[m[member]].key_width, names_of, from_imports)

                jobs.append((sql, params, shared_row))
    for i in alone:
        q = plans[i].query
        tier = (segment_through if plans[i].segment else through).get((q.site.id, q.site.timezone))
        for half in await halves_of(plans[i]) if plans[i].rollup is None else (None,):
            parts = Compiler(plans[i], names, tier, strings=string_count, half=half).parts()
            if not parts:
                continue
            sql, params, layout = union(parts, plans[i].key_width)

            def alone_row(row: Sequence[Any], layout: list[tuple[tuple[str, ...], bool]] = layout, i: int = i) -> None:
                names_of, from_imports = layout[row[0]]
                add(i, row, plans[i].key_width, names_of, from_imports)

            jobs.append((sql, params, alone_row))
    await _run(conn, budget, spare, jobs)

    plans = plans[:count]
    strings = await _resolve(conn, plans, native, budget)
    out = []
    for plan, groups, extra in zip(plans, native, imported, strict=True):
        resolved = _rekey(plan, groups, strings)
        for key, more in extra.items():
            bucket = resolved.setdefault(key, {})
            for name, value in more.items():
                bucket[name] = bucket.get(name, 0) + value
        out.append(resolved)
    for i, tab, given in derived:
        tab_rows = kept(out[tab], asked[tab]).values()
        totals = out[i].setdefault((), {})
        for name in given:
            totals[name] = sum(r.get(name, 0) for r in tab_rows)
    return out


# A statement of a batch: its SQL, its parameters, and what to do with each of its rows.
Job = tuple[str, list[Any], Callable[[Sequence[Any]], None]]
# Lends another reader connection and its budget, once one is free.
Spare = Callable[[], AbstractAsyncContextManager[tuple[aiosqlite.Connection, Budget | None]]]


async def _run(conn: aiosqlite.Connection, budget: Budget | None, spare: Spare | None, jobs: Sequence[Job]) -> None:
    """Run `jobs` in order on `conn`, and on a spare reader from the moment one is free, each
    taking the next job as it comes free. The spare is never waited for: once `conn` has taken
    the last job, a spare not yet lent is given up (two batches each waiting for a second reader
    would wait forever). Rows are handled on the event loop. A failure stops both readers after
    their statement and is raised once neither is running one."""
    pending = list(reversed(jobs))
    lent = False

    async def work(c: aiosqlite.Connection, b: Budget | None) -> None:
        while pending:
            sql, params, handle = pending.pop()
            try:
                for row in await _all(c, sql, params, b):
                    handle(row)
            except BaseException:
                pending.clear()  # the other reader stops after its statement
                raise

    async def helper(lend: Spare) -> None:
        nonlocal lent
        async with lend() as (c, b):
            lent = True
            await c.create_function("regexp", 2, regexp, deterministic=True)
            await work(c, b)

    task = asyncio.ensure_future(helper(spare)) if spare is not None and len(jobs) > 1 else None
    failed: BaseException | None = None
    try:
        await work(conn, budget)
    finally:
        if task is not None:
            if not lent:
                task.cancel()  # still waiting for a reader: no longer needed
            await asyncio.wait([task])  # or let it finish its statement (no job is left)
            if not task.cancelled():
                failed = task.exception()  # retrieved even when `conn` failed first (that one is raised)
    if failed is not None:
        raise failed


def _split(plan: Plan, segment_through: int | None) -> tuple[Plan, Plan | None] | None:
    """A segment plan as (its settled days from the per-segment rollups, a raw plan for the days after),
    or None when the per-segment rollups cannot answer it (no settled day in range, hours, part days)."""
    segment = plan.segment
    if segment is None or segment_through is None:
        return None
    settled = dataclasses.replace(plan, rollup=segment.table)
    days = plan.query.daily_days(segment_through)
    if days is None:
        return None
    q = plan.query
    if days[1] >= day_number(q.last_day):
        return settled, None
    first = EPOCH + timedelta(days=days[1] + 1)
    start = dates.local_midnight(first, dates.zone(q.site.timezone))
    tail = dataclasses.replace(
        plan, query=dataclasses.replace(q, start=start, first_day=first), imports=False, segment=None, continues=True
    )
    return settled, tail


def _interned(plan: Plan) -> list[int]:
    """Positions of the dimensions whose values are string ids."""
    return [
        i for i, d in enumerate(plan.query.dimensions)
        if not d.startswith("time") and not d.startswith(PROPS_PREFIX) and not BY_NAME[d].text
    ]  # fmt: skip


async def _resolve(
    conn: aiosqlite.Connection, plans: Sequence[Plan], native: list[Groups], budget: Budget | None
) -> dict[int, str]:
    pairs = zip(plans, native, strict=True)
    ids = sorted({key[i] for plan, groups in pairs for i in _interned(plan) for key in groups})
    if not ids:
        return {}
    # One statement, however many ids: they travel as one JSON array.
    sql = "SELECT id, value FROM strings WHERE id IN (SELECT value FROM json_each(?))"
    rows = await _all(conn, sql, [json.dumps(ids)], budget)
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
