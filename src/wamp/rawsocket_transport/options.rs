//! The settings of a RawSocket client connection.

use std::time::Duration;

#[cfg(feature = "tls")]
use std::sync::Arc;

use super::DEFAULT_QUEUE_SIZE;
use crate::rawsocket::handshake::{SerializerId, MAX_MAX_LEN_EXP};
use crate::wamp::serializer::DEFAULT_MAX_DECODED_SIZE;
use crate::wamp::transport::DEFAULT_MAX_QUEUED_BYTES;

/// Settings of a RawSocket client connection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use autobahn::rawsocket::SerializerId;
/// use autobahn::wamp::rawsocket_transport::{KeepaliveProbe, RawSocketOptions};
///
/// let options = RawSocketOptions {
///     serializer: SerializerId::JSON,
///     max_len_exp: 16, // tell the router: at most 64 KiB per message
///     handshake_timeout: Some(Duration::from_secs(5)),
///     // A probe after 10 s of silence; nothing received within 5 s more fails it.
///     auto_ping_interval: Some(Duration::from_secs(10)),
///     auto_ping_timeout: Some(Duration::from_secs(5)),
///     // For a router that answers RawSocket PINGs (Crossbar.io does not).
///     keepalive_probe: KeepaliveProbe::Ping,
///     ..RawSocketOptions::default()
/// };
/// assert_eq!(options.queue_size, RawSocketOptions::default().queue_size);
/// ```
#[derive(Debug, Clone)]
pub struct RawSocketOptions {
    /// The serializer to ask for (default CBOR: Autobahn's RawSocket client picks
    /// the first available of CBOR, MessagePack, UBJSON, JSON). JSON, MessagePack,
    /// CBOR and UBJSON are supported.
    pub serializer: SerializerId,
    /// Power-of-two exponent of the largest message we accept (9..=24, default 24 =
    /// 16 MiB); announced to the router, which must not send more.
    pub max_len_exp: u8,
    /// The most memory one received message may take once decoded (default
    /// [`DEFAULT_MAX_DECODED_SIZE`], 64 MiB); a message past it fails the
    /// connection with [`SerializationError::TooLarge`](crate::wamp::error::SerializationError::TooLarge)
    /// as the reason. Not in Autobahn|Python: it bounds what dense shapes (lists of
    /// tiny dicts decode to 200× their wire size) can make a hostile router cost.
    pub max_decoded_size: usize,
    /// Bound on connecting, the TLS handshake and the RawSocket handshake together
    /// (default 30 s, like the WebSocket opening handshake; `None`: no bound).
    pub handshake_timeout: Option<Duration>,
    /// How long `close` waits for queued messages to be written and for the router
    /// to close its side (default 1 s; `None`: no bound).
    pub close_timeout: Option<Duration>,
    /// No effect any more: `recv` reads the socket itself, so no received message
    /// waits in a queue for it (kept for compatibility).
    pub queue_size: usize,
    /// No effect any more (kept for compatibility): `recv` reads the socket itself and
    /// nothing is read while the application does not ask, so the transport holds at
    /// most one frame (`max_len_exp` on the wire, its messages `max_decoded_size`
    /// decoded) plus one read buffer, whatever the router sends. Autobahn|Python
    /// (Twisted or asyncio) reads as fast as the router sends and queues without bound.
    pub max_queued_bytes: usize,
    /// Disable Nagle's algorithm on TCP connections (default `true`).
    pub tcp_no_delay: bool,
    /// Send a keepalive probe (see [`keepalive_probe`](Self::keepalive_probe)) once
    /// nothing was received for this long (default off, as the WebSocket client's
    /// [`auto_ping_interval`](crate::websocket::options::ClientOptions::auto_ping_interval);
    /// the [`ApplicationRunner`](crate::wamp::ApplicationRunner) turns it on). Any
    /// received message puts the probe off. The reader looks at the keepalive only
    /// while it has nothing to read.
    pub auto_ping_interval: Option<Duration>,
    /// Fail the connection ([`TransportError::Lost`](crate::wamp::transport::TransportError::Lost))
    /// if nothing at all arrives from the router within this time after a probe
    /// (default off; without an interval, no probes are sent and this does nothing). A
    /// router whose messages wait unread because the application does not take them
    /// gets another period for each such wait, since its answer may be behind them. A
    /// silent link is found within interval + timeout.
    pub auto_ping_timeout: Option<Duration>,
    /// What the keepalive sends (default [`KeepaliveProbe::WampCall`], which every
    /// WAMP router answers; [`KeepaliveProbe::Ping`] only for routers that implement
    /// RawSocket PING, which Crossbar.io does not).
    pub keepalive_probe: KeepaliveProbe,
    /// The TLS configuration for `rss://` (default: the platform's root certificates;
    /// see [`stream::tls`](crate::websocket::stream::tls) for other trust roots and
    /// client certificates).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The name to verify the router's certificate against (default: the URL's
    /// host; `localhost` for `rss://unix:…`).
    #[cfg(feature = "tls")]
    pub tls_server_name: Option<String>,
}

impl Default for RawSocketOptions {
    fn default() -> Self {
        Self {
            serializer: SerializerId::CBOR,
            max_len_exp: MAX_MAX_LEN_EXP,
            max_decoded_size: DEFAULT_MAX_DECODED_SIZE,
            handshake_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(1)),
            queue_size: DEFAULT_QUEUE_SIZE,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            tcp_no_delay: true,
            auto_ping_interval: None,
            auto_ping_timeout: None,
            keepalive_probe: KeepaliveProbe::default(),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_server_name: None,
        }
    }
}

/// What the RawSocket keepalive sends after an interval of silence.
///
/// The RawSocket spec's answer is a PING frame, which the router must answer with a
/// PONG. Not every router implements it: Crossbar.io's RawSocket server (Autobahn's
/// Twisted one) reads a PING's header as the length of a 16 MiB message and drops
/// the connection. So by default the probe is a WAMP message every router must answer,
/// carried like any other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeepaliveProbe {
    /// A `CALL` to the reserved procedure [`KEEPALIVE_PROCEDURE`], sent only while the
    /// session is established (after `WELCOME`, before `GOODBYE` or `ABORT`). No peer
    /// can register a `wamp.` procedure, so the router answers with an `ERROR`
    /// (`wamp.error.no_such_procedure`, or `not_authorized` where calling it is not
    /// allowed); either proves the link alive. Its request ID comes from the top of
    /// the ID range ([`KEEPALIVE_REQUEST_IDS`]), far past what the session's sequential
    /// IDs reach, and the transport swallows its answer: the session never sees it.
    ///
    /// Where this parts from the spec: WAMP has no keepalive message of its own (only
    /// the transports' PINGs), and the spec has session-scope request IDs count up
    /// from 1 by 1, which the probes' IDs do not. Routers we know do not check the
    /// sequence; one that does would end the session, and wants [`Ping`](Self::Ping).
    #[default]
    WampCall,
    /// A RawSocket PING frame (the spec's keepalive), from the start of the connection;
    /// for routers that answer PINGs with PONGs (Autobahn's asyncio RawSocket server).
    Ping,
}

/// The procedure [`KeepaliveProbe::WampCall`] calls.
pub const KEEPALIVE_PROCEDURE: &str = "wamp.keepalive.probe";

/// The request IDs of [`KeepaliveProbe::WampCall`] probes: the last 2^20 IDs below
/// 2^53 (the session numbers its requests from 1 up).
pub const KEEPALIVE_REQUEST_IDS: std::ops::RangeInclusive<u64> =
    (crate::wamp::message::MAX_ID - (1 << 20) + 1)..=crate::wamp::message::MAX_ID;
