#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, one after the other, starting
# from the committed seeds; exits non-zero if any target finds a crash, a timeout
# or a leak.
#
#   fuzz/run-all.sh [seconds-per-target]      (default 30)
#
# Environment:
#   FUZZ_TARGETS    space-separated subset of targets (default: all, `cargo fuzz list`)
#   FUZZ_SANITIZER  address (default) | none   (`none` runs ~2-3x faster)
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 10)
#   FUZZ_TARGET_DIR cargo target dir of the instrumented build (default fuzz/target;
#                   a shared CARGO_TARGET_DIR is not used: the sanitizer flags would
#                   hold its lock for minutes and share nothing with normal builds)
#
# Works on the stable toolchain: cargo-fuzz passes `-Z` flags to rustc, which
# RUSTC_BOOTSTRAP=1 allows. Needs `cargo install cargo-fuzz`.
# New inputs go to fuzz/corpus/<target>/ (git-ignored), crashes to
# fuzz/artifacts/<target>/, logs to fuzz/artifacts/logs/.
set -euo pipefail

secs="${1:-30}"
case "$secs" in
'' | *[!0-9]*)
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
sanitizer="${FUZZ_SANITIZER:-address}"
timeout="${FUZZ_TIMEOUT:-10}"
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"

# One build of all targets (the runs below reuse it).
cargo fuzz build --sanitizer "$sanitizer"

mkdir -p artifacts/logs
failed=()
printf '| target | execs | exec/s | result |\n|---|---:|---:|---|\n' >artifacts/logs/summary.md
for t in $targets; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="artifacts/logs/$t.log"
    echo "== $t (${secs}s)" >&2
    if cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout="$timeout" -print_final_stats=1 \
        >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log, fuzz/artifacts/$t/)"
        failed+=("$t")
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" >&2 || true
    fi
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    printf '| %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${rate:-?}" "$result" |
        tee -a artifacts/logs/summary.md >&2
done

if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
echo "all targets ran ${secs}s without findings" >&2
