"""Import a Plausible CSV export (reference §4) as a site's imported history.

This module reads and checks the files; the store writes their rows
(`Store.import_rows`) all or nothing: a bad cell anywhere rolls back every row,
and the error names the file and line. Each import gets an id; when it commits,
older imports' rows of the same report are dropped for the dates the new file
covers, so importing the same file twice, or overlapping ranges, never
double-counts.

Accepted input: a zip (Plausible's own, whose members may be called
`imported_pages_20240101_20241231.csv`, or ours, `imported_pages.csv`) or a
directory of such CSV files. Unknown files and unknown columns are ignored, and
missing known columns count as empty or zero, so older and newer Plausible
exports both load.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from analytics.enrich import referrers
from analytics.stats.dates import FIRST_DAY, LAST_DAY, in_bounds
from analytics.store.base import ImportPart
from analytics.transfer import limits
from analytics.transfer.layout import REPORTS, Report, unneutralise
from analytics.transfer.limits import ImportFileError as ImportFileError

if TYPE_CHECKING:
    from analytics.model import Site
    from analytics.store.base import Store

BATCH = 1000
MAX_TEXT = 2000
MAX_INT = 2**53
_NAME = re.compile(r"^(imported_[a-z_]+?)(?:_(\d{8})_(\d{8}))?\.csv$")
_INT = re.compile(r"^\s*\d{1,16}\s*$")
REPORTS_BY_TABLE = {f"imported_{r.name}": r for r in REPORTS}
# Reports keyed by source and UTM values: the import derives each row's channel, as the collector would.
CHANNEL_REPORTS = ("sources", "source_reads")
Progress = limits.Progress


@dataclass(slots=True)
class Member:
    """One CSV file of the import."""

    name: str
    table: str
    size: int
    span: tuple[date, date] | None  # from a Plausible file name, e.g. _20240101_20241231
    open: Callable[[], IO[bytes]]
    compressed: int | None = None  # its size in the zip; None when not from a zip

    @property
    def report(self) -> Report:
        return REPORTS_BY_TABLE[self.table]


@dataclass(slots=True)
class ImportSummary:
    import_id: int
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows read
    first: date | None = None
    last: date | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@lru_cache(maxsize=4096)
def channel_for(source: str, utm_medium: str, utm_campaign: str) -> str:
    """The channel of an imported source row, derived as at ingest (click ids are not in the CSV)."""
    query = {"utm_medium": utm_medium, "utm_campaign": utm_campaign}
    if source and source != referrers.DIRECT:
        query["utm_source"] = source
    return referrers.attribute({k: v for k, v in query.items() if v}, None, "").channel


def _member(name: str, size: int, opener: Callable[[], IO[bytes]]) -> Member | None:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _NAME.match(base)
    if name.startswith("__MACOSX/") or not m or m.group(1) not in REPORTS_BY_TABLE:
        return None
    span = None
    if m.group(2):
        try:
            a, b = (date(int(x[:4]), int(x[4:6]), int(x[6:])) for x in (m.group(2), m.group(3)))
            if not (in_bounds(a) and in_bounds(b)):
                raise ValueError
        except ValueError:
            raise ImportFileError(base, None, "the dates in the file name are not valid") from None
        span = (min(a, b), max(a, b))
    return Member(base, m.group(1), size, span, opener)


def members(source: str | Path | BinaryIO, label: str | None = None) -> tuple[list[Member], Callable[[], None]]:
    """The importable CSV files of a zip or a directory, and a function that closes the zip."""
    if isinstance(source, str | Path) and Path(source).is_dir():
        found = [
            _member(p.name, p.stat().st_size, lambda p=p: open(p, "rb"))  # type: ignore[misc]
            for p in sorted(Path(source).iterdir())
            if p.is_file()
        ]
        out, close = [m for m in found if m is not None], lambda: None
    else:
        shown = label or (Path(source).name if isinstance(source, str | Path) else "upload")
        try:
            if isinstance(source, str | Path):
                with open(source, "rb") as fp:
                    limits.check_archive(shown, limits.declared_entries(fp))
            else:
                limits.check_archive(shown, limits.declared_entries(source))
            zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            reason = "not a zip file" if isinstance(exc, zipfile.BadZipFile) else f"cannot be read ({exc.strerror})"
            raise ImportFileError(shown, None, reason) from None
        try:
            limits.check_archive(shown, len(zf.infolist()))
            found, infos = [], []
            for info in zf.infolist():
                opener = lambda i=info: zf.open(i)  # noqa: E731
                member = None if info.is_dir() else _member(info.filename, info.file_size, opener)
                if member is not None:
                    member.compressed = info.compress_size
                    infos.append(info)
                found.append(member)
            limits.check_declared(shown, infos, [m.name for m in found if m is not None])
        except ImportFileError:
            zf.close()
            raise
        out, close = [m for m in found if m is not None], zf.close
        label = shown
    if not out:
        close()  # type: ignore[no-untyped-call]
        names = ", ".join(r.file for r in REPORTS[:3])
        raise ImportFileError(label or str(source), None, f"holds no Plausible CSV export files ({names}, ...)")
    return out, close


def columns(report: Report) -> tuple[str, ...]:
    """The stored columns of a report's rows after the date: text ones, then numbers, then derived ones."""
    text = [c.name for c in report.columns if c.is_text]
    ints = [c.name for c in report.columns if not c.is_text]
    return (*text, *ints, *(("channel",) if report.name in CHANNEL_REPORTS else ()))


@dataclass(slots=True)
class _Plan:
    """How one report's CSV columns become one stored row, in the order of `columns(report)`."""

    report: Report
    header: list[str]
    date_index: int
    text: list[tuple[str, int | None, str | None]]  # (column, CSV index or None when absent, blank value)
    ints: list[tuple[str, int | None]]

    @classmethod
    def build(cls, member: Member, header: list[str]) -> _Plan:
        report = member.report
        clean = [h.strip().lstrip("\ufeff") for h in header]
        if "date" not in clean:
            raise ImportFileError(member.name, 1, f"the header has no date column: {','.join(clean)[:200]}")
        index = {h: i for i, h in enumerate(clean)}
        text = [(c.name, index.get(c.name), c.blank) for c in report.columns if c.is_text]
        ints = [(c.name, index.get(c.name)) for c in report.columns if not c.is_text]
        return cls(report, clean, index["date"], text, ints)


def _parse_row(plan: _Plan, member: Member, line: int, row: list[str]) -> tuple[Any, ...]:
    if len(row) != len(plan.header):
        raise ImportFileError(member.name, line, f"expected {len(plan.header)} fields, found {len(row)}")
    raw_date = row[plan.date_index].strip()
    try:
        day = date.fromisoformat(raw_date)
        if len(raw_date) != 10:
            raise ValueError
    except ValueError:
        raise ImportFileError(member.name, line, f"date {raw_date[:40]!r} is not YYYY-MM-DD") from None
    if not in_bounds(day):
        raise ImportFileError(member.name, line, f"date {raw_date!r} is outside {FIRST_DAY}..{LAST_DAY}")
    values: list[Any] = [day]
    for _, i, blank in plan.text:
        value = unneutralise(row[i]) if i is not None else ""
        if blank is not None and value == "":
            value = blank  # Plausible writes no source as empty
        values.append(value[:MAX_TEXT])
    for name, i in plan.ints:
        cell = row[i] if i is not None else ""
        if cell.strip() == "":
            values.append(0)
            continue
        if not _INT.match(cell) or int(cell) > MAX_INT:
            raise ImportFileError(member.name, line, f"{name} {cell[:40]!r} is not a non-negative whole number")
        values.append(int(cell))
    if plan.report.name in CHANNEL_REPORTS:
        by = {name: v for (name, _, _), v in zip(plan.text, values[1:], strict=False)}
        values.append(channel_for(by["source"], by["utm_medium"], by["utm_campaign"]))
    return tuple(values)


def _lines(member: Member, stream: io.BufferedReader) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported on its own line; a line is at most `limits.MAX_LINE`."""
    number = 0
    while raw := limits.read_line(stream, member.name, number + 1):
        number += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(member.name, number, "is not UTF-8 text") from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _batches(
    member: Member, progress: Progress | None, counts: dict[str, int], budget: limits.Budget | None
) -> Iterator[list[tuple[Any, ...]]]:
    """One file's rows `(date, *values)`, parsed and checked, a batch at a time; counts them in `counts`."""
    with member.open() as raw:
        limited = limits.LimitedStream(raw, member.name, member.compressed, budget, progress)
        reader = csv.reader(_lines(member, io.BufferedReader(limited)), strict=True)
        plan: _Plan | None = None
        batch: list[tuple[Any, ...]] = []
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if plan is None:
                    plan = _Plan.build(member, row)
                    continue
                batch.append(_parse_row(plan, member, reader.line_num, row))
                if len(batch) >= BATCH:
                    counts[member.table] = counts.get(member.table, 0) + len(batch)
                    yield batch
                    batch = []
        except csv.Error as exc:
            # line_num counts the lines read so far: the one where the parser gave up.
            raise ImportFileError(member.name, max(reader.line_num, 1), f"is not valid CSV ({exc})") from None
        except zipfile.BadZipFile as exc:
            raise ImportFileError(member.name, None, f"is damaged in the zip ({exc})") from None
        if plan is None:
            raise ImportFileError(member.name, 1, "the file is empty; expected a header line")
        counts[member.table] = counts.get(member.table, 0) + len(batch)
        if batch:
            yield batch


async def import_csv(
    store: Store,
    site: Site,
    source: str | Path | BinaryIO,
    *,
    label: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a Plausible CSV export zip (path or binary file) or directory into `site`, all or nothing.

    Raises ImportFileError (a 400 BadRequest) naming the file and line; nothing is then imported.
    """
    found, close = members(source, label)
    shown = label or (Path(source).name if isinstance(source, str | Path) else "upload")
    counts: dict[str, int] = {}
    budget = limits.Budget(shown) if any(m.compressed is not None for m in found) else None
    try:
        parts = [
            ImportPart(m.report.name, columns(m.report), _batches(m, progress, counts, budget), m.span) for m in found
        ]
        try:
            record = await store.import_rows(site, shown[:200], parts)
        except ValueError as exc:  # the store refused the rows (the site was removed meanwhile)
            raise ImportFileError(shown, None, str(exc)) from None
    finally:
        close()
    return ImportSummary(record.id, counts, record.first_day, record.last_day)


def total_bytes(source: str | Path | BinaryIO, label: str | None = None) -> int:
    """The uncompressed size of the importable files: the total for a progress bar."""
    found, close = members(source, label)
    close()
    return sum(m.size for m in found)


async def list_imports(store: Store, site: Site) -> list[dict[str, Any]]:
    """The site's imports, newest first: id, created_at, source, first_day, last_day (ISO dates or None), rows."""
    return [
        {
            "id": r.id,
            "created_at": r.created_at,
            "source": r.source,
            "first_day": r.first_day.isoformat() if r.first_day else None,
            "last_day": r.last_day.isoformat() if r.last_day else None,
            "rows": r.rows,
        }
        for r in await store.list_imports(site.id)
    ]


async def remove_imports(store: Store, site: Site, import_id: int | None = None) -> int:
    """Delete one import, or all of the site's imports; returns how many were deleted."""
    return await store.remove_imports(site.id, import_id)
