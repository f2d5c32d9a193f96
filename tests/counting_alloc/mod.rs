//! A counting global allocator, so tests and fuzz targets can assert how much memory
//! hostile input makes the code under test allocate ("limits checked before
//! allocation"). Shared by `tests/ws_bomb_memory.rs`, `tests/wamp_decode_memory.rs`
//! and the fuzz targets (`fuzz/src/alloc.rs`); each installs it with
//! `#[global_allocator]`, so only binaries that ask for it pay for the counting.
//!
//! Two sets of counters: process-wide ones ([`reset_peak`], [`peak_above`]) for
//! measurements spanning tasks and threads (a binary using them runs one measurement
//! at a time, serialised on [`MEASURING`]), and per-thread ones ([`peak_during`]) for
//! synchronous code, exact whatever other threads (the test harness, a runtime shutting
//! down) allocate meanwhile.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Forwards to [`System`], counting live bytes and their high-water mark.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's allocations minus its frees (frees of memory other threads
    /// allocated make it smaller, hence signed).
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
    // `try_with`: a thread being torn down may still allocate; it is not measured.
    let _ = THREAD_LIVE.try_with(|l| {
        let now = l.get() + n as isize;
        l.set(now);
        let _ = THREAD_PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Relaxed);
    let _ = THREAD_LIVE.try_with(|l| l.set(l.get() - n as isize));
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
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see above).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
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

/// Runs `f` and returns its result with the most memory it held at once, counting
/// only what this thread allocated and freed meanwhile (0 if it only freed): exact for
/// synchronous code, blind to work `f` hands to other threads.
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = THREAD_LIVE.with(Cell::get);
    THREAD_PEAK.with(|p| p.set(before));
    let r = f();
    let peak = THREAD_PEAK.with(Cell::get);
    (r, usize::try_from(peak - before).unwrap_or(0))
}
