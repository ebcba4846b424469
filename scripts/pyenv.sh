#!/usr/bin/env bash
# A Python virtual environment under .pdop/ for one purpose, built from a requirements file.
#
#   scripts/pyenv.sh <name> <requirements.txt>   prints the path of the environment's python on stdout
#
# The environment (.pdop/venv-<name>) is rebuilt only when the requirements file changes, so repeated
# `make test` runs reuse it. Progress goes to stderr. Needs python3 with venv (Debian: python3-venv).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NAME="${1:?usage: $0 <name> <requirements.txt>}"
REQS="${2:?usage: $0 <name> <requirements.txt>}"
VENV="$ROOT/.pdop/venv-$NAME"
STAMP="$VENV/.requirements.sha256"

log() { echo "pyenv: $*" >&2; }

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    log "installing python3-venv (apt)"
    # Never wait on a password prompt inside a test run: without root or passwordless sudo, say what is missing.
    if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo -n); fi
    if ! "${sudo_cmd[@]}" true 2>/dev/null; then
      log "python3 lacks venv/ensurepip: install the Debian package python3-venv, then retry"
      exit 1
    fi
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
  fi
  log "creating $VENV from $REQS"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" >&2
  echo "$want" >"$STAMP"
fi
echo "$VENV/bin/python"
