#!/usr/bin/env bash
# The main job on its embedded default: the built-in generator feeds every view live; the
# HTTP API and dashboard are served on 127.0.0.1:8080 and the Parquet views are refreshed in
# ./pulso-out/views. Extra arguments go to `pulso run` (e.g. --rate 20000 --workers 2).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
exec ./target/release/pulso run --out pulso-out "$@"
