# One-liners over cargo and scripts/. `make demo` and `make test` are the README's two set-up commands.
.PHONY: build test lint bench bench-scale demo fmt fuzz

build:
	cargo build --release

# Every test: unit, integration (the real binary, insta transcripts), doc tests, and the
# library without the CLI feature (what an embedding application compiles).
test:
	cargo test --all-targets
	cargo test --doc
	cargo test --lib --no-default-features --features sqlite,embed

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench:
	bash scripts/bench.sh
	bash scripts/bench-scale.sh

bench-scale:
	bash scripts/bench-scale.sh

# Runs each cargo-fuzz target (fuzz/) for FUZZ_SECONDS seconds (default 60), one job;
# installs cargo-fuzz if missing. Not part of `make test`; see fuzz/README.md.
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
