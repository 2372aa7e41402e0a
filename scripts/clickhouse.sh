#!/usr/bin/env bash
# The local ClickHouse server for the ClickHouse sink's tests and live runs, without Docker:
# Debian's `clickhouse-server` package (18.16 on bookworm) run as a plain background process
# on loopback.
#
#   scripts/clickhouse.sh install   # apt-get install clickhouse-server clickhouse-client (idempotent)
#   scripts/clickhouse.sh start     # install if needed, start in the background, wait for /ping;
#                                   # a no-op when a server already answers
#   scripts/clickhouse.sh stop      # stop the server started by `start` (SIGTERM, then SIGKILL)
#   scripts/clickhouse.sh status    # running or not; exit 0 when /ping answers Ok
#
# The server listens on 127.0.0.1 only (HTTP 8123, native 9000), keeps its data in
# /var/lib/clickhouse and its logs in /var/log/clickhouse-server. Its pid is kept in
# /var/run/pulso-clickhouse.pid, so `stop` works from any checkout. Must run as root.
# Environment: PULSO_CLICKHOUSE_HTTP_PORT (default 8123), PULSO_CLICKHOUSE_TCP_PORT (9000).
set -euo pipefail

HOST=127.0.0.1
HTTP_PORT="${PULSO_CLICKHOUSE_HTTP_PORT:-8123}"
TCP_PORT="${PULSO_CLICKHOUSE_TCP_PORT:-9000}"
CONFIG=/etc/clickhouse-server/config.xml
DATA=/var/lib/clickhouse
LOGDIR=/var/log/clickhouse-server
PIDFILE=/var/run/pulso-clickhouse.pid
STDOUT_LOG="$LOGDIR/pulso-stdout.log"
START_TIMEOUT=60
STOP_TIMEOUT=30

# True when the HTTP interface answers /ping with Ok.
answers() {
    [[ "$(curl -s --max-time 2 "http://$HOST:$HTTP_PORT/ping" 2>/dev/null || true)" == Ok* ]]
}

# The pid of the server we started, when it is still alive.
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
    if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then
        return 0
    fi
    if [[ "$(id -u)" != 0 ]]; then
        echo "clickhouse.sh: installing needs root (apt-get)" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client curl
}

start() {
    if answers; then
        echo "clickhouse: already running on http://$HOST:$HTTP_PORT"
        return 0
    fi
    if pid="$(running_pid)"; then
        echo "clickhouse: process $pid is alive but does not answer yet; waiting"
    else
        install
        mkdir -p "$DATA" "$LOGDIR"
        # Override the packaged listen_host (::1 and 127.0.0.1) so only IPv4 loopback is used.
        nohup clickhouse-server --config-file="$CONFIG" -- \
            --listen_host="$HOST" --http_port="$HTTP_PORT" --tcp_port="$TCP_PORT" \
            --path="$DATA/" --logger.log="$LOGDIR/clickhouse-server.log" \
            --logger.errorlog="$LOGDIR/clickhouse-server.err.log" \
            >"$STDOUT_LOG" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PIDFILE"
    fi
    local waited=0
    until answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "clickhouse: server exited during start-up; see $STDOUT_LOG and $LOGDIR" >&2
            tail -n 20 "$STDOUT_LOG" >&2 || true
            rm -f "$PIDFILE"
            exit 1
        fi
        if ((waited >= START_TIMEOUT)); then
            echo "clickhouse: no answer on http://$HOST:$HTTP_PORT/ping after ${START_TIMEOUT}s" >&2
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "clickhouse: running on http://$HOST:$HTTP_PORT (pid $pid)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        if answers; then
            echo "clickhouse: a server answers but was not started by this script; not stopping it" >&2
            exit 1
        fi
        echo "clickhouse: not running"
        return 0
    fi
    kill -TERM "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= STOP_TIMEOUT)); then
            echo "clickhouse: pid $pid still alive after ${STOP_TIMEOUT}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
    rm -f "$PIDFILE"
    echo "clickhouse: stopped"
}

status() {
    if answers; then
        echo "clickhouse: running on http://$HOST:$HTTP_PORT"
        return 0
    fi
    echo "clickhouse: not running"
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
