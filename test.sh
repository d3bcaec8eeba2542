#!/usr/bin/env bash
# The whole test suite: set up .venv, lint, check formatting, run pytest against the
# embedded servers (started and stopped by the pytest plugin). Extra arguments go to
# pytest, e.g. ./test.sh -k login. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
./run.sh setup
# Browser tests drive Debian's Chromium (nothing downloads a browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Debian chromium for tests/browser"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
  else
    echo "test.sh: /usr/bin/chromium is missing; as root: apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
fi
# The proxy tests (tests/e2e/test_proxy.py, tests/faults/test_drain.py) run Debian's
# HAProxy with deploy/haproxy.cfg, the file docker-compose.yml's proxy runs.
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Debian haproxy for the proxy tests"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy
  else
    echo "test.sh: haproxy is missing; as root: apt-get install -y haproxy" >&2
    exit 1
  fi
fi
# The npm socket.io-client that tests/e2e/test_socketio.py drives (Node is on the machine;
# Debian's nodejs otherwise): installed from the lockfile, again only when it changes.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Debian nodejs and npm for tests/e2e/test_socketio.py"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  else
    echo "test.sh: npm is missing; as root: apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi
sio_client=tests/e2e/socketio_client
sio_stamp="$sio_client/node_modules/.installed-$(sha256sum "$sio_client/package-lock.json" | cut -c1-16)"
if [ ! -f "$sio_stamp" ]; then
  echo "test.sh: npm ci in $sio_client"
  (cd "$sio_client" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$sio_stamp"
fi
export BROWSER_TESTS_REQUIRED=1
echo "test.sh: ruff check"
.venv/bin/ruff check .
echo "test.sh: ruff format --check"
.venv/bin/ruff format --check .
echo "test.sh: pytest"
exec .venv/bin/python -m pytest "$@"
