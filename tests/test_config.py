"""One settings table: documented in the README, read from defaults, then ANALYTICS_*, then CLI options."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from analytics import cli as climod
from analytics import config as settingsmod
from analytics.config import SETTINGS, Setting, Settings, SettingsError, load

README = Path(__file__).parent.parent / "README.md"

# Two distinct valid non-default values per setting: one for the environment, one for the CLI.
_SAMPLES: dict[str, tuple[str, str]] = {
    "data_dir": ("/srv/env-data", "/srv/cli-data"),
    "host": ("0.0.0.0", "::1"),
    "store": ("chdb:///srv/env-events", "clickhouse://analytics:secret@db.internal:8123/analytics"),
    "trusted_proxies": ("10.0.0.0/8", "127.0.0.1/32,::1/128"),
    "geoip_db": ("/srv/env.mmdb", "/srv/cli.mmdb"),
    "base_url": ("https://env.example.org", "https://cli.example.org"),
    "log_level": ("debug", "warning"),
    "site_creators": ("users", "admins"),
}


def samples(s: Setting) -> tuple[str, str]:
    if s.name in _SAMPLES:
        return _SAMPLES[s.name]
    if s.type is int:
        return str(s.default + 3), str(s.default + 7)
    if s.type is float:
        return str(s.default + 1.5), str(s.default + 2.5)
    return ("env-value", "cli-value")


def typed(s: Setting, raw: str) -> Any:
    return s.type(raw)


def test_readme_lists_every_setting_with_option_and_env_var() -> None:
    assert README.exists(), "README.md is missing"
    rows = [line for line in README.read_text("utf-8").splitlines() if line.lstrip().startswith("|")]
    missing = [s.name for s in SETTINGS if not any(s.option in row and s.env in row for row in rows)]
    assert not missing, f"README settings table lacks a row with option and env var for: {missing}"


def test_settings_table_matches_the_dataclass() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings) if f.name != "extra"}
    assert fields == {s.name: s.default for s in SETTINGS}
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    for s in SETTINGS:
        assert s.env == "ANALYTICS_" + s.name.upper()
        assert s.option == "--" + s.name.replace("_", "-")
        assert s.help.strip(), s.name
        assert isinstance(s.default, s.type)


def test_defaults_need_no_configuration() -> None:
    settings = load(environ={})
    assert settings == Settings()
    assert (settings.data_dir, settings.host, settings.port, settings.workers) == ("./analytics-data", "127.0.0.1", 8000, 1)
    assert settings.retention_months == 25
    assert settings.db_path == Path("analytics-data") / "analytics.db"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_env_overrides_default_and_option_overrides_env(setting: Setting) -> None:
    env_value, cli_value = samples(setting)
    environ = {setting.env: env_value}
    assert getattr(load(environ={}), setting.name) == setting.default
    assert getattr(load(environ=environ), setting.name) == typed(setting, env_value)
    overrides = {setting.name: typed(setting, cli_value)}
    assert getattr(load(overrides, environ=environ), setting.name) == typed(setting, cli_value)
    # An option left unset (None) does not mask the environment.
    assert getattr(load({setting.name: None}, environ=environ), setting.name) == typed(setting, env_value)


def test_unrelated_environment_is_ignored() -> None:
    assert load(environ={"PORT": "1", "ANALYTICS_NOT_A_SETTING": "x", "analytics_port": "2"}) == Settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANALYTICS_PORT": "http"}, "ANALYTICS_PORT: 'http' is not a valid int"),
        ({"ANALYTICS_BATCH_MS": "soon"}, "ANALYTICS_BATCH_MS: 'soon' is not a valid float"),
        ({"ANALYTICS_PORT": "65536"}, "port: 65536 is above 65535"),
        ({"ANALYTICS_WORKERS": "0"}, "workers: must be a positive number, got 0"),
        ({"ANALYTICS_QUEUE_SIZE": "-5"}, "queue_size: must be a positive number, got -5"),
        ({"ANALYTICS_LOG_LEVEL": "trace"}, "log_level: 'trace' is not one of debug, info, warning, error"),
        ({"ANALYTICS_TRUSTED_PROXIES": "example.org"}, "trusted_proxies: 'example.org' is not a CIDR such as 10.0.0.0/8"),
        ({"ANALYTICS_QUERY_TIMEOUT": "-1"}, "query_timeout: must be 0 or a number of seconds, got -1.0"),
        ({"ANALYTICS_QUERY_TIMEOUT": "nan"}, "query_timeout: must be 0 or a number of seconds, got nan"),
        ({"ANALYTICS_SITE_CREATORS": "everyone"}, "site_creators: 'everyone' is not one of admins, users"),
        ({"ANALYTICS_STORE": "postgres://db"}, "store: 'postgres://db' is not a store URL: use sqlite,"
         " chdb:///path or clickhouse://user:password@host:8123/db"),
        ({"ANALYTICS_STORE": "chdb://"}, "store: chdb:// needs a directory, e.g. chdb:///var/lib/analytics/events"),
        ({"ANALYTICS_STORE": "clickhouse://db:http/x"}, "store: clickhouse:// has a port that is not a number"),
        ({"ANALYTICS_STORE": "chdb:///srv/ev", "ANALYTICS_WORKERS": "2"}, "store: chdb:// runs ClickHouse inside one"
         " process, and only one process may open its data directory, so --workers 2 cannot share it. Use --workers"
         " 1 (one process ingests thousands of events per second), or a ClickHouse server (clickhouse://...) for"
         " several workers."),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(environ=env)
    assert str(info.value) == message


def test_to_env_round_trips() -> None:
    original = load({"port": 9123, "workers": 2, "trusted_proxies": "10.0.0.0/8", "batch_ms": 0.5}, environ={})
    assert load(environ=original.to_env()) == original


# -- the real `serve` command: what worker processes end up with ----------------------


@pytest.fixture
def captured_serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[tuple[dict[str, Any], Settings]]]:
    """uvicorn.run replaced by a recorder that loads settings the way a worker does."""
    calls: list[tuple[dict[str, Any], Settings]] = []

    def fake_run(app: str, **kw: Any) -> None:
        calls.append((kw, settingsmod.load()))

    monkeypatch.setattr(uvicorn, "run", fake_run)
    saved = dict(os.environ)
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        yield calls
    finally:
        # `serve` exports its settings into os.environ for the workers; undo that.
        os.environ.clear()
        os.environ.update(saved)


def _serve(args: list[str], env: dict[str, str] | None = None) -> Any:
    for key, value in (env or {}).items():
        os.environ[key] = value
    return CliRunner().invoke(climod.main, ["serve", *args], catch_exceptions=False)


def test_serve_defaults_reach_the_workers(captured_serve: list[tuple[dict[str, Any], Settings]], tmp_path: Path) -> None:
    result = _serve([])
    assert result.exit_code == 0, result.output
    (kw, worker) = captured_serve[0]
    assert (kw["host"], kw["port"], kw["workers"], kw["log_level"]) == ("127.0.0.1", 8000, None, "info")
    assert worker == Settings()
    assert (tmp_path / "analytics-data" / "analytics.db").exists()


def test_serve_cli_beats_env_beats_default(captured_serve: list[tuple[dict[str, Any], Settings]], tmp_path: Path) -> None:
    env = {
        "ANALYTICS_DATA_DIR": str(tmp_path / "env-data"),
        "ANALYTICS_PORT": "9001",
        "ANALYTICS_WORKERS": "2",
        "ANALYTICS_RETENTION_MONTHS": "13",
        "ANALYTICS_TRUSTED_PROXIES": "10.0.0.0/8",
    }
    result = _serve(["--port", "9002", "--data-dir", str(tmp_path / "cli-data"), "--trusted-proxies", "127.0.0.1/32"], env)
    assert result.exit_code == 0, result.output
    (kw, worker) = captured_serve[0]
    assert (kw["port"], kw["workers"]) == (9002, 2)
    assert worker.port == 9002  # CLI over env
    assert worker.data_dir == str(tmp_path / "cli-data")
    assert worker.trusted_proxies == "127.0.0.1/32"
    assert worker.workers == 2  # env over default
    assert worker.retention_months == 13
    assert worker.batch_size == 256  # default
    assert (tmp_path / "cli-data" / "analytics.db").exists()
    assert not (tmp_path / "env-data").exists()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_serve_option(setting: Setting) -> None:
    names = {p.name for p in climod.serve.params}
    opts = {o for p in climod.serve.params for o in getattr(p, "opts", [])}
    assert setting.name in names and setting.option in opts


def test_readme_security_limits_say_where_each_limit_is_changed() -> None:
    """The README's security section names the settings and the constants behind every limit;
    each named constant exists in the module named next to it."""
    import importlib

    text = README.read_text("utf-8")
    section = text[text.index("## Security limits") : text.index("## Behind a reverse proxy")]
    for setting in ("--query-timeout", "--api-rate-limit", "--retention-months"):
        assert setting in section, setting
    where = {
        "analytics/ingest/payload.py": ["MAX_BODY"],
        "analytics/api/v2.py": ["MAX_BODY"],
        "analytics/web/site_settings.py": ["MAX_UPLOAD"],
        "analytics/ingest/deadline.py": ["GRACE", "MIN_RATE"],
        "analytics/stats/parse.py": ["MAX_LIMIT", "MAX_FILTER_DEPTH", "MAX_FILTER_CLAUSES", "MAX_PATTERNS", "MAX_PATTERN_LENGTH"],
        "analytics/transfer/limits.py": ["MAX_MEMBERS", "MAX_UNCOMPRESSED", "MAX_RATIO"],
        "analytics/web/auth.py": ["MAX_CLIENT_FAILURES", "MAX_ACCOUNT_FAILURES"],
        "analytics/web/share.py": ["MAX_PASSWORD_FAILURES", "MAX_LINK_FAILURES"],
    }
    for path, names in where.items():
        assert f"`{path}`" in section, path
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        for name in names:
            assert hasattr(module, name), (path, name)
    for name in ("MAX_BODY", "MAX_UPLOAD", "MAX_LIMIT", "MAX_FILTER_DEPTH", "MAX_PATTERNS"):
        assert f"`{name}`" in section, name
