"""Every catalog entry works in every layer: queried through both plans, filtered, shown
as a dashboard tab (or drill-down), exported and imported back, and told on the
disclosure page. A new dimension is covered here the moment its entry exists.

`visit:language` gets its own checks too: what the collector keeps of Accept-Language.
"""

from __future__ import annotations

import html
import io
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DashboardPage, setup_admin

from analytics import catalog
from analytics.catalog import BY_NAME, DIMENSIONS, Dimension
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.transfer import export
from analytics.transfer.imports import import_csv
from analytics.web.reports import PANEL_TITLES, display

DOMAIN = "blog.example.org"
DAY = date(2026, 3, 2)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0"
# Two visitors, so every dimension has a non-empty value and filters have something to leave out.
VISITS: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
    (
        "195.186.0.1", FIREFOX, {"Accept-Language": "de-CH,de;q=0.9,en;q=0.8"},
        {"u": f"https://{DOMAIN}/blog/reading?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
              "&utm_content=top&utm_term=reading", "r": "https://www.linkedin.com/feed/", "w": 1440},
    ),
    (
        "217.0.0.1", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.4 Mobile/15E148 Safari/604.1", {"Accept-Language": "fr-FR,fr;q=0.9"},
        {"u": f"https://{DOMAIN}/", "r": "https://www.google.com/", "w": 390},
    ),
]  # fmt: skip


@pytest.fixture
async def world(instance: Instance) -> Any:
    site = await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    for i, (ip, ua, headers, page) in enumerate(VISITS):
        instance.clock.set(datetime(2026, 3, 2, 9, i * 10, tzinfo=UTC))
        body = {"n": "pageview", "d": DOMAIN, **page}
        assert (await instance.send(body, ip=ip, ua=ua, **headers)).status_code == 202
        instance.clock.set(datetime(2026, 3, 2, 9, i * 10 + 1, tzinfo=UTC))
        goal = {"n": "Outbound Link: Click", "d": DOMAIN, "u": page["u"], "p": {"url": "https://example.com/x"}}
        assert (await instance.send(goal, ip=ip, ua=ua, **headers)).status_code == 202
    instance.clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    return site


async def rows(instance: Instance, site: Any, dim: str, *, raw: bool = False, **extra: Any) -> list[Any]:
    body = {"site_id": DOMAIN, "metrics": ["visitors", "visits"], "date_range": ["2026-03-02", "2026-03-02"],
            "dimensions": [dim], **extra}  # fmt: skip
    result = await stats_run.run(instance.store, parse(body, site, instance.clock.utcnow()), raw=raw)
    return [(d[0], m) for d, m in result.rows]


def value_of(found: list[Any]) -> str:
    """A non-empty value the data holds for the dimension."""
    values = [v for v, _ in found if v not in ("", "(none)")]
    assert values, found
    return str(values[0])


@pytest.mark.parametrize("d", DIMENSIONS, ids=lambda d: d.name)
async def test_queried_through_both_plans_and_filtered(instance: Instance, world: Any, d: Dimension) -> None:
    found = await rows(instance, world, d.name)
    assert found == await rows(instance, world, d.name, raw=True)
    value = value_of(found)
    visitors = dict(found)[value][0]
    filtered = await rows(instance, world, d.name, filters=[["is", d.name, [value]]])
    assert filtered == [(value, dict(found)[value])] if d.level == "visit" else filtered[0][0] == value
    assert 0 < visitors <= 2


@pytest.mark.parametrize("d", [d for d in DIMENSIONS if d.panel or d.param], ids=lambda d: d.name)
async def test_shown_on_the_dashboard_and_clickable(instance: Instance, world: Any, d: Dimension) -> None:
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    value = value_of(await rows(instance, world, d.name))
    base = f"/sites/{DOMAIN}?period=custom&from=2026-03-02&to=2026-03-02"
    shown_under = next((p for p in DIMENSIONS if p.drill == d.name), None)
    if d.panel is not None:
        assert d.panel in PANEL_TITLES
        page = DashboardPage((await client.get(f"{base}&tab_{d.panel}={d.tab}")).text)
        labels = [row[0] for row in page.table(d.tab or "")]
        shown = display(d.name, value)
        assert shown in labels, (d.name, labels)
    elif shown_under is not None:  # a drill-down: its tab shows once the coarser dimension is filtered
        parent_value = value_of(await rows(instance, world, shown_under.name))
        tab = f"tab_{shown_under.panel}={shown_under.tab}"
        page = DashboardPage((await client.get(f"{base}&{shown_under.param}={parent_value}&{tab}")).text)
        assert page.table(shown_under.tab or ""), d.name
    if d.param is not None:
        page = DashboardPage((await client.get(f"{base}&{d.param}={value}")).text)
        assert any(display(d.name, value) in chip for chip in page.chips), (d.name, page.chips)
    await client.aclose()


@pytest.mark.parametrize("d", [d for d in DIMENSIONS if d.export], ids=lambda d: d.name)
async def test_exported_and_imported_back(instance: Instance, world: Any, d: Dimension) -> None:
    assert d.export is not None
    report, column = d.export
    data = b"".join([c async for c in export.iter_zip(instance.store, world, DAY, DAY)])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read(f"imported_{report}.csv").decode()
    header, *lines = text.strip().split("\r\n")
    assert column in header.split(","), header
    native = await rows(instance, world, d.name)
    assert value_of(native) in text

    # Into a fresh site, with imports included the same breakdown comes back.
    target = await instance.accounts.sites.add("copy.example.org", "Europe/Zurich")
    await import_csv(instance.store, target, io.BytesIO(data), label="export.zip")
    body = {"site_id": target.domain, "metrics": ["visitors"], "date_range": ["2026-03-02", "2026-03-02"],
            "dimensions": [d.name], "include": {"imports": True}}  # fmt: skip
    result = await stats_run.run(instance.store, parse(body, target, instance.clock.utcnow()))
    assert result.meta["imports_included"] is True, result.meta
    back = {dims[0]: m[0] for dims, m in result.rows}
    assert back[value_of(native)] == dict(native)[value_of(native)][0], (back, native)


def test_every_stored_dimension_is_disclosed() -> None:
    lines = catalog.disclosure_lines()
    assert all(d.disclosure in lines for d in DIMENSIONS)
    assert any("language" in line for line in lines)


async def test_the_disclosure_page_tells_each_line(instance: Instance, world: Any) -> None:
    async with instance.client() as anon:
        page = html.unescape((await anon.get(f"/privacy/{DOMAIN}")).text)
    for line in catalog.disclosure_lines():
        assert line in page, line


# -- visit:language ------------------------------------------------------------------------------


async def test_language_keeps_only_the_primary_code(instance: Instance, world: Any) -> None:
    assert await rows(instance, world, "visit:language") == [("de", (1, 1)), ("fr", (1, 1))]
    # Nothing else of the header reaches the database: no region, no second choice.
    raw = b"".join(p.read_bytes() for p in instance.data_dir.glob("analytics.db*"))
    assert b"de-CH" not in raw and b"fr-FR" not in raw


async def test_missing_or_invalid_header_gives_no_language(instance: Instance, site: Any) -> None:
    for i, header in enumerate(["", "xx-YY", "*", "en;q=0", "de;q=abc"]):
        instance.clock.set(datetime(2026, 3, 2, 10, i, tzinfo=UTC))
        body = {"n": "pageview", "d": "blog.example.org", "u": f"https://blog.example.org/{i}"}
        r = await instance.send(body, ip=f"203.0.113.{i + 1}", **({"Accept-Language": header} if header else {}))
        assert r.status_code == 202
    instance.clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    assert await rows(instance, site, "visit:language") == [("", (5, 5))]


async def test_language_in_the_api_and_its_openapi_enum(instance: Instance, world: Any) -> None:
    document = (await instance.client().get("/api/openapi.json")).json()
    assert "visit:language" in document["components"]["schemas"]["VisitDimension"]["enum"]
    assert BY_NAME["visit:language"].rollup == "rollup_languages"


async def test_languages_tab_shows_names(instance: Instance, world: Any) -> None:
    client: httpx.AsyncClient = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    page = DashboardPage((await client.get(f"/sites/{DOMAIN}?period=custom&from=2026-03-02&to=2026-03-02"
                                           "&tab_locations=languages")).text)  # fmt: skip
    assert page.table("languages") == [["German", "1", "50%"], ["French", "1", "50%"]]
    await client.aclose()
