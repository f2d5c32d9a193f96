//! The counting global allocator of the targets (shared with the integration tests,
//! `tests/counting_alloc/mod.rs`), so targets can assert how much memory hostile input
//! makes the code under test allocate ("limits checked before allocation").
//!
//! libFuzzer's own `-malloc_limit_mb` only sees allocations through the sanitizer's
//! malloc hooks, i.e. not with `--sanitizer none` (which CI uses); this counter works
//! in every build. `peak_during` counts what the calling thread allocates, and the fuzzer
//! runs each input on one thread, so it describes the code under test exactly.

#[path = "../../tests/counting_alloc/mod.rs"]
mod counting;

pub use counting::{live, peak_during, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;
