"""Downloads of a dashboard view (issue 14 item 3): the export follows the range and the
filters and names them in its file name, and each panel downloads alone as CSV.

Data: web_support's hand-counted site (today is Mar 2 in Zurich). Filtered to
source = Google, today holds V1 (CH, / -> /blog/a with 20 s engaged and 50 %
scroll, 60 s, no bounce) and V4 (FR, /blog/b then an outbound click, 60 s, no
bounce): 2 visitors, 2 visits, 3 pageviews, 1.5 views per visit, 0 % bounce,
60 s per visit; both referred by google.com.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import datetime
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DOMAIN, NOW, UA, event, local, seed, setup_admin

from analytics.transfer.imports import ImportFileError, members
from analytics.transfer.slots import ExportSlots
from analytics.web import downloads
from analytics.web.reports import Column, Tab

DASH = f"/sites/{DOMAIN}"


@pytest.fixture
async def seeded(instance: Instance, site: Any) -> Any:
    async def send(when: datetime, body: dict[str, Any], ip: str, ua: str) -> None:
        instance.clock.set(when)
        r = await instance.send(body, ip=ip, ua=ua)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers, (body, r.text)

    await seed(send)
    # A hostile campaign name, to see neutralisation in a panel's CSV: V6 (DE) at 09:00 today.
    await send(local(2, 9, 0), event("pageview", "/?utm_source=x&utm_campaign=%3D1%2B2"), "217.0.0.9", UA["ios"])
    instance.clock.set(NOW)
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    yield client
    await client.aclose()


def unzip(data: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name).decode().split("\r\n") for name in zf.namelist()}


def attachment(r: httpx.Response) -> str:
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    return disposition.split('"')[1]


async def test_the_export_link_carries_the_view(seeded: httpx.AsyncClient) -> None:
    page = await seeded.get(f"{DASH}?period=today&source=Google")
    assert f'href="{DASH}/export?period=today&amp;source=Google"' in page.text
    assert f'href="{DASH}/panels/pages.csv?period=today&amp;source=Google&amp;tab_pages=pages"' in page.text


async def test_filtered_export_exact_contents(seeded: httpx.AsyncClient) -> None:
    r = await seeded.get(f"{DASH}/export?period=today&source=Google")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip", r.text[-600:]
    assert attachment(r) == "blog.example.org_2026-03-02_2026-03-02_source-Google.zip"
    files = unzip(r.content)
    assert not [name for name in files if name.startswith("imported_")]  # not history: no import takes it
    assert files["visitors.csv"] == [
        "date,visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration",
        "2026-03-02,2,2,3,1.5,0,60",
        "",
    ]
    # With a source chosen, the sources panel drills down into its referrers, as on the dashboard.
    # Readers and the reader rate (readers ÷ visitors, as the panel derives it) sit beside visitors.
    assert files["sources.csv"] == [
        "referrer,visitors,readers,reader_rate,bounce_rate,visit_duration", "google.com,2,0,0,0,60", ""]
    assert files["pages.csv"] == [
        "page,visitors,pageviews,time_on_page,scroll_depth,reads,read_rate",
        "/,1,1,0,,0,0.0",
        "/blog/a,1,1,20,50,0,0.0",
        "/blog/b,1,1,0,,0,0.0",
        "",
    ]
    assert files["entry.csv"] == ["entry_page,visitors,visits,bounce_rate", "/,1,1,0", "/blog/b,1,1,0", ""]
    assert files["countries.csv"] == ["country,visitors,percentage", "Switzerland,1,50.0", "France,1,50.0", ""]  # as the panel shows them
    assert files["outbound.csv"] == ["url,visitors,events", "https://example.com/x,1,1", ""]
    assert files["utm_campaign.csv"] == ["utm_campaign,visitors,readers,reader_rate,bounce_rate,visit_duration", ""]

    # A subset of visits is not history: the import refuses it rather than take it for complete days.
    with pytest.raises(ImportFileError, match="holds no Plausible CSV export files"):
        members(io.BytesIO(r.content), "view.zip")


async def test_unfiltered_export_keeps_plausibles_layout(seeded: httpx.AsyncClient) -> None:
    r = await seeded.get(f"{DASH}/export?period=today")
    assert r.status_code == 200 and attachment(r) == "blog.example.org_2026-03-02_2026-03-02.zip"
    files = unzip(r.content)
    assert list(files)[:2] == ["imported_visitors.csv", "imported_sources.csv"]
    assert files["imported_visitors.csv"][:2] == ["date,visitors,pageviews,bounces,visits,visit_duration",
                                                  "2026-03-02,5,6,2,5,180"]  # fmt: skip


async def test_a_panel_alone_as_csv(seeded: httpx.AsyncClient) -> None:
    r = await seeded.get(f"{DASH}/panels/pages.csv?period=today&source=Google&tab_pages=exit")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert attachment(r) == "blog.example.org_2026-03-02_2026-03-02_source-Google_exit.csv"
    assert r.text.split("\r\n") == ["exit_page,visitors,visits", "/blog/a,1,1", "/blog/b,1,1", ""]

    r = await seeded.get(f"{DASH}/panels/sources.csv?period=today&tab_sources=utm_campaign")
    assert attachment(r) == "blog.example.org_2026-03-02_2026-03-02_utm_campaign.csv"
    # A campaign a visitor named "=1+2" is text to a spreadsheet, never a formula.
    assert r.text.split("\r\n") == ["utm_campaign,visitors,readers,reader_rate,bounce_rate,visit_duration",
                                    "'=1+2,1,0,0,100,0", "march,1,0,0,0,60", ""]  # fmt: skip

    r = await seeded.get(f"{DASH}/panels/nope.csv?period=today")
    assert r.status_code == 404 and "There is no such panel." in r.text


async def test_downloads_need_a_member(instance: Instance, seeded: httpx.AsyncClient) -> None:
    async with instance.client(ip="10.1.1.1") as stranger:
        for path in (f"{DASH}/export?period=today", f"{DASH}/panels/pages.csv?period=today"):
            r = await stranger.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_a_third_export_waits_then_gets_a_429(instance: Instance, seeded: httpx.AsyncClient) -> None:
    slots = instance.app.state.export_slots = ExportSlots(limit=2, wait=0.2)
    await slots.take()
    await slots.take()  # two exports are running
    r = await seeded.get(f"{DASH}/export?period=today")
    assert r.status_code == 429 and r.headers["retry-after"] == "30"
    assert "2 exports are already running; try again in 30 seconds." in r.text
    r = await seeded.get(f"{DASH}/export?period=today&source=Google")
    assert r.status_code == 429

    # One that waits gets the slot as soon as one is given back.
    waiting = asyncio.create_task(seeded.get(f"{DASH}/export?period=today"))
    await asyncio.sleep(0.05)
    slots.give()
    r = await waiting
    assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.content)).testzip() is None
    assert slots.taken == 1  # the download gave its slot back when it ended
    slots.give()
    r = await seeded.get(f"{DASH}/export?period=today&source=Google")
    assert r.status_code == 200 and slots.taken == 0


def test_a_tabs_header_names_its_dimension_then_its_metrics() -> None:
    tab = Tab("prop:author", "Property: author", "event:props:author", "prop.author",
              (Column("events", "Events"), Column("visitors", "Visitors")))  # fmt: skip
    assert downloads.tab_metrics(tab) == ["visitors", "events"]
    assert downloads.tab_header(tab) == ["author", "visitors", "events"]
