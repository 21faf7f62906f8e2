"""The write queue every store shares: accepted events wait on a bounded queue, one writer takes them in batches.

A request's events go on together or not at all (`enqueue`): when the queue is
full, the futures already queued are cancelled, so the writer skips them and a
multi-site request is never half accepted. The writer gathers a batch
(`next_batch`): it waits for one item, then takes what else is queued, waiting
`batch_ms` once for more, up to `batch_size` (a group commit).
"""

from __future__ import annotations

import asyncio
from typing import Any

from analytics.model import Event, QueueFull

STOP = object()  # queued by `close` after everything already accepted


async def enqueue(queue: asyncio.Queue[Any], events: list[Event]) -> list[bool]:
    """Queue `events`, each with a future the writer resolves (True: stored); QueueFull when there is no room."""
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[bool]] = []
    for event in events:
        fut: asyncio.Future[bool] = loop.create_future()
        try:
            queue.put_nowait((event, fut))
        except asyncio.QueueFull:
            for f in futures:
                f.cancel()  # never half-accept a multi-site event
            raise QueueFull() from None
        futures.append(fut)
    return list(await asyncio.gather(*futures))


async def next_batch(queue: asyncio.Queue[Any], batch_size: int, batch_ms: float) -> tuple[list[Any], bool]:
    """The next batch of queued items, and whether `STOP` came (the batch may still hold items to write)."""
    item = await queue.get()
    if item is STOP:
        return [], True
    batch = [item]
    waited = False
    while len(batch) < batch_size:
        try:
            nxt = queue.get_nowait()
        except asyncio.QueueEmpty:
            if waited or batch_ms <= 0:
                break
            waited = True
            await asyncio.sleep(batch_ms / 1000)
            continue
        if nxt is STOP:
            return batch, True
        batch.append(nxt)
    return batch, False
