"""The `analytics` command. `serve` is the default."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from analytics import config as settingsmod
from analytics import datadir
from analytics.accounts import Accounts
from analytics.accounts.validate import AdminError
from analytics.config import SETTINGS, Settings, SettingsError
from analytics.errors import StorageError
from analytics.model import Site
from analytics.store.selection import make_store

if TYPE_CHECKING:
    from analytics.store.clickhouse.chstore import ClickHouseStore
    from analytics.store.sqlite.store import SQLiteStore

    EventStore = SQLiteStore | ClickHouseStore

T = TypeVar("T")


class CliError(click.ClickException):
    """Bad input: a clear message and exit code 2, like click's usage errors."""

    exit_code = 2


def _settings(**overrides: Any) -> Settings:
    try:
        return settingsmod.load(overrides)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def data_dir_path(settings: Settings) -> Path:
    """The data dir as an absolute path, the way every message names it."""
    return datadir.absolute(settings.data_dir)


def check_data_dir(settings: Settings, *, create: bool) -> bool:
    """`datadir.check` for a command: True when the data dir is new; exit 2 when it may not be created."""
    try:
        return datadir.check(settings.data_dir, create=create)
    except datadir.DataDirError as exc:
        raise CliError(str(exc)) from None


def _unusable(settings: Settings, exc: BaseException) -> CliError:
    return CliError(datadir.unusable(settings.data_dir, exc))


def _run(settings: Settings, fn: Callable[[Accounts, EventStore], Awaitable[T]], *, create: bool = False) -> T:
    """Open both databases of the data dir (migrating them), run `fn`, close them.

    Only with `create` may a missing data dir be created (its path is then printed):
    commands that only read or remove leave `create` off.
    """
    new = check_data_dir(settings, create=create)

    async def main() -> T:
        # Accounts first: on a release 0.1 data dir they take their rows over
        # before the store's migration drops them from analytics.db.
        async with Accounts.in_dir(settings.data_dir) as accounts:
            store = make_store(settings, readers=1)
            try:
                await store.open()
                if new:
                    click.echo(f"analytics: created a new data dir at {data_dir_path(settings)}", err=True)
                return await fn(accounts, store)
            finally:
                await store.close()

    try:
        return asyncio.run(main())
    except AdminError as exc:
        raise CliError(str(exc)) from None
    except (OSError, StorageError) as exc:  # e.g. a read-only dir: a message, not a traceback
        raise _unusable(settings, exc) from None


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
@click.option(
    "--demo", "with_demo", is_flag=True,
    help="Serve demo.example, a year of synthetic traffic refreshed up to now, from its own data dir.",
)  # fmt: skip
@click.option(
    "--demo-data-dir", default=None, help="With --demo: the demo's own data dir [default: the data dir + '-demo']."
)
def serve(with_demo: bool = False, demo_data_dir: str | None = None, **options: Any) -> None:
    """Run the collector, dashboard and API with uvicorn."""
    import dataclasses

    import uvicorn

    settings = _settings(**options)
    if with_demo:
        # Demo traffic never goes into the real data dir: it lives beside it.
        settings = dataclasses.replace(settings, data_dir=demo_data_dir or str(data_dir_path(settings)) + "-demo")

    async def has_admin(accounts: Accounts, store: EventStore) -> bool:
        return await accounts.users.first() is not None

    admin = _run(settings, has_admin, create=True)  # create and migrate the databases first
    check_port(settings.host, settings.port)  # before any long demo fill, and before announcing
    if with_demo:
        _refresh_demo_site(settings)
        check_port(settings.host, settings.port)
    # Worker processes read their settings from the environment.
    os.environ.update(settings.to_env())
    url = open_url(settings)
    click.echo(f"analytics: data dir {data_dir_path(settings)}", err=True)
    click.echo(f"analytics: serving on {settings.host}:{settings.port}; open {url}", err=True)
    if not admin:
        click.echo(f"analytics: no admin yet; the setup page {url}setup is waiting for the first one", err=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown, which would end the
    # process with status 143; a requested, clean stop exits 0 instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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


def open_url(settings: Settings) -> str:
    """The URL to open in a browser, ending in "/": --base-url, else this host and port."""
    if settings.base_url:
        return settings.base_url.rstrip("/") + "/"
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # every interface: this machine answers on localhost
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


def check_port(host: str, port: int) -> None:
    """Exit 2 with a clear message when uvicorn could not listen on host:port.

    Binds the way uvicorn does (SO_REUSEADDR, so a port left in TIME_WAIT is not
    mistaken for a busy one) and lets go at once.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            reason = f"port {port} on {host} is already in use (another `analytics serve`?)"
        elif exc.errno == errno.EACCES:
            reason = f"this user may not listen on port {port} (ports below 1024 need privileges)"
        else:
            reason = f"cannot listen on {where}: {exc.strerror or exc}"
        raise CliError(f"{reason}; choose another with --port or ANALYTICS_PORT") from None


@main.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create the databases (events and accounts) or bring them up to date."""
    settings = _settings(data_dir=data_dir)
    _run(settings, lambda accounts, store: asyncio.sleep(0), create=True)
    if settings.store == "sqlite":
        click.echo(f"database at {settings.db_path} is up to date")
    else:
        from analytics.store.clickhouse.chclient import parse_url

        click.echo(f"event store {parse_url(settings.store).display()} is up to date (accounts in {settings.data_dir})")


@main.command()
@data_dir_option
def prune(data_dir: str | None) -> None:
    """Enforce retention: delete raw events older than --retention-months, destroy old salts."""
    settings = _settings(data_dir=data_dir)

    async def job(accounts: Accounts, store: EventStore) -> int:
        import time

        from analytics.enrich.identity import utc_day

        await accounts.salts.for_day(utc_day(time.time()))
        return await store.prune(time.time(), settings.retention_months)

    n = _run(settings, job)
    click.echo(f"deleted {n} events older than {settings.retention_months} months")


@main.group(short_help="Sites: add, list, remove.")
def sites() -> None:
    """Add, list and remove sites."""


@sites.command("add")
@click.argument("domain")
@click.option("--timezone", default="UTC", show_default=True, help="The site's time zone, e.g. Europe/Zurich.")
@data_dir_option
def sites_add(domain: str, timezone: str, data_dir: str | None) -> None:
    """Register DOMAIN so its events are counted."""
    async def add(accounts: Accounts, store: EventStore) -> Site:
        # Sites added here belong to the admin (the first user), if one exists yet;
        # otherwise the first user created becomes their owner.
        return await accounts.sites.add(domain, timezone, owner=await accounts.users.first())

    site = _run(_settings(data_dir=data_dir), add, create=True)
    click.echo(f"added {site.domain} ({site.timezone})")
    if domain.strip().lower() != site.domain:
        click.echo(f"note: {domain.strip()!r} was saved as {site.domain!r}: a site is its bare domain,"
                   " without https://, www. or a trailing slash", err=True)  # fmt: skip


@sites.command("list")
@data_dir_option
def sites_list(data_dir: str | None) -> None:
    """List registered sites."""
    for site in _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.sites.all()):
        click.echo(f"{site.domain}\t{site.timezone}")


def _confirm(yes: bool, question: str, what: str) -> None:
    """Go on with a destructive command: --yes, or a yes typed on a terminal; never a guess from a pipe."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{what} cannot be undone; standard input is not a terminal, so confirm with --yes")
    if not click.confirm(question, default=False, err=True):
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)


@sites.command("remove")
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed when not on a terminal).")
@data_dir_option
def sites_remove(domain: str, yes: bool, data_dir: str | None) -> None:
    """Remove DOMAIN and all its data (events, rollups, imports, settings). Asks first."""
    settings = _settings(data_dir=data_dir)
    site = _run(settings, lambda accounts, store: accounts.sites.get(domain))  # unknown: an error before asking
    _confirm(yes, f"Remove {site.domain} and all its data? This cannot be undone.", f"removing {site.domain}")
    _run(settings, lambda accounts, store: accounts.sites.remove(site.domain, store))
    click.echo(f"removed {site.domain}")


@main.group(short_help="Dashboard users: add, list, remove, passwd.")
def users() -> None:
    """Add, list and remove dashboard users; reset a password."""


@users.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--admin", is_flag=True, help="An admin may add sites on the dashboard (the first user is one).")
@data_dir_option
def users_add(email: str, password_stdin: bool, admin: bool, data_dir: str | None) -> None:
    """Create a user. The first user is the admin and owns every site."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = _run(
        _settings(data_dir=data_dir),
        lambda accounts, store: accounts.users.add(email, password, admin=admin),
        create=True,
    )
    click.echo(f"added user {user.email}")


def _when(ts: int | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if ts is not None else "never"


@users.command("list")
@data_dir_option
def users_list(data_dir: str | None) -> None:
    """List users: email, admin or user, number of sites, created."""
    for u in _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.users.all()):
        sites_n = f"{u.sites} site" + ("" if u.sites == 1 else "s")
        click.echo(f"{u.email}\t{'admin' if u.admin else 'user'}\t{sites_n}\tcreated {_when(u.created_at)}")


@users.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed when not on a terminal).")
@data_dir_option
def users_remove(email: str, yes: bool, data_dir: str | None) -> None:
    """Remove the user EMAIL with their roles, API keys and sessions (never a site's only owner)."""
    settings = _settings(data_dir=data_dir)
    user = _run(settings, lambda accounts, store: accounts.users.get(email))
    _confirm(yes, f"Remove the user {user.email}, their API keys and sessions?", f"removing {user.email}")
    _run(settings, lambda accounts, store: accounts.users.remove(user.email))
    click.echo(f"removed user {user.email}")


@users.command("passwd")
@click.argument("email")
@data_dir_option
def users_passwd(email: str, data_dir: str | None) -> None:
    """Set a new password for EMAIL and sign them out everywhere.

    Asks twice on a terminal; otherwise reads one line from standard input
    (never from the command line, where other users could see it in `ps`).
    """
    settings = _settings(data_dir=data_dir)
    user = _run(settings, lambda accounts, store: accounts.users.get(email))
    if sys.stdin.isatty():
        password = click.prompt(f"New password for {user.email}", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    _run(settings, lambda accounts, store: accounts.users.set_password(user.id, password))
    click.echo(f"changed the password of {user.email}; their sessions have ended")


@main.group(short_help="Stats API keys: add, list, revoke.")
def keys() -> None:
    """Add, list and revoke Stats API keys."""


@keys.command("add")
@click.argument("email")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@data_dir_option
def keys_add(email: str, name: str, data_dir: str | None) -> None:
    """Create a Stats API key for EMAIL. It is printed once; only its hash is stored."""
    key = _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.keys.add(email, name))
    click.echo(key)


@keys.command("list")
@click.option("--user", "email", default=None, help="Only the keys of this user.")
@data_dir_option
def keys_list(email: str | None, data_dir: str | None) -> None:
    """List Stats API keys: id, user, name, created, last used. Never the keys themselves."""

    async def job(accounts: Accounts, store: EventStore) -> Any:
        user_id = (await accounts.users.get(email)).id if email is not None else None
        return await accounts.keys.all(user_id)

    for k in _run(_settings(data_dir=data_dir), job):
        click.echo(f"{k.id}\t{k.email}\t{k.name}\tcreated {_when(k.created_at)}\tlast used {_when(k.last_used_at)}")


@keys.command("revoke")
@click.argument("key_id", metavar="ID", type=int)
@data_dir_option
def keys_revoke(key_id: int, data_dir: str | None) -> None:
    """Revoke the key ID (see `keys list`): it stops working at once."""
    if not _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.keys.revoke(key_id)):
        raise CliError(f"no key {key_id}; `analytics keys list` shows them")
    click.echo(f"revoked key {key_id}")


def _day(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


def _progress_bar(total: int | None, desc: str, **options: Any) -> Any:
    """A tqdm bar on stderr, shown only when stderr is a terminal (disable=None)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, desc=desc, disable=None, file=sys.stderr, **options)


class _ReaderGone(Exception):
    """The reader of standard output closed it before the export was complete."""


@main.command("export")
@click.argument("domain")
@click.option("--from", "first", default=None, help="First day, YYYY-MM-DD, site time zone [default: first with data].")
@click.option("--to", "last", default=None, help="Last day, YYYY-MM-DD, inclusive [default: last day with data].")
@click.option("-o", "--output", default=None, help="Output file; - is standard output [default: DOMAIN-export.zip].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["zip", "ndjson"]),
    default="zip",
    show_default=True,
    help="zip: Plausible's CSV export layout; ndjson: one JSON object per daily row.",
)
@data_dir_option
def export_cmd(
    domain: str, first: str | None, last: str | None, output: str | None, fmt: str, data_dir: str | None
) -> None:
    """Export DOMAIN's daily aggregates: a Plausible-compatible CSV zip, or NDJSON."""
    import datetime as dt
    import zoneinfo
    from pathlib import Path

    from analytics.errors import BadRequest
    from analytics.stats import dates
    from analytics.transfer import export

    start, end = _day(first, "--from"), _day(last, "--to")
    target = output or f"{domain}-export.{fmt}"

    async def job(accounts: Accounts, store: EventStore) -> tuple[Any, Any]:
        site = await accounts.sites.get(domain)
        known = await store.data_range(site)
        today = dt.datetime.now(zoneinfo.ZoneInfo(site.timezone)).date()
        lo = start or (known[0] if known else end or today)
        hi = end or (known[1] if known else today)
        if hi < lo:
            raise CliError(f"--to {hi} is before --from {lo}")
        if not (dates.in_bounds(lo) and dates.in_bounds(hi)):
            raise CliError(f"export range {lo}..{hi}: {dates.BOUNDS}")
        if fmt == "zip":
            try:
                export.check_zip_range(lo, hi)
            except BadRequest as exc:
                raise CliError(exc.message) from None
        part = None if target == "-" else Path(target + ".part")
        sink = sys.stdout.buffer if part is None else open(part, "wb")
        bar = _progress_bar(export.steps(lo, hi), "export", unit="step")
        try:
            if fmt == "zip":
                await export.write_zip(store, site, lo, hi, sink, progress=bar.update)
            else:
                async for chunk in export.iter_ndjson(store, site, lo, hi, progress=bar.update):
                    sink.write(chunk)
            sink.flush()
        except BrokenPipeError:
            if part is not None:
                raise
            raise _ReaderGone from None  # `export -o - | head`: the reader stopped, nothing is wrong
        except BaseException:
            if part is not None:
                sink.close()
                part.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        if part is not None:
            sink.close()
            os.replace(part, target)  # a complete file or none: never a half-written export
        return lo, hi

    try:
        lo, hi = _run(_settings(data_dir=data_dir), job)
    except _ReaderGone:
        # As a program killed by SIGPIPE, quietly; stdout goes to /dev/null so that
        # the interpreter's last flush does not complain about the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    if target != "-":
        click.echo(f"exported {domain} {lo}..{hi} to {target}", err=True)


@main.command("import")
@click.argument("domain")
@click.argument("file", type=click.Path(exists=True, dir_okay=True, readable=True))
@data_dir_option
def import_cmd(domain: str, file: str, data_dir: str | None) -> None:
    """Import a Plausible CSV export (FILE.zip, or a directory of its CSV files) into DOMAIN.

    Imported days replace earlier imports of the same days; a bad file imports nothing.
    """
    from analytics.transfer import imports

    async def job(accounts: Accounts, store: EventStore) -> imports.ImportSummary:
        site = await accounts.sites.get(domain)
        try:
            total = imports.total_bytes(file)
            with _progress_bar(total, "import", unit="B", unit_scale=True) as bar:
                return await imports.import_csv(store, site, file, progress=bar.update)
        except imports.ImportFileError as exc:
            raise CliError(f"import failed, nothing was imported: {exc.message}") from None

    summary = _run(_settings(data_dir=data_dir), job, create=True)
    span = f" {summary.first}..{summary.last}" if summary.first else ""
    click.echo(f"imported {summary.total_rows} rows{span} into {domain}", err=True)


@main.group("store")
def store_group() -> None:
    """The event store: copy it to another backend, print the cluster schema."""


@store_group.command("copy")
@click.option("--to", "to", required=True, help="The store to copy into: sqlite, chdb:///path or clickhouse://...")
@data_dir_option
def store_copy(to: str, data_dir: str | None) -> None:
    """Copy every site's events from the current store (--store / ANALYTICS_STORE) to another.

    The target rebuilds visits and rollups from the events; a site's earlier data
    there is replaced, so running it twice gives the same data. It ends by
    comparing totals per site and day. Imported history is not copied: import
    the export zip there.
    """
    from analytics.transfer import storecopy

    settings = _settings(data_dir=data_dir)
    target_settings = _settings(data_dir=data_dir, store=to)
    if target_settings.store == settings.store:
        raise CliError(f"--to {to!r} is the current store; name another one")
    if settings.store.startswith("chdb://") and to.startswith("chdb://"):
        raise CliError("chDB opens one directory per process: copy from chdb:// to sqlite, then from sqlite to chdb://")

    async def job(accounts: Accounts, source: EventStore) -> list[storecopy.Copied]:
        target = make_store(target_settings, readers=1)
        target.batch_size, target.batch_ms = 5000, 0
        await target.open()
        try:
            results = []
            for site in await accounts.sites.all():
                # The bar counts events as they are written (their number is not known ahead).
                with _progress_bar(None, site.domain, unit=" events", unit_scale=True) as bar:
                    copied = await storecopy.copy_site(source, target, site, bar.update)
                copied.differences = await storecopy.compare(source, target, site)
                results.append(copied)
            return results
        finally:
            await target.close()

    results = _run(settings, job)
    bad = 0
    for r in results:
        state = "totals equal per day" if not r.differences else f"{len(r.differences)} days differ"
        click.echo(f"{r.site.domain}: {r.events:,} events copied; {state}")
        for day, left, right in r.differences[:10]:
            click.echo(f"  {day}: {left} here, {right} there", err=True)
        bad += bool(r.differences)
    if bad:
        raise click.ClickException(f"{bad} sites differ after the copy")


@store_group.command("ddl")
@click.option("--cluster", required=True, help="The ClickHouse cluster name (remote_servers) to create tables on.")
def store_ddl(cluster: str) -> None:
    """Print the ClickHouse schema for a cluster: ON CLUSTER, replicated tables, distributed tables."""
    from analytics.store.clickhouse import ddl

    if not cluster.replace("_", "").isalnum():
        raise CliError(f"--cluster {cluster!r} is not a cluster name (letters, digits and _)")
    click.echo(ddl.cluster_ddl(cluster), nl=False)


DEMO_DOMAIN = "demo.example"


def _refresh_demo_site(settings: Settings) -> None:
    """`serve --demo`: write demo.example's traffic up to now, a year of it on the first start."""
    from analytics.devtools import demo

    click.echo(f"analytics: writing demo traffic for {DEMO_DOMAIN} up to now...", err=True)
    try:
        demo.refresh(settings.data_dir, DEMO_DOMAIN)
    except (OSError, StorageError) as exc:
        raise _unusable(settings, exc) from None


@main.command("demo")
@click.argument("domain")
@click.option("--events", type=click.IntRange(min=0), default=100_000, show_default=True, help="Events to write.")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True, help="Days before now to fill.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed writes the same traffic.")
@click.option("--timezone", default="Europe/Berlin", show_default=True, help="Time zone of a site created here.")
@data_dir_option
def demo_cmd(domain: str, events: int, days: int, seed: int, timezone: str, data_dir: str | None) -> None:
    """Write synthetic traffic for DOMAIN straight into the store; the site is created if missing.

    A European communications blog: articles with a long tail, search, LinkedIn, Xing,
    Instagram and newsletter visits, bounces and longer visits, a day/night rhythm.
    """
    from analytics.devtools import demo

    settings = _settings(data_dir=data_dir)
    if check_data_dir(settings, create=True):
        click.echo(f"analytics: creating a new data dir at {data_dir_path(settings)}", err=True)
    try:
        result = demo.generate(settings.db_path, domain, events, days, seed=seed, timezone=timezone)
    except AdminError as exc:
        raise CliError(str(exc)) from None
    except (OSError, StorageError) as exc:
        raise _unusable(settings, exc) from None
    rate = result.events / result.seconds if result.seconds else 0
    cpu_rate = result.events / result.cpu_seconds if result.cpu_seconds else 0
    click.echo(
        f"wrote {result.events:,} events ({result.sessions:,} visits) for {result.domain} over {days} days"
        f" in {result.seconds:.1f} s ({rate:,.0f} events/s, {cpu_rate:,.0f} per CPU-second)"
    )


@main.command("bench")
@click.option("--events", default="1000000,10000000", show_default=True,
              help="Comma-separated demo sizes to time queries on, e.g. 1m,10m.")  # fmt: skip
@click.option("--quick", is_flag=True, help="A small, fast run (20k events, 1 s of load): checks the setup.")
@click.option("--json", "json_path", default="bench-results.json", show_default=True, help="The results file.")
@click.option("--duration", type=click.FloatRange(1, 600), default=None, help="Seconds of load per ingest target [15].")
@click.option("--connections", type=click.IntRange(1, 10000), default=None, help="wrk connections [64].")
@click.option("--workdir", default=None, help="Keep the benchmark's databases and logs here [a temporary dir].")
@click.option("--store", "store", default="sqlite", show_default=True,
              help="Also time ingest, queries and storage on this ClickHouse store (chdb:///dir).")  # fmt: skip
def bench_cmd(
    events: str,
    quick: bool,
    json_path: str,
    duration: float | None,
    connections: int | None,
    workdir: str | None,
    store: str = "sqlite",
) -> None:
    """Measure this machine: ingest (wrk against a bare ASGI app and `serve`), queries, storage, export.

    Needs `wrk` from the OS packages for the ingest figures. Prints a table and writes JSON.
    """
    import json
    from pathlib import Path

    from analytics.devtools import bench

    opts = bench.Options.quick_run() if quick else bench.Options()
    if not quick or events != "1000000,10000000":
        try:
            opts.events = bench.parse_sizes(events)
        except ValueError as exc:
            raise CliError(f"--events: {exc}") from None
    if duration is not None:
        opts.duration = duration
    if connections is not None:
        opts.connections = connections
    opts.workdir = Path(workdir) if workdir else None
    opts.store = _settings(store=store).store
    results = bench.run(opts)
    Path(json_path).write_text(json.dumps(results, indent=2) + "\n")
    click.echo(bench.table(results))
    click.echo(f"results written to {json_path}", err=True)
