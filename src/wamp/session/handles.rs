//! The handles a session gives out for registrations, subscriptions and progressive
//! results.

use tokio::sync::watch;

use super::*;
use crate::wamp::types::Revocation;

async fn wait_revoked(mut rx: watch::Receiver<Option<Revocation>>) -> Option<Revocation> {
    rx.wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|r| r.clone())
}

/// A subscription of one local handler (Autobahn's `ISubscription`).
///
/// It names the session's entry for this handler, so it stays valid when the session
/// restores the subscription after a reconnect (see [`Session`]).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
/// use autobahn::wamp::SubscribeOptions;
///
/// let on_event = |_args, _kwargs, _details| async { Ok(()) };
/// let subscription = session.subscribe("com.example.t", on_event, SubscribeOptions::default()).await?;
/// tokio::select! {
///     revoked = subscription.wait_revoked() => println!("the router ended it: {revoked:?}"),
///     _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => subscription.unsubscribe().await?,
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The router's subscription id when this handle was made (shared by all local
    /// handlers of the same topic); after a restore see [`current_id`](Self::current_id).
    pub id: u64,
    /// The topic (or pattern) subscribed to.
    pub topic: String,
    pub(super) key: u64,
    pub(super) session: Session,
    pub(super) status: watch::Receiver<Option<Revocation>>,
}

impl Subscription {
    /// The router's subscription id on the current connection (`None` while not
    /// subscribed: disconnected, restore pending, or unsubscribed).
    pub fn current_id(&self) -> Option<u64> {
        let registry = lock(&self.session.shared.registry);
        registry
            .subscriptions
            .get(self.key)
            .and_then(|e| e.current)
            .map(|(id, _)| id)
    }

    /// `Some` once the broker revoked the subscription (UNSUBSCRIBED with request id
    /// 0, e.g. after `wamp.subscription.remove_subscriber`): no more events arrive and
    /// it is not restored after a reconnect.
    pub fn revoked(&self) -> Option<Revocation> {
        self.status.borrow().clone()
    }

    /// Waits until the broker revokes the subscription; `None` once it is
    /// unsubscribed or the session leaves the realm deliberately. After a lost transport
    /// it keeps waiting: the session may reconnect and restore the subscription.
    pub async fn wait_revoked(&self) -> Option<Revocation> {
        wait_revoked(self.status.clone()).await
    }

    /// Removes this handler; the last handler of a subscription sends UNSUBSCRIBE.
    /// It is not restored any more. While the session has no transport this only
    /// forgets it.
    pub async fn unsubscribe(&self) -> Result<(), Error> {
        let key = self.key;
        let commands = self.session.commands();
        let (tx, rx) = oneshot::channel();
        if commands
            .send(Command::Unsubscribe { key, reply: tx })
            .await
            .is_err()
        {
            // No session task: nothing is subscribed on a router right now.
            let mut registry = lock(&self.session.shared.registry);
            return match registry.subscriptions.remove(key) {
                Some(_) => Ok(()),
                None => Err(Error::InvalidRequest("no such subscription")),
            };
        }
        lost(rx.await)
    }
}

/// A registration of an endpoint (Autobahn's `IRegistration`).
///
/// It names the session's entry for this registration, so it stays valid when the
/// session restores the registration after a reconnect (see [`Session`]).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
/// use autobahn::wamp::{CallResult, RegisterOptions};
///
/// let ping = |_args, _kwargs, _details| async { Ok(CallResult::new()) };
/// let registration = session.register("com.example.ping", ping, RegisterOptions::default()).await?;
/// println!("registration id {:?}", registration.current_id());
/// // Another callee took over (Crossbar.io's force_reregister) or an admin removed us:
/// if let Some(revocation) = registration.wait_revoked().await {
///     println!("revoked: {:?}", revocation.reason);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Registration {
    /// The router's registration id when this handle was made; after a restore see
    /// [`current_id`](Self::current_id).
    pub id: u64,
    /// The procedure (or pattern) registered.
    pub procedure: String,
    pub(super) key: u64,
    pub(super) session: Session,
    pub(super) status: watch::Receiver<Option<Revocation>>,
}

impl Registration {
    /// The router's registration id on the current connection (`None` while not
    /// registered: disconnected, restore pending, or unregistered).
    pub fn current_id(&self) -> Option<u64> {
        let registry = lock(&self.session.shared.registry);
        registry.registrations.get(self.key).and_then(|e| e.current)
    }

    /// `Some` once the dealer revoked the registration (UNREGISTERED with request id
    /// 0: `wamp.registration.remove_callee`, or another callee registering the same
    /// procedure with `force_reregister`): no more invocations arrive and it is not
    /// restored after a reconnect.
    pub fn revoked(&self) -> Option<Revocation> {
        self.status.borrow().clone()
    }

    /// Waits until the dealer revokes the registration; `None` once it is
    /// unregistered or the session leaves the realm deliberately. After a lost transport
    /// it keeps waiting: the session may reconnect and restore the registration.
    pub async fn wait_revoked(&self) -> Option<Revocation> {
        wait_revoked(self.status.clone()).await
    }

    /// Sends UNREGISTER and waits for the router's confirmation. It is not restored
    /// any more. While the session has no transport this only forgets it.
    pub async fn unregister(&self) -> Result<(), Error> {
        let key = self.key;
        let commands = self.session.commands();
        let (tx, rx) = oneshot::channel();
        if commands
            .send(Command::Unregister { key, reply: tx })
            .await
            .is_err()
        {
            // No session task: nothing is registered on a router right now.
            let mut registry = lock(&self.session.shared.registry);
            return match registry.registrations.remove(key) {
                Some(_) => Ok(()),
                None => Err(Error::InvalidRequest("no such registration")),
            };
        }
        lost(rx.await)
    }
}

/// Sends progressive results of an invocation (given in [`CallDetails::progress`] when
/// the caller asked for them).
#[derive(Clone)]
pub struct ProgressSender {
    pub(super) request: u64,
    pub(super) commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for ProgressSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressSender")
            .field("request", &self.request)
            .finish()
    }
}

impl ProgressSender {
    /// Sends one progressive result (YIELD with `progress: true`). Returns once the
    /// session queued it, so it always goes out before the endpoint's final result.
    /// Fails with [`Error::TransportLost`] if the session task is gone,
    /// [`Error::SessionNotReady`] if the session left, [`Error::InvalidRequest`] if the
    /// invocation is over (answered or interrupted).
    pub async fn send(&self, args: Vec<Value>, kwargs: Dict) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Progress {
            request: self.request,
            result: CallResult::with_args_kwargs(args, kwargs),
            reply: tx,
        };
        if self.commands.send(cmd).await.is_err() {
            return Err(Error::TransportLost);
        }
        lost(rx.await)
    }
}

/// The further input of a progressive call invocation (given in
/// [`CallDetails::input`] when the caller streams its arguments): each chunk the caller
/// sends after the first, in order; `None` after the last one. Chunks queue without a
/// bound until the endpoint reads them (like a subscription handler's events).
///
/// # Examples
///
/// An endpoint summing numbers the caller streams in (progressive call invocations):
///
/// ```no_run
/// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
/// use autobahn::wamp::{CallDetails, CallResult, Dict, RegisterOptions, Value};
/// use autobahn::list;
///
/// let sum = |args: Vec<Value>, _kwargs: Dict, details: CallDetails| async move {
///     let mut total: i64 = args.iter().filter_map(Value::as_i64).sum();
///     if let Some(input) = &details.input {
///         while let Some(chunk) = input.next().await {
///             total += chunk.args.iter().filter_map(Value::as_i64).sum::<i64>();
///         }
///     }
///     Ok(CallResult::with_args(list![total]))
/// };
/// session.register("com.example.sum", sum, RegisterOptions::default()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct InvocationInput {
    /// Input with its charge to the session's budget.
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(CallResult, HeldBytes)>>>,
}

impl std::fmt::Debug for InvocationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvocationInput").finish_non_exhaustive()
    }
}

impl InvocationInput {
    pub(super) fn new(rx: mpsc::UnboundedReceiver<(CallResult, HeldBytes)>) -> InvocationInput {
        InvocationInput {
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
        }
    }

    /// The next input chunk; `None` once the caller sent its last one (or the
    /// invocation ended).
    pub async fn next(&self) -> Option<CallResult> {
        let (input, _held) = self.rx.lock().await.recv().await?;
        Some(input)
    }
}
