"""The ClickHouse schema, generated from the catalog, and its numbered migrations.

One function writes every statement, for a single node (`MergeTree` engines,
what chDB runs) or for a cluster (`ON CLUSTER`, `Replicated*MergeTree` tables
and a `Distributed` table in front of each), so the two cannot drift apart
(docs/scaling.md; `tests/test_clickhouse_ddl.py` has chDB parse the cluster form).

Tables:
- `events`: one row per stored event, ordered by site, UTC day and visit
  (migration 4) so range scans of filtered views prune by day and a visit's
  rows compress together, partitioned by month so retention drops whole parts;
  each row carries its visit's id, visitor id and first-touch attributes;
- `sessions`: versioned visit rows (`ReplacingMergeTree(version)`); the writer
  appends a visit's new state after each batch that touched it and queries read
  the newest version (FINAL);
- `rollups`: one `SummingMergeTree` for every rollup of the catalog (generic
  key columns k0.., counters c0..); the writer appends each batch's signed
  counter deltas (visits/rollups.py) in one insert and the engine sums them as
  parts merge. A view per rollup (`rollup_sources`...) names its columns as the
  catalog does;
- `imported_*` and `site_imports`: imported history, as in the SQLite backend.
- `goal_events` (migration 5): the custom events of `events` again, ordered by
  name, copied by a materialized view as they are inserted.

Migrations are numbered and each runs once (`schema_migrations`). A migration
never changes after release: migration 1 is the schema before reads, and
migration 2 (`reads`, issue 13) adds the read columns, the rollups' read
counters (appended after the older ones, so every older counter keeps its
column) and the imported reads tables, as SQLite's 0010_reads.sql does.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS
from analytics.visits.rollups import COUNTERS

# Imported history: Plausible's CSV reports (reference §4), each column a String or an Int64.
_VISIT_COLS = ("visitors", "visits", "visit_duration", "bounces", "pageviews")
_INITIAL_IMPORTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # table -> (text columns, int columns)
    "imported_visitors": ((), ("visitors", "pageviews", "bounces", "visits", "visit_duration")),
    "imported_sources": (
        ("channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"),
        ("pageviews", "visitors", "visits", "visit_duration", "bounces"),
    ),
    "imported_pages": (
        ("hostname", "page"),
        (
            "visits",
            "visitors",
            "pageviews",
            "total_scroll_depth",
            "total_scroll_depth_visits",
            "total_time_on_page",
            "total_time_on_page_visits",
        ),
    ),  # fmt: skip
    "imported_entry_pages": (("entry_page",), ("visitors", "entrances", "visit_duration", "bounces", "pageviews")),
    "imported_exit_pages": (("exit_page",), ("visitors", "visit_duration", "exits", "bounces", "pageviews")),
    "imported_custom_events": (("name", "link_url", "path"), ("visitors", "events")),
    "imported_locations": (("country", "region"), ("city", *_VISIT_COLS)),
    "imported_devices": (("device",), _VISIT_COLS),
    "imported_browsers": (("browser", "browser_version"), _VISIT_COLS),
    "imported_operating_systems": (("operating_system", "operating_system_version"), _VISIT_COLS),
    "imported_languages": (("language",), _VISIT_COLS),
}
# Our reads reports (transfer/layout.py READS), added by migration 2.
_READ_COLS = ("reads", "readers")
IMPORTED_READS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "imported_reads": ((), _READ_COLS),
    "imported_page_reads": (("hostname", "page"), _READ_COLS),
    "imported_source_reads": (
        ("channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"),
        _READ_COLS,
    ),
}
IMPORTED = {**_INITIAL_IMPORTED, **IMPORTED_READS}

# The counters migration 2 added: every other counter was there from migration 1.
_READ_COUNTERS = frozenset(("reads", "readers", *(c for cs in COUNTERS.values() for c in cs if c.startswith("r_"))))
INITIAL_COUNTERS: dict[str, tuple[str, ...]] = {
    t: tuple(c for c in cs if c not in _READ_COUNTERS) for t, cs in COUNTERS.items()
}
# Migration 2 appends columns: a counter inserted before an older one would move that one's column.
if any(COUNTERS[t][: len(cs)] != cs for t, cs in INITIAL_COUNTERS.items()):
    raise RuntimeError("the read counters must follow every older counter of a rollup (visits/rollups.py COUNTERS)")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the statements run: one node, or a named cluster (`ON CLUSTER`, replicated, distributed)."""

    cluster: str | None = None

    def on(self) -> str:
        return f" ON CLUSTER {self.cluster}" if self.cluster else ""

    def engine(self, kind: str, args: str = "") -> str:
        """`kind` is MergeTree, SummingMergeTree or ReplacingMergeTree."""
        if not self.cluster:
            return f"{kind}({args})"
        path = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
        return f"Replicated{kind}({path}{', ' + args if args else ''})"


def _table(layout: Layout, name: str, columns: list[str], engine: str, tail: str) -> list[str]:
    """The table (a `<name>_local` per shard on a cluster, with a Distributed `<name>` over them)."""
    local = f"{name}_local" if layout.cluster else name
    body = ",\n    ".join(columns)
    out = [
        f"CREATE TABLE IF NOT EXISTS {local}{layout.on()} (\n    {body}\n) ENGINE = {engine}"
        + (f"\n{tail}" if tail else "")
    ]
    if layout.cluster:
        # Every row of a site lands on one shard: per-site queries read one shard's parts,
        # and a site's visitors are never split (see docs/scaling.md).
        out.append(
            f"CREATE TABLE IF NOT EXISTS {name}{layout.on()} AS {local}"
            f" ENGINE = Distributed({layout.cluster}, currentDatabase(), {local}, site_id)"
        )
    return out


# The widest rollup key and counter list: the shape of a row of `rollups`.
DELTA_KEYS = max(len(k) for k in ROLLUP_KEYS.values())
DELTA_COUNTERS = max(len(c) for c in COUNTERS.values())
_INITIAL_DELTA_COUNTERS = max(len(c) for c in INITIAL_COUNTERS.values())


def _attr_columns() -> list[str]:
    return [f"{a} LowCardinality(String)" for a in SESSION_ATTRS]


def initial(layout: Layout) -> list[str]:
    """Migration 1: every table of the catalog as it is today."""
    out: list[str] = []
    out += _table(
        layout,
        "events",
        [
            "site_id UInt32",
            "ts Int64",
            "session_id UInt64",
            "visitor_id Int64",
            "name LowCardinality(String)",
            "hostname LowCardinality(String)",
            "page String",
            "props Map(String, String)",
            "scroll_depth Nullable(Int32)",
            "engaged_ms Nullable(Int64)",
            "interactive UInt8",
            "revenue Nullable(Float64)",
            "currency LowCardinality(String)",
        ],  # fmt: skip
        layout.engine("MergeTree"),
        "PARTITION BY toYYYYMM(toDateTime(ts, 'UTC'))\nORDER BY (site_id, ts, session_id)",
    )
    out += _table(
        layout,
        "sessions",
        [
            "id UInt64",
            "site_id UInt32",
            "visitor_id Int64",
            "day Int32",
            "start Int64",
            "last Int64",
            "last_action Int64",
            "entry_page String",
            "exit_page String",
            "pageviews Int32",
            "events Int32",
            "interactive Int32",
            *_attr_columns(),
            "state String",
            "version UInt64",
        ],  # fmt: skip
        layout.engine("ReplacingMergeTree", "version"),
        # A visit's start never changes, so (site_id, start, id) still names one visit for the
        # replacing merge, and a range of starts is a range of the primary key.
        "PARTITION BY toYYYYMM(toDateTime(start, 'UTC'))\nORDER BY (site_id, start, id)",
    )
    # Every rollup in one SummingMergeTree: a batch's deltas are one insert and one new part
    # (a table per rollup made a dozen parts per batch). A view per rollup gives its catalog
    # name and columns back, so queries read `rollup_sources` as in the SQLite backend.
    keys = [f"k{i}" for i in range(DELTA_KEYS)]
    out += _table(
        layout,
        "rollups",
        [
            "rollup LowCardinality(String)",
            "site_id UInt32",
            "bucket Int64",
            *(f"{k} String" for k in keys),
            *(f"c{i} Int64" for i in range(_INITIAL_DELTA_COUNTERS)),
        ],  # fmt: skip
        layout.engine("SummingMergeTree"),
        f"PARTITION BY intDiv(bucket, 96 * 366)\nORDER BY (site_id, rollup, bucket, {', '.join(keys)})",
    )
    out += _views(layout, INITIAL_COUNTERS, "CREATE VIEW IF NOT EXISTS")
    out += _table(
        layout,
        "site_imports",
        [
            "id UInt64",
            "site_id UInt32",
            "created_at Int64",
            "source String",
            "first_day Nullable(Date32)",
            "last_day Nullable(Date32)",
            "rows Int64",
        ],  # fmt: skip
        layout.engine("MergeTree"),
        "ORDER BY (site_id, id)",
    )
    out += _imported(layout, _INITIAL_IMPORTED)
    return out


def _views(layout: Layout, counters: dict[str, tuple[str, ...]], create: str, by: str = "bucket") -> list[str]:
    """A view per rollup naming its key and counter columns (`create`: CREATE VIEW IF NOT EXISTS or OR REPLACE).

    `by` is `bucket` (`rollups`: `rollup_sources`...) or `day` (`rollups_day`: `rollup_sources_day`...).
    """
    out = []
    source, suffix = ("rollups", "") if by == "bucket" else ("rollups_day", "_day")
    for table, table_keys in ROLLUP_KEYS.items():
        cols = [
            "site_id", by, *(f"k{i} AS {k}" for i, k in enumerate(table_keys)),
            *(f"c{i} AS {c}" for i, c in enumerate(counters[table])),
        ]  # fmt: skip
        out.append(
            f"{create} {table}{suffix}{layout.on()} AS SELECT {', '.join(cols)} FROM {source} WHERE rollup = '{table}'"
        )
    return out


def _imported(layout: Layout, tables: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    out: list[str] = []
    for table, (texts, ints) in tables.items():
        out += _table(
            layout,
            table,
            [
                "site_id UInt32",
                "import_id UInt64",
                "date Date32",
                *(f"{c} String" for c in texts),
                *(f"{c} Int64" for c in ints),
            ],  # fmt: skip
            layout.engine("MergeTree"),
            "ORDER BY (site_id, date, import_id)",
        )
    return out


def _add_columns(layout: Layout, table: str, columns: list[str]) -> list[str]:
    """ALTER TABLE ... ADD COLUMN: on a cluster for the local table and the Distributed one over it."""
    adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {c}" for c in columns)
    names = [f"{table}_local", table] if layout.cluster else [table]
    return [f"ALTER TABLE {name}{layout.on()} {adds}" for name in names]


def reads(layout: Layout) -> list[str]:
    """Migration 2, reads (issue 13; SQLite's 0010_reads.sql): whether a pageview was read.

    `events.words` is the page's length the tracker measured and `events.read`
    marks the engagement that made its pageview read (0 on every other row);
    `sessions.reads` counts a visit's read pageviews. The rollups get the read
    counters as new trailing columns (0 in older parts), and each view is
    replaced to name them.
    """
    out = _add_columns(layout, "events", ["words Nullable(Int32)", "read UInt8 DEFAULT 0"])
    out += _add_columns(layout, "sessions", ["reads Int32 DEFAULT 0"])
    out += _add_columns(
        layout, "rollups", [f"c{i} Int64 DEFAULT 0" for i in range(_INITIAL_DELTA_COUNTERS, DELTA_COUNTERS)]
    )
    out += _views(layout, COUNTERS, "CREATE OR REPLACE VIEW")
    out += _imported(layout, IMPORTED_READS)
    return out


# Migration 3 (faster): every column of a rebuilt table with its compression. ts and bucket are sorted
# within a site (Delta); ids and texts repeat within a part (ZSTD); texts with few values are
# LowCardinality (a dictionary per part, and GROUP BY on small integers).
_Z = "CODEC(ZSTD(1))"
_EVENTS_V3 = [
    "site_id UInt32",
    "ts Int64 CODEC(Delta, ZSTD(1))",
    f"session_id UInt64 {_Z}",
    f"visitor_id Int64 {_Z}",
    "name LowCardinality(String)",
    "hostname LowCardinality(String)",
    f"page LowCardinality(String) {_Z}",
    f"props Map(String, String) {_Z}",
    f"scroll_depth Nullable(Int32) {_Z}",
    f"engaged_ms Nullable(Int64) {_Z}",
    "interactive UInt8",
    "revenue Nullable(Float64)",
    "currency LowCardinality(String)",
    "words Nullable(Int32)",
    "read UInt8 DEFAULT 0",
    *(f"{a} LowCardinality(String)" for a in SESSION_ATTRS),  # the visit's first-touch attributes
]
_SESSIONS_V3 = [
    f"id UInt64 {_Z}",
    "site_id UInt32",
    f"visitor_id Int64 {_Z}",
    "day Int32 CODEC(Delta, ZSTD(1))",
    "start Int64 CODEC(Delta, ZSTD(1))",
    f"last Int64 {_Z}",
    f"last_action Int64 {_Z}",
    f"entry_page LowCardinality(String) {_Z}",
    f"exit_page LowCardinality(String) {_Z}",
    f"pageviews Int32 {_Z}",
    f"events Int32 {_Z}",
    f"interactive Int32 {_Z}",
    *_attr_columns(),
    "reads Int32 DEFAULT 0",
    "state String CODEC(ZSTD(3))",
    f"version UInt64 {_Z}",
]


def _rollup_columns(by: str) -> list[str]:
    """`rollups` (by bucket) and `rollups_day` (by local day) as migration 3 writes them."""
    return [
        "rollup LowCardinality(String)",
        "site_id UInt32",
        f"{by} Int64 CODEC(Delta, ZSTD(1))",
        *(f"k{i} LowCardinality(String) {_Z}" for i in range(DELTA_KEYS)),
        *(f"c{i} Int64 CODEC(T64, ZSTD(1))" for i in range(DELTA_COUNTERS)),
    ]


def _rebuild(layout: Layout, name: str, columns: list[str], engine: str, tail: str, select: str) -> list[str]:
    """Replace table `name` by one with `columns`, filled from the old one by `select`: create, copy, swap, drop.

    On a cluster the swap is of the local tables, and the Distributed table in
    front is made again so it has the new columns.
    """
    new = f"{name}_v3"
    names = [c.split()[0] for c in columns]
    out = _table(layout, new, columns, engine, tail)
    out.append(f"INSERT INTO {new} ({', '.join(names)}) {select}")
    if not layout.cluster:
        return [*out, f"EXCHANGE TABLES {name} AND {new}", f"DROP TABLE {new}"]
    local, new_local = f"{name}_local", f"{new}_local"
    return [
        *out,
        f"EXCHANGE TABLES {local} AND {new_local}{layout.on()}",
        f"DROP TABLE {new}{layout.on()}",
        f"DROP TABLE {new_local}{layout.on()}",
        f"DROP TABLE {name}{layout.on()}",
        f"CREATE TABLE {name}{layout.on()} AS {local}"
        f" ENGINE = Distributed({layout.cluster}, currentDatabase(), {local}, site_id)",
    ]


def faster(layout: Layout) -> list[str]:
    """Migration 3 (issue 12's speed and size work): visit attributes on events, compression, a daily tier.

    - `events` gets its visit's first-touch attributes (source, country, device...) on
      every row, so a filter or breakdown on them reads events without the join to
      `sessions`; existing rows take them from their visit's newest version.
    - `events`, `sessions` and `rollups` are rebuilt with column codecs (see above).
    - `rollups_day`: the daily tier, the 15-minute rollups of settled local days summed
      per key (filled by housekeeping, as SQLite's store/sqlite/days.py does), with a
      view per rollup (`rollup_sources_day`...), and `rollup_days`, how far each site's
      tier reaches and in which time zone.
    """
    attrs = ", ".join(f"s.{a}" for a in SESSION_ATTRS)
    old_events = [c.split()[0] for c in _EVENTS_V3[: -len(SESSION_ATTRS)]]
    newest = ", ".join(f"argMax({a}, version) AS {a}" for a in SESSION_ATTRS)
    out = _rebuild(
        layout, "events", _EVENTS_V3, layout.engine("MergeTree"),
        "PARTITION BY toYYYYMM(toDateTime(ts, 'UTC'))\nORDER BY (site_id, ts, session_id)",
        f"SELECT {', '.join('e.' + c for c in old_events)}, {attrs} FROM events AS e LEFT JOIN"
        f" (SELECT id, {newest} FROM sessions GROUP BY id) AS s ON s.id = e.session_id",
    )  # fmt: skip
    session_names = ", ".join(c.split()[0] for c in _SESSIONS_V3)
    out += _rebuild(
        layout, "sessions", _SESSIONS_V3, layout.engine("ReplacingMergeTree", "version"),
        "PARTITION BY toYYYYMM(toDateTime(start, 'UTC'))\nORDER BY (site_id, start, id)",
        f"SELECT {session_names} FROM sessions",
    )  # fmt: skip
    keys = ", ".join(f"k{i}" for i in range(DELTA_KEYS))
    rollup_names = ", ".join(c.split()[0] for c in _rollup_columns("bucket"))
    out += _rebuild(
        layout, "rollups", _rollup_columns("bucket"), layout.engine("SummingMergeTree"),
        f"PARTITION BY intDiv(bucket, 96 * 366)\nORDER BY (site_id, rollup, bucket, {keys})",
        f"SELECT {rollup_names} FROM rollups",
    )  # fmt: skip
    out += _table(
        layout, "rollups_day", _rollup_columns("day"), layout.engine("SummingMergeTree"),
        f"PARTITION BY intDiv(day, 366)\nORDER BY (site_id, rollup, day, {keys})",
    )  # fmt: skip
    out += _views(layout, COUNTERS, "CREATE VIEW IF NOT EXISTS", by="day")
    out += _table(
        layout, "rollup_days", ["site_id UInt32", "timezone String", "through_day Int32", "version UInt64"],
        layout.engine("ReplacingMergeTree", "version"), "ORDER BY site_id",
    )  # fmt: skip
    return out


# Migration 4 (smaller): the three event columns that took most per event get T64 + ZSTD, and ts, no
# longer sorted within a site once events are ordered by visit, DoubleDelta (500k: 1.66 -> 1.36 bytes/event).
_T64 = "CODEC(T64, ZSTD(1))"
_EVENTS_V4 = [
    *(
        {"scroll_depth": f"scroll_depth Nullable(Int32) {_T64}", "engaged_ms": f"engaged_ms Nullable(Int64) {_T64}",
         "words": f"words Nullable(Int32) {_T64}", "ts": "ts Int64 CODEC(DoubleDelta, ZSTD(1))"}.get(c.split()[0], c)
        for c in _EVENTS_V3
    ),
]  # fmt: skip
# Within a site and UTC day, a visit's events lie together: the visit id, visitor id and the visit's
# attributes repeat in runs and compress to a fraction. Range scans still prune by day (the key's
# second column is a monotonic function of ts), and read at most a day more at each end.
EVENTS_ORDER = "(site_id, intDiv(ts, 86400), session_id, ts)"


def smaller(layout: Layout) -> list[str]:
    """Migration 4 (issue 12's storage work): `events` rebuilt, ordered by visit within a day, with codecs.

    Measured on 500k demo events (bytes per event, parts merged): the events table
    took 16.1 ordered by time and 12.8 ordered by visit within a day (visitor id
    2.4 -> 1.8, each visit attribute 0.7 -> 0.4); `words` took 2.6 with the default
    LZ4 and 1.1 with T64 + ZSTD, `engaged_ms` 2.0 and 1.7, `scroll_depth` 1.0 and 0.9.
    """
    names = ", ".join(c.split()[0] for c in _EVENTS_V4)
    return _rebuild(
        layout, "events", _EVENTS_V4, layout.engine("MergeTree"),
        f"PARTITION BY toYYYYMM(toDateTime(ts, 'UTC'))\nORDER BY {EVENTS_ORDER}",
        f"SELECT {names} FROM events",
    )  # fmt: skip


# The events only goals are made of: every custom event (not a pageview or an engagement).
GOAL_EVENTS = "name NOT IN ('pageview', 'engagement')"


def goals(layout: Layout) -> list[str]:
    """Migration 5 (issue 12's speed work): `goal_events`, the custom events alone, ordered by name.

    Custom events are a few in a thousand of the rows (the 10M demo store: 11k of
    3.6M in 30 days), yet a goal's tab or a goal filter scanned every event of the
    range to find them: 24 ms just to test `name` over 30 days at 10M. A
    materialized view copies each insert's custom events here, where a range of one
    goal is a range of the primary key. It has the columns of `events`, so a plan
    whose filter keeps custom events only reads the same rows from either table
    (chsums.custom_only). Rows already stored are copied once, with collectors
    stopped as for every migration (docs/scaling.md).
    """
    local = "_local" if layout.cluster else ""
    names = ", ".join(c.split()[0] for c in _EVENTS_V4)
    out = _table(
        layout, "goal_events", _EVENTS_V4, layout.engine("MergeTree"),
        "PARTITION BY toYYYYMM(toDateTime(ts, 'UTC'))\nORDER BY (site_id, name, ts)",
    )  # fmt: skip
    out.append(
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS goal_events_copy{local}{layout.on()} TO goal_events{local}"
        f" AS SELECT {names} FROM events{local} WHERE {GOAL_EVENTS}"
    )
    out.append(f"INSERT INTO goal_events ({names}) SELECT {names} FROM events WHERE {GOAL_EVENTS}")
    return out


def migrations_table(layout: Layout) -> list[str]:
    """The table that records which migrations ran."""
    return _table(layout, "schema_migrations", ["version UInt32", "applied_at DateTime"],
                  layout.engine("MergeTree"), "ORDER BY version")  # fmt: skip


# Numbered migrations: each a function of the layout returning its statements, applied in order once.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, "initial"), (2, "reads"), (3, "faster"), (4, "smaller"), (5, "goals"),
)  # fmt: skip
_STEPS = {"initial": initial, "reads": reads, "faster": faster, "smaller": smaller, "goals": goals}


def statements(version: int, layout: Layout) -> list[str]:
    """The statements of migration `version` for `layout`."""
    name = dict(MIGRATIONS)[version]
    return _STEPS[name](layout)


def cluster_ddl(cluster: str) -> str:
    """Every statement a cluster needs, `;`-separated: for `analytics store ddl --cluster` and docs/scaling.md."""
    layout = Layout(cluster)
    parts = migrations_table(layout)
    for version, _ in MIGRATIONS:
        parts += statements(version, layout)
    return ";\n\n".join(parts) + ";\n"
