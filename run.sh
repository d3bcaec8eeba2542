#!/usr/bin/env bash
# ./run.sh                 set up, start the embedded servers, migrate, load demo data,
#                          serve on $HOST:$PORT (default 127.0.0.1:8000); Ctrl-C stops all.
# ./run.sh setup           only create .venv and install the project.
# ./run.sh manage ARGS...  run manage.py ARGS with the same servers (reuses the ones a
#                          running ./run.sh started, or starts them for the command).
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  local python="${PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        python="$candidate"; break
      fi
    done
  fi
  [ -n "$python" ] || { echo "run.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
  if [ ! -x .venv/bin/python ]; then
    echo "run.sh: creating .venv with $python"
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "run.sh: installing the project and its dependencies into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

serve() {
  local host="${HOST:-127.0.0.1}" port="${PORT:-8000}"
  export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
  # The demo serves the reference design's own frontend too (README, "Coming from the
  # reference backend"), from its development origins.
  export COMPAT_ENABLED="${COMPAT_ENABLED:-1}"
  export COMPAT_ALLOWED_ORIGINS="${COMPAT_ALLOWED_ORIGINS:-http://localhost:3001,http://127.0.0.1:3001}"
  exec .venv/bin/python -m chat_project.dev.servers exec --data-dir "${DATA_DIR:-.data}" -- \
    bash -c 'set -e
      .venv/bin/python manage.py migrate --noinput
      .venv/bin/python manage.py demo_data
      .venv/bin/python manage.py reconcile_agents
      echo "run.sh: serving on http://'"$host:$port"'/  (customer page /chat/, agent console /agent/, admin /admin/)"
      limit="${WS_TRANSPORT_MAX_BYTES:-131072}"
      exec .venv/bin/python -m chat_project.serve -b '"$host"' -p '"$port"' \
        --websocket-max-message-size "$limit" --websocket-max-frame-size "$limit" \
        chat_project.asgi:application'
}

case "${1:-serve}" in
  setup) setup ;;
  serve) setup; serve ;;
  manage) shift; setup
    export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"  # development, as serve (a key is needed without)
    exec .venv/bin/python -m chat_project.dev.servers exec --data-dir "${DATA_DIR:-.data}" -- \
      .venv/bin/python manage.py "$@" ;;
  *) echo "usage: ./run.sh [serve|setup|manage ARGS...]" >&2; exit 2 ;;
esac
