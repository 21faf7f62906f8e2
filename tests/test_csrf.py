"""CSRF tokens (analytics/web/csrf.py): bound to this browser's cookie, signed in or not.

That every form refuses a missing, forged or foreign token is checked end to end
in test_web_security.py; here: what a token is bound to.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Instance
from starlette.requests import Request

from analytics.web import csrf
from analytics.web.auth import SESSION_COOKIE, keyed, server_secret
from analytics.web.render import WebError


def request(instance: Instance, cookies: dict[str, str] | None = None, **headers: str) -> Request:
    cookie = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    raw = [(b"host", b"testserver"), *((b"cookie", cookie.encode()),) * bool(cookie)]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": raw, "app": instance.app})


async def test_an_anonymous_token_is_keyed_to_the_anonymous_cookie(instance: Instance) -> None:
    fresh = request(instance)
    token = await csrf.prepare(fresh)
    ((name, anon, max_age),) = fresh.state.set_cookies  # a new browser gets its cookie
    assert (name, max_age, len(anon)) == (csrf.ANON_COOKIE, 86400, 32)
    assert token == keyed(await server_secret(fresh, "csrf"), "a:" + anon) == fresh.state.csrf
    await csrf.verify(request(instance, {csrf.ANON_COOKIE: anon}), {"csrf": token}, signed_in=False)
    with pytest.raises(WebError, match="not valid"):
        await csrf.verify(request(instance, {csrf.ANON_COOKIE: "another-browser"}), {"csrf": token}, signed_in=False)
    again = request(instance, {csrf.ANON_COOKIE: anon})
    assert await csrf.prepare(again) == token and not hasattr(again.state, "set_cookies")
    long = request(instance, {csrf.ANON_COOKIE: "x" * 101})
    await csrf.prepare(long)
    assert long.state.set_cookies[0][1] != "x" * 101  # an oversized cookie is replaced


async def test_a_signed_in_token_is_keyed_to_the_session(instance: Instance) -> None:
    user = await instance.accounts.users.add("ann@example.org", "long enough")
    await instance.accounts.logins.start("session-token", user, int(instance.clock.now()), 3600)
    signed_in = {SESSION_COOKIE: "session-token", csrf.ANON_COOKIE: "anon"}
    token = await csrf.prepare(request(instance, signed_in))
    anon_token = await csrf.prepare(request(instance, {csrf.ANON_COOKIE: "anon"}))
    assert token != anon_token
    await csrf.verify(request(instance, signed_in), {"csrf": token}, signed_in=True)
    with pytest.raises(WebError, match="not valid"):  # the anonymous token no longer counts once signed in
        await csrf.verify(request(instance, signed_in), {"csrf": anon_token}, signed_in=True)


@pytest.mark.parametrize(
    ("form", "headers", "message"),
    [
        ({}, {}, "The form is missing its security token"),
        ({"csrf": ""}, {}, "The form is missing its security token"),
        ({"csrf": "forged"}, {}, "not valid"),
        ({"csrf": "x"}, {"origin": "https://evil.example"}, "This form was sent from another site."),
    ],
)
async def test_refusals_are_403(instance: Instance, form: dict[str, Any], headers: dict[str, str], message: str) -> None:
    with pytest.raises(WebError, match=message) as exc:
        await csrf.verify(request(instance, {csrf.ANON_COOKIE: "anon"}, **headers), form, signed_in=False)
    assert exc.value.status == 403


async def test_no_cookie_means_no_valid_token(instance: Instance) -> None:
    secret = await server_secret(request(instance), "csrf")
    with pytest.raises(WebError, match="not valid"):
        await csrf.verify(request(instance), {"csrf": keyed(secret, "a:")}, signed_in=False)
    with pytest.raises(WebError, match="not valid"):
        await csrf.verify(request(instance), {"csrf": keyed(secret, "s:")}, signed_in=True)
    assert await csrf.prepare(request(instance, {}, origin="http://testserver")) != ""  # our own Origin is fine
