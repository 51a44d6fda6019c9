#!/usr/bin/env bash
# Run CMD against a throwaway PostgreSQL 15 cluster:
#   scripts/with-postgres.sh CMD [ARGS...]
# Starts a private cluster (temp dir, 127.0.0.1 on a free port, trust auth, fsync off),
# runs CMD with --postgresql-host/--postgresql-port/--postgresql-user appended and
# PGHOST/PGPORT/PGUSER/ORDERFLOW_PG_PORT exported, then stops the cluster and removes
# the directory on every exit path. Exits with CMD's exit code.
set -uo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=postgres

log() { echo "with-postgres: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi
if [ ! -x "$PG_BIN/pg_ctl" ]; then
    log "$PG_BIN/pg_ctl not found; run scripts/ensure-system-deps.sh (Debian package postgresql)"
    exit 2
fi

# runuser when root (initdb refuses root); as the postgres user itself, run directly.
if [ "$(id -u)" -eq 0 ]; then
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
elif [ "$(id -un)" = "$PG_USER" ]; then
    as_pg() { "$@"; }
else
    log "must run as root (or as $PG_USER) to start the server as $PG_USER"
    exit 2
fi

PGDIR=""
PG_STARTING=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$PGDIR" ] && [ -d "$PGDIR" ]; then
        if [ "$PG_STARTING" -eq 1 ]; then
            # Interrupted inside `pg_ctl start`: the postmaster runs in its own session, so it
            # may still be coming up; wait (max 5 s) until it wrote its pid file or is gone.
            for _ in $(seq 1 50); do
                [ -f "$PGDIR/postmaster.pid" ] && break
                pgrep -f -- "bin/postgres -D $PGDIR " >/dev/null || break
                sleep 0.1
            done
        fi
        if [ -f "$PGDIR/postmaster.pid" ]; then
            local t0; t0=$(now)
            if as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" -m fast -w -t 30 stop >/dev/null 2>&1; then
                log "stopped in $(elapsed "$t0" "$(now)") s"
            else
                # Last resort: never leave a server behind.
                local pid; pid=$(head -n1 "$PGDIR/postmaster.pid" 2>/dev/null || true)
                if [ -n "$pid" ]; then
                    log "pg_ctl stop failed; killing postmaster $pid"
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            fi
        fi
        rm -rf -- "$PGDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

t_start=$(now)
PGDIR=$(mktemp -d /tmp/orderflow-pg.XXXXXX) || exit 1
chown "$PG_USER" "$PGDIR" && chmod 700 "$PGDIR" || exit 1
if ! initdb_out=$(as_pg "$PG_BIN/initdb" -D "$PGDIR" -U "$PG_USER" --auth=trust -E UTF8 2>&1); then
    log "initdb failed:"; echo "$initdb_out" >&2
    exit 1
fi

# The free port can be taken between probing and binding: try a few.
started=0
for attempt in 1 2 3; do
    PORT=$(free_port) || { log "could not find a free port"; exit 1; }
    PG_STARTING=1
    if as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/log" -w -t 60 \
        -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null 2>&1; then
        PG_STARTING=0
        started=1
        break
    fi
    PG_STARTING=0
    log "server failed to start on port $PORT (attempt $attempt)"
    [ -f "$PGDIR/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" -m immediate -w stop >/dev/null 2>&1
done
if [ "$started" -ne 1 ]; then
    log "PostgreSQL did not start; server log:"
    cat "$PGDIR/log" >&2 2>/dev/null
    exit 1
fi

ready=0
for _ in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$PG_USER"; then ready=1; break; fi
    sleep 0.1
done
if [ "$ready" -ne 1 ]; then
    log "PostgreSQL not accepting connections; server log:"
    cat "$PGDIR/log" >&2 2>/dev/null
    exit 1
fi
log "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$PORT (data $PGDIR), started in $(elapsed "$t_start" "$(now)") s"

export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER="$PG_USER" ORDERFLOW_PG_PORT="$PORT"
"$@" --postgresql-host=127.0.0.1 --postgresql-port="$PORT" --postgresql-user="$PG_USER"
exit $?
