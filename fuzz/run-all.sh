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
#   FUZZ_RUNS       stop each target after this many executions (if before the time)
#   FUZZ_CORPUS_DIR where the growing corpora live (default fuzz/corpus; CI uses an
#                   empty temporary one, so its runs start from the seeds alone)
#   FUZZ_RSS_MB     memory limit per target process in MiB (default 2048)
#   FUZZ_TARGET_DIR cargo target dir of the instrumented build (default fuzz/target;
#                   a shared CARGO_TARGET_DIR is not used: the sanitizer flags would
#                   hold its lock for minutes and share nothing with normal builds)
#
# Works on the stable toolchain: cargo-fuzz passes `-Z` flags to rustc, which
# RUSTC_BOOTSTRAP=1 allows. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`;
# wstest/all.sh installs a pinned one into target/cargo-tools when there is none).
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
corpus="${FUZZ_CORPUS_DIR:-corpus}"
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"

# One build of all targets; the runs below start the binaries directly (as
# `cargo fuzz run` would, without its per-run cargo check).
cargo fuzz build --sanitizer "$sanitizer"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bindir="$CARGO_TARGET_DIR/$triple/release"

mkdir -p artifacts/logs
failed=()
printf '| target | execs | exec/s | coverage | result |\n|---|---:|---:|---:|---|\n' >artifacts/logs/summary.md
for t in $targets; do
    mkdir -p "$corpus/$t" "seeds/$t" "artifacts/$t"
    log="artifacts/logs/$t.log"
    echo "== $t (${secs}s)" >&2
    if "$bindir/$t" -artifact_prefix="artifacts/$t/" "$corpus/$t" "seeds/$t" \
        -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -print_final_stats=1 ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see fuzz/$log, fuzz/artifacts/$t/)"
        failed+=("$t")
        grep -E -A3 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" >&2 || true
    fi
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    printf '| %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result" |
        tee -a artifacts/logs/summary.md >&2
done

if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
echo "all targets ran ${secs}s without findings" >&2
