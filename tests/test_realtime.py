"""Current visitors and the live view's last 30 minutes (analytics/stats/realtime.py), exact to the second.

The bug this guards against: current visitors were read from 15-minute rollup
buckets, so after each boundary the previous bucket's count showed for five
minutes and then 0 for ten. Here visits straddle the 09:15 UTC boundary and the
same number is read at each instant from every place that shows it: the store,
the dashboard, its refresh endpoint, the live view and Plausible's v1 API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from conftest import Instance
from web_support import EMAIL, UA, setup_admin

from analytics.stats import realtime

DOMAIN = "blog.example.org"


def utc(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, ss, tzinfo=UTC)


def body(name: str, path: str, ref: str | None = None) -> dict[str, object]:
    return {"n": name, "u": f"https://{DOMAIN}{path}", "d": DOMAIN, "r": ref}


# (UTC time, event, client address, user agent): A and B before the 09:15 boundary, C after it.
EVENTS = [
    (utc(9, 13), body("pageview", "/", "https://www.google.com/"), "195.186.0.1", UA["win"]),  # A
    (utc(9, 14, 30), body("pageview", "/blog/a"), "217.0.0.1", UA["ios"]),  # B
    (utc(9, 16), body("pageview", "/blog/a", "https://www.linkedin.com/"), "8.8.8.8", UA["linux"]),  # C
    (utc(9, 16, 20), body("pageview", "/blog/b"), "8.8.8.8", UA["linux"]),  # C again
    (utc(9, 17), {**body("engagement", "/"), "sd": 40, "e": 5000}, "195.186.0.1", UA["win"]),  # A, still reading
]


@pytest.fixture
async def world(instance: Instance, site: object) -> tuple[Instance, httpx.AsyncClient, str]:
    for when, event, ip, ua in EVENTS:
        instance.clock.set(when)
        r = await instance.send(event, ip=ip, ua=ua)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    key = await instance.accounts.keys.add(EMAIL)
    return instance, client, key


async def everywhere(instance: Instance, client: httpx.AsyncClient, key: str) -> set[str]:
    """Current visitors as the store, the dashboard, its refresh, the live view and the v1 API say it."""
    site = await instance.accounts.sites.get(DOMAIN)
    now = datetime.fromtimestamp(instance.clock.now(), UTC)
    store = str(await realtime.current_visitors(instance.store, site, now))
    page = (await client.get(f"/sites/{DOMAIN}?period=today")).text
    shown = re.search(r'<output id="realtime"[^>]*>([^<]*)</output>', page)
    assert shown is not None
    refresh = (await client.get(f"/sites/{DOMAIN}/realtime")).json()["text"]
    live = (await client.get(f"/sites/{DOMAIN}/live/data")).json()["current"]
    api = await client.get(
        f"/api/v1/stats/realtime/visitors?site_id={DOMAIN}", headers={"Authorization": f"Bearer {key}"}
    )
    assert api.status_code == 200 and api.headers["content-type"] == "application/json"
    return {store, shown.group(1), refresh, live, api.text}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(9, 14, 59), "2"),  # A and B, before the boundary
        (utc(9, 15, 10), "2"),  # just after it: still A and B
        (utc(9, 16, 30), "3"),  # A, B, C (C's two pageviews are one visitor)
        (utc(9, 18, 5), "3"),  # A's 09:13 pageview is past, but its 09:17 engagement is not
        (utc(9, 19, 30), "3"),  # B's 09:14:30 is exactly five minutes old: it still counts
        (utc(9, 19, 31), "2"),
        (utc(9, 21, 20), "2"),  # C's 09:16:20 pageview is exactly five minutes old
        (utc(9, 22, 0), "1"),  # A's engagement at 09:17 is exactly five minutes old
        (utc(9, 22, 1), "0"),  # everybody's last event is older than five minutes
        (utc(9, 30, 0), "0"),
    ],
)
async def test_current_visitors_are_exact_across_a_bucket_boundary(
    world: tuple[Instance, httpx.AsyncClient, str], at: datetime, expected: str
) -> None:
    instance, client, key = world
    instance.clock.set(at)
    assert await everywhere(instance, client, key) == {expected}


async def test_live_view_counts_the_last_30_minutes_per_minute(world: tuple[Instance, httpx.AsyncClient, str]) -> None:
    instance, client, _ = world
    site = await instance.accounts.sites.get(DOMAIN)
    instance.clock.set(utc(9, 20, 30))
    live = await realtime.live(instance.store, site, utc(9, 20, 30))
    assert (live.current, live.visitors, live.pageviews) == (2, 3, 4)
    assert len(live.minutes) == 30
    assert (live.minutes[0].start, live.minutes[-1].start) == (utc(8, 51), utc(9, 20))
    busy = {m.start: (m.visitors, m.pageviews) for m in live.minutes if m.visitors}
    assert busy == {utc(9, 13): (1, 1), utc(9, 14): (1, 1), utc(9, 16): (1, 2), utc(9, 17): (1, 0)}
    assert live.pages == [("/blog/a", 2), ("/", 1), ("/blog/b", 1)]
    assert live.sources == [("Direct / None", 1), ("Google", 1), ("LinkedIn", 1)]

    data = (await client.get(f"/sites/{DOMAIN}/live/data")).json()
    assert (data["now"], data["current"], data["visitors"], data["pageviews"]) == ("10:20:30", "2", "3", "4")
    assert [m["label"] for m in data["minutes"]][-3:] == ["10:18", "10:19", "10:20"]  # Zurich time
    assert [(m["label"], m["visitors"], m["pageviews"], m["bar"]) for m in data["minutes"] if m["visitors"]] == [
        ("10:13", 1, 1, 100.0), ("10:14", 1, 1, 100.0), ("10:16", 1, 2, 100.0), ("10:17", 1, 0, 100.0),
    ]  # fmt: skip
    assert [(r["label"], r["visitors"]) for r in data["sources"]] == [("Direct / None", 1), ("Google", 1),
                                                                     ("LinkedIn", 1)]  # fmt: skip
    assert [(r["label"], r["visitors"]) for r in data["pages"]] == [("/blog/a", 2), ("/", 1), ("/blog/b", 1)]

    # An hour later the window is empty: zeros, not the last figures.
    instance.clock.set(utc(10, 20))
    later = (await client.get(f"/sites/{DOMAIN}/live/data")).json()
    assert (later["current"], later["visitors"], later["pageviews"], later["pages"], later["sources"]) == (
        "0", "0", "0", [], [],
    )  # fmt: skip
    assert {m["visitors"] for m in later["minutes"]} == {0}
