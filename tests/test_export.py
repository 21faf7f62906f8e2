"""CSV zip and NDJSON export (issue 6 items 4 and 6): layout, exact contents, day
boundaries in the site's time zone, and formula-injection neutralisation.

Fixture, blog.example.org in Europe/Zurich (UTC+1 in March). Times are UTC.
  A  Mar 2 09:00  /posts/a from LinkedIn -> 09:01 /posts/b -> 09:01:30 Signup on /posts/b.
                  2 pv, interactive event, duration 90, no bounce. CH, Chrome 131 / Windows.
  X  Mar 2 12:00  / with hostile UTM values (=, +, -, tab, CR at the start) and a custom
                  event "@evil" plus an outbound link click to "=cmd" at the same second.
                  1 pv, no bounce (interactive events), duration 0. US, Safari / macOS.
  B  Mar 2 22:50  /posts/c (= 23:50 local, Mar 2). 1 pv, bounce. DE, Mobile Safari / iOS.
  C  Mar 2 23:10  /posts/c (= 00:10 local, already Mar 3). 1 pv, bounce. FR, Chrome / Android.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Instance, acli

from analytics.transfer import export, layout

UA = {
    "A": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "X": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "B": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "C": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}  # fmt: skip
IP = {"A": "195.186.0.1", "X": "8.8.8.8", "B": "217.0.0.1", "C": "90.0.0.1"}
HOST = "https://blog.example.org"
HOSTILE = "/?utm_source=%3DHYPERLINK(x)&utm_medium=%2Bcmd&utm_campaign=-2%2B3&utm_content=%09TAB&utm_term=%0DCR"
FILES = [
    "imported_visitors.csv", "imported_sources.csv", "imported_pages.csv", "imported_entry_pages.csv",
    "imported_exit_pages.csv", "imported_custom_events.csv", "imported_locations.csv", "imported_devices.csv",
    "imported_browsers.csv", "imported_operating_systems.csv",
    # Ours, from the catalog (visit:language); Plausible's import ignores files it does not know.
    "imported_languages.csv",
    # Reads, ours too: totals, per page and per source row.
    "imported_reads.csv", "imported_page_reads.csv", "imported_source_reads.csv",
]  # fmt: skip


async def hit(
    inst: Instance, when: datetime, who: str, name: str, path: str, ref: str | None = None, **extra: Any
) -> None:
    inst.clock.set(when)
    body = {"n": name, "u": HOST + path, "d": "blog.example.org", "r": ref, **extra}
    r = await inst.send(body, ip=IP[who], ua=UA[who])
    assert r.status_code == 202 and "x-analytics-dropped" not in r.headers, r.text


def utc(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


async def ingest(inst: Instance) -> None:
    await hit(inst, utc(2, 9, 0), "A", "pageview", "/posts/a", "https://www.linkedin.com/")
    await hit(inst, utc(2, 9, 0, 40), "A", "engagement", "/posts/a", sd=90, e=30000, wc=100)  # read
    await hit(inst, utc(2, 9, 1), "A", "pageview", "/posts/b")
    await hit(inst, utc(2, 9, 1, 30), "A", "Signup", "/posts/b")
    await hit(inst, utc(2, 12, 0), "X", "pageview", HOSTILE)
    await hit(inst, utc(2, 12, 0), "X", "@evil", "/")
    await hit(inst, utc(2, 12, 0), "X", "Outbound Link: Click", "/", p={"url": "=cmd"})
    await hit(inst, utc(2, 22, 50), "B", "pageview", "/posts/c")
    await hit(inst, utc(2, 23, 10), "C", "pageview", "/posts/c")


@pytest.fixture
async def fixture(instance: Instance) -> Instance:
    await instance.accounts.sites.add("blog.example.org", "Europe/Zurich")
    await ingest(instance)
    instance.clock.set(utc(4, 12, 0))
    return instance


class NonSeekable(io.RawIOBase):
    """A sink like a pipe or an HTTP body: it can only be appended to."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


def read_zip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name).decode() for name in zf.namelist()}


async def export_zip(inst: Instance, first: date, last: date) -> dict[str, str]:
    site = await inst.accounts.sites.get("blog.example.org")
    sink = NonSeekable()
    steps: list[int] = []
    await export.write_zip(inst.store, site, first, last, sink, progress=steps.append)  # type: ignore[arg-type]
    assert sum(steps) == export.steps(first, last) == len(FILES) * ((last - first).days + 1)
    streamed = b"".join([c async for c in export.iter_zip(inst.store, site, first, last)])
    files = read_zip(bytes(sink.data))
    assert read_zip(streamed) == files
    return files


async def test_file_list_and_headers(fixture: Instance) -> None:
    files = await export_zip(fixture, date(2026, 3, 2), date(2026, 3, 3))
    assert list(files) == FILES
    headers = {name: text.split("\r\n", 1)[0] for name, text in files.items()}
    assert headers == {
        "imported_visitors.csv": "date,visitors,pageviews,bounces,visits,visit_duration",
        "imported_sources.csv": "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,"
        "pageviews,visitors,visits,visit_duration,bounces",
        "imported_pages.csv": "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,"
        "total_scroll_depth_visits,total_time_on_page,total_time_on_page_visits",
        "imported_entry_pages.csv": "date,entry_page,visitors,entrances,visit_duration,bounces,pageviews",
        "imported_exit_pages.csv": "date,exit_page,visitors,visit_duration,exits,bounces,pageviews",
        "imported_custom_events.csv": "date,name,link_url,path,visitors,events",
        "imported_locations.csv": "date,country,region,city,visitors,visits,visit_duration,bounces,pageviews",
        "imported_devices.csv": "date,device,visitors,visits,visit_duration,bounces,pageviews",
        "imported_browsers.csv": "date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews",
        "imported_operating_systems.csv": "date,operating_system,operating_system_version,visitors,visits,"
        "visit_duration,bounces,pageviews",
        "imported_languages.csv": "date,language,visitors,visits,visit_duration,bounces,pageviews",
        "imported_reads.csv": "date,reads,readers",
        "imported_page_reads.csv": "date,hostname,page,reads,readers",
        "imported_source_reads.csv": "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,"
        "reads,readers",
    }


async def test_exact_contents(fixture: Instance) -> None:
    files = await export_zip(fixture, date(2026, 3, 2), date(2026, 3, 3))
    body = {name: text.split("\r\n")[1:] for name, text in files.items()}
    # Mar 2 local: A, X, B. Pageviews 2 + 1 + 1; only B bounced; duration A's 90 s.
    # Mar 3 local: C, whose 23:10 UTC visit is 00:10 in Zurich.
    assert body["imported_visitors.csv"] == ["2026-03-02,3,4,1,3,90", "2026-03-03,1,1,1,1,0", ""]
    assert body["imported_sources.csv"] == [
        "2026-03-02,,,,,,,,1,1,1,0,1",  # B: Direct / None is written as an empty source, as Plausible does
        "2026-03-02,'=HYPERLINK(x),,'=HYPERLINK(x),'+cmd,'-2+3,'\tTAB,\"'\rCR\",1,1,1,0,0",
        "2026-03-02,LinkedIn,linkedin.com,,,,,,2,1,1,90,0",
        "2026-03-03,,,,,,,,1,1,1,0,1",
        "",
    ]
    assert body["imported_pages.csv"] == [
        "2026-03-02,blog.example.org,/,1,1,1,0,0,0,0",
        "2026-03-02,blog.example.org,/posts/a,1,1,1,90,1,30,1",  # A's engagement: 90 %, 30 s
        "2026-03-02,blog.example.org,/posts/b,1,1,1,0,0,0,0",
        "2026-03-02,blog.example.org,/posts/c,1,1,1,0,0,0,0",
        "2026-03-03,blog.example.org,/posts/c,1,1,1,0,0,0,0",
        "",
    ]
    # A read /posts/a (90 %, 30 s of a 100-word page): one read, one reader, from LinkedIn.
    assert body["imported_reads.csv"] == ["2026-03-02,1,1", ""]
    assert body["imported_page_reads.csv"] == ["2026-03-02,blog.example.org,/posts/a,1,1", ""]
    assert body["imported_source_reads.csv"] == ["2026-03-02,LinkedIn,linkedin.com,,,,,,1,1", ""]
    assert body["imported_entry_pages.csv"] == [
        "2026-03-02,/,1,1,0,0,1",
        "2026-03-02,/posts/a,1,1,90,0,2",
        "2026-03-02,/posts/c,1,1,0,1,1",
        "2026-03-03,/posts/c,1,1,0,1,1",
        "",
    ]
    assert body["imported_exit_pages.csv"] == [
        "2026-03-02,/,1,0,1,0,1",
        "2026-03-02,/posts/b,1,90,1,0,2",
        "2026-03-02,/posts/c,1,0,1,1,1",
        "2026-03-03,/posts/c,1,0,1,1,1",
        "",
    ]
    assert body["imported_custom_events.csv"] == [
        "2026-03-02,'@evil,,,1,1",
        "2026-03-02,Outbound Link: Click,'=cmd,,1,1",
        "2026-03-02,Signup,,,1,1",
        "",
    ]
    assert body["imported_locations.csv"] == [
        "2026-03-02,CH,,0,1,1,90,0,2",
        "2026-03-02,DE,,0,1,1,0,1,1",
        "2026-03-02,US,,0,1,1,0,0,1",
        "2026-03-03,FR,,0,1,1,0,1,1",
        "",
    ]
    assert body["imported_devices.csv"] == [
        "2026-03-02,Desktop,2,2,90,0,3",
        "2026-03-02,Mobile,1,1,0,1,1",
        "2026-03-03,Mobile,1,1,0,1,1",
        "",
    ]
    assert body["imported_browsers.csv"] == [
        "2026-03-02,Chrome,131,1,1,90,0,2",
        "2026-03-02,Safari,18,2,2,0,1,2",
        "2026-03-03,Chrome,131,1,1,0,1,1",
        "",
    ]
    assert body["imported_operating_systems.csv"] == [
        "2026-03-02,Windows,10,1,1,90,0,2",
        "2026-03-02,iOS,18.6,1,1,0,1,1",
        "2026-03-02,macOS,10.15,1,1,0,0,1",
        "2026-03-03,Android,14,1,1,0,1,1",
        "",
    ]


async def test_day_boundaries_follow_the_site_time_zone(fixture: Instance) -> None:
    # Only Mar 3 local: C's 23:10 UTC visit belongs here, B's 22:50 UTC one does not.
    files = await export_zip(fixture, date(2026, 3, 3), date(2026, 3, 3))
    assert files["imported_visitors.csv"] == (
        "date,visitors,pageviews,bounces,visits,visit_duration\r\n2026-03-03,1,1,1,1,0\r\n"
    )
    # Days without data have no rows, but the file and its header are there.
    files = await export_zip(fixture, date(2026, 2, 1), date(2026, 2, 2))
    assert files["imported_pages.csv"].count("\n") == 1


async def test_formula_cells_are_neutralised(fixture: Instance) -> None:
    files = await export_zip(fixture, date(2026, 3, 2), date(2026, 3, 3))
    for name, text in files.items():
        for row in list(csv.reader(io.StringIO(text)))[1:]:
            for cell in row:
                assert not cell.startswith(layout.FORMULA_START), (name, cell)
    cells = {c for row in csv.reader(io.StringIO(files["imported_sources.csv"])) for c in row}
    assert {"'=HYPERLINK(x)", "'+cmd", "'-2+3", "'\tTAB", "'\rCR"} <= cells


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
        ("'=x", "''=x"), ("'x", "'x"), ("/=x", "/=x"), ("a=b", "a=b"), ("", ""), (-5, -5), (0, 0),
    ],
)  # fmt: skip
def test_neutralise(value: Any, cell: Any) -> None:
    assert layout.neutralise(value) == cell
    if isinstance(value, str):
        assert layout.unneutralise(cell) == value  # the import restores the exact value


async def test_ndjson(fixture: Instance) -> None:
    site = await fixture.accounts.sites.get("blog.example.org")
    data = b"".join([c async for c in export.iter_ndjson(fixture.store, site, date(2026, 3, 2), date(2026, 3, 3))])
    lines = [json.loads(x) for x in data.decode().splitlines()]
    assert lines[:2] == [
        {"report": "visitors", "date": "2026-03-02", "visitors": 3, "pageviews": 4, "bounces": 1, "visits": 3,
         "visit_duration": 90},
        {"report": "visitors", "date": "2026-03-03", "visitors": 1, "pageviews": 1, "bounces": 1, "visits": 1,
         "visit_duration": 0},
    ]  # fmt: skip
    hostile = [x for x in lines if x["report"] == "sources" and x["utm_medium"]]
    assert hostile == [
        {"report": "sources", "date": "2026-03-02", "source": "=HYPERLINK(x)", "referrer": "",
         "utm_source": "=HYPERLINK(x)", "utm_medium": "+cmd", "utm_campaign": "-2+3", "utm_content": "\tTAB",
         "utm_term": "\rCR", "pageviews": 1, "visitors": 1, "visits": 1, "visit_duration": 0, "bounces": 0},
    ]  # fmt: skip
    assert [x["report"] for x in lines].count("pages") == 5
    assert len(lines) == 2 + 4 + 5 + 4 + 4 + 3 + 4 + 3 + 3 + 4 + 2 + 1 + 1 + 1  # the CSV rows, one object each


async def test_data_range(fixture: Instance) -> None:
    site = await fixture.accounts.sites.get("blog.example.org")
    assert await fixture.store.data_range(site) == (date(2026, 3, 2), date(2026, 3, 3))
    empty = await fixture.accounts.sites.add("empty.example.org", "UTC")
    assert await fixture.store.data_range(empty) is None


async def test_cli_export(fixture: Instance, tmp_path: Path) -> None:
    data_dir = fixture.data_dir
    out = tmp_path / "out.zip"
    proc = await acli("export", "blog.example.org", "-o", str(out), data_dir=data_dir)
    # No progress bar without a terminal: stderr holds only the summary.
    assert (proc.stdout, proc.stderr) == ("", f"exported blog.example.org 2026-03-02..2026-03-03 to {out}\n")
    files = read_zip(out.read_bytes())
    assert list(files) == FILES
    assert files["imported_visitors.csv"].split("\r\n")[1:-1] == ["2026-03-02,3,4,1,3,90", "2026-03-03,1,1,1,1,0"]

    proc = await acli("export", "blog.example.org", "--from", "2026-03-03", "--to", "2026-03-03", "--format", "ndjson",
               "-o", "-", data_dir=data_dir)  # fmt: skip
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert rows[0] == {"report": "visitors", "date": "2026-03-03", "visitors": 1, "pageviews": 1, "bounces": 1,
                       "visits": 1, "visit_duration": 0}  # fmt: skip
    assert {r["date"] for r in rows} == {"2026-03-03"}

    for args, message in [
        (("--from", "2026-13-01"), "--from '2026-13-01' is not a date"),
        (("--from", "2026-03-03", "--to", "2026-03-02"), "--to 2026-03-02 is before --from 2026-03-03"),
    ]:
        proc = await acli("export", "blog.example.org", "-o", str(tmp_path / "x.zip"), *args, data_dir=data_dir, check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.zip.part").exists()
    proc = await acli("export", "nope.example.org", data_dir=data_dir, check=False)
    assert proc.returncode == 2 and "no site 'nope.example.org'" in proc.stderr


async def test_memory_does_not_grow_with_the_range(instance: Instance) -> None:
    """Exporting a year takes no more Python memory than a month: rows stream day by day.

    SQLite's own memory is bounded separately: its page cache by cache_size, and each
    query's GROUP BY by one day of one report.
    """
    import tracemalloc

    site = await instance.accounts.sites.add("big.example.org", "Europe/Zurich")
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // 900

    async def fill(conn: Any) -> None:
        await conn.executemany(
            "INSERT INTO strings (id, value) VALUES (?, ?)", [(1000 + i, f"/p{i}") for i in range(40)]
        )
        rows = [(site.id, start + d * 96 + 40, 1000 + i) for d in range(365) for i in range(40)]
        await conn.executemany(
            "INSERT INTO rollup_pages (site_id, bucket, hostname, page, visitors, visits, pageviews)"
            " VALUES (?, ?, 0, ?, 1, 1, 2)", rows)  # fmt: skip
        await conn.executemany(
            "INSERT INTO rollup_totals (site_id, bucket, visitors, visits, pageviews) VALUES (?, ?, 40, 40, 80)",
            [(site.id, start + d * 96 + 40) for d in range(365)],
        )

    await instance.store.write(fill)

    async def peak(last: date) -> tuple[int, int]:
        size = 0
        tracemalloc.start()
        try:
            async for chunk in export.iter_zip(instance.store, site, date(2025, 1, 1), last):
                size += len(chunk)
            return tracemalloc.get_traced_memory()[1], size
        finally:
            tracemalloc.stop()

    month, month_bytes = await peak(date(2025, 1, 30))
    year, year_bytes = await peak(date(2025, 12, 31))
    assert year_bytes > 5 * month_bytes  # twelve times the rows went through...
    assert year < month * 1.5 + 200_000, (month, year)  # ...in about the same memory


def _export_into_closed_pipe(data_dir: Path, fmt: str) -> tuple[int, str]:
    """`analytics export -o -` whose reader has gone (as `| head` does once it has its lines)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "analytics", "export", "blog.example.org", "-o", "-", "--format", fmt,
           "--data-dir", str(data_dir)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child writes a byte: its first write meets a broken pipe
    with proc.stderr:
        err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize("fmt", ["zip", "ndjson"])
async def test_cli_export_into_a_closed_pipe_exits_quietly(fixture: Instance, fmt: str) -> None:
    import asyncio
    import signal

    code, err = await asyncio.to_thread(_export_into_closed_pipe, fixture.data_dir, fmt)
    assert (code, err) == (128 + signal.SIGPIPE, "")  # as a program stopped by SIGPIPE, with nothing said


def test_file_names_name_the_range_and_the_filters() -> None:
    from analytics.model import Site

    site = Site(1, "example.com", "UTC")
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    assert export.filename(site, first, last) == "example.com_2026-11-01_2026-11-30.zip"
    assert export.filename(site, first, last, filters=[("source", "Google")]) == (
        "example.com_2026-11-01_2026-11-30_source-Google.zip"
    )
    # Anything a visitor sent is reduced to letters, digits, dots, underscores and dashes, 40 at most.
    hostile = [("page", '/a b/"; rm -rf ~\r\n<script>'), ("prop.author", "Zoë/../../etc"), ("referrer", "=" * 300)]
    assert export.filename(site, first, last, "csv", hostile, suffix="pages") == (
        "example.com_2026-11-01_2026-11-30_page-a-b-rm-rf-script_prop.author-Zo-etc_referrer-x_pages.csv"
    )
