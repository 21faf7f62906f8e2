"""The public disclosure page (analytics/web/disclosure.py): generated from the live settings.

How each setting changes the page is checked end to end in test_web_security.py.
"""

from __future__ import annotations

import dataclasses

from conftest import Instance

from analytics.web.disclosure import disclosure


async def test_an_unknown_site_is_404(instance: Instance) -> None:
    async with instance.client() as client:
        r = await client.get("/privacy/nowhere.example.org")
    assert r.status_code == 404 and "This site is not measured by this service." in r.text
    assert callable(disclosure)


async def test_the_page_states_the_instances_retention(instance: Instance) -> None:
    await instance.accounts.sites.add("blog.example.org")
    settings = instance.app.state.settings
    instance.app.state.settings = dataclasses.replace(settings, retention_months=7)
    async with instance.client() as client:
        r = await client.get("/privacy/blog.example.org")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert "7 months" in r.text and "25 months" not in r.text
