//! The negotiated permessage-deflate codec (RFC 7692 §7.2): compresses outgoing and inflates
//! incoming message payloads, whole or frame by frame, with bounded memory.

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

use super::history::History;
use super::negotiation::{PerMessageDeflateOfferAccept, PerMessageDeflateResponseAccept};
use super::{
    valid_mem_level, valid_window_bits, DEFAULT_COMPRESSION_LEVEL, DEFAULT_MEM_LEVEL,
    MAX_WINDOW_BITS,
};

mod fixed;

/// What a sync flush ends with; stripped from sent messages and re-appended to received ones
/// (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Largest output step per inflate call: bounds the memory handed out ahead of the limit check.
const INFLATE_STEP_MAX: usize = 64 * 1024;
/// Smallest output step per inflate call.
const INFLATE_STEP_MIN: usize = 256;
/// Largest output step per deflate call.
const DEFLATE_STEP_MAX: usize = 256 * 1024;

/// Errors of the permessage-deflate codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeflateError {
    /// The inflated message would exceed the caller's limit (WebSocket close code 1009).
    #[error("inflated message exceeds the limit of {limit} bytes")]
    TooBig {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The compressed data is not valid DEFLATE (close code 1007 as Autobahn, or 1002).
    #[error("invalid compressed data: {0}")]
    Corrupt(&'static str),
    /// The compressor failed; this does not happen with validated parameters.
    #[error("compression failed: {0}")]
    Compress(&'static str),
    /// The caller's check of the inflated output (see
    /// [`PerMessageDeflate::decompress_chunk_checked`]) rejected it; inflation stopped there.
    #[error("inflated output rejected by the caller's check")]
    Rejected,
}

/// The agreed parameters of a permessage-deflate session, and our compressor's tuning.
///
/// The field names follow Autobahn's `PerMessageDeflate` constructor. Window bits 0 mean 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflateParams {
    /// The server does not use context takeover.
    pub server_no_context_takeover: bool,
    /// The client does not use context takeover.
    pub client_no_context_takeover: bool,
    /// The server's window bits (8..=15, 0: 15).
    pub server_max_window_bits: u8,
    /// The client's window bits (8..=15, 0: 15).
    pub client_max_window_bits: u8,
    /// Our compressor's zlib memLevel (1..=9, 0: [`DEFAULT_MEM_LEVEL`]).
    pub mem_level: u8,
    /// Our DEFLATE level (0..=9, default [`DEFAULT_COMPRESSION_LEVEL`]); levels above 9 count
    /// as 9.
    pub compression_level: u8,
}

impl Default for PerMessageDeflateParams {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            mem_level: DEFAULT_MEM_LEVEL,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }
}

/// Normalises window bits: 0 (not negotiated) or anything invalid means 15.
fn window_bits_or_max(bits: u8) -> u8 {
    if valid_window_bits(bits) {
        bits
    } else {
        MAX_WINDOW_BITS
    }
}

/// A negotiated permessage-deflate codec for one connection, sans-IO.
///
/// Outgoing: [`compress_message`](Self::compress_message) for a whole message or
/// [`compress_chunk`](Self::compress_chunk) per frame. Incoming:
/// [`decompress_chunk`](Self::decompress_chunk) per frame, bounded by a size limit.
///
/// The compressor (134–483 KiB depending on window bits and mem level) and the decompressor
/// (46 KiB) are created on first use, and freed by [`park`](Self::park) on an idle
/// connection; with no context takeover they are freed after each message, and a short
/// message is compressed without zlib. See the [module docs](super) for the measurements.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
///
/// let params = PerMessageDeflateParams::default();
/// let mut server = PerMessageDeflate::new(true, params);
/// let mut client = PerMessageDeflate::new(false, params);
///
/// let text = "the same words again and again and again and again".repeat(10);
/// let mut wire = Vec::new();
/// server.compress_message(text.as_bytes(), &mut wire)?;
/// assert!(wire.len() < text.len() / 4);
///
/// let mut inflated = Vec::new();
/// client.decompress_message(&wire, &mut inflated, 1 << 20)?; // at most 1 MiB out
/// assert_eq!(inflated, text.as_bytes());
/// # Ok::<(), autobahn::websocket::deflate::DeflateError>(())
/// ```
pub struct PerMessageDeflate {
    is_server: bool,
    params: PerMessageDeflateParams,
    compressor: Option<Deflate>,
    decompressor: Option<Inflate>,
    /// Our compressor's window, when our direction keeps context (restored after a park).
    sent: History,
    /// The peer's window, when its direction keeps context (restored after a park).
    received: History,
    /// A message is being compressed (between its first and last chunk).
    compressing: bool,
    /// A message is being inflated: the decompressor may be inside a block, where no
    /// dictionary can restore it, so it is not parked.
    inflating: bool,
    /// Compressed or inflated something since the last [`PerMessageDeflate::park_if_idle`].
    used: bool,
    #[cfg(test)]
    inflated_total: u64,
}

impl std::fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("is_server", &self.is_server)
            .field("params", &self.params)
            .field("compressor_allocated", &self.compressor.is_some())
            .field("decompressor_allocated", &self.decompressor.is_some())
            .field("sent", &self.sent)
            .field("received", &self.received)
            .finish()
    }
}

impl PerMessageDeflate {
    /// A codec for the server (`is_server`) or client side of a connection that agreed on
    /// `params`. Invalid window bits count as 15, an invalid mem level as 8.
    pub fn new(is_server: bool, params: PerMessageDeflateParams) -> Self {
        let mem_level = if valid_mem_level(params.mem_level) {
            params.mem_level
        } else {
            DEFAULT_MEM_LEVEL
        };
        let params = PerMessageDeflateParams {
            server_max_window_bits: window_bits_or_max(params.server_max_window_bits),
            client_max_window_bits: window_bits_or_max(params.client_max_window_bits),
            mem_level,
            compression_level: params.compression_level.min(9),
            ..params
        };
        // The history of a direction, kept if it has context takeover. A window of 8 bits is
        // run (ours) or may come (a zlib peer's) as 9: keep 512 bytes.
        let history = |server_side: bool| {
            let (no_takeover, bits) = if server_side {
                (
                    params.server_no_context_takeover,
                    params.server_max_window_bits,
                )
            } else {
                (
                    params.client_no_context_takeover,
                    params.client_max_window_bits,
                )
            };
            History::new((!no_takeover).then_some(bits.max(9)))
        };
        Self {
            is_server,
            params,
            compressor: None,
            decompressor: None,
            sent: history(is_server),
            received: history(!is_server),
            compressing: false,
            inflating: false,
            used: false,
            #[cfg(test)]
            inflated_total: 0,
        }
    }

    /// The server's codec after accepting an offer (Autobahn's `from_offer_accept`).
    pub fn from_offer_accept(accept: &PerMessageDeflateOfferAccept) -> Self {
        Self::new(
            true,
            PerMessageDeflateParams {
                server_no_context_takeover: accept.server_no_context_takeover(),
                client_no_context_takeover: accept.request_no_context_takeover,
                server_max_window_bits: accept.server_max_window_bits(),
                client_max_window_bits: accept.request_max_window_bits,
                mem_level: accept.mem_level.unwrap_or(DEFAULT_MEM_LEVEL),
                compression_level: DEFAULT_COMPRESSION_LEVEL,
            },
        )
    }

    /// The client's codec after accepting a response (Autobahn's `from_response_accept`).
    pub fn from_response_accept(accept: &PerMessageDeflateResponseAccept) -> Self {
        let response = &accept.response;
        Self::new(
            false,
            PerMessageDeflateParams {
                server_no_context_takeover: response.server_no_context_takeover,
                client_no_context_takeover: accept
                    .no_context_takeover
                    .unwrap_or(response.client_no_context_takeover),
                server_max_window_bits: response.server_max_window_bits,
                client_max_window_bits: accept
                    .window_bits
                    .unwrap_or(response.client_max_window_bits),
                mem_level: accept.mem_level.unwrap_or(DEFAULT_MEM_LEVEL),
                compression_level: DEFAULT_COMPRESSION_LEVEL,
            },
        )
    }

    /// Sets our DEFLATE level (0..=9; above 9 counts as 9) for messages compressed from now on.
    /// Call it before the first message: a compressor already created keeps its level.
    pub fn with_compression_level(mut self, level: u8) -> Self {
        self.params.compression_level = level.min(9);
        self
    }

    /// Whether this is the server side.
    pub fn is_server(&self) -> bool {
        self.is_server
    }

    /// The agreed parameters (window bits normalised to 8..=15).
    pub fn params(&self) -> &PerMessageDeflateParams {
        &self.params
    }

    /// Our own (sending) direction: `(no_context_takeover, window_bits)`.
    fn send_direction(&self) -> (bool, u8) {
        if self.is_server {
            (
                self.params.server_no_context_takeover,
                self.params.server_max_window_bits,
            )
        } else {
            (
                self.params.client_no_context_takeover,
                self.params.client_max_window_bits,
            )
        }
    }

    /// The settings our compressor starts each message with, when our direction has no
    /// context takeover: a message then compresses to the same bytes on every connection
    /// with equal settings, so a prepared message is compressed once for all of them.
    /// `None` with context takeover (the output depends on this connection's history).
    pub(crate) fn shared_compression(&self) -> Option<SharedCompression> {
        let (no_context_takeover, window_bits) = self.send_direction();
        no_context_takeover.then_some(SharedCompression {
            window_bits,
            mem_level: self.params.mem_level,
            level: self.params.compression_level,
        })
    }

    /// Whether the peer resets its compressor after every message, so we may reset ours.
    fn peer_no_context_takeover(&self) -> bool {
        if self.is_server {
            self.params.client_no_context_takeover
        } else {
            self.params.server_no_context_takeover
        }
    }

    /// Compresses one whole message payload, appending the wire payload to `out`.
    ///
    /// The trailing `00 00 ff ff` is stripped (RFC 7692 §7.2.1); an empty payload becomes the
    /// single byte `0x00`.
    pub fn compress_message(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        self.compress_chunk(payload, true, out)
    }

    /// Compresses one fragment of a message, appending the bytes for this frame to `out`.
    ///
    /// Each chunk is sync-flushed, so the frame carries everything given so far and the peer
    /// can inflate it at once. Only the last chunk (`fin`) has its `00 00 ff ff` tail stripped:
    /// inside a message the empty stored block must stay, as the next frame's data follows it.
    /// If a last chunk adds nothing to flush, it is the byte `0x00` (an empty stored block
    /// whose length the receiver's appended tail supplies). After the last chunk the
    /// compressor is freed when our direction has no context takeover (recreated for the next
    /// message, so an idle connection holds no compressor). Without context takeover a whole
    /// message of at most 1 KiB (one call with `fin`) is compressed without zlib, into one
    /// fixed-Huffman block: a zlib compressor's set-up alone (zeroing a 128 KiB hash table,
    /// also on a reset) costs several times more than compressing it.
    pub fn compress_chunk(
        &mut self,
        data: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        self.used = true;
        let message_start = !self.compressing;
        self.compressing = !fin;
        let (no_context_takeover, window_bits) = self.send_direction();
        if no_context_takeover
            && message_start
            && fin
            && data.len() <= fixed::MAX_LEN
            && self.params.compression_level > 0
        {
            // A whole short message, compressed afresh: no zlib state to reset (module docs).
            if data.is_empty() {
                out.push(0x00);
            } else {
                fixed::compress(data, 1 << window_bits, out);
            }
            return Ok(());
        }
        let start = out.len();
        let result = match self.compressor() {
            Ok(compressor) => deflate_sync(compressor, data, out),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            // A failed stream cannot go on; a fresh one keeps later messages decodable only
            // with no context takeover, but the caller is expected to fail the connection.
            self.reset_compressor();
            out.truncate(start);
            return Err(e);
        }
        self.sent.record(data);
        if fin {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == start {
                out.push(0x00);
            } else {
                self.reset_compressor();
                out.truncate(start);
                return Err(DeflateError::Compress(
                    "sync flush did not end with 00 00 ff ff",
                ));
            }
            if no_context_takeover {
                // Nothing carries over to the next message: free the compressor's memory
                // (hundreds of KiB) instead of keeping it on an idle connection. Kept and
                // reset instead, it raised the RSS of idle connections (benches/README.md).
                self.compressor = None;
            }
        }
        Ok(())
    }

    /// The compressor: created on first use, and after a park given back its window.
    fn compressor(&mut self) -> Result<&mut Deflate, DeflateError> {
        if self.compressor.is_none() {
            let window_bits = self.send_direction().1;
            let mut config = DeflateConfig::new(i32::from(self.params.compression_level));
            // zlib cannot deflate with a 256-byte window; 9 bits stays within 8 (module docs).
            config.window_bits = -i32::from(window_bits.max(9));
            config.mem_level = i32::from(self.params.mem_level);
            let mut compressor = Deflate::new_with_config(config);
            let window = self.sent.restore(None).map_err(|e| {
                tracing::warn!(error = %e, "permessage-deflate");
                DeflateError::Compress("parked history lost")
            })?;
            if !window.is_empty() {
                compressor
                    .set_dictionary(window)
                    .map_err(|e| DeflateError::Compress(e.as_str()))?;
            }
            self.compressor = Some(compressor);
        }
        self.compressor
            .as_mut()
            .ok_or(DeflateError::Compress("no compressor"))
    }

    fn reset_compressor(&mut self) {
        if let Some(c) = self.compressor.as_mut() {
            c.reset();
        }
        self.sent.clear();
    }

    /// Inflates one frame's payload of a compressed message, appending to `out`.
    ///
    /// `out` holds the message inflated so far (earlier frames); with `limit` > 0 this fails
    /// with [`DeflateError::TooBig`] as soon as `out.len()` would exceed `limit`, having
    /// inflated and allocated at most about `limit + 1` bytes (output grows in steps of at
    /// most 64 KiB, capacity never beyond `limit + 1` unless `out` came bigger). `limit == 0`
    /// means no limit. On `fin` the `00 00 ff ff` tail is fed, and the decompressor is reset
    /// when the peer uses no context takeover.
    ///
    /// Output is only appended. To check it as it is produced (and stop a large inflation at
    /// the first bad byte) use [`decompress_chunk_checked`](Self::decompress_chunk_checked).
    /// Any error leaves the decompressor reset and the message unusable; the connection
    /// should be failed.
    ///
    /// A DEFLATE block with BFINAL set (RFC 7692 §7.2.3.4) ends the stream: the decompressor is
    /// reset and the rest of the input inflated as a new stream (its history is lost, so a peer
    /// combining BFINAL with context takeover will fail as corrupt).
    pub fn decompress_chunk(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), DeflateError> {
        self.decompress_chunk_checked(input, fin, out, limit, |_| true)
    }

    /// [`decompress_chunk`](Self::decompress_chunk) that hands each newly inflated piece (at
    /// most 64 KiB, in order) to `check` as soon as it is produced, and stops with
    /// [`DeflateError::Rejected`] when `check` returns false: a text message whose first
    /// inflated byte is not UTF-8 then costs one inflate step, not the whole frame.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::deflate::{DeflateError, PerMessageDeflate, PerMessageDeflateParams};
    /// use autobahn::websocket::utf8::Utf8Validator;
    ///
    /// let params = PerMessageDeflateParams::default();
    /// let mut wire = Vec::new();
    /// let mut bad = vec![0u8; 1 << 20];
    /// bad[0] = 0xff; // never valid UTF-8
    /// PerMessageDeflate::new(false, params).compress_message(&bad, &mut wire)?;
    ///
    /// let mut server = PerMessageDeflate::new(true, params);
    /// let (mut utf8, mut out) = (Utf8Validator::new(), Vec::new());
    /// let result = server.decompress_chunk_checked(&wire, true, &mut out, 0, |piece| {
    ///     utf8.feed(piece).is_ok()
    /// });
    /// assert_eq!(result, Err(DeflateError::Rejected));
    /// assert!(out.len() <= 64 * 1024); // stopped after the first step, not 1 MiB
    /// # Ok::<(), DeflateError>(())
    /// ```
    pub fn decompress_chunk_checked(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
        mut check: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), DeflateError> {
        self.inflate_some(input, out, limit, usize::MAX, &mut check)?;
        if fin {
            self.finish_message(out, limit, &mut check)?;
        }
        Ok(())
    }

    /// Inflates a piece of a compressed message, as
    /// [`decompress_chunk_checked`](Self::decompress_chunk_checked) does without `fin`, but
    /// stops once it has produced at least `max_out` bytes (in steps of at most 64 KiB): a
    /// caller bounding the work per call (one poll of an async task) inflates a large frame
    /// over several calls. Returns how much of `input` was consumed and whether it is
    /// [done](InflateProgress::done); if not, call again with the rest of `input` (which may
    /// be empty: output is still pending). After the message's last frame, call
    /// [`finish_message`](Self::finish_message).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    ///
    /// let params = PerMessageDeflateParams::default();
    /// let mut wire = Vec::new();
    /// PerMessageDeflate::new(false, params).compress_message(&[7u8; 1 << 20], &mut wire)?;
    ///
    /// let mut server = PerMessageDeflate::new(true, params);
    /// let (mut out, mut input, mut calls) = (Vec::new(), &wire[..], 0);
    /// loop {
    ///     calls += 1;
    ///     let progress = server.inflate_some(input, &mut out, 0, 256 * 1024, |_| true)?;
    ///     input = &input[progress.consumed..];
    ///     if progress.done {
    ///         break;
    ///     }
    /// }
    /// server.finish_message(&mut out, 0, |_| true)?;
    /// assert_eq!(out, vec![7u8; 1 << 20]);
    /// assert!(calls >= 4); // 1 MiB in pieces of about 256 KiB
    /// # Ok::<(), autobahn::websocket::deflate::DeflateError>(())
    /// ```
    pub fn inflate_some(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        max_out: usize,
        check: impl FnMut(&[u8]) -> bool,
    ) -> Result<InflateProgress, DeflateError> {
        self.inflate_capped(input, out, limit_of(limit), max_out, check)
    }

    /// [`inflate_some`](Self::inflate_some) with the limit as an option, so that `Some(0)`
    /// (nothing more may be produced) differs from no limit: a streamed message that has
    /// handed out exactly its limit must fail on one more byte, not get a byte of slack.
    pub(crate) fn inflate_capped(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: Option<usize>,
        max_out: usize,
        mut check: impl FnMut(&[u8]) -> bool,
    ) -> Result<InflateProgress, DeflateError> {
        self.used = true;
        self.inflating = true;
        if self.decompressor.is_none() {
            self.decompressor = Some(self.new_decompressor()?);
        }
        let Some(decompressor) = self.decompressor.as_mut() else {
            return Err(DeflateError::Corrupt("no decompressor"));
        };
        #[cfg(test)]
        let before = out.len();
        let history = &mut self.received;
        let result = inflate_bounded(
            decompressor,
            input,
            out,
            limit,
            max_out,
            &mut check,
            history,
        );
        #[cfg(test)]
        {
            self.inflated_total += out.len().saturating_sub(before) as u64;
        }
        if result.is_err() {
            decompressor.reset(false);
            self.received.clear();
            self.inflating = false;
        }
        result
    }

    /// A decompressor, given back the peer's window after a park.
    fn new_decompressor(&mut self) -> Result<Inflate, DeflateError> {
        // A raw stream with the largest window inflates anything a conforming peer sends; its
        // memory in zlib-rs does not depend on the window size.
        let mut decompressor = Inflate::new(false, MAX_WINDOW_BITS);
        let window = self
            .received
            .restore(Some(&mut decompressor))
            .map_err(|e| {
                tracing::warn!(error = %e, "permessage-deflate");
                DeflateError::Corrupt("parked history lost")
            })?;
        if !window.is_empty() {
            decompressor
                .set_dictionary(window)
                .map_err(|e| DeflateError::Corrupt(e.as_str()))?;
        }
        Ok(decompressor)
    }

    /// Ends a compressed message inflated with [`inflate_some`](Self::inflate_some): feeds the
    /// `00 00 ff ff` tail (RFC 7692 §7.2.2) and frees the decompressor when the peer uses no
    /// context takeover. Same `limit` and `check` as for the message's pieces.
    pub fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
        check: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), DeflateError> {
        self.finish_capped(out, limit_of(limit), check)
    }

    /// [`finish_message`](Self::finish_message) with the limit of
    /// [`inflate_capped`](Self::inflate_capped).
    pub(crate) fn finish_capped(
        &mut self,
        out: &mut Vec<u8>,
        limit: Option<usize>,
        mut check: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), DeflateError> {
        // The tail is an empty stored block: it produces nothing beyond what is pending.
        let progress = self.inflate_capped(&TAIL, out, limit, usize::MAX, &mut check)?;
        debug_assert!(progress.done);
        self.inflating = false;
        if self.peer_no_context_takeover() {
            // No history to keep: free the memory until the next message (cheap to
            // rebuild, unlike a compressor: `cargo bench --bench codec -- deflate_tiny`).
            self.decompressor = None;
        }
        Ok(())
    }

    /// Bytes inflated so far over the codec's life (unit tests measure fail-fast with it).
    #[cfg(test)]
    pub(crate) fn inflated_total(&self) -> u64 {
        self.inflated_total
    }

    /// Inflates one whole received message payload into `out` (see
    /// [`decompress_chunk`](Self::decompress_chunk)).
    pub fn decompress_message(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), DeflateError> {
        self.decompress_chunk(payload, true, out, limit)
    }

    /// Frees the zlib states (a compressor holds 134–483 KiB, a decompressor 46 KiB) and keeps
    /// only what context takeover needs: the last `2^window_bits` bytes each direction
    /// carried, deflated if that makes them smaller. The next message restores its
    /// direction's state with that window as a preset dictionary, so the peer sees no
    /// difference: compressed output stays a continuation of the same context and the peer's
    /// next message inflates against the same history.
    ///
    /// A direction in the middle of a message is left as it is (the decompressor may be
    /// inside a block, which no dictionary restores); so is one that holds nothing. Waking
    /// costs a state allocation and zlib's dictionary setup (see `benches/codec.rs`), so
    /// park an idle connection, not one between back-to-back messages: see
    /// [`park_if_idle`](Self::park_if_idle).
    ///
    /// A peer that negotiated a window smaller than 15 bits but refers further back than it
    /// (which RFC 7692 forbids) inflates before a park and fails as corrupt after one.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    ///
    /// let params = PerMessageDeflateParams::default();
    /// let (mut server, mut client) = (PerMessageDeflate::new(true, params), PerMessageDeflate::new(false, params));
    /// let text = br#"{"id": 1, "op": "subscribe", "topic": "com.example.ticker"}"#;
    /// let (mut wire, mut out) = (Vec::new(), Vec::new());
    /// server.compress_message(text, &mut wire)?;
    /// client.decompress_message(&wire, &mut out, 0)?;
    ///
    /// server.park();
    /// assert!(!server.holds_zlib_state());
    /// // The same message again: after the park it still refers back to the first one.
    /// let mut again = Vec::new();
    /// server.compress_message(text, &mut again)?;
    /// assert!(again.len() < wire.len() / 2);
    /// out.clear();
    /// client.decompress_message(&again, &mut out, 0)?;
    /// assert_eq!(out, text);
    /// # Ok::<(), autobahn::websocket::deflate::DeflateError>(())
    /// ```
    pub fn park(&mut self) {
        if !self.compressing && self.compressor.take().is_some() {
            self.sent.park();
        }
        if !self.inflating && self.decompressor.take().is_some() {
            self.received.park();
        }
    }

    /// [`park`](Self::park)s the codec if it compressed and inflated nothing since the last
    /// call; returns whether it still holds a zlib state. Called periodically (the
    /// connection task does it every second or so), it parks a codec after one to two
    /// periods without traffic and costs nothing between back-to-back messages.
    pub fn park_if_idle(&mut self) -> bool {
        if !std::mem::take(&mut self.used) {
            self.park();
        }
        self.holds_zlib_state()
    }

    /// Whether a compressor or decompressor is allocated (false when parked or not yet used).
    pub fn holds_zlib_state(&self) -> bool {
        self.compressor.is_some() || self.decompressor.is_some()
    }

    /// Heap bytes of the windows kept for context takeover (tests).
    #[cfg(test)]
    pub(crate) fn history_heap_bytes(&self) -> usize {
        self.sent.heap_bytes() + self.received.heap_bytes()
    }
}

/// Deflates `input` with a sync flush, appending all output to `out`.
fn deflate_sync(
    compressor: &mut Deflate,
    mut input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DeflateError> {
    loop {
        // Room for incompressible data plus block overhead, in bounded steps.
        let step = (input.len() + input.len() / 8 + 64).min(DEFLATE_STEP_MAX);
        let len = out.len();
        out.resize(len + step, 0);
        let (in_before, out_before) = (compressor.total_in(), compressor.total_out());
        let status = compressor.compress(input, &mut out[len..], DeflateFlush::SyncFlush);
        let consumed = usize::try_from(compressor.total_in() - in_before).unwrap_or(usize::MAX);
        let produced = usize::try_from(compressor.total_out() - out_before).unwrap_or(usize::MAX);
        out.truncate(len + produced.min(step));
        input = input.get(consumed..).unwrap_or_default();
        match status {
            Err(e) => return Err(DeflateError::Compress(e.as_str())),
            // Flush complete once all input is taken and output space was left over.
            Ok(_) if input.is_empty() && produced < step => return Ok(()),
            Ok(Status::BufError) if consumed == 0 && produced == 0 => {
                return Err(DeflateError::Compress("no progress"));
            }
            Ok(_) => {}
        }
    }
}

/// Grows `out` so it has `room` spare bytes, doubling the capacity but never past `cap_limit`
/// (unless `len + room` itself needs it).
fn reserve_bounded(out: &mut Vec<u8>, room: usize, cap_limit: usize) {
    let needed = out.len().saturating_add(room);
    if needed <= out.capacity() {
        return;
    }
    let doubled = out.capacity().saturating_mul(2).min(cap_limit);
    let target = needed.max(doubled);
    out.reserve_exact(target - out.len());
}

/// Compressor settings under which equal messages compress to equal bytes
/// ([`PerMessageDeflate::shared_compression`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedCompression {
    window_bits: u8,
    mem_level: u8,
    level: u8,
}

/// How far [`PerMessageDeflate::inflate_some`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateProgress {
    /// Bytes of the input consumed.
    pub consumed: usize,
    /// All input consumed and all its output produced; false when the output budget ran out
    /// first.
    pub done: bool,
}

/// Inflates `input` into `out` in bounded steps, stopping at `limit` (0: none) or when `check`
/// rejects a step's output (errors), or once `max_out` bytes were produced (paused).
fn inflate_bounded(
    decompressor: &mut Inflate,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: Option<usize>,
    max_out: usize,
    check: &mut dyn FnMut(&[u8]) -> bool,
    history: &mut History,
) -> Result<InflateProgress, DeflateError> {
    // `out[..filled]` is output; `out[filled..]` is zeroed room for zlib, zeroed once and kept
    // across rounds. A round that produces nothing (an empty final block, `03 00`, ends the
    // stream after two bytes) then costs no zero-fill of a whole step, only zlib's own work.
    let mut filled = out.len();
    let result = inflate_rounds(
        decompressor,
        input,
        out,
        &mut filled,
        (limit, max_out),
        check,
        history,
    );
    out.truncate(filled);
    result
}

fn inflate_rounds(
    decompressor: &mut Inflate,
    mut input: &[u8],
    out: &mut Vec<u8>,
    filled: &mut usize,
    (limit, max_out): (Option<usize>, usize),
    check: &mut dyn FnMut(&[u8]) -> bool,
    history: &mut History,
) -> Result<InflateProgress, DeflateError> {
    let (input_len, start) = (input.len(), *filled);
    // One byte past the limit is enough to know it is exceeded.
    let cap_limit = limit.map_or(usize::MAX, |l| l.saturating_add(1));
    // No input: continuing output pending from a paused call, or nothing at all (an
    // empty message). Start small and let the doubling below find the pending output:
    // a full step here was 64 KiB zeroed, and kept as capacity, per empty message.
    let mut step = match input.len() {
        0 => INFLATE_STEP_MIN,
        n => n
            .saturating_mul(4)
            .clamp(INFLATE_STEP_MIN, INFLATE_STEP_MAX),
    };
    loop {
        let room = step.min(cap_limit.saturating_sub(*filled));
        if room == 0 {
            return Err(too_big(limit));
        }
        let end = *filled + room;
        if out.len() < end {
            reserve_bounded(out, end - out.len(), cap_limit);
            out.resize(end, 0);
        }
        let (in_before, out_before) = (decompressor.total_in(), decompressor.total_out());
        let status = decompressor.decompress(input, &mut out[*filled..end], InflateFlush::NoFlush);
        let consumed = usize::try_from(decompressor.total_in() - in_before).unwrap_or(usize::MAX);
        let produced = usize::try_from(decompressor.total_out() - out_before).unwrap_or(usize::MAX);
        let piece = *filled..*filled + produced.min(room);
        *filled = piece.end;
        input = input.get(consumed..).unwrap_or_default();
        history.record(&out[piece.clone()]);
        // Checked before anything more is inflated (fail fast on bad UTF-8).
        if !piece.is_empty() && !check(&out[piece]) {
            return Err(DeflateError::Rejected);
        }
        // Before the status: zlib goes on parsing input after the output is full and may
        // report corruption that lies beyond the byte that broke the limit. The stream's
        // first violation is the answer, whatever the input's chunking.
        if limit.is_some_and(|l| *filled > l) {
            return Err(too_big(limit));
        }
        match status {
            Err(e) => {
                tracing::debug!(error = e.as_str(), "permessage-deflate: corrupt input");
                return Err(DeflateError::Corrupt(match e {
                    zlib_rs::InflateError::NeedDict { .. } => "dictionary required",
                    other => other.as_str(),
                }));
            }
            Ok(Status::StreamEnd) => {
                // BFINAL block: start a new stream (with no history) for whatever follows.
                decompressor.reset(false);
                history.clear();
            }
            Ok(_) => {}
        }
        let done = produced < room && input.is_empty();
        if done || *filled - start >= max_out {
            return Ok(InflateProgress {
                consumed: input_len - input.len(),
                done,
            });
        }
        if produced < room {
            if consumed == 0 && produced == 0 && status != Ok(Status::StreamEnd) {
                return Err(DeflateError::Corrupt("no progress"));
            }
        } else {
            // Output was the bottleneck: take bigger steps.
            step = step.saturating_mul(2).min(INFLATE_STEP_MAX);
        }
    }
}

/// The public API's limit (0: none) as an option.
fn limit_of(limit: usize) -> Option<usize> {
    (limit != 0).then_some(limit)
}

fn too_big(limit: Option<usize>) -> DeflateError {
    DeflateError::TooBig {
        limit: limit.unwrap_or(usize::MAX),
    }
}

#[cfg(test)]
mod tests;
