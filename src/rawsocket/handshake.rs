//! The 4-octet WAMP-RawSocket opening handshake, both sides.
//!
//! Client request and successful router reply have the same shape:
//!
//! ```text
//! 0111 1111  LLLL SSSS  0000 0000  0000 0000
//!   magic     len  ser   reserved   reserved
//! ```
//!
//! `LLLL` announces the largest message the sender is willing to *receive*,
//! 2^(9+L) octets (512 octets up to 16 MiB); `SSSS` is the serializer id, which
//! the router must echo. A refusing router sends `0x7F, EEEE 0000, 0, 0` with
//! an error code `EEEE` ([`HandshakeErrorCode`]).

use std::fmt;

use super::RawSocketError;

/// The magic first octet of every handshake message. No HTTP request can
/// start with it, so RawSocket can share a port with WebSocket.
pub const MAGIC: u8 = 0x7F;

/// Smallest maximum-length exponent: 2^9 = 512 octets.
pub const MIN_MAX_LEN_EXP: u8 = 9;

/// Largest maximum-length exponent: 2^24 = 16 MiB, the most RawSocket framing
/// can carry.
pub const MAX_MAX_LEN_EXP: u8 = 24;

/// A serializer id from the handshake's `SSSS` nibble (1..=15).
///
/// The spec defines 1 JSON, 2 MessagePack, 3 CBOR, 4 UBJSON, 5 FlatBuffers and
/// reserves 6..=15; 0 is illegal. Ids are kept as numbers so that a router can
/// answer "serializer unsupported" for ids it does not know instead of failing
/// to parse them.
///
/// # Examples
///
/// ```
/// use autobahn::rawsocket::SerializerId;
///
/// assert_eq!(SerializerId::CBOR.get(), 3);
/// assert_eq!(SerializerId::new(2), Some(SerializerId::MSGPACK));
/// assert_eq!(SerializerId::MSGPACK.name(), Some("msgpack"));
/// assert_eq!(SerializerId::new(0), None); // illegal
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerializerId(u8);

impl SerializerId {
    /// JSON (id 1).
    pub const JSON: Self = Self(1);
    /// MessagePack (id 2).
    pub const MSGPACK: Self = Self(2);
    /// CBOR (id 3).
    pub const CBOR: Self = Self(3);
    /// UBJSON (id 4).
    pub const UBJSON: Self = Self(4);
    /// FlatBuffers (id 5).
    pub const FLATBUFFERS: Self = Self(5);

    /// The id for `id`, or `None` if it does not fit the 4-bit field or is the
    /// illegal id 0.
    pub const fn new(id: u8) -> Option<Self> {
        if id >= 1 && id <= 15 {
            Some(Self(id))
        } else {
            None
        }
    }

    /// The numeric id (1..=15).
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The spec's name for this serializer (`"json"`, `"msgpack"`, `"cbor"`,
    /// `"ubjson"`, `"flatbuffers"`), or `None` for reserved ids.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            1 => Some("json"),
            2 => Some("msgpack"),
            3 => Some("cbor"),
            4 => Some("ubjson"),
            5 => Some("flatbuffers"),
            _ => None,
        }
    }
}

impl fmt::Display for SerializerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{} (reserved)", self.0),
        }
    }
}

/// Error codes of a refusing router reply (`EEEE` nibble).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeErrorCode {
    /// 1: the requested serializer is not supported.
    SerializerUnsupported,
    /// 2: the announced maximum message length is unacceptable.
    MaxLengthUnacceptable,
    /// 3: use of reserved bits (an unsupported feature).
    ReservedBitsUsed,
    /// 4: the router has reached its maximum connection count.
    MaxConnectionCountReached,
    /// 0 (declared illegal by the spec) or 5..=15 (reserved for future errors).
    Other(u8),
}

impl HandshakeErrorCode {
    /// The code for the `EEEE` nibble value `code` (only the low 4 bits count).
    pub const fn from_nibble(code: u8) -> Self {
        match code & 0x0F {
            1 => Self::SerializerUnsupported,
            2 => Self::MaxLengthUnacceptable,
            3 => Self::ReservedBitsUsed,
            4 => Self::MaxConnectionCountReached,
            other => Self::Other(other),
        }
    }

    /// The `EEEE` nibble value of this code (0..=15).
    pub const fn nibble(self) -> u8 {
        match self {
            Self::SerializerUnsupported => 1,
            Self::MaxLengthUnacceptable => 2,
            Self::ReservedBitsUsed => 3,
            Self::MaxConnectionCountReached => 4,
            Self::Other(code) => code & 0x0F,
        }
    }
}

impl fmt::Display for HandshakeErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SerializerUnsupported => f.write_str("serializer unsupported (1)"),
            Self::MaxLengthUnacceptable => f.write_str("maximum message length unacceptable (2)"),
            Self::ReservedBitsUsed => f.write_str("use of reserved bits (3)"),
            Self::MaxConnectionCountReached => f.write_str("maximum connection count reached (4)"),
            Self::Other(code) => write!(f, "unknown error code ({})", code & 0x0F),
        }
    }
}

/// Clamp a max-length exponent into the range the 4-bit field can express.
fn clamp_exp(exp: u8) -> u8 {
    exp.clamp(MIN_MAX_LEN_EXP, MAX_MAX_LEN_EXP)
}

/// The announced length limit, in octets, for exponent `exp` (clamped).
fn len_for_exp(exp: u8) -> u32 {
    1u32 << clamp_exp(exp)
}

/// The 4 handshake octets for a hello with exponent `exp` (clamped) and
/// serializer `serializer`.
fn hello_bytes(exp: u8, serializer: SerializerId) -> [u8; 4] {
    let nibble = clamp_exp(exp) - MIN_MAX_LEN_EXP;
    [MAGIC, (nibble << 4) | (serializer.get() & 0x0F), 0, 0]
}

/// Checks magic and reserved octets common to every handshake message.
fn check_frame(bytes: [u8; 4]) -> Result<(), RawSocketError> {
    if bytes[0] != MAGIC {
        return Err(RawSocketError::BadMagic(bytes[0]));
    }
    if bytes[2] != 0 || bytes[3] != 0 {
        return Err(RawSocketError::ReservedHandshakeBits(bytes[2], bytes[3]));
    }
    Ok(())
}

/// The client's handshake request.
///
/// # Examples
///
/// Both sides of the 4-octet handshake:
///
/// ```
/// use autobahn::rawsocket::{accept_reply, parse_client_hello, ClientHandshake, SerializerId};
///
/// let client = ClientHandshake { max_len_exp: 24, serializer: SerializerId::MSGPACK };
/// let hello = client.to_bytes();
/// assert_eq!(hello[0], 0x7f); // the magic octet
///
/// // Router: parse the request, accept it announcing a 64 KiB limit (2^16).
/// let request = parse_client_hello(hello)?;
/// assert_eq!(request.max_len(), 16 << 20);
/// let reply = accept_reply(16, request.serializer);
///
/// // Client: the router echoed our serializer; never send it more than 64 KiB.
/// let router = client.check_reply(reply)?;
/// assert_eq!(router.max_len(), 64 * 1024);
/// # Ok::<(), autobahn::rawsocket::RawSocketError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHandshake {
    /// Power-of-two exponent of the largest message the client will
    /// *receive*: 9 (512 octets) ..= 24 (16 MiB). Values outside are clamped
    /// when encoded; [`ClientHandshake::max_len`] gives the length actually
    /// announced, which is the limit to give the [`FrameDecoder`](super::FrameDecoder).
    pub max_len_exp: u8,
    /// The serializer the client wants to use.
    pub serializer: SerializerId,
}

impl ClientHandshake {
    /// The 4 octets the client sends.
    pub fn to_bytes(&self) -> [u8; 4] {
        hello_bytes(self.max_len_exp, self.serializer)
    }

    /// The receive limit, in octets, this handshake announces (2^9..=2^24).
    pub fn max_len(&self) -> u32 {
        len_for_exp(self.max_len_exp)
    }

    /// Parses the router's reply like [`parse_server_reply`], and also checks
    /// that the router echoed the serializer this handshake requested.
    pub fn check_reply(&self, reply: [u8; 4]) -> Result<ServerHello, RawSocketError> {
        let hello = parse_server_reply(reply)?;
        if hello.serializer != self.serializer {
            return Err(RawSocketError::SerializerMismatch {
                requested: self.serializer.get(),
                got: hello.serializer.get(),
            });
        }
        Ok(hello)
    }
}

/// A router's accepting handshake reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello {
    /// Power-of-two exponent of the largest message the router will receive
    /// (9..=24 when parsed; clamped into that range when encoded).
    pub max_len_exp: u8,
    /// The serializer, echoed from the client's request.
    pub serializer: SerializerId,
}

impl ServerHello {
    /// The router's receive limit in octets: the client must not send larger
    /// messages. Pass it as `peer_max_len` to [`encode_frame`](super::encode_frame).
    pub fn max_len(&self) -> u32 {
        len_for_exp(self.max_len_exp)
    }

    /// The 4 octets of this reply (same as [`accept_reply`]).
    pub fn to_bytes(&self) -> [u8; 4] {
        hello_bytes(self.max_len_exp, self.serializer)
    }
}

/// Client side: parses the router's 4-octet reply.
///
/// An error reply (low nibble of the second octet zero) becomes
/// [`RawSocketError::Refused`] with its code. Use
/// [`ClientHandshake::check_reply`] to also verify the echoed serializer.
pub fn parse_server_reply(reply: [u8; 4]) -> Result<ServerHello, RawSocketError> {
    check_frame(reply)?;
    let high = reply[1] >> 4;
    let Some(serializer) = SerializerId::new(reply[1] & 0x0F) else {
        return Err(RawSocketError::Refused(HandshakeErrorCode::from_nibble(
            high,
        )));
    };
    Ok(ServerHello {
        max_len_exp: high + MIN_MAX_LEN_EXP,
        serializer,
    })
}

/// Router side: parses a client's 4-octet request.
///
/// On error the router should answer as follows, then close:
/// [`RawSocketError::BadMagic`]: nothing (not a RawSocket client — unless the
/// port also serves other protocols); [`RawSocketError::ReservedHandshakeBits`]:
/// `error_reply(HandshakeErrorCode::ReservedBitsUsed)`;
/// [`RawSocketError::IllegalSerializer`]:
/// `error_reply(HandshakeErrorCode::SerializerUnsupported)`.
/// Whether the (valid) serializer id is one the router supports is its own
/// decision.
pub fn parse_client_hello(hello: [u8; 4]) -> Result<ClientHandshake, RawSocketError> {
    check_frame(hello)?;
    let serializer = SerializerId::new(hello[1] & 0x0F).ok_or(RawSocketError::IllegalSerializer)?;
    Ok(ClientHandshake {
        max_len_exp: (hello[1] >> 4) + MIN_MAX_LEN_EXP,
        serializer,
    })
}

/// Router side: the accepting reply announcing the router's own receive limit
/// 2^`max_len_exp` (clamped to 9..=24) and echoing `serializer`.
pub fn accept_reply(max_len_exp: u8, serializer: SerializerId) -> [u8; 4] {
    hello_bytes(max_len_exp, serializer)
}

/// Router side: the refusing reply for `code`.
///
/// `HandshakeErrorCode::Other(0)` would encode the spec's illegal code 0; it
/// is sent as given (a client then sees `Refused(Other(0))`).
///
/// # Examples
///
/// ```
/// use autobahn::rawsocket::{error_reply, parse_server_reply, HandshakeErrorCode, RawSocketError};
///
/// let reply = error_reply(HandshakeErrorCode::SerializerUnsupported);
/// assert!(matches!(
///     parse_server_reply(reply),
///     Err(RawSocketError::Refused(HandshakeErrorCode::SerializerUnsupported))
/// ));
/// ```
pub fn error_reply(code: HandshakeErrorCode) -> [u8; 4] {
    [MAGIC, code.nibble() << 4, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_vectors() {
        // Spec: octet 2 = (L << 4) | S, e.g. 16 MiB + JSON => 0xF1.
        let h = ClientHandshake {
            max_len_exp: 24,
            serializer: SerializerId::JSON,
        };
        assert_eq!(h.to_bytes(), [0x7F, 0xF1, 0, 0]);
        assert_eq!(h.max_len(), 16 * 1024 * 1024);
        let h = ClientHandshake {
            max_len_exp: 9,
            serializer: SerializerId::MSGPACK,
        };
        assert_eq!(h.to_bytes(), [0x7F, 0x02, 0, 0]);
        assert_eq!(h.max_len(), 512);
        let h = ClientHandshake {
            max_len_exp: 20,
            serializer: SerializerId::CBOR,
        };
        assert_eq!(h.to_bytes(), [0x7F, 0xB3, 0, 0]);
        assert_eq!(h.max_len(), 1 << 20);
    }

    #[test]
    fn out_of_range_exponents_are_clamped_consistently() {
        let low = ClientHandshake {
            max_len_exp: 3,
            serializer: SerializerId::JSON,
        };
        assert_eq!(low.to_bytes(), [0x7F, 0x01, 0, 0]);
        assert_eq!(low.max_len(), 512);
        let high = ClientHandshake {
            max_len_exp: 255,
            serializer: SerializerId::JSON,
        };
        assert_eq!(high.to_bytes(), [0x7F, 0xF1, 0, 0]);
        assert_eq!(high.max_len(), 1 << 24);
    }

    #[test]
    fn serializer_ids() {
        assert_eq!(SerializerId::new(0), None);
        assert_eq!(SerializerId::new(16), None);
        assert_eq!(SerializerId::new(5), Some(SerializerId::FLATBUFFERS));
        assert_eq!(SerializerId::UBJSON.get(), 4);
        assert_eq!(SerializerId::CBOR.name(), Some("cbor"));
        assert_eq!(SerializerId::new(9).and_then(SerializerId::name), None);
        assert_eq!(SerializerId::MSGPACK.to_string(), "2 (msgpack)");
    }

    #[test]
    fn server_reply_accept() {
        let hello = parse_server_reply([0x7F, 0x52, 0, 0]).unwrap();
        assert_eq!(hello.max_len_exp, 14);
        assert_eq!(hello.max_len(), 16384);
        assert_eq!(hello.serializer, SerializerId::MSGPACK);
        // Reserved serializer ids parse; the client decides what to do.
        let hello = parse_server_reply([0x7F, 0x0F, 0, 0]).unwrap();
        assert_eq!(hello.serializer.get(), 15);
        assert_eq!(hello.max_len(), 512);
    }

    #[test]
    fn server_reply_errors_are_typed() {
        let cases = [
            (0x10, HandshakeErrorCode::SerializerUnsupported),
            (0x20, HandshakeErrorCode::MaxLengthUnacceptable),
            (0x30, HandshakeErrorCode::ReservedBitsUsed),
            (0x40, HandshakeErrorCode::MaxConnectionCountReached),
            (0x00, HandshakeErrorCode::Other(0)),
            (0xF0, HandshakeErrorCode::Other(15)),
        ];
        for (octet, code) in cases {
            assert_eq!(
                parse_server_reply([0x7F, octet, 0, 0]),
                Err(RawSocketError::Refused(code)),
                "octet {octet:#04x}"
            );
            assert_eq!(error_reply(code), [0x7F, octet, 0, 0]);
        }
    }

    #[test]
    fn server_reply_malformed() {
        assert_eq!(
            parse_server_reply(*b"HTTP"),
            Err(RawSocketError::BadMagic(b'H'))
        );
        assert_eq!(
            parse_server_reply([0x7F, 0xF1, 0, 1]),
            Err(RawSocketError::ReservedHandshakeBits(0, 1))
        );
        assert_eq!(
            parse_server_reply([0x7F, 0xF1, 0x80, 0]),
            Err(RawSocketError::ReservedHandshakeBits(0x80, 0))
        );
        // Magic is checked before everything else.
        assert_eq!(
            parse_server_reply([0x00, 0x10, 0xFF, 0xFF]),
            Err(RawSocketError::BadMagic(0))
        );
    }

    #[test]
    fn check_reply_verifies_serializer_echo() {
        let h = ClientHandshake {
            max_len_exp: 24,
            serializer: SerializerId::JSON,
        };
        assert_eq!(
            h.check_reply([0x7F, 0xF2, 0, 0]),
            Err(RawSocketError::SerializerMismatch {
                requested: 1,
                got: 2
            })
        );
        let ok = h.check_reply([0x7F, 0x71, 0, 0]).unwrap();
        assert_eq!(ok.max_len(), 1 << 16);
        assert_eq!(
            h.check_reply([0x7F, 0x40, 0, 0]),
            Err(RawSocketError::Refused(
                HandshakeErrorCode::MaxConnectionCountReached
            ))
        );
    }

    #[test]
    fn client_hello_parse() {
        let h = parse_client_hello([0x7F, 0xF1, 0, 0]).unwrap();
        assert_eq!(h.max_len_exp, 24);
        assert_eq!(h.serializer, SerializerId::JSON);
        let h = parse_client_hello([0x7F, 0x33, 0, 0]).unwrap();
        assert_eq!(h.max_len(), 4096);
        assert_eq!(h.serializer, SerializerId::CBOR);
        assert_eq!(
            parse_client_hello([0x7F, 0xF0, 0, 0]),
            Err(RawSocketError::IllegalSerializer)
        );
        assert_eq!(
            parse_client_hello(*b"GET "),
            Err(RawSocketError::BadMagic(b'G'))
        );
        assert_eq!(
            parse_client_hello([0x7F, 0xF1, 0, 0x01]),
            Err(RawSocketError::ReservedHandshakeBits(0, 1))
        );
    }

    #[test]
    fn every_second_octet_round_trips() {
        for octet in 0..=255u8 {
            let bytes = [0x7F, octet, 0, 0];
            match parse_client_hello(bytes) {
                Ok(h) => assert_eq!(h.to_bytes(), bytes),
                Err(e) => {
                    assert_eq!(octet & 0x0F, 0);
                    assert_eq!(e, RawSocketError::IllegalSerializer);
                }
            }
            match parse_server_reply(bytes) {
                Ok(s) => {
                    assert_eq!(s.to_bytes(), bytes);
                    assert_eq!(accept_reply(s.max_len_exp, s.serializer), bytes);
                }
                Err(RawSocketError::Refused(code)) => assert_eq!(error_reply(code), bytes),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn router_and_client_agree() {
        // A tiny in-test router: accepts JSON/MsgPack, limits clients to 64 KiB.
        fn router(hello: [u8; 4]) -> [u8; 4] {
            match parse_client_hello(hello) {
                Ok(h) if matches!(h.serializer.get(), 1 | 2) => accept_reply(16, h.serializer),
                Ok(_) | Err(RawSocketError::IllegalSerializer) => {
                    error_reply(HandshakeErrorCode::SerializerUnsupported)
                }
                Err(_) => error_reply(HandshakeErrorCode::ReservedBitsUsed),
            }
        }
        let client = ClientHandshake {
            max_len_exp: 24,
            serializer: SerializerId::MSGPACK,
        };
        let hello = client.check_reply(router(client.to_bytes())).unwrap();
        assert_eq!(hello.max_len(), 65536);
        let cbor = ClientHandshake {
            max_len_exp: 24,
            serializer: SerializerId::CBOR,
        };
        assert_eq!(
            cbor.check_reply(router(cbor.to_bytes())),
            Err(RawSocketError::Refused(
                HandshakeErrorCode::SerializerUnsupported
            ))
        );
    }

    #[test]
    fn error_code_nibbles() {
        for n in 0..=15u8 {
            assert_eq!(HandshakeErrorCode::from_nibble(n).nibble(), n);
        }
        assert_eq!(HandshakeErrorCode::Other(0x35).nibble(), 5);
        assert!(HandshakeErrorCode::MaxLengthUnacceptable
            .to_string()
            .contains("length"));
    }
}
