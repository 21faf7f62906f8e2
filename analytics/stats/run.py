"""Running queries: plan them, let a store sum the plans in one batch, shape the results.

This is the stats pipeline's driver: parse (stats.parse) -> plan (stats.plan)
-> sums (the store backend) -> metrics (stats.shape). Several queries (a whole
dashboard) are planned together and handed to the store as one batch, so it
can share lookups and statements between them; identical plans run once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import date

from analytics.model import Site
from analytics.stats.imported import skip_reason
from analytics.stats.medians import with_medians
from analytics.stats.plan import Plan, histogram_plan, kept, plan
from analytics.stats.query import Query, QueryResult
from analytics.stats.shape import shape, supporting
from analytics.store.base import Store


async def first_day(store: Store, site: Site, *, imports: bool = True) -> date | None:
    """The first local day with data, for the range "all" (rollups outlive raw events).

    With `imports`, imported history counts too: "all" then reaches back to it.
    """
    days = []
    native = await store.data_range(site)
    if native is not None:
        days.append(native[0])
    if imports:
        imported = await store.imported_range(site.id)
        if imported is not None:
            days.append(imported[0])
    return min(days, default=None)


async def run(store: Store, query: Query, *, raw: bool = False) -> QueryResult:
    """Answer one query. `raw=True` bypasses rollups (tests check both ways agree)."""
    return (await run_many(store, [query], raw=raw))[0]


async def run_many(store: Store, queries: Sequence[Query], *, raw: bool = False) -> list[QueryResult]:
    """Answer several queries with one batch of store work."""
    prepared = []
    for query in queries:
        # Decide about imports once per query, so percentage and conversion bases agree with its rows.
        reason = skip_reason(query) if query.include_imports else None
        effective = dataclasses.replace(query, include_imports=False) if reason else query
        parts = [effective, *supporting(effective)]
        prepared.append((query, reason, effective, [plan(q, raw=raw) for q in parts], histogram_plan(effective)))

    unique: dict[Plan, int] = {}
    for *_, plans, histogram in prepared:
        for p in [*plans, *([histogram] if histogram else [])]:
            unique.setdefault(p, len(unique))
    sums = await store.sums(list(unique))

    results = []
    for query, reason, effective, plans, histogram in prepared:
        groups = [kept(sums[unique[p]], p) for p in plans]
        if histogram is not None:
            groups[0] = with_medians(groups[0], sums[unique[histogram]])
        result = shape(effective, groups[0], groups[1:])
        if query.include_imports:
            result.meta["imports_included"] = reason is None
            if reason:
                result.meta["imports_skip_reason"] = reason
        results.append(result)
    return results


class Batch:
    """Collects the queries a view makes concurrently and runs them as one store batch.

    A dashboard asks for its top stats, chart and panels with `asyncio.gather`;
    each `run` call waits a few loop turns for the others, then all of them go
    to the store together. A query that arrives later starts the next batch,
    so results never depend on timing, only the number of batches does.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[Query, asyncio.Future[QueryResult]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def run(self, query: Query) -> QueryResult:
        future: asyncio.Future[QueryResult] = asyncio.get_running_loop().create_future()
        self._pending.append((query, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        for _ in range(_GATHER_TURNS):
            await asyncio.sleep(0)
        pending, self._pending, self._flushing = self._pending, [], None
        try:
            results = await run_many(self.store, [q for q, _ in pending])
        except Exception as exc:  # each caller sees the failure of the batch it was in
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(pending, results, strict=True):
            if not future.done():
                future.set_result(result)


# Loop turns a batch waits: enough for every coroutine started by one gather to reach its query.
_GATHER_TURNS = 4
