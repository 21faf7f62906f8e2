"""The ClickHouse write path: events appended, visits versioned, rollup deltas summed by the engine.

ClickHouse has no read-modify-write transaction. This process keeps open
visits in memory (the backend-neutral `visits.batch.Batch` over a cache kept
between batches, loaded at start from the last days' newest visit rows; on a
server, where other collectors may write the same visitors, each batch first
re-reads its visitors' newest visits: `refresh`) and appends:
- the batch's events, each with its visit id, visitor id and first-touch
  attributes (so filters on those read events alone);
- a new version of every visit the batch touched (`sessions` is a
  ReplacingMergeTree on the version: readers see the newest);
- the batch's signed rollup deltas (SummingMergeTree sums them).

Each insert is synchronous: `write` returns once ClickHouse acknowledged every
row, and only then does the caller answer 202.

visits/ keys pages, hosts and event names by integer. Here that integer is a
63-bit hash of the text (BLAKE2b), so the marks a visit's `state` keeps stay
valid across restarts; `names` maps each hash back to its text for the rows.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Hashable, Sequence
from typing import Any

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS
from analytics.model import DAY, Event, SessionAttrs
from analytics.store.clickhouse.chclient import Connection
from analytics.store.clickhouse.ddl import DELTA_COUNTERS, DELTA_KEYS
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS, Deltas, link_url
from analytics.visits.sessions import Group, Session, attr_values

EVENT_COLS = (
    "site_id", "ts", "session_id", "visitor_id", "name", "hostname", "page", "props", "scroll_depth", "engaged_ms",
    "interactive", "revenue", "currency", "words", "read", *SESSION_ATTRS,
)  # fmt: skip
SESSION_COLS = (
    "id", "site_id", "visitor_id", "day", "start", "last", "last_action", "entry_page", "exit_page", "pageviews",
    "events", "interactive", *SESSION_ATTRS, "reads", "state", "version",
)  # fmt: skip
DELTA_COLS = (
    "rollup",
    "site_id",
    "bucket",
    *(f"k{i}" for i in range(DELTA_KEYS)),
    *(f"c{i}" for i in range(DELTA_COUNTERS)),
)
# Visits a batch may continue or count with started at most two days before it (two salts);
# the cache keeps a day more, so a batch a little out of time order still finds them.
KEEP = 3 * DAY
_NAMES_MAX = 500_000
Insert = tuple[str, Sequence[str], list[tuple[Any, ...]]]  # table, columns, rows
Inserts = list[Insert]


def text_id(value: str) -> int:
    """The integer visits/ keys a text by: 0 for '', else a 63-bit BLAKE2b hash."""
    if not value:
        return 0
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()) >> 1



class Appender:
    """Writes batches of events to ClickHouse with the visits of visits/, kept in memory."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.groups: dict[tuple[int, int], Group] = {}
        self.names: dict[int, str] = {0: ""}
        self.last_id = 0
        self._version = 0
        self._newest = 0  # the latest event time written
        self._pruned = 0
        self.node = 0  # the visit id range of this process (0 on chDB); chosen at the first load

    def _id(self, value: str) -> int:
        key = text_id(value)
        self.names[key] = value
        return key

    async def load(self) -> None:
        """Take over the visits of the last days from the table (at start, or after a failed write)."""
        self.groups = {}
        self.names = {0: ""}
        # Visit ids: one process on chDB counts up from the largest; collectors sharing a server each
        # count in their own range of 2**48 ids (a random one of 32,767), so no two make the same id.
        node = 0 if self.conn.url.embedded else self.node or secrets.randbelow(2**15 - 1) + 1
        self.node = node
        lo, hi = node << 48, (node + 1) << 48
        rows = await self.conn.rows(
            "SELECT max(id), max(start) FROM sessions WHERE id >= {lo:UInt64} AND id < {hi:UInt64}",
            {"lo": lo, "hi": hi},
        )
        self.last_id = max(lo, int(rows[0][0] or 0)) if rows else lo
        rows = await self.conn.rows("SELECT max(start) FROM sessions")
        newest = int(rows[0][0] or 0) if rows else 0
        self._newest = self._pruned = newest
        cols = ", ".join(SESSION_COLS)
        for row in await self.conn.rows(
            f"SELECT {cols} FROM sessions FINAL WHERE start >= {{since:Int64}} ORDER BY id", {"since": newest - KEEP}
        ):
            x = self._session(row)
            self.groups.setdefault((x.site_id, x.visitor_id), []).append(x)

    async def refresh(self, events: list[Event]) -> None:
        """Take the newest visits of the batch's visitors from the table: another collector may have moved them.

        Several collectors on one server each keep visits in memory; a visitor whose
        events reach two of them would otherwise get a visit in each (and a second
        visitor credit). Every batch's visits are inserted before its 202, so the table
        holds the newest version of every visit whose events were acknowledged; the
        batch continues from there, and its rollup deltas are relative to what was summed.
        One read per batch, on a server only: with chDB this process is the only writer.
        """
        keys = {(e.site_id, e.visitor_id) for e in events}
        keys.update((e.site_id, e.prev_visitor_id) for e in events if e.prev_visitor_id is not None)
        sites = sorted({site for site, _ in keys})
        visitors = sorted({visitor for _, visitor in keys})
        # Every version, newest kept here: FINAL would merge the sites' whole three days (~15x slower at 1M visits).
        rows = await self.conn.rows(
            f"SELECT {', '.join(SESSION_COLS)} FROM sessions WHERE site_id IN {{sites:Array(UInt32)}}"
            " AND visitor_id IN {visitors:Array(Int64)} AND start >= {since:Int64}",
            {"sites": sites, "visitors": visitors, "since": min(e.ts for e in events) - KEEP},
        )
        newest: dict[int, tuple[Any, ...]] = {}
        for row in rows:
            seen = newest.get(row[0])
            if seen is None or row[-1] > seen[-1]:
                newest[row[0]] = row
        fresh: dict[tuple[int, int], Group] = {key: [] for key in keys}
        for _, row in sorted(newest.items()):
            key = (int(row[1]), int(row[2]))
            if key in fresh:
                fresh[key].append(self._session(row))
        for key, group in fresh.items():
            if group:
                self.groups[key] = group
            else:
                self.groups.pop(key, None)

    def _session(self, row: Sequence[Any]) -> Session:
        """A visit from its row (SESSION_COLS); the writer's versions then stay above the row's."""
        n = len(SESSION_ATTRS)
        self._version = max(self._version, int(row[14 + n]))
        id_, site_id, visitor_id, day, start, last, last_action, entry, exit_, pageviews, events, interactive = row[:12]
        x = Session(
            int(id_), int(site_id), int(visitor_id), int(day), int(start), int(last), int(last_action),
            self._id(entry), self._id(exit_), int(pageviews), int(events), int(interactive), tuple(row[12 : 12 + n]),
        )  # fmt: skip
        x.reads = int(row[12 + n])
        x.load_state(row[13 + n])
        return x

    async def write(self, events: list[Event]) -> list[bool]:
        """Write `events` (arrival order); per event whether it was stored. Returns once ClickHouse has them all.

        A failure leaves the memory unlike the tables: the visits are read back before the next batch.
        """
        try:
            stored, inserts = await self.prepare(events, shared=True)
            await self.flush(inserts)
            return stored
        except BaseException:
            self.forget()
            raise

    def forget(self) -> None:
        """Drop the visits in memory after a failed write: they are read back before the next batch."""
        self.groups = {}
        self._pruned = -1

    async def prepare(self, events: list[Event], shared: bool = False) -> tuple[list[bool], Inserts]:
        """Apply `events` (arrival order) to the visits in memory; per event whether it is stored, and the inserts.

        The memory then holds the batch: the caller must `flush` the inserts or `forget`.
        `shared` (the ingest path, `write`): on a server, first `refresh` the batch's visitors
        from the table, since other collectors may write them. A bulk load leaves it off: its
        previous chunk may still be in flight, and it is the one writer while it runs.
        """
        if not events:
            return [], []
        if self._pruned < 0:
            await self.load()
        elif shared and not self.conn.url.embedded:
            await self.refresh(events)
        self._prune(max(e.ts for e in events))
        values: dict[int, tuple[Hashable, ...]] = {}

        def attrs_of(attrs: SessionAttrs) -> tuple[Hashable, ...]:
            got = values.get(id(attrs))
            if got is None:
                got = values[id(attrs)] = tuple(attr_values(attrs))
            return got

        batch = Batch(self.groups, self.last_id)
        rows: list[tuple[Any, ...]] = []
        stored: list[bool] = []
        ident = self._id
        for e in events:
            link = link_url(e)
            session = batch.apply(e, ident(e.name), ident(e.hostname), ident(e.path), ident(link), attrs_of)
            if session is None:
                stored.append(False)
                continue
            stored.append(True)
            amount, currency = e.revenue if e.revenue else (None, "")
            # `read` marks the engagement that made its pageview read (visits.reading), as in SQLite.
            read = int(batch.read) if e.name == "engagement" else 0
            rows.append((
                e.site_id, e.ts, session.id, session.visitor_id, e.name, e.hostname, e.path, dict(e.props),
                e.scroll_depth, e.engaged_ms, int(e.interactive), amount, currency, e.words, read, *session.attrs,
            ))  # fmt: skip
        deltas = batch.finish()
        self.last_id = batch.visits.next_id
        self._version = max(self._version + 1, time.time_ns())
        sessions = [self._session_row(x) for x in batch.touched.values()]
        return stored, [("events", EVENT_COLS, rows), ("sessions", SESSION_COLS, sessions), self.delta_rows(deltas)]

    async def flush(self, inserts: Inserts) -> None:
        """Run a prepared batch's inserts, each synchronous: on return ClickHouse has every row."""
        for table, columns, rows in inserts:
            await self.conn.insert(table, columns, rows)

    def _session_row(self, x: Session) -> tuple[Any, ...]:
        names = self.names
        return (
            x.id, x.site_id, x.visitor_id, x.day, x.start, x.last, x.last_action, names[x.entry_page],
            names[x.exit_page], x.pageviews, x.events, x.interactive, *x.attrs, x.reads, x.state_json(), self._version,
        )  # fmt: skip

    def delta_rows(self, deltas: Deltas) -> Insert:
        """The insert of every table's non-zero counter deltas into `rollups`.

        Texts (hashed for visits/) go in as text; unused key and counter columns are '' and 0.
        """
        names = self.names
        out = []
        for table, rows in deltas.rows.items():
            key_pad = [""] * (DELTA_KEYS - len(ROLLUP_KEYS[table]))
            counter_pad = [0] * (DELTA_COUNTERS - len(COUNTERS[table]))
            for key, counters in rows.items():
                if any(counters):
                    keys = [v if isinstance(v, str) else names[v] for v in key[2:]]  # type: ignore[index]
                    out.append((table, key[0], key[1], *keys, *key_pad, *counters, *counter_pad))
        return ("rollups", DELTA_COLS, out)

    def _prune(self, newest: int) -> None:
        """Forget visitor ids whose visits all started more than KEEP before the newest event (hourly)."""
        self._newest = max(self._newest, newest)
        if self._newest - self._pruned < 3600:
            return
        self._pruned = self._newest
        horizon = self._newest - KEEP
        self.groups = {k: g for k, g in self.groups.items() if max(x.start for x in g) >= horizon}
        if len(self.names) > _NAMES_MAX:
            self._pruned = -1  # the next batch reads the kept visits back, and with them only their texts
