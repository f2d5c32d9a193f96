//! The sending side of a session's [`Lifecycle`] events, with a bound on the user
//! errors left unread.
//!
//! A router can make every event it sends fail its handler (or carry a payload the
//! codec refuses), one [`SessionEvent::UserError`] each. Those are reports, not work:
//! when the application leaves more than [`MAX_UNREAD_USER_ERRORS`] bytes of them
//! unread, further ones are logged and dropped rather than queued, so an application
//! that stopped reading its lifecycle (after `Joined`, say) neither grows without bound
//! nor stalls the session.

use super::*;
use crate::wamp::value::budget::{dict_heap_size, list_heap_size};

/// Bytes of unread [`SessionEvent::UserError`]s past which further ones are dropped.
pub(super) const MAX_UNREAD_USER_ERRORS: usize = 1 << 20;

/// An event with, for user errors, its charge to the unread backlog.
pub(super) type LifeItem = (SessionEvent, Option<HeldBytes>);

/// Where a session's lifecycle events go (cheap to clone).
#[derive(Debug, Clone)]
pub(super) struct LifeSender {
    tx: mpsc::UnboundedSender<LifeItem>,
    unread_errors: QueuedBytes,
    /// Reports are being dropped (warned about once per run of drops).
    dropping: Arc<AtomicBool>,
}

impl LifeSender {
    /// A sender and the receiver for its [`Lifecycle`].
    pub(super) fn channel() -> (LifeSender, mpsc::UnboundedReceiver<LifeItem>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let unread_errors = QueuedBytes::new(MAX_UNREAD_USER_ERRORS);
        let dropping = Arc::new(AtomicBool::new(false));
        (
            LifeSender {
                tx,
                unread_errors,
                dropping,
            },
            rx,
        )
    }

    /// Sends an event (the application may have stopped listening: its loss).
    pub(super) fn send(&self, event: SessionEvent) {
        let _ = self.tx.send((event, None));
    }

    /// Reports a handler's failure, unless too many reports are unread already.
    pub(super) fn user_error(&self, error: ApplicationError, message: String) {
        if self.unread_errors.is_full() {
            if self.dropping.swap(true, Ordering::Relaxed) {
                tracing::debug!(%error, %message, "lifecycle not read: user error dropped");
            } else {
                tracing::warn!(%error, %message, "lifecycle not read: dropping user errors");
            }
            return;
        }
        self.dropping.store(false, Ordering::Relaxed);
        let size = std::mem::size_of::<LifeItem>()
            .saturating_add(error.error.len())
            .saturating_add(list_heap_size(&error.args))
            .saturating_add(dict_heap_size(&error.kwargs))
            .saturating_add(dict_heap_size(&error.details))
            .saturating_add(message.len());
        let held = self.unread_errors.charge(size);
        let _ = self
            .tx
            .send((SessionEvent::UserError { error, message }, Some(held)));
    }
}
