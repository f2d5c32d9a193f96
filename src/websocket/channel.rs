//! The cloneable channel handle (Autobahn's `IWebSocketChannel` send side).
//!
//! Any task may send: the message is encoded (masked, compressed) in the caller's task
//! into a shared queue, and the connection's task writes it. A sender waits while the
//! queue holds more than the high-water mark, so a slow peer cannot grow our memory.
//!
//! # Slow consumers
//!
//! A server sending to many clients (fan-out, broadcast) chooses per client what happens
//! when that client reads more slowly than it is sent to; the queue's bound is the
//! high-water mark in every case:
//!
//! - **Queue up to a bound, then wait**: [`WebSocketChannel::send_message`] (and the other
//!   sends) wait while more than the mark is queued. Choose the bound per connection with
//!   [`WebSocketChannel::set_high_water_mark`]; a sender waits for the slowest client it
//!   sends to.
//! - **Skip**: [`WebSocketChannel::try_send_message`] (or
//!   [`try_send_prepared`](WebSocketChannel::try_send_prepared)) never waits; on
//!   [`TrySendError::Full`] the message is not sent to this client (count the misses, send it
//!   a summary later, ...).
//! - **Drop after a deadline**: wait for room at most a deadline, then drop the client:
//!   `tokio::time::timeout(deadline, channel.send_message(..))`, and on timeout
//!   [`WebSocketChannel::drop_connection`] (no closing handshake: its close frame could not
//!   get past the queue anyway). A send cancelled by the timeout queued nothing. To keep one
//!   slow client from holding up the others, try every client first and wait only for the
//!   ones that were [`Full`](TrySendError::Full), concurrently (`examples/broadcast.rs`).
//!
//! To send one message to many clients, prepare it once ([`PreparedMessage`]).

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::Bytes;
use tokio::sync::Notify;

use super::error::{Error, Result};
use super::peer::PeerAddr;
use super::protocol::{Outgoing, PreparedMessage, SendError, Sender};

/// Default queued bytes above which senders wait ([`WebSocketChannel::set_high_water_mark`]).
pub const DEFAULT_HIGH_WATER_MARK: usize = 1 << 20;

/// Whether sends are possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Opening handshake not finished.
    Connecting,
    /// Open.
    Open,
    /// The connection is gone.
    Closed,
}

#[derive(Debug)]
pub(crate) struct SendSide {
    pub(crate) sender: Sender,
    pub(crate) out: Outgoing,
    pub(crate) phase: Phase,
    /// The connection task, to wake when output is queued.
    pub(crate) driver: Option<Waker>,
    /// The application asked to drop the connection now.
    pub(crate) abort: bool,
    /// A layer above failed the connection: drop it once the queued output (its
    /// close frame) is written.
    pub(crate) fail_after_flush: bool,
    /// The server shut down while this connection was still opening: close it with
    /// 1001 as soon as it is open.
    pub(crate) going_away: bool,
    /// Queued bytes above which senders wait (and `try_send_message` fails).
    pub(crate) high_water: usize,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) side: Mutex<SendSide>,
    pub(crate) drained: Notify,
    /// `peer_addr` as Autobahn writes it, kept for [`WebSocketChannel::peer`].
    pub(crate) peer: String,
    pub(crate) peer_addr: PeerAddr,
}

impl Shared {
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, SendSide> {
        // A panic while holding the lock cannot leave the queue inconsistent in a way
        // that matters more than losing the connection; keep going.
        self.side.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle to one WebSocket connection: send messages, pings, and close.
///
/// Cheap to clone; every clone talks to the same connection. Methods wait (without
/// blocking a thread) while too much output is queued for a slow peer.
///
/// # Examples
///
/// Every way of sending, to a client that records what arrives (over an in-memory pipe):
///
/// ```
/// use autobahn::websocket::{
///     WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
///     WebSocketServerFactory, WebSocketServerHandler,
/// };
/// use bytes::Bytes;
///
/// struct Sender(WebSocketChannel);
/// impl WebSocketHandler for Sender {
///     async fn on_open(&mut self) {
///         let ch = &self.0;
///         let _ = async {
///             ch.send_text("text").await?;
///             ch.send_message(vec![0u8, 1, 2], true).await?;
///             ch.send_ping("ping!").await?;
///             // A message streamed in frames (Autobahn's beginMessage ... endMessage).
///             ch.begin_message(false, false).await?;
///             ch.send_message_frame("stre").await?;
///             ch.send_message_frame("amed").await?;
///             ch.end_message().await?;
///             ch.send_close(Some(1000), Some("done")).await
///         }
///         .await;
///     }
/// }
/// impl WebSocketServerHandler for Sender {}
///
/// #[derive(Default)]
/// struct Recorder(Vec<(&'static str, Bytes)>);
/// impl WebSocketHandler for Recorder {
///     async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
///         self.0.push((if is_binary { "binary" } else { "text" }, payload));
///     }
///     async fn on_ping(&mut self, payload: Bytes) {
///         self.0.push(("ping", payload));
///     }
/// }
/// impl WebSocketClientHandler for Recorder {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (server_end, client_end) = tokio::io::duplex(64 * 1024);
/// # let server = WebSocketServerFactory::new("ws://localhost");
/// # tokio::spawn(async move { server.accept_stream(server_end, "pipe".into(), Sender).await });
/// # let client = WebSocketClientFactory::new("ws://localhost")?;
/// let connection = client.connect_stream(client_end, |_| Recorder::default()).await?;
/// let (recorder, close) = connection.run().await;
/// let got: Vec<(&str, &[u8])> = recorder.0.iter().map(|(k, p)| (*k, &p[..])).collect();
/// assert_eq!(
///     got,
///     [("text", &b"text"[..]), ("binary", &[0, 1, 2]), ("ping", b"ping!"), ("text", b"streamed")]
/// );
/// assert_eq!((close.code, close.reason.as_deref()), (Some(1000), Some("done")));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WebSocketChannel {
    pub(crate) shared: Arc<Shared>,
}

impl WebSocketChannel {
    pub(crate) fn new(sender: Sender, peer_addr: PeerAddr) -> Self {
        Self {
            shared: Arc::new(Shared {
                side: Mutex::new(SendSide {
                    sender,
                    out: Outgoing::new(),
                    phase: Phase::Connecting,
                    driver: None,
                    abort: false,
                    fail_after_flush: false,
                    going_away: false,
                    high_water: DEFAULT_HIGH_WATER_MARK,
                }),
                drained: Notify::new(),
                peer: peer_addr.to_string(),
                peer_addr,
            }),
        }
    }

    /// The peer, as Autobahn describes it: `tcp:ip:port` for TCP (also under TLS),
    /// `unix:path` for Unix sockets (the [`Display`](std::fmt::Display) of
    /// [`Self::peer_addr`]).
    pub fn peer(&self) -> &str {
        &self.shared.peer
    }

    /// The peer's address: the socket address for TCP (a client connected through a
    /// proxy: the proxy's), the path for Unix sockets, [`PeerAddr::Other`] for streams
    /// the library did not connect or accept itself.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn demo(channel: autobahn::websocket::WebSocketChannel) {
    /// use autobahn::websocket::PeerAddr;
    ///
    /// match channel.peer_addr() {
    ///     PeerAddr::Tcp(addr) if addr.ip().is_loopback() => tracing::info!("local client"),
    ///     PeerAddr::Unix(_) => tracing::info!("client on a Unix socket"),
    ///     other => tracing::info!(peer = %other, "remote or unknown client"),
    /// }
    /// # }
    /// ```
    pub fn peer_addr(&self) -> &PeerAddr {
        &self.shared.peer_addr
    }

    /// True while the connection is open and we have not sent a close frame.
    pub fn is_open(&self) -> bool {
        let side = self.shared.lock();
        side.phase == Phase::Open && !side.sender.close_sent()
    }

    /// Runs `f` on the send side once the queue is below the high-water mark.
    ///
    /// The common case takes the lock once and registers nothing: only a full queue makes
    /// the caller wait on `drained`. The connection task is woken to write what `f`
    /// queued, unless the caller *is* that task (a handler hook, polled by the connection
    /// task, which writes after polling the hook anyway): a self-wake would cost a
    /// spurious task poll per message.
    async fn with_sender<T>(
        &self,
        f: impl FnOnce(&mut Sender, &mut Outgoing) -> Result<T, SendError>,
    ) -> Result<T> {
        let mut f = Some(f);
        loop {
            let attempt = poll_fn(|cx| Poll::Ready(self.try_send(cx.waker(), &mut f))).await;
            if let Some(r) = attempt {
                return r;
            }
            // The queue is full: wait until the connection task drains it. Register first,
            // then look again, so a drain between the two cannot be missed.
            let notified = self.shared.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let side = self.shared.lock();
                if side.phase != Phase::Open || side.out.len() < side.high_water {
                    continue;
                }
            }
            notified.await;
        }
    }

    /// One attempt of [`Self::with_sender`]: `None` if the queue is full.
    fn try_send<T, F>(&self, caller: &Waker, f: &mut Option<F>) -> Option<Result<T>>
    where
        F: FnOnce(&mut Sender, &mut Outgoing) -> Result<T, SendError>,
    {
        let mut guard = self.shared.lock();
        match guard.phase {
            Phase::Connecting => return Some(Err(Error::NotOpen)),
            Phase::Closed => return Some(Err(Error::ConnectionClosed)),
            Phase::Open => {}
        }
        if guard.out.len() >= guard.high_water {
            return None;
        }
        let side = &mut *guard;
        let f = f.take().expect("called once");
        let r = f(&mut side.sender, &mut side.out);
        let wake = match &side.driver {
            Some(w) if w.will_wake(caller) => None,
            _ => side.driver.take(),
        };
        drop(guard);
        if let Some(w) = wake {
            w.wake();
        }
        Some(r.map_err(Error::from))
    }

    /// Fails the connection the way the protocol core fails it on a violation, for a
    /// layer above (WAMP: a message that does not decode gets 1002, one over
    /// `max_decoded_size` 1009): sends a close frame with `code` and `reason` (any code
    /// valid on the wire, unlike [`Self::send_close`]), then drops TCP once it is
    /// written, without waiting for the peer's close. The handler's `on_close` reports
    /// an unclean close.
    pub(crate) fn fail_connection(&self, code: u16, reason: &str) {
        let waker = {
            let mut side = self.shared.lock();
            let side = &mut *side;
            if side.phase == Phase::Open && !side.sender.close_sent() {
                let _ = side
                    .sender
                    .send_close(&mut side.out, Some(code), Some(reason));
            }
            side.fail_after_flush = true;
            side.driver.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The opening handshake is done: sends become possible (and a shutdown that came
    /// during the handshake starts the closing handshake now).
    pub(crate) fn set_open(&self) {
        let mut side = self.shared.lock();
        side.phase = Phase::Open;
        if side.going_away {
            Self::queue_going_away(&mut side);
        }
    }

    /// A server shutting down: starts the closing handshake with 1001 "going away",
    /// past the high-water mark (the close goes behind what is queued). A connection
    /// still opening closes as soon as it is open.
    pub(crate) fn going_away(&self) {
        let waker = {
            let mut side = self.shared.lock();
            match side.phase {
                Phase::Connecting => {
                    side.going_away = true;
                    None
                }
                Phase::Open => {
                    Self::queue_going_away(&mut side);
                    side.driver.take()
                }
                Phase::Closed => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn queue_going_away(side: &mut SendSide) {
        if !side.sender.close_sent() {
            let _ = side
                .sender
                .send_close(&mut side.out, Some(1001), Some("going away"));
        }
    }

    /// Drops the connection at once, without a closing handshake (Autobahn's
    /// `dropConnection(abort=True)`); `on_close` then reports an unclean close. Also when
    /// output is stuck behind a peer that stopped reading: queued output is discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn demo(channel: autobahn::websocket::WebSocketChannel) {
    /// // A peer that misbehaves gets no closing handshake.
    /// tracing::warn!(peer = channel.peer(), "flooding: dropping the connection");
    /// channel.drop_connection();
    /// # }
    /// ```
    pub fn drop_connection(&self) {
        let waker = {
            let mut side = self.shared.lock();
            side.abort = true;
            side.driver.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Sends a message (Autobahn's `sendMessage`): text (`is_binary` false, the payload
    /// must be UTF-8) or binary. Large unmasked payloads are written without a copy.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn demo(channel: autobahn::websocket::WebSocketChannel) -> Result<(), autobahn::websocket::Error> {
    /// channel.send_message("text, which must be UTF-8", false).await?;
    /// channel.send_message(vec![0xde, 0xad, 0xbe, 0xef], true).await?;
    /// // Clones talk to the same connection, e.g. from another task.
    /// let other = channel.clone();
    /// tokio::spawn(async move { other.send_text("from a task").await });
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_message(&self, payload: impl Into<Bytes>, is_binary: bool) -> Result<()> {
        let payload = payload.into();
        self.with_sender(move |s, out| s.send_message(out, payload, is_binary))
            .await
    }

    /// [`Self::send_message`] without compression for this one message, even when
    /// permessage-deflate is on (Autobahn's `doNotCompress`): for data that is already
    /// compressed, or that must not share a compression context with secrets.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn demo(channel: autobahn::websocket::WebSocketChannel) -> Result<(), autobahn::websocket::Error> {
    /// let jpeg: Vec<u8> = vec![0xff, 0xd8, 0xff]; // compressed already
    /// channel.send_message_uncompressed(jpeg, true).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_message_uncompressed(
        &self,
        payload: impl Into<Bytes>,
        is_binary: bool,
    ) -> Result<()> {
        let payload = payload.into();
        self.with_sender(move |s, out| s.send_message_with(out, payload, is_binary, true))
            .await
    }

    /// Queues a message without waiting: fails at once, handing the payload back, when
    /// more than the high-water mark is already queued for this peer (or the connection is
    /// not open). For fan-out, where one slow client must not hold up the others: skip it,
    /// count its misses, drop it after a deadline — the caller's policy (see
    /// [the module docs](self#slow-consumers)).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::channel::TrySendError;
    ///
    /// # fn demo(clients: &[autobahn::websocket::WebSocketChannel]) {
    /// let tick = bytes::Bytes::from_static(b"tick");
    /// for client in clients {
    ///     match client.try_send_message(tick.clone(), false) {
    ///         Ok(()) => {}
    ///         Err(TrySendError::Full(_payload)) => {
    ///             tracing::debug!(peer = client.peer(), buffered = client.buffered_amount(), "slow: skipped");
    ///         }
    ///         Err(TrySendError::Closed(_)) => {} // gone; its on_close will unregister it
    ///         Err(e) => tracing::warn!("{e}"),
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// Dropping a client that stays behind for longer than a deadline:
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::websocket::channel::TrySendError;
    ///
    /// # async fn demo(client: autobahn::websocket::WebSocketChannel) {
    /// let tick = bytes::Bytes::from_static(b"tick");
    /// if let Err(TrySendError::Full(tick)) = client.try_send_message(tick, false) {
    ///     let wait = client.send_message(tick, false);
    ///     if tokio::time::timeout(Duration::from_secs(5), wait).await.is_err() {
    ///         tracing::info!(peer = client.peer(), "behind for 5 s: dropped");
    ///         client.drop_connection();
    ///     }
    /// }
    /// # }
    /// ```
    pub fn try_send_message(
        &self,
        payload: impl Into<Bytes>,
        is_binary: bool,
    ) -> std::result::Result<(), TrySendError> {
        self.try_queue(payload.into(), |s, out, payload| {
            s.send_message(out, payload, is_binary)
        })
    }

    /// Sends a [`PreparedMessage`] (Autobahn's `sendPreparedMessage`): what
    /// [`Self::send_message`] of its payload would send, encoded once for many connections
    /// (see [`PreparedMessage`] for what is shared). Waits like `send_message` while the
    /// queue is above the high-water mark.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::PreparedMessage;
    ///
    /// # async fn demo(clients: Vec<autobahn::websocket::WebSocketChannel>) {
    /// let news = PreparedMessage::new("compressed once, sent to all", false);
    /// for client in &clients {
    ///     let _ = client.send_prepared(&news).await; // a client that left is no error here
    /// }
    /// # }
    /// ```
    pub async fn send_prepared(&self, message: &PreparedMessage) -> Result<()> {
        self.with_sender(|s, out| s.send_prepared(out, message))
            .await
    }

    /// [`Self::send_prepared`] without waiting, as [`Self::try_send_message`]: fails at once
    /// when the queue is above the high-water mark or the connection is not open (the error
    /// holds the message's payload).
    pub fn try_send_prepared(
        &self,
        message: &PreparedMessage,
    ) -> std::result::Result<(), TrySendError> {
        // The payload is cloned only for an error: a clone per connection of a fan-out
        // would be a shared counter's increment and decrement each.
        self.try_queue_with(
            || message.payload().clone(),
            |s, out| s.send_prepared(out, message),
        )
    }

    /// Queues with `f` if the connection is open and the queue below the high-water mark;
    /// else hands `payload` back.
    fn try_queue(
        &self,
        payload: Bytes,
        f: impl FnOnce(&mut Sender, &mut Outgoing, Bytes) -> Result<(), SendError>,
    ) -> std::result::Result<(), TrySendError> {
        let payload = std::cell::Cell::new(Some(payload));
        self.try_queue_with(
            || payload.take().unwrap_or_default(),
            |s, out| f(s, out, payload.take().unwrap_or_default()),
        )
    }

    /// [`Self::try_queue`] with the payload to hand back made only when needed.
    fn try_queue_with(
        &self,
        payload: impl FnOnce() -> Bytes,
        f: impl FnOnce(&mut Sender, &mut Outgoing) -> Result<(), SendError>,
    ) -> std::result::Result<(), TrySendError> {
        let waker = {
            let mut guard = self.shared.lock();
            let side = &mut *guard;
            if side.phase != Phase::Open {
                return Err(TrySendError::Closed(payload()));
            }
            if side.out.len() >= side.high_water {
                return Err(TrySendError::Full(payload()));
            }
            f(&mut side.sender, &mut side.out).map_err(|e| TrySendError::Failed(e.into()))?;
            side.driver.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Bytes queued for this peer and not yet handed to the socket (the browser API's
    /// `bufferedAmount`): encoded frames, so compressed size when compression is on.
    pub fn buffered_amount(&self) -> usize {
        self.shared.lock().out.len()
    }

    /// Queued bytes above which sends wait and [`Self::try_send_message`] fails; default
    /// [`DEFAULT_HIGH_WATER_MARK`] (1 MiB). A message larger than the mark is still
    /// queued whole when less than the mark is queued before it.
    pub fn set_high_water_mark(&self, bytes: usize) {
        let waker = {
            let mut side = self.shared.lock();
            side.high_water = bytes.max(1);
            side.driver.take()
        };
        // Senders waiting for room re-check against the new mark.
        self.shared.drained.notify_waiters();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The current high-water mark ([`Self::set_high_water_mark`]).
    pub fn high_water_mark(&self) -> usize {
        self.shared.lock().high_water
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<()> {
        self.send_message(Bytes::from(text.into()), false).await
    }

    /// Starts the closing handshake (Autobahn's `sendClose`). `code` is 1000 or
    /// 3000–4999; a reason needs a code and is truncated to 123 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn demo(channel: autobahn::websocket::WebSocketChannel) -> Result<(), autobahn::websocket::Error> {
    /// channel.send_close(Some(4000), Some("application shutting down")).await?;
    /// // 1001 ("going away") is for the library; applications use 1000 or 3000-4999.
    /// assert!(channel.send_close(Some(1001), None).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_close(&self, code: Option<u16>, reason: Option<&str>) -> Result<()> {
        if let Some(c) = code {
            if c != 1000 && !(3000..=4999).contains(&c) {
                return Err(SendError::InvalidCloseCode(c).into());
            }
        }
        let reason = reason.map(str::to_owned);
        self.with_sender(move |s, out| s.send_close(out, code, reason.as_deref()))
            .await
    }

    /// Sends a ping (payload up to 125 bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// # async fn demo(channel: autobahn::websocket::WebSocketChannel) -> Result<(), autobahn::websocket::Error> {
    /// // Our own keepalive with a timestamp; `on_pong` gets the payload back.
    /// let millis = std::time::UNIX_EPOCH.elapsed().map(|d| d.as_millis()).unwrap_or(0);
    /// channel.send_ping(millis.to_be_bytes()).await?;
    /// assert!(channel.send_ping([0u8; 126]).await.is_err()); // control payloads: 125 bytes at most
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_ping(&self, payload: impl AsRef<[u8]>) -> Result<()> {
        self.with_sender(|s, out| s.send_ping(out, payload.as_ref()))
            .await
    }

    /// Sends an unsolicited pong (payload up to 125 bytes).
    pub async fn send_pong(&self, payload: impl AsRef<[u8]>) -> Result<()> {
        self.with_sender(|s, out| s.send_pong(out, payload.as_ref()))
            .await
    }

    /// Begins a message sent frame by frame (Autobahn's `beginMessage`); with
    /// `do_not_compress`, it goes uncompressed on a deflate connection.
    pub async fn begin_message(&self, is_binary: bool, do_not_compress: bool) -> Result<()> {
        self.with_sender(|s, _| s.begin_message(is_binary, do_not_compress))
            .await
    }

    /// Sends one whole frame of the current message (Autobahn's `sendMessageFrame`).
    pub async fn send_message_frame(&self, payload: impl AsRef<[u8]>) -> Result<()> {
        self.with_sender(|s, out| s.send_message_frame(out, payload.as_ref()))
            .await
    }

    /// Begins a frame of `length` bytes whose payload follows in pieces (Autobahn's
    /// `beginMessageFrame`).
    ///
    /// # Examples
    ///
    /// A 1 MB file sent as one frame whose payload is written in chunks:
    ///
    /// ```
    /// # async fn demo(channel: autobahn::websocket::WebSocketChannel) -> Result<(), autobahn::websocket::Error> {
    /// let file = vec![7u8; 1_000_000];
    /// channel.begin_message(true, false).await?;
    /// channel.begin_message_frame(file.len() as u64).await?;
    /// for chunk in file.chunks(64 * 1024) {
    ///     channel.send_message_frame_data(chunk).await?;
    /// }
    /// channel.end_message().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn begin_message_frame(&self, length: u64) -> Result<()> {
        self.with_sender(|s, out| s.begin_message_frame(out, length))
            .await
    }

    /// Sends the next piece of the frame begun with [`Self::begin_message_frame`];
    /// returns the bytes of that frame still to come (Autobahn's `sendMessageFrameData`).
    pub async fn send_message_frame_data(&self, data: impl AsRef<[u8]>) -> Result<u64> {
        self.with_sender(|s, out| s.send_message_frame_data(out, data.as_ref()))
            .await
    }

    /// Ends the current message (Autobahn's `endMessage`).
    pub async fn end_message(&self) -> Result<()> {
        self.with_sender(|s, out| s.end_message(out)).await
    }
}

/// Why [`WebSocketChannel::try_send_message`] did not queue a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError {
    /// More than the high-water mark is queued for this peer; the payload is handed back.
    #[error("send queue above its high-water mark")]
    Full(Bytes),
    /// The connection is not open (still opening, or gone); the payload is handed back.
    #[error("connection not open")]
    Closed(Bytes),
    /// The message itself was refused (e.g. a close was already sent).
    #[error(transparent)]
    Failed(Error),
}
