"""Every setting, declared once: name, type, default and help.

The CLI builds its `serve` options from `SETTINGS`, the environment is read as
`ANALYTICS_<NAME>`, and the README must list each one (a test checks it).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "ANALYTICS_"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", str, "./analytics-data", "Directory holding the SQLite database."),
    Setting(
        "store",
        str,
        "sqlite",
        "Where events live: sqlite (in the data dir), chdb:///path (embedded ClickHouse) or"
        " clickhouse://user:password@host:8123/database. Accounts stay in SQLite.",
    ),
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 8000, "Port to listen on."),
    Setting("workers", int, 1, "Number of worker processes."),
    Setting(
        "trusted_proxies",
        str,
        "",
        "Comma-separated CIDRs whose X-Forwarded-For header is believed, e.g. 127.0.0.1/32.",
    ),
    Setting("geoip_db", str, "", "Path to your own country .mmdb; empty uses the bundled database."),
    Setting("retention_months", int, 25, "Months of raw events kept; `analytics prune` and a daily job enforce it."),
    Setting("batch_size", int, 256, "Events per group commit at most."),
    Setting("batch_ms", float, 2.0, "Milliseconds a group commit waits to gather more events."),
    Setting("queue_size", int, 20000, "Accepted events waiting for commit before ingest answers 503."),
    Setting(
        "base_url",
        str,
        "",
        "Public URL of this service, used in snippets and share links; empty keeps the first address the"
        " dashboard was reached at (a Host header cannot change it) and Settings warns.",
    ),
    Setting("log_level", str, "info", "Log level: debug, info, warning or error."),
    Setting("api_rate_limit", int, 600, "Stats API requests allowed per key per hour; 0 turns the limit off."),
    Setting(
        "query_timeout",
        float,
        10.0,
        "Seconds one stats statement may run before it is stopped (503); 0 turns the budget off.",
    ),
    Setting(
        "site_creators",
        str,
        "admins",
        "Who may add sites on the dashboard: admins, or users (anyone signed in). The CLI always may.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: str = "./analytics-data"
    store: str = "sqlite"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    trusted_proxies: str = ""
    geoip_db: str = ""
    retention_months: int = 25
    batch_size: int = 256
    batch_ms: float = 2.0
    queue_size: int = 20000
    base_url: str = ""
    log_level: str = "info"
    api_rate_limit: int = 600
    query_timeout: float = 10.0
    site_creators: str = "admins"
    # Not a user setting: lets tests and the demo inject a clock.
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def db_path(self) -> Path:
        return Path(self.data_dir) / "analytics.db"

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return parse_networks(self.trusted_proxies)

    def to_env(self) -> dict[str, str]:
        """The settings as `ANALYTICS_*` variables, to hand to worker processes."""
        return {s.env: str(getattr(self, s.name)) for s in SETTINGS}


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"trusted_proxies: {part!r} is not a CIDR such as 10.0.0.0/8") from None
    return tuple(nets)


def convert(name: str, raw: Any) -> Any:
    """Convert a raw string (from the environment) to the setting's type."""
    setting = _BY_NAME[name]
    if not isinstance(raw, str) or setting.type is str:
        return raw
    try:
        return setting.type(raw)
    except ValueError:
        raise SettingsError(f"{setting.env}: {raw!r} is not a valid {setting.type.__name__}") from None


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then `ANALYTICS_*` variables, then explicit overrides (CLI options)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.env in environ:
            values[s.name] = convert(s.name, environ[s.env])
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    for name in ("port", "workers", "retention_months", "batch_size", "queue_size"):
        value = getattr(settings, name)
        if value < (0 if name == "port" else 1):
            raise SettingsError(f"{name}: must be a positive number, got {value}")
    if not settings.query_timeout >= 0 or settings.query_timeout == float("inf"):  # NaN fails the first test
        raise SettingsError(f"query_timeout: must be 0 or a number of seconds, got {settings.query_timeout}")
    if settings.port > 65535:
        raise SettingsError(f"port: {settings.port} is above 65535")
    if settings.log_level not in ("debug", "info", "warning", "error"):
        raise SettingsError(f"log_level: {settings.log_level!r} is not one of debug, info, warning, error")
    if settings.site_creators not in ("admins", "users"):
        raise SettingsError(f"site_creators: {settings.site_creators!r} is not one of admins, users")
    parse_networks(settings.trusted_proxies)
    validate_store(settings.store, settings.workers)


def validate_store(store: str, workers: int) -> None:
    """A usable `--store` value; chDB with several workers is refused (one process owns a chDB directory)."""
    if store == "sqlite":
        return
    from analytics.store.clickhouse.chclient import parse_url

    try:
        url = parse_url(store)
    except ValueError as exc:
        raise SettingsError(f"store: {exc}") from None
    if url.embedded and workers > 1:
        raise SettingsError(
            f"store: chdb:// runs ClickHouse inside one process, and only one process may open its data"
            f" directory, so --workers {workers} cannot share it. Use --workers 1 (one process ingests"
            " thousands of events per second), or a ClickHouse server (clickhouse://...) for several workers."
        )


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
