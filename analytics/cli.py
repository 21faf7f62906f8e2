"""The `analytics` command. `serve` is the default."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from analytics import config as settingsmod
from analytics.accounts import Accounts
from analytics.accounts.validate import AdminError
from analytics.config import SETTINGS, Settings, SettingsError
from analytics.errors import StorageError
from analytics.model import Site
from analytics.store.sqlite.store import SQLiteStore

T = TypeVar("T")


class CliError(click.ClickException):
    """Bad input: a clear message and exit code 2, like click's usage errors."""

    exit_code = 2


def _settings(**overrides: Any) -> Settings:
    try:
        return settingsmod.load(overrides)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def _run(settings: Settings, fn: Callable[[Accounts, SQLiteStore], Awaitable[T]]) -> T:
    """Open (creating or migrating) both databases of the data dir, run `fn`, close them."""

    async def main() -> T:
        # Accounts first: on a release 0.1 data dir they take their rows over
        # before the store's migration drops them from analytics.db.
        async with Accounts.in_dir(settings.data_dir) as accounts:
            store = SQLiteStore(settings.db_path, readers=1)
            try:
                await store.open()
                return await fn(accounts, store)
            finally:
                await store.close()

    try:
        return asyncio.run(main())
    except AdminError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # e.g. --data-dir names a file: a message, not a traceback
        raise CliError(f"data dir {settings.data_dir!r} is not usable: {exc.strerror or exc}") from None
    except StorageError as exc:
        raise CliError(f"database {str(exc.path)!r} is not usable: {exc}") from None


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
@click.option("--demo", "with_demo", is_flag=True, help="Start with demo.example, full of synthetic traffic.")
def serve(with_demo: bool = False, **options: Any) -> None:
    """Run the collector, dashboard and API with uvicorn."""
    import uvicorn

    settings = _settings(**options)
    try:
        _run(settings, lambda accounts, store: asyncio.sleep(0))  # create and migrate the databases first
    except OSError as exc:
        raise CliError(f"data dir {settings.data_dir!r} is not usable: {exc.strerror}") from None
    if with_demo:
        _seed_demo_site(settings)
    # Worker processes read their settings from the environment.
    os.environ.update(settings.to_env())
    click.echo(f"analytics: serving on http://{settings.host}:{settings.port} (data in {settings.data_dir})", err=True)
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


@main.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create the databases (events and accounts) or bring them up to date."""
    settings = _settings(data_dir=data_dir)
    _run(settings, lambda accounts, store: asyncio.sleep(0))
    click.echo(f"database at {settings.db_path} is up to date")


@main.command()
@data_dir_option
def prune(data_dir: str | None) -> None:
    """Enforce retention: delete raw events older than --retention-months, destroy old salts."""
    settings = _settings(data_dir=data_dir)

    async def job(accounts: Accounts, store: SQLiteStore) -> int:
        import time

        from analytics.enrich.identity import utc_day

        await accounts.salts.for_day(utc_day(time.time()))
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
    async def add(accounts: Accounts, store: SQLiteStore) -> Site:
        # Sites added here belong to the admin (the first user), if one exists yet;
        # otherwise the first user created becomes their owner.
        return await accounts.sites.add(domain, timezone, owner=await accounts.users.first())

    site = _run(_settings(data_dir=data_dir), add)
    click.echo(f"added {site.domain} ({site.timezone})")


@sites.command("list")
@data_dir_option
def sites_list(data_dir: str | None) -> None:
    """List registered sites."""
    for site in _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.sites.all()):
        click.echo(f"{site.domain}\t{site.timezone}")


@sites.command("remove")
@click.argument("domain")
@data_dir_option
def sites_remove(domain: str, data_dir: str | None) -> None:
    """Remove DOMAIN and all its data."""
    _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.sites.remove(domain, store))
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
    user = _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.users.add(email, password))
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
    key = _run(_settings(data_dir=data_dir), lambda accounts, store: accounts.keys.add(email, name))
    click.echo(key)


def _day(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


def _progress_bar(total: int, desc: str, **options: Any) -> Any:
    """A tqdm bar on stderr, shown only when stderr is a terminal (disable=None)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, desc=desc, disable=None, file=sys.stderr, **options)


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

    async def job(accounts: Accounts, store: SQLiteStore) -> tuple[Any, Any] | None:
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
            return None  # `export -o - | head`: the reader has all it wanted
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

    done = _run(_settings(data_dir=data_dir), job)
    if done is None:
        # As Unix tools do when the reader closed the pipe: stop quietly with status 0. Standard
        # output goes to /dev/null first, or Python's own flush at exit would fail on the pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    lo, hi = done
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

    async def job(accounts: Accounts, store: SQLiteStore) -> imports.ImportSummary:
        site = await accounts.sites.get(domain)
        try:
            total = imports.total_bytes(file)
            with _progress_bar(total, "import", unit="B", unit_scale=True) as bar:
                return await imports.import_csv(store, site, file, progress=bar.update)
        except imports.ImportFileError as exc:
            raise CliError(f"import failed, nothing was imported: {exc.message}") from None

    summary = _run(_settings(data_dir=data_dir), job)
    span = f" {summary.first}..{summary.last}" if summary.first else ""
    click.echo(f"imported {summary.total_rows} rows{span} into {domain}", err=True)


DEMO_DOMAIN = "demo.example"


def _seed_demo_site(settings: Settings) -> None:
    """`serve --demo`: create demo.example with 30 days of traffic, unless it exists already."""
    from analytics.devtools import demo

    async def exists(accounts: Accounts, store: SQLiteStore) -> bool:
        return await accounts.sites.by_domain(DEMO_DOMAIN) is not None

    if _run(settings, exists):
        return
    click.echo(f"analytics: writing 30 days of demo traffic for {DEMO_DOMAIN}...", err=True)
    demo.generate(settings.db_path, DEMO_DOMAIN, 200_000, 30)


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
    try:
        result = demo.generate(settings.db_path, domain, events, days, seed=seed, timezone=timezone)
    except AdminError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"data dir {settings.data_dir!r} is not usable: {exc.strerror or exc}") from None
    except StorageError as exc:
        raise CliError(f"database {str(exc.path)!r} is not usable: {exc}") from None
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
def bench_cmd(
    events: str, quick: bool, json_path: str, duration: float | None, connections: int | None, workdir: str | None
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
    results = bench.run(opts)
    Path(json_path).write_text(json.dumps(results, indent=2) + "\n")
    click.echo(bench.table(results))
    click.echo(f"results written to {json_path}", err=True)
