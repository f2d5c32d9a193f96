//! `ApplicationRunner`: connects a WAMP application component to a router over
//! WebSocket or RawSocket, runs it, and (optionally) reconnects with backoff,
//! restoring the component's registrations and subscriptions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::auth::{Authentication, Authenticator};
use super::error::TransportFailure;
use super::message::Message;
use super::serializer::DEFAULT_MAX_DECODED_SIZE;
use super::session::{run_component, ApplicationSession, RunOutcome, Session};
use super::transport::{Transport, TransportError};
use super::types::{CloseDetails, ComponentConfig};
use super::value::Value;
use super::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use super::{ApplicationError, Error};
use crate::rawsocket::transport::{RawSocketOptions, RawSocketTransport};
use crate::rawsocket::SerializerId;
use crate::websocket::client::{Proxy, WebSocketClientFactory};
use crate::websocket::error::Chain;
use crate::websocket::types::Headers;

/// How to retry after a lost connection (the defaults are Autobahn `Component`'s).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use autobahn::wamp::RetryPolicy;
///
/// let policy = RetryPolicy { retry_delay_jitter: 0.0, ..RetryPolicy::default() };
/// assert_eq!(policy.delay(0), Duration::from_millis(1500));
/// assert_eq!(policy.delay(1), Duration::from_millis(2250)); // grows by 1.5
/// assert_eq!(policy.delay(100), Duration::from_secs(300)); // capped
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Give up after this many failed attempts in a row (`None`: never).
    pub max_retries: Option<u32>,
    /// Delay before the first retry (1.5 s).
    pub initial_retry_delay: Duration,
    /// Longest delay between retries (300 s).
    pub max_retry_delay: Duration,
    /// Factor by which the delay grows after each failure (1.5).
    pub retry_delay_growth: f64,
    /// Relative random jitter applied to each delay (0.1 = ±10 %).
    pub retry_delay_jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: None,
            initial_retry_delay: Duration::from_millis(1500),
            max_retry_delay: Duration::from_secs(300),
            retry_delay_growth: 1.5,
            retry_delay_jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial_retry_delay.as_secs_f64()
            * self.retry_delay_growth.powi(attempt.min(64) as i32);
        let base = base.min(self.max_retry_delay.as_secs_f64());
        let jitter = 1.0 + self.retry_delay_jitter * (rand::random::<f64>() * 2.0 - 1.0);
        Duration::from_secs_f64((base * jitter).max(0.0))
    }
}

/// A WAMP transport of either kind, as the runner connects it from a URL.
#[derive(Debug)]
pub enum AnyTransport {
    /// `ws://` or `wss://`.
    WebSocket(WebSocketTransport),
    /// `rs://`, `rss://` (TCP, TLS or `unix:` path).
    RawSocket(RawSocketTransport),
}

impl Transport for AnyTransport {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        match self {
            Self::WebSocket(t) => t.send(msg).await,
            Self::RawSocket(t) => t.send(msg).await,
        }
    }

    async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        match self {
            Self::WebSocket(t) => t.recv().await,
            Self::RawSocket(t) => t.recv().await,
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::WebSocket(t) => t.is_open(),
            Self::RawSocket(t) => t.is_open(),
        }
    }

    async fn close(&mut self) {
        match self {
            Self::WebSocket(t) => t.close().await,
            Self::RawSocket(t) => t.close().await,
        }
    }

    fn abort(&mut self) {
        match self {
            Self::WebSocket(t) => t.abort(),
            Self::RawSocket(t) => t.abort(),
        }
    }

    fn channel_id(&self, binding: &str) -> Option<Vec<u8>> {
        match self {
            Self::WebSocket(t) => t.channel_id(binding),
            Self::RawSocket(t) => t.channel_id(binding),
        }
    }

    fn serializer_id(&self) -> &'static str {
        match self {
            Self::WebSocket(t) => t.serializer_id(),
            Self::RawSocket(t) => t.serializer_id(),
        }
    }

    fn peer(&self) -> String {
        match self {
            Self::WebSocket(t) => t.peer(),
            Self::RawSocket(t) => t.peer(),
        }
    }
}

/// A failed attempt to reach the router, as
/// [`ApplicationRunner::on_connect_failure`] reports it (Autobahn `Component`'s
/// `connectfailure` event).
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectFailure<'a> {
    /// The runner's URL.
    pub url: &'a str,
    /// Failed attempts in a row, this one included (1 for the first).
    pub attempt: u32,
    /// Why this attempt failed.
    pub error: &'a TransportError,
    /// How long the runner waits before the next attempt; `None` when it gives up
    /// ([`RetryPolicy::max_retries`] reached, or [`ApplicationRunner::run_once`]).
    pub retry_in: Option<Duration>,
}

/// The application's [`ApplicationRunner::on_connect_failure`] hook.
type ConnectFailureHook = Arc<dyn Fn(&ConnectFailure<'_>) + Send + Sync>;

/// What the runner counts and calls on failed connects; shared by clones.
#[derive(Clone, Default)]
struct FailureReporting {
    total: Arc<AtomicU64>,
    hook: Option<ConnectFailureHook>,
}

impl std::fmt::Debug for FailureReporting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureReporting")
            .field("total", &self.total.load(Ordering::Relaxed))
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// How long [`StopHandle::stop`] waits for the router to answer GOODBYE before the
/// runner closes the transport anyway.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`ApplicationRunner`] waits, by default, for a new connection's session to
/// join before closing the connection and retrying (see
/// [`ApplicationRunner::join_timeout`]).
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Stops an [`ApplicationRunner`] (Autobahn's `ApplicationRunner.stop()`); cloneable,
/// usable from any task.
///
/// Stopping is final: a running [`ApplicationRunner::run`] or
/// [`run_once`](ApplicationRunner::run_once) leaves the realm (GOODBYE, waiting up to
/// [`LEAVE_TIMEOUT`] for the answer), closes the transport, lets the component's
/// `on_leave`/`on_disconnect` hooks run, does not reconnect, and returns `Ok`; one that
/// is connecting or waiting to retry returns `Ok` at once; later runs return at once.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use autobahn::wamp::{ApplicationRunner, ApplicationSession};
///
/// struct App;
/// impl ApplicationSession for App {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let runner = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1");
/// let stop = runner.stop_handle();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(60)).await; // run for a minute
///     stop.stop();
/// });
/// runner.run(|_| App).await?; // leaves the realm and returns on stop
/// assert!(runner.stop_handle().is_stopped());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl StopHandle {
    fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Asks the runner to stop.
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        *self.tx.borrow()
    }
}

/// Resolves once stop was requested.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        // Cannot happen (the runner holds the sender), but never report a stop for it.
        std::future::pending::<()>().await;
    }
}

/// Runs an application component (Autobahn's `ApplicationRunner(url, realm, extra,
/// serializers, ssl, proxy, headers)`).
///
/// The URL decides the transport: `ws://`/`wss://` WebSocket, `rs://`/`rss://` RawSocket
/// (`rs://unix:/path` for a Unix socket).
///
/// Clones share one [`StopHandle`]: stopping one stops them all.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use autobahn::wamp::auth::AuthTicket;
/// use autobahn::wamp::{ApplicationRunner, ApplicationSession, RetryPolicy, Value};
///
/// struct App;
/// impl ApplicationSession for App {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let runner = ApplicationRunner::new("rs://127.0.0.1:8081", "realm1") // RawSocket
///     .serializers(["msgpack"])
///     .authentication(AuthTicket::new("joe", "secret"))
///     .extra(Value::from("handed to the component in ComponentConfig::extra"))
///     .join_timeout(Some(Duration::from_secs(10)))
///     .retry_policy(RetryPolicy {
///         max_retries: Some(5),
///         initial_retry_delay: Duration::from_millis(500),
///         ..RetryPolicy::default()
///     });
///
/// // Stop from elsewhere (e.g. on Ctrl-C): `run` then leaves and returns.
/// let stop = runner.stop_handle();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stop.stop();
/// });
/// runner.run(|config| {
///     println!("joining {}", config.realm);
///     App
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApplicationRunner {
    url: String,
    realm: String,
    extra: Value,
    authentication: Authentication,
    serializers: Vec<String>,
    proxy: Option<Proxy>,
    headers: Headers,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    retry: RetryPolicy,
    max_decoded_size: usize,
    join_timeout: Option<Duration>,
    stop: StopHandle,
    failures: FailureReporting,
}

impl ApplicationRunner {
    /// A runner for the router at `url` and the realm to join.
    pub fn new(url: impl Into<String>, realm: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            realm: realm.into(),
            extra: Value::Null,
            authentication: Authentication::new(),
            serializers: Vec::new(),
            proxy: None,
            headers: Headers::new(),
            #[cfg(feature = "tls")]
            tls: None,
            retry: RetryPolicy::default(),
            max_decoded_size: DEFAULT_MAX_DECODED_SIZE,
            join_timeout: Some(DEFAULT_JOIN_TIMEOUT),
            stop: StopHandle::new(),
            failures: FailureReporting::default(),
        }
    }

    /// The most memory one received message may take once decoded, on either
    /// transport (default [`DEFAULT_MAX_DECODED_SIZE`], 64 MiB). A router sending
    /// more fails the connection; the runner then reconnects as after any transport
    /// loss. Not an Autobahn|Python option (see
    /// [`Serializer::unserialize_limited`](crate::wamp::serializer::Serializer::unserialize_limited)).
    pub fn max_decoded_size(mut self, bytes: usize) -> Self {
        self.max_decoded_size = bytes;
        self
    }

    /// Extra configuration handed to the component in [`ComponentConfig::extra`].
    pub fn extra(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }

    /// Authenticates with `authenticator` (call again to offer several methods, most
    /// preferred first); see [`auth`](crate::wamp::auth). The component's default
    /// `on_connect` and `on_challenge` hooks use them.
    pub fn authentication(mut self, authenticator: impl Authenticator) -> Self {
        self.authentication = self.authentication.with(authenticator);
        self
    }

    /// Serializers to offer, most preferred first: `"cbor"`, `"msgpack"`, `"json"`
    /// (default: that order, as Autobahn), or `"ubjson"`. RawSocket uses the first.
    pub fn serializers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        serializers: I,
    ) -> Self {
        self.serializers = serializers.into_iter().map(Into::into).collect();
        self
    }

    /// An HTTP proxy for WebSocket transports (`ws://`, `wss://`: TLS runs through the
    /// `CONNECT` tunnel); RawSocket transports ignore it.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Extra HTTP headers for the WebSocket opening handshake.
    pub fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The TLS client configuration for `wss://` and `rss://` (Autobahn's `ssl`; default:
    /// the platform's root certificates, see [`stream::tls`](crate::websocket::stream::tls)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// How long a new connection may go without the session joined (default
    /// [`DEFAULT_JOIN_TIMEOUT`], 30 s; `None`: no limit). A router that accepts the
    /// transport but never answers HELLO (or stops in the middle of authentication)
    /// would otherwise hold the runner forever, since it answers transport pings; at
    /// the deadline the connection is closed and the runner retries as after any
    /// lost connection. Not an Autobahn|Python option (its runner waits forever).
    pub fn join_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.join_timeout = timeout;
        self
    }

    /// How [`run`](Self::run) retries after a lost connection or a failed connect.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Calls `hook` after each failed attempt to reach the router (before the wait
    /// for the next one), besides the `warn` event the runner logs (Autobahn
    /// `Component`'s `connectfailure` event). It runs on the runner's task: keep it
    /// short.
    ///
    /// # Examples
    ///
    /// A router that is not there: two attempts, reported, then `run` gives up with the
    /// last failure as the error's source.
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::wamp::{ApplicationRunner, ApplicationSession, Error, RetryPolicy};
    ///
    /// struct App;
    /// impl ApplicationSession for App {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let runner = ApplicationRunner::new(format!("ws://127.0.0.1:{port}/ws"), "realm1")
    ///     .retry_policy(RetryPolicy {
    ///         max_retries: Some(1),
    ///         initial_retry_delay: Duration::from_millis(10),
    ///         ..RetryPolicy::default()
    ///     })
    ///     .on_connect_failure(|f| eprintln!("attempt {} failed: {}", f.attempt, f.error));
    /// let err = runner.run(|_| App).await.err().unwrap();
    /// assert!(matches!(err, Error::GaveUp { .. }));
    /// assert!(std::error::Error::source(&err).is_some());
    /// assert_eq!(runner.connect_failures(), 2);
    /// # }
    /// ```
    pub fn on_connect_failure(
        mut self,
        hook: impl Fn(&ConnectFailure<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.failures.hook = Some(Arc::new(hook));
        self
    }

    /// How many attempts to reach the router have failed since this runner (or the
    /// runner it was cloned from) was created, over all runs.
    pub fn connect_failures(&self) -> u64 {
        self.failures.total.load(Ordering::Relaxed)
    }

    /// Counts, logs and reports one failed connect.
    fn report_connect_failure(
        &self,
        attempt: u32,
        error: &TransportError,
        retry_in: Option<Duration>,
    ) {
        self.failures.total.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            url = %self.url,
            attempt,
            retry_in = ?retry_in,
            error = %Chain(error),
            "connect failed"
        );
        if let Some(hook) = &self.failures.hook {
            hook(&ConnectFailure {
                url: &self.url,
                attempt,
                error,
                retry_in,
            });
        }
    }

    /// A handle that stops this runner (and its clones) from another task.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the runner: see [`StopHandle`].
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// The component configuration handed to the component.
    pub fn config(&self) -> ComponentConfig {
        let mut c = ComponentConfig::new(self.realm.clone());
        c.extra = self.extra.clone();
        c.authentication = self.authentication.clone();
        c
    }

    /// Opens one transport to the router.
    pub async fn connect(&self) -> Result<AnyTransport, TransportError> {
        let scheme = self
            .url
            .split("://")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "ws" | "wss" => {
                let mut factory = WebSocketClientFactory::new(&self.url)
                    .map_err(|e| TransportError::Connect(Box::new(e)))?
                    .headers(self.headers.clone());
                if let Some(p) = &self.proxy {
                    factory = factory.proxy(p.clone());
                }
                #[cfg(feature = "tls")]
                if let Some(tls) = &self.tls {
                    factory = factory.tls(tls.clone());
                }
                let mut config = WebSocketTransportConfig::with_subprotocols(
                    self.serializers.iter().map(|s| format!("wamp.2.{s}")),
                );
                config.max_decoded_size = self.max_decoded_size;
                let t = WebSocketTransport::connect_with_factory(factory, &config).await?;
                Ok(AnyTransport::WebSocket(t))
            }
            "rs" | "rss" => {
                let mut options = RawSocketOptions {
                    max_decoded_size: self.max_decoded_size,
                    ..RawSocketOptions::default()
                };
                if let Some(first) = self.serializers.first() {
                    options.serializer = match first.as_str() {
                        "json" => SerializerId::JSON,
                        "msgpack" => SerializerId::MSGPACK,
                        "cbor" => SerializerId::CBOR,
                        "ubjson" => SerializerId::UBJSON,
                        other => {
                            return Err(TransportError::Connect(
                                format!("unknown serializer {other:?}").into(),
                            ))
                        }
                    };
                }
                #[cfg(feature = "tls")]
                if let Some(tls) = &self.tls {
                    options.tls = Some(tls.clone());
                }
                Ok(AnyTransport::RawSocket(
                    RawSocketTransport::connect(&self.url, &options).await?,
                ))
            }
            other => Err(TransportError::Connect(
                format!("unsupported URL scheme {other:?} in {}", self.url).into(),
            )),
        }
    }

    /// Connects once and runs one component until its session ends (Autobahn's
    /// `run(make)` with `auto_reconnect=False`). A [`stop`](Self::stop) ends it as
    /// [`StopHandle`] describes (before the connection is up: an outcome that never
    /// joined).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::wamp::{ApplicationRunner, ApplicationSession};
    ///
    /// struct App;
    /// impl ApplicationSession for App {}
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // One connection, no reconnect.
    /// let outcome = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1").run_once(|_| App).await?;
    /// println!("joined: {}, close: {:?}", outcome.joined, outcome.close);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_once<A, F>(&self, make: F) -> Result<RunOutcome<A>, Error>
    where
        A: ApplicationSession,
        F: FnOnce(ComponentConfig) -> A,
    {
        let app = make(self.config());
        let mut stop = self.stop.tx.subscribe();
        let transport = tokio::select! {
            biased;
            () = stopped(&mut stop) => {
                return Ok(RunOutcome { app, joined: false, close: None });
            }
            t = self.connect() => match t {
                Ok(t) => t,
                Err(e) => {
                    self.report_connect_failure(1, &e, None);
                    return Err(Error::Connect { url: self.url.clone(), source: e.into() });
                }
            },
        };
        let session = Session::new(self.config());
        let (outcome, _) = self
            .run_connection(&session, transport, app, &mut stop)
            .await?;
        Ok(outcome)
    }

    /// Runs a component until it leaves deliberately or the runner is stopped,
    /// reconnecting after lost connections and failed connects with the
    /// [`RetryPolicy`] (Autobahn's `run(make, auto_reconnect=True)`).
    ///
    /// `make` is called once: the same component (and the same [`Session`] handle)
    /// serves every connection, and after each reconnect its hooks run again from
    /// `on_connect`, and the session restores the registrations and subscriptions it
    /// had once it joined again (see [`Session`] for the rules, including how a
    /// component that registers in `on_join` on each join avoids double
    /// registrations).
    ///
    /// Returns the component when it left (GOODBYE with `wamp.close.normal` or
    /// answered with `wamp.close.goodbye_and_out`) or on [`stop`](Self::stop).
    /// Authentication failures and an unknown realm end it with
    /// [`Error::Application`] instead of retrying; running out of
    /// [`RetryPolicy::max_retries`] with [`Error::GaveUp`], whose source is the last
    /// connect failure. Each failed connect is logged (`warn`), counted
    /// ([`connect_failures`](Self::connect_failures)) and reported to the
    /// [`on_connect_failure`](Self::on_connect_failure) hook.
    pub async fn run<A, F>(&self, make: F) -> Result<A, Error>
    where
        A: ApplicationSession,
        F: FnOnce(ComponentConfig) -> A,
    {
        let mut app = make(self.config());
        let session = Session::new(self.config());
        let mut stop = self.stop.tx.subscribe();
        let mut failures = 0u32;
        let mut last_failure: Option<TransportFailure>;
        loop {
            let connected = tokio::select! {
                biased;
                () = stopped(&mut stop) => return Ok(app),
                c = self.connect() => c,
            };
            // Whether to give up, and the wait before the next attempt.
            let next = |failures: u32| {
                let give_up = self.retry.max_retries.is_some_and(|max| failures >= max);
                (give_up, self.retry.delay(failures))
            };
            let (give_up, delay) = match connected {
                Ok(transport) => {
                    // Reached: an older connect failure is no longer the last one.
                    last_failure = None;
                    let (outcome, was_stopped) = self
                        .run_connection(&session, transport, app, &mut stop)
                        .await?;
                    app = outcome.app;
                    if was_stopped {
                        return Ok(app);
                    }
                    if outcome.joined {
                        failures = 0;
                    }
                    match Decision::after(&outcome.close) {
                        Decision::Stop => return Ok(app),
                        Decision::Fail(e) => return Err(Error::Application(e)),
                        Decision::Retry => {}
                    }
                    tracing::info!(url = %self.url, "session lost; reconnecting");
                    next(failures)
                }
                Err(e) => {
                    let (give_up, delay) = next(failures);
                    let retry_in = (!give_up).then_some(delay);
                    self.report_connect_failure(failures.saturating_add(1), &e, retry_in);
                    last_failure = Some(e.into());
                    (give_up, delay)
                }
            };
            if give_up {
                return Err(Error::GaveUp {
                    url: self.url.clone(),
                    attempts: failures.saturating_add(1),
                    source: last_failure,
                });
            }
            tracing::debug!(
                ?delay,
                attempt = failures + 1,
                "waiting before reconnecting"
            );
            tokio::select! {
                biased;
                () = stopped(&mut stop) => return Ok(app),
                () = tokio::time::sleep(delay) => {}
            }
            failures = failures.saturating_add(1);
        }
    }

    /// Runs `app` on `session` over one transport until it closes; on a stop request
    /// leaves and disconnects first. Also returns whether it was stopped.
    async fn run_connection<A: ApplicationSession>(
        &self,
        session: &Session,
        transport: AnyTransport,
        app: A,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(RunOutcome<A>, bool), Error> {
        let life = session.attach(transport)?;
        let component = run_component(session, life, app);
        let watchdog = async {
            if let Some(t) = self.join_timeout {
                tokio::time::sleep(t).await;
                if !session.is_attached() && session.is_connected() {
                    tracing::warn!(url = %self.url, timeout = ?t, "not joined in time; closing the connection");
                    session.disconnect().await;
                }
            }
            std::future::pending::<std::convert::Infallible>().await
        };
        let run = async {
            tokio::select! {
                outcome = component => outcome,
                never = watchdog => match never {},
            }
        };
        tokio::pin!(run);
        tokio::select! {
            outcome = &mut run => Ok((outcome, false)),
            () = stopped(stop) => {
                let close = async {
                    match tokio::time::timeout(LEAVE_TIMEOUT, session.leave(None, None)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::debug!(error = %e, "leave on stop failed"),
                        Err(_) => tracing::warn!("no answer to GOODBYE; closing the transport"),
                    }
                    session.disconnect().await;
                };
                let (outcome, ()) = tokio::join!(run, close);
                Ok((outcome, true))
            }
        }
    }
}

/// What the runner does after a session ended.
enum Decision {
    Stop,
    Retry,
    Fail(ApplicationError),
}

impl Decision {
    fn after(close: &Option<CloseDetails>) -> Self {
        let Some(close) = close else {
            // The transport went away without a session close: retry.
            return Decision::Retry;
        };
        match close.reason.as_str() {
            // Our own leave (the router answers GOODBYE_AND_OUT).
            ApplicationError::CLOSE_NORMAL | ApplicationError::GOODBYE_AND_OUT => Decision::Stop,
            // Retrying cannot help.
            ApplicationError::NOT_AUTHORIZED
            | ApplicationError::AUTHORIZATION_FAILED
            | ApplicationError::AUTHENTICATION_FAILED
            | ApplicationError::CANNOT_AUTHENTICATE
            | ApplicationError::NO_AUTH_METHOD
            | ApplicationError::NO_SUCH_REALM => {
                let mut e = ApplicationError::new(close.reason.clone());
                if let Some(m) = &close.message {
                    e = ApplicationError::with_message(close.reason.clone(), m.clone());
                }
                Decision::Fail(e)
            }
            _ => Decision::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let p = RetryPolicy {
            retry_delay_jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(0), Duration::from_millis(1500));
        assert_eq!(p.delay(1), Duration::from_millis(2250));
        assert_eq!(p.delay(100), Duration::from_secs(300));
        let j = RetryPolicy::default();
        for _ in 0..100 {
            let d = j.delay(0).as_secs_f64();
            assert!((1.35..=1.65).contains(&d), "{d}");
        }
    }

    #[test]
    fn stop_is_shared_by_clones_and_final() {
        let runner = ApplicationRunner::new("ws://127.0.0.1:1/ws", "realm1");
        let clone = runner.clone();
        let handle = runner.stop_handle();
        assert!(!handle.is_stopped());
        clone.stop();
        assert!(handle.is_stopped());
        assert!(runner.stop_handle().is_stopped());
    }

    #[tokio::test]
    async fn stopped_runner_returns_at_once() {
        struct Nothing;
        impl ApplicationSession for Nothing {}
        let runner = ApplicationRunner::new("ws://127.0.0.1:1/ws", "realm1");
        runner.stop();
        assert!(runner.run(|_| Nothing).await.is_ok());
        let outcome = runner.run_once(|_| Nothing).await.expect("stopped");
        assert!(!outcome.joined);
    }

    #[test]
    fn decisions() {
        let close = |r: &str| {
            Some(CloseDetails {
                reason: r.into(),
                message: None,
            })
        };
        assert!(matches!(Decision::after(&None), Decision::Retry));
        assert!(matches!(
            Decision::after(&close("wamp.close.normal")),
            Decision::Stop
        ));
        assert!(matches!(
            Decision::after(&close("wamp.close.system_shutdown")),
            Decision::Retry
        ));
        assert!(matches!(
            Decision::after(&close("wamp.close.transport_lost")),
            Decision::Retry
        ));
        assert!(matches!(
            Decision::after(&close("wamp.error.not_authorized")),
            Decision::Fail(_)
        ));
    }
}
