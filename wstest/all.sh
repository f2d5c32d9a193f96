#!/usr/bin/env bash
# Every test of autobahn-rs, as CI runs it (README's test command).
# Needs: the Rust toolchain, python3 with venv/pip (kosoku and other peers are
# installed from PyPI into venvs under target/ by the harnesses themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy (all targets, all features)"
cargo clippy --all-targets --all-features -- -D warnings

step "unit, integration and doc tests"
cargo test --all-features

step "feature subsets compile"
cargo check --no-default-features
cargo check --no-default-features --features tls
cargo check --no-default-features --features deflate

step "examples run to completion"
cargo build --examples
for ex in examples/*.rs; do
  name=$(basename "$ex" .rs)
  case "$name" in testee_*) continue ;; esac
  echo "--- example $name"
  timeout 120 cargo run -q --example "$name"
done

step "Autobahn Testsuite: our server (fuzzingclient)"
python3 wstest/run.py server -p 2 --allow informational

step "Autobahn Testsuite: our client (fuzzingserver)"
python3 wstest/run.py client --allow informational --no-build

step "all tests passed"
