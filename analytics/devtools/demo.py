"""`analytics demo`: synthetic traffic for a demo site, written through the store's write path.

The traffic model (`devtools.traffic`) produces each UTC day's events as the
collector would after enrichment; the store's bulk load writes them with the
same code as ingest (`store.sqlite.write`): the same visits, rollups and rows,
in large transactions. Housekeeping's daily rollup tier is then rebuilt for the
site, since old days just got new rows.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analytics.accounts import Accounts
from analytics.devtools.traffic import (
    DEFAULT_TIMEZONE,
    DEVICES,
    OUTBOUND,
    SOURCES,
    STATIC_PAGES,
    Traffic,
    articles,
    hourly_counts,
    local_days,
    midnights,
)
from analytics.model import DAY, Event, Site
from analytics.store.sqlite.store import SQLiteStore

# The traffic model's names, for the bench's load generator.
__all__ = [
    "DEFAULT_TIMEZONE", "DEVICES", "OUTBOUND", "SOURCES", "STATIC_PAGES",
    "DemoResult", "articles", "chunks", "ensure_site", "generate", "refresh",
]  # fmt: skip
# Events per transaction: a demo day is split into chunks of at most this many.
CHUNK = 50_000


@dataclass(slots=True)
class DemoResult:
    domain: str
    events: int
    sessions: int
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time: the rate an idle machine would see
    # Replaying the settled days per segment (store.sqlite.splits), which `seconds` leaves out:
    # housekeeping does it in the background once a day settles.
    segment_seconds: float = 0.0
    segment_cpu_seconds: float = 0.0


async def ensure_site(data_dir: Path, domain: str, timezone: str = DEFAULT_TIMEZONE) -> Site:
    """The demo site in the data dir's accounts, created if missing."""
    # Accounts first (they take over a release 0.1 data dir's accounts), then the store.
    async with Accounts.in_dir(data_dir) as accounts:
        # Like `analytics sites add`: the admin (first user), if any, owns it.
        return await accounts.sites.ensure(domain, timezone)


def chunks(site: Site, events: int, start: int, end: int, seed: int, size: int = CHUNK) -> Iterator[list[Event]]:
    """The site's demo traffic over [start, end) in time order, a UTC day at a time in chunks of `size` events."""
    traffic = Traffic(site.id, site.domain, site.timezone, seed)
    tz = site.timezone
    hours = hourly_counts(events, start, end, tz, traffic.rng)
    bounds = midnights(start, end, tz)
    day_starts, ordinals = local_days(start, end, tz)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for h, c in hours:
        by_day.setdefault(h // DAY, []).append((h, c))
    for _, day_hours in sorted(by_day.items()):
        batch: list[Event] = traffic.day(day_hours, start, end, bounds, day_starts, ordinals)
        for i in range(0, len(batch), size):
            yield batch[i : i + size]


async def _fill(
    db_path: Path, domain: str, events: int, start: int, end: int, timezone: str, seed: int, show: bool,
    segments: bool = True,
) -> DemoResult:  # fmt: skip
    from tqdm import tqdm  # type: ignore[import-untyped]

    site = await ensure_site(db_path.parent, domain, timezone)
    store = SQLiteStore(db_path, readers=1)
    await store.open()  # creates and migrates the database
    try:
        stored = 0
        with tqdm(total=events, unit="ev", unit_scale=True, desc=domain, disable=not show, file=sys.stderr) as bar:
            async with store.bulk() as load:
                for chunk in chunks(site, events, start, end, seed):
                    stored += await load.write(chunk)
                    bar.update(len(chunk))
                visits = load.visits
        if stored != events:  # every demo event continues or opens a visit
            raise RuntimeError(f"demo: {events - stored} of {events} events were not stored")

        await store.roll_days(end, [site], rebuild=True)
        # The per-segment days, as housekeeping would build them in the background.
        split = split_cpu = 0.0
        if segments:
            began, cpu = time.perf_counter(), time.process_time()
            with tqdm(unit="day", desc="segments", disable=not show, file=sys.stderr) as bar:

                def advance(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                await store.roll_segments(end, [site], advance)
            split, split_cpu = time.perf_counter() - began, time.process_time() - cpu
        await store.checkpoint()
    finally:
        await store.close()
    return DemoResult(domain, events, visits, 0.0, segment_seconds=split, segment_cpu_seconds=split_cpu)


def generate(
    db_path: str | Path,
    domain: str,
    events: int,
    days: int = 30,
    *,
    seed: int = 1,
    now: float | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    progress: bool | None = None,
    span: int | None = None,
    segments: bool = True,
) -> DemoResult:
    """Write exactly `events` events of demo traffic for `domain` over the `days` before `now`.

    The site is created (in `timezone`) if missing; an existing site keeps its
    zone. `span` (seconds) replaces `days` where a fill is not whole days. The
    same seed, size and `now` give the same rows. `progress`: a tqdm bar on
    stderr; None shows it only when stderr is a terminal. `segments=False` leaves
    the per-segment days (store.sqlite.splits) to the server's housekeeping.
    """
    if events < 0 or days < 1:
        raise ValueError("events must be >= 0 and days >= 1")
    began, cpu = time.perf_counter(), time.process_time()
    end = int(time.time() if now is None else now)
    show = sys.stderr.isatty() if progress is None else progress
    # A load allocates millions of short-lived objects and no reference cycles; the cycle
    # collector would only walk the live ones over and over (a third of the time at 1M events).
    collecting = gc.isenabled()
    gc.disable()
    try:
        start = end - (days * DAY if span is None else span)
        result = asyncio.run(_fill(Path(db_path), domain, events, start, end, timezone, seed, show, segments))
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - began - result.segment_seconds
    result.cpu_seconds = time.process_time() - cpu - result.segment_cpu_seconds
    return result


# `serve --demo` keeps a year of traffic, so every preset up to "Last 12 months" has a shape.
REFRESH_DAYS = 365
EVENTS_PER_DAY = 1_000
# Beside the databases of a demo data dir: until when each demo site's traffic is written.
MARKER = "demo-written-until.json"


def refresh(
    data_dir: str | Path,
    domain: str,
    *,
    days: int = REFRESH_DAYS,
    per_day: int = EVENTS_PER_DAY,
    now: float | None = None,
    progress: bool | None = None,
) -> DemoResult | None:
    """Bring `domain`'s demo traffic up to `now`, covering at least the last `days` days.

    The first run writes the whole span; later runs write only the time since the
    previous one (at the same density), so a restart is quick and every range up to
    `days` days back keeps its shape. None when there was nothing to write.
    """
    end = int(time.time() if now is None else now)
    marker = Path(data_dir) / MARKER
    written = _read_marker(marker)
    start = max(written.get(domain, 0), end - days * DAY)
    events = (end - start) * per_day // DAY
    if events <= 0:
        return None
    # Each refresh is its own seed, so the new hours do not replay the old ones.
    # The server's housekeeping replays the settled days per segment in the background.
    result = generate(
        Path(data_dir) / "analytics.db", domain, events, 1, seed=start, now=end, progress=progress,
        span=end - start, segments=False,
    )  # fmt: skip
    written[domain] = end
    marker.write_text(json.dumps(written, sort_keys=True) + "\n")
    return result


def _read_marker(path: Path) -> dict[str, int]:
    """The marker's {domain: until}; a missing or damaged one means nothing was written yet."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, int)}
