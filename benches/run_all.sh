#!/usr/bin/env bash
# The peer benchmark harness of issue 7, in one command (see benches/README.md):
#
#   benches/run_all.sh            # N = 1M and 10M, every stage, 3 repetitions (hours)
#   benches/run_all.sh --quick    # smoke run on 20k records (a few minutes)
#   benches/run_all.sh --only batch,pulso,duckdb --sizes 1000000
#
# Builds Pulso in release (`pulso` and the `pulso-incremental` bench binary), makes the
# harness venv build/venv-bench (psutil, duckdb, pyarrow, confluent-kafka), then runs
# benches/peers/harness.py with the given options; the harness installs the peers into
# their own venvs under build/ and writes benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p pulso -p pulso-benches --bins

VENV=build/venv-bench
PY="$VENV/bin/python"
if ! [ -x "$PY" ] || ! "$PY" -c 'import psutil, duckdb, pyarrow, confluent_kafka' >/dev/null 2>&1; then
    mkdir -p build
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check psutil duckdb pyarrow confluent-kafka
fi
exec "$PY" benches/peers/harness.py "$@"
