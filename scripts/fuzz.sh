#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS seconds each (default 60), one
# job, growing fuzz/corpus/<target>/. Not part of `make test` (which runs the `redact`
# target's property on stable, tests/fuzz_redact.rs). See fuzz/README.md.
#
#   FUZZ_SECONDS=240 scripts/fuzz.sh          # all targets
#   scripts/fuzz.sh url args                  # some targets
#   FUZZ_SANITIZER=none scripts/fuzz.sh       # if the ASan build fails on this machine
#
# cargo fuzz passes -Z flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-address}"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi

for t in "${targets[@]}"; do
    echo "== fuzz target $t: ${seconds}s"
    mkdir -p "corpus/$t"
    mkdir -p "artifacts/$t"
    # One job, one worker: libFuzzer then writes the run's log to fuzz-0.log, kept here
    # as artifacts/<target>/fuzz.log and printed at the end.
    status=0
    RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -jobs=1 -workers=1 -print_final_stats=1 || status=$?
    mv -f fuzz-0.log "artifacts/$t/fuzz.log"
    tail -n 20 "artifacts/$t/fuzz.log"
    if [ "$status" -ne 0 ]; then
        echo "fuzz target $t failed (exit $status); see fuzz/artifacts/$t/" >&2
        exit "$status"
    fi
done
