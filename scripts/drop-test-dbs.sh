#!/usr/bin/env bash
# Drops databases left by earlier test runs (each test creates its own `test_<uuid>` database).
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL must be set (scripts/infra.sh up prints it)}"
psql "$DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'test\_%'" |
  while read -r db; do
    psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
