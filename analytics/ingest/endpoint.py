"""`POST /api/event`: validate, drop what must not be counted, enrich, enqueue.

The IP address and user agent live only in this request's local variables:
they feed the visitor hash, the bot check and the country lookup, and are
then dropped. The 202 goes out after the event's batch is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from analytics.accounts import Accounts
from analytics.clock import Clock
from analytics.enrich import identity as salts
from analytics.enrich import languages, referrers, urls, useragents
from analytics.enrich.geo import GeoLookup
from analytics.errors import ApiError, BadRequest, Unavailable
from analytics.ingest import payload as payloadmod
from analytics.ingest.proxies import Network, client_ip
from analytics.model import Event, QueueFull, SessionAttrs
from analytics.stats import dates
from analytics.store.base import Store

log = logging.getLogger("analytics.ingest.endpoint")
DROPPED_HEADER = "X-Analytics-Dropped"
CORS = {"Access-Control-Allow-Origin": "*"}


class Collector:
    def __init__(
        self, store: Store, accounts: Accounts, clock: Clock, geo: GeoLookup, proxies: tuple[Network, ...]
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.clock = clock
        self.geo = geo
        self.proxies = proxies
        self._day = -1

    async def handle(self, request: Request) -> Response:
        try:
            raw = await _read_limited(request)
            return await self.accept(request, payloadmod.decode(raw))
        except ApiError as exc:
            return JSONResponse(exc.body(), exc.status, headers={**CORS, **exc.headers})

    async def accept(self, request: Request, body: Mapping[str, Any]) -> Response:
        """Count one Events API body. Raises ApiError for bad input or a full queue."""
        p = payloadmod.parse(body)
        sites = [s for s in [await self.accounts.sites.by_domain(d) for d in p.domains] if s is not None]
        if not sites:
            raise BadRequest(f"domain {p.domains[0][:100]!r} is not registered")

        user_agent = request.headers.get("user-agent", "")
        if useragents.is_bot(user_agent):
            return _dropped()
        signals = request.headers.get("sec-gpc") == "1" or request.headers.get("dnt") == "1"
        sites = [s for s in sites if not (signals and s.honor_signals)]
        if not sites or referrers.is_spam_referrer(p.referrer):
            return _dropped()

        ip = client_ip(
            request.client.host if request.client else None, request.headers.get("x-forwarded-for"), self.proxies
        )
        now = int(self.clock.now())
        day = salts.utc_day(now)
        if day != self._day:
            # The parse caches hold raw user-agent strings in memory; drop them daily with the salt.
            useragents.cache_clear()
            self._day = day
        day_salts = await self.accounts.salts.for_day(day)
        device = useragents.parse(user_agent)
        country = self.geo.country(ip)
        language = languages.primary_language(request.headers.get("accept-language"))

        events = []
        for site in sites:
            url = urls.clean(p.url, p.hash_mode, site.allowed_params)
            if urls.path_matches(url.path, site.excluded_paths):
                continue
            attribution = referrers.attribute(url.query, p.referrer, url.hostname)
            prev_salt = day_salts.get(day - 1)
            events.append(
                Event(
                    site_id=site.id,
                    ts=now,
                    day=dates.local_day(now, site.timezone),
                    visitor_id=salts.visitor_id(day_salts[day], site.domain, ip, user_agent),
                    prev_visitor_id=salts.visitor_id(prev_salt, site.domain, ip, user_agent) if prev_salt else None,
                    name=p.name,
                    hostname=url.hostname,
                    path=url.path,
                    attrs=_attrs(attribution, device, useragents.screen_class(p.width), country, language),
                    props=p.props,
                    interactive=p.interactive,
                    scroll_depth=p.scroll_depth if p.is_engagement else None,
                    engaged_ms=p.engaged_ms if p.is_engagement else None,
                    revenue=p.revenue,
                    words=p.words if p.is_engagement else None,
                    read_scroll=site.read_scroll,
                    read_share=site.read_share,
                )
            )
        del ip, user_agent
        if not events:
            return _dropped()
        try:
            stored = await self.store.submit(events)
        except QueueFull:
            raise Unavailable() from None
        except Exception as exc:  # the database refused the write: nothing was stored, say so
            log.error("event not stored: %s", type(exc).__name__)
            # A store that said when to retry (a ClickHouse server gone) is heard; its reason is not
            # told to browsers, since it may name the server.
            wait = int(exc.headers.get("Retry-After", 1)) if isinstance(exc, Unavailable) else 1
            raise Unavailable("The event could not be stored; retry later", retry_after=wait) from None
        if not any(stored):
            return _dropped()  # e.g. an engagement event with no visit to update
        return PlainTextResponse("ok", 202, headers=CORS)


def _attrs(
    a: referrers.Attribution, d: useragents.Device, screen: str, country: str, language: str
) -> SessionAttrs:
    return SessionAttrs(
        channel=a.channel,
        source=a.source,
        referrer=a.referrer,
        utm_source=a.utm_source,
        utm_medium=a.utm_medium,
        utm_campaign=a.utm_campaign,
        utm_content=a.utm_content,
        utm_term=a.utm_term,
        country=country,
        language=language,
        device=d.device,
        browser=d.browser,
        browser_version=d.browser_version,
        os=d.os,
        os_version=d.os_version,
        screen=screen,
    )


def _dropped() -> Response:
    return PlainTextResponse("ok", 202, headers={**CORS, DROPPED_HEADER: "1"})


async def _read_limited(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > payloadmod.MAX_BODY):
        raise payloadmod.PayloadTooLarge()
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > payloadmod.MAX_BODY:
                raise payloadmod.PayloadTooLarge()
            chunks.append(chunk)
    except ClientDisconnect:  # the client left mid-body: nothing to count, nobody to answer
        raise BadRequest("Request body incomplete") from None
    return b"".join(chunks)


async def accept(request: Request, body: Mapping[str, Any]) -> Response:
    """Count a body built by another endpoint (the <noscript> pixel)."""
    collector: Collector = request.app.state.collector
    try:
        return await collector.accept(request, body)
    except ApiError as exc:
        return JSONResponse(exc.body(), exc.status, headers={**CORS, **exc.headers})


async def preflight(request: Request) -> Response:
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


