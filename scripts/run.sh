#!/usr/bin/env bash
# The main job on its embedded default: the built-in generator feeds every view live; the
# HTTP API and dashboard are served on 127.0.0.1:8080 and the Parquet views are refreshed in
# ./pulso-out/views. Extra arguments go to `pulso run` (e.g. --rate 5000 --workers 2; flags
# win over the config file).
#
# Without a --config or --brokers of your own it runs with scripts/run-default.json, made to
# run for ever (README, "The two commands"): the generator at 1,000 records/s with time scale
# 600 (ten hours of events per minute, a never-ending stream), no raw archive, and retention
# horizons that keep the engine's state bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

defaults=(--config scripts/run-default.json)
out=(--out pulso-out)
for arg in "$@"; do
    case "$arg" in
        --config | --config=* | --brokers | --brokers=*) defaults=() ;;
        --out | --out=*) out=() ;;
    esac
done

cargo build --release
exec ./target/release/pulso run "${out[@]}" "${defaults[@]}" "$@"
