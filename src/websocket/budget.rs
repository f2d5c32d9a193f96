//! The server-wide budget for buffered message memory (`max_buffered_bytes_total`):
//! one counter shared by a factory's connections, each charging what it holds for its
//! handler (queued messages, the message being reassembled or inflated, a partial frame),
//! in units of [`GRANULE`].
//!
//! A connection that holds part of the budget reads (and inflates) more only while the
//! total, plus what its message in progress may grow by in one step (its buffer doubles),
//! is under the budget; otherwise it stops reading, so TCP pushes back on its peer,
//! and it is woken when another connection releases memory. A connection that holds
//! nothing may read while the total is under the budget plus a headroom, so that the
//! small messages of honest peers keep flowing while messages in progress hold the
//! budget. The driver bounds the wait (see `ServerOptions::max_buffered_bytes_total`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// Least headroom beyond the budget for connections that hold nothing: more than one
/// read (8 KiB) of compressed frames can inflate to (about 1032 × 8 KiB), so that a
/// connection holding nothing is not locked out by the budget's overshoot, which is one
/// such step per runtime worker.
const MIN_HEADROOM: usize = 16 << 20;

/// Unit in which connections are charged: what a connection holds is rounded down to a
/// multiple of it, so that the shared counter (a cache line all connections write) is
/// touched only by connections holding more than small messages, and a connection that
/// holds less counts as holding nothing.
pub(crate) const GRANULE: usize = 64 * 1024;

/// The counter shared by a factory's connections.
///
/// `held` and `waiting` are accessed with `SeqCst`: a waiter stores to `waiting` then
/// loads `held`, a releaser stores to `held` then loads `waiting`, and at least one of
/// them must see the other's store, or the wake-up is lost.
#[derive(Debug, Default)]
pub(crate) struct SharedBudget {
    held: AtomicUsize,
    next_id: AtomicU64,
    /// Number of entries in `waiters`, read without the lock on every release.
    waiting: AtomicUsize,
    waiters: Mutex<HashMap<u64, Waker>>,
}

impl SharedBudget {
    /// Bytes charged by all connections now.
    #[inline]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        // The map of wakers stays usable whatever a panicking holder left in it.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every waiting connection: each checks the budget again.
    fn wake_all(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let woken: Vec<Waker> = {
            let mut waiters = self.waiters();
            self.waiting.store(0, Ordering::SeqCst);
            waiters.drain().map(|(_, w)| w).collect()
        };
        woken.into_iter().for_each(Waker::wake);
    }
}

/// One connection's share of a [`SharedBudget`]: what it has charged, released on drop.
#[derive(Debug)]
pub(crate) struct BudgetCharge {
    shared: Arc<SharedBudget>,
    limit: usize,
    /// What a connection that holds nothing may read up to: the limit plus the headroom.
    idle_limit: usize,
    id: u64,
    charged: usize,
}

impl BudgetCharge {
    /// A connection's (empty) charge against `shared`, whose budget is `limit` bytes.
    pub(crate) fn new(shared: Arc<SharedBudget>, limit: usize) -> Self {
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        Self {
            shared,
            limit,
            idle_limit: limit.saturating_add((limit / 4).max(MIN_HEADROOM)),
            id,
            charged: 0,
        }
    }

    /// Whether this connection holds a charge (at least one [`GRANULE`]).
    #[inline]
    pub(crate) fn is_charged(&self) -> bool {
        self.charged > 0
    }

    /// Sets this connection's charge to `bytes` (rounded down to the [`GRANULE`]); a
    /// decrease wakes the waiting connections.
    #[inline]
    pub(crate) fn set(&mut self, bytes: usize) {
        let bytes = bytes & !(GRANULE - 1);
        if bytes == self.charged {
            return;
        }
        let before = std::mem::replace(&mut self.charged, bytes);
        if bytes > before {
            self.shared.held.fetch_add(bytes - before, Ordering::SeqCst);
        } else if bytes < before {
            self.shared.held.fetch_sub(before - bytes, Ordering::SeqCst);
            self.shared.wake_all();
        }
    }

    /// Whether this connection may read more now, its charge growing by up to `growth`
    /// (what its message buffer grows by when it doubles); if not, `waker` is woken when
    /// memory is released.
    #[inline]
    pub(crate) fn allows(&self, waker: &Waker, growth: usize) -> bool {
        if self.has_room(growth) {
            return true;
        }
        {
            let mut waiters = self.shared.waiters();
            if waiters.insert(self.id, waker.clone()).is_none() {
                self.shared.waiting.fetch_add(1, Ordering::SeqCst);
            }
        }
        // A release between the first check and the registration woke nobody.
        self.has_room(growth)
    }

    /// [`Self::allows`] for a connection that holds nothing, whatever its growth, when the
    /// total is under the headroom: the common case, answered without the growth.
    #[inline]
    pub(crate) fn allows_at_once(&self) -> bool {
        self.charged == 0 && self.shared.held() < self.idle_limit
    }

    #[inline]
    fn has_room(&self, growth: usize) -> bool {
        let held = self.shared.held();
        match self.charged {
            0 => held < self.idle_limit,
            _ => held.saturating_add(growth) < self.limit,
        }
    }
}

impl Drop for BudgetCharge {
    fn drop(&mut self) {
        self.set(0);
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            let mut waiters = self.shared.waiters();
            if waiters.remove(&self.id).is_some() {
                self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    const LIMIT: usize = 16 * GRANULE;

    #[test]
    fn a_holder_waits_past_the_budget_and_is_woken_by_a_release() {
        let shared = Arc::new(SharedBudget::default());
        let mut a = BudgetCharge::new(shared.clone(), LIMIT);
        let mut b = BudgetCharge::new(shared.clone(), LIMIT);
        a.set(10 * GRANULE);
        b.set(8 * GRANULE + 100);
        assert_eq!(shared.held(), 18 * GRANULE, "charged in whole granules");
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        assert!(!b.allows(&waker, 0), "over the budget, a holder waits");
        a.set(2 * GRANULE);
        assert!(flag.0.load(Ordering::SeqCst), "the release woke the waiter");
        assert!(b.allows(&waker, 0));
        assert!(
            !b.allows(&waker, 6 * GRANULE),
            "its buffer's next doubling would pass the budget"
        );
        drop(a);
        drop(b);
        assert_eq!(shared.held(), 0);
    }

    #[test]
    fn a_connection_holding_less_than_a_granule_reads_within_the_headroom() {
        let shared = Arc::new(SharedBudget::default());
        let mut hog = BudgetCharge::new(shared.clone(), LIMIT);
        let mut small = BudgetCharge::new(shared.clone(), LIMIT);
        small.set(GRANULE - 1);
        let waker = Waker::noop();
        hog.set(LIMIT + MIN_HEADROOM - GRANULE);
        assert!(!hog.allows(waker, 0));
        assert!(small.allows(waker, 0));
        hog.set(LIMIT + MIN_HEADROOM);
        assert!(!small.allows(waker, 0));
        drop(hog);
        assert!(small.allows(waker, 0));
        assert_eq!(shared.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(shared.held(), 0);
    }
}
