//! WAMP over RawSocket (Autobahn's `WampRawSocketClientProtocol`): a [`Transport`]
//! over TCP (`rs://host:port`), TLS (`rss://host:port`) or a Unix domain socket
//! (`rs://unix:/path`), built on the sans-IO [`handshake`](crate::rawsocket::handshake) and
//! [`framing`](crate::rawsocket::framing).
//!
//! After the 4-octet handshake:
//!
//! - [`RawSocketTransport::recv`] reads the socket itself (no task in between: a
//!   message costs no hand-over): it decodes frames, answers each PING with a PONG
//!   (and, with [`RawSocketOptions::auto_ping_interval`], probes a router silent for
//!   the interval and fails the connection when nothing comes back in time; see
//!   [`KeepaliveProbe`]) and returns WAMP messages. Nothing is read while the
//!   application does not ask for messages, so TCP pushes back on the router; at most
//!   one frame's messages wait decoded;
//! - a writer task writes whole frames in order, so that a `send` cancelled half-way
//!   can never leave half a frame on the wire. At most [`SEND_HIGH_WATER`] bytes wait
//!   for it; `send` waits beyond that (backpressure).
//!
//! `send` checks every message against the maximum length the router announced
//! *before* queueing it: an oversized message fails with
//! [`TransportError::MessageTooLarge`], nothing is written, and the connection
//! stays usable: the spec forbids sending more than the peer announced, and
//! failing the whole session for one oversized call would punish every other one.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use super::message::Message;
use super::serializer::{for_rawsocket_id, Serializer};
use super::transport::{Transport, TransportError};
use crate::rawsocket::framing::{encode_header, FrameDecoder, FrameKind, HEADER_LEN};
use crate::rawsocket::handshake::{ClientHandshake, HandshakeErrorCode, SerializerId};
use crate::rawsocket::url::{parse_url, RawSocketEndpoint, UrlError};
use crate::rawsocket::RawSocketError;

mod keepalive;
mod options;
mod reader;
mod tasks;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_probe;

pub use options::{KeepaliveProbe, RawSocketOptions, KEEPALIVE_PROCEDURE, KEEPALIVE_REQUEST_IDS};

use keepalive::Keepalive;

use reader::{ReadEnd, Reader};
use tasks::{write_loop, FrameSender, Shared, WriterCmd};

/// Bytes of queued outgoing frames above which `send` waits.
pub const SEND_HIGH_WATER: usize = 1 << 20;

/// Default of [`RawSocketOptions::queue_size`] (which no longer has an effect: `recv`
/// reads the socket itself, nothing is queued for it).
pub const DEFAULT_QUEUE_SIZE: usize = 64;

#[cfg(feature = "tls")]
use crate::websocket::stream::TLS_EXPORTER_LABEL;

/// Why a [`RawSocketTransport`] could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawSocketConnectError {
    /// The URL is not a valid RawSocket URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The configured serializer is not one we implement.
    #[error("unsupported serializer {0}")]
    UnsupportedSerializer(SerializerId),
    /// Connecting failed (the I/O error is the source).
    #[error("connecting to {target} failed")]
    Connect {
        /// `host:port` or the Unix socket path.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The handshake's IO failed (the I/O error is the source).
    #[error("I/O error")]
    Io(#[from] std::io::Error),
    /// TLS setup or handshake failed: `context` says what was being done, the
    /// `rustls::Error` (or I/O error) is the source when there is one.
    #[error("TLS: {context}")]
    Tls {
        /// What was being done, and with whom.
        context: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<crate::websocket::error::BoxError>,
    },
    /// Unix domain sockets are not available on this platform.
    #[error("Unix domain sockets are not supported on this platform")]
    UnixUnsupported,
    /// [`RawSocketOptions::handshake_timeout`] elapsed.
    #[error("timed out connecting")]
    Timeout,
    /// The router closed the connection before answering the handshake.
    #[error("the router closed the connection during the handshake")]
    ClosedDuringHandshake,
    /// The router refused the connection with an error code.
    #[error("router refused the connection: {0}")]
    Refused(HandshakeErrorCode),
    /// The router's reply is not a valid RawSocket handshake (not a RawSocket
    /// router, reserved bits, another serializer than requested).
    #[error("invalid handshake reply: {0}")]
    Handshake(RawSocketError),
}

impl From<RawSocketError> for RawSocketConnectError {
    fn from(e: RawSocketError) -> Self {
        match e {
            RawSocketError::Refused(code) => Self::Refused(code),
            other => Self::Handshake(other),
        }
    }
}

impl From<RawSocketConnectError> for TransportError {
    fn from(e: RawSocketConnectError) -> Self {
        TransportError::Connect(Box::new(e))
    }
}

/// A WAMP transport over RawSocket (Autobahn's `WampRawSocketClientProtocol` as an
/// `ITransport`).
///
/// Dropping it drops the connection at once; call [`Transport::close`] to write the
/// queued messages and shut the connection down cleanly.
///
/// # Examples
///
/// A session over RawSocket with MessagePack, without the runner:
///
/// ```no_run
/// use autobahn::rawsocket::SerializerId;
/// use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
/// use autobahn::wamp::session::SessionEvent;
/// use autobahn::wamp::{ComponentConfig, HelloDetails, Session};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = RawSocketOptions {
///     serializer: SerializerId::MSGPACK,
///     max_len_exp: 20, // accept messages up to 1 MiB
///     ..RawSocketOptions::default()
/// };
/// let transport = RawSocketTransport::connect("rs://127.0.0.1:8080", &options).await?;
/// assert!(transport.peer_max_len() >= 512);
///
/// let (session, mut lifecycle) = Session::start(transport, ComponentConfig::new("realm1"));
/// session.join(HelloDetails::new("realm1")).await?;
/// while let Some(event) = lifecycle.next().await {
///     if let SessionEvent::Joined(details) = event {
///         println!("joined as session {}", details.session);
///         break;
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct RawSocketTransport {
    serializer: Arc<dyn Serializer>,
    sender: FrameSender,
    /// The receiving side, polled by `recv` (boxed: the transport stays small to move).
    reader: Box<Reader>,
    shared: Arc<Shared>,
    writer: JoinHandle<()>,
    /// The router's receive limit: the largest payload we may send.
    peer_max_len: u32,
    /// Our receive limit, as announced.
    max_len: u32,
    close_timeout: Option<Duration>,
    /// `recv` returned `None` or an error, or we closed/aborted.
    done: bool,
    /// `close` or `abort` ran: the tasks are finished or aborted.
    closed: bool,
    peer: String,
    /// RFC 9266 `tls-exporter` channel binding, over TLS.
    tls_exporter: Option<Vec<u8>>,
}

impl std::fmt::Debug for RawSocketTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSocketTransport")
            .field("peer", &self.peer)
            .field("serializer", &self.serializer.serializer_id())
            .field("peer_max_len", &self.peer_max_len)
            .field("max_len", &self.max_len)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl RawSocketTransport {
    /// Connects to a RawSocket URL (`rs://host:port`, `rss://host:port`,
    /// `rs://unix:/path`) and runs the handshake, all bounded by
    /// [`RawSocketOptions::handshake_timeout`].
    pub async fn connect(
        url: &str,
        options: &RawSocketOptions,
    ) -> Result<Self, RawSocketConnectError> {
        let url = parse_url(url)?;
        check_serializer(options.serializer)?;
        let fut = async {
            match url.endpoint {
                RawSocketEndpoint::Tcp { host, port } => {
                    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                        .await
                        .map_err(|source| RawSocketConnectError::Connect {
                            target: if host.contains(':') {
                                format!("[{host}]:{port}")
                            } else {
                                format!("{host}:{port}")
                            },
                            source,
                        })?;
                    let _ = tcp.set_nodelay(options.tcp_no_delay);
                    // Described as Autobahn (and our WebSocket layer) do.
                    let peer = match tcp.peer_addr() {
                        Ok(addr) => format!("tcp:{addr}"),
                        Err(_) => format!("tcp:{host}:{port}"),
                    };
                    if url.is_secure {
                        start_tls(tcp, &host, peer, options).await
                    } else {
                        handshake_and_start(tcp, peer, options, None).await
                    }
                }
                RawSocketEndpoint::Unix { path } => {
                    connect_unix(&path, url.is_secure, options).await
                }
            }
        };
        match options.handshake_timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| RawSocketConnectError::Timeout)?,
            None => fut.await,
        }
    }

    /// Runs the handshake over an already connected stream (any byte stream: a TCP
    /// or TLS stream you set up yourself, an in-memory pipe, ...); `peer` describes
    /// the router for logs. Bounded by [`RawSocketOptions::handshake_timeout`].
    pub async fn connect_stream<S>(
        stream: S,
        peer: impl Into<String>,
        options: &RawSocketOptions,
    ) -> Result<Self, RawSocketConnectError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        check_serializer(options.serializer)?;
        let fut = handshake_and_start(stream, peer.into(), options, None);
        match options.handshake_timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| RawSocketConnectError::Timeout)?,
            None => fut.await,
        }
    }

    /// The largest message payload the router accepts (what it announced): larger
    /// sends fail with [`TransportError::MessageTooLarge`].
    pub fn peer_max_len(&self) -> u32 {
        self.peer_max_len
    }

    /// The largest message payload we accept (what we announced).
    pub fn max_len(&self) -> u32 {
        self.max_len
    }
}

fn check_serializer(id: SerializerId) -> Result<Arc<dyn Serializer>, RawSocketConnectError> {
    for_rawsocket_id(id.get())
        .map(Arc::from)
        .ok_or(RawSocketConnectError::UnsupportedSerializer(id))
}

#[cfg(unix)]
async fn connect_unix(
    path: &str,
    secure: bool,
    options: &RawSocketOptions,
) -> Result<RawSocketTransport, RawSocketConnectError> {
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|source| RawSocketConnectError::Connect {
            target: path.to_owned(),
            source,
        })?;
    let peer = format!("unix:{path}");
    if secure {
        start_tls(stream, "localhost", peer, options).await
    } else {
        handshake_and_start(stream, peer, options, None).await
    }
}

#[cfg(not(unix))]
async fn connect_unix(
    _path: &str,
    _secure: bool,
    _options: &RawSocketOptions,
) -> Result<RawSocketTransport, RawSocketConnectError> {
    Err(RawSocketConnectError::UnixUnsupported)
}

#[cfg(feature = "tls")]
async fn start_tls<S>(
    stream: S,
    host: &str,
    peer: String,
    options: &RawSocketOptions,
) -> Result<RawSocketTransport, RawSocketConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use crate::websocket::stream::tls;
    let config = match &options.tls {
        Some(config) => config.clone(),
        None => tls::default_client_config().map_err(|e| RawSocketConnectError::Tls {
            context: "no client configuration".into(),
            source: Some(Box::new(e)),
        })?,
    };
    let name = options
        .tls_server_name
        .clone()
        .unwrap_or_else(|| host.to_owned());
    let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
        RawSocketConnectError::Tls {
            context: format!("invalid server name {name:?}"),
            source: Some(Box::new(e)),
        }
    })?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| RawSocketConnectError::Tls {
            context: format!(
                "handshake with {peer} failed{}",
                tls::plain_server_hint(&e, "rs://")
            ),
            source: Some(crate::websocket::error::tls_source(e)),
        })?;
    let exporter = tls
        .get_ref()
        .1
        .export_keying_material([0u8; 32], TLS_EXPORTER_LABEL, None)
        .ok()
        .map(|k| k.to_vec());
    handshake_and_start(tls, peer, options, exporter).await
}

#[cfg(not(feature = "tls"))]
async fn start_tls<S>(
    _stream: S,
    _host: &str,
    _peer: String,
    _options: &RawSocketOptions,
) -> Result<RawSocketTransport, RawSocketConnectError> {
    Err(RawSocketConnectError::Tls {
        context: "rss:// needs the `tls` feature".into(),
        source: None,
    })
}

/// The 4-octet handshake, then the writer task.
async fn handshake_and_start<S>(
    mut stream: S,
    peer: String,
    options: &RawSocketOptions,
    tls_exporter: Option<Vec<u8>>,
) -> Result<RawSocketTransport, RawSocketConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let serializer = check_serializer(options.serializer)?;
    let hs = ClientHandshake {
        max_len_exp: options.max_len_exp,
        serializer: options.serializer,
    };
    stream.write_all(&hs.to_bytes()).await?;
    stream.flush().await?;
    let mut reply = [0u8; 4];
    match stream.read_exact(&mut reply).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(RawSocketConnectError::ClosedDuringHandshake)
        }
        Err(e) => return Err(e.into()),
    }
    let hello = hs.check_reply(reply)?;
    tracing::debug!(
        %peer,
        serializer = serializer.serializer_id(),
        peer_max_len = hello.max_len(),
        "rawsocket: connected"
    );

    let (rd, wr) = tokio::io::split(stream);
    let shared = Arc::new(Shared {
        open: AtomicBool::new(true),
        budget: Arc::new(Semaphore::new(SEND_HIGH_WATER)),
    });
    // Unbounded in frames, bounded in bytes: every frame (our messages, the PONGs a
    // router's PINGs ask for) first takes its share of `budget`, so a router that
    // does not read stalls our reader too.
    let (wtx, wrx) = mpsc::unbounded_channel();
    let sender = FrameSender {
        tx: wtx,
        budget: shared.budget.clone(),
    };
    let writer = tokio::spawn(write_loop(wr, wrx, shared.clone(), peer.clone()));
    let reader = Box::new(Reader::new(
        Box::new(rd),
        FrameDecoder::new(hs.max_len()),
        serializer.clone(),
        options.max_decoded_size,
        sender.clone(),
        hello.max_len(),
        options.auto_ping_interval.map(|interval| {
            // A WAMP probe waits for the session's WELCOME; a PING needs no session.
            let active = options.keepalive_probe == KeepaliveProbe::Ping;
            let k = Keepalive::new(interval, options.auto_ping_timeout, active);
            (k, options.keepalive_probe)
        }),
    ));
    Ok(RawSocketTransport {
        serializer,
        sender,
        reader,
        shared,
        writer,
        peer_max_len: hello.max_len(),
        max_len: hs.max_len(),
        close_timeout: options.close_timeout,
        done: false,
        closed: false,
        peer,
        tls_exporter,
    })
}

impl Transport for RawSocketTransport {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        if self.done || !self.shared.open.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        // Room for the header first, so the frame is built without a copy.
        let mut frame = Vec::with_capacity(128);
        frame.extend_from_slice(&[0; HEADER_LEN]);
        self.serializer
            .serialize_into(&msg, &mut frame)
            .map_err(|e| TransportError::Serialize(e.to_string()))?;
        let len = frame.len() - HEADER_LEN;
        let header =
            encode_header(FrameKind::Message, len, self.peer_max_len).map_err(|e| match e {
                RawSocketError::MessageTooLarge { size, max } => TransportError::MessageTooLarge {
                    size,
                    max: max as usize,
                },
                other => TransportError::Serialize(other.to_string()),
            })?;
        if let Some(h) = frame.get_mut(..HEADER_LEN) {
            h.copy_from_slice(&header);
        }
        self.reader.sending(&msg);
        self.sender.send(frame.into()).await
    }

    async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        if self.done {
            return None;
        }
        self.reader.resumed();
        // Cancel-safe: the reader keeps all its state between polls.
        match poll_fn(|cx| self.reader.poll_next(cx)).await {
            Ok(msg) => Some(Ok(msg)),
            Err(end) => self.read_ended(end).map(Err),
        }
    }

    fn is_open(&self) -> bool {
        !self.done && self.shared.open.load(Ordering::Acquire)
    }

    async fn close(&mut self) {
        if self.closed {
            // The writer's handle may already have been awaited to completion.
            return;
        }
        if !self.done {
            // What has arrived already is acted on first (a PING gets its PONG before
            // our side closes), as a reader reading ahead would have done.
            poll_fn(|cx| loop {
                match self.reader.poll_next(cx) {
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(_)) | Poll::Pending => return Poll::Ready(()),
                }
            })
            .await;
        }
        self.done = true;
        self.shared.open.store(false, Ordering::Release);
        let _ = self.sender.tx.send(WriterCmd::Shutdown);
        let wait = async {
            // Queued frames are written, then our side is shut down...
            let _ = (&mut self.writer).await;
            // ... and the router closes its side: we read until EOF, dropping the
            // messages that still arrive.
            while poll_fn(|cx| self.reader.poll_next(cx)).await.is_ok() {}
        };
        let finished = match self.close_timeout {
            Some(t) => tokio::time::timeout(t, wait).await.is_ok(),
            None => {
                wait.await;
                true
            }
        };
        if !finished {
            tracing::debug!(peer = %self.peer, "rawsocket: close timed out; dropping the connection");
        }
        self.abort();
    }

    fn abort(&mut self) {
        self.closed = true;
        self.done = true;
        self.shared.open.store(false, Ordering::Release);
        self.shared.budget.close();
        self.writer.abort();
    }

    /// Only `tls-exporter` (RFC 9266), over TLS: rustls does not expose `tls-unique`
    /// (the TLS Finished message), which TLS 1.3 does not define anyway.
    fn channel_id(&self, binding: &str) -> Option<Vec<u8>> {
        match binding {
            "tls-exporter" => self.tls_exporter.clone(),
            _ => None,
        }
    }

    fn serializer_id(&self) -> &'static str {
        self.serializer.serializer_id()
    }

    fn peer(&self) -> String {
        self.peer.clone()
    }
}

impl RawSocketTransport {
    /// Reading ended: the transport is done. `None` for a clean end (EOF).
    fn read_ended(&mut self, end: ReadEnd) -> Option<TransportError> {
        self.done = true;
        self.shared.open.store(false, Ordering::Release);
        match end {
            ReadEnd::Eof => {
                tracing::debug!(peer = %self.peer, "rawsocket: router closed the connection");
                // Close our side too, after what is queued.
                let _ = self.sender.tx.send(WriterCmd::Shutdown);
                None
            }
            ReadEnd::Failed(e) => {
                tracing::debug!(peer = %self.peer, "rawsocket: connection failed: {e}");
                self.writer.abort();
                self.shared.budget.close();
                Some(e)
            }
        }
    }
}

impl Drop for RawSocketTransport {
    fn drop(&mut self) {
        self.writer.abort();
    }
}
