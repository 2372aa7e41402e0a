#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace (release build:
# the property tests run hundreds of dataflows). Starts the services the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
cargo test --workspace --release
