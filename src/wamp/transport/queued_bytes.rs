//! A byte count of received messages held for the application, with a limit past
//! which whoever produces them waits (and so stops reading from the peer).
//!
//! The session charges each event, progressive result and invocation it queues for a
//! handler; the charge is
//! released when the application is done with the item. A producer that finds the
//! count at or past the limit waits until it drops below: one item may overshoot the
//! limit (items are never split), so what is held stays under the limit plus the
//! largest single message, which `max_decoded_size` bounds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Shared count of held bytes and its limit (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct QueuedBytes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    held: AtomicUsize,
    /// `usize::MAX`: no bound.
    limit: AtomicUsize,
    released: Notify,
}

/// Bytes charged to a [`QueuedBytes`], released on drop.
#[derive(Debug)]
pub(crate) struct HeldBytes {
    owner: Arc<Inner>,
    bytes: usize,
}

impl QueuedBytes {
    /// A count bounded by `limit` bytes (`0`: no bound).
    pub(crate) fn new(limit: usize) -> Self {
        let q = QueuedBytes {
            inner: Arc::new(Inner {
                held: AtomicUsize::new(0),
                limit: AtomicUsize::new(usize::MAX),
                released: Notify::new(),
            }),
        };
        q.set_limit(limit);
        q
    }

    /// Changes the limit (`0`: no bound); waiting producers re-check it.
    pub(crate) fn set_limit(&self, limit: usize) {
        let limit = if limit == 0 { usize::MAX } else { limit };
        self.inner.limit.store(limit, Ordering::Release);
        self.inner.released.notify_waiters();
    }

    /// Charges `bytes`, whatever the count: callers wait for [`Self::below_limit`]
    /// first.
    pub(crate) fn charge(&self, bytes: usize) -> HeldBytes {
        self.inner.held.fetch_add(bytes, Ordering::AcqRel);
        HeldBytes {
            owner: self.inner.clone(),
            bytes,
        }
    }

    /// Bytes held now.
    pub(crate) fn held(&self) -> usize {
        self.inner.held.load(Ordering::Acquire)
    }

    /// The count reached the limit: producers should wait.
    pub(crate) fn is_full(&self) -> bool {
        self.held() >= self.inner.limit.load(Ordering::Acquire)
    }

    /// Waits until the count is below the limit.
    /// Cancel-safe.
    pub(crate) async fn below_limit(&self) {
        loop {
            let released = self.inner.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release in between is not missed.
            released.as_mut().enable();
            if !self.is_full() {
                return;
            }
            released.await;
        }
    }
}

impl Drop for HeldBytes {
    fn drop(&mut self) {
        self.owner.held.fetch_sub(self.bytes, Ordering::AcqRel);
        self.owner.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn producers_wait_until_held_bytes_drop_below_the_limit() {
        let q = QueuedBytes::new(100);
        let a = q.charge(60);
        assert!(!q.is_full());
        let b = q.charge(60); // one item may overshoot
        assert!(q.is_full());
        assert_eq!(q.held(), 120);
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.below_limit().await }
        });
        drop(a);
        tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("woken by the release")
            .unwrap();
        drop(b);
        assert_eq!(q.held(), 0);
    }

    #[tokio::test]
    async fn no_limit_never_waits() {
        let q = QueuedBytes::new(0);
        let _h = q.charge(usize::MAX / 2);
        assert!(!q.is_full());
        q.below_limit().await;
    }
}
