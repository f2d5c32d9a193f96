//! WAMP-RawSocket framing: a 4-octet header, then the payload.
//!
//! ```text
//! RRRR XTTT  LLLLLLLL LLLLLLLL LLLLLLLL
//! ```
//!
//! `RRRR` are reserved (must be zero), `TTT` is the type (0 WAMP message,
//! 1 PING, 2 PONG, 3..=7 reserved), and the 24 `L` bits are the big-endian
//! payload length. `X` is a 25th length bit that is set only for a payload of
//! exactly 2^24 octets (with all `L` bits clear), the largest length a peer can
//! announce.
//!
//! [`FrameDecoder`] checks every header before it reserves memory for the
//! payload; [`encode_frame`] refuses payloads larger than the peer accepts.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::RawSocketError;

/// Length of a frame header in octets.
pub const HEADER_LEN: usize = 4;

/// The largest payload RawSocket can carry (2^24 octets, using the `X` bit).
pub const MAX_PAYLOAD_LEN: u32 = 1 << 24;

/// The 25th length bit in the first header octet.
const EXTRA_LEN_BIT: u8 = 0x08;

/// The transport-level type of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Type 0: a serialized WAMP message.
    Message,
    /// Type 1: PING; must be answered with exactly one PONG echoing the payload.
    Ping,
    /// Type 2: PONG, the answer to a PING.
    Pong,
}

impl FrameKind {
    /// The `TTT` value of this kind.
    pub const fn code(self) -> u8 {
        match self {
            Self::Message => 0,
            Self::Ping => 1,
            Self::Pong => 2,
        }
    }

    /// The kind for a `TTT` value, `None` for reserved types 3..=7 (and
    /// anything larger).
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Message),
            1 => Some(Self::Ping),
            2 => Some(Self::Pong),
            _ => None,
        }
    }
}

/// One received (or to-be-sent) frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Message, PING or PONG.
    pub kind: FrameKind,
    /// The payload: a serialized WAMP message, or arbitrary PING/PONG data.
    pub payload: Bytes,
}

impl Frame {
    /// For a PING, the PONG that must be sent back (echoing the payload
    /// exactly, without copying it); `None` for other kinds.
    ///
    /// Send it with [`Frame::encode`]; if the peer pinged with more than it
    /// accepts itself, that fails with `MessageTooLarge` — a protocol error by
    /// the peer.
    pub fn pong(&self) -> Option<Frame> {
        (self.kind == FrameKind::Ping).then(|| Frame {
            kind: FrameKind::Pong,
            payload: self.payload.clone(),
        })
    }

    /// Appends this frame to `out`, like [`encode_frame`].
    pub fn encode(&self, peer_max_len: u32, out: &mut BytesMut) -> Result<(), RawSocketError> {
        encode_frame(self.kind, &self.payload, peer_max_len, out)
    }
}

/// The 4-octet header for a frame of `kind` with a `len`-octet payload, or
/// `MessageTooLarge` if `len` exceeds `peer_max_len` (or 2^24, whichever is
/// smaller).
pub fn encode_header(
    kind: FrameKind,
    len: usize,
    peer_max_len: u32,
) -> Result<[u8; HEADER_LEN], RawSocketError> {
    let max = peer_max_len.min(MAX_PAYLOAD_LEN);
    let too_large = RawSocketError::MessageTooLarge { size: len, max };
    let len32 = u32::try_from(len).map_err(|_| too_large.clone())?;
    if len32 > max {
        return Err(too_large);
    }
    let [_, b1, b2, b3] = len32.to_be_bytes();
    let mut first = kind.code();
    if len32 == MAX_PAYLOAD_LEN {
        // 2^24 does not fit 24 bits: the spec's X bit stands for it.
        first |= EXTRA_LEN_BIT;
    }
    Ok([first, b1, b2, b3])
}

/// Appends a frame (header and payload) to `out`.
///
/// `peer_max_len` is the maximum the *peer* announced in the handshake. A
/// larger payload is refused with [`RawSocketError::MessageTooLarge`] and
/// nothing is written: the caller decides what to do with the message, the
/// connection stays usable.
///
/// # Examples
///
/// ```
/// use autobahn::rawsocket::{encode_frame, FrameKind, RawSocketError};
/// use bytes::BytesMut;
///
/// let mut out = BytesMut::new();
/// encode_frame(FrameKind::Message, b"[6,{},\"wamp.close.normal\"]", 512, &mut out)?;
/// assert_eq!(&out[..4], [0, 0, 0, 26]); // type 0, 24-bit length
/// // Larger than the peer accepts: refused, nothing written.
/// let big = vec![b' '; 513];
/// assert!(matches!(
///     encode_frame(FrameKind::Message, &big, 512, &mut out),
///     Err(RawSocketError::MessageTooLarge { .. })
/// ));
/// assert_eq!(out.len(), 4 + 26);
/// # Ok::<(), RawSocketError>(())
/// ```
pub fn encode_frame(
    kind: FrameKind,
    payload: &[u8],
    peer_max_len: u32,
    out: &mut BytesMut,
) -> Result<(), RawSocketError> {
    let header = encode_header(kind, payload.len(), peer_max_len)?;
    out.reserve(HEADER_LEN + payload.len());
    out.put_slice(&header);
    out.put_slice(payload);
    Ok(())
}

/// Parses a frame header into its kind and payload length, checking reserved
/// bits, type, length encoding and `max_len`.
fn parse_header(
    header: [u8; HEADER_LEN],
    max_len: u32,
) -> Result<(FrameKind, u32), RawSocketError> {
    let first = header[0];
    if first & 0xF0 != 0 {
        return Err(RawSocketError::ReservedFrameBits(first));
    }
    let kind =
        FrameKind::from_code(first & 0x07).ok_or(RawSocketError::UnknownFrameType(first & 0x07))?;
    let low = u32::from_be_bytes([0, header[1], header[2], header[3]]);
    let len = if first & EXTRA_LEN_BIT != 0 {
        if low != 0 {
            return Err(RawSocketError::InvalidFrameLength(low));
        }
        MAX_PAYLOAD_LEN
    } else {
        low
    };
    if len > max_len {
        return Err(RawSocketError::FrameTooLarge {
            size: len,
            max: max_len,
        });
    }
    Ok((kind, len))
}

/// Sans-IO frame decoder: feed it received bytes, take out whole frames.
///
/// Frames may arrive in any split, down to one byte at a time. The header of
/// each frame is validated (reserved bits, type, length against the limit *we*
/// announced) before any memory is reserved for its payload. After an error
/// the decoder keeps returning that error: the connection must be failed.
///
/// Memory held is at most what was fed and not yet taken out; feed what one
/// socket read returned, then call [`FrameDecoder::next_frame`] until it
/// returns `Ok(None)`.
///
/// # Examples
///
/// Frames in, frames out, with the decoder fed in arbitrary pieces:
///
/// ```
/// use autobahn::rawsocket::{encode_frame, FrameDecoder, FrameKind};
/// use bytes::BytesMut;
///
/// let mut wire = BytesMut::new();
/// encode_frame(FrameKind::Message, br#"[1,"realm1",{}]"#, 1 << 24, &mut wire)?;
/// encode_frame(FrameKind::Ping, b"hi", 1 << 24, &mut wire)?;
///
/// let mut decoder = FrameDecoder::new(1 << 16); // the limit we announced
/// decoder.feed(&wire[..5]);
/// assert_eq!(decoder.next_frame()?, None); // header, one payload octet: not complete
/// decoder.feed(&wire[5..]);
/// let message = decoder.next_frame()?.expect("message frame");
/// assert_eq!((message.kind, &message.payload[..]), (FrameKind::Message, &br#"[1,"realm1",{}]"#[..]));
/// let ping = decoder.next_frame()?.expect("ping frame");
/// let pong = ping.pong().expect("a ping has a pong");
/// assert_eq!((pong.kind, &pong.payload[..]), (FrameKind::Pong, &b"hi"[..]));
/// # Ok::<(), autobahn::rawsocket::RawSocketError>(())
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    max_len: u32,
    buf: BytesMut,
    /// Header of the frame whose payload is being collected.
    pending: Option<(FrameKind, u32)>,
    failed: Option<RawSocketError>,
}

impl FrameDecoder {
    /// A decoder accepting payloads of at most `max_len` octets (the limit we
    /// announced in the handshake; anything above 2^24 acts as 2^24).
    pub fn new(max_len: u32) -> Self {
        Self {
            max_len: max_len.min(MAX_PAYLOAD_LEN),
            buf: BytesMut::new(),
            pending: None,
            failed: None,
        }
    }

    /// The payload limit this decoder enforces.
    pub fn max_len(&self) -> u32 {
        self.max_len
    }

    /// Number of fed octets not yet returned as frames (the header of a frame
    /// whose payload is still incomplete included).
    pub fn buffered(&self) -> usize {
        self.buf.len()
            + if self.pending.is_some() {
                HEADER_LEN
            } else {
                0
            }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the
    /// protocol error that fails the connection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, RawSocketError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let (kind, len) = match self.pending {
            Some(pending) => pending,
            None => {
                let Some(header) = self.buf.get(..HEADER_LEN) else {
                    return Ok(None);
                };
                let header = [header[0], header[1], header[2], header[3]];
                match parse_header(header, self.max_len) {
                    Ok(parsed) => {
                        self.buf.advance(HEADER_LEN);
                        // Safe to reserve now: `len` was checked against our limit.
                        self.buf
                            .reserve((parsed.1 as usize).saturating_sub(self.buf.len()));
                        self.pending = Some(parsed);
                        parsed
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "rawsocket: invalid frame header");
                        self.buf = BytesMut::new();
                        self.failed = Some(err.clone());
                        return Err(err);
                    }
                }
            }
        };
        let len = len as usize;
        if self.buf.len() < len {
            return Ok(None);
        }
        self.pending = None;
        let payload = self.buf.split_to(len).freeze();
        Ok(Some(Frame { kind, payload }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: FrameKind, payload: &'static [u8]) -> Frame {
        Frame {
            kind,
            payload: Bytes::from_static(payload),
        }
    }

    fn encoded(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_frame(kind, payload, MAX_PAYLOAD_LEN, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn encode_vectors() {
        assert_eq!(encoded(FrameKind::Message, b"[1]"), b"\x00\x00\x00\x03[1]");
        assert_eq!(encoded(FrameKind::Ping, b"hi"), b"\x01\x00\x00\x02hi");
        assert_eq!(encoded(FrameKind::Pong, b""), b"\x02\x00\x00\x00");
        assert_eq!(
            encode_header(FrameKind::Message, 0x0001_0203, MAX_PAYLOAD_LEN).unwrap(),
            [0x00, 0x01, 0x02, 0x03]
        );
        // Spec: 16M-1 => 0TTT FFFFFF; 16M => 1TTT 000000.
        assert_eq!(
            encode_header(FrameKind::Message, (1 << 24) - 1, MAX_PAYLOAD_LEN).unwrap(),
            [0x00, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            encode_header(FrameKind::Pong, 1 << 24, MAX_PAYLOAD_LEN).unwrap(),
            [0x0A, 0x00, 0x00, 0x00]
        );
    }

    #[test]
    fn encode_refuses_oversized_and_writes_nothing() {
        let mut out = BytesMut::from(&b"keep"[..]);
        let err = encode_frame(FrameKind::Message, &[0u8; 513], 512, &mut out).unwrap_err();
        assert_eq!(
            err,
            RawSocketError::MessageTooLarge {
                size: 513,
                max: 512
            }
        );
        assert_eq!(&out[..], b"keep");
        // Exactly the limit is allowed.
        encode_frame(FrameKind::Message, &[7u8; 512], 512, &mut out).unwrap();
        assert_eq!(out.len(), 4 + HEADER_LEN + 512);
        // A limit above what framing can carry acts as 2^24.
        assert_eq!(
            encode_header(FrameKind::Message, (1 << 24) + 1, u32::MAX),
            Err(RawSocketError::MessageTooLarge {
                size: (1 << 24) + 1,
                max: 1 << 24
            })
        );
        assert!(encode_header(FrameKind::Message, usize::MAX, u32::MAX).is_err());
    }

    #[test]
    fn decode_whole_frames() {
        let mut d = FrameDecoder::new(1024);
        let mut wire = encoded(FrameKind::Message, b"[1,\"realm\",{}]");
        wire.extend(encoded(FrameKind::Ping, b"abc"));
        wire.extend(encoded(FrameKind::Pong, b""));
        d.feed(&wire);
        assert_eq!(
            d.next_frame().unwrap(),
            Some(frame(FrameKind::Message, b"[1,\"realm\",{}]"))
        );
        assert_eq!(
            d.next_frame().unwrap(),
            Some(frame(FrameKind::Ping, b"abc"))
        );
        assert_eq!(d.next_frame().unwrap(), Some(frame(FrameKind::Pong, b"")));
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn decode_byte_by_byte() {
        let mut wire = encoded(FrameKind::Message, b"hello");
        wire.extend(encoded(FrameKind::Pong, b"xy"));
        let mut d = FrameDecoder::new(512);
        let mut got = Vec::new();
        for b in wire {
            d.feed(&[b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![
                frame(FrameKind::Message, b"hello"),
                frame(FrameKind::Pong, b"xy")
            ]
        );
    }

    #[test]
    fn length_checked_before_payload_arrives() {
        let mut d = FrameDecoder::new(512);
        // Only the header of a 513-octet frame: rejected at once.
        d.feed(&[0x00, 0x00, 0x02, 0x01]);
        assert_eq!(
            d.next_frame(),
            Err(RawSocketError::FrameTooLarge {
                size: 513,
                max: 512
            })
        );
        // Poisoned: keeps failing, buffers nothing more.
        d.feed(&[0u8; 100]);
        assert_eq!(d.buffered(), 0);
        assert!(d.next_frame().is_err());

        // A huge announced length does not allocate.
        let mut d = FrameDecoder::new(1 << 16);
        d.feed(&[0x00, 0xFF, 0xFF, 0xFF]);
        assert!(matches!(
            d.next_frame(),
            Err(RawSocketError::FrameTooLarge {
                size: 0xFF_FFFF,
                ..
            })
        ));
    }

    #[test]
    fn exactly_max_len_is_accepted() {
        let mut d = FrameDecoder::new(512);
        d.feed(&encoded(FrameKind::Message, &[1u8; 512]));
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.payload.len(), 512);
    }

    #[test]
    fn sixteen_mib_frame_with_extra_bit() {
        let mut d = FrameDecoder::new(MAX_PAYLOAD_LEN);
        d.feed(&[0x08, 0, 0, 0]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(&vec![0xAB; (1 << 24) - 1]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(&[0xAB]);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.kind, FrameKind::Message);
        assert_eq!(f.payload.len(), 1 << 24);
        // With a smaller limit the same header is too large.
        let mut d = FrameDecoder::new(1 << 23);
        d.feed(&[0x08, 0, 0, 0]);
        assert_eq!(
            d.next_frame(),
            Err(RawSocketError::FrameTooLarge {
                size: 1 << 24,
                max: 1 << 23
            })
        );
    }

    #[test]
    fn malformed_headers() {
        let cases: [([u8; 4], RawSocketError); 6] = [
            ([0x10, 0, 0, 0], RawSocketError::ReservedFrameBits(0x10)),
            ([0x80, 0, 0, 1], RawSocketError::ReservedFrameBits(0x80)),
            // A handshake arriving again mid-stream.
            ([0x7F, 0xF1, 0, 0], RawSocketError::ReservedFrameBits(0x7F)),
            ([0x03, 0, 0, 0], RawSocketError::UnknownFrameType(3)),
            ([0x07, 0, 0, 0], RawSocketError::UnknownFrameType(7)),
            ([0x08, 0, 0, 1], RawSocketError::InvalidFrameLength(1)),
        ];
        for (header, want) in cases {
            let mut d = FrameDecoder::new(MAX_PAYLOAD_LEN);
            d.feed(&header);
            assert_eq!(d.next_frame(), Err(want), "header {header:02x?}");
        }
    }

    #[test]
    fn ping_gets_pong_with_same_payload() {
        let mut d = FrameDecoder::new(512);
        d.feed(&encoded(FrameKind::Ping, b"are you there"));
        let ping = d.next_frame().unwrap().unwrap();
        let pong = ping.pong().unwrap();
        assert_eq!(pong, frame(FrameKind::Pong, b"are you there"));
        let mut out = BytesMut::new();
        pong.encode(512, &mut out).unwrap();
        assert_eq!(&out[..], b"\x02\x00\x00\x0dare you there");
        assert_eq!(frame(FrameKind::Message, b"x").pong(), None);
        assert_eq!(pong.pong(), None);
    }

    #[test]
    fn round_trip_all_kinds_and_splits() {
        let payloads: [&[u8]; 4] = [b"", b"a", &[0u8; 300], b"[48,1,{},\"com.example\"]"];
        let kinds = [FrameKind::Message, FrameKind::Ping, FrameKind::Pong];
        let mut wire = BytesMut::new();
        let mut want = Vec::new();
        for p in payloads {
            for k in kinds {
                encode_frame(k, p, 512, &mut wire).unwrap();
                want.push(Frame {
                    kind: k,
                    payload: Bytes::copy_from_slice(p),
                });
            }
        }
        for chunk in [1, 3, 4, 5, 7, 64, 4096] {
            let mut d = FrameDecoder::new(512);
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                d.feed(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, want, "chunk size {chunk}");
        }
    }

    #[test]
    fn kind_codes() {
        for k in [FrameKind::Message, FrameKind::Ping, FrameKind::Pong] {
            assert_eq!(FrameKind::from_code(k.code()), Some(k));
        }
        assert_eq!(FrameKind::from_code(3), None);
    }
}
