//! A [`WebSocket`] split into a reading half and a writing half for two tasks.
//!
//! Both halves drive the one connection, each under a short lock. The connection
//! registers *one* waker with the stream, the timers and the send queue, so the halves
//! poll it with a shared waker that wakes both: otherwise the writer, polling last, would
//! take the reader's place as the one woken when input arrives, and the reader would
//! sleep through it. A wake-up meant for one half costs the other one spurious poll.
//! And what one half's poll does can be news for the other (the writer's poll read
//! messages, the reader's poll made room in the send queue or saw the end): after each
//! poll the other half is woken if there is such news.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite};

use super::channel::WebSocketChannel;
use super::connection::WebSocket;
use super::driver::CloseInfo;
use super::error::{Error, Result};
use super::message::Message;
use super::message_reader::{MessageReader, Source};

/// The reading half of a split [`WebSocket`]: [`Self::recv`], a `Stream` of messages, or
/// [`Self::recv_streaming`].
#[derive(Debug)]
pub struct WebSocketReader<S> {
    shared: Arc<Shared<S>>,
}

/// The writing half of a split [`WebSocket`]: [`Self::send`], [`Self::close`] or a `Sink`.
#[derive(Debug)]
pub struct WebSocketWriter<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    connection: Mutex<WebSocket<S>>,
    wakers: Arc<BothHalves>,
}

impl<S> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitWebSocket").finish_non_exhaustive()
    }
}

/// The wakers of the two halves; waking it wakes both.
#[derive(Default)]
struct BothHalves {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl BothHalves {
    fn wake_one(slot: &Mutex<Option<Waker>>) {
        let waker = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Wake for BothHalves {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Self::wake_one(&self.reader);
        Self::wake_one(&self.writer);
    }
}

impl<S> Shared<S> {
    /// Locks the connection for one poll by the half whose waker is in `slot`, and gives
    /// the shared waker to poll it with.
    fn enter(
        &self,
        slot: &Mutex<Option<Waker>>,
        cx: &Context<'_>,
    ) -> (MutexGuard<'_, WebSocket<S>>, Waker) {
        {
            let mut own = slot.lock().unwrap_or_else(|e| e.into_inner());
            match own.as_ref() {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *own = Some(cx.waker().clone()),
            }
        }
        let guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        (guard, Waker::from(self.wakers.clone()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Splits the connection into a reading half and a writing half, for two tasks (a
    /// reader loop and a writer loop, say). Either half keeps the connection going while
    /// it is polled; keep the reader polled so that pings are answered.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    /// # let listener = factory.listen("127.0.0.1:0").await?;
    /// # let server = factory.start_websocket(listener, |mut ws| async move {
    /// #     while let Some(m) = ws.recv().await { let _ = ws.send(m).await; }
    /// # });
    /// # let url = format!("ws://{}", server.local_addr().expect("TCP"));
    /// let ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
    /// let (mut reader, mut writer) = ws.split();
    /// let sending = tokio::spawn(async move {
    ///     for i in 0..3 {
    ///         writer.send(format!("tick {i}")).await?;
    ///     }
    ///     writer.close(Some(1000), None).await
    /// });
    /// let mut got = Vec::new();
    /// while let Some(message) = reader.recv().await {
    ///     got.push(message);
    /// }
    /// assert_eq!(got.len(), 3);
    /// assert_eq!(sending.await??.code, Some(1000));
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(self) -> (WebSocketReader<S>, WebSocketWriter<S>) {
        let shared = Arc::new(Shared {
            connection: Mutex::new(self),
            wakers: Arc::default(),
        });
        (
            WebSocketReader {
                shared: shared.clone(),
            },
            WebSocketWriter { shared },
        )
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketReader<S> {
    /// The next message; `None` once the connection has closed.
    pub async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`Self::recv`] as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.poll_with(cx, |ws, cx| ws.poll_recv(cx))
    }

    /// [`WebSocket::receive_streaming`] for the reading half.
    pub fn receive_streaming(&mut self, on: bool) {
        self.shared.lock().receive_streaming(on);
    }

    /// [`WebSocket::recv_streaming`] for the reading half: the next message as it arrives;
    /// the writing half goes on sending meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    /// # let listener = factory.listen("127.0.0.1:0").await?;
    /// # let server = factory.start_websocket(listener, |mut ws| async move {
    /// #     while let Some(m) = ws.recv().await { let _ = ws.send(m).await; }
    /// # });
    /// # let url = format!("ws://{}", server.local_addr().expect("TCP"));
    /// let ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
    /// let (mut reader, mut writer) = ws.split();
    /// reader.receive_streaming(true);
    /// writer.send(vec![5u8; 300_000]).await?;
    /// let mut message = reader.recv_streaming().await.expect("the echo");
    /// let mut len = 0;
    /// while let Some(piece) = message.chunk().await? {
    ///     len += piece.len();
    /// }
    /// assert_eq!(len, 300_000);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_streaming(&mut self) -> Option<MessageReader<'_, S>> {
        let start = poll_fn(|cx| self.poll_with(cx, |ws, cx| ws.poll_message_start(cx))).await?;
        Some(MessageReader::new(Source::Half(self), start))
    }

    /// How the connection ended, once it has.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.lock().close_info()
    }

    /// Polls the connection as the reading half (the writer's [`WebSocketWriter::poll_with`]).
    pub(crate) fn poll_with<T>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut WebSocket<S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let (mut ws, waker) = self.shared.enter(&self.shared.wakers.reader, cx);
        let polled = f(&mut ws, &mut Context::from_waker(&waker));
        if ws.has_news_for_writer() {
            BothHalves::wake_one(&self.shared.wakers.writer);
        }
        polled
    }
}

impl<S> WebSocketReader<S> {
    /// The connection, locked for a moment (not across an await).
    pub(crate) fn lock(&self) -> MutexGuard<'_, WebSocket<S>> {
        self.shared.lock()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketWriter<S> {
    /// Sends a message and waits until it is written (see [`WebSocket::send`]).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        let message = message.into();
        poll_fn(|cx| self.poll_with(cx, |ws, cx| ws.poll_ready_to_send(cx))).await?;
        self.shared.lock().queue(message)?;
        poll_fn(|cx| self.poll_with(cx, |ws, cx| ws.poll_flushed(cx))).await
    }

    /// Starts the closing handshake and waits until the connection has ended; the
    /// reading half sees the end too. Messages still arriving go to the reader.
    pub async fn close(&mut self, code: Option<u16>, reason: Option<&str>) -> Result<CloseInfo> {
        self.shared.lock().start_close(code, reason)?;
        poll_fn(|cx| {
            self.poll_with(cx, |ws, cx| {
                // Progress first: the poll that ends the connection registers no waker.
                let _ = ws.poll_flushed(cx);
                match ws.close_info() {
                    Some(info) => Poll::Ready(info),
                    None => Poll::Pending,
                }
            })
        })
        .await;
        self.shared
            .lock()
            .close_info()
            .ok_or(Error::ConnectionClosed)
    }

    /// A cloneable sender on the same connection.
    pub fn channel(&self) -> WebSocketChannel {
        self.shared.lock().channel().clone()
    }

    fn poll_with<T>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut WebSocket<S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let (mut ws, waker) = self.shared.enter(&self.shared.wakers.writer, cx);
        let polled = f(&mut ws, &mut Context::from_waker(&waker));
        if ws.has_news_for_reader() {
            BothHalves::wake_one(&self.shared.wakers.reader);
        }
        polled
    }
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, WebSocket<S>> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocketReader<S> {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocketWriter<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_with(cx, |ws, cx| ws.poll_ready_to_send(cx))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.shared.lock().queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_with(cx, |ws, cx| ws.poll_flushed(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_with(cx, |ws, cx| ws.poll_sink_close(cx))
    }
}
