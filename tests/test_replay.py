"""Events read back for `store copy` (analytics/store/sqlite/replay.py and the ClickHouse twin): in time
order, in pages, each with its visit's attributes and visitor id, on both backends."""

from __future__ import annotations

from typing import Any

from conftest import Instance
from test_roundtrip import ingest

from analytics.store.sqlite import replay


async def test_replay_pages_through_every_event_in_time_order(any_instance: Instance) -> None:
    site = await any_instance.accounts.sites.add("blog.example.org", "Europe/Zurich")
    await ingest(any_instance)
    pages: list[Any] = [p async for p in any_instance.store.replay(site, page=4)]
    events = [e for p in pages for e in p]
    assert len(events) == 26 and all(len(p) <= 5 for p in pages)  # ClickHouse ends a page after a whole second
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    first = events[0]
    assert (first.name, first.hostname, first.path, first.attrs.source, first.attrs.country) == (
        "pageview", "blog.example.org", "/", "LinkedIn", "CH",
    )  # fmt: skip
    engagement = next(e for e in events if e.name == "engagement")
    assert (engagement.scroll_depth, engagement.engaged_ms, engagement.attrs.source) == (70, 40000, "LinkedIn")
    # Engagements carry their page's word count, so the target of a copy decides reads as the source did.
    engagements = [(e.path, e.scroll_depth, e.words, e.read_scroll, e.read_share) for e in events
                   if e.name == "engagement"]  # fmt: skip
    assert engagements == [("/posts/a", 70, None, 75, 30), ("/posts/a", 100, None, 75, 30),
                           ("/posts/a", 80, 200, 75, 30), ("/posts/a", 50, None, 75, 30)]  # fmt: skip
    # Every event of a visit carries the visit's visitor id, even after the salt rotated.
    assert len({e.visitor_id for e in events if e.attrs.source == "Bing"}) == 1
    assert replay.replay is not None
