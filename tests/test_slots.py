"""Export slots (analytics/transfer/slots.py): a bounded number at once, then a short wait, then a 429."""

from __future__ import annotations

import asyncio

import pytest

from analytics.transfer.slots import ExportsBusy, ExportSlots


async def test_slots_bound_the_exports_at_once() -> None:
    slots = ExportSlots(limit=2, wait=0.05)
    await slots.take()
    async with slots.slot():
        assert slots.taken == 2
        with pytest.raises(ExportsBusy) as busy:
            await slots.take()
        assert busy.value.status == 429 and busy.value.headers == {"Retry-After": "30"}
        assert busy.value.message == "2 exports are already running; try again in 30 seconds."
    assert slots.taken == 1
    await slots.take()
    slots.give()
    slots.give()
    assert slots.taken == 0


async def test_a_waiting_export_gets_the_next_free_slot() -> None:
    slots = ExportSlots(limit=1, wait=5)
    await slots.take()
    waiter = asyncio.create_task(slots.take())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    slots.give()
    await asyncio.wait_for(waiter, 1)
    assert slots.taken == 1
