//! The WebSocket frame format (RFC 6455 §5.2): opcodes, headers and close codes.

use bytes::BufMut;

/// A frame opcode.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::frame::OpCode;
///
/// assert_eq!(OpCode::from_u8(0x1), Some(OpCode::Text));
/// assert_eq!(OpCode::Ping.as_u8(), 0x9);
/// assert!(OpCode::Close.is_control());
/// assert_eq!(OpCode::from_u8(0x3), None); // reserved
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// Continuation of a fragmented message (0x0).
    Continuation,
    /// First frame of a text message (0x1).
    Text,
    /// First frame of a binary message (0x2).
    Binary,
    /// Close (0x8).
    Close,
    /// Ping (0x9).
    Ping,
    /// Pong (0xA).
    Pong,
}

impl OpCode {
    /// Decodes the 4-bit opcode; reserved opcodes give `None`.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames.
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A decoded frame header.
///
/// # Examples
///
/// Encode a masked text frame header and parse it back:
///
/// ```
/// use autobahn::websocket::frame::{FrameHeader, OpCode};
///
/// let header = FrameHeader {
///     fin: true,
///     rsv1: false,
///     rsv2: false,
///     rsv3: false,
///     opcode: OpCode::Text,
///     mask: Some([1, 2, 3, 4]),
///     payload_len: 300,
/// };
/// let (bytes, len) = header.to_bytes();
/// assert_eq!(len, header.encoded_len()); // 2 + 2 (16-bit length) + 4 (mask)
/// assert_eq!(len, 8);
///
/// // Too short: the parser asks for more bytes.
/// assert_eq!(FrameHeader::parse(&bytes[..3]), Ok(None));
/// assert_eq!(FrameHeader::parse(&bytes[..len]), Ok(Some((header, len))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate for "compressed").
    pub rsv1: bool,
    /// RSV2 (no extension of ours uses it).
    pub rsv2: bool,
    /// RSV3 (no extension of ours uses it).
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

/// Why a header cannot be decoded. Each maps to close code 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Reserved opcode (0x3–0x7, 0xB–0xF).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// The most significant bit of a 64-bit length was set.
    #[error("64-bit payload length with the most significant bit set")]
    LengthMsbSet,
    /// A length was not encoded in its shortest form.
    #[error("payload length not in minimal encoding")]
    NonMinimalLength,
}

/// The longest possible header: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

impl FrameHeader {
    /// Decodes a header from the start of `buf`: `Ok(None)` if more bytes are needed,
    /// else the header and its length in bytes.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(HeaderError::ReservedOpcode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Ok(None);
        }
        let payload_len = match ext {
            0 => u64::from(len7),
            2 => {
                let v = u64::from(u16::from_be_bytes([buf[2], buf[3]]));
                if v < 126 {
                    return Err(HeaderError::NonMinimalLength);
                }
                v
            }
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                let v = u64::from_be_bytes(b);
                if v >> 63 != 0 {
                    return Err(HeaderError::LengthMsbSet);
                }
                if v <= 0xffff {
                    return Err(HeaderError::NonMinimalLength);
                }
                v
            }
        };
        let mask = masked.then(|| {
            let m = 2 + ext;
            [buf[m], buf[m + 1], buf[m + 2], buf[m + 3]]
        });
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// The encoded length of this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// The encoded header in a stack buffer: the bytes and how many of them are used.
    #[inline]
    pub fn to_bytes(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut b = [0u8; MAX_HEADER_LEN];
        b[0] = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                b[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                b[1] = mask_bit | 126;
                b[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                b[1] = mask_bit | 127;
                b[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(m) = self.mask {
            b[n..n + 4].copy_from_slice(&m);
            n += 4;
        }
        (b, n)
    }

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut impl BufMut) {
        let b0 = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out.put_u8(b0);
        match self.payload_len {
            n @ 0..=125 => out.put_u8(mask_bit | n as u8),
            n @ 126..=0xffff => {
                out.put_u8(mask_bit | 126);
                out.put_u16(n as u16);
            }
            n => {
                out.put_u8(mask_bit | 127);
                out.put_u64(n);
            }
        }
        if let Some(m) = self.mask {
            out.put_slice(&m);
        }
    }
}

/// Close status codes (RFC 6455 §7.4.1 and the IANA registry).
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Endpoint going away.
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Data of a type that cannot be accepted.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// Reserved: no status code present (never sent).
    pub const NULL: u16 = 1005;
    /// Reserved: connection closed abnormally (never sent).
    pub const ABNORMAL_CLOSE: u16 = 1006;
    /// Payload not consistent with the message type (e.g. bad UTF-8).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Message too big.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: u16 = 1010;
    /// Unexpected condition on the server.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Service restart.
    pub const SERVICE_RESTART: u16 = 1012;
    /// Try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Bad gateway.
    pub const BAD_GATEWAY: u16 = 1014;
    /// Reserved: TLS handshake failure (never sent).
    pub const TLS_HANDSHAKE: u16 = 1015;

    /// Whether `code` may appear in a close frame on the wire: the registered codes
    /// 1000–1003 and 1007–1014, and the application/library ranges 3000–4999.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::frame::close_code;
    ///
    /// assert!(close_code::is_sendable(close_code::NORMAL));
    /// assert!(close_code::is_sendable(4000)); // application range
    /// assert!(!close_code::is_sendable(close_code::ABNORMAL_CLOSE)); // never on the wire
    /// ```
    pub fn is_sendable(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::parse(b).unwrap().unwrap()
    }

    #[test]
    fn rfc6455_examples() {
        // §5.7: single-frame unmasked text "Hello".
        let (h, n) = parse(&[0x81, 0x05, 0x48, 0x65]);
        assert_eq!(
            (h.fin, h.opcode, h.payload_len, h.mask, n),
            (true, OpCode::Text, 5, None, 2)
        );
        // Masked "Hello".
        let (h, n) = parse(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
        // Fragmented: first frame "Hel" without FIN.
        let (h, _) = parse(&[0x01, 0x03]);
        assert!(!h.fin);
        // 256-byte binary, 16-bit length.
        let (h, n) = parse(&[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        // 64 KiB binary, 64-bit length.
        let (h, n) = parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.payload_len, n), (65536, 10));
        // Unmasked ping "Hello".
        let (h, _) = parse(&[0x89, 0x05]);
        assert_eq!(h.opcode, OpCode::Ping);
    }

    #[test]
    fn incomplete_headers_need_more() {
        assert_eq!(FrameHeader::parse(&[]), Ok(None));
        assert_eq!(FrameHeader::parse(&[0x81]), Ok(None));
        assert_eq!(FrameHeader::parse(&[0x82, 0x7e, 0x01]), Ok(None));
        assert_eq!(
            FrameHeader::parse(&[0x82, 0xfe, 0x01, 0x00, 1, 2, 3]),
            Ok(None)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0]),
            Ok(None)
        );
    }

    #[test]
    fn malformed_headers() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0]),
                Err(HeaderError::ReservedOpcode(op))
            );
        }
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::LengthMsbSet)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7e, 0, 5]),
            Err(HeaderError::NonMinimalLength)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(HeaderError::NonMinimalLength)
        );
    }

    #[test]
    fn encode_round_trips() {
        for len in [0u64, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 40] {
            for mask in [None, Some([9, 8, 7, 6])] {
                for (fin, rsv1, op) in [(true, false, OpCode::Text), (false, true, OpCode::Binary)]
                {
                    let h = FrameHeader {
                        fin,
                        rsv1,
                        rsv2: false,
                        rsv3: false,
                        opcode: op,
                        mask,
                        payload_len: len,
                    };
                    let mut out = Vec::new();
                    h.encode(&mut out);
                    assert_eq!(out.len(), h.encoded_len());
                    assert_eq!(parse(&out), (h, out.len()));
                    let (bytes, n) = h.to_bytes();
                    assert_eq!(&bytes[..n], &out[..]);
                }
            }
        }
    }

    #[test]
    fn close_codes() {
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(close_code::is_sendable(c), "{c}");
        }
        for c in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!close_code::is_sendable(c), "{c}");
        }
    }
}
