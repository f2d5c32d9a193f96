//! One received message, read as it arrives: [`MessageReader`], from
//! [`WebSocket::recv_streaming`] (or a split connection's reading half).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connection::{as_message, concat, Incoming, MessageStart, WebSocket};
use super::error::{Error, Result};
use super::message::Message;
use super::protocol::Event;
use super::split::WebSocketReader;

/// A message being received, piece by piece ([`Self::chunk`]) or as an `AsyncRead`
/// (which ends with the message). It borrows the connection: the connection's IO (pings,
/// timers, sending what other tasks queued) goes on while the reader is polled.
///
/// Text arrives validated so far: a piece may end inside a character, and a message that
/// turns out invalid fails the connection (1007) and its reader with an error. Dropping
/// the reader before the end skips the rest of the message.
///
/// # Examples
///
/// Copying a message of any size into a file (here, a `Vec`) as it arrives:
///
/// ```
/// # use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let factory = WebSocketServerFactory::new("ws://127.0.0.1");
/// # let listener = factory.listen("127.0.0.1:0").await?;
/// # let url = format!("ws://{}", listener.local_addr()?);
/// # let _server = factory.start_websocket(listener, |mut ws| async move {
/// #     let _ = ws.send(vec![1u8; 70_000]).await;
/// #     while ws.recv().await.is_some() {}
/// # });
/// let mut ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
/// ws.receive_streaming(true);
/// let mut message = ws.recv_streaming().await.expect("a message");
/// assert!(message.is_binary());
/// let mut file = Vec::new();
/// tokio::io::copy(&mut message, &mut file).await?;
/// assert_eq!(file.len(), 70_000);
/// # Ok(())
/// # }
/// ```
pub struct MessageReader<'a, S> {
    source: Source<'a, S>,
    is_binary: bool,
    /// Pieces received before the reader was made.
    pending: VecDeque<Bytes>,
    /// What `AsyncRead` has not handed out of the current piece.
    current: Bytes,
    /// The message's end was seen (or the connection's).
    done: bool,
    /// The message's length so far, for the log line at its end.
    len: usize,
}

impl<S> std::fmt::Debug for MessageReader<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageReader")
            .field("is_binary", &self.is_binary)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The connection a reader takes its message from.
pub(crate) enum Source<'a, S> {
    /// A whole [`WebSocket`], borrowed.
    Whole(&'a mut WebSocket<S>),
    /// The reading half of a split one, which shares it with the writing half.
    Half(&'a WebSocketReader<S>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Source<'_, S> {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        match self {
            Source::Whole(ws) => ws.poll_event(cx),
            Source::Half(reader) => reader.poll_with(cx, |ws, cx| ws.poll_event(cx)),
        }
    }
}

impl<S> Source<'_, S> {
    fn set_incoming(&mut self, incoming: Incoming) {
        match self {
            Source::Whole(ws) => ws.incoming = incoming,
            Source::Half(reader) => reader.lock().incoming = incoming,
        }
    }

    /// The connection's span.
    fn span(&mut self) -> tracing::Span {
        match self {
            Source::Whole(ws) => ws.span.clone(),
            Source::Half(reader) => reader.lock().span.clone(),
        }
    }
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> MessageReader<'a, S> {
    pub(crate) fn new(source: Source<'a, S>, start: MessageStart) -> Self {
        Self {
            source,
            is_binary: start.is_binary,
            len: start.pieces.iter().map(Bytes::len).sum(),
            pending: start.pieces.into(),
            current: Bytes::new(),
            done: start.complete,
        }
    }

    /// Binary (true) or text.
    pub fn is_binary(&self) -> bool {
        self.is_binary
    }

    /// The next piece of the message, as it arrived; `Ok(None)` at its end. An error if
    /// the connection ended first (its close info tells how; a message found invalid ends
    /// it with 1007 or 1009).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The rest of the message, collected as a [`Message`] (what [`WebSocket::recv`] would
    /// have returned, from here on). For a reader that decides after a first look, e.g. at
    /// a header in the first piece, to take the message whole after all; its size is bounded
    /// by `max_message_payload_size` only.
    ///
    /// # Examples
    ///
    /// ```
    /// # use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    /// # let listener = factory.listen("127.0.0.1:0").await?;
    /// # let url = format!("ws://{}", listener.local_addr()?);
    /// # let _server = factory.start_websocket(listener, |mut ws| async move {
    /// #     let _ = ws.send("small").await;
    /// #     while ws.recv().await.is_some() {}
    /// # });
    /// let mut ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
    /// ws.receive_streaming(true);
    /// let message = ws.recv_streaming().await.expect("a message");
    /// assert_eq!(message.into_message().await?, Message::from("small"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn into_message(mut self) -> Result<Message> {
        let mut pieces = Vec::new();
        while let Some(piece) = self.chunk().await? {
            pieces.push(piece);
        }
        // Validated again: the reader may have handed out some of the message before.
        Ok(as_message(concat(pieces), self.is_binary, false))
    }

    /// [`Self::chunk`] as a poll function.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>>> {
        if !self.current.is_empty() {
            return Poll::Ready(Ok(Some(std::mem::take(&mut self.current))));
        }
        if let Some(piece) = self.pending.pop_front() {
            return Poll::Ready(Ok(Some(piece)));
        }
        while !self.done {
            match ready!(self.source.poll_event(cx)) {
                None => {
                    self.finish();
                    return Poll::Ready(Err(Error::ConnectionClosed));
                }
                Some(Event::FrameData(piece)) => {
                    self.len += piece.len();
                    return Poll::Ready(Ok(Some(piece)));
                }
                Some(Event::FrameEnd { last: true }) => {
                    self.finish();
                    // A message complete when it started was logged then.
                    let (len, is_binary) = (self.len, self.is_binary);
                    self.source.span().in_scope(|| {
                        tracing::trace!(len, is_binary, "message received");
                    });
                }
                // Frame boundaries, and pings and pongs (already answered).
                Some(_) => {}
            }
        }
        Poll::Ready(Ok(None))
    }

    fn finish(&mut self) {
        self.done = true;
        self.source.set_incoming(Incoming::Idle);
    }
}

impl<S> Drop for MessageReader<'_, S> {
    fn drop(&mut self) {
        if !self.done {
            self.source.set_incoming(Incoming::Skipping);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MessageReader<'_, S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.current.is_empty() {
            match ready!(this.poll_chunk(cx)) {
                Ok(Some(piece)) => this.current = piece,
                Ok(None) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, e))),
            }
        }
        let n = buf.remaining().min(this.current.len());
        buf.put_slice(&this.current[..n]);
        this.current.advance(n);
        Poll::Ready(Ok(()))
    }
}
