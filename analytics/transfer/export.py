"""Export a site's aggregates as Plausible's CSV zip (reference §4) or as NDJSON.

Every file holds daily rows in the site's time zone, summed from the rollups
(never from raw events), so an export costs the same whether raw events were
pruned or not. The layout of each file is in `transfer.layout`; the store reads
each report over the whole range and hands it over one local day at a time
(`Store.export_rows`).

Memory stays flat whatever the range: each day's rows go straight into a zip
entry that deflates into a non-seekable sink (zip data descriptors, no seeking
back). The only state that grows with the data is one day of one report.
`iter_zip` hands the sink's bytes on between days, when the store holds no
database connection, so a slow download never keeps a reader from the dashboard.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO

from analytics.errors import BadRequest
from analytics.transfer.layout import REPORTS, Report, neutralise

if TYPE_CHECKING:
    from analytics.model import Site
    from analytics.store.base import Store

SLICE = 0.002  # seconds of export work between turns of the event loop
_running = [0]  # exports streaming from this process's event loop now
Progress = Callable[[int], None]  # called with the number of (report, day) steps just done
# A zip entry's time stamp is a DOS date: years 1980 to 2107. Members are stamped
# with the range's first day (1980 at the earliest), so a zip cannot start later.
ZIP_LAST_DAY = date(2107, 12, 31)


def check_zip_range(first: date, last: date) -> None:
    """Refuse, before any byte is written, a zip export of days the zip format cannot date."""
    if last > ZIP_LAST_DAY or first > ZIP_LAST_DAY:
        raise BadRequest(
            f"a zip export can only hold days up to {ZIP_LAST_DAY.isoformat()}; choose an earlier range (or NDJSON)"
        )


def steps(first: date, last: date) -> int:
    """How many progress steps an export of [first, last] reports."""
    return len(REPORTS) * ((last - first).days + 1)


def slug(text: str) -> str:
    """Letters, digits, dots, underscores and dashes only, at most 40 of them: safe in any file system and header."""
    text = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._]+|\.{2,}", "-", text))
    return text.strip("-.")[:40].strip("-.") or "x"


def filename(
    site: Site, first: date, last: date, ext: str = "zip", filters: Sequence[tuple[str, str]] = (), suffix: str = ""
) -> str:
    """The download's file name: site, range, then each filter as `param-value`, sanitised.

    E.g. `example.com_2026-11-01_2026-11-30_source-Google.zip`; `suffix` names a panel.
    """
    parts = [site.domain, first.isoformat(), last.isoformat()]
    parts += [f"{slug(param)}-{slug(value)}" for param, value in filters]
    if suffix:
        parts.append(slug(suffix))
    return f"{'_'.join(parts)[:200]}.{ext}"


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One CSV file (RFC 4180 line ends, UTF-8), every text cell `neutralise`d."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue().encode()


def zip_bytes(files: Sequence[tuple[str, bytes]], day: date) -> bytes:
    """A small zip of whole files (a filtered view's export), members dated `day`."""
    check_zip_range(day, day)
    stamp = max(day, date(1980, 1, 1))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


async def _days(
    store: Store, site: Site, report: Report, first: date, last: date, progress: Progress | None, shared: bool
) -> AsyncIterator[tuple[str, list[tuple[Any, ...]]]]:
    """The report's days with rows, as (ISO date, file cells); progress counts every day of the range.

    `shared`: the event loop also serves requests (an export from the web), so the export rests.
    """
    done = first.toordinal()  # the first day not yet counted
    slice_end = time.perf_counter() + SLICE
    async for day, rows in store.export_rows(site, report.read, first, last):
        if shared and time.perf_counter() > slice_end:
            # Writing rows out is CPU work on the event loop. After every SLICE of it, rest as long
            # as every running export works: together, exports never take more than half the loop,
            # so beacons and dashboards stay answered even when the process is short of CPU.
            await asyncio.sleep(SLICE * max(1, _running[0]))
            slice_end = time.perf_counter() + SLICE
        if progress is not None and day.toordinal() >= done:
            progress(day.toordinal() + 1 - done)
            done = day.toordinal() + 1
        cells = report.cells(rows)
        if cells:
            yield day.isoformat(), cells
    if progress is not None and last.toordinal() >= done:
        progress(last.toordinal() + 1 - done)


def _neutralised(label: str, cells: list[tuple[Any, ...]], text: tuple[int, ...]) -> list[list[Any]]:
    """CSV rows: the date, then the cells with every text cell `neutralise`d (numbers never need it)."""
    out = []
    for row in cells:
        line = [label, *row]
        for i in text:
            line[i + 1] = neutralise(line[i + 1])
        out.append(line)
    return out


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
    store: Store, site: Site, first: date, last: date, sink: _Sink, progress: Progress | None, shared: bool
) -> AsyncIterator[None]:
    """Write the zip into `sink`, pausing (yielding) after every day with rows and every file."""
    check_zip_range(first, last)
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
                async for label, cells in _days(store, site, report, first, last, progress, shared):
                    writer.writerows(_neutralised(label, cells, report.text_cells))
                    yield None
            yield None


async def write_zip(
    store: Store, site: Site, first: date, last: date, out: BinaryIO, progress: Progress | None = None
) -> None:
    """Write the CSV zip of [first, last] (local days, inclusive) to `out`, which need not be seekable."""
    sink = _Sink(out)
    async for _ in _produce_zip(store, site, first, last, sink, progress, False):
        pass


async def iter_zip(
    store: Store, site: Site, first: date, last: date, progress: Progress | None = None
) -> AsyncIterator[bytes]:
    """The same zip as `write_zip`, as byte chunks for a streaming HTTP response (it shares the loop)."""
    sink = _Sink()
    _running[0] += 1
    try:
        async for _ in _produce_zip(store, site, first, last, sink, progress, True):
            if len(sink.buffer) >= 64 * 1024:
                yield sink.take()
    finally:
        _running[0] -= 1
    rest = sink.take()  # the central directory, written when the zip closed
    if rest:
        yield rest


async def iter_ndjson(
    store: Store, site: Site, first: date, last: date, progress: Progress | None = None
) -> AsyncIterator[bytes]:
    """One JSON object per line and per daily row: `{"report": "pages", "date": ..., <columns>}`.

    The same figures as the zip, with JSON types; values are not neutralised (no spreadsheet reads them).
    """
    for report in REPORTS:
        names = [c.name for c in report.columns]
        async for label, cells in _days(store, site, report, first, last, progress, False):
            lines = [
                json.dumps(
                    {"report": report.name, "date": label, **dict(zip(names, row, strict=True))},
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                for row in cells
            ]
            yield ("\n".join(lines) + "\n").encode()
