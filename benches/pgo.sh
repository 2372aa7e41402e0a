#!/usr/bin/env bash
# Builds `pulso` and the `pulso-incremental` bench binary with the `dist` profile (fat LTO)
# and profile-guided optimisation (PGO), into target/pgo/dist/ (see benches/README.md,
# "PGO"):
#
#   1. an instrumented build (`-Cprofile-generate`, in target/pgo-gen/);
#   2. a training run of it on its own generated input (300,000 records of seed 7: the
#      harness measures seed 1): a replay with every view on 1 and 2 workers, the incremental
#      latency loop for 10 s, and `pulso run` on the built-in generator until it is done;
#   3. `llvm-profdata merge` of what the training wrote (installs Debian's llvm-19 when no
#      llvm-profdata of version 19 or later is found: rustc's raw profiles need one);
#   4. the optimised build (`-Cprofile-use`, in target/pgo/).
#
#   benches/pgo.sh        # about twice a `dist` build (two builds of ~12 min here) + 1 min
#
# Each build has its own target folder: RUSTFLAGS differ, so they would rebuild each other's
# dependencies in one. The last line printed is the folder of the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gen=$root/target/pgo-gen
use=$root/target/pgo
data=$root/target/pgo-data
# The two binaries the harness runs (each is one fat-LTO link of several minutes).
bins=(-p pulso -p pulso-benches --bin pulso --bin pulso-incremental)

profdata() {
    local tool version
    for tool in llvm-profdata-{30..19} llvm-profdata; do
        command -v "$tool" >/dev/null 2>&1 || continue
        version=$("$tool" --version 2>/dev/null | grep -oE 'version [0-9]+' | grep -oE '[0-9]+' | head -1)
        if [[ -n $version ]] && ((version >= 19)); then
            echo "$tool"
            return
        fi
    done
    echo "pgo: installing llvm-19 for llvm-profdata" >&2
    local sudo=""
    ((EUID == 0)) || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q llvm-19 >&2
    echo llvm-profdata-19
}
tool=$(profdata)

echo "pgo: instrumented build in $gen" >&2
RUSTFLAGS="-Cprofile-generate=$data/raw" cargo build --profile dist "${bins[@]}" --target-dir "$gen"
# Build scripts ran instrumented too: only the training counts.
rm -rf "$data"
mkdir -p "$data/raw"

echo "pgo: training" >&2
train=$data/input
out=$data/out
"$gen/dist/pulso" generate --out "$train" --seed 7 --scale 300000 >&2
for workers in 1 2; do
    "$gen/dist/pulso" replay --input "$train" --workers "$workers" --out "$out" >&2
done
"$gen/dist/pulso-incremental" --input "$train" --workers 2 \
    latency --rate 100000 --epoch-records 1000 --seconds 10 >&2
"$gen/dist/pulso" run --out "$out/live" --http 127.0.0.1:0 --rate 50000 --scale 300000 \
    --seed 7 --time-scale 600 --exit-when-done >&2
"$tool" merge -o "$data/merged.profdata" "$data/raw"

echo "pgo: optimised build in $use" >&2
RUSTFLAGS="-Cprofile-use=$data/merged.profdata" cargo build --profile dist "${bins[@]}" \
    --target-dir "$use"
echo "$use/dist"
