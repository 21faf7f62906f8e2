#!/bin/sh
# The README's test command: installs everything the suite needs on a bare Debian
# machine (as root, or as a user with sudo, or inside an activated virtualenv),
# then runs the whole suite. Extra arguments go to pytest.
set -eu
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# OS packages: Chromium for the browser tests, wrk for the ingest benchmark,
# and venv support where Debian splits it out.
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
if [ -z "${VIRTUAL_ENV:-}" ] && ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    missing="$missing python3-venv"
fi
if [ -n "$missing" ]; then
    echo "installing OS packages:$missing"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The Python package with its test extras, in a project virtualenv unless one is active.
if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    . .venv/bin/activate
fi
python -m pip install -q --disable-pip-version-check -e ".[test]"

exec python -m pytest "$@"
