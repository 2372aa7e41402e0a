#!/usr/bin/env bash
# The soak benchmark (issue 15, item 6): `pulso run` on the built-in generator at 20,000
# records/s with time scale 600 (ten hours of event time per wall minute) and the short
# retention horizons of benches/soak.json, sampled every 10 s: RSS, open file descriptors
# and the records read/accepted/rejected. Writes the section "Soak" of benches/RESULTS.md
# (the other sections are left as they are) and the plot benches/soak.png.
#
#   benches/soak.sh                  # 20 minutes (about 200 h of event time)
#   benches/soak.sh --minutes 120    # the 2-hour variant, for manual runs
#   benches/soak.sh --minutes 2 --results /tmp/soak.md --plot /tmp/soak.png   # a trial
#
# Builds `pulso` with the `dist` profile (not with --no-build, nor when PULSO_BIN_DIR names
# a folder of built binaries, as benches/run_all.sh does), makes sure the harness venv
# build/venv-bench has matplotlib (and pyarrow, for the final counts), then runs
# benches/soak.py with the given options (`benches/soak.sh --help` lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

build=true
for arg in "$@"; do
    [[ "$arg" == "--no-build" ]] && build=false
done
if $build && [[ -z ${PULSO_BIN_DIR:-} ]]; then
    cargo build --profile dist -p pulso
fi

VENV=build/venv-bench
PY="$VENV/bin/python"
if ! [ -x "$PY" ]; then
    mkdir -p build
    python3 -m venv "$VENV"
fi
if ! "$PY" -c 'import matplotlib, pyarrow' >/dev/null 2>&1; then
    "$PY" -m pip install --quiet --disable-pip-version-check matplotlib pyarrow
fi
exec "$PY" benches/soak.py "$@"
