# pdop: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BUF_VERSION := 1.75.0
BUF := .pdop/tools/node_modules/.bin/buf
DENY_VERSION := 0.20.2
DENY := .pdop/tools/bin/cargo-deny
TARGET := $(or $(CARGO_TARGET_DIR),target)
INFRA := eval "$$(scripts/infra.sh up)" && export DATABASE_URL NATS_URL

.PHONY: help run stop demo test lint fmt bench buf clean-test-dbs helm

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: buf ## Install/start PostgreSQL and NATS if needed, build, start all five, seed jurisdictions (ARGS=--no-seed skips)
	@scripts/services.sh start $(ARGS)

demo: ## Walk Yunnan and Hubei through the lifecycle on the services `make run` started; prints each entry's page
	cargo build --bins --quiet
	$(TARGET)/debug/pdop-demo

stop: ## Stop the services and whatever `make run` started
	@scripts/services.sh stop

test: buf ## Set up PostgreSQL and NATS, then fmt check, clippy -D warnings, buf lint and every test (nextest)
	@$(INFRA) && scripts/drop-test-dbs.sh && scripts/drop-test-streams.sh
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(BUF) lint
	$(BUF) format --diff --exit-code
	scripts/check-layers.sh
	cargo build --workspace --bins --quiet
	@$(INFRA) && cargo nextest run --workspace --no-fail-fast
	@$(INFRA) && scripts/helm-verify.sh
	@$(INFRA) && $(TARGET)/debug/pdop-loadgen suite --quick --bin-dir $(TARGET)/debug \
		--out-dir .pdop/bench/smoke --work-dir .pdop/bench/smoke-work >/dev/null

lint: buf $(DENY) ## fmt check, clippy, cargo deny (licenses, bans, sources), buf lint, buf format, buf breaking against main, helm chart lint
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(DENY) check bans licenses sources
	$(BUF) lint
	$(BUF) format --diff --exit-code
	scripts/check-layers.sh
	@if git rev-parse --verify --quiet main >/dev/null; then $(BUF) breaking --against '.git#branch=main'; fi
	scripts/helm-verify.sh --chart-only

fmt: buf ## Format Rust and protobuf sources in place
	cargo fmt --all
	$(BUF) format -w

helm: ## Lint, render and schema-validate the Helm chart, and start each service with its rendered config
	cargo build --workspace --bins --quiet
	@$(INFRA) && scripts/helm-verify.sh

bench: ## Measure each service against its baseline (release build, then a few minutes); README "Benchmarks"
	cargo build --release --workspace --bins --quiet
	@$(INFRA) && $(TARGET)/release/pdop-loadgen suite --bin-dir $(TARGET)/release

# cargo-deny from crates.io, built once into .pdop/tools (advisories are not checked: see deny.toml).
$(DENY):
	cargo install --quiet --locked --root .pdop/tools cargo-deny@$(DENY_VERSION) >&2

buf: $(BUF)
$(BUF):
	@mkdir -p .pdop/tools
	npm install --silent --no-audit --no-fund --prefix .pdop/tools @bufbuild/buf@$(BUF_VERSION) >&2
