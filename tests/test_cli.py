"""The `analytics` command, run for real: every command, and every wrong argument exits 2 cleanly."""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import cli, free_port

from analytics import cli as climod
from analytics.accounts.db import migrations as account_migrations
from analytics.store.sqlite.migrate import migrations

PASSWORD = "correct horse battery"


def run(*args: str, data_dir: Path | None = None, input: str | None = None, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = cli(*args, data_dir=data_dir, input=input, check=False)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def error(*args: str, data_dir: Path | None = None, input: str | None = None) -> str:
    """Run a command that must fail with exit 2; return its one-line message."""
    proc = run(*args, data_dir=data_dir, input=input, code=2)
    assert proc.stdout == ""
    return proc.stderr.strip().splitlines()[-1]


@contextlib.contextmanager
def db(data_dir: Path, name: str = "analytics.db") -> Iterator[sqlite3.Connection]:
    """A connection that commits and closes (sqlite3's own context manager only commits)."""
    with contextlib.closing(sqlite3.connect(data_dir / name)) as conn, conn:
        yield conn


def accounts_db(data_dir: Path) -> contextlib.AbstractContextManager[sqlite3.Connection]:
    """accounts.db: sites, users, keys and salts live there, apart from the events."""
    return db(data_dir, "accounts.db")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


# -- migrate ---------------------------------------------------------------------------


def test_migrate_creates_database_and_is_idempotent(data: Path) -> None:
    assert run("migrate", data_dir=data).stdout == f"database at {data / 'analytics.db'} is up to date\n"
    run("migrate", data_dir=data)
    with db(data) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with accounts_db(data) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == account_migrations()[-1][0]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        account_tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "sessions", "rollup_totals", "site_imports"} <= tables
    assert {"sites", "users", "api_keys", "salts", "web_sessions"} <= account_tables
    assert not account_tables & tables  # each table lives in one file


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "from-env"))
    run("migrate")
    assert (tmp_path / "from-env" / "analytics.db").exists()


# -- sites -----------------------------------------------------------------------------


def test_sites_add_list_remove(data: Path) -> None:
    assert run("sites", "add", "blog.example.org", "--timezone", "Europe/Zurich", data_dir=data).stdout == (
        "added blog.example.org (Europe/Zurich)\n"
    )
    # URLs and www. are reduced to the bare domain; the time zone defaults to UTC.
    assert run("sites", "add", "https://www.Shop.Example.org/", data_dir=data).stdout == "added shop.example.org (UTC)\n"
    assert run("sites", "add", "localhost:8080", "--timezone", "Asia/Kolkata", data_dir=data).returncode == 0
    assert run("sites", "list", data_dir=data).stdout == (
        "blog.example.org\tEurope/Zurich\nlocalhost:8080\tAsia/Kolkata\nshop.example.org\tUTC\n"
    )
    assert run("sites", "remove", "shop.example.org", "--yes", data_dir=data).stdout == "removed shop.example.org\n"
    assert run("sites", "list", data_dir=data).stdout == "blog.example.org\tEurope/Zurich\nlocalhost:8080\tAsia/Kolkata\n"


def test_sites_list_empty(data: Path) -> None:
    run("migrate", data_dir=data)
    assert run("sites", "list", data_dir=data).stdout == ""


def test_sites_remove_deletes_its_events(data: Path) -> None:
    run("sites", "add", "a.example.org", data_dir=data)
    run("sites", "add", "b.example.org", data_dir=data)
    with accounts_db(data) as conn:
        ids = dict(conn.execute("SELECT domain, id FROM sites"))
    with db(data) as conn:
        for site_id in ids.values():
            conn.execute(
                "INSERT INTO events (id, site_id, ts, session_id, name, hostname, page, interactive)"
                " VALUES (?, ?, 1, 1, 0, 0, 0, 1)",
                (site_id, site_id),
            )
    run("sites", "remove", "a.example.org", "--yes", data_dir=data)
    with db(data) as conn:
        assert conn.execute("SELECT site_id FROM events").fetchall() == [(ids["b.example.org"],)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sites", "add", "not a domain"), "Error: 'not a domain' is not a valid domain, e.g. blog.example.org"),
        (("sites", "add", "bad-.org"), "Error: 'bad-.org' is not a valid domain, e.g. blog.example.org"),
        (("sites", "add", "a.org", "--timezone", "Mars/Olympus"), "Error: 'Mars/Olympus' is not a known time zone, e.g. Europe/Zurich"),
        (("sites", "add", "a.org", "--timezone", "../../etc/passwd"), "Error: '../../etc/passwd' is not a known time zone, e.g. Europe/Zurich"),
        (("sites", "remove", "nope.org"), "Error: no site 'nope.org'; `analytics sites list` shows the registered ones"),
        (("sites", "add"), "Error: Missing argument 'DOMAIN'."),
        (("sites", "frobnicate"), "Error: No such command 'frobnicate'."),
    ],
)
def test_sites_wrong_arguments(data: Path, args: tuple[str, ...], message: str) -> None:
    run("migrate", data_dir=data)
    assert error(*args, data_dir=data) == message


def test_duplicate_site(data: Path) -> None:
    run("sites", "add", "blog.example.org", data_dir=data)
    assert error("sites", "add", "www.blog.example.org", data_dir=data) == "Error: site blog.example.org already exists"


# -- users -----------------------------------------------------------------------------


def test_users_add_password_stdin_stores_scrypt_hash(data: Path) -> None:
    run("sites", "add", "blog.example.org", data_dir=data)
    out = run("users", "add", "ana@example.org", "--password-stdin", data_dir=data, input=PASSWORD + "\n")
    assert out.stdout == "added user ana@example.org\n"
    assert PASSWORD not in out.stdout + out.stderr
    with accounts_db(data) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users").fetchone()
        roles = conn.execute("SELECT role FROM site_roles").fetchall()
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert roles == [("owner",)]  # the first user owns the existing sites
    raw = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
    assert raw.find(PASSWORD.encode()) == -1 and b"scrypt$" in raw


def test_users_add_prompt_with_confirmation(data: Path) -> None:
    runner = CliRunner()
    args = ["users", "add", "bo@example.org", "--data-dir", str(data)]
    result = runner.invoke(climod.main, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "added user bo@example.org" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    # A mismatched confirmation asks again; then it works.
    result = runner.invoke(
        climod.main, ["users", "add", "cy@example.org", "--data-dir", str(data)], input=f"{PASSWORD}\nother-pass\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    with accounts_db(data) as conn:
        assert [r[0] for r in conn.execute("SELECT email FROM users ORDER BY id")] == ["bo@example.org", "cy@example.org"]


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "Error: 'not-an-email' is not an email address"),
        ("ana@example.org", "short", "Error: the password must have at least 8 characters"),
        ("ana@example.org", "", "Error: the password must have at least 8 characters"),
    ],
)
def test_users_add_wrong_arguments(data: Path, email: str, password: str, message: str) -> None:
    assert error("users", "add", email, "--password-stdin", data_dir=data, input=password + "\n") == message


def test_duplicate_user(data: Path) -> None:
    run("users", "add", "ana@example.org", "--password-stdin", data_dir=data, input=PASSWORD)
    assert error("users", "add", "ANA@example.org", "--password-stdin", data_dir=data, input=PASSWORD) == (
        "Error: user ANA@example.org already exists"
    )


# -- keys ------------------------------------------------------------------------------


def test_keys_add_prints_key_once_and_stores_only_its_hash(data: Path) -> None:
    run("users", "add", "ana@example.org", "--password-stdin", data_dir=data, input=PASSWORD)
    first = run("keys", "add", "ana@example.org", "--name", "ci", data_dir=data).stdout
    second = run("keys", "add", "ana@example.org", data_dir=data).stdout
    key1, key2 = first.strip(), second.strip()
    assert first == key1 + "\n"  # the key and nothing else: scriptable
    assert key1.startswith("ak_") and len(key1) >= 40 and key1 != key2
    with accounts_db(data) as conn:
        rows = conn.execute("SELECT name, key_hash, prefix FROM api_keys ORDER BY id").fetchall()
    assert rows == [
        ("ci", hashlib.sha256(key1.encode()).digest(), key1[:8]),
        ("default", hashlib.sha256(key2.encode()).digest(), key2[:8]),
    ]
    raw = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
    for key in (key1, key2):
        assert key.encode() not in raw
    # Listing sites or users never prints keys again.
    assert key1 not in run("sites", "list", data_dir=data).stdout


def test_keys_add_unknown_user(data: Path) -> None:
    run("migrate", data_dir=data)
    assert error("keys", "add", "nobody@example.org", data_dir=data) == (
        "Error: no user 'nobody@example.org'; create one with `analytics users add`"
    )


# -- prune -----------------------------------------------------------------------------


def test_prune_deletes_events_older_than_retention(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("sites", "add", "blog.example.org", data_dir=data)
    now = int(time.time())
    day = 86400
    ages = {"ancient": 400 * day, "old": 45 * day, "edge": 29 * day, "fresh": 2 * day, "now": 0}
    with db(data) as conn:
        conn.execute("INSERT INTO strings (id, value) VALUES (900, 'pageview')")
        for i, (label, age) in enumerate(ages.items(), start=1):
            conn.execute(
                "INSERT INTO events (id, site_id, ts, session_id, name, hostname, page, props, interactive)"
                " VALUES (?, 1, ?, ?, 900, 0, 0, ?, 1)",
                (i, now - age, i, f'{{"label": "{label}"}}'),
            )
    with accounts_db(data) as conn:
        # An old salt that prune must destroy; yesterday's must survive.
        conn.execute("INSERT INTO salts (day, salt) VALUES (?, ?)", (now // day - 5, b"\x01" * 16))
        conn.execute("INSERT INTO salts (day, salt) VALUES (?, ?)", (now // day - 1, b"\x02" * 16))
    monkeypatch.setenv("ANALYTICS_RETENTION_MONTHS", "1")
    assert run("prune", data_dir=data).stdout == "deleted 2 events older than 1 months\n"
    with db(data) as conn:
        left = sorted(r[0] for r in conn.execute("SELECT json_extract(props, '$.label') FROM events"))
    with accounts_db(data) as conn:
        days = sorted(r[0] for r in conn.execute("SELECT day FROM salts"))
    assert left == ["edge", "fresh", "now"]
    assert days == [now // day - 1, now // day]
    # Default retention (25 months) keeps the rest.
    monkeypatch.delenv("ANALYTICS_RETENTION_MONTHS")
    assert run("prune", data_dir=data).stdout == "deleted 0 events older than 25 months\n"


def test_prune_bad_retention(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_RETENTION_MONTHS", "0")
    assert error("prune", data_dir=data) == "Error: retention_months: must be a positive number, got 0"
    monkeypatch.setenv("ANALYTICS_RETENTION_MONTHS", "two")
    assert error("prune", data_dir=data) == "Error: ANALYTICS_RETENTION_MONTHS: 'two' is not a valid int"


# -- wrong arguments everywhere --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("frobnicate",), "Error: No such command 'frobnicate'."),
        (("serve", "--port", "abc"), "Error: Invalid value for '--port': 'abc' is not a valid integer."),
        (("serve", "--port", "70000"), "Error: port: 70000 is above 65535"),
        (("serve", "--workers", "-1"), "Error: workers: must be a positive number, got -1"),
        (("serve", "--workers", "0"), "Error: workers: must be a positive number, got 0"),
        (("serve", "--batch-ms", "fast"), "Error: Invalid value for '--batch-ms': 'fast' is not a valid float."),
        (("serve", "--log-level", "loud"), "Error: log_level: 'loud' is not one of debug, info, warning, error"),
        (("serve", "--trusted-proxies", "10.0.0.0/33"), "Error: trusted_proxies: '10.0.0.0/33' is not a CIDR such as 10.0.0.0/8"),
        (("serve", "--no-such-option"), "Error: No such option '--no-such-option'."),
        (("keys", "add"), "Error: Missing argument 'EMAIL'."),
        (("users", "add"), "Error: Missing argument 'EMAIL'."),
    ],
)
def test_wrong_arguments_exit_2_with_a_clear_message(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    assert error(*args, data_dir=tmp_path / "d") == message


def test_bad_environment_value_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_PORT", "eighty")
    assert error("serve", data_dir=tmp_path / "d") == "Error: ANALYTICS_PORT: 'eighty' is not a valid int"


def test_unusable_data_dir_exits_2(tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("x")
    message = f"Error: data dir {str(afile)!r} is a file, not a directory; choose the data dir with --data-dir PATH or ANALYTICS_DATA_DIR"
    assert error("sites", "list", data_dir=afile) == message
    assert error("serve", data_dir=afile) == message
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "analytics.db").write_bytes(b"this is not an SQLite database, just some text. " * 4)
    assert error("migrate", data_dir=broken) == (
        f"Error: database {str(broken / 'analytics.db')!r} is not usable: file is not a database"
    )


def test_help_and_version() -> None:
    out = run("--help").stdout
    for command in ("serve", "sites", "users", "keys", "migrate", "prune"):
        assert command in out
    # Every account command is named on the first help page.
    assert "Dashboard users: add, list, remove, passwd." in out and "Stats API keys: add, list, revoke." in out
    assert "Sites: add, list, remove." in out
    assert run("--version").stdout.strip().endswith("0.1.0")
    serve_help = run("serve", "--help").stdout
    assert "--data-dir" in serve_help and "ANALYTICS_DATA_DIR" in serve_help


def test_entry_point_script_exists() -> None:
    # Next to the interpreter in a venv; in /usr/local/bin after a system-wide pip install.
    candidates = [Path(sysconfig.get_path("scripts")) / "analytics", Path(sys.executable).with_name("analytics")]
    found = [p for p in candidates if p.exists()] or [Path(w) for w in [shutil.which("analytics")] if w]
    assert found, candidates
    script = found[0]
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "serve" in proc.stdout


def test_serve_is_the_default_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without a command, `analytics` runs `serve` (uvicorn.run is captured, not started)."""
    import os

    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    saved = dict(os.environ)
    port = free_port()  # serve checks that it can listen before it says so
    try:
        monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "d"))
        monkeypatch.setenv("ANALYTICS_PORT", str(port))
        result = CliRunner().invoke(climod.main, [])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    kw = calls[0]
    assert kw["app"] == "analytics.app:app_from_env" and kw["factory"] is True
    assert (kw["host"], kw["port"], kw["workers"]) == ("127.0.0.1", port, None)
    assert kw["access_log"] is False and kw["proxy_headers"] is False
    assert (tmp_path / "d" / "analytics.db").exists()  # created and migrated before serving


# -- account management (issue 14.6) ------------------------------------------------------


def on_a_terminal(*args: str, data_dir: Path, answers: list[str]) -> tuple[int, str]:
    """Run the CLI with a real pseudo-terminal as stdin/stdout; type each answer after its prompt."""
    import os
    import pty
    import select

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "analytics", *args, "--data-dir", str(data_dir)],
                            stdin=follower, stdout=follower, stderr=follower)  # fmt: skip
    os.close(follower)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            # Answer once the prompt's last space is out: click writes the prompt's text, then
            # getpass flushes pending input (TCSAFLUSH) and writes that space, so an earlier answer is lost.
            if pending and output.endswith((b": ", b"? ")):
                os.write(leader, pending.pop(0).encode() + b"\n")
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    return code, output.decode(errors="replace").replace("\r\n", "\n")


def test_sites_remove_asks_on_a_terminal_and_needs_yes_otherwise(data: Path) -> None:
    run("sites", "add", "a.example.org", data_dir=data)
    assert error("sites", "remove", "a.example.org", data_dir=data, input="y\n") == (
        "Error: removing a.example.org cannot be undone; standard input is not a terminal, so confirm with --yes"
    )
    code, out = on_a_terminal("sites", "remove", "a.example.org", data_dir=data, answers=["n"])
    assert code == 1 and "Remove a.example.org and all its data? This cannot be undone. [y/N]:" in out
    assert "Nothing was changed." in out
    assert run("sites", "list", data_dir=data).stdout == "a.example.org\tUTC\n"
    code, out = on_a_terminal("sites", "remove", "a.example.org", data_dir=data, answers=["y"])
    assert code == 0 and "removed a.example.org" in out
    assert run("sites", "list", data_dir=data).stdout == ""


def test_users_list_remove_and_passwd(data: Path) -> None:
    run("users", "add", "admin@example.org", "--password-stdin", data_dir=data, input=PASSWORD + "\n")
    run("users", "add", "ops@example.org", "--password-stdin", "--admin", data_dir=data, input=PASSWORD + "\n")
    run("users", "add", "ann@example.org", "--password-stdin", data_dir=data, input=PASSWORD + "\n")
    run("sites", "add", "blog.example.org", data_dir=data)
    listed = run("users", "list", data_dir=data).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["admin@example.org", "admin", "1 site"], ["ann@example.org", "user", "0 sites"], ["ops@example.org", "admin", "0 sites"]]
    assert all(re.fullmatch(r"created \d{4}-\d\d-\d\d \d\d:\d\d UTC", line.split("\t")[3]) for line in listed)
    assert "scrypt" not in "\n".join(listed)

    # passwd reads one line from a pipe, and never takes the password as an argument.
    before = _password_hash(data, "ann@example.org")
    out = run("users", "passwd", "ann@example.org", data_dir=data, input="a brand new password\n").stdout
    assert out == "changed the password of ann@example.org; their sessions have ended\n"
    from analytics.accounts.passwords import verify_password

    after = _password_hash(data, "ann@example.org")
    assert after != before and verify_password("a brand new password", after)
    assert error("users", "passwd", "ann@example.org", data_dir=data, input="short\n") == (
        "Error: the password must have at least 8 characters")
    assert error("users", "passwd", "nobody@example.org", data_dir=data, input="long enough\n") == (
        "Error: no user 'nobody@example.org'; create one with `analytics users add`")
    assert error("users", "passwd", "ann@example.org", "hunter22", data_dir=data).startswith("Error: Got unexpected extra argument")
    code, out = on_a_terminal("users", "passwd", "ann@example.org", data_dir=data, answers=["typed on a tty", "typed on a tty"])
    assert code == 0 and "New password for ann@example.org:" in out and "typed on a tty" not in out  # not echoed
    assert verify_password("typed on a tty", _password_hash(data, "ann@example.org"))

    assert error("users", "remove", "admin@example.org", "--yes", data_dir=data) == (
        "Error: admin@example.org is the only owner of blog.example.org; add another owner or remove the site first")
    assert error("users", "remove", "ann@example.org", data_dir=data, input="") == (
        "Error: removing ann@example.org cannot be undone; standard input is not a terminal, so confirm with --yes")
    assert run("users", "remove", "ann@example.org", "--yes", data_dir=data).stdout == "removed user ann@example.org\n"
    assert [line.split("\t")[0] for line in run("users", "list", data_dir=data).stdout.splitlines()] == [
        "admin@example.org", "ops@example.org"]


def _password_hash(data: Path, email: str) -> str:
    with accounts_db(data) as conn:
        (hashed,) = conn.execute("SELECT password_hash FROM users WHERE email = ?", (email,)).fetchone()
    return str(hashed)


def test_keys_list_and_revoke(data: Path) -> None:
    run("users", "add", "ann@example.org", "--password-stdin", data_dir=data, input=PASSWORD + "\n")
    run("users", "add", "bob@example.org", "--password-stdin", data_dir=data, input=PASSWORD + "\n")
    first = run("keys", "add", "ann@example.org", "--name", "reports", data_dir=data).stdout.strip()
    second = run("keys", "add", "bob@example.org", data_dir=data).stdout.strip()
    listed = run("keys", "list", data_dir=data).stdout
    assert first not in listed and second not in listed and first[:8] not in listed
    rows = [line.split("\t") for line in listed.splitlines()]
    assert [r[:3] for r in rows] == [["1", "ann@example.org", "reports"], ["2", "bob@example.org", "default"]]
    assert all(r[4] == "last used never" and r[3].startswith("created ") for r in rows)
    assert run("keys", "list", "--user", "bob@example.org", data_dir=data).stdout.startswith("2\tbob@example.org\t")
    assert error("keys", "list", "--user", "nobody@example.org", data_dir=data) == (
        "Error: no user 'nobody@example.org'; create one with `analytics users add`")
    assert run("keys", "revoke", "1", data_dir=data).stdout == "revoked key 1\n"
    assert error("keys", "revoke", "1", data_dir=data) == "Error: no key 1; `analytics keys list` shows them"
    assert error("keys", "revoke", "one", data_dir=data).startswith("Error: Invalid value for 'ID'")
    assert [line.split("\t")[0] for line in run("keys", "list", data_dir=data).stdout.splitlines()] == ["2"]
