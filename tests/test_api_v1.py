"""Plausible's v1 realtime endpoint (analytics/api/v1.py): a bare integer, v2's keys, limits and JSON errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from api_support import NOW, SITE, api_user, pageview, running_app

from analytics.api.v1 import REALTIME_PATH

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    assert (r.status_code, r.headers["content-type"], r.json()) == (status, "application/json", {"error": message})


async def test_realtime_visitors_is_a_bare_integer_for_the_keys_own_sites(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", api_rate_limit=0) as instance:
        await instance.accounts.sites.add(SITE, "Europe/Zurich")
        owner = await api_user(instance)
        other = await api_user(instance, "other@example.org")
        other_id = (await instance.accounts.users.get(other.email)).id
        await instance.accounts.sites.add("other.example.net", "UTC", owner=other_id)
        for i, ip in enumerate(("195.186.0.1", "217.0.0.1", "8.8.8.8")):
            instance.clock.set(NOW - timedelta(minutes=9 - 3 * i))  # 9, 6 and 3 minutes ago
            assert (await instance.send(pageview("/"), ip=ip, ua=CHROME)).status_code == 202
        instance.clock.set(NOW)
        async with instance.client() as client:
            r = await client.get(REALTIME_PATH, params={"site_id": SITE}, headers=owner.headers)
            assert (r.status_code, r.headers["content-type"], r.text) == (200, "application/json", "1")
            # A site of another user and an unknown one read the same.
            for site_id in ("other.example.net", "nope.example.org"):
                r = await client.get(REALTIME_PATH, params={"site_id": site_id}, headers=owner.headers)
                assert_error(r, 404, f'Site "{site_id}" not found')
            r = await client.get(REALTIME_PATH, params={"site_id": "other.example.net"}, headers=other.headers)
            assert (r.status_code, r.text) == (200, "0")
            # Four minutes earlier, the first two (exactly five and two minutes old then) count; the third is to come.
            instance.clock.set(NOW - timedelta(minutes=4))
            r = await client.get(REALTIME_PATH, params={"site_id": SITE}, headers=owner.headers)
            assert r.text == "2"


async def test_errors_are_json(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", api_rate_limit=3) as instance:
        await instance.accounts.sites.add(SITE, "Europe/Zurich")
        owner = await api_user(instance)
        async with instance.client() as client:
            assert_error(await client.get(REALTIME_PATH, params={"site_id": SITE}), 401,
                         "Missing API key: send the header Authorization: Bearer <key>")  # fmt: skip
            bad = {"Authorization": "Bearer ak_0000000000000000000000000000000000000000000"}
            assert_error(await client.get(REALTIME_PATH, params={"site_id": SITE}, headers=bad), 401, "Invalid API key")
            r = await client.get(REALTIME_PATH, headers={"Authorization": "Basic x"})
            assert_error(r, 401, "Malformed Authorization header: expected Authorization: Bearer <key>")
            assert r.headers["www-authenticate"] == "Bearer"
            r = await client.post(REALTIME_PATH, params={"site_id": SITE}, headers=owner.headers)
            assert_error(r, 405, "Method POST not allowed; use GET")
            assert r.headers["allow"] == "GET"
            # The key's rate limit counts these as v2 queries do: three per hour here.
            assert_error(await client.get(REALTIME_PATH, headers=owner.headers), 400,
                         "site_id is missing: add ?site_id=<your domain> to the URL")  # fmt: skip
            r = await client.get(f"{REALTIME_PATH}?site_id={SITE}&site_id=x.org", headers=owner.headers)
            assert_error(r, 400, "site_id must be given once")
            assert (await client.get(REALTIME_PATH, params={"site_id": SITE}, headers=owner.headers)).text == "0"
            r = await client.get(REALTIME_PATH, params={"site_id": SITE}, headers=owner.headers)
            assert r.status_code == 429 and r.json()["error"].startswith("Too many API requests: this key may make 3")
            assert int(r.headers["retry-after"]) >= 1
