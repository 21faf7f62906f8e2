"""The scripted fixture (issue 3 item 8): sessions sent through /api/event, checked
against numbers computed by hand in the comments below.

Site blog.example.org, Europe/Zurich (UTC+1 in March 2026). Times are local.

Visitors (IP + user agent):
  A  Chrome 131 / Windows, 195.186.0.1 (CH), width 1280 (Laptop)
  B  Safari 18 / iOS, 217.0.0.1 (DE), width 390 (Mobile)
  C  Safari 18 / macOS, 8.8.8.8 (US), width 1600 (Desktop)
  D  Chrome 131 / Android, 90.0.0.1 (FR), width 412 (Mobile)

Visits (a visit and its visitor belong to the day the visit started):
  A1 Mar 2 10:00  /posts/a (LinkedIn) -> engagement sd 80, 30 s -> SPA /posts/b at 10:01
                  -> engagement sd 40, 20 s at 10:03.     2 pv, duration 60, no bounce
  B1 Mar 2 10:05  /posts/a ?utm_source=newsletter&utm_medium=email&utm_campaign=march
                  -> engagement sd 100, 50 s.             1 pv, bounce, duration 0
  A2 Mar 2 11:00  /posts/c (Google), 57 min after A's last event -> new visit;
                  Signup (interactive, plan=pro) at 11:00:30. 1 pv, duration 30, no bounce
  C1 Mar 2 23:50  /posts/a (direct) -> Outbound Link: Click 00:15 -> /posts/b 00:40
                  -> /posts/c 01:05 (= 00:05 UTC, after the salt rotated: continues on
                  yesterday's id). Crosses both midnights. 3 pv, duration 4500, no bounce
                  -> engagement on /posts/c at 01:06, sd 100, 60 s.
  B2 Mar 3 09:00  /posts/b (Xing) -> /posts/a 09:02 -> engagement sd 60, 10 s.
                  New day, new salt: B is a new visitor. 2 pv, duration 120, no bounce
  D1 Mar 3 12:00  /posts/a (t.co -> Twitter). 1 pv, bounce
  D2 Mar 3 12:40  /posts/a (direct), 40 min later -> new visit. 1 pv, bounce
                  -> engagement sd 90, 12 s at 12:41.
Dropped: a Googlebot pageview, a DNT: 1 pageview, a spam-referrer pageview, and an
engagement event for a visitor without a visit.

Reads (issue 13). The tracker sends each page's length: /posts/a 300 words,
/posts/b 900, /posts/c 200. A read needs 75 % scroll and max(10 s, 30 % of the
reading time at 230 wpm): /posts/a 23.5 s, /posts/b 70.4 s, /posts/c 15.7 s.
  A1 /a  80 %, 30 s: read (Mar 2)     A1 /b  40 %: not read
  B1 /a 100 %, 50 s: read (Mar 2)     B2 /a  60 %: not read
  C1 /c 100 %, 60 s: read (the event on Mar 3; the visit, and its reader, Mar 2)
  D2 /a  90 %, 12 s: read (Mar 3; 12 s < 23.5 s, but the page's length was not sent: the 10 s minimum)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Instance, store_url

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.stats.plan import plan

UA = {
    "A": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "B": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "C": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "D": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}
IP = {"A": "195.186.0.1", "B": "217.0.0.1", "C": "8.8.8.8", "D": "90.0.0.1"}
WIDTH = {"A": 1280, "B": 390, "C": 1600, "D": 412}
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HOST = "https://blog.example.org"
SPAM = "01casino-x.ru"  # first entry of the shipped spam list


def local(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    """March `day`, local Zurich time (UTC+1) as a UTC datetime."""
    return datetime(2026, 3, day, hh - 1, mm, ss, tzinfo=UTC) if hh >= 1 else datetime(2026, 3, day - 1, 23, mm, ss, tzinfo=UTC)


async def hit(inst: Instance, when: datetime, who: str, name: str, path: str, ref: str | None = None, status: int = 202, dropped: bool = False, headers: dict[str, str] | None = None, ua: str | None = None, **extra: Any) -> None:
    inst.clock.set(when)
    body: dict[str, Any] = {"n": name, "u": HOST + path, "d": "blog.example.org", "r": ref, "w": WIDTH[who], **extra}
    r = await inst.send(body, ip=IP[who], ua=ua or UA[who], **(headers or {}))
    assert r.status_code == status, r.text
    assert (r.headers.get("x-analytics-dropped") == "1") is dropped, (path, r.headers)


async def ingest(inst: Instance) -> None:
    await hit(inst, local(2, 10, 0), "A", "pageview", "/posts/a", "https://www.linkedin.com/feed/")
    await hit(inst, local(2, 10, 0, 40), "A", "engagement", "/posts/a", sd=80, e=30000, wc=300)
    await hit(inst, local(2, 10, 1), "A", "pageview", "/posts/b", "https://www.linkedin.com/feed/")
    await hit(inst, local(2, 10, 3), "A", "engagement", "/posts/b", sd=40, e=20000, wc=900)
    await hit(inst, local(2, 10, 5), "B", "pageview", "/posts/a?utm_source=newsletter&utm_medium=email&utm_campaign=march")
    await hit(inst, local(2, 10, 5, 50), "B", "engagement", "/posts/a", sd=100, e=50000, wc=300)
    await hit(inst, local(2, 11, 0), "A", "pageview", "/posts/c", "https://www.google.com/")
    await hit(inst, local(2, 11, 0, 30), "A", "Signup", "/posts/c", p={"plan": "pro"})
    # Dropped on purpose: a crawler, an opt-out signal, a spam referrer, an orphan engagement.
    await hit(inst, local(2, 12, 0), "A", "pageview", "/posts/a", dropped=True, ua=BOT)
    await hit(inst, local(2, 12, 1), "C", "pageview", "/posts/a", dropped=True, headers={"DNT": "1"})
    await hit(inst, local(2, 12, 2), "C", "pageview", "/posts/a", "https://" + SPAM + "/", dropped=True)
    await hit(inst, local(2, 12, 3), "D", "engagement", "/posts/a", dropped=True, sd=10, e=1000)
    await hit(inst, local(2, 23, 50), "C", "pageview", "/posts/a")
    await hit(inst, local(3, 0, 15), "C", "Outbound Link: Click", "/posts/a", p={"url": "https://example.com/x"})
    await hit(inst, local(3, 0, 40), "C", "pageview", "/posts/b")
    await hit(inst, local(3, 1, 5), "C", "pageview", "/posts/c")
    await hit(inst, local(3, 1, 6), "C", "engagement", "/posts/c", sd=100, e=60000, wc=200)
    await hit(inst, local(3, 9, 0), "B", "pageview", "/posts/b", "https://www.xing.com/")
    await hit(inst, local(3, 9, 2), "B", "pageview", "/posts/a", "https://www.xing.com/")
    await hit(inst, local(3, 9, 3), "B", "engagement", "/posts/a", sd=60, e=10000, wc=300)
    await hit(inst, local(3, 12, 0), "D", "pageview", "/posts/a", "https://t.co/abc")
    await hit(inst, local(3, 12, 40), "D", "pageview", "/posts/a")
    await hit(inst, local(3, 12, 41), "D", "engagement", "/posts/a", sd=90, e=12000)


@pytest.fixture(params=["sqlite-recent", "sqlite-rolled", "chdb", "chdb-rolled"])
async def fixture(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Instance]:
    """Every test runs on each backend (SQLite, ClickHouse through chDB) twice: on fresh
    15-minute rollups, and a week later, when Mar 2-3 have been summed into the daily
    tier. The expected numbers are the same."""
    backend = "chdb" if request.param.startswith("chdb") else "sqlite"
    data_dir = tmp_path / "data"
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = create_app(Settings(data_dir=str(data_dir), store=store_url(backend, data_dir), batch_ms=0.5), clock)
    async with app.router.lifespan_context(app):
        instance = Instance(app, clock, data_dir)
        await instance.accounts.sites.add("blog.example.org", "Europe/Zurich")
        await ingest(instance)
        instance.clock.set(local(3, 18, 0))
        if backend == "sqlite":
            await _roll(instance, request.param == "sqlite-rolled")
        else:
            await _roll_chdb(instance, request.param == "chdb-rolled")
        yield instance


async def _roll_chdb(instance: Instance, rolled: bool) -> None:
    from analytics.store.clickhouse import chdays

    sites = await instance.accounts.sites.all()
    assert await instance.store.roll_days(instance.clock.now(), sites) == 0  # nothing has settled yet
    if rolled:
        instance.clock.set(local(10, 12, 0))
        assert await instance.store.roll_days(instance.clock.now(), sites) == 6  # Mar 2-7
        assert await chdays.tiers(instance.store.conn, sites) == {sites[0].id: (date(2026, 3, 7) - date(1970, 1, 1)).days}
        assert (await instance.store.conn.rows("SELECT count() FROM rollup_pages_day"))[0][0] > 0


async def _roll(instance: Instance, rolled: bool) -> None:
    sites = await instance.accounts.sites.all()
    assert await instance.store.roll_days(instance.clock.now(), sites) == 0  # nothing has settled yet
    if rolled:
        instance.clock.set(local(10, 12, 0))
        await instance.store.roll_days(instance.clock.now(), sites)
        rows = await instance.store.fetchall("SELECT timezone, through_day FROM rollup_days")
        assert rows == [("Europe/Zurich", (date(2026, 3, 7) - date(1970, 1, 1)).days)]
        assert (await instance.store.fetchall("SELECT COUNT(*) FROM rollup_pages_day"))[0][0] > 0
        # And per channel, source and campaign (store/sqlite/splits.py): a filter on one of them reads these.
        await instance.store.roll_segments(instance.clock.now(), sites)
        rows = await instance.store.fetchall("SELECT timezone, through_day FROM segment_days")
        assert rows == [("Europe/Zurich", (date(2026, 3, 7) - date(1970, 1, 1)).days)]
        assert (await instance.store.fetchall("SELECT COUNT(DISTINCT seg) FROM rollup_pages_seg")) == [(3,)]


async def query(inst: Instance, raw: bool, **body: Any) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    site = await inst.accounts.sites.get("blog.example.org")
    body.setdefault("date_range", ["2026-03-02", "2026-03-03"])
    q = parse(body, site, inst.clock.utcnow())
    result = await stats_run.run(inst.store, q, raw=raw)
    if not raw and not q.filters and not any(d.startswith(("event:props", "event:name")) for d in q.dimensions):
        assert plan(q).rollup is not None, f"unfiltered query did not use rollups: {body}"
    return result.rows


both_plans = pytest.mark.parametrize("raw", [False, True], ids=["rollups", "raw"])


@both_plans
async def test_top_stats(fixture: Instance, raw: bool) -> None:
    metrics = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
               "events", "time_on_page", "scroll_depth"]  # fmt: skip
    rows = await query(fixture, raw, metrics=metrics)
    # visitors A, B(day 1), C, B(day 2), D = 5; visits 7; pageviews 2+1+1+3+2+1+1 = 11;
    # 11/7 = 1.57; bounces B1, D1, D2 = 3/7 = 43 %; duration (60+0+30+4500+120+0+0)/7 = 673;
    # events Signup + Outbound = 2; engaged 30+20+50+60+10+12 = 182 s over 11 page visits = 17 s;
    # scroll (80+40+100+100+60+90)/6 = 78.
    assert rows == [((), (5, 7, 11, 1.57, 43, 673, 2, 17, 78))]


@both_plans
async def test_per_day(fixture: Instance, raw: bool) -> None:
    rows = await query(fixture, raw, metrics=["visitors", "visits", "pageviews", "bounce_rate"], dimensions=["time:day"])
    # Mar 2: A, B, C; A1 B1 A2 C1; pageviews 2+1+1+1; B1 bounced -> 25 %.
    # Mar 3: B(new id), D (C's visit began on Mar 2); B2 D1 D2; C1's 2 late + 2 + 1 + 1; 2/3 -> 67 %.
    assert rows == [(("2026-03-02",), (3, 4, 5, 25)), (("2026-03-03",), (2, 3, 6, 67))]


@both_plans
async def test_top_pages(fixture: Instance, raw: bool) -> None:
    rows = await query(fixture, raw, metrics=["visitors", "visits", "pageviews", "time_on_page", "scroll_depth"],
                       dimensions=["event:page"])  # fmt: skip
    # /posts/a: viewed in A1 B1 C1 B2 D1 D2; visitors A B C B' D; engaged 30+50+10+12 = 102 s / 6 = 17;
    #           scroll (80+100+60+90)/4 = 82.5, rounded half to even: 82
    # /posts/b: A1 C1 B2; 20 s / 3 = 7; scroll 40.  /posts/c: A2 C1; 60 s / 2 = 30; scroll 100.
    assert rows == [
        (("/posts/a",), (5, 6, 6, 17, 82)),
        (("/posts/b",), (3, 3, 3, 7, 40)),
        (("/posts/c",), (2, 2, 2, 30, 100)),
    ]


@both_plans
async def test_entry_and_exit_pages(fixture: Instance, raw: bool) -> None:
    entry = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:entry_page"])
    # entries: /a in A1 B1 C1 D1 D2 (visitors A B C D), /b in B2, /c in A2
    assert entry == [(("/posts/a",), (4, 5)), (("/posts/b",), (1, 1)), (("/posts/c",), (1, 1))]
    exits = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:exit_page"])
    # exits: /a in B1 B2 D1 D2 (visitors B B' D), /c in A2 C1, /b in A1
    assert exits == [(("/posts/a",), (3, 4)), (("/posts/c",), (2, 2)), (("/posts/b",), (1, 1))]


@both_plans
async def test_sources_and_channels(fixture: Instance, raw: bool) -> None:
    sources = await query(fixture, raw, metrics=["visitors", "visits", "bounce_rate"], dimensions=["visit:source"])
    assert sources == [
        (("Direct / None",), (2, 2, 50)),  # C1, D2 (bounced)
        (("Google",), (1, 1, 0)),
        (("LinkedIn",), (1, 1, 0)),
        (("Twitter",), (1, 1, 100)),
        (("Xing",), (1, 1, 0)),
        (("newsletter",), (1, 1, 100)),
    ]
    channels = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:channel"])
    assert channels == [
        (("Organic Social",), (3, 3)),  # A1 LinkedIn, B2 Xing, D1 Twitter
        (("Direct",), (2, 2)),
        (("Email",), (1, 1)),
        (("Organic Search",), (1, 1)),
    ]
    campaigns = await query(fixture, raw, metrics=["visitors"], dimensions=["visit:utm_campaign"])
    assert campaigns == [(("",), (4,)), (("march",), (1,))]


@both_plans
async def test_countries_browsers_devices(fixture: Instance, raw: bool) -> None:
    countries = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:country"])
    assert countries == [(("DE",), (2, 2)), (("CH",), (1, 2)), (("FR",), (1, 2)), (("US",), (1, 1))]
    browsers = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:browser"])
    assert browsers == [(("Safari",), (3, 3)), (("Chrome",), (2, 4))]
    devices = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:device"])
    assert devices == [(("Mobile",), (3, 4)), (("Desktop",), (2, 3))]
    screens = await query(fixture, raw, metrics=["visitors", "visits"], dimensions=["visit:screen"])
    assert screens == [(("Mobile",), (3, 4)), (("Desktop",), (1, 1)), (("Laptop",), (1, 2))]
    oses = await query(fixture, raw, metrics=["visitors"], dimensions=["visit:os", "visit:os_version"])
    assert oses == [(("iOS", "18.6"), (2,)), (("Android", "14"), (1,)), (("Windows", "10"), (1,)), (("macOS", "10.15"), (1,))]


@both_plans
async def test_goals(fixture: Instance, raw: bool) -> None:
    goals = await query(fixture, raw, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"])
    # each goal: 1 visitor of 5 -> 20 %
    assert goals == [(("Outbound Link: Click",), (1, 1, 20.0)), (("Signup",), (1, 1, 20.0))]


async def test_filtered_views(fixture: Instance) -> None:
    linkedin = await query(fixture, False, metrics=["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
                           filters=[["is", "visit:source", ["LinkedIn"]]])  # fmt: skip
    assert linkedin == [((), (1, 1, 2, 0, 60))]
    page_b = await query(fixture, False, metrics=["visitors", "visits", "pageviews"],
                         filters=[["is", "event:page", ["/posts/b"]]])  # fmt: skip
    assert page_b == [((), (3, 3, 3))]  # A1, C1, B2
    social = await query(fixture, False, metrics=["visitors"], dimensions=["visit:source"],
                         filters=[["is", "visit:channel", ["Organic Social"]]])  # fmt: skip
    assert social == [(("LinkedIn",), (1,)), (("Twitter",), (1,)), (("Xing",), (1,))]
    xing = await query(fixture, False, metrics=["visitors", "pageviews", "time_on_page", "scroll_depth"],
                       dimensions=["event:page"], filters=[["is", "visit:source", ["Xing"]]])  # fmt: skip
    # B2 from Xing: /posts/b, then /posts/a read 10 s to 60 % (on SQLite rolled: per-source rollups).
    assert xing == [(("/posts/a",), (1, 1, 10, 60)), (("/posts/b",), (1, 1, 0, None))]
    plan = await query(fixture, False, metrics=["visitors", "events"], dimensions=["event:props:plan"],
                       filters=[["is", "event:goal", ["Signup"]]])  # fmt: skip
    assert plan == [(("pro",), (1, 1))]
    not_direct = await query(fixture, False, metrics=["visits"],
                             filters=[["not", ["is", "visit:source", ["Direct / None"]]], ["contains", "event:page", ["POSTS/C"], {"case_sensitive": False}]])  # fmt: skip
    assert not_direct == [((), (1,))]  # A2 only: C1 also saw /posts/c but is direct


async def test_single_days(fixture: Instance) -> None:
    day1 = await query(fixture, False, metrics=["visitors", "visits", "pageviews"], date_range=["2026-03-02", "2026-03-02"])
    day2 = await query(fixture, False, metrics=["visitors", "visits", "pageviews"], date_range=["2026-03-03", "2026-03-03"])
    assert (day1, day2) == ([((), (3, 4, 5))], [((), (2, 3, 6))])


@both_plans
async def test_reads_in_total_and_per_day(fixture: Instance, raw: bool) -> None:
    rows = await query(fixture, raw, metrics=["reads", "read_rate", "readers", "visitors", "pageviews"])
    # reads A1/a, B1/a, C1/c, D2/a = 4 of 11 pageviews = 36.4 %; readers A, B, C (Mar 2), D (Mar 3)
    assert rows == [((), (4, 36.4, 4, 5, 11))]
    days = await query(fixture, raw, metrics=["reads", "read_rate", "readers"], dimensions=["time:day"])
    # Reads count when they happen, like pageviews: Mar 2 A1 B1 (2 of 5), Mar 3 C1's /c and D2 (2 of 6).
    # Readers belong to the visit's day, like visitors: Mar 2 A B C, Mar 3 D.
    assert days == [(("2026-03-02",), (2, 40.0, 3)), (("2026-03-03",), (2, 33.3, 1))]


@both_plans
async def test_reads_per_page(fixture: Instance, raw: bool) -> None:
    rows = await query(fixture, raw, metrics=["pageviews", "reads", "read_rate", "readers"], dimensions=["event:page"])
    # /a: read in A1, B1, D2 of 6 views; readers A, B (Mar 2), D (Mar 3).  /b: no read.
    # /c: read in C1 of 2 views; its reader counts on the read's day (Mar 3), as a page's visitors do.
    assert rows == [
        (("/posts/a",), (6, 3, 50.0, 3)),
        (("/posts/b",), (3, 0, 0.0, 0)),
        (("/posts/c",), (2, 1, 50.0, 1)),
    ]
    days = await query(fixture, raw, metrics=["reads", "readers"], dimensions=["event:page", "time:day"])
    assert [r for r in days if r[1] != (0, 0)] == [
        (("/posts/a", "2026-03-02"), (2, 2)),
        (("/posts/a", "2026-03-03"), (1, 1)),
        (("/posts/c", "2026-03-03"), (1, 1)),
    ]


@both_plans
async def test_readers_per_source_and_channel(fixture: Instance, raw: bool) -> None:
    sources = await query(fixture, raw, metrics=["visitors", "readers", "reads", "read_rate"],
                          dimensions=["visit:source"])  # fmt: skip
    # Per visit: a visit's reads and pageviews, its reader on the visit's day.
    assert sources == [
        (("Direct / None",), (2, 2, 2, 50.0)),  # C1 (3 pv, read /c) and D2 (1 pv, read)
        (("Google",), (1, 0, 0, 0.0)),
        (("LinkedIn",), (1, 1, 1, 50.0)),  # A1: 2 pv, /a read
        (("Twitter",), (1, 0, 0, 0.0)),
        (("Xing",), (1, 0, 0, 0.0)),
        (("newsletter",), (1, 1, 1, 100.0)),
    ]
    channels = await query(fixture, raw, metrics=["visitors", "readers"], dimensions=["visit:channel"])
    assert channels == [
        (("Organic Social",), (3, 1)),  # A1 LinkedIn read; B2 Xing and D1 Twitter did not
        (("Direct",), (2, 2)),
        (("Email",), (1, 1)),
        (("Organic Search",), (1, 0)),
    ]
    # A column of a wider rollup key (rollup_sources): readers credited per column value.
    media = await query(fixture, raw, metrics=["readers", "reads"], dimensions=["visit:utm_medium"])
    assert media == [(("",), (3, 3)), (("email",), (1, 1))]


async def test_reads_filtered(fixture: Instance) -> None:
    linkedin = await query(fixture, False, metrics=["reads", "readers"], filters=[["is", "visit:source", ["LinkedIn"]]])
    assert linkedin == [((), (1, 1))]
    # Under a page filter, a reader read a matching page: C1 viewed /a but read /c.
    page_a = await query(fixture, False, metrics=["reads", "readers", "visitors"],
                         filters=[["is", "event:page", ["/posts/a"]]])  # fmt: skip
    assert page_a == [((), (3, 3, 5))]
    page_c = await query(fixture, False, metrics=["visitors", "reads", "readers"], dimensions=["visit:source"],
                         filters=[["is", "event:page", ["/posts/c"]]])  # fmt: skip
    assert page_c == [(("Direct / None",), (1, 1, 1)), (("Google",), (1, 0, 0))]  # C1 read /c, A2 did not
