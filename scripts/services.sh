#!/usr/bin/env bash
# Starts and stops the five pdop services locally (used by `make run` / `make stop`).
#
#   scripts/services.sh start [--no-seed]   build, start all five in the background, wait until each is
#                                           SERVING, then create the six profile jurisdictions (pdop-seed)
#                                           unless --no-seed; existing ones are left as they are
#   scripts/services.sh stop                stop the processes `start` started (by their recorded PIDs)
#
# Logs: .pdop/logs/<service>.log. Services run with auth.dev_mode on and a local HS256 secret.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/.pdop"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
DEV_SECRET="${PDOP_AUTH__DEV_SECRET:-pdop-local-dev-secret}"
SERVICES=(registry:50051:9091 review:50052:9092 pricing:50053:9093 evaluation:50054:9094 disclosure:50055:9095)

log() { echo "pdop: $*" >&2; }

database_url_for() {
  # Same server and credentials as DATABASE_URL, database pdop_<service> (created at start-up).
  local base="${DATABASE_URL%%\?*}"
  echo "${base%/*}/pdop_$1"
}

start() {
  local seed=1
  case "${1:-}" in
    "") ;;
    --no-seed) seed="" ;;
    *) echo "usage: $0 start [--no-seed]" >&2; exit 2 ;;
  esac
  eval "$("$ROOT/scripts/infra.sh" up)"
  export DATABASE_URL NATS_URL
  log "building"
  (cd "$ROOT" && cargo build --bins --quiet)
  mkdir -p "$STATE/logs" "$STATE/run"
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r svc grpc admin <<<"$entry"
    if [ -f "$STATE/run/$svc.pid" ] && kill -0 "$(cat "$STATE/run/$svc.pid")" 2>/dev/null; then
      log "$svc already running (pid $(cat "$STATE/run/$svc.pid"))"
      continue
    fi
    PDOP_DATABASE__URL="$(database_url_for "$svc")" PDOP_NATS__URL="$NATS_URL" \
      PDOP_AUTH__DEV_MODE=true PDOP_AUTH__DEV_SECRET="$DEV_SECRET" \
      PDOP_GRPC__ADDR="127.0.0.1:$grpc" PDOP_ADMIN__ADDR="127.0.0.1:$admin" \
      PDOP_TELEMETRY__LOG_FORMAT="${PDOP_TELEMETRY__LOG_FORMAT:-pretty}" \
      nohup "$BIN/pdop-$svc" >"$STATE/logs/$svc.log" 2>&1 &
    echo $! >"$STATE/run/$svc.pid"
    log "started $svc (pid $!), log .pdop/logs/$svc.log"
  done
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r svc grpc admin <<<"$entry"
    local ok=""
    for _ in $(seq 1 300); do
      if curl -fsS "http://127.0.0.1:$admin/healthz" >/dev/null 2>&1; then ok=1; break; fi
      if ! kill -0 "$(cat "$STATE/run/$svc.pid")" 2>/dev/null; then break; fi
      sleep 0.2
    done
    if [ -z "$ok" ]; then
      log "$svc did not become SERVING; last log lines:"
      tail -n 20 "$STATE/logs/$svc.log" >&2
      exit 1
    fi
    log "$svc SERVING"
  done
  local token
  token="$("$BIN/pdop-token" --dev-secret "$DEV_SECRET" --roles data_authority,pricing_authority)"
  if [ -n "$seed" ]; then
    # Through the registry's API, as the national data authority: the same checks as anyone's call.
    log "seeding the profile jurisdictions (skip with: make run ARGS=--no-seed)"
    PDOP_TOKEN="$token" "$BIN/pdop-seed" --registry "http://127.0.0.1:50051" | sed 's/^/pdop: /' >&2
  fi
  cat <<EOT

pdop is running.
  service      gRPC              admin (healthz, metrics)
  registry     127.0.0.1:50051   http://127.0.0.1:9091
  review       127.0.0.1:50052   http://127.0.0.1:9092
  pricing      127.0.0.1:50053   http://127.0.0.1:9093
  evaluation   127.0.0.1:50054   http://127.0.0.1:9094
  disclosure   127.0.0.1:50055   http://127.0.0.1:9095
  public disclosure pages, feeds and proofs: http://127.0.0.1:8080/

${seed:+Jurisdictions: national > henan > zhengzhou; national > hubei; national > yunnan;
national > hebei > baoding > laiyuan.
}A sample token (data_authority, pricing_authority, acting in jurisdictions/national, which supervises
everything below it; 1 hour; mint more with target/debug/pdop-token --help):
  export PDOP_TOKEN='$token'
Stop with: make stop
EOT
}

stop() {
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r svc _ _ <<<"$entry"
    local pidfile="$STATE/run/$svc.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $svc (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$pidfile"
  done
  "$ROOT/scripts/infra.sh" down
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
