#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_JOBS at a time), starting
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
#   FUZZ_LOG_DIR    logs and summary.md (default fuzz/artifacts/logs)
#   FUZZ_RSS_MB     memory limit per target process in MiB (default 2048)
#   FUZZ_JOBS       targets run side by side (default 1; CI uses 2, one per core)
#   FUZZ_BUILD_ONLY set to 1: build the targets and stop (fuzz/seeds_from_autobahn.py)
#   FUZZ_TARGET_DIR cargo target dir of the instrumented build (default fuzz/target;
#                   a shared CARGO_TARGET_DIR is not used: the sanitizer flags would
#                   hold its lock for minutes and share nothing with normal builds)
#
# Works on the stable toolchain (a sanitizer is a `-Z` flag, which RUSTC_BOOTSTRAP=1
# allows). Builds the targets itself with cargo-fuzz's flags: cargo-fuzz is needed
# only to reproduce or minimise a crash (`cargo fuzz run/tmin`, see README.md).
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
logs="${FUZZ_LOG_DIR:-artifacts/logs}"
# Every [[bin]] of fuzz/Cargo.toml (what `cargo fuzz list` shows).
targets="${FUZZ_TARGETS:-$(sed -n '/^\[\[bin\]\]/{n;s/^name = "\(.*\)"/\1/p}' Cargo.toml)}"

# One build of all targets with the flags `cargo fuzz build` (0.13.2) uses, so
# cargo-fuzz is not needed here and `cargo fuzz run` reuses this build.
triple="$(rustc -vV | sed -n 's/^host: //p')"
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags="$flags -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags="$flags -Cllvm-args=-sanitizer-coverage-pc-table"
flags="$flags --cfg fuzzing"  # comparison tracing: fuzz/Cargo.toml
flags="$flags -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
if [ "$sanitizer" != none ]; then
    flags="$flags -Zsanitizer=$sanitizer"
fi
flags="$flags -Cllvm-args=-sanitizer-coverage-stack-depth -Ccodegen-units=1"
RUSTFLAGS=" $flags${RUSTFLAGS:+ $RUSTFLAGS}" cargo build --manifest-path Cargo.toml \
    --target "$triple" --release --config 'profile.release.debug="line-tables-only"' --bins
bindir="$CARGO_TARGET_DIR/$triple/release"
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
    exit 0
fi

mkdir -p "$logs"
# One target: its log, a summary row on stdout, non-zero on a finding.
run_target() {
    local t="$1" log="$logs/$1.log" result status=0
    mkdir -p "$corpus/$t" "seeds/$t" "artifacts/$t"
    echo "== $t (${secs}s)" >&2
    if "$bindir/$t" -artifact_prefix="artifacts/$t/" "$corpus/$t" "seeds/$t" \
        -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -print_final_stats=1 ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log, fuzz/artifacts/$t/)"
        status=1
        grep -E -A3 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" >&2 || true
    fi
    local execs rate cov
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    printf '| %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result"
    return $status
}

# FUZZ_JOBS workers share one queue: each takes the next target not yet started
# (a counter under flock), so a slow target does not hold up the ones behind it.
jobs="${FUZZ_JOBS:-1}"
read -r -a all_targets <<<"$(echo $targets)"
rm -f "$logs"/rows.*
queue="$logs/.queue"
echo 0 >"$queue"
next_target() {
    local i
    {
        flock 9
        i=$(cat "$queue")
        echo $((i + 1)) >"$queue"
    } 9>"$queue.lock"
    echo "$i"
}
for ((w = 0; w < jobs; w++)); do
    (
        rc=0
        while i=$(next_target) && ((i < ${#all_targets[@]})); do
            run_target "${all_targets[$i]}" >>"$logs/rows.$w" || rc=1
        done
        exit $rc
    ) &
done
failed=0
for ((w = 0; w < jobs; w++)); do
    wait -n || failed=1
done
printf '| target | execs | exec/s | coverage | result |\n|---|---:|---:|---:|---|\n' >"$logs/summary.md"
for ((w = 0; w < jobs; w++)); do
    cat "$logs/rows.$w" >>"$logs/summary.md" 2>/dev/null || true
    rm -f "$logs/rows.$w"
done
rm -f "$queue" "$queue.lock"
cat "$logs/summary.md" >&2

if ((failed)); then
    echo "fuzzing found problems: $(grep -c FAILED "$logs/summary.md") target(s), see above" >&2
    exit 1
fi
echo "all targets ran ${secs}s without findings" >&2
