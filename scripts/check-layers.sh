#!/usr/bin/env bash
# Domain code is pure (design: SPINE §5): nothing under services/*/src/domain may use tonic, sqlx or async_nats.
# Run by `make test` and `make lint`; prints each offending line and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
found=$(grep -rnE '\b(tonic|sqlx|async_nats)::|^\s*(pub\s+)?use\s+(tonic|sqlx|async_nats)\b' services/*/src/domain 2>/dev/null || true)
if [ -n "$found" ]; then
    echo "domain/ must not use tonic, sqlx or async_nats (move the I/O to storage/ or grpc/):" >&2
    echo "$found" >&2
    exit 1
fi
