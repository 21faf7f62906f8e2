"""Where the data lives, and what `serve` says on start (issue 14, points 7 and 8), run for real.

Commands that only read or remove refuse to create a data dir; commands that create
something may, and print its absolute path. `serve` names its data dir and URL,
checks its port before it says it serves, and `serve --demo` keeps the demo apart.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port, start_server

from analytics import datadir
from analytics.devtools import demo
from analytics.errors import StorageError

PASSWORD = "correct horse battery"
CHOOSE = datadir.CHOOSE


def analytics(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None,
              user: int | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The real CLI in `cwd`, with no ANALYTICS_DATA_DIR unless `env` sets one."""
    base = {k: v for k, v in os.environ.items() if k != "ANALYTICS_DATA_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "analytics", *args], cwd=cwd, env={**base, **(env or {})}, input=input,
        capture_output=True, text=True, timeout=120, user=user,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def test_check_tells_a_data_dir_from_a_missing_one(tmp_path: Path) -> None:
    assert datadir.check(tmp_path / "new", create=True) is True
    assert not (tmp_path / "new").exists()  # checking creates nothing; opening the databases does
    with pytest.raises(datadir.DataDirError, match=r"^no data dir at .*/new \(no accounts.db there\)"):
        datadir.check(tmp_path / "new", create=False)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "analytics.db").write_bytes(b"")  # a release 0.1 data dir has only this file
    assert datadir.check(tmp_path / "old", create=False) is False
    assert datadir.absolute("rel") == Path.cwd() / "rel"


def test_unusable_says_what_is_wrong(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert datadir.unusable(data, StorageError(data / "analytics.db", "file is not a database")) == (
        f"database {str(data / 'analytics.db')!r} is not usable: file is not a database"
    )
    assert datadir.unusable(data, PermissionError(13, "Permission denied")).startswith(
        f"data dir {str(data)!r} is read-only for this user"
    )
    assert datadir.unusable(tmp_path / "gone", FileNotFoundError(2, "No such file or directory")) == (
        f"cannot create data dir {str(tmp_path / 'gone')!r}: No such file or directory; {CHOOSE}"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("sites", "list"),
        ("sites", "remove", "blog.example.org"),
        ("keys", "add", "ana@example.org"),
        ("export", "blog.example.org", "-o", "out.zip"),
        ("prune",),
    ],
)
def test_read_and_remove_commands_refuse_a_missing_data_dir(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = analytics(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"Error: no data dir at {tmp_path / 'analytics-data'} (no accounts.db there); {CHOOSE}."
        " `analytics migrate` or `analytics serve` creates a new one\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing created, not even an empty directory
    # The same from the environment: the message names the path it was given, made absolute.
    proc = analytics(*args, cwd=tmp_path, env={"ANALYTICS_DATA_DIR": "elsewhere/data"})
    assert proc.returncode == 2 and f"no data dir at {tmp_path / 'elsewhere' / 'data'} " in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_data_dir_is_used_from_any_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    analytics("sites", "add", "blog.example.org", "--data-dir", str(data), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = analytics("sites", "list", cwd=elsewhere, env={"ANALYTICS_DATA_DIR": str(data)})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "blog.example.org\tUTC\n", "")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "stdin", "stdout"),
    [
        (("migrate",), None, "database at analytics-data/analytics.db is up to date\n"),
        (("sites", "add", "blog.example.org"), None, "added blog.example.org (UTC)\n"),
        (("users", "add", "ana@example.org", "--password-stdin"), PASSWORD, "added user ana@example.org\n"),
        (("demo", "blog.example.org", "--events", "50", "--days", "1"), None, None),
    ],
)
def test_creating_commands_create_the_data_dir_and_say_where(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, stdout: str | None
) -> None:
    proc = analytics(*args, cwd=tmp_path, input=stdin)
    assert proc.returncode == 0, proc.stderr
    created = tmp_path / "analytics-data"
    verb = "creating" if args[0] == "demo" else "created"
    assert proc.stderr == f"analytics: {verb} a new data dir at {created}\n"
    if stdout is not None:
        assert proc.stdout == stdout
    assert (created / "accounts.db").exists() and (created / "analytics.db").exists()
    again = analytics(*args[:1], *(("blog2.example.org",) if args[:2] == ("sites", "add") else args[1:]),
                      cwd=tmp_path, input=stdin)  # fmt: skip
    assert "new data dir" not in again.stderr  # only when it is new


def test_import_may_create_the_data_dir(tmp_path: Path) -> None:
    # `import` creates; with no site yet it then says so (and the data dir is there for `sites add`).
    (tmp_path / "export").mkdir()
    proc = analytics("import", "blog.example.org", "export", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"analytics: created a new data dir at {tmp_path / 'analytics-data'}",
        "Error: no site 'blog.example.org'; `analytics sites list` shows the registered ones",
    ]


def test_a_domain_typed_as_url_says_what_was_saved(tmp_path: Path) -> None:
    proc = analytics("sites", "add", "https://www.Example.com/", "--data-dir", "d", cwd=tmp_path)
    assert proc.stdout == "added example.com (UTC)\n"
    assert proc.stderr.splitlines()[-1] == (
        "note: 'https://www.Example.com/' was saved as 'example.com': a site is its bare domain,"
        " without https://, www. or a trailing slash"
    )
    plain = analytics("sites", "add", "blog.example.org", "--data-dir", "d", cwd=tmp_path)
    assert plain.stderr == ""


# -- serve -------------------------------------------------------------------------------


def test_serve_names_its_data_dir_and_url_and_waits_for_the_first_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        log = server.log.read_text()
    finally:
        assert server.stop() == 0
    url = f"http://127.0.0.1:{server.port}/"
    assert f"analytics: created a new data dir at {data}\n" in log
    assert f"analytics: data dir {data}\n" in log
    assert f"analytics: serving on 127.0.0.1:{server.port}; open {url}\n" in log
    assert f"analytics: no admin yet; the setup page {url}setup is waiting for the first one\n" in log
    # With an admin, no setup notice; a relative --data-dir is shown absolute.
    analytics("users", "add", "ana@example.org", "--password-stdin", "--data-dir", str(data), cwd=tmp_path, input=PASSWORD)
    server = start_server(data)
    try:
        log = server.log.read_text()
    finally:
        server.stop()
    assert "created a new data dir" not in log and "no admin yet" not in log
    assert f"analytics: data dir {data}\n" in log


def test_a_busy_port_is_refused_before_serve_announces_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = analytics("serve", "--data-dir", "data", "--port", str(port), cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert "serving on" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"Error: port {port} on 127.0.0.1 is already in use (another `analytics serve`?);"
        " choose another with --port or ANALYTICS_PORT"
    )


def test_serve_demo_keeps_the_demo_in_its_own_data_dir_and_refreshes_it(tmp_path: Path) -> None:
    data, demo_dir = tmp_path / "data", tmp_path / "data-demo"
    day = 86400
    now = time.time()
    # A year written an hour ago (small, for speed): the start only adds the last hour.
    first = demo.refresh(demo_dir, "demo.example", per_day=48, now=now - 3600)
    assert first is not None and first.events == 365 * 48
    server = start_server(data, "--demo", port=free_port())
    try:
        log = server.log.read_text()
    finally:
        server.stop()
    assert f"analytics: data dir {demo_dir}\n" in log
    assert not data.exists() or not any(data.iterdir())  # the real data dir gets nothing
    until = demo._read_marker(demo_dir / demo.MARKER)["demo.example"]
    assert now - 1 <= until <= time.time()
    proc = analytics("sites", "list", "--data-dir", str(demo_dir), cwd=tmp_path)
    assert proc.stdout == "demo.example\tEurope/Berlin\n"
    proc = analytics("export", "demo.example", "--format", "ndjson", "-o", "-", "--data-dir", str(demo_dir), cwd=tmp_path)
    days = sorted({line.split('"date":"')[1][:10] for line in proc.stdout.splitlines() if '"report":"visitors"' in line})
    assert 365 <= len(days) <= 367 and days[-1] >= time.strftime("%Y-%m-%d", time.gmtime(now - day))


# -- export to a closed pipe, a read-only data dir ----------------------------------------


def test_export_to_a_pipe_closed_early_stops_quietly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    analytics("demo", "blog.example.org", "--events", "20000", "--days", "400", "--data-dir", str(data), cwd=tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics", "export", "blog.example.org", "--format", "ndjson", "-o", "-",
         "--data-dir", str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(100)  # like `| head -c 100`: read a little, then close
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert head.startswith(b'{"report":')
    assert stderr == ""  # no "data dir is not usable: Broken pipe", no "Exception ignored"


def test_a_read_only_data_dir_is_named_in_plain_words(tmp_path: Path) -> None:
    data = tmp_path / "data"
    analytics("sites", "add", "blog.example.org", "--data-dir", str(data), cwd=tmp_path)
    for args in (("sites", "list"), ("sites", "add", "shop.example.org")):
        proc = read_only(data, *args, "--data-dir", str(data))
        assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
        assert proc.stderr == (
            f"Error: data dir {str(data)!r} is read-only for this user: analytics writes its databases"
            f" (and their -wal and -shm files) there, even to read them; give this user write access, or {CHOOSE}\n"
        )


def read_only(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with `data` read-only for it.

    File modes do not stop root, so as root the command runs in its own mount
    namespace where `data` is bind-mounted read-only (nothing changes outside it);
    otherwise the directory and its files lose their write bits for the run.
    """
    cmd = [sys.executable, "-m", "analytics", *args]
    if os.geteuid() == 0:
        d = shlex.quote(str(data))
        script = f"mount --bind {d} {d} && mount -o remount,bind,ro {d} {d} && exec {shlex.join(cmd)}"
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    else:
        modes = {p: p.stat().st_mode for p in (data, *data.iterdir())}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
    assert "Traceback" not in proc.stderr and "mount" not in proc.stderr, proc.stderr
    return proc


def test_a_data_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    proc = analytics("migrate", "--data-dir", "a-file/data", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"Error: cannot create data dir {str(tmp_path / 'a-file' / 'data')!r}: Not a directory; {CHOOSE}\n"
