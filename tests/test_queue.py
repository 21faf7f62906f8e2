"""The write queue both stores share (analytics/store/queue.py): all-or-nothing acceptance, batches, STOP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from analytics.model import Event, QueueFull, SessionAttrs
from analytics.store import queue


def event(n: int) -> Event:
    return Event(site_id=1, ts=n, day=0, visitor_id=n, prev_visitor_id=None, name="pageview", hostname="h",
                 path=f"/{n}", attrs=SessionAttrs())  # fmt: skip


async def test_a_request_goes_on_whole_or_not_at_all() -> None:
    q: asyncio.Queue[Any] = asyncio.Queue(maxsize=3)
    first = asyncio.ensure_future(queue.enqueue(q, [event(1), event(2)]))
    await asyncio.sleep(0)
    with pytest.raises(QueueFull):
        await queue.enqueue(q, [event(3), event(4)])  # room for one of two: neither is accepted
    queued = [q.get_nowait() for _ in range(q.qsize())]
    assert [e.ts for e, _ in queued] == [1, 2, 3]
    assert [f.cancelled() for _, f in queued] == [False, False, True]  # the writer skips the refused one
    for ok, (_, fut) in zip((True, False), queued, strict=False):
        fut.set_result(ok)
    assert await first == [True, False]


async def test_batches_take_what_is_queued_up_to_their_size_and_stop_after_it() -> None:
    q: asyncio.Queue[Any] = asyncio.Queue()
    for n in range(5):
        q.put_nowait(n)
    q.put_nowait(queue.STOP)
    assert await queue.next_batch(q, 3, 0) == ([0, 1, 2], False)
    assert await queue.next_batch(q, 3, 0) == ([3, 4], True)  # what came before STOP is still written
    q.put_nowait(queue.STOP)
    assert await queue.next_batch(q, 3, 0) == ([], True)


async def test_a_batch_waits_once_for_more() -> None:
    q: asyncio.Queue[Any] = asyncio.Queue()
    q.put_nowait("a")
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, q.put_nowait, "b")  # arrives while the batch waits its batch_ms
    loop.call_later(0.5, q.put_nowait, "c")  # too late: the next batch's
    assert await queue.next_batch(q, 10, 100) == (["a", "b"], False)
    assert await queue.next_batch(q, 10, 0) == (["c"], False)
