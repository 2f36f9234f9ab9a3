# The single entry point for people and CI. `make test` is the test command.
SHELL := /bin/bash
.DEFAULT_GOAL := test

SBF_TARGET := bpfel-unknown-none
SBF_OUT := target/$(SBF_TARGET)/release/libgradual.so
DEPLOY_SO := target/deploy/gradual.so
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup browser client idl nextest sbf test cu demo verify bench-sim bench-sim-100k bench-growth bench-sandbox validator e2e fmt lint check-make

## Install the SBF toolchain if missing (Debian packages and sbpf-linker).
setup:
	bash scripts/setup-sbf.sh

## Install what the dashboard's browser test needs if missing (Debian's chromium, playwright-core from npm).
browser:
	bash scripts/setup-browser.sh

## Install what the generated TypeScript client needs if missing (Node.js, npm, clients/js's packages from its lock file).
client:
	bash scripts/setup-client.sh

## Regenerate the Codama IDL idl/gradual.json from the interface crate, and the TypeScript client clients/js/src/generated from it.
idl: client
	cargo check --locked -q -p gradual-interface --features codama
	cargo run --locked -q -p gradual-idl
	node clients/js/render.mjs

## Build target/deploy/gradual.so from source, installing the toolchain first if missing.
sbf: setup
	bash scripts/build-sbf.sh

## Install cargo-nextest if missing (the machine's toolchain usually has it).
nextest:
	@cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked

## Setup, the SBF build, lints and every test: every test binary side by side
## (cargo-nextest, .config/nextest.toml). The workspace has no doctests.
## On a fresh machine the installs (apt and npm downloads, the sbpf-linker
## build) run beside the lint build, which needs none of them.
test: check-make nextest
	$(MAKE) --no-print-directory -j4 --output-sync=target setup browser client lint
	$(MAKE) --no-print-directory sbf
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) cargo nextest run --workspace --locked

## Regenerate docs/compute-units.md from the built .so.
cu: sbf
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) GRADUAL_WRITE_CU_TABLE=$(CURDIR)/docs/compute-units.md \
		cargo test -p gradual-tests --locked --test compute_units -- --nocapture

## The embedded demo: 8 nodes, 6 rounds, one bad, one offline, one bad proposer.
demo: sbf
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) cargo run --locked -p gradual-node --bin gradual -- \
		simulate --nodes 8 --rounds 6 --bad 1 --offline 1 --bad-proposer 1

## 1,000 and 10,000 nodes for 5 rounds on the embedded chain, optimised build; rows recorded in docs/benchmarks.md.
bench-sim: sbf
	cargo build --profile bench-sim --locked -p gradual-node --bin gradual
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) python3 scripts/bench-sim.py target/bench-sim/gradual 1000 10000

## The same at 100,000 nodes (about 10 minutes); recorded beside the others.
bench-sim-100k: sbf
	cargo build --profile bench-sim --locked -p gradual-node --bin gradual
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) python3 scripts/bench-sim.py target/bench-sim/gradual 100000

## Time per node from 1,000 to 16,000 nodes, median of 3 passes (about 4 minutes).
bench-growth: sbf
	cargo build --profile bench-sim --locked -p gradual-node --bin gradual
	GRADUAL_SO=$(CURDIR)/$(DEPLOY_SO) python3 scripts/bench-growth.py target/bench-sim/gradual 3

## What the sandbox adds to a task call's start, Python and Node (median of 60 calls each way).
bench-sandbox:
	cargo bench --profile bench-sim --locked -p gradual-node --bench sandbox_start

## A verifiable build: the .so from two clean clones of HEAD in different directories has one sha256.
verify: setup
	bash scripts/verify-build.sh

## Install solana-test-validator (Agave 4.2.2) into ~/.cache/gradual; idempotent.
validator:
	bash scripts/install-validator.sh

## End to end on solana-test-validator: separate node processes, inspected through the CLI.
e2e: sbf validator
	bash scripts/e2e.sh

fmt:
	cargo fmt --all

## Every target that builds the .so installs the SBF toolchain first, so each works as the first command;
## and the end-to-end script's guards (free ports, bounded waits, its own chain) work.
check-make:
	bash scripts/check-make.sh sbf test cu demo bench-sim e2e
	bash scripts/test-e2e-lib.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	python3 scripts/check-cycles.py
