//! A byte stream over a WebSocket connection: tokio's `AsyncRead + AsyncWrite` on
//! binary messages, so that any TCP protocol can ride `ws://` or `wss://` (the `tunnel`
//! example forwards a local TCP port this way).
//!
//! # The tunnel subprotocol
//!
//! Both ends speak [`TUNNEL_SUBPROTOCOL`] (offer it with the factories' `protocols`):
//!
//! - Data travels in binary messages, in order; message boundaries mean nothing.
//! - An **empty binary message** means "end of my data": the sender shut down its write
//!   side (TCP's half-close, `shutdown(SHUT_WR)`). The other direction stays open, so
//!   "send the request, shut down, read the answer" works as over TCP.
//! - Once both ends have sent their end of data, each sends a close frame with 1000;
//!   the closing handshake ends the connection.
//! - A connection that ends otherwise: a close with 1000 reads as end of data; any
//!   other code, or a lost connection (no close frame, 1006), fails the read
//!   ([`TunnelError::Closed`], [`TunnelError::Lost`]): the data may be cut short.
//! - A text message breaks the protocol: the connection is failed with 1003
//!   (unsupported data) and the read fails ([`TunnelError::TextMessage`]).
//!
//! WebSocket itself has no half-close (no data may follow a close frame), hence the
//! empty message. It does not clash with anything a byte stream could want to say: a
//! write of zero bytes sends nothing.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connection::WebSocket;
use super::driver::CloseInfo;
use super::error::Error;
use super::frame::close_code;
use super::message::Message;

/// The WebSocket subprotocol name of a byte tunnel (see the [module
/// documentation](self)): binary messages carry the bytes, an empty one ends a direction.
/// The `v1` leaves room for a later version of these rules.
///
/// # Examples
///
/// A server and a client that both insist on it:
///
/// ```
/// use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory, TUNNEL_SUBPROTOCOL};
///
/// # fn main() -> Result<(), autobahn::websocket::Error> {
/// let server = WebSocketServerFactory::new("wss://127.0.0.1:8443").protocols([TUNNEL_SUBPROTOCOL]);
/// let client = WebSocketClientFactory::new("wss://127.0.0.1:8443")?.protocols([TUNNEL_SUBPROTOCOL]);
/// assert_eq!(TUNNEL_SUBPROTOCOL, "autobahn-rs.tunnel.v1");
/// # let _ = (server, client);
/// # Ok(())
/// # }
/// ```
pub const TUNNEL_SUBPROTOCOL: &str = "autobahn-rs.tunnel.v1";

/// The largest binary message a [`ByteStream`] write makes unless told otherwise
/// ([`ByteStream::with_message_size`]): 64 KiB.
///
/// # Examples
///
/// ```
/// assert_eq!(autobahn::websocket::byte_stream::DEFAULT_MESSAGE_SIZE, 65536);
/// ```
pub const DEFAULT_MESSAGE_SIZE: usize = 64 * 1024;

/// Why a [`ByteStream`] read or write failed: the inner error of the [`io::Error`]
/// (reach it with [`io::Error::get_ref`] and `downcast_ref`).
///
/// # Examples
///
/// ```
/// use autobahn::websocket::byte_stream::TunnelError;
///
/// # fn check(err: &std::io::Error) {
/// match err.get_ref().and_then(|e| e.downcast_ref::<TunnelError>()) {
///     Some(TunnelError::Closed { code, .. }) => tracing::warn!(code, "tunnel closed early"),
///     Some(other) => tracing::warn!(%other, "tunnel failed"),
///     None => tracing::warn!(%err, "I/O error"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TunnelError {
    /// The peer sent a text message; the connection was failed with 1003.
    #[error("the peer sent a text message: a byte tunnel carries binary messages only")]
    TextMessage,
    /// The peer closed the connection with a code other than 1000 before its end of
    /// data (what it sent may be cut short). Read as `ConnectionAborted`.
    #[error("the peer closed the WebSocket with {code} before its end of data{}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Closed {
        /// The peer's close code (1005 if its close frame had none).
        code: u16,
        /// The peer's reason, if it gave one.
        reason: Option<String>,
    },
    /// The connection ended without a closing handshake (1006) before the peer's end of
    /// data. Read as `ConnectionReset`.
    #[error("the WebSocket connection was lost before the peer's end of data{}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Lost {
        /// What happened, when known (a read failure, a timeout ...).
        reason: Option<String>,
    },
    /// [`ByteStream::tunnel`] was given a connection whose opening handshake did not
    /// settle on [`TUNNEL_SUBPROTOCOL`].
    #[error("the connection's subprotocol is {}, not {TUNNEL_SUBPROTOCOL}",
        negotiated.as_deref().map(|p| format!("{p:?}")).unwrap_or_else(|| "none".into()))]
    Subprotocol {
        /// The subprotocol the handshake settled on, if any.
        negotiated: Option<String>,
    },
    /// A write after [`AsyncWrite::poll_shutdown`]. Read as `BrokenPipe`.
    #[error("write after shutdown")]
    WriteAfterShutdown,
    /// The WebSocket connection refused a send or a flush (the error is the source).
    #[error("the WebSocket connection failed")]
    WebSocket(#[source] Error),
}

/// A WebSocket connection as a byte stream: tokio's [`AsyncRead`] and [`AsyncWrite`],
/// speaking [`TUNNEL_SUBPROTOCOL`] (the [module documentation](self) has the rules).
/// Either role: wrap a client's or a server's [`WebSocket`].
///
/// - **Writes** become binary messages of at most [`DEFAULT_MESSAGE_SIZE`] bytes (never
///   more than the write gave). A write waits while the connection holds more than its
///   high-water mark for the peer, so a slow peer slows the writer down; output goes out
///   while the stream is polled, and [`poll_flush`](AsyncWrite::poll_flush) waits for it.
/// - **Reads** hand out received payloads; what does not fit the caller's buffer is
///   kept for the next read. Nothing is read ahead beyond the connection's own bound
///   (`max_queued_bytes`), so memory stays bounded in bytes.
/// - **Shutdown** ([`AsyncWriteExt::shutdown`](tokio::io::AsyncWriteExt::shutdown)) sends
///   the end of data and flushes; reading goes on. When the peer's end of data has
///   arrived too (now, or later on a read), the closing handshake (1000) runs to its end
///   before the shutdown (or that last read's end of file) returns.
/// - Pings are answered while the stream is polled; drive both directions from one task
///   (`tokio::io::copy_bidirectional`, `select!`), not from two halves of
///   `tokio::io::split`: the connection's IO wakes only the task that polled it last.
///
/// Dropping the stream drops the connection without a close: the peer reads
/// [`TunnelError::Lost`]. [`Self::into_inner`] gives the [`WebSocket`] back, e.g. to
/// close it with a code of one's own.
///
/// # Examples
///
/// An HTTP/1.0-style exchange over an in-memory pipe: the client sends its request and
/// shuts down, the server reads to the end and answers, and the connection closes
/// cleanly:
///
/// ```
/// use autobahn::websocket::handshake::Negotiated;
/// use autobahn::websocket::options::{ClientOptions, ServerOptions};
/// use autobahn::websocket::{ByteStream, WebSocketBuilder, TUNNEL_SUBPROTOCOL};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (client_end, server_end) = tokio::io::duplex(64 * 1024);
/// let negotiated = Negotiated {
///     subprotocol: Some(TUNNEL_SUBPROTOCOL.into()),
///     ..Negotiated::default()
/// };
/// let server = WebSocketBuilder::server(&ServerOptions::default())
///     .negotiated(negotiated.clone())
///     .build(server_end);
/// let client = WebSocketBuilder::client(&ClientOptions::default())
///     .negotiated(negotiated)
///     .build(client_end);
///
/// let server = tokio::spawn(async move {
///     let mut stream = ByteStream::new(server);
///     let mut request = Vec::new();
///     stream.read_to_end(&mut request).await?;
///     stream.write_all(&request.to_ascii_uppercase()).await?;
///     stream.shutdown().await?; // both ends of data seen: closes with 1000
///     Ok::<_, std::io::Error>(stream.into_inner().close_info())
/// });
///
/// let mut stream = ByteStream::new(client);
/// stream.write_all(b"get /").await?;
/// stream.shutdown().await?; // end of our data; the answer still comes
/// let mut answer = String::new();
/// stream.read_to_string(&mut answer).await?;
/// assert_eq!(answer, "GET /");
///
/// let client_close = stream.into_inner().close_info().expect("closed");
/// assert!(client_close.was_clean && client_close.code == Some(1000));
/// let server_close = server.await.expect("server task")?.expect("closed");
/// assert!(server_close.was_clean && server_close.code == Some(1000));
/// # Ok(())
/// # }
/// ```
pub struct ByteStream<S> {
    ws: WebSocket<S>,
    /// The rest of the last payload, for the next read.
    unread: Bytes,
    /// The largest message a write makes.
    message_size: usize,
    /// The peer's end of data has arrived.
    peer_done: bool,
    /// Our end of data is queued (after a shutdown).
    we_done: bool,
    /// Our close frame is queued (both ends of data seen).
    closing: bool,
    /// The peer sent a text message: the connection was failed.
    text_received: bool,
}

impl<S> std::fmt::Debug for ByteStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("ws", &self.ws)
            .field("unread", &self.unread.len())
            .field("peer_done", &self.peer_done)
            .field("we_done", &self.we_done)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ByteStream<S> {
    /// Wraps an open connection, whatever its subprotocol (for a peer that speaks these
    /// rules under another name, or none); [`Self::tunnel`] insists on
    /// [`TUNNEL_SUBPROTOCOL`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::{ByteStream, WebSocketClientFactory, TUNNEL_SUBPROTOCOL};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketClientFactory::new("wss://tunnel.example.com/")?
    ///     .protocols([TUNNEL_SUBPROTOCOL]);
    /// let mut stream = ByteStream::new(factory.connect_websocket().await?);
    /// let mut local = tokio::net::TcpStream::connect("127.0.0.1:22").await?;
    /// tokio::io::copy_bidirectional(&mut local, &mut stream).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(ws: WebSocket<S>) -> Self {
        Self {
            ws,
            unread: Bytes::new(),
            message_size: DEFAULT_MESSAGE_SIZE,
            peer_done: false,
            we_done: false,
            closing: false,
            text_received: false,
        }
    }

    /// Wraps an open connection whose opening handshake settled on [`TUNNEL_SUBPROTOCOL`];
    /// [`TunnelError::Subprotocol`] otherwise (then close the connection: the peer speaks
    /// something else, or nothing it declared).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::byte_stream::TunnelError;
    /// use autobahn::websocket::handshake::Negotiated;
    /// use autobahn::websocket::options::ClientOptions;
    /// use autobahn::websocket::{ByteStream, WebSocketBuilder, TUNNEL_SUBPROTOCOL};
    ///
    /// let (end, _other) = tokio::io::duplex(1024);
    /// let ws = WebSocketBuilder::client(&ClientOptions::default()).build(end);
    /// let refused = ByteStream::tunnel(ws).unwrap_err();
    /// assert!(matches!(refused, TunnelError::Subprotocol { negotiated: None }));
    ///
    /// let (end, _other) = tokio::io::duplex(1024);
    /// let ws = WebSocketBuilder::client(&ClientOptions::default())
    ///     .negotiated(Negotiated {
    ///         subprotocol: Some(TUNNEL_SUBPROTOCOL.into()),
    ///         ..Negotiated::default()
    ///     })
    ///     .build(end);
    /// assert!(ByteStream::tunnel(ws).is_ok());
    /// ```
    pub fn tunnel(ws: WebSocket<S>) -> Result<Self, TunnelError> {
        match ws.subprotocol() {
            Some(TUNNEL_SUBPROTOCOL) => Ok(Self::new(ws)),
            other => Err(TunnelError::Subprotocol {
                negotiated: other.map(str::to_owned),
            }),
        }
    }

    /// Makes writes send messages of at most `bytes` (at least 1) instead of
    /// [`DEFAULT_MESSAGE_SIZE`]. Keep it below the peer's `max_message_payload_size`.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::options::ClientOptions;
    /// use autobahn::websocket::{ByteStream, WebSocketBuilder};
    ///
    /// let (end, _other) = tokio::io::duplex(1024);
    /// let ws = WebSocketBuilder::client(&ClientOptions::default()).build(end);
    /// let stream = ByteStream::new(ws).with_message_size(16 * 1024);
    /// assert_eq!(stream.message_size(), 16 * 1024);
    /// ```
    pub fn with_message_size(mut self, bytes: usize) -> Self {
        self.message_size = bytes.max(1);
        self
    }

    /// The largest message a write makes.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::options::ServerOptions;
    /// use autobahn::websocket::byte_stream::DEFAULT_MESSAGE_SIZE;
    /// use autobahn::websocket::{ByteStream, WebSocketBuilder};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (end, _other) = tokio::io::duplex(1024);
    /// let ws = WebSocketBuilder::server(&ServerOptions::default()).build(end);
    /// assert_eq!(ByteStream::new(ws).message_size(), DEFAULT_MESSAGE_SIZE);
    /// # }
    /// ```
    pub fn message_size(&self) -> usize {
        self.message_size
    }

    /// The connection (for its peer's address, its channel, how it closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::options::ServerOptions;
    /// use autobahn::websocket::{ByteStream, PeerAddr, WebSocketBuilder};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (end, _other) = tokio::io::duplex(1024);
    /// let ws = WebSocketBuilder::server(&ServerOptions::default()).build(end);
    /// let stream = ByteStream::new(ws);
    /// assert_eq!(stream.get_ref().peer_addr(), &PeerAddr::default());
    /// assert!(stream.get_ref().close_info().is_none()); // still open
    /// # }
    /// ```
    pub fn get_ref(&self) -> &WebSocket<S> {
        &self.ws
    }

    /// The connection back, with whatever was received but not read yet dropped.
    ///
    /// # Examples
    ///
    /// Ending a tunnel with a code of one's own, which the peer's reads report as
    /// [`TunnelError::Closed`]:
    ///
    /// ```no_run
    /// # async fn run(stream: autobahn::websocket::ByteStream<tokio::net::TcpStream>)
    /// # -> Result<(), autobahn::websocket::Error> {
    /// let mut ws = stream.into_inner();
    /// ws.close(Some(4000), Some("target unreachable")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> WebSocket<S> {
        self.ws
    }

    /// How the stream ends once the connection has ended: end of file, or why not.
    fn end_result(&self) -> io::Result<()> {
        if self.text_received {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TunnelError::TextMessage,
            ));
        }
        if self.peer_done {
            return Ok(()); // all of the peer's data arrived, however the close went
        }
        match self.ws.close_info() {
            None
            | Some(CloseInfo {
                code: Some(close_code::NORMAL),
                ..
            }) => Ok(()),
            Some(CloseInfo {
                code: None | Some(close_code::ABNORMAL_CLOSE),
                reason,
                ..
            }) => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                TunnelError::Lost { reason },
            )),
            Some(CloseInfo {
                code: Some(code),
                reason,
                ..
            }) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                TunnelError::Closed { code, reason },
            )),
        }
    }

    fn has_ended(&self) -> bool {
        self.ws.close_info().is_some()
    }

    /// Both ends of data seen: sends our close (1000) and runs the closing handshake to
    /// its end.
    fn poll_close_handshake(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.closing {
            self.closing = true;
            tracing::debug!("both ends of data seen: closing with 1000");
            // Fails only for an invalid code; a close under way already is kept.
            let _ = self.ws.start_close(Some(close_code::NORMAL), None);
        }
        self.poll_end(cx)
    }

    /// Drives the connection to its end, dropping what still arrives.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while !self.has_ended() {
            if let Some(message) = ready!(self.ws.poll_recv(cx)) {
                tracing::debug!(
                    len = message.payload().len(),
                    "message after the end dropped"
                );
            }
        }
        Poll::Ready(())
    }

    /// Waits for room below the high-water mark, then queues `message`.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        message: impl FnOnce() -> Bytes,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = ready!(self.ws.poll_ready_to_send(cx)) {
            return Poll::Ready(Err(self.send_failed(e)));
        }
        Poll::Ready(
            self.ws
                .queue(Message::Binary(message()))
                .map_err(|e| self.send_failed(e)),
        )
    }

    /// The error for a send or flush the connection refused: how it ended, if it has.
    fn send_failed(&self, e: Error) -> io::Error {
        if self.has_ended() && !self.peer_done {
            if let Err(ended) = self.end_result() {
                return ended;
            }
        }
        match e {
            Error::Io(e) => e,
            Error::ConnectionClosed | Error::NotOpen | Error::Send(_) => {
                io::Error::new(io::ErrorKind::BrokenPipe, TunnelError::WebSocket(e))
            }
            e => io::Error::other(TunnelError::WebSocket(e)),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ByteStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread[..n]);
                this.unread.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.peer_done {
                if this.we_done {
                    ready!(this.poll_close_handshake(cx));
                }
                return Poll::Ready(Ok(()));
            }
            if this.text_received {
                // Our close frame goes out, then the connection drops: quick.
                ready!(this.poll_end(cx));
                return Poll::Ready(this.end_result());
            }
            if this.has_ended() {
                return Poll::Ready(this.end_result());
            }
            match ready!(this.ws.poll_recv(cx)) {
                Some(Message::Binary(data)) if data.is_empty() => {
                    tracing::debug!("the peer's end of data");
                    this.peer_done = true;
                }
                Some(Message::Binary(data)) => this.unread = data,
                Some(Message::Text(_)) => {
                    tracing::warn!("text message in a byte tunnel: failing the connection");
                    this.text_received = true;
                    this.ws
                        .channel()
                        .fail_connection(close_code::UNSUPPORTED_DATA, "text in a byte tunnel");
                }
                // Pings and pongs (if the connection hands them out), or the end.
                Some(_) | None => {}
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ByteStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.we_done {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                TunnelError::WriteAfterShutdown,
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0)); // an empty message would end our data
        }
        let n = buf.len().min(this.message_size);
        ready!(this.poll_send(cx, || Bytes::copy_from_slice(&buf[..n])))?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.has_ended() {
            // Everything before our close frame went out with it; otherwise it is lost.
            return Poll::Ready(this.end_result());
        }
        match ready!(this.ws.poll_flushed(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(this.send_failed(e))),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.we_done {
            if this.has_ended() {
                return Poll::Ready(this.end_result());
            }
            ready!(this.poll_send(cx, Bytes::new))?;
            tracing::debug!("end of our data sent");
            this.we_done = true;
        }
        if this.peer_done {
            ready!(this.poll_close_handshake(cx));
            return Poll::Ready(Ok(()));
        }
        Pin::new(this).poll_flush(cx)
    }
}
