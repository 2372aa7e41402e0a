#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts the services the tests use
# (tansu broker, ClickHouse server, a Python venv with pyarrow + duckdb, promtool, headless
# Chromium for the dashboard test), then checks
# formatting and lints and runs every test of the workspace (release build: the property
# tests run hundreds of dataflows).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/broker.sh start
scripts/clickhouse.sh start
scripts/pyenv.sh >/dev/null

export PULSO_KAFKA_BROKERS="${PULSO_KAFKA_BROKERS:-127.0.0.1:9092}"
export PULSO_CLICKHOUSE_URL="${PULSO_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
export PULSO_PYTHON_TESTS=1
# The release profile keeps line tables for profiling the binary (Cargo.toml); its ~60 test
# binaries do not need them. Without them a clean build's target/ is much smaller (measured in
# docs/OPERATIONS.md), which matters on a machine with little free disk: a CI run once failed
# when the linker ran out of space.
export CARGO_PROFILE_RELEASE_DEBUG="${CARGO_PROFILE_RELEASE_DEBUG:-0}"
# The broker-pause tests signal the broker process: ours, or the one already on the port.
PULSO_BROKER_PID="${PULSO_BROKER_PID:-$(cat build/broker.pid 2>/dev/null || pgrep -f 'tansu broker' | head -n 1)}"
export PULSO_BROKER_PID

# The Prometheus alerting rules shipped for on-call (Debian's prometheus gives promtool).
command -v promtool >/dev/null || { apt-get update -q && apt-get install -y -q prometheus >/dev/null; }
promtool test rules deploy/prometheus/pulso-alerts.test.yml

# The dashboard test loads the page in headless Chromium (Debian's chromium).
command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }
export PULSO_BROWSER_TESTS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
cargo test --workspace --release

# The disruptive tests, alone: they pause the broker / stop ClickHouse for 30 s, so nothing
# else may share the services meanwhile. (`--workspace` reuses the test binaries built above.)
PULSO_KAFKA_PAUSE_TEST=1 cargo test --workspace --release -- --exact broker_pause_loses_nothing
PULSO_KAFKA_PAUSE_TEST=1 cargo test --workspace --release -- \
    --ignored --exact broker_pause_loses_and_duplicates_nothing
PULSO_CLICKHOUSE_RESTART_TEST=1 cargo test --workspace --release -- \
    --exact clickhouse::tests::writer_survives_a_server_restart
