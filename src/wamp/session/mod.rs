//! The async WAMP session API (Autobahn's `ApplicationSession` methods).
//!
//! [`Session::start`] hands a connected [`Transport`] to a task that owns it and runs the
//! sans-IO [`Protocol`](super::protocol::Protocol): it selects over messages from the
//! router, commands from the cloneable [`Session`] handles and the running invocation
//! handlers. The handle's methods (`join`, `call`, `register`, `publish`, `subscribe`,
//! `leave` ...) send a command and wait for the answer; every answer arrives, at the
//! latest with [`Error::TransportLost`] when the transport goes away.
//!
//! Handlers never run on the session task: each invocation runs as its own tokio task
//! (so a slow endpoint does not stall the session), and each subscription handler gets
//! a task that receives its events in order, one at a time.
//!
//! # What a router can make the session hold
//!
//! Received events waiting for (or in) their handler, running invocations, and
//! progressive results and invocation input not yet taken, count against one byte
//! budget per session ([`Session::set_max_queued_bytes`], default
//! [`DEFAULT_MAX_HANDLER_BYTES`]). While it is spent, the session task stops taking
//! messages from the transport (it still runs commands and finishes invocations), the
//! transport's own bounded queue fills and it stops reading the socket: the router is
//! pushed back by TCP, nothing is dropped, and memory stays under the budget plus one
//! message. The price of backpressure: a handler that waits for an answer from the
//! router on this same session (a call made from an event handler, say) while the
//! budget is spent by events queued behind it waits until the budget is raised or the
//! call times out, since the answer sits behind those events; do such work in a task
//! of its own, or give the budget room for the bursts you expect. Autobahn|Python
//! reads without bound instead (its handlers' Deferreds/futures pile up in memory).
//!
//! Lifecycle events (challenge, join, leave, disconnect, user errors) go to the
//! [`Lifecycle`] receiver; [`run_session`] drives an [`ApplicationSession`] from them.
//!
//! Autobahn's `define(exception, error)` maps error URIs to exception classes; here an
//! application error type converts to and from [`ApplicationError`] with `From`/`TryFrom`
//! impls written by the application.

mod advanced;
mod app;
mod call;
mod driver;
mod handles;
mod life;
mod progress;
mod registry;
pub mod typed;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

pub use advanced::TestamentScope;
pub use app::{run_component, run_session, ApplicationSession, RunOutcome};
pub use call::PendingCall;
pub use handles::{InvocationInput, ProgressSender, Registration, Subscription};
pub use progress::{CallUpdate, ProgressiveCall};
pub use typed::{TypedError, UndecodedError};

use super::auth::ChannelIds;
use super::error::{ApplicationError, Error};
use super::payload::PayloadCodec;
use super::transport::{HeldBytes, QueuedBytes, Transport};
use super::types::{
    CallDetails, CallOptions, CallResult, CancelMode, Challenge, CloseDetails, ComponentConfig,
    EventDetails, HelloDetails, ProgressHandler, Publication, PublishOptions, RegisterOptions,
    SessionDetails, SubscribeOptions, TimeoutUnit,
};
use super::value::{to_value, Dict, Value};

/// Default of [`Session::set_max_queued_bytes`]: 16 MiB of received events, running
/// invocations, progressive results and invocation input held for the application.
pub const DEFAULT_MAX_HANDLER_BYTES: usize = 16 << 20;

/// Capacity of the command queue from the handles to the session task; senders wait
/// when it is full (backpressure on fast publishers).
const COMMAND_QUEUE: usize = 64;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A registered endpoint, as stored by the session.
pub type Endpoint = Arc<
    dyn Fn(Vec<Value>, Dict, CallDetails) -> BoxFuture<Result<CallResult, ApplicationError>>
        + Send
        + Sync,
>;

/// An event handler, as stored by the session.
pub type EventHandler = Arc<
    dyn Fn(Vec<Value>, Dict, EventDetails) -> BoxFuture<Result<(), ApplicationError>> + Send + Sync,
>;

/// A session lifecycle event (Autobahn's `ISession` callbacks), delivered in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The router demands authentication: answer with [`Session::authenticate`] or
    /// give up with [`Session::abort`].
    Challenge(Challenge),
    /// The session joined a realm.
    Joined(SessionDetails),
    /// The session left the realm (it may join again while the transport is open).
    Left(CloseDetails),
    /// The transport is closed; the session task has ended. Always the last event.
    Disconnected,
    /// A handler failed (an event handler returned an error, or an endpoint panicked).
    ///
    /// A router can cause one per event it sends, so they do not pile up without
    /// bound: while over 1 MiB of them wait unread in the [`Lifecycle`], further ones
    /// are logged (a warning, then at debug level) and dropped.
    UserError {
        /// The error.
        error: ApplicationError,
        /// What the session was doing.
        message: String,
    },
}

/// The receiving end of a session's lifecycle events.
///
/// # Examples
///
/// See [`Session::start`] for the loop that reads it.
///
/// ```no_run
/// # async fn demo(mut lifecycle: autobahn::wamp::session::Lifecycle) {
/// use autobahn::wamp::session::SessionEvent;
///
/// while let Some(event) = lifecycle.next().await {
///     if let SessionEvent::UserError { error, message } = &event {
///         eprintln!("{message}: {error}");
///     }
///     if event == SessionEvent::Disconnected {
///         break; // always the last event
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Lifecycle {
    rx: mpsc::UnboundedReceiver<life::LifeItem>,
    /// The session's span (realm, session id, transport): the component's hooks run
    /// in it.
    span: tracing::Span,
}

impl Lifecycle {
    /// The next event; `None` after [`SessionEvent::Disconnected`].
    pub async fn next(&mut self) -> Option<SessionEvent> {
        // A user error leaves the unread backlog here.
        self.rx.recv().await.map(|(event, _held)| event)
    }
}

/// A call result channel (fails with `TransportLost` when dropped unanswered).
type Reply<T> = oneshot::Sender<Result<T, Error>>;

enum Command {
    Join(HelloDetails, Reply<()>),
    Authenticate(String, Dict, Reply<()>),
    Abort(String, Option<String>, Reply<()>),
    Leave(String, Option<String>, Reply<CloseDetails>),
    Disconnect(oneshot::Sender<()>),
    Call {
        procedure: String,
        args: Vec<Value>,
        kwargs: Dict,
        options: Dict,
        on_progress: Option<ProgressHandler>,
        id: Arc<AtomicU64>,
        reply: Reply<CallResult>,
    },
    Cancel {
        id: Arc<AtomicU64>,
        mode: Option<CancelMode>,
        /// The caller gave up (future dropped or timed out).
        abandon: bool,
        reply: Option<Reply<()>>,
    },
    Publish {
        topic: String,
        args: Vec<Value>,
        kwargs: Dict,
        options: Dict,
        reply: Reply<Option<Publication>>,
    },
    Subscribe {
        topic: String,
        options: Dict,
        handler: EventHandler,
        reply: Reply<Subscription>,
    },
    Unsubscribe {
        key: u64,
        reply: Reply<()>,
    },
    Register {
        procedure: String,
        options: Dict,
        endpoint: Endpoint,
        reply: Reply<Registration>,
    },
    Unregister {
        key: u64,
        reply: Reply<()>,
    },
    Progress {
        request: u64,
        result: CallResult,
        reply: Reply<()>,
    },
    /// More input for a progressive call invocation.
    CallInput {
        id: Arc<AtomicU64>,
        input: CallResult,
        last: bool,
        reply: Reply<()>,
    },
}

/// Session settings that outlive a connection and configure each one's protocol.
/// The session task applies them before the next message or command it handles after
/// a change (`version` counts the changes).
#[derive(Default)]
struct Settings {
    codec: Option<Arc<dyn PayloadCodec>>,
    timeout_unit: Option<TimeoutUnit>,
    version: u64,
}

struct Shared {
    /// The command queue of the current connection's session task (a closed queue
    /// while there is none).
    commands: Mutex<mpsc::Sender<Command>>,
    config: ComponentConfig,
    connected: AtomicBool,
    details: Mutex<Option<SessionDetails>>,
    /// Channel binding data of the current transport.
    channel: Mutex<ChannelIds>,
    /// What to restore when the session joins again.
    registry: Mutex<registry::Registry>,
    settings: Mutex<Settings>,
    /// What received messages held for handlers cost (see the module documentation).
    queued: QueuedBytes,
}

/// What a received payload costs held for the application: an estimate of its heap
/// size, plus the container it travels in.
fn payload_size(args: &[Value], kwargs: &Dict) -> usize {
    use crate::wamp::value::budget::{dict_heap_size, list_heap_size};
    std::mem::size_of::<CallResult>()
        .saturating_add(list_heap_size(args))
        .saturating_add(dict_heap_size(kwargs))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A cloneable handle to a WAMP session (Autobahn's `ISession` methods).
///
/// A session runs over one transport at a time; [`Session::attach`] gives it a new one
/// after the old one closed (what [`ApplicationRunner::run`] does when it reconnects),
/// so handles held by the application stay valid across reconnects.
///
/// # Restoring registrations and subscriptions
///
/// The session remembers the registrations and subscriptions the application made
/// and restores them each time it joins a realm again after its previous session
/// ended other than by its own [`leave`](Self::leave): the session task sends REGISTER
/// and SUBSCRIBE for each of them right after WELCOME, before `on_join` runs.
/// [`Registration::unregister`], [`Subscription::unsubscribe`], a revocation by the
/// router, a router refusing the restore (e.g. `wamp.error.procedure_already_exists`:
/// reported as [`SessionEvent::UserError`]) and our own `leave` end this.
///
/// Components written Autobahn-style, registering in `on_join` on every join, do not
/// register twice: a `register` (or `subscribe`) with the same URI and options as a
/// restored entry that was not asked for again since the restore *adopts* it: the
/// new handler replaces the old one, and the returned handle is the restored
/// registration. (So after a rejoin, the first `register` of an URI registered before
/// never creates a second registration of it; a deliberate second one needs other
/// options.) The [`Registration`] and [`Subscription`] handles keep working across
/// restores: `unregister` removes the restored registration.
///
/// [`ApplicationRunner::run`]: crate::wamp::runner::ApplicationRunner::run
///
/// # Examples
///
/// Everything a component does with its session, once joined:
///
/// ```no_run
/// use autobahn::wamp::{
///     ApplicationError, CallOptions, CallResult, Dict, EventDetails, PublishOptions,
///     RegisterOptions, Session, SubscribeOptions, Value,
/// };
/// use autobahn::{dict, list};
///
/// async fn work(session: &Session) -> Result<(), Box<dyn std::error::Error>> {
///     // Callee.
///     let add2 = |args: Vec<Value>, _kwargs: Dict, _details| async move {
///         match (args.first().and_then(Value::as_i64), args.get(1).and_then(Value::as_i64)) {
///             (Some(a), Some(b)) => Ok(CallResult::with_args(list![a + b])),
///             _ => Err(ApplicationError::new(ApplicationError::INVALID_ARGUMENT)),
///         }
///     };
///     let registration = session.register("com.example.add2", add2, RegisterOptions::default()).await?;
///
///     // Caller: untyped, and typed through serde.
///     let result = session.call("com.example.add2", list![2, 3], Dict::new(), CallOptions::default()).await?;
///     assert_eq!(result.value().as_i64(), Some(5));
///     let sum: i64 = session.call_with("com.example.add2", (20, 22)).await?;
///     assert_eq!(sum, 42);
///
///     // Subscriber and publisher.
///     let on_news = |args: Vec<Value>, _kwargs: Dict, details: EventDetails| async move {
///         println!("news on {:?}: {args:?}", details.topic);
///         Ok(())
///     };
///     let subscription = session.subscribe("com.example.news", on_news, SubscribeOptions::default()).await?;
///     let options = PublishOptions { acknowledge: true, exclude_me: Some(false), ..Default::default() };
///     let published = session.publish("com.example.news", list!["hello"], dict! {}, options).await?;
///     println!("publication {:?}", published.map(|p| p.id));
///
///     subscription.unsubscribe().await?;
///     registration.unregister().await?;
///     session.leave(None, None).await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connected", &self.is_connected())
            .field("session", &self.details().map(|d| d.session))
            .finish()
    }
}

fn lost<T>(r: Result<Result<T, Error>, oneshot::error::RecvError>) -> Result<T, Error> {
    r.unwrap_or(Err(Error::TransportLost))
}

/// Sends a command and waits for its answer.
async fn request_on<T>(
    commands: &mpsc::Sender<Command>,
    make: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, Error> {
    let (tx, rx) = oneshot::channel();
    if commands.send(make(tx)).await.is_err() {
        return Err(Error::TransportLost);
    }
    lost(rx.await)
}

/// Sends a command from a synchronous context (drop, cancel): at once if there is
/// room, otherwise from a task, keeping the order after earlier commands.
fn send_later(commands: &mpsc::Sender<Command>, cmd: Command) {
    match commands.try_send(cmd) {
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
        Err(mpsc::error::TrySendError::Full(cmd)) => {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let tx = commands.clone();
                rt.spawn(async move {
                    let _ = tx.send(cmd).await;
                });
            }
        }
    }
}

impl Session {
    /// A session without a transport yet: give it one with [`attach`](Self::attach).
    /// Until then requests fail with [`Error::TransportLost`].
    pub fn new(config: ComponentConfig) -> Session {
        // A queue whose receiver is gone: sending fails at once.
        let (tx, _) = mpsc::channel(1);
        Session {
            shared: Arc::new(Shared {
                commands: Mutex::new(tx),
                config,
                connected: AtomicBool::new(false),
                details: Mutex::new(None),
                channel: Mutex::new(ChannelIds::default()),
                registry: Mutex::new(registry::Registry::default()),
                settings: Mutex::new(Settings::default()),
                queued: QueuedBytes::new(DEFAULT_MAX_HANDLER_BYTES),
            }),
        }
    }

    /// Starts a session task over a connected transport (nothing is sent until
    /// [`join`](Self::join)). Must be called within a tokio runtime.
    ///
    /// # Examples
    ///
    /// Driving a session by hand, without [`ApplicationSession`] and the runner:
    ///
    /// ```no_run
    /// use autobahn::wamp::session::SessionEvent;
    /// use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
    /// use autobahn::wamp::{ComponentConfig, HelloDetails, Session};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let transport =
    ///     WebSocketTransport::connect("ws://127.0.0.1:8080/ws", &WebSocketTransportConfig::default()).await?;
    /// let (session, mut lifecycle) = Session::start(transport, ComponentConfig::new("realm1"));
    /// session.join(HelloDetails::new("realm1")).await?;
    /// while let Some(event) = lifecycle.next().await {
    ///     match event {
    ///         SessionEvent::Joined(details) => {
    ///             println!("session {} joined {}", details.session, details.realm);
    ///             session.leave(None, None).await?;
    ///         }
    ///         SessionEvent::Challenge(_) => session.abort("wamp.error.cannot_authenticate", None).await?,
    ///         SessionEvent::Left(_) => session.disconnect().await,
    ///         SessionEvent::Disconnected => break,
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn start<T: Transport>(transport: T, config: ComponentConfig) -> (Session, Lifecycle) {
        let session = Session::new(config);
        let life = session.spawn_driver(transport);
        (session, life)
    }

    /// Runs the session over a new transport after the previous one closed (its
    /// [`SessionEvent::Disconnected`] was delivered). Nothing is sent until
    /// [`join`](Self::join); once joined, the session restores its registrations and
    /// subscriptions (see the [type documentation](Session)). Fails with
    /// [`Error::InvalidRequest`] while the session still has an open transport. Must be
    /// called within a tokio runtime.
    pub fn attach<T: Transport>(&self, transport: T) -> Result<Lifecycle, Error> {
        if self.is_connected() {
            return Err(Error::InvalidRequest("session already has a transport"));
        }
        Ok(self.spawn_driver(transport))
    }

    fn spawn_driver<T: Transport>(&self, transport: T) -> Lifecycle {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let (life_tx, life_rx) = life::LifeSender::channel();
        *lock(&self.shared.channel) = ChannelIds::of(&transport);
        {
            let mut commands = lock(&self.shared.commands);
            *commands = tx;
            self.shared.connected.store(true, Ordering::Release);
        }
        // One span per session over one transport; `session_id` is recorded on join.
        let span = tracing::debug_span!(
            "wamp_session",
            realm = %self.shared.config.realm,
            session_id = tracing::field::Empty,
            transport = %transport.peer(),
            serializer = transport.serializer_id(),
        );
        driver::spawn(transport, self.clone(), rx, life_tx, span.clone());
        Lifecycle { rx: life_rx, span }
    }

    /// The command queue of the current connection.
    fn commands(&self) -> mpsc::Sender<Command> {
        lock(&self.shared.commands).clone()
    }

    async fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        request_on(&self.commands(), make).await
    }

    /// The component configuration the session was started with.
    pub fn config(&self) -> &ComponentConfig {
        &self.shared.config
    }

    /// `true` while the transport is open (Autobahn's `is_connected`).
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Channel binding data of the current transport (for authenticators that bind
    /// to the TLS channel); empty without TLS.
    pub fn channel_ids(&self) -> ChannelIds {
        lock(&self.shared.channel).clone()
    }

    /// `true` while joined to a realm (Autobahn's `is_attached`).
    pub fn is_attached(&self) -> bool {
        self.details().is_some()
    }

    /// The details of the joined session, if joined.
    pub fn details(&self) -> Option<SessionDetails> {
        lock(&self.shared.details).clone()
    }

    /// Sends HELLO to join a realm (Autobahn's `join`). Returns once HELLO is queued:
    /// the outcome arrives as [`SessionEvent::Joined`] (after any
    /// [`SessionEvent::Challenge`]) or [`SessionEvent::Left`].
    pub async fn join(&self, details: HelloDetails) -> Result<(), Error> {
        self.request(|r| Command::Join(details, r)).await
    }

    /// Answers a challenge with a signature (AUTHENTICATE).
    pub async fn authenticate(&self, signature: String, extra: Dict) -> Result<(), Error> {
        self.request(|r| Command::Authenticate(signature, extra, r))
            .await
    }

    /// Gives up joining with ABORT (e.g. `wamp.error.cannot_authenticate`).
    pub async fn abort(&self, reason: &str, message: Option<&str>) -> Result<(), Error> {
        let (reason, message) = (reason.to_owned(), message.map(str::to_owned));
        self.request(|r| Command::Abort(reason, message, r)).await
    }

    /// Leaves the realm with GOODBYE (Autobahn's `leave`; reason default
    /// `wamp.close.normal`) and waits for the router's reply.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// let goodbye = session.leave(Some("wamp.close.logout"), Some("user logged out")).await?;
    /// println!("router answered {}", goodbye.reason);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn leave(
        &self,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<CloseDetails, Error> {
        let reason = reason.unwrap_or(CloseDetails::REASON_DEFAULT).to_owned();
        let message = message.map(str::to_owned);
        self.request(|r| Command::Leave(reason, message, r)).await
    }

    /// Closes the transport (Autobahn's `disconnect`) and waits until the session task
    /// has ended. Pending requests fail with [`Error::TransportLost`].
    pub async fn disconnect(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands().send(Command::Disconnect(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Calls a procedure and waits for its result. Dropping the future cancels the call
    /// (CANCEL, if the router supports it); see [`CallOptions`] for timeouts and
    /// progressive results.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use std::time::Duration;
    /// use autobahn::wamp::CallOptions;
    /// use autobahn::{dict, list};
    ///
    /// let options = CallOptions { timeout: Some(Duration::from_secs(2)), ..Default::default() };
    /// let result = session
    ///     .call("com.example.search", list!["rust"], dict! { "limit" => 10 }, options)
    ///     .await?;
    /// for hit in &result.args {
    ///     println!("{hit:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        options: CallOptions,
    ) -> Result<CallResult, Error> {
        self.start_call(procedure, args, kwargs, options)
            .await
            .await
    }

    /// Calls with typed arguments and result: `args` serializes to the positional
    /// arguments (a tuple or sequence: its elements; `()`: none; anything else: one
    /// argument) and the result decodes as [`CallResult::deserialize`] describes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Weather {
    ///     city: String,
    ///     celsius: f64,
    /// }
    /// let now: Weather = session.call_with("com.example.weather", ("Berlin",)).await?;
    /// println!("{}: {} °C", now.city, now.celsius);
    /// let time: String = session.call_with("com.timeservice.now", ()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_with<A: Serialize, R: DeserializeOwned>(
        &self,
        procedure: &str,
        args: A,
    ) -> Result<R, Error> {
        let args = match to_value(&args)? {
            Value::List(l) => l,
            Value::Null => Vec::new(),
            v => vec![v],
        };
        let result = self
            .call(procedure, args, Dict::new(), CallOptions::default())
            .await?;
        Ok(result.deserialize()?)
    }

    /// Sends a CALL and returns a handle that resolves to its result and can cancel it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use std::time::Duration;
    /// use autobahn::wamp::{CallOptions, CancelMode, Dict};
    /// use autobahn::list;
    ///
    /// let call = session
    ///     .start_call("com.example.long_job", list![], Dict::new(), CallOptions::default())
    ///     .await;
    /// let canceler = call.request_id();
    /// // Give up after a second: cancel it (the callee is interrupted).
    /// match tokio::time::timeout(Duration::from_secs(1), call).await {
    ///     Ok(result) => println!("done: {:?}", result?.value()),
    ///     Err(_) => println!("call {canceler} canceled by dropping it"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_call(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        options: CallOptions,
    ) -> PendingCall {
        let (tx, rx) = oneshot::channel();
        let id = Arc::new(AtomicU64::new(0));
        let cmd = Command::Call {
            procedure: procedure.to_owned(),
            args,
            kwargs,
            options: options.to_dict(),
            on_progress: options.on_progress.clone(),
            id: id.clone(),
            reply: tx,
        };
        // If the session task is gone, `rx` fails and the call resolves TransportLost.
        let commands = self.commands();
        let _ = commands.send(cmd).await;
        PendingCall {
            rx,
            id,
            commands,
            deadline: options.timeout.map(|t| Box::pin(tokio::time::sleep(t))),
            cancel_mode: options.cancel_mode,
            done: false,
        }
    }

    /// Publishes an event. Returns `Some(publication)` when `options.acknowledge` is
    /// set (after the broker's PUBLISHED), otherwise `None` once PUBLISH is queued.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::PublishOptions;
    /// use autobahn::{dict, list};
    ///
    /// // Fire and forget.
    /// session.publish("com.example.tick", list![1], dict! {}, PublishOptions::default()).await?;
    /// // Acknowledged, retained for later subscribers.
    /// let options = PublishOptions { acknowledge: true, retain: Some(true), ..Default::default() };
    /// let publication = session.publish("com.example.state", list![], dict! { "on" => true }, options).await?;
    /// assert!(publication.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn publish(
        &self,
        topic: &str,
        args: Vec<Value>,
        kwargs: Dict,
        options: PublishOptions,
    ) -> Result<Option<Publication>, Error> {
        let topic = topic.to_owned();
        let options = options.to_dict();
        self.request(|reply| Command::Publish {
            topic,
            args,
            kwargs,
            options,
            reply,
        })
        .await
    }

    /// Subscribes `handler` to a topic (or pattern, see
    /// [`SubscribeOptions::match_`]). The handler receives the events of this
    /// subscription in order, one at a time; an error it returns goes to
    /// [`SessionEvent::UserError`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{ApplicationError, Dict, EventDetails, SubscribeOptions, Value};
    ///
    /// // Every topic under com.example.sensors.
    /// let options = SubscribeOptions { match_: Some("prefix".into()), ..Default::default() };
    /// let on_reading = |args: Vec<Value>, _kwargs: Dict, details: EventDetails| async move {
    ///     let Some(value) = args.first().and_then(Value::as_f64) else {
    ///         // Goes to the component's `on_user_error`.
    ///         return Err(ApplicationError::new(ApplicationError::INVALID_ARGUMENT));
    ///     };
    ///     println!("{}: {value}", details.topic.unwrap_or_default());
    ///     Ok(())
    /// };
    /// let subscription = session.subscribe("com.example.sensors.", on_reading, options).await?;
    /// // ... later:
    /// subscription.unsubscribe().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn subscribe<F, Fut>(
        &self,
        topic: &str,
        handler: F,
        options: SubscribeOptions,
    ) -> Result<Subscription, Error>
    where
        F: Fn(Vec<Value>, Dict, EventDetails) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ApplicationError>> + Send + 'static,
    {
        let handler: EventHandler = Arc::new(move |a, k, d| Box::pin(handler(a, k, d)));
        let topic = topic.to_owned();
        let options = options.to_dict();
        self.request(|reply| Command::Subscribe {
            topic,
            options,
            handler,
            reply,
        })
        .await
    }

    /// Registers `endpoint` for a procedure (or pattern, see
    /// [`RegisterOptions::match_`]). Each invocation runs as its own task; an
    /// [`ApplicationError`] it returns is sent to the caller, a panic becomes
    /// `wamp.error.runtime_error`.
    ///
    /// # Examples
    ///
    /// An endpoint that sends progressive results when the caller asks for them:
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{CallDetails, CallResult, Dict, RegisterOptions, Value};
    /// use autobahn::{dict, list};
    ///
    /// let countdown = |args: Vec<Value>, _kwargs: Dict, details: CallDetails| async move {
    ///     let from = args.first().and_then(Value::as_i64).unwrap_or(3);
    ///     if let Some(progress) = &details.progress {
    ///         for n in (1..=from).rev() {
    ///             let _ = progress.send(list![n], dict! {}).await;
    ///         }
    ///     }
    ///     Ok(CallResult::with_args(list!["liftoff"]))
    /// };
    /// let registration = session
    ///     .register("com.example.countdown", countdown, RegisterOptions::default())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn register<F, Fut>(
        &self,
        procedure: &str,
        endpoint: F,
        options: RegisterOptions,
    ) -> Result<Registration, Error>
    where
        F: Fn(Vec<Value>, Dict, CallDetails) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallResult, ApplicationError>> + Send + 'static,
    {
        let endpoint: Endpoint = Arc::new(move |a, k, d| Box::pin(endpoint(a, k, d)));
        let procedure = procedure.to_owned();
        let options = options.to_dict();
        self.request(|reply| Command::Register {
            procedure,
            options,
            endpoint,
            reply,
        })
        .await
    }
}
