# One-liners over cargo and scripts/. `make demo` and `make test` are the README's two set-up commands.
.PHONY: build test lint bench bench-scale demo fmt fuzz fuzz-ci

build:
	cargo build --release

# Every test: unit, integration (the real binary, insta transcripts), doc tests, and the
# library without the CLI feature (what an embedding application compiles). tests/gate.rs
# runs the jobserver example, which `cargo test` builds only as a test harness.
test:
	cargo build --example jobserver
	cargo test --all-targets
	cargo test --doc
	cargo test --lib --no-default-features --features sqlite,embed

# `cargo test --all-targets` (so `make test`) runs the redaction fuzz target's property at CI
# size on the stable toolchain: every input of fuzz/corpus/{redact,url} plus 3,000 seeded
# mutations of them (tests/fuzz_redact.rs; no libFuzzer, no nightly). This runs it larger.
fuzz-ci:
	FUZZ_REDACT_MUTATIONS=$${FUZZ_REDACT_MUTATIONS:-10000} cargo test --test fuzz_redact

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib

bench:
	bash scripts/bench.sh
	bash scripts/bench-scale.sh

bench-scale:
	bash scripts/bench-scale.sh

# Runs each cargo-fuzz target (fuzz/) for FUZZ_SECONDS seconds (default 60), one job;
# installs cargo-fuzz if missing. Not part of `make test` (which runs the `redact` target's
# property on stable; see fuzz-ci below); see fuzz/README.md.
fuzz:
	bash scripts/fuzz.sh

# Builds the binary and migrates demo/jobs.db with the example migrations/.
demo:
	cargo build --release
	mkdir -p demo
	./target/release/migrate -path migrations -database sqlite3://demo/jobs.db up
	./target/release/migrate -path migrations -database sqlite3://demo/jobs.db version

fmt:
	cargo fmt

.PHONY: dist test-empty-root

# The x86_64 Linux release archive in dist/: a static, stripped binary with README, LICENSE
# and CHANGELOG, and SHA256SUMS (scripts/dist.sh).
dist:
	bash scripts/dist.sh

# Runs `make dist`'s binary alone in an empty root with chroot, what the container image
# holds (tests/empty_root.rs); needs root and `make dist` first, and fails without them.
test-empty-root:
	MIGRATE_REQUIRE_EMPTY_ROOT=1 cargo test --test empty_root
