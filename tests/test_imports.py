"""Import of a Plausible CSV export (issue 6 item 5) and `include.imports` in queries.

The hand-written export below covers Jan 10 and 11, 2026 for blog.example.org
(Europe/Zurich). Its files use Plausible's own names (`imported_X_YYYYMMDD_YYYYMMDD.csv`)
for some reports and ours for others, CRLF line ends, a byte-order mark, an unknown
column and a missing one, as exports from different Plausible versions do.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import Instance, acli

from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.transfer.imports import ImportFileError, import_csv, list_imports, remove_imports

FILES = {
    "imported_visitors_20260101_20260131.csv": """\ufeffdate,visitors,pageviews,bounces,visits,visit_duration
2026-01-10,10,30,4,12,600
2026-01-11,5,8,2,6,120
""",
    "imported_sources_20260101_20260131.csv": """date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces
2026-01-10,,,,,,,,10,4,5,100,3
2026-01-10,Google,google.com,,,,,,20,6,7,500,1
2026-01-11,Google,,,,,,,8,5,6,120,2
""",
    "imported_pages.csv": """date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits,total_time_on_page,total_time_on_page_visits,exits
2026-01-10,blog.example.org,/,8,7,20,400,8,240,8,5
2026-01-10,blog.example.org,/about,4,3,10,100,2,60,4,1
2026-01-11,blog.example.org,/,6,5,8,0,0,0,0,6
""",
    "imported_entry_pages.csv": """date,entry_page,visitors,entrances,visit_duration,bounces,pageviews
2026-01-10,/,8,9,500,3,25
2026-01-10,/about,3,3,100,1,5
2026-01-11,/,5,6,120,2,8
""",
    "imported_exit_pages.csv": """date,exit_page,visitors,visit_duration,exits,bounces,pageviews
2026-01-10,/,7,400,8,3,20
2026-01-10,/about,4,200,4,1,10
2026-01-11,/,5,120,6,2,8
""",
    "imported_custom_events.csv": """date,name,link_url,path,visitors,events
2026-01-10,Signup,,,2,3
2026-01-11,Signup,,,1,1
""",
    "imported_locations.csv": """date,country,region,city,visitors,visits,visit_duration,bounces,pageviews
2026-01-10,CH,CH-ZH,2657896,6,7,400,2,20
2026-01-10,DE,,0,4,5,200,2,10
2026-01-11,CH,,,5,6,120,2,8
""",
    "imported_devices.csv": """date,device,visitors,visits,visit_duration,bounces,pageviews
2026-01-10,Desktop,10,12,600,4,30
2026-01-11,Mobile,5,6,120,2,8
""",
    # An older layout: no browser_version column.
    "imported_browsers.csv": """date,browser,visitors,visits,visit_duration,bounces,pageviews
2026-01-10,Firefox,10,12,600,4,30
2026-01-11,Safari,5,6,120,2,8
""",
    "imported_operating_systems.csv": """date,operating_system,operating_system_version,visitors,visits,visit_duration,bounces,pageviews
2026-01-10,Linux,,10,12,600,4,30
2026-01-11,iOS,17,5,6,120,2,8
""",
}  # fmt: skip
TABLES = [
    "imported_visitors", "imported_sources", "imported_pages", "imported_entry_pages", "imported_exit_pages",
    "imported_custom_events", "imported_locations", "imported_devices", "imported_browsers",
    "imported_operating_systems",
]  # fmt: skip


def make_zip(path: Path, files: dict[str, str], crlf: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text.replace("\n", "\r\n") if crlf else text)
    return path


@pytest.fixture
async def site(instance: Instance) -> Any:
    return await instance.accounts.sites.add("blog.example.org", "Europe/Zurich")


async def stats(inst: Instance, imports: bool = True, **body: Any) -> tuple[list[Any], dict[str, object]]:
    site = await inst.accounts.sites.get("blog.example.org")
    body.setdefault("date_range", ["2026-01-01", "2026-01-31"])
    body["include"] = {"imports": imports}
    result = await stats_run.run(inst.store, parse(body, site, inst.clock.utcnow()))
    return result.rows, result.meta


async def counts(inst: Instance) -> dict[str, int]:
    out = {}
    for t in [*TABLES, "site_imports"]:
        out[t] = (await inst.store.fetchall(f"SELECT COUNT(*) FROM {t}"))[0][0]
    return out


SESSION = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]


async def test_import_and_query(instance: Instance, site: Any, tmp_path: Path) -> None:
    summary = await import_csv(instance.store, site, make_zip(tmp_path / "plausible.zip", FILES))
    assert (summary.first, summary.last, summary.total_rows) == (date(2026, 1, 1), date(2026, 1, 31), 25)

    # Totals: 15 visitors, 18 visits, 38 pageviews, 6/18 bounces = 33 %, 720 s / 18 = 40 s.
    rows, meta = await stats(instance, metrics=[*SESSION, "views_per_visit", "events"])
    assert rows == [((), (15, 18, 38, 33, 40, 2.11, 4))]
    assert meta == {"imports_included": True}
    rows, meta = await stats(instance, imports=False, metrics=["visitors"])
    assert rows == [((), (0,))] and meta == {}

    rows, _ = await stats(instance, metrics=SESSION, dimensions=["time:day"])
    # Jan 10: 4/12 bounces = 33 %, 600/12 = 50 s. Jan 11: 2/6 = 33 %, 120/6 = 20 s.
    assert rows == [(("2026-01-10",), (10, 12, 30, 33, 50)), (("2026-01-11",), (5, 6, 8, 33, 20))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["time:month"])
    assert rows == [(("2026-01-01",), (15,))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["time:week"])
    assert rows == [(("2026-01-05",), (15,))]  # Sat Jan 10 and Sun Jan 11 share the week of Mon Jan 5

    rows, _ = await stats(instance, metrics=SESSION, dimensions=["visit:source"])
    # An empty source is Direct / None. Google: 300/13 bounces = 23 %, 620/13 = 48 s.
    assert rows == [(("Google",), (11, 13, 28, 23, 48)), (("Direct / None",), (4, 5, 10, 60, 20))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:channel"])
    assert rows == [(("Organic Search",), (11,)), (("Direct",), (4,))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:referrer"])
    assert rows == [(("",), (9,)), (("google.com",), (6,))]

    rows, _ = await stats(
        instance, metrics=["visitors", "visits", "pageviews", "bounce_rate", "time_on_page", "scroll_depth"],
        dimensions=["event:page"],
    )  # fmt: skip
    # "/": bounces from its entry-page rows 3 + 2 over 14 visits = 36 %; 240 s / 14 = 17 s; 400/8 = 50 %.
    assert rows == [(("/",), (12, 14, 28, 36, 17, 50)), (("/about",), (3, 4, 10, 25, 15, 50))]
    rows, _ = await stats(instance, metrics=["visitors", "visits", "bounce_rate"], dimensions=["visit:entry_page"])
    assert rows == [(("/",), (13, 15, 33)), (("/about",), (3, 3, 33))]
    rows, _ = await stats(instance, metrics=["visitors", "visits"], dimensions=["visit:exit_page"])
    assert rows == [(("/",), (12, 14)), (("/about",), (4, 4))]
    rows, _ = await stats(instance, metrics=SESSION, dimensions=["visit:country"])
    assert rows == [(("CH",), (11, 13, 28, 31, 40)), (("DE",), (4, 5, 10, 40, 40))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:device"])
    assert rows == [(("Desktop",), (10,)), (("Mobile",), (5,))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:browser", "visit:browser_version"])
    assert rows == [(("Firefox", ""), (10,)), (("Safari", ""), (5,))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:os", "visit:os_version"])
    assert rows == [(("Linux", ""), (10,)), (("iOS", "17"), (5,))]
    rows, _ = await stats(instance, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"])
    assert rows == [(("Signup",), (3, 4, 20.0))]  # 3 of 15 visitors

    # Filters on the imported report's own dimensions.
    rows, _ = await stats(
        instance,
        metrics=["visitors", "visits"],
        filters=[["is", "visit:source", ["google"], {"case_sensitive": False}]],
    )
    assert rows == [((), (11, 13))]
    rows, _ = await stats(
        instance, metrics=["pageviews"], dimensions=["time:day"], filters=[["contains_not", "event:page", ["about"]]]
    )
    assert rows == [(("2026-01-10",), (20,)), (("2026-01-11",), (8,))]
    rows, _ = await stats(
        instance,
        metrics=["visitors", "percentage"],
        dimensions=["visit:country"],
        filters=[["matches", "visit:country", ["^C"]]],
    )
    assert rows == [(("CH",), (11, 100.0))]  # fmt: skip


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"dimensions": ["visit:screen"]}, "visit:screen is not in imported data"),
        ({"dimensions": ["event:props:plan"]}, "event:props:plan is not in imported data"),
        ({"dimensions": ["visit:source", "visit:country"]}, "imported data has no breakdown by visit:country and visit:source"),
        ({"dimensions": ["visit:source"], "filters": [["is", "event:page", ["/"]]]}, "imported data has no breakdown by event:page and visit:source"),
        ({"dimensions": ["time:hour"]}, "imported data is daily, so it has no hours"),
        ({"dimensions": ["time"], "date_range": ["2026-01-10", "2026-01-10"]}, "imported data is daily, so it has no hours"),
        ({"date_range": "24h"}, "imported data is daily, and the date range is not whole days"),
        ({"dimensions": ["event:page"], "metrics": ["visit_duration"]}, "imported pages have no visit_duration"),
        ({"dimensions": ["visit:source"], "metrics": ["events"]}, "imported sources have no events"),
    ],
)  # fmt: skip
async def test_queries_imports_cannot_answer(instance: Instance, site: Any, tmp_path: Path, body: dict[str, Any], reason: str) -> None:  # fmt: skip
    await import_csv(instance.store, site, make_zip(tmp_path / "plausible.zip", FILES))
    body.setdefault("metrics", ["visitors"])
    rows, meta = await stats(instance, **body)
    assert meta == {"imports_included": False, "imports_skip_reason": reason}
    assert all(m == (0,) for _, m in rows)  # native data only, and there is none


async def test_imports_add_to_native_data(instance: Instance, site: Any, tmp_path: Path) -> None:
    await import_csv(instance.store, site, make_zip(tmp_path / "plausible.zip", FILES))
    r = await instance.send(
        {"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org", "r": "https://www.google.com/"}
    )
    assert r.status_code == 202  # fmt: skip
    rows, _ = await stats(instance, metrics=["visitors", "pageviews"], dimensions=["visit:source"], date_range=["2026-01-01", "2026-03-31"])  # fmt: skip
    assert rows == [(("Google",), (12, 29)), (("Direct / None",), (4, 10))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["time:month"], date_range=["2026-01-01", "2026-03-31"])  # fmt: skip
    assert rows == [(("2026-01-01",), (15,)), (("2026-03-01",), (1,))]


async def test_reimport_does_not_double_count(instance: Instance, site: Any, tmp_path: Path) -> None:
    path = make_zip(tmp_path / "plausible.zip", FILES)
    await import_csv(instance.store, site, path)
    before = await counts(instance)
    await import_csv(instance.store, site, path)
    assert await counts(instance) == before
    rows, _ = await stats(instance, metrics=["visitors", "visits"])
    assert rows == [((), (15, 18))]
    assert [(i["source"], i["first_day"], i["last_day"], i["rows"]) for i in await list_imports(instance.store, site)] == [
        ("plausible.zip", "2026-01-01", "2026-01-31", 25)
    ]  # fmt: skip

    # An overlapping import replaces the days it covers, per report, and keeps the rest.
    newer = {"imported_visitors.csv": "date,visitors,pageviews,bounces,visits,visit_duration\n2026-01-11,7,9,1,7,70\n"}
    await import_csv(instance.store, site, make_zip(tmp_path / "newer.zip", newer))
    rows, _ = await stats(instance, metrics=["visitors", "visits"], dimensions=["time:day"])
    assert rows == [(("2026-01-10",), (10, 12)), (("2026-01-11",), (7, 7))]
    rows, _ = await stats(instance, metrics=["visitors"], dimensions=["visit:device"])
    assert rows == [(("Desktop",), (10,)), (("Mobile",), (5,))]  # other reports untouched
    assert [i["source"] for i in await list_imports(instance.store, site)] == ["newer.zip", "plausible.zip"]

    assert await remove_imports(instance.store, site) == 2
    assert all(n == 0 for n in (await counts(instance)).values())


async def test_a_directory_of_csv_files(instance: Instance, site: Any, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    (folder / "README.txt").write_text("not a report")
    summary = await import_csv(instance.store, site, folder)
    assert summary.total_rows == 25


BAD_VISITORS = "date,visitors,pageviews,bounces,visits,visit_duration\n2026-01-10,1,1,1,1,1\n"


@pytest.mark.parametrize(
    "files, message",
    [
        ({"imported_pages.csv": FILES["imported_pages.csv"].replace("2026-01-11,blog.example.org,/,6,5,", "2026-01-11,blog.example.org,/,6,abc,")},
         "imported_pages.csv, line 4: visitors 'abc' is not a non-negative whole number"),
        ({"imported_pages.csv": FILES["imported_pages.csv"].replace(",8,7,20,", ",8,-7,20,")},
         "imported_pages.csv, line 2: visitors '-7' is not a non-negative whole number"),
        ({"imported_sources.csv": FILES["imported_sources_20260101_20260131.csv"].replace(",,,,,,,10,4,5,100,3", ",,,10,4,5,100,3")},
         "imported_sources.csv, line 2: expected 13 fields, found 9"),
        ({"imported_devices.csv": "date,device,visitors\n2026-01-10,Desktop,1\n10/01/2026,Mobile,2\n"},
         "imported_devices.csv, line 3: date '10/01/2026' is not YYYY-MM-DD"),
        ({"imported_devices.csv": "day,device,visitors\n2026-01-10,Desktop,1\n"},
         "imported_devices.csv, line 1: the header has no date column: day,device,visitors"),
        ({"imported_devices.csv": ""}, "imported_devices.csv, line 1: the file is empty; expected a header line"),
        ({"imported_devices.csv": "date,device,visitors\n2026-01-10,\"Desk\ntop\n"},
         "imported_devices.csv, line 3: is not valid CSV (unexpected end of data)"),
        ({"imported_devices.csv": "date,device,visitors\n2026-01-10,\"Desk\"top,1\n"},
         "imported_devices.csv, line 2: is not valid CSV (',' expected after '\"')"),
        ({"imported_pages_20261301_20261331.csv": "date\n"}, "imported_pages_20261301_20261331.csv: the dates in the file name are not valid"),
    ],
)  # fmt: skip
async def test_bad_file_names_file_and_line_and_imports_nothing(
    instance: Instance, site: Any, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    # The visitors file comes first and is valid: it must be rolled back too.
    path = make_zip(tmp_path / "bad.zip", {"imported_visitors.csv": BAD_VISITORS, **files}, crlf=False)
    with pytest.raises(ImportFileError) as info:
        await import_csv(instance.store, site, path)
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.status == 400
    assert all(n == 0 for n in (await counts(instance)).values())


async def test_bad_bytes(instance: Instance, site: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("imported_visitors.csv", BAD_VISITORS)
        zf.writestr(
            "imported_pages.csv", "date,hostname,page\n2026-01-10,blog.example.org,/caf\xe9\n".encode("latin-1")
        )
    with pytest.raises(ImportFileError) as info:
        await import_csv(instance.store, site, path)
    assert (info.value.file, info.value.line, info.value.reason) == ("imported_pages.csv", 2, "is not UTF-8 text")
    make_zip(tmp_path / "other.zip", {"readme.txt": "hello", "imported_nothing.csv": "date\n"})
    with pytest.raises(
        ImportFileError, match=r"^other.zip: holds no Plausible CSV export files \(imported_visitors.csv"
    ):
        await import_csv(instance.store, site, tmp_path / "other.zip")
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ImportFileError, match=r"^junk.zip: not a zip file$"):
        await import_csv(instance.store, site, tmp_path / "junk.zip")
    with pytest.raises(ImportFileError, match=r"^upload: not a zip file$"):
        await import_csv(instance.store, site, io.BytesIO(b"garbage"))
    assert all(n == 0 for n in (await counts(instance)).values())


async def test_deleting_the_site_deletes_its_imports(instance: Instance, site: Any, tmp_path: Path) -> None:
    await import_csv(instance.store, site, make_zip(tmp_path / "plausible.zip", FILES))
    await instance.accounts.sites.remove("blog.example.org", instance.store)
    assert all(n == 0 for n in (await counts(instance)).values())


async def test_an_import_racing_the_sites_removal_is_a_clear_error(instance: Instance, site: Any, tmp_path: Path) -> None:
    await instance.accounts.sites.remove("blog.example.org", instance.store)  # the upload was already under way
    with pytest.raises(ImportFileError, match=r"^plausible.zip: blog.example.org was removed; its import is dropped$"):
        await import_csv(instance.store, site, make_zip(tmp_path / "plausible.zip", FILES))
    assert all(n == 0 for n in (await counts(instance)).values())


async def test_cli_import(instance: Instance, site: Any, tmp_path: Path) -> None:
    good = make_zip(tmp_path / "plausible.zip", FILES)
    proc = await acli("import", "blog.example.org", str(good), data_dir=instance.data_dir)
    # No progress bar without a terminal: stderr holds only the summary.
    assert (proc.stdout, proc.stderr) == ("", "imported 25 rows 2026-01-01..2026-01-31 into blog.example.org\n")
    bad = make_zip(tmp_path / "bad.zip", {"imported_visitors.csv": BAD_VISITORS.replace(",1,1,1,1,1", ",1,1,x,1,1")})
    proc = await acli("import", "blog.example.org", str(bad), data_dir=instance.data_dir, check=False)
    assert proc.returncode == 2
    assert (
        "nothing was imported: imported_visitors.csv, line 2: bounces 'x' is not a non-negative whole number"
        in proc.stderr
    )
    proc = await acli("import", "nope.example.org", str(good), data_dir=instance.data_dir, check=False)
    assert proc.returncode == 2 and "no site 'nope.example.org'" in proc.stderr
    proc = await acli("import", "blog.example.org", str(tmp_path / "missing.zip"), data_dir=instance.data_dir, check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    rows, _ = await stats(instance, metrics=["visitors"])
    assert rows == [((), (15,))]  # the good import only


def test_query_parse_keeps_include_imports() -> None:
    from datetime import UTC, datetime

    from analytics.model import Site

    q = parse({"metrics": ["visitors"], "date_range": "7d", "include": {"imports": True}}, Site(1, "x.org", "UTC"),
              datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    assert dataclasses.replace(q).include_imports
