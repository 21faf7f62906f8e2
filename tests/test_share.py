"""Public share links (analytics/web/share.py): the token's form, unlocking, and the password throttle.

What a link grants and hides is checked end to end in test_web_security.py.
"""

from __future__ import annotations

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
