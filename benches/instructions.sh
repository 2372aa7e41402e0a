#!/usr/bin/env bash
# Instructions a `pulso replay` executes, counted by valgrind's cachegrind: a figure that does
# not drift with the machine's speed (this VM's replay times move by ±10% within minutes), for
# comparing two builds of one change. Small inputs only: cachegrind runs ~40x slower than the
# binary (a 200k-record replay on one worker takes ~40 s).
#
#   benches/instructions.sh BIN DATA [WORKERS]    # e.g. target/release/pulso /tmp/d200k 1
#
# DATA is a folder from `pulso generate` (`pulso generate --seed 1 --scale 200000 --out DATA`).
# Compare `dist` builds (`cargo build --profile dist`) for changes under ~1%: a release build
# splits each crate into four codegen units, and a change in one module can move the inlining
# of another by ±2% (benches/RESULTS.md, forty-fifth session).
# Prints the binary, the input and the instructions executed (every thread, the whole command).
# Needs valgrind (Debian: `apt-get install valgrind`).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
bin=$1
data=$2
workers=${3:-1}
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$work/cachegrind.out" \
    "$bin" replay --input "$data" --out "$work/out" --workers "$workers" \
    > /dev/null 2> "$work/valgrind.log"
refs=$(grep -E 'I +refs:' "$work/valgrind.log" | awk '{print $NF}')
echo "$bin on $data, $workers worker(s): $refs instructions"
