"""The wheel works on its own: build it, install it into a fresh venv, serve, fetch the tracker.

Slow (a build and a venv with every dependency), so it runs once per suite. The
source is copied first, so building never writes build/ or *.egg-info into the
working tree.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import CHROME_UA, free_port

REPO = Path(__file__).parent.parent
SOURCES = ("pyproject.toml", "README.md", "analytics", "dashboards", "tracker.js")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def sh(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of someone who just created that venv: nothing from ours leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "ANALYTICS_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


@pytest.mark.server
def test_wheel_installs_into_a_fresh_venv_and_serves(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=IGNORE)
        else:
            shutil.copy2(path, src / name)

    dist = tmp_path / "dist"
    if importlib.util.find_spec("build") is not None:
        sh(sys.executable, "-m", "build", "--wheel", "--outdir", dist, src, cwd=tmp_path, timeout=300)
    else:  # the `build` frontend is in the test extras; pip builds the same wheel without it
        sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", dist, src, cwd=tmp_path, timeout=300)
    (wheel,) = dist.glob("analytics-*.whl")

    # Everything the service serves is inside the wheel, not only the Python modules.
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "analytics/cli.py",
        "analytics/store/sqlite/migrations/0001_init.sql",
        "analytics/accounts/migrations/0001_accounts.sql",
        "analytics/data/referrers.json",
        "analytics/data/spam_referrers.txt",
        "analytics/tracker/script.js",
        "analytics/dashboards/templates/base.html",
        "analytics/dashboards/templates/login.html",
        "analytics/dashboards/static/app.css",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    env = clean_env(venv)
    sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path, env=env, timeout=600)
    where = sh(venv / "bin" / "python", "-c", "import analytics; print(analytics.__file__)", cwd=tmp_path, env=env)
    assert where.strip().startswith(str(venv)), where  # the installed copy, not the working tree

    exe = venv / "bin" / "analytics"
    data = tmp_path / "data"
    assert sh(exe, "sites", "add", "blog.example.org", "--data-dir", data, cwd=tmp_path, env=env).startswith("added")

    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--data-dir", str(data), "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start: " + (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}

        script = httpx.get(f"{base}/js/script.js", timeout=30)
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert 200 < len(script.content) < 20_000 and "/api/event" in script.text

        event = {"n": "pageview", "u": "https://blog.example.org/installed", "d": "blog.example.org"}
        r = httpx.post(f"{base}/api/event", json=event, headers={"User-Agent": CHROME_UA}, timeout=10)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers

        page = httpx.get(f"{base}/login", timeout=10, follow_redirects=True)  # /setup until a user exists
        assert page.status_code == 200 and "<form" in page.text  # templates found
        assert httpx.get(f"{base}/static/app.css", timeout=10).status_code == 200  # static files found
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
