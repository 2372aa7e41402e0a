#!/usr/bin/env bash
# A Python environment with pyarrow and duckdb for the Parquet readability checks
# (scripts/check_parquet.py): creates build/venv-py when missing or incomplete (idempotent),
# then prints the path of its python.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=build/venv-py
PY="$VENV/bin/python"
if ! [ -x "$PY" ] || ! "$PY" -c 'import pyarrow, duckdb' >/dev/null 2>&1; then
    mkdir -p build
    python3 -m venv "$VENV" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check pyarrow duckdb >&2
fi
echo "$(pwd)/$PY"
