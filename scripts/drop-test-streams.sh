#!/usr/bin/env bash
# Deletes the JetStream streams earlier test runs left (each test publishes in a namespace `t<12 hex digits>`, whose
# streams are named `T<12 HEX DIGITS>_<SERVICE>`). Streams of `pdop`, the namespace `make run` uses, are never touched.
set -euo pipefail
: "${NATS_URL:?NATS_URL must be set (scripts/infra.sh up prints it)}"
cd "$(dirname "$0")/.."
cargo run --quiet -p pdop-testkit --bin pdop-drop-test-streams
