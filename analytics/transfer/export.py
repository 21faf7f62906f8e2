"""Export a site's aggregates as Plausible's CSV zip (reference §4) or as NDJSON.

Every file holds daily rows in the site's time zone, summed from the 15-minute
rollups (never from raw events), so an export costs the same whether raw events
were pruned or not.

Memory stays flat whatever the range: the export runs one query per report and
per local day, reads its cursor in chunks of `CHUNK` rows, and writes each chunk
straight into a zip entry that deflates into a non-seekable sink (zip data
descriptors, no seeking back). The only state that grows with the data is one
day's GROUP BY inside SQLite for one report; nothing grows with the number of
days. `iter_zip` hands the sink's bytes on after every day.

Exported text is attacker-controlled (paths, UTM values, event names), so every
text cell that a spreadsheet would read as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from analytics.enrich.referrers import DIRECT
from analytics.model import BUCKET
from analytics.stats.dates import local_midnight

if TYPE_CHECKING:
    from analytics.model import Site
    from analytics.store.sqlite.store import SQLiteStore

CHUNK = 1000

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Progress = Callable[[int], None]  # called with the number of (report, day) steps just done


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: its name and how a rollup table yields it."""

    name: str
    kind: str  # "interned": a string id; "text": a text key; "const": a fixed value; "sum": a counter
    source: str  # rollup column, or the constant's SQL literal


@dataclass(frozen=True, slots=True)
class Report:
    name: str  # "sources": the NDJSON "report" field
    rollup: str
    columns: tuple[Column, ...]  # after `date`, in the file's order

    @property
    def file(self) -> str:
        return f"imported_{self.name}.csv"

    @property
    def header(self) -> tuple[str, ...]:
        return ("date", *(c.name for c in self.columns))


def _i(name: str, col: str | None = None) -> Column:
    return Column(name, "interned", col or name)


def _s(name: str, col: str | None = None) -> Column:
    return Column(name, "sum", col or name)


def _visit_sums(*order: str, visitors: str = "visitors") -> tuple[Column, ...]:
    rename = {"visit_duration": "duration", "entrances": "visits", "exits": "visits", "visitors": visitors}
    return tuple(_s(n, rename.get(n)) for n in order)


# Rollup tables keyed by several columns count a visitor once per full key in
# `visitors`, and once per value of one column in `v_<column>`. A report row is
# finer than the breakdown people sum it by (a source, a browser, a goal), so rows
# carry that column's credit: summed per source, browser, OS or goal they give the
# same visitors as the native breakdown; per referrer or version they may undercount.


_SESSION = ("visitors", "visits", "visit_duration", "bounces", "pageviews")
REPORTS: tuple[Report, ...] = (
    Report("visitors", "rollup_totals", _visit_sums("visitors", "pageviews", "bounces", "visits", "visit_duration")),
    Report(
        "sources",
        "rollup_sources",
        (
            _i("source"),
            _i("referrer"),
            _i("utm_source"),
            _i("utm_medium"),
            _i("utm_campaign"),
            _i("utm_content"),
            _i("utm_term"),
            *_visit_sums("pageviews", "visitors", "visits", "visit_duration", "bounces", visitors="v_source"),
        ),
    ),
    Report(
        "pages",
        "rollup_pages",
        (
            _i("hostname"),
            _i("page"),
            _s("visits"),
            _s("visitors"),
            _s("pageviews"),
            _s("total_scroll_depth", "scroll_total"),
            _s("total_scroll_depth_visits", "scroll_visits"),
            _s("total_time_on_page", "time_total"),
            _s("total_time_on_page_visits", "time_visits"),
        ),
    ),
    Report(
        "entry_pages",
        "rollup_entry_pages",
        (_i("entry_page"), *_visit_sums("visitors", "entrances", "visit_duration", "bounces", "pageviews")),
    ),
    Report(
        "exit_pages",
        "rollup_exit_pages",
        (_i("exit_page"), *_visit_sums("visitors", "visit_duration", "exits", "bounces", "pageviews")),
    ),
    Report(
        "custom_events",
        "rollup_events",
        (_i("name"), _i("link_url"), _i("path"), _s("visitors", "v_name"), _s("events")),
    ),
    Report(
        "locations",
        "rollup_locations",
        (
            Column("country", "text", "country"),
            Column("region", "const", "''"),
            Column("city", "const", "0"),
            *_visit_sums(*_SESSION),
        ),
    ),
    Report("devices", "rollup_devices", (_i("device"), *_visit_sums(*_SESSION, visitors="v_device"))),
    Report(
        "browsers",
        "rollup_browsers",
        (_i("browser"), _i("browser_version"), *_visit_sums(*_SESSION, visitors="v_browser")),
    ),
    Report(
        "operating_systems",
        "rollup_os",
        (
            _i("operating_system", "os"),
            _i("operating_system_version", "os_version"),
            *_visit_sums(*_SESSION, visitors="v_os"),
        ),
    ),
)
REPORTS_BY_FILE = {r.file: r for r in REPORTS}


@functools.cache
def report_sql(report: Report) -> str:
    """One day of one report: `?` = site id, first bucket, end bucket (exclusive)."""
    keys = [c for c in report.columns if c.kind in ("interned", "text")]
    sums = [c for c in report.columns if c.kind == "sum"]
    inner_cols = [f"{c.source} AS k{i}" for i, c in enumerate(keys)]
    inner_sums = []
    for i, c in enumerate(sums):
        # Engaged time is stored in ms; Plausible's total_time_on_page is whole seconds.
        expr = f"(SUM({c.source}) + 500) / 1000" if c.source == "time_total" else f"SUM({c.source})"
        inner_sums.append(f"{expr} AS v{i}")
    group = f" GROUP BY {', '.join(f'k{i}' for i in range(len(keys)))}" if keys else ""
    inner = (
        f"SELECT {', '.join([*inner_cols, *inner_sums])} FROM {report.rollup}"
        f" WHERE site_id = ? AND bucket >= ? AND bucket < ?{group}"
    )
    outer = []
    key_i = sum_i = 0
    for c in report.columns:
        if c.kind == "interned":
            value = f"(SELECT value FROM strings WHERE id = g.k{key_i})"
            # Plausible writes "Direct / None" as an empty source.
            outer.append(f"COALESCE(NULLIF({value}, '{DIRECT}'), '')" if c.name == "source" else value)
            key_i += 1
        elif c.kind == "text":
            outer.append(f"g.k{key_i}")
            key_i += 1
        elif c.kind == "const":
            outer.append(c.source)
        else:
            outer.append(f"g.v{sum_i}")
            sum_i += 1
    nonzero = " OR ".join(f"g.v{i} <> 0" for i in range(len(sums)))
    order = (
        f" ORDER BY {', '.join(str(i + 1) for i, c in enumerate(report.columns) if c.kind != 'sum')}" if keys else ""
    )
    return f"SELECT {', '.join(outer)} FROM ({inner}) g WHERE {nonzero}{order}"


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe.

    Numbers stay numbers. A value that already starts with apostrophes before a
    formula character gets one more, so `imports.unneutralise` restores every
    value exactly.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def steps(first: date, last: date) -> int:
    """How many progress steps an export of [first, last] reports."""
    return len(REPORTS) * ((last - first).days + 1)


def filename(site: Site, first: date, last: date, ext: str = "zip") -> str:
    """The download's file name, e.g. `blog.example.org-2026-01-01-2026-01-31.zip`."""
    return f"{site.domain}-{first.isoformat()}-{last.isoformat()}.{ext}"


async def data_range(store: SQLiteStore, site: Site) -> tuple[date, date] | None:
    """The first and last local day with rollup data, or None for an empty site."""
    rows = await store.fetchall("SELECT MIN(bucket), MAX(bucket) FROM rollup_totals WHERE site_id = ?", (site.id,))
    if not rows or rows[0][0] is None:
        return None
    tz = zoneinfo.ZoneInfo(site.timezone)

    def local(bucket: int) -> date:
        return datetime.fromtimestamp(bucket * BUCKET, UTC).astimezone(tz).date()

    return local(rows[0][0]), local(rows[0][1])


async def _day_rows(store: SQLiteStore, site: Site, report: Report, day: date) -> AsyncIterator[list[tuple[Any, ...]]]:
    tz = zoneinfo.ZoneInfo(site.timezone)
    start = int(local_midnight(day, tz).timestamp()) // BUCKET
    end = int(local_midnight(day + timedelta(days=1), tz).timestamp()) // BUCKET
    async with store.reader() as conn:
        async with conn.execute(report_sql(report), (site.id, start, end)) as cur:
            while rows := await cur.fetchmany(CHUNK):
                yield [tuple(r) for r in rows]


class _Sink(io.RawIOBase):
    """A write-only, non-seekable byte buffer that the zip writer streams into."""

    def __init__(self, out: BinaryIO | None = None) -> None:
        self.out = out
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if self.out is not None:
            self.out.write(view)
        else:
            self.buffer += view
        return len(view)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


async def _produce_zip(
    store: SQLiteStore, site: Site, first: date, last: date, sink: _Sink, progress: Progress | None
) -> AsyncIterator[None]:
    """Write the zip into `sink`, pausing (yielding) after every report-day."""
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for report in REPORTS:
            stamp = max(first, date(1980, 1, 1))  # the zip format's earliest date
            info = zipfile.ZipInfo(report.file, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            # force_zip64: the size is unknown up front and a big site's pages file may pass 2 GiB.
            with (
                zf.open(info, "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                # RFC 4180 line ends: a cell holding CR or LF is then always quoted, so it cannot split a row.
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow(report.header)
                for day in days(first, last):
                    label = day.isoformat()
                    async for chunk in _day_rows(store, site, report, day):
                        writer.writerows([(label, *(neutralise(v) for v in row)) for row in chunk])
                    if progress is not None:
                        progress(1)
                    yield None


async def write_zip(
    store: SQLiteStore, site: Site, first: date, last: date, out: BinaryIO, progress: Progress | None = None
) -> None:
    """Write the CSV zip of [first, last] (local days, inclusive) to `out`, which need not be seekable."""
    sink = _Sink(out)
    async for _ in _produce_zip(store, site, first, last, sink, progress):
        pass


async def iter_zip(
    store: SQLiteStore, site: Site, first: date, last: date, progress: Progress | None = None
) -> AsyncIterator[bytes]:
    """The same zip as `write_zip`, as byte chunks for a streaming HTTP response."""
    sink = _Sink()
    async for _ in _produce_zip(store, site, first, last, sink, progress):
        if len(sink.buffer) >= 64 * 1024:
            yield sink.take()
    rest = sink.take()  # the central directory, written when the zip closed
    if rest:
        yield rest


async def iter_ndjson(
    store: SQLiteStore, site: Site, first: date, last: date, progress: Progress | None = None
) -> AsyncIterator[bytes]:
    """One JSON object per line and per daily row: `{"report": "pages", "date": ..., <columns>}`.

    The same figures as the zip, with JSON types; values are not neutralised (no spreadsheet reads them).
    """
    for report in REPORTS:
        names = [c.name for c in report.columns]
        for day in days(first, last):
            label = day.isoformat()
            lines = []
            async for chunk in _day_rows(store, site, report, day):
                for row in chunk:
                    obj = {"report": report.name, "date": label, **dict(zip(names, row, strict=True))}
                    lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
            if progress is not None:
                progress(1)
            if lines:  # yielded after the reader is released, so a slow client holds no connection
                yield ("\n".join(lines) + "\n").encode()
