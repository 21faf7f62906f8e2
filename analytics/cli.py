"""The `analytics` command. `serve` is the default."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from . import admin
from . import settings as settingsmod
from .settings import SETTINGS, Settings, SettingsError
from .store.sqlite import SQLiteStore

T = TypeVar("T")


class CliError(click.ClickException):
    """Bad input: a clear message and exit code 2, like click's usage errors."""

    exit_code = 2


def _settings(**overrides: Any) -> Settings:
    try:
        return settingsmod.load(overrides)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def _run(settings: Settings, fn: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    async def main() -> T:
        store = SQLiteStore(settings.db_path, readers=1)
        await store.open()
        try:
            return await fn(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except admin.AdminError as exc:
        raise CliError(str(exc)) from None


def data_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir", default=None, help="Directory holding the SQLite database [env ANALYTICS_DATA_DIR]."
    )(f)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="analytics")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Privacy-first, cookieless web analytics. Without a command, runs `serve`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


def _serve_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for s in reversed(SETTINGS):
        f = click.option(
            s.option, s.name, type=s.type, default=None, help=f"{s.help} [default {s.default!r}; env {s.env}]"
        )(f)
    return f


@main.command()
@_serve_options
def serve(**options: Any) -> None:
    """Run the collector, dashboard and API with uvicorn."""
    import uvicorn

    settings = _settings(**options)
    try:
        _run(settings, lambda store: asyncio.sleep(0))  # create and migrate the database first
    except OSError as exc:
        raise CliError(f"data dir {settings.data_dir!r} is not usable: {exc.strerror}") from None
    # Worker processes read their settings from the environment.
    os.environ.update(settings.to_env())
    click.echo(f"analytics: serving on http://{settings.host}:{settings.port} (data in {settings.data_dir})", err=True)
    uvicorn.run(
        "analytics.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,  # uvicorn's access log prints client IPs; privacy.md forbids that
        proxy_headers=False,  # X-Forwarded-For is handled by --trusted-proxies only
        server_header=False,
    )


@main.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create the database or bring it up to date."""
    settings = _settings(data_dir=data_dir)
    _run(settings, lambda store: asyncio.sleep(0))
    click.echo(f"database at {settings.db_path} is up to date")


@main.command()
@data_dir_option
def prune(data_dir: str | None) -> None:
    """Enforce retention: delete raw events older than --retention-months, destroy old salts."""
    settings = _settings(data_dir=data_dir)

    async def job(store: SQLiteStore) -> int:
        import time

        from .salts import utc_day

        await store.salts(utc_day(time.time()))
        return await store.prune(time.time(), settings.retention_months)

    n = _run(settings, job)
    click.echo(f"deleted {n} events older than {settings.retention_months} months")


@main.group()
def sites() -> None:
    """Add, list and remove sites."""


@sites.command("add")
@click.argument("domain")
@click.option("--timezone", default="UTC", show_default=True, help="The site's time zone, e.g. Europe/Zurich.")
@data_dir_option
def sites_add(domain: str, timezone: str, data_dir: str | None) -> None:
    """Register DOMAIN so its events are counted."""
    site = _run(_settings(data_dir=data_dir), lambda store: admin.add_site(store, domain, timezone))
    click.echo(f"added {site.domain} ({site.timezone})")


@sites.command("list")
@data_dir_option
def sites_list(data_dir: str | None) -> None:
    """List registered sites."""
    for site in _run(_settings(data_dir=data_dir), admin.list_sites):
        click.echo(f"{site.domain}\t{site.timezone}")


@sites.command("remove")
@click.argument("domain")
@data_dir_option
def sites_remove(domain: str, data_dir: str | None) -> None:
    """Remove DOMAIN and all its data."""
    _run(_settings(data_dir=data_dir), lambda store: admin.remove_site(store, domain))
    click.echo(f"removed {domain}")


@main.group()
def users() -> None:
    """Manage dashboard users."""


@users.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@data_dir_option
def users_add(email: str, password_stdin: bool, data_dir: str | None) -> None:
    """Create a user. The first user owns every site."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = _run(_settings(data_dir=data_dir), lambda store: admin.add_user(store, email, password))
    click.echo(f"added user {user.email}")


@main.group()
def keys() -> None:
    """Manage Stats API keys."""


@keys.command("add")
@click.argument("email")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@data_dir_option
def keys_add(email: str, name: str, data_dir: str | None) -> None:
    """Create a Stats API key for EMAIL. It is printed once; only its hash is stored."""
    key = _run(_settings(data_dir=data_dir), lambda store: admin.add_key(store, email, name))
    click.echo(key)
