#!/usr/bin/env bash
# The peer benchmark harness of issue 7, in one command (see benches/README.md):
#
#   benches/run_all.sh            # N = 1M and 10M, every stage, 3 repetitions (hours)
#   benches/run_all.sh --quick    # smoke run on 20k records (a few minutes)
#   benches/run_all.sh --only batch,pulso,duckdb --sizes 1000000
#   benches/run_all.sh --only soak [--soak-minutes 20]
#
# Builds Pulso with the `dist` profile (fat LTO, see Cargo.toml) and profile-guided
# optimisation (benches/pgo.sh: `pulso` and the `pulso-incremental` bench binary in
# target/pgo/dist/; `--no-pgo`: the `dist` build alone, in target/dist/; with PULSO_BIN_DIR
# set, the binaries in that folder, and nothing is built), makes the harness
# venv build/venv-bench (psutil, duckdb, pyarrow, confluent-kafka), then runs
# benches/peers/harness.py with the given options; the harness installs the peers into their
# own venvs under build/ and writes benches/RESULTS.md.
#
# The stage `soak` is benches/soak.sh (a long `pulso run` with short retention horizons),
# run after the harness: when `--only` names it, or without `--only` unless `--skip` names
# it; `--soak-minutes N` sets its length (default 20; with --quick 2). It writes its own
# section of the same RESULTS.md (`--results`).
set -euo pipefail
cd "$(dirname "$0")/.."

harness_args=()
soak=default
only_other=unset   # the --only list without soak: unset (no --only), empty or stages/engines
soak_minutes=""
quick=false
pgo=true
report_only=false
results=""
while (($#)); do
    case "$1" in
        --only | --skip) flag=$1 list=${2:-} && shift $(($# > 1 ? 2 : 1)) ;;
        --only=* | --skip=*) flag=${1%%=*} list=${1#*=} && shift ;;
        --soak-minutes) soak_minutes=${2:?--soak-minutes needs a number} && shift 2 && continue ;;
        --soak-minutes=*) soak_minutes=${1#*=} && shift && continue ;;
        --no-pgo) pgo=false && shift && continue ;;
        *)
            case "$1" in
                --quick) quick=true ;;
                --report-only) report_only=true ;;
                --results) results=${2:-} ;;
                --results=*) results=${1#*=} ;;
            esac
            harness_args+=("$1") && shift && continue
            ;;
    esac
    # A --only/--skip list: soak is taken out, the rest goes to the harness.
    rest=$(tr ',' '\n' <<<"$list" | sed 's/^ *//; s/ *$//' | grep -vx 'soak' | grep -v '^$' | paste -sd, - || true)
    if [[ ",${list// /}," == *,soak,* ]]; then
        [[ $flag == --only ]] && soak=yes || soak=no
    fi
    if [[ $flag == --only ]]; then
        only_other=$rest
    fi
    [[ -n $rest ]] && harness_args+=("$flag" "$rest")
done
if [[ $soak == default ]]; then
    [[ $only_other == unset ]] && soak=yes || soak=no
fi
$report_only && soak=no
run_harness=true
[[ $only_other == "" ]] && run_harness=false

if $run_harness; then
    if [[ -n ${PULSO_BIN_DIR:-} ]]; then
        echo "run_all: running the binaries in $PULSO_BIN_DIR (PULSO_BIN_DIR; nothing built)" >&2
    elif $pgo; then
        PULSO_BIN_DIR=$(benches/pgo.sh | tail -1)
    else
        cargo build --profile dist -p pulso -p pulso-benches --bin pulso --bin pulso-incremental
        PULSO_BIN_DIR=$PWD/target/dist
    fi
    # The harness and the soak run these binaries.
    export PULSO_BIN_DIR
    VENV=build/venv-bench
    PY="$VENV/bin/python"
    if ! [ -x "$PY" ] || ! "$PY" -c 'import psutil, duckdb, pyarrow, confluent_kafka' >/dev/null 2>&1; then
        mkdir -p build
        python3 -m venv "$VENV"
        "$PY" -m pip install --quiet --disable-pip-version-check psutil duckdb pyarrow confluent-kafka
    fi
    "$PY" benches/peers/harness.py "${harness_args[@]}"
fi
if [[ $soak == yes ]]; then
    soak_args=(--minutes "${soak_minutes:-$($quick && echo 2 || echo 20)}")
    [[ -n $results ]] && soak_args+=(--results "$results")
    $run_harness && soak_args+=(--no-build)
    benches/soak.sh "${soak_args[@]}"
fi
