//! The registrations and subscriptions of a [`Session`] that outlive one connection,
//! so the session can restore them when it joins again (after a reconnect, or a rejoin
//! after the router ended the session).
//!
//! Each entry has a local key that stays the same across connections; the
//! [`Registration`] and [`Subscription`] handles name their entry by that key, so they
//! keep working after a restore. The handler sits in a shared slot: when the
//! application registers the same procedure again after a reconnect (Autobahn-style
//! `on_join` code), the restored entry is *claimed* and its handler replaced instead of
//! registering twice.
//!
//! Plain data: the session task calls these methods and does the sending.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::{EventHandler, Reply};
use crate::wamp::error::Error;
use crate::wamp::session::Endpoint;
use crate::wamp::types::Revocation;
use crate::wamp::value::Dict;

/// A handler slot shared by an entry and the closures given to the protocol.
pub(super) type Slot<H> = Arc<Mutex<H>>;

/// Reads the current handler of a slot.
pub(super) fn current<H: Clone>(slot: &Slot<H>) -> H {
    slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// One registration or subscription the application made.
pub(super) struct Entry<H, C, R> {
    /// The procedure or topic (or pattern).
    pub uri: String,
    /// The REGISTER/SUBSCRIBE options.
    pub options: Dict,
    /// The handler, replaceable by a claim.
    pub handler: Slot<H>,
    /// The router's id(s) on the current connection, once confirmed.
    pub current: Option<C>,
    /// A REGISTER/SUBSCRIBE for this entry is in flight.
    pub pending: bool,
    /// The router confirmed it at least once: it is restored after a lost session.
    pub established: bool,
    /// Restored on this session and not yet asked for again by the application.
    pub claimable: bool,
    /// Who waits for the router's answer.
    pub waiters: Vec<Reply<R>>,
    /// Tells the handles when the router revokes the entry (dropped, without a
    /// value, when the entry ends otherwise).
    pub revoked: watch::Sender<Option<Revocation>>,
}

/// The entries of one kind, by key.
pub(super) struct Table<H, C, R> {
    next_key: u64,
    entries: BTreeMap<u64, Entry<H, C, R>>,
}

impl<H, C: Copy + PartialEq, R> Default for Table<H, C, R> {
    fn default() -> Self {
        Self {
            next_key: 1,
            entries: BTreeMap::new(),
        }
    }
}

/// The outcome of [`Table::claim`].
pub(super) enum Claim<H, C, R> {
    /// Adopted an entry the router confirmed: answer the reply with its id.
    Ready(u64, C, Reply<R>),
    /// Adopted an entry whose restore is under way: the reply waits for it.
    Waiting,
    /// Nothing to adopt: handler and reply back, for a new request.
    None(H, Reply<R>),
}

/// What the caller does when a request for an entry succeeded.
pub(super) enum Confirmed<R> {
    /// Answer these waiters; the URI is the entry's.
    Reply(String, Vec<Reply<R>>),
    /// The entry was removed meanwhile: undo the registration/subscription.
    Orphan,
}

impl<H, C: Copy + PartialEq, R> Table<H, C, R> {
    /// Adds an entry for a new request (pending, with one waiter); returns its key.
    pub fn insert(&mut self, uri: &str, options: Dict, handler: H, reply: Reply<R>) -> u64 {
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        self.entries.insert(
            key,
            Entry {
                uri: uri.to_owned(),
                options,
                handler: Arc::new(Mutex::new(handler)),
                current: None,
                pending: true,
                established: false,
                claimable: false,
                waiters: vec![reply],
                revoked: watch::Sender::new(None),
            },
        );
        key
    }

    /// The entry for `key`.
    pub fn get(&self, key: u64) -> Option<&Entry<H, C, R>> {
        self.entries.get(&key)
    }

    /// Claims a restored entry with the same URI and options that the application has
    /// not asked for again since the restore: its handler becomes `handler`. Returns the
    /// key and, if the router already confirmed the restore, the current id; otherwise
    /// `reply` waits for the confirmation. Gives `handler` and `reply` back if there is
    /// nothing to claim.
    pub fn claim(
        &mut self,
        uri: &str,
        options: &Dict,
        handler: H,
        reply: Reply<R>,
    ) -> Claim<H, C, R> {
        let found = self.entries.iter_mut().find(|(_, e)| {
            e.claimable
                && (e.pending || e.current.is_some())
                && e.uri == uri
                && e.options == *options
        });
        let Some((key, entry)) = found else {
            return Claim::None(handler, reply);
        };
        entry.claimable = false;
        *entry.handler.lock().unwrap_or_else(|e| e.into_inner()) = handler;
        match entry.current {
            Some(c) => Claim::Ready(*key, c, reply),
            None => {
                entry.waiters.push(reply);
                Claim::Waiting
            }
        }
    }

    /// Marks the entries to restore after a join as pending (and claimable) and
    /// returns their keys, URIs, options and handler slots, in key order.
    pub fn restore(&mut self) -> Vec<(u64, String, Dict, Slot<H>)> {
        self.entries
            .iter_mut()
            .filter(|(_, e)| e.established && e.current.is_none() && !e.pending)
            .map(|(key, e)| {
                e.pending = true;
                e.claimable = true;
                (*key, e.uri.clone(), e.options.clone(), e.handler.clone())
            })
            .collect()
    }

    /// The router confirmed the request for `key` with id(s) `c`.
    pub fn confirmed(&mut self, key: u64, c: C) -> Confirmed<R> {
        let Some(entry) = self.entries.get_mut(&key) else {
            return Confirmed::Orphan;
        };
        entry.current = Some(c);
        entry.pending = false;
        entry.established = true;
        Confirmed::Reply(entry.uri.clone(), std::mem::take(&mut entry.waiters))
    }

    /// The request for `key` failed with `error`. A new entry is removed; a restored
    /// one stays for the next session unless the router refused it (then it is removed
    /// and `true` returned: the application should hear of it). The waiters are returned
    /// to be failed.
    pub fn failed(&mut self, key: u64, error: &Error) -> (Vec<Reply<R>>, bool) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return (Vec::new(), false);
        };
        entry.pending = false;
        entry.claimable = false;
        let waiters = std::mem::take(&mut entry.waiters);
        let refused = matches!(
            error,
            Error::Application(_) | Error::InvalidUri(_) | Error::InvalidRequest(_)
        );
        if !entry.established || refused {
            let was_restore = entry.established;
            self.entries.remove(&key);
            return (waiters, was_restore);
        }
        (waiters, false)
    }

    /// Removes the entry for `key` (explicit unregister/unsubscribe or revocation).
    pub fn remove(&mut self, key: u64) -> Option<Entry<H, C, R>> {
        self.entries.remove(&key)
    }

    /// The router revoked the entries whose current id matches `pred`: their handles
    /// learn it, and they are removed (so never restored). Returns how many there were.
    pub fn revoke(&mut self, pred: impl Fn(C) -> bool, reason: Option<&str>) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| {
            let hit = e.current.is_some_and(&pred);
            if hit {
                e.revoked.send_replace(Some(Revocation {
                    reason: reason.map(str::to_owned),
                }));
            }
            !hit
        });
        before - self.entries.len()
    }

    /// A receiver of the revocation status of the entry for `key` (one that is already
    /// closed if there is no such entry).
    pub fn revocation(&self, key: u64) -> watch::Receiver<Option<Revocation>> {
        match self.entries.get(&key) {
            Some(e) => e.revoked.subscribe(),
            None => watch::Sender::new(None).subscribe(),
        }
    }

    /// The session ended: nothing is registered any more; established entries wait
    /// for the next join. (Pending requests have already failed.)
    pub fn session_ended(&mut self) {
        for e in self.entries.values_mut() {
            e.current = None;
            e.pending = false;
            e.claimable = false;
        }
    }

    /// Forgets everything (the application left the realm deliberately).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The registrations and subscriptions of one session.
#[derive(Default)]
pub(super) struct Registry {
    /// Registrations; the current id is the router's registration id.
    pub registrations: Table<Endpoint, u64, super::Registration>,
    /// Subscriptions; the current ids are the router's subscription id and the
    /// protocol's local handler id.
    pub subscriptions: Table<EventHandler, (u64, u64), super::Subscription>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::error::ApplicationError;
    use crate::wamp::value::Value;
    use tokio::sync::oneshot;

    type T = Table<&'static str, u64, u64>;

    fn reply() -> (Reply<u64>, oneshot::Receiver<Result<u64, Error>>) {
        oneshot::channel()
    }

    fn opts(k: &str) -> Dict {
        let mut d = Dict::new();
        d.insert(k.into(), Value::from(true));
        d
    }

    #[test]
    fn new_entry_is_confirmed_then_restored_and_claimed() {
        let mut t = T::default();
        let (r, _rx) = reply();
        let key = t.insert("com.x", opts("a"), "h1", r);
        assert!(t.restore().is_empty(), "nothing to restore while pending");
        let Confirmed::Reply(uri, w) = t.confirmed(key, 10) else {
            panic!("orphan")
        };
        assert_eq!((uri.as_str(), w.len()), ("com.x", 1));
        assert!(t.restore().is_empty(), "still registered");

        t.session_ended();
        assert_eq!(t.get(key).map(|e| e.current), Some(None));
        let restored = t.restore();
        assert_eq!(restored.len(), 1);
        assert_eq!(restored[0].0, key);
        assert!(t.restore().is_empty(), "already pending");

        // A different option set does not claim; the same one does, once.
        let (r, _rx) = reply();
        assert!(matches!(
            t.claim("com.x", &opts("b"), "h2", r),
            Claim::None("h2", _)
        ));
        let (r, _rx) = reply();
        assert!(matches!(
            t.claim("com.x", &opts("a"), "h2", r),
            Claim::Waiting
        ));
        assert_eq!(current(&t.get(key).expect("entry").handler), "h2");
        let (r, _rx) = reply();
        assert!(matches!(
            t.claim("com.x", &opts("a"), "h3", r),
            Claim::None(..)
        ));
        let Confirmed::Reply(_, w) = t.confirmed(key, 11) else {
            panic!("orphan")
        };
        assert_eq!(w.len(), 1, "the claimant waits for the restore");
    }

    #[test]
    fn claim_after_confirmation_answers_at_once() {
        let mut t = T::default();
        let (r, _rx) = reply();
        let key = t.insert("com.x", Dict::new(), "h1", r);
        let _ = t.confirmed(key, 1);
        t.session_ended();
        let _ = t.restore();
        let _ = t.confirmed(key, 2);
        let (r, _rx) = reply();
        assert!(matches!(
            t.claim("com.x", &Dict::new(), "h2", r),
            Claim::Ready(k, 2, _) if k == key
        ));
    }

    #[test]
    fn failures_remove_new_entries_and_refused_restores() {
        let mut t = T::default();
        let (r, _rx) = reply();
        let key = t.insert("com.x", Dict::new(), "h", r);
        let (w, report) = t.failed(key, &Error::TransportLost);
        assert_eq!((w.len(), report, t.len()), (1, false, 0));

        let (r, _rx) = reply();
        let key = t.insert("com.y", Dict::new(), "h", r);
        let _ = t.confirmed(key, 5);
        t.session_ended();
        let _ = t.restore();
        // Lost again while restoring: kept for the next session.
        let (w, report) = t.failed(key, &Error::TransportLost);
        assert_eq!((w.len(), report, t.len()), (0, false, 1));
        let _ = t.restore();
        let refused =
            Error::Application(ApplicationError::new("wamp.error.procedure_already_exists"));
        let (_, report) = t.failed(key, &refused);
        assert!(report);
        assert_eq!(t.len(), 0);
        assert!(matches!(t.confirmed(key, 6), Confirmed::Orphan));
    }

    #[test]
    fn removal_by_key_and_by_current_id() {
        let mut t = T::default();
        let (r, _rx) = reply();
        let a = t.insert("a", Dict::new(), "h", r);
        let (r, _rx) = reply();
        let b = t.insert("b", Dict::new(), "h", r);
        let _ = t.confirmed(a, 1);
        let _ = t.confirmed(b, 2);
        let status = t.revocation(b);
        assert_eq!(t.revoke(|c| c == 2, Some("gone")), 1);
        assert!(t.get(b).is_none());
        assert_eq!(
            *status.borrow(),
            Some(Revocation {
                reason: Some("gone".into())
            })
        );
        // A revoked entry is not restored.
        t.session_ended();
        assert!(t.restore().iter().all(|(k, ..)| *k != b));
        assert!(t.remove(a).is_some());
        assert!(t.remove(a).is_none());
        let (r, _rx) = reply();
        let _ = t.insert("c", Dict::new(), "h", r);
        t.clear();
        assert_eq!(t.len(), 0);
    }
}
