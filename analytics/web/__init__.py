"""The dashboard: sign-in, sites, reports, sharing and the disclosure page.

Modules: `auth` (sessions, rate limit), `account` (password, API keys), `invite`, `csrf`, `render` (templates, headers),
`state` (URL state), `reports` (panels as stats queries, k-suppression),
`chart` (SVG geometry), `dashboard`, `downloads` (export zip, panel CSV), `live` (the live view), `pages` (accounts
and sites), `settings`, `goal_settings` (an owner's goals), `share` and `disclosure`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from analytics.web import account, dashboard, disclosure, downloads, goal_settings, invite, live, pages, share
from analytics.web import site_settings as settings


def routes() -> list[BaseRoute]:
    d = "/sites/{domain}"
    return [
        Route("/", pages.index),
        Route("/setup", pages.setup, methods=["GET", "POST"]),
        Route("/login", pages.login, methods=["GET", "POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/account", account.account_page),
        Route("/account/password", account.change_password, methods=["POST"]),
        Route("/account/keys", account.save_keys, methods=["POST"]),
        Route("/invite/{token}", invite.invite_page, methods=["GET", "POST"]),
        Route("/sites", pages.sites),
        Route("/sites/new", pages.new_site, methods=["GET", "POST"]),
        Route(d, dashboard.site_dashboard),
        Route(d + "/realtime", dashboard.site_realtime),
        Route(d + "/headlines", dashboard.site_headlines),
        Route(d + "/export", downloads.site_export),
        Route(d + "/panels/{panel}.csv", downloads.panel_csv),
        Route(d + "/live", live.site_live),
        Route(d + "/live/data", live.site_live_data),
        Route(d + "/snippet", pages.snippet),
        Route(d + "/settings", settings.settings_page),
        Route(d + "/settings", settings.save_settings, methods=["POST"]),
        Route(d + "/share", settings.save_share, methods=["POST"]),
        Route(d + "/goals", goal_settings.goals_page),
        Route(d + "/goals", goal_settings.save_goals, methods=["POST"]),
        Route(d + "/members", settings.save_members, methods=["POST"]),
        Route(d + "/imports", settings.save_imports, methods=["POST"]),
        Route(d + "/delete", settings.delete_site, methods=["POST"]),
        Route("/share/{token}", share.shared_dashboard),
        Route("/share/{token}/realtime", share.shared_realtime),
        Route("/share/{token}/headlines", share.shared_headlines),
        Route("/share/{token}/live", live.shared_live),
        Route("/share/{token}/live/data", live.shared_live_data),
        Route("/share/{token}/unlock", share.shared_unlock, methods=["POST"]),
        Route("/privacy/{domain}", disclosure.disclosure),
        Mount("/static", StaticFiles(packages=[("analytics.dashboards", "static")]), name="static"),
    ]
