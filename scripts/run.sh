#!/usr/bin/env bash
# The main job on its embedded default: generate a stream, replay it through every view,
# write the views as Parquet under ./build/demo/out/views.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
./target/release/pulso generate --out build/demo/input --scale "${SCALE:-200000}" --seed 1
./target/release/pulso replay --input build/demo/input --out build/demo/out --workers 2
