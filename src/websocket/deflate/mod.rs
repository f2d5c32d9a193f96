//! The *permessage-deflate* WebSocket extension (RFC 7692), sans-IO.
//!
//! Mirrors `autobahn.websocket.compress` of Autobahn|Python:
//!
//! * [`negotiation`]: the parameter sets exchanged in the `Sec-WebSocket-Extensions`
//!   header — [`PerMessageDeflateOffer`] (client → server), [`PerMessageDeflateOfferAccept`]
//!   (how a server accepts an offer), [`PerMessageDeflateResponse`] (server → client) and
//!   [`PerMessageDeflateResponseAccept`] (how a client accepts a response) — plus the default
//!   acceptors [`accept_first_offer`] and [`accept_response`].
//! * [`codec`]: [`PerMessageDeflate`], the negotiated compressor/decompressor the WebSocket
//!   protocol state machine feeds whole messages or frame payloads to.
//!
//! Parameters come in as the already split `(name, value)` pairs of one extension of the
//! header (`&[(String, Option<String>)]`), so this module does not depend on the handshake
//! parser; header values go out as strings from `to_extension_string`.
//!
//! ## Window bits 8
//!
//! zlib (and zlib-rs) cannot produce raw DEFLATE with a 256-byte window (RFC 7692 §7.1.2.1,
//! note). As RFC and Autobahn do, we still advertise and honour `*_max_window_bits=8`, but our
//! compressor then runs with 9 bits: zlib never emits a distance above `2^9 − 262 = 250`, so the
//! output is valid for a peer with a 256-byte window (verified against Python's zlib with
//! `wbits=-8` and against zlib-rs inflating with 8 bits, see the codec tests). We always
//! inflate with a 32 KiB window: it costs zlib-rs nothing extra (its inflate window is always
//! allocated at 32 KiB) and accepts everything a conforming peer may send.
//!
//! ## Memory per connection
//!
//! Measured allocations of zlib-rs 0.6 (x86-64):
//!
//! | state | bytes |
//! |---|---|
//! | compressor, window 15, mem_level 8 (default) | 380 032 (≈ 371 KiB) |
//! | compressor, window 15, mem_level 1 | 266 240 (260 KiB) |
//! | compressor, window 9 (or 8), mem_level 8 | 251 008 (245 KiB) |
//! | compressor, window 9, mem_level 1 | 137 216 (134 KiB) |
//! | compressor, window 15, mem_level 9 | 494 720 (483 KiB) |
//! | decompressor (any window) | 47 552 (46 KiB) |
//!
//! The compressor is `2·2^w` (window) + `2·2^w` (chain) + 128 KiB (hash heads, fixed in
//! zlib-rs) + `7·2^(mem_level+6)` (literal/pending buffers) + state. Both are created lazily on
//! first use, so a connection that only receives never pays for a compressor, and one that
//! never receives a compressed message never pays for a decompressor.
//!
//! ## Idle connections: parking
//!
//! With context takeover (what every browser offers) the states above would live as long as
//! the connection, idle or not. Instead, an idle codec is *parked*
//! ([`PerMessageDeflate::park`]): both zlib states are freed and only what RFC 7692 context
//! takeover needs is kept, the last `2^window_bits` bytes each direction carried, deflated
//! while parked (two full 32 KiB windows of JSON-like text: ~12 KiB). The next message
//! restores its direction's state with that window as a preset dictionary (zlib's
//! `deflateSetDictionary` / `inflateSetDictionary`), so the wire bytes stay those of one
//! continuous context. The window is recorded as messages go by (a copy of at most the last
//! window of each), as zlib does not hand its own out.
//!
//! Parking is not done per message: waking allocates the state again and rebuilds the
//! compressor's hash chains from the window, several times the cost of compressing a 1 KiB
//! message (`cargo bench --bench codec -- deflate_park`). The connection task parks a
//! codec after one to two seconds without traffic ([`PerMessageDeflate::park_if_idle`]
//! once a second while zlib state is held), so back-to-back messages never pay for it.

pub mod codec;
mod history;
pub mod negotiation;

pub use codec::{DeflateError, InflateProgress, PerMessageDeflate, PerMessageDeflateParams};
pub use negotiation::{
    accept_first_offer, accept_response, default_offers, DeflateNegotiationError,
    PerMessageCompressionAccept, PerMessageCompressionResponseAccept, PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept, PerMessageDeflateResponse, PerMessageDeflateResponseAccept,
};

/// The extension token in `Sec-WebSocket-Extensions`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// Smallest LZ77 window size (as a power of two) a peer may request.
pub const MIN_WINDOW_BITS: u8 = 8;
/// Largest (and default) LZ77 window size as a power of two.
pub const MAX_WINDOW_BITS: u8 = 15;
/// Smallest zlib `memLevel`.
pub const MIN_MEM_LEVEL: u8 = 1;
/// Largest zlib `memLevel`.
pub const MAX_MEM_LEVEL: u8 = 9;
/// zlib `memLevel` used when none is set (Autobahn's default).
pub const DEFAULT_MEM_LEVEL: u8 = 8;
/// DEFLATE compression level used when none is set.
///
/// 1 rather than zlib's 6: on JSON-like text (4 KiB messages, context takeover, zlib-rs with
/// SIMD) level 1 compressed to 18.9 % at ~550 MB/s, level 6 to 12.6 % at ~70 MB/s. A server
/// pushing many messages is usually CPU-bound first; raise it per connection if bandwidth is
/// scarcer than CPU.
pub const DEFAULT_COMPRESSION_LEVEL: u8 = 1;

/// Is `bits` a window size RFC 7692 allows (8..=15)?
pub(crate) fn valid_window_bits(bits: u8) -> bool {
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits)
}

/// Is `level` a zlib `memLevel` (1..=9)?
pub(crate) fn valid_mem_level(level: u8) -> bool {
    (MIN_MEM_LEVEL..=MAX_MEM_LEVEL).contains(&level)
}
