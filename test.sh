#!/usr/bin/env bash
# The whole test suite: set up .venv, lint, check formatting, run pytest against the
# embedded servers (started and stopped by the pytest plugin). Extra arguments go to
# pytest, e.g. ./test.sh -k login. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
./run.sh setup
echo "test.sh: ruff check"
.venv/bin/ruff check .
echo "test.sh: ruff format --check"
.venv/bin/ruff format --check .
echo "test.sh: pytest"
exec .venv/bin/python -m pytest "$@"
