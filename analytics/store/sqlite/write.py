"""The SQLite write path: enriched events in, event rows, visits and rollup upserts out.

`BatchWriter.write` is the only code that turns `Event`s into rows. The store's
queue calls it for each group commit; `SQLiteStore.bulk()` calls it for large
time-ordered loads such as the demo generator's, keeping visits in memory
between batches instead of reading them back.

Inside one IMMEDIATE transaction a batch: interns its strings, loads the visits
its visitor ids may continue (the last two days'), runs the backend-neutral
`visits.batch.Batch` over the events in arrival order, then writes the touched
visits, the events and the summed rollup deltas with one executemany each.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

import aiosqlite

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS, TEXT_ATTRS
from analytics.model import DAY, Event, SessionAttrs
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS, LINK_EVENTS, Deltas, link_url
from analytics.visits.sessions import Group, Session, attr_values

SESSION_COLS = (
    "id", "site_id", "visitor_id", "day", "start", "last", "last_action", "entry_page", "exit_page", "pageviews",
    "events", "interactive", *SESSION_ATTRS, "reads",
)  # fmt: skip
_SESSION_SQL = f"INSERT INTO sessions ({', '.join(SESSION_COLS)}) VALUES ({','.join('?' * len(SESSION_COLS))})"
_SESSION_UPDATE_SQL = _SESSION_SQL.replace("INSERT", "INSERT OR REPLACE", 1)
# A visit's page and goal marks live apart (migration 0011): only visits of the last two days keep them.
_STATE_SQL = "INSERT OR REPLACE INTO visit_state (id, state) VALUES (?, ?)"
_NO_STATE = '{"p":{},"s":[]}'  # a visit whose marks were forgotten (older than the horizon): none
# `words` and `read` are an engagement's page length and whether it made its pageview read (visits.reading).
_EVENT_COLS = (
    "id", "site_id", "ts", "session_id", "name", "hostname", "page", "props", "scroll_depth", "engaged_ms",
    "interactive", "words", "read",
)  # fmt: skip
_EVENT_SQL = f"INSERT INTO events ({', '.join(_EVENT_COLS)}) VALUES ({','.join('?' * len(_EVENT_COLS))})"
# Batches with revenue (rare) bind two more columns; the rest leave them NULL for less work per row.
_REVENUE_SQL = (
    f"INSERT INTO events ({', '.join(_EVENT_COLS)}, revenue, currency)"
    f" VALUES ({','.join('?' * (len(_EVENT_COLS) + 2))})"
)
# Goals that break down by the URL they lead to.
# Attributes stored as ids in the strings table (the rest as text), by position in SESSION_ATTRS.
_INTERNED = tuple(n not in TEXT_ATTRS for n in SESSION_ATTRS)
# A visit may continue for as long as its visitor id lives: today's and yesterday's salt.
HORIZON = 2 * DAY
_PROPS = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps(ensure_ascii=False) builds one per call
_STRINGS_MAX = 200_000  # the string cache's bound; ids are stable, so forgetting them is safe
# For bulk loads: commits not synced one by one, a 64 MB page cache, and a WAL checkpoint every
# 64 MB rather than 4 MB, so hot pages (indexes, rollups) are copied back once.
_BULK_PRAGMAS = {"synchronous": "NORMAL", "cache_size": "-65536", "wal_autocheckpoint": "16384"}



async def removed_sites(conn: aiosqlite.Connection, site_ids: set[int]) -> set[int]:
    """Which of `site_ids` were removed (tombstoned by `SQLiteStore.delete_site`), read in the caller's transaction."""
    ids = sorted(site_ids)
    marks = ",".join("?" * len(ids))
    async with conn.execute(f"SELECT site_id FROM removed_sites WHERE site_id IN ({marks})", ids) as cur:
        return {int(r[0]) for r in await cur.fetchall()}


class BatchWriter:
    """Writes batches of events on the writer connection, inside the caller's transaction.

    `keep_visits`: visits stay in memory between batches (bulk loads in time
    order) and are not read back. The database is asked only for visitor ids
    not in memory, and only on sites that had visits in the last two days when
    this writer first saw them: no other writer may add events to a site while
    a bulk load fills it.
    """

    def __init__(self, *, keep_visits: bool = False) -> None:
        self.strings: dict[str, int] = {"": 0}
        self.keep_visits = keep_visits
        self.opened = 0  # visits opened so far
        self._groups: dict[tuple[int, int], Group] = {}  # kept visits, by (site, visitor id)
        self._days: dict[int, list[tuple[int, int]]] = {}  # UTC day -> keys of groups with a kept visit started then
        self._dropped_before = -(2**62)  # kept visits that started before this were dropped
        self._db_latest: dict[int, int] = {}  # site -> latest start of its visits in the database, when first seen
        self._states_day = -(2**62)  # the UTC day of the last forget_states in a bulk load

    def forget(self) -> None:
        """Drop every cache: after a rollback, ids and visits in memory may not exist."""
        self.strings = {"": 0}
        self._groups = {}
        self._days = {}
        self._dropped_before = -(2**62)
        self._db_latest = {}

    async def write(self, conn: aiosqlite.Connection, events: list[Event]) -> list[bool]:
        """Write `events` (in arrival order); per event whether it was stored."""
        try:
            return await self._write(conn, events)
        except BaseException:
            self.forget()
            raise

    async def _write(self, conn: aiosqlite.Connection, events: list[Event]) -> list[bool]:
        if not events:
            return []
        removed = await removed_sites(conn, {e.site_id for e in events})
        if removed:
            # The site was removed after the event was checked: it never lands under the old id.
            kept = await self._write(conn, [e for e in events if e.site_id not in removed])
            it = iter(kept)
            return [False if e.site_id in removed else next(it) for e in events]
        attrs_by_id = await self._intern_batch(conn, events)
        s = self.strings
        horizon = min([e.ts for e in events]) - HORIZON
        groups = await self._load_visits(conn, events, horizon)
        async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions") as cur:
            row = await cur.fetchone()
        last_id = int(row[0]) if row else 0

        def attrs_of(attrs: SessionAttrs) -> tuple[Hashable, ...]:
            return attrs_by_id[id(attrs)]

        batch = Batch(groups, last_id)
        # `events` has no rowid (migration 0012): ids come from `event_ids`, advanced below.
        async with conn.execute("SELECT next FROM event_ids") as cur:
            row = await cur.fetchone()
        next_id = int(row[0]) if row else 1
        apply = batch.apply
        event_rows: list[tuple[Any, ...]] = []
        revenues: dict[int, tuple[float, str]] = {}  # event row -> its revenue
        stored: list[bool] = []
        for e in events:
            name, host, page = s[e.name], s[e.hostname], s[e.path]
            link = s[link_url(e)] if e.name in LINK_EVENTS else 0
            session = apply(e, name, host, page, link, attrs_of)
            if session is None:
                stored.append(False)
                continue
            stored.append(True)
            if e.revenue:
                revenues[len(event_rows)] = e.revenue
            props = _PROPS.encode(dict(e.props)) if e.props else None
            read = (1 if batch.read else None) if e.name == "engagement" else None
            event_rows.append((
                next_id + len(event_rows), e.site_id, e.ts, session.id, name, host, page, props, e.scroll_depth,
                e.engaged_ms, int(e.interactive), e.words, read,
            ))  # fmt: skip
        deltas = batch.finish()
        touched = batch.touched.values()
        continued = [_session_row(x) for x in touched if x.id <= last_id]
        if continued:
            await conn.executemany(_SESSION_UPDATE_SQL, continued)
        opened = [_session_row(x) for x in touched if x.id > last_id]
        if opened:
            await conn.executemany(_SESSION_SQL, opened)
        if touched:
            await conn.executemany(_STATE_SQL, [(x.id, x.state_json()) for x in touched])
        if revenues:
            none = (None, None)
            await conn.executemany(_REVENUE_SQL, [(*r, *revenues.get(i, none)) for i, r in enumerate(event_rows)])
        elif event_rows:
            await conn.executemany(_EVENT_SQL, event_rows)
        if event_rows:
            await conn.execute("UPDATE event_ids SET next = ?", (next_id + len(event_rows),))
        await write_deltas(conn, deltas)
        self.opened += batch.visits.opened
        if self.keep_visits:
            for x in touched:
                if x.id > last_id:
                    self._days.setdefault(x.start // DAY, []).append((x.site_id, x.visitor_id))
            if horizon // DAY > self._states_day:  # a bulk load forgets old marks once a day, as housekeeping does
                self._states_day = horizon // DAY
                await forget_states(conn, horizon - DAY)
        return stored

    # -- strings ---------------------------------------------------------------

    async def _intern_batch(self, conn: aiosqlite.Connection, events: list[Event]) -> dict[int, tuple[Hashable, ...]]:
        """Intern the batch's strings; returns each distinct attributes object's stored values, by id()."""
        if len(self.strings) > _STRINGS_MAX:
            self.strings = {"": 0}
        s = self.strings
        missing = {e.name for e in events} | {e.hostname for e in events} | {e.path for e in events}
        missing.update({link_url(e) for e in events if e.name in LINK_EVENTS})
        # Events often share one attributes object (bulk loads do): each distinct one is read once.
        attrs = {id(e.attrs): e.attrs for e in events}
        values = {key: attr_values(a) for key, a in attrs.items()}
        for vs in values.values():
            missing.update(v for v, interned in zip(vs, _INTERNED, strict=True) if interned)
        await self._intern(conn, missing)
        return {
            key: tuple([s[v] if interned else v for v, interned in zip(vs, _INTERNED, strict=True)])
            for key, vs in values.items()
        }

    async def _intern(self, conn: aiosqlite.Connection, values: Iterable[str]) -> None:
        missing = sorted(v for v in values if v not in self.strings)
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            await conn.executemany("INSERT OR IGNORE INTO strings (value) VALUES (?)", [(v,) for v in chunk])
            marks = ",".join("?" * len(chunk))
            async with conn.execute(f"SELECT value, id FROM strings WHERE value IN ({marks})", chunk) as cur:
                for value, id_ in await cur.fetchall():
                    self.strings[value] = id_

    # -- visits ------------------------------------------------------------------

    async def _load_visits(
        self, conn: aiosqlite.Connection, events: list[Event], horizon: int
    ) -> dict[tuple[int, int], Group]:
        """The visits the batch's visitor ids may continue or count with: those started since `horizon`."""
        if not self.keep_visits:
            groups: dict[tuple[int, int], Group] = {}
            wanted = {e.visitor_id for e in events} | {e.prev_visitor_id for e in events if e.prev_visitor_id}
            await self._select_visits(conn, wanted, horizon, groups)
            return groups
        if horizon < self._dropped_before:  # older than what memory still holds: start afresh
            self.forget()
        self._drop_kept(horizon)
        groups = self._groups
        for site in {e.site_id for e in events} - self._db_latest.keys():
            async with conn.execute("SELECT MAX(start) FROM sessions WHERE site_id = ?", (site,)) as cur:
                row = await cur.fetchone()
            self._db_latest[site] = row[0] if row and row[0] is not None else -(2**62)
        # Visitor ids not in memory may have visits in the database only if their site had recent ones.
        wanted = set()
        for e in events:
            if self._db_latest[e.site_id] >= horizon:
                for v in (e.visitor_id, e.prev_visitor_id):
                    if v is not None and (e.site_id, v) not in groups:
                        wanted.add(v)
        loaded: dict[tuple[int, int], Group] = {}
        await self._select_visits(conn, wanted, horizon, loaded)
        for key, group in loaded.items():
            if key not in groups:
                groups[key] = group
                for x in group:
                    self._days.setdefault(x.start // DAY, []).append(key)
        return groups

    async def _select_visits(
        self, conn: aiosqlite.Connection, visitor_ids: set[int], horizon: int, into: dict[tuple[int, int], Group]
    ) -> None:
        ids = list(visitor_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT {', '.join(f's.{c}' for c in SESSION_COLS)}, COALESCE(v.state, '{_NO_STATE}')"
                f" FROM sessions s LEFT JOIN visit_state v ON v.id = s.id WHERE s.visitor_id IN ({marks})"
                " AND s.start >= ?"
            )
            async with conn.execute(sql, (*chunk, horizon)) as cur:
                for row in await cur.fetchall():
                    x = _session_from_row(tuple(row))
                    into.setdefault((x.site_id, x.visitor_id), []).append(x)

    def _drop_kept(self, horizon: int) -> None:
        """Forget visitor ids whose kept visits all started before `horizon`: no batch from there on loads them."""
        groups = self._groups
        for day in sorted(d for d in self._days if (d + 1) * DAY <= horizon):
            for key in self._days.pop(day):
                group = groups.get(key)
                if group is not None and (group[0].start if len(group) == 1 else max(x.start for x in group)) < horizon:
                    del groups[key]
        self._dropped_before = max(self._dropped_before, horizon)


class BulkLoad:
    """Batches of events in time order written through `BatchWriter`, visits kept in memory between them.

    `run` runs a job in a transaction on the store's writer (`SQLiteStore.write`).
    """

    def __init__(self, run: Callable[[Callable[[aiosqlite.Connection], Awaitable[list[bool]]]], Awaitable[list[bool]]]):
        self._run = run
        self._writer = BatchWriter(keep_visits=True)

    @property
    def visits(self) -> int:
        """Visits opened so far."""
        return self._writer.opened

    async def write(self, events: list[Event]) -> int:
        """Write one batch in one transaction; returns how many events were stored."""
        stored = await self._run(lambda conn: self._writer.write(conn, events))
        return sum(stored)


async def bulk_settings(conn: aiosqlite.Connection) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
    """Switch the writer connection to bulk-load settings; returns the job that restores them."""
    before = {}
    for name, value in _BULK_PRAGMAS.items():
        async with conn.execute(f"PRAGMA {name}") as cur:
            row = await cur.fetchone()
        before[name] = row[0] if row else None
        await conn.execute(f"PRAGMA {name} = {value}")

    async def restore(conn: aiosqlite.Connection) -> None:
        for name, value in before.items():
            if value is not None:
                await conn.execute(f"PRAGMA {name} = {int(value)}")

    return restore


def _session_from_row(row: tuple[Any, ...]) -> Session:
    n = len(SESSION_ATTRS)
    id_, site_id, visitor_id, day, start, last, last_action, entry, exit_, pageviews, events, interactive = row[:12]
    x = Session(
        id_, site_id, visitor_id, day, start, last, last_action, entry, exit_, pageviews, events, interactive,
        tuple(row[12 : 12 + n]),
    )  # fmt: skip
    x.reads = row[12 + n]
    x.load_state(row[13 + n])
    return x


def _session_row(x: Session) -> tuple[Any, ...]:
    return (
        x.id, x.site_id, x.visitor_id, x.day, x.start, x.last, x.last_action, x.entry_page, x.exit_page, x.pageviews,
        x.events, x.interactive, *x.attrs, x.reads,
    )  # fmt: skip


async def forget_states(conn: aiosqlite.Connection, before: int) -> int:
    """Delete the marks of visits started before `before` (Unix seconds); returns how many.

    No batch loads such a visit again once it is older than HORIZON, so its marks
    are dead weight. `visit_state` holds only recent visits, so the join is short.
    """
    cur = await conn.execute(
        "DELETE FROM visit_state WHERE id IN"
        " (SELECT v.id FROM visit_state v JOIN sessions s ON s.id = v.id WHERE s.start < ?)",
        (before,),
    )
    return cur.rowcount


async def write_deltas(conn: aiosqlite.Connection, deltas: Deltas) -> None:
    """Upsert summed counter increments into each rollup table (rows that sum to nothing are skipped)."""
    for table, rows in deltas.rows.items():
        changed = [(*k, *c) for k, c in rows.items() if any(c)]
        if not changed:
            continue
        keys, counters = ROLLUP_KEYS[table], COUNTERS[table]
        cols = ("site_id", "bucket", *keys, *counters)
        sql = (
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
            f"ON CONFLICT DO UPDATE SET {', '.join(f'{c} = {c} + excluded.{c}' for c in counters)}"
        )
        await conn.executemany(sql, changed)
