#!/usr/bin/env bash
# Verifies the Helm chart without a cluster, a helm binary or Docker (part of `make test`):
#   1. helm lint --strict, render with the defaults and every deploy/helm/pdop/ci/*.yaml, validate each object
#      against the Kubernetes schemas (the PrometheusRule against the vendored CRD schema in verify/crds/, the
#      dashboard as JSON, their expressions as PromQL), check the chart conventions, and check that
#      values.schema.json refuses the files in deploy/helm/verify/bad-values/;
#   2. config parity: start each rendered service's binary with its rendered ConfigMap and environment
#      (addresses pointed at the local PostgreSQL and a private NATS) and require SERVING, then SIGTERM; every
#      metric the rendered PrometheusRule and dashboard query must be on the binaries' /metrics;
#   3. require that parity fails for deploy/helm/verify/rejected-by-binary/*.yaml (configs the binary refuses).
# `scripts/helm-verify.sh --chart-only` runs step 1 alone (no binaries, PostgreSQL or NATS needed; `make lint`).
# Helm's Go code comes from the helm-python-sdk wheel, the schemas from kubernetes-validate, both installed into
# a virtual environment (.pdop/venv; PDOP_VENV overrides). Needs the binaries built (target/debug, or PDOP_BIN_DIR)
# and DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${PDOP_VENV:-$ROOT/.pdop/venv}"
VERIFY="$ROOT/deploy/helm/verify"
BIN_DIR="${PDOP_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

log() { echo "helm-verify: $*" >&2; }

stamp="$VENV/.requirements.sha256"
wanted="$(sha256sum "$VERIFY/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  log "installing $VERIFY/requirements.txt into $VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    # Debian splits venv support out of python3.
    log "installing python3-venv"
    if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$VERIFY/requirements.txt"
  echo "$wanted" >"$stamp"
fi
PY="$VENV/bin/python"

cd "$VERIFY"
if [ "${1:-}" = "--chart-only" ]; then
  exec "$PY" check_chart.py
fi

for svc in registry review pricing evaluation disclosure; do
  [ -x "$BIN_DIR/pdop-$svc" ] || { log "missing $BIN_DIR/pdop-$svc (cargo build --bins first)"; exit 1; }
done

"$PY" check_chart.py
"$PY" check_parity.py --bin-dir "$BIN_DIR"

rejected=0
for values in rejected-by-binary/*.yaml; do
  if "$PY" check_parity.py --bin-dir "$BIN_DIR" --values "$values" >"${TMPDIR:-/tmp}/pdop-helm-rejected.log" 2>&1; then
    log "FAIL: $values started every service, but the binary should refuse it"
    cat "${TMPDIR:-/tmp}/pdop-helm-rejected.log" >&2
    rejected=1
  else
    log "ok: the binary refuses $values ($(grep -c '^FAIL' "${TMPDIR:-/tmp}/pdop-helm-rejected.log") service(s) did not start)"
  fi
done
rm -f "${TMPDIR:-/tmp}/pdop-helm-rejected.log"
exit "$rejected"
