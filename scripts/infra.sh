#!/usr/bin/env bash
# PostgreSQL and NATS for running and testing pdop on this machine.
#
#   scripts/infra.sh up     install (apt) what is missing, start what is not running, print env lines
#   scripts/infra.sh down   stop only what `up` started (recorded under .pdop/started/)
#
# `up` prints `DATABASE_URL=...` and `NATS_URL=...` on stdout (progress goes to stderr), so callers
# can `eval "$(scripts/infra.sh up)"`. Existing DATABASE_URL / NATS_URL are respected and left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/.pdop"
STARTED="$STATE/started"
PG_PORT=5432
NATS_PORT=4222

log() { echo "infra: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 100); do
    port_open "$port" && return 0
    sleep 0.2
  done
  log "$what did not open port $port; see its log"
  exit 1
}

postgres_up() {
  if port_open "$PG_PORT"; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1 || apt_install postgresql
    local version
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
    echo "$version" >"$STARTED/postgresql"
    wait_port "$PG_PORT" PostgreSQL
  fi
}

# Prints a URL that connects: the machine's trust login if it works, else a `pdop` role it creates.
postgres_url() {
  local trust="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  if psql "$trust" -Atqc 'select 1' >/dev/null 2>&1; then
    echo "$trust"
    return
  fi
  log "the postgres user needs a password over TCP here; using a role pdop/pdop with CREATEDB"
  as_root runuser -u postgres -- psql -qc "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pdop') THEN
        CREATE ROLE pdop LOGIN CREATEDB PASSWORD 'pdop';
      END IF; END \$\$;" >&2
  echo "postgres://pdop:pdop@127.0.0.1:$PG_PORT/postgres"
}

nats_up() {
  if port_open "$NATS_PORT"; then
    log "NATS already running on 127.0.0.1:$NATS_PORT"
    return
  fi
  local bin
  bin="$(command -v nats-server || true)"
  [ -x /usr/sbin/nats-server ] && bin=/usr/sbin/nats-server
  if [ -z "$bin" ]; then
    apt_install nats-server
    bin=/usr/sbin/nats-server
  fi
  mkdir -p "$STATE/nats"
  log "starting nats-server with JetStream"
  start-stop-daemon --start --background --make-pidfile --pidfile "$STATE/nats.pid" \
    --exec "$bin" -- -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE/nats" -l "$STATE/nats.log"
  echo "$STATE/nats.pid" >"$STARTED/nats"
  wait_port "$NATS_PORT" nats-server
}

up() {
  mkdir -p "$STARTED"
  if [ -z "${DATABASE_URL:-}" ]; then
    postgres_up
    echo "DATABASE_URL=$(postgres_url)"
  else
    echo "DATABASE_URL=$DATABASE_URL"
  fi
  if [ -z "${NATS_URL:-}" ]; then
    nats_up
    echo "NATS_URL=nats://127.0.0.1:$NATS_PORT"
  else
    echo "NATS_URL=$NATS_URL"
  fi
}

down() {
  if [ -f "$STARTED/nats" ]; then
    local pidfile
    pidfile="$(cat "$STARTED/nats")"
    log "stopping the nats-server started by infra.sh (pid $(cat "$pidfile"))"
    start-stop-daemon --stop --oknodo --pidfile "$pidfile" --retry 10 >&2 || true
    rm -f "$STARTED/nats" "$pidfile"
  fi
  if [ -f "$STARTED/postgresql" ]; then
    log "stopping the PostgreSQL cluster started by infra.sh"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(cat "$STARTED/postgresql")" main stop >&2 || true
    rm -f "$STARTED/postgresql"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
