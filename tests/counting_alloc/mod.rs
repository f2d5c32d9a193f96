//! A counting global allocator, so tests and fuzz targets can assert how much memory
//! hostile input makes the code under test allocate ("limits checked before
//! allocation"). Shared by `tests/ws_bomb_memory.rs`, `tests/wamp_decode_memory.rs`
//! and the fuzz targets (`fuzz/src/alloc.rs`); each installs it with
//! `#[global_allocator]`, so only binaries that ask for it pay for the counting.
//!
//! The counters are process-wide: a binary using them runs one measurement at a time
//! (the fuzzer runs one input at a time on one thread; the tests hold only
//! measurements that serialise on [`MEASURING`]).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Forwards to [`System`], counting live bytes and their high-water mark.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged
// (so `System`'s guarantees are the caller's); the counters are plain atomics and
// never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see above).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

/// Held by whoever measures, so measurements in one binary do not overlap.
pub static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Bytes allocated and not yet freed.
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Starts a measurement spanning awaits: returns what is live now, the baseline for
/// [`peak_above`].
pub fn reset_peak() -> usize {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    before
}

/// The most memory live since [`reset_peak`] returned `before`, above `before`.
pub fn peak_above(before: usize) -> usize {
    PEAK.load(Relaxed).saturating_sub(before)
}

/// Runs `f` and returns its result with the most memory that was live during it,
/// above what was live before (0 if it only freed).
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let r = f();
    (r, PEAK.load(Relaxed).saturating_sub(before))
}
