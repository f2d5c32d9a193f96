//! The sans-IO WebSocket connection: bytes in, events out; messages in, bytes out.
//!
//! [`Receiver`] and [`Sender`] are the two directions; the tokio channel drives them from
//! different tasks. [`Connection`] joins them with the closing handshake into one state
//! machine for sans-IO users and tests. Nothing here touches a socket or a clock.

mod outgoing;
mod prepared;
#[cfg(test)]
mod prepared_tests;
mod receiver;
mod sender;
#[cfg(test)]
mod slice_tests;
#[cfg(test)]
mod streaming_tests;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

pub use outgoing::Outgoing;
pub use prepared::PreparedMessage;
pub use receiver::{parse_close_payload, Receiver};
pub use sender::Sender;

use crate::websocket::frame::close_code;

/// Which end of the connection we are; it decides masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We accepted the connection.
    Server,
    /// We opened the connection.
    Client,
}

/// The per-connection settings of the protocol core, derived from
/// [`ServerOptions`](crate::websocket::options::ServerOptions) or
/// [`ClientOptions`](crate::websocket::options::ClientOptions).
#[derive(Debug, Clone)]
pub struct ProtocolConfig {
    /// Server or client.
    pub role: Role,
    /// Validate incoming text as UTF-8.
    pub utf8_validate_incoming: bool,
    /// Mask the frames we send.
    pub mask_outgoing: bool,
    /// (Server) fail on unmasked incoming frames.
    pub require_masked_incoming: bool,
    /// (Client) accept masked incoming frames.
    pub accept_masked_incoming: bool,
    /// XOR payloads with present masks.
    pub apply_mask: bool,
    /// Largest incoming frame payload, 0 for unlimited.
    pub max_frame_payload_size: usize,
    /// Largest incoming message payload (after reassembly and inflation), 0 for unlimited.
    pub max_message_payload_size: usize,
    /// Fragment outgoing messages into frames of at most this size, 0 for none.
    pub auto_fragment_size: usize,
    /// Echo the peer's close code and reason in our reply.
    pub echo_close_code_reason: bool,
    /// Trace every frame.
    pub log_frames: bool,
}

impl ProtocolConfig {
    /// The default configuration for a role (Autobahn's defaults with our limits).
    pub fn new(role: Role) -> Self {
        match role {
            Role::Server => crate::websocket::options::ServerOptions::default().protocol_config(),
            Role::Client => crate::websocket::options::ClientOptions::default().protocol_config(),
        }
    }
}

/// Something the peer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete message.
    Message {
        /// The payload (UTF-8 if text and validation is on).
        payload: Bytes,
        /// Binary or text.
        is_binary: bool,
    },
    /// A ping; the protocol answers it with a pong by itself.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A frame of a data message begins (streaming mode only, see
    /// [`Receiver::set_streaming`]).
    FrameBegin {
        /// Its payload length on the wire (compressed, if the message is).
        len: u64,
        /// It is the first frame: a message begins.
        first: bool,
        /// The message is binary (else text).
        is_binary: bool,
    },
    /// Payload of the current frame, as it arrived (streaming mode only): unmasked,
    /// inflated, and for text valid UTF-8 so far (a chunk may end inside a character).
    FrameData(Bytes),
    /// The current frame ended (streaming mode only).
    FrameEnd {
        /// It was the last frame: the message ended, complete and (for text) valid.
        last: bool,
    },
    /// The peer's close frame.
    Close {
        /// Its status code, if any.
        code: Option<u16>,
        /// Its reason, if any.
        reason: Option<String>,
    },
}

impl Event {
    /// A data message or a part of one (any event but ping, pong and close).
    #[inline]
    pub fn is_data(&self) -> bool {
        !matches!(self, Event::Ping(_) | Event::Pong(_) | Event::Close { .. })
    }
}

/// The peer broke the protocol: we fail the connection with this close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (close code {code})")]
pub struct ProtocolViolation {
    /// 1002 (protocol error), 1007 (invalid payload) or 1009 (too big).
    pub code: u16,
    /// What was wrong.
    pub reason: &'static str,
}

/// A send that RFC 6455 or the connection state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A close frame was sent already; nothing may follow it.
    #[error("the connection is closing")]
    Closing,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// A control frame payload over 125 bytes.
    #[error("control frame payload of {0} bytes (at most 125)")]
    ControlPayloadTooLarge(usize),
    /// A close code that may not be sent.
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// A close reason requires a close code.
    #[error("a close reason requires a close code")]
    ReasonWithoutCode,
    /// A message is already being sent frame by frame.
    #[error("a message is in progress")]
    MessageInProgress,
    /// No message was begun.
    #[error("no message in progress")]
    NoMessage,
    /// A frame begun with `begin_message_frame` is not finished.
    #[error("a frame is in progress")]
    FrameInProgress,
    /// No frame was begun with `begin_message_frame`.
    #[error("no frame in progress")]
    NoFrame,
    /// More data than the frame's announced length.
    #[error("data beyond the frame's announced length")]
    FrameOverrun,
    /// The compressor failed (an internal zlib error; nothing was sent).
    #[error("compression failed")]
    Compression,
    /// Frame-level streaming of a compressed message.
    #[error("frames of a compressed message cannot be streamed by length")]
    CompressedFrameStreaming,
}

/// The protocol's own answer to an event: pongs to pings, the close reply. Shared by
/// [`Connection`] and the tokio channel.
pub fn respond(sender: &mut Sender, out: &mut Outgoing, event: &Event, echo_close: bool) {
    match event {
        Event::Ping(p) if !sender.close_sent() => {
            let _ = sender.send_pong(out, p);
        }
        Event::Close { code, reason } if !sender.close_sent() => {
            let (c, r) = match (echo_close, code) {
                (true, Some(c)) => (Some(*c), reason.as_deref()),
                (_, None) => (None, None),
                (false, Some(_)) => (Some(close_code::NORMAL), None),
            };
            let _ = sender.send_close(out, c, r);
        }
        _ => {}
    }
}

/// Where the closing handshake stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseState {
    /// Open: messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// Both close frames were exchanged (clean close); the TCP connection can go.
    Closed,
    /// We failed the connection after a protocol violation.
    Failed(ProtocolViolation),
}

/// A whole WebSocket connection after the opening handshake, sans-IO.
///
/// Feed bytes from the peer with [`Connection::receive_data`], take events with
/// [`Connection::next_event`], send with the `send_*` methods, and write what
/// [`Connection::take_output`] returns to the peer.
///
/// # Examples
///
/// A client and a server connection talking to each other through byte buffers:
///
/// ```
/// use autobahn::websocket::protocol::{CloseState, Connection, Event, ProtocolConfig, Role};
///
/// let mut client = Connection::new(ProtocolConfig::new(Role::Client));
/// let mut server = Connection::new(ProtocolConfig::new(Role::Server));
///
/// client.send_message("hello", false)?;
/// client.send_ping(b"are you there")?;
/// let wire = client.take_output(); // masked frames, to write to the socket
/// server.receive_data(&wire)?;
///
/// assert_eq!(
///     server.next_event(),
///     Some(Event::Message { payload: "hello".into(), is_binary: false })
/// );
/// assert_eq!(server.next_event(), Some(Event::Ping("are you there".into())));
/// // The server answered the ping by itself; the client sees the pong.
/// client.receive_data(&server.take_output())?;
/// assert_eq!(client.next_event(), Some(Event::Pong("are you there".into())));
///
/// // Closing handshake.
/// client.send_close(Some(1000), Some("bye"))?;
/// server.receive_data(&client.take_output())?;
/// assert!(matches!(server.next_event(), Some(Event::Close { code: Some(1000), .. })));
/// client.receive_data(&server.take_output())?; // the server's close reply
/// assert_eq!(client.state(), &CloseState::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    config: ProtocolConfig,
    receiver: Receiver,
    sender: Sender,
    read_buf: BytesMut,
    out: Outgoing,
    events: VecDeque<Event>,
    state: CloseState,
}

impl Connection {
    /// A connection in the open state.
    pub fn new(config: ProtocolConfig) -> Self {
        Self {
            receiver: Receiver::new(config.clone()),
            sender: Sender::new(config.clone()),
            config,
            read_buf: BytesMut::new(),
            out: Outgoing::new(),
            events: VecDeque::new(),
            state: CloseState::Open,
        }
    }

    /// Enables permessage-deflate in both directions with the negotiated codecs.
    #[cfg(feature = "deflate")]
    pub fn set_deflate(
        &mut self,
        inflate: crate::websocket::deflate::PerMessageDeflate,
        deflate: crate::websocket::deflate::PerMessageDeflate,
        threshold: usize,
    ) {
        self.receiver.set_deflate(inflate);
        self.sender.set_deflate(deflate, threshold);
    }

    /// Hands data messages out as they arrive (see [`Receiver::set_streaming`]).
    pub fn set_streaming(&mut self, on: bool) {
        self.receiver.set_streaming(on);
    }

    /// The closing-handshake state.
    pub fn state(&self) -> &CloseState {
        &self.state
    }

    /// Processes bytes from the peer. A violation fails the connection: the close frame
    /// with its code is queued for sending and the error returned.
    ///
    /// # Examples
    ///
    /// A violation fails the connection and queues the close frame to send:
    ///
    /// ```
    /// use autobahn::websocket::protocol::{CloseState, Connection, ProtocolConfig, Role};
    ///
    /// let mut server = Connection::new(ProtocolConfig::new(Role::Server));
    /// // An unmasked text frame from a client breaks RFC 6455.
    /// let violation = server.receive_data(&[0x81, 0x02, b'h', b'i']).unwrap_err();
    /// assert_eq!(violation.code, 1002);
    /// assert!(matches!(server.state(), CloseState::Failed(_)));
    /// assert!(!server.take_output().is_empty()); // close frame with code 1002
    /// ```
    pub fn receive_data(&mut self, data: &[u8]) -> Result<(), ProtocolViolation> {
        if matches!(self.state, CloseState::Closed | CloseState::Failed(_)) {
            return Ok(());
        }
        self.read_buf.extend_from_slice(data);
        let before = self.events.len();
        let result = self.receiver.receive(&mut self.read_buf, &mut self.events);
        self.after_receive(before, result)
    }

    /// [`Connection::receive_data`] for bytes the caller owns (one read's buffer): frames
    /// complete in `data` are unmasked in place and decoded without being buffered first,
    /// the path the tokio layer takes for every read. Same events, output and errors.
    pub fn receive_read(&mut self, data: &mut [u8]) -> Result<(), ProtocolViolation> {
        if matches!(self.state, CloseState::Closed | CloseState::Failed(_)) {
            return Ok(());
        }
        let before = self.events.len();
        let result = self
            .receiver
            .receive_read(&mut self.read_buf, data, &mut self.events);
        self.after_receive(before, result)
    }

    /// The protocol's answers to the events from `before` on, then the failure, if any.
    fn after_receive(
        &mut self,
        before: usize,
        result: Result<(), ProtocolViolation>,
    ) -> Result<(), ProtocolViolation> {
        for i in before..self.events.len() {
            let ev = self.events[i].clone();
            respond(
                &mut self.sender,
                &mut self.out,
                &ev,
                self.config.echo_close_code_reason,
            );
            if matches!(ev, Event::Close { .. }) {
                self.state = CloseState::Closed;
            }
        }
        if let Err(v) = result {
            self.fail(v);
            return Err(v);
        }
        Ok(())
    }

    fn fail(&mut self, v: ProtocolViolation) {
        if !self.sender.close_sent() {
            let _ = self
                .sender
                .send_close(&mut self.out, Some(v.code), Some(v.reason));
        }
        self.state = CloseState::Failed(v);
    }

    /// The next event, if any.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Sends a message.
    pub fn send_message(
        &mut self,
        payload: impl Into<Bytes>,
        is_binary: bool,
    ) -> Result<(), SendError> {
        self.sender
            .send_message(&mut self.out, payload.into(), is_binary)
    }

    /// Sends a ping.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.sender.send_ping(&mut self.out, payload)
    }

    /// Sends a pong.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.sender.send_pong(&mut self.out, payload)
    }

    /// Starts the closing handshake.
    pub fn send_close(&mut self, code: Option<u16>, reason: Option<&str>) -> Result<(), SendError> {
        self.sender.send_close(&mut self.out, code, reason)?;
        if self.state == CloseState::Open {
            self.state = CloseState::CloseSent;
        }
        Ok(())
    }

    /// Access to the sending half (frame-based streaming API).
    pub fn sender(&mut self) -> (&mut Sender, &mut Outgoing) {
        (&mut self.sender, &mut self.out)
    }

    /// Takes the bytes to write to the peer.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.out.take_all()
    }
}
