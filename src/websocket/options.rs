//! Protocol options: Autobahn's `setProtocolOptions`, for servers and clients.
//!
//! Every option of the seed's `WebSocketServerFactory.setProtocolOptions` and
//! `WebSocketClientFactory.setProtocolOptions` is a field here, snake-cased. Durations that
//! Autobahn gives as float seconds with `0` meaning "off" are `Option<Duration>`; sizes
//! keep `0` meaning "unlimited". Where our default differs from Autobahn's, the field says
//! so and why.

use std::time::Duration;

use super::protocol::{ProtocolConfig, Role};

/// The WebSocket protocol versions we speak (RFC 6455 is version 13; draft-10 was 8).
pub const SUPPORTED_VERSIONS: [u8; 2] = [8, 13];

/// Default `max_message_payload_size`: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_PAYLOAD_SIZE: usize = 64 << 20;

/// Default `max_queued_bytes`: 4 MiB.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 << 20;

/// Default server `max_buffered_bytes_total`: 256 MiB, room for four messages of the
/// default `max_message_payload_size` at once.
pub const DEFAULT_MAX_BUFFERED_BYTES_TOTAL: usize = 256 << 20;

/// Default server `message_timeout`: 60 s (a 64 MiB message at about 9 Mbit/s).
pub const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default server `auto_ping_interval` and `auto_ping_timeout`: 20 s, as
/// python-websockets.
pub const DEFAULT_SERVER_AUTO_PING: Duration = Duration::from_secs(20);

/// Options of a WebSocket server (`WebSocketServerFactory.setProtocolOptions`).
///
/// # Examples
///
/// Autobahn's `factory.setProtocolOptions(...)` is field assignment here:
///
/// ```
/// use std::time::Duration;
/// use autobahn::websocket::options::ServerOptions;
/// use autobahn::websocket::WebSocketServerFactory;
///
/// let options = ServerOptions {
///     max_message_payload_size: 1 << 20,
///     auto_fragment_size: 64 * 1024,
///     auto_ping_interval: Some(Duration::from_secs(30)),
///     auto_ping_timeout: Some(Duration::from_secs(10)),
///     allowed_origins: vec!["https://*.example.com:443".into()],
///     max_connections: 10_000,
///     ..ServerOptions::default()
/// };
/// let mut factory = WebSocketServerFactory::new("ws://localhost:9000").with_protocol_options(options);
///
/// // Or change some in place, and go back to the defaults.
/// factory.options_mut().open_handshake_timeout = Some(Duration::from_secs(5));
/// factory.reset_protocol_options();
/// assert_eq!(factory.options().max_connections, 0);
/// ```
///
/// # Defaults for a server that faces the internet
///
/// Autobahn|Python's defaults trust the peer: no limit on message size, no deadline, no
/// keepalive. Ours bound what any peer can make the server hold, and for how long; where
/// Autobahn's default is not dangerous we keep it. Compared with python-websockets:
///
/// | option | Autobahn\|Python | python-websockets | here | why |
/// |---|---|---|---|---|
/// | `max_message_payload_size` | unlimited | 1 MiB (`max_size`) | 64 MiB | bounded, yet large messages still work; the total is bounded by the budget below |
/// | `max_frame_payload_size` | unlimited | (`max_size`) | unlimited | a frame is bounded by its message |
/// | `max_queued_bytes` | (no queue) | 16 frames (`max_queue`) × `max_size` | 4 MiB | read-ahead bounded in bytes, whatever the message sizes |
/// | `max_buffered_bytes_total` | (none) | (none) | 256 MiB | bounds all connections together: a thousandfold compression ratio times many connections is unbounded otherwise |
/// | `message_timeout` | none | none | 60 s | a message once begun must not hold memory forever |
/// | `open_handshake_timeout` | none | 10 s (`open_timeout`) | 30 s | slowloris; generous for slow TLS clients |
/// | `close_handshake_timeout` | 1 s | 10 s (`close_timeout`) | 1 s | Autobahn's, not dangerous |
/// | `auto_ping_interval` / `auto_ping_timeout` | off | 20 s / 20 s | 20 s / 20 s | a peer that vanished (or never reads) is found and its memory released |
/// | `max_connections` | unlimited | unlimited | unlimited | memory is bounded by the budget, not the count; set it to bound file descriptors |
/// | `allowed_origins` | `*` | any | `*` | Autobahn's; a browser-facing application checks `Origin` itself or sets this |
/// | `max_handshake_size` / `_headers` | unlimited | 8 KiB lines, 128 headers | 16 KiB / 64 | bounded |
#[derive(Clone)]
pub struct ServerOptions {
    /// Protocol versions accepted (default `[8, 13]`).
    pub versions: Vec<u8>,
    /// Answer a plain HTTP GET (no upgrade) with a small HTML status page (default `true`).
    pub web_status: bool,
    /// Validate incoming text as UTF-8 (default `true`).
    pub utf8_validate_incoming: bool,
    /// Mask server-to-client frames (default `false`; only for testing).
    pub mask_server_frames: bool,
    /// Require client-to-server frames to be masked (default `true`).
    pub require_masked_client_frames: bool,
    /// Actually XOR payloads with masks that are present (default `true`).
    pub apply_mask: bool,
    /// Largest frame payload accepted, `0` for unlimited (default `0`).
    pub max_frame_payload_size: usize,
    /// Largest (reassembled, inflated) message accepted, `0` for unlimited.
    ///
    /// Default 64 MiB where Autobahn's is unlimited: an unlimited default lets any peer
    /// grow our memory without bound.
    pub max_message_payload_size: usize,
    /// Bytes of received messages held for the handler (messages queued while a hook is
    /// busy, inflated if compressed, plus the message being reassembled) past which the
    /// connection stops reading from the peer until the handler catches up, so TCP
    /// pushes back on the peer; `0` for no bound in bytes (default 4 MiB; not an
    /// Autobahn option: Autobahn|Python hands every message to `onMessage` as it
    /// arrives and has no such queue).
    ///
    /// It gates further reading, not message size: a single message larger than this
    /// is still delivered (bounding it is `max_message_payload_size`'s job), so what a
    /// connection holds for its handler stays below this bound plus one message, besides
    /// the message the handler is working on. At most 64 messages are queued whatever
    /// their size; each counts a few dozen bytes besides its payload.
    ///
    /// python-websockets bounds the same queue by count (`max_queue` messages or
    /// frames) times `max_size` (1 MiB); here the bound is in bytes, whatever the
    /// message sizes.
    pub max_queued_bytes: usize,
    /// Bytes of received messages that all connections of the factory together may hold
    /// for their handlers (what `max_queued_bytes` bounds per connection: queued
    /// messages, the message being reassembled or inflated, a partial frame), `0` for no
    /// budget (default 256 MiB; not an Autobahn option). Connections are charged in
    /// units of 64 KiB: one holding less counts as holding nothing, so small messages
    /// cost no shared counter update.
    ///
    /// Past the budget, a connection that holds part of it stops reading (TCP pushes back
    /// on its peer) until some connection releases memory: its handler takes a message,
    /// or it closes. A message in progress also stops before its buffer's next doubling
    /// would pass the budget. A connection that holds nothing may still read while the
    /// total is within a headroom (a quarter of the budget, at least 16 MiB), so that
    /// honest peers' small messages keep being served while messages in progress hold
    /// the budget. The total may pass the budget by what one read inflates to (up to
    /// about 8 MiB) per runtime worker, plus 64 KiB per held-up connection (read,
    /// undecoded, so that a peer that has gone is noticed).
    ///
    /// Waiting cannot last forever, even if every holder waits on the others: a message
    /// held up by the budget is failed with 1013 (try again later: the server is busy,
    /// the peer did nothing wrong) when its `message_timeout` expires, or at once if
    /// there is no message timeout. Not 1009: the message may be within
    /// `max_message_payload_size`. Keep the budget well above
    /// `max_message_payload_size`, or messages that large may never arrive.
    pub max_buffered_bytes_total: usize,
    /// Time allowed to receive a message once it has begun (its first frame header, or
    /// the first bytes of one), `None` for no limit (default 60 s; not an Autobahn
    /// option). A message not complete in time fails the connection with 1008 (policy
    /// violation: the peer broke our policy on message duration; 1001 "going away"
    /// would say that we shut down), or with 1013 if the server-wide budget held it up
    /// (see `max_buffered_bytes_total`). If we stopped reading because our handler is
    /// behind, and the peer reads what we send, it gets another period instead.
    ///
    /// Without it, a peer that begins a message and never ends it holds what it made us
    /// buffer (up to `max_message_payload_size` inflated, from a few KiB of compressed
    /// fragments) for as long as the connection lives. The default leaves a 64 MiB
    /// message about 9 Mbit/s; the Autobahn Testsuite's fragmented cases finish within
    /// a second.
    pub message_timeout: Option<Duration>,
    /// Fragment outgoing messages into frames of at most this size, `0` for no
    /// fragmentation (default `0`).
    pub auto_fragment_size: usize,
    /// Fail connections by dropping TCP without waiting for the closing handshake
    /// (default `true`). We still send the close frame with the error code first.
    pub fail_by_drop: bool,
    /// Echo the peer's close code and reason in our close reply; otherwise reply 1000
    /// (default `false`).
    pub echo_close_code_reason: bool,
    /// Time allowed for the opening handshake.
    ///
    /// Default 30 s where Autobahn's is none: without it, a client that never finishes
    /// its handshake holds a connection forever (slowloris).
    pub open_handshake_timeout: Option<Duration>,
    /// Time to wait for the peer's reply to our close frame (default 1 s).
    pub close_handshake_timeout: Option<Duration>,
    /// Set TCP_NODELAY (default `true`).
    pub tcp_no_delay: bool,
    /// Send a ping every interval (default 20 s, as python-websockets; Autobahn's is
    /// off).
    ///
    /// A server facing the internet must learn when a peer has vanished (no FIN ever
    /// arrives from a dead NAT or a pulled cable) or reads nothing while holding memory:
    /// with auto-ping off, such connections hold their buffers forever.
    pub auto_ping_interval: Option<Duration>,
    /// Drop the connection if an automatic ping is not answered in time (default 20 s,
    /// as python-websockets; Autobahn's is off). If we stopped reading (the handler is
    /// behind, or the budget is exhausted) and the peer reads what we send, its pong may
    /// be unread: it gets another period instead.
    pub auto_ping_timeout: Option<Duration>,
    /// Payload size of automatic pings, 4..=125 (default 4).
    pub auto_ping_size: usize,
    /// Serve a Flash socket policy file to `<policy-file-request/>` (default `false`).
    pub serve_flash_socket_policy: bool,
    /// The Flash policy to serve (must end with a NUL byte); the default allows all.
    pub flash_socket_policy: String,
    /// Allowed `Origin`s, `*` as wildcard, matched anchored against `scheme://host:port`
    /// (default `["*"]`: anything).
    pub allowed_origins: Vec<String>,
    /// Allow the origin `null` (default `false`).
    pub allow_null_origin: bool,
    /// Concurrent connections allowed, `0` for unlimited; beyond it we answer 503
    /// (default `0`).
    pub max_connections: usize,
    /// Number of trusted reverse proxies whose `X-Forwarded-For` entries we believe
    /// (default `0`).
    pub trust_x_forwarded_for: usize,
    /// Chooses among the client's permessage-deflate offers; `None` declines compression.
    /// Default: accept the first acceptable offer.
    #[cfg(feature = "deflate")]
    pub per_message_compression_accept: Option<super::deflate::PerMessageCompressionAccept>,
    /// On a deflate connection, messages shorter than this many bytes are sent
    /// uncompressed (RFC 7692 allows it per message; default 0: compress all; not an
    /// Autobahn option).
    #[cfg(feature = "deflate")]
    pub per_message_compression_threshold: usize,
    /// Largest opening handshake request accepted, in bytes (default 16 KiB; not an
    /// Autobahn option: Autobahn has no limit).
    pub max_handshake_size: usize,
    /// Most header lines accepted in the opening handshake (default 64; not an Autobahn
    /// option).
    pub max_handshake_headers: usize,
    /// Trace every byte sent and received (Autobahn's `logOctets`), at trace level.
    pub log_octets: bool,
    /// Trace every frame sent and received (Autobahn's `logFrames`), at trace level.
    pub log_frames: bool,
}

/// Autobahn's default Flash policy: allow all domains to all ports.
pub const DEFAULT_FLASH_SOCKET_POLICY: &str = "<cross-domain-policy>\n  <allow-access-from domain=\"*\" to-ports=\"*\" />\n</cross-domain-policy>\0";

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            versions: SUPPORTED_VERSIONS.to_vec(),
            web_status: true,
            utf8_validate_incoming: true,
            mask_server_frames: false,
            require_masked_client_frames: true,
            apply_mask: true,
            max_frame_payload_size: 0,
            max_message_payload_size: DEFAULT_MAX_MESSAGE_PAYLOAD_SIZE,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            max_buffered_bytes_total: DEFAULT_MAX_BUFFERED_BYTES_TOTAL,
            message_timeout: Some(DEFAULT_MESSAGE_TIMEOUT),
            auto_fragment_size: 0,
            fail_by_drop: true,
            echo_close_code_reason: false,
            open_handshake_timeout: Some(Duration::from_secs(30)),
            close_handshake_timeout: Some(Duration::from_secs(1)),
            tcp_no_delay: true,
            auto_ping_interval: Some(DEFAULT_SERVER_AUTO_PING),
            auto_ping_timeout: Some(DEFAULT_SERVER_AUTO_PING),
            auto_ping_size: 4,
            serve_flash_socket_policy: false,
            flash_socket_policy: DEFAULT_FLASH_SOCKET_POLICY.to_string(),
            allowed_origins: vec!["*".to_string()],
            allow_null_origin: false,
            max_connections: 0,
            trust_x_forwarded_for: 0,
            #[cfg(feature = "deflate")]
            per_message_compression_accept: Some(std::sync::Arc::new(
                super::deflate::accept_first_offer,
            )),
            #[cfg(feature = "deflate")]
            per_message_compression_threshold: 0,
            max_handshake_size: 16 * 1024,
            max_handshake_headers: 64,
            log_octets: false,
            log_frames: false,
        }
    }
}

impl ServerOptions {
    /// The sans-IO configuration these options give.
    pub fn protocol_config(&self) -> ProtocolConfig {
        ProtocolConfig {
            role: Role::Server,
            utf8_validate_incoming: self.utf8_validate_incoming,
            mask_outgoing: self.mask_server_frames,
            require_masked_incoming: self.require_masked_client_frames,
            accept_masked_incoming: true,
            apply_mask: self.apply_mask,
            max_frame_payload_size: self.max_frame_payload_size,
            max_message_payload_size: self.max_message_payload_size,
            auto_fragment_size: self.auto_fragment_size,
            echo_close_code_reason: self.echo_close_code_reason,
            log_frames: self.log_frames,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("versions", &self.versions)
            .field("max_frame_payload_size", &self.max_frame_payload_size)
            .field("max_message_payload_size", &self.max_message_payload_size)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("max_buffered_bytes_total", &self.max_buffered_bytes_total)
            .field("message_timeout", &self.message_timeout)
            .field("auto_ping_interval", &self.auto_ping_interval)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// Options of a WebSocket client (`WebSocketClientFactory.setProtocolOptions`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use autobahn::websocket::options::ClientOptions;
/// use autobahn::websocket::WebSocketClientFactory;
///
/// let options = ClientOptions {
///     max_message_payload_size: 16 << 20,
///     open_handshake_timeout: Some(Duration::from_secs(10)),
///     auto_ping_interval: Some(Duration::from_secs(20)),
///     ..ClientOptions::default()
/// };
/// let mut factory = WebSocketClientFactory::new("ws://localhost:9000")?.with_protocol_options(options);
/// factory.options_mut().log_frames = true;
/// assert_eq!(factory.options().version, 13);
/// # Ok::<(), autobahn::websocket::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    /// Protocol version to speak: 13 (default) or 8.
    ///
    /// Autobahn 17.8 documents its default as "18" (a draft number); RFC 6455 is 13.
    pub version: u8,
    /// Validate incoming text as UTF-8 (default `true`).
    pub utf8_validate_incoming: bool,
    /// Accept masked server-to-client frames (default `false`).
    pub accept_masked_server_frames: bool,
    /// Mask client-to-server frames (default `true`; RFC 6455 requires it).
    pub mask_client_frames: bool,
    /// Actually XOR payloads with masks that are present (default `true`).
    pub apply_mask: bool,
    /// Largest frame payload accepted, `0` for unlimited (default `0`).
    pub max_frame_payload_size: usize,
    /// Largest (reassembled, inflated) message accepted, `0` for unlimited (default 64 MiB,
    /// see [`ServerOptions::max_message_payload_size`]).
    pub max_message_payload_size: usize,
    /// Bytes of received messages held for the handler past which we stop reading from
    /// the server, `0` for no bound in bytes (default 4 MiB, see
    /// [`ServerOptions::max_queued_bytes`]).
    pub max_queued_bytes: usize,
    /// Time allowed to receive a message once it has begun, `None` for no limit
    /// (default none, as Autobahn: a client holds one connection, whose memory
    /// `max_message_payload_size` bounds; see [`ServerOptions::message_timeout`]).
    pub message_timeout: Option<Duration>,
    /// Fragment outgoing messages into frames of at most this size, `0` for none.
    pub auto_fragment_size: usize,
    /// Fail connections by dropping TCP without a closing handshake (default `true`).
    pub fail_by_drop: bool,
    /// Echo the peer's close code and reason in our close reply (default `false`).
    pub echo_close_code_reason: bool,
    /// How long to wait for the server to drop TCP after the closing handshake
    /// (default 1 s).
    pub server_connection_drop_timeout: Option<Duration>,
    /// Time allowed for the opening handshake (default 30 s; Autobahn: none).
    pub open_handshake_timeout: Option<Duration>,
    /// Time to wait for the peer's reply to our close frame (default 1 s).
    pub close_handshake_timeout: Option<Duration>,
    /// Set TCP_NODELAY (default `true`).
    pub tcp_no_delay: bool,
    /// The permessage-deflate offers to make, in order of preference. Default: one offer
    /// accepting `client_no_context_takeover` and `client_max_window_bits`.
    #[cfg(feature = "deflate")]
    pub per_message_compression_offers: Vec<super::deflate::PerMessageDeflateOffer>,
    /// Accepts (or refuses) the server's permessage-deflate response.
    #[cfg(feature = "deflate")]
    pub per_message_compression_accept: Option<super::deflate::PerMessageCompressionResponseAccept>,
    /// Messages shorter than this are sent uncompressed (see
    /// [`ServerOptions::per_message_compression_threshold`]).
    #[cfg(feature = "deflate")]
    pub per_message_compression_threshold: usize,
    /// Send a ping every interval (default off, as Autobahn: a client's peer is the
    /// server it chose; servers ping by default, see [`ServerOptions::auto_ping_interval`]).
    pub auto_ping_interval: Option<Duration>,
    /// Drop the connection if an automatic ping is not answered in time (default off).
    pub auto_ping_timeout: Option<Duration>,
    /// Payload size of automatic pings, 4..=125 (default 4).
    pub auto_ping_size: usize,
    /// Largest opening handshake response accepted, in bytes (default 16 KiB).
    pub max_handshake_size: usize,
    /// Most header lines accepted in the handshake response (default 64).
    pub max_handshake_headers: usize,
    /// Trace every byte sent and received (Autobahn's `logOctets`), at trace level.
    pub log_octets: bool,
    /// Trace every frame sent and received (Autobahn's `logFrames`), at trace level.
    pub log_frames: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            version: 13,
            utf8_validate_incoming: true,
            accept_masked_server_frames: false,
            mask_client_frames: true,
            apply_mask: true,
            max_frame_payload_size: 0,
            max_message_payload_size: DEFAULT_MAX_MESSAGE_PAYLOAD_SIZE,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            message_timeout: None,
            auto_fragment_size: 0,
            fail_by_drop: true,
            echo_close_code_reason: false,
            server_connection_drop_timeout: Some(Duration::from_secs(1)),
            open_handshake_timeout: Some(Duration::from_secs(30)),
            close_handshake_timeout: Some(Duration::from_secs(1)),
            tcp_no_delay: true,
            #[cfg(feature = "deflate")]
            per_message_compression_offers: super::deflate::default_offers(),
            #[cfg(feature = "deflate")]
            per_message_compression_accept: Some(std::sync::Arc::new(
                super::deflate::accept_response,
            )),
            #[cfg(feature = "deflate")]
            per_message_compression_threshold: 0,
            auto_ping_interval: None,
            auto_ping_timeout: None,
            auto_ping_size: 4,
            max_handshake_size: 16 * 1024,
            max_handshake_headers: 64,
            log_octets: false,
            log_frames: false,
        }
    }
}

impl ClientOptions {
    /// The sans-IO configuration these options give.
    pub fn protocol_config(&self) -> ProtocolConfig {
        ProtocolConfig {
            role: Role::Client,
            utf8_validate_incoming: self.utf8_validate_incoming,
            mask_outgoing: self.mask_client_frames,
            require_masked_incoming: false,
            accept_masked_incoming: self.accept_masked_server_frames,
            apply_mask: self.apply_mask,
            max_frame_payload_size: self.max_frame_payload_size,
            max_message_payload_size: self.max_message_payload_size,
            auto_fragment_size: self.auto_fragment_size,
            echo_close_code_reason: self.echo_close_code_reason,
            log_frames: self.log_frames,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("version", &self.version)
            .field("max_frame_payload_size", &self.max_frame_payload_size)
            .field("max_message_payload_size", &self.max_message_payload_size)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("message_timeout", &self.message_timeout)
            .finish_non_exhaustive()
    }
}
