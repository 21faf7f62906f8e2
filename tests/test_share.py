"""Public share links (analytics/web/share.py): the token's form, unlocking, and the password throttle.

What a link grants and hides is checked end to end in test_web_security.py.
"""

from __future__ import annotations

import asyncio

from conftest import Instance
from web_support import DOMAIN, token_of

from analytics.accounts.passwords import hash_password
from analytics.web import share

TOKEN = "T" * 32


async def test_only_well_formed_known_tokens_open_a_dashboard(instance: Instance) -> None:
    site = await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await instance.accounts.sites.set_share(site, TOKEN, None)
    async with instance.client() as anon:
        r = await anon.get(f"/share/{TOKEN}?period=today")
        assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-robots-tag"] == "noindex, nofollow"
        for bad in ("T" * 15, "T" * 65, "T" * 31 + "!", "U" * 32):
            r = await anon.get(f"/share/{bad}")
            assert r.status_code == 404 and r.headers["x-robots-tag"] == "noindex, nofollow", bad
        # Without a password there is nothing to unlock: back to the link.
        token = token_of((await anon.get("/setup")).text)  # any anonymous form's token of this browser
        r = await anon.post(f"/share/{TOKEN}/unlock", data={"password": "x", "csrf": token})
        assert (r.status_code, r.headers["location"]) == (303, f"/share/{TOKEN}")


async def test_wrong_passwords_are_throttled_per_client(instance: Instance) -> None:
    site = await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await instance.accounts.sites.set_share(site, TOKEN, hash_password("open sesame"))
    async with instance.client(ip="198.51.100.1") as guesser:
        token = token_of((await guesser.get(f"/share/{TOKEN}")).text)
        for _ in range(share.MAX_PASSWORD_FAILURES):
            r = await guesser.post(f"/share/{TOKEN}/unlock", data={"password": "guess", "csrf": token})
            assert r.status_code == 401 and "Wrong password." in r.text
            token = token_of(r.text)
        r = await guesser.post(f"/share/{TOKEN}/unlock", data={"password": "open sesame", "csrf": token})
        assert (r.status_code, r.headers["retry-after"]) == (429, "900")  # even the right one, for now
    async with instance.client(ip="198.51.100.2") as reader:
        token = token_of((await reader.get(f"/share/{TOKEN}")).text)
        r = await reader.post(f"/share/{TOKEN}/unlock", data={"password": "open sesame", "csrf": token})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{share.COOKIE}=") and f"Max-Age={share.COOKIE_SECONDS}" in cookie


async def _concurrent_unlocks(instance: Instance, tries: list[tuple[str, str]]) -> list[int]:
    """POST the unlock form once per (address, password), all at once."""
    clients = {ip: instance.client(ip=ip) for ip, _ in tries}
    tokens = {ip: token_of((await c.get(f"/share/{TOKEN}")).text) for ip, c in clients.items()}
    try:
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    clients[ip].post(f"/share/{TOKEN}/unlock", data={"password": pw, "csrf": tokens[ip]})
                    for ip, pw in tries
                )
            ),
            60,
        )
    finally:
        for c in clients.values():
            await c.aclose()
    return [r.status_code for r in answers]


async def test_concurrent_wrong_passwords_from_one_address_check_at_most_the_limit(instance: Instance) -> None:
    site = await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await instance.accounts.sites.set_share(site, TOKEN, hash_password("open sesame"))
    codes = await _concurrent_unlocks(instance, [("198.51.100.1", "guess")] * 39 + [("198.51.100.1", "open sesame")])
    assert codes.count(401) == share.MAX_PASSWORD_FAILURES and codes.count(429) == 30
    assert codes[-1] == 429


async def test_a_link_takes_a_limited_number_of_passwords_from_all_addresses(instance: Instance) -> None:
    site = await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await instance.accounts.sites.set_share(site, TOKEN, hash_password("open sesame"))
    tries = [(f"198.51.100.{n}", "guess") for n in range(1, 40)] + [("203.0.113.99", "open sesame")]
    codes = await _concurrent_unlocks(instance, tries)
    assert codes.count(401) == share.MAX_LINK_FAILURES and codes.count(429) == 40 - share.MAX_LINK_FAILURES
    assert codes[-1] == 429
    async with instance.client(ip="203.0.113.99") as reader:
        token = token_of((await reader.get(f"/share/{TOKEN}")).text)
        r = await reader.post(f"/share/{TOKEN}/unlock", data={"password": "open sesame", "csrf": token})
        assert r.status_code == 429 and r.headers["retry-after"] == str(share.LINK_WINDOW)
        assert f"Try again in {share.LINK_WINDOW} s." in r.text
        instance.clock.advance(share.LINK_WINDOW + 1)
        r = await reader.post(f"/share/{TOKEN}/unlock", data={"password": "open sesame", "csrf": token})
        assert r.status_code == 303
