//! What the pull API ([`WebSocket`](super::WebSocket)) receives and sends.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// A WebSocket message.
///
/// Pings and pongs are answered and matched by the connection itself; they are handed
/// out only when asked for ([`WebSocket::receive_control_frames`](super::WebSocket::receive_control_frames)).
/// The closing handshake is not a message: [`WebSocket::recv`](super::WebSocket::recv)
/// returns `None` once the connection has closed, and
/// [`WebSocket::close`](super::WebSocket::close) starts it.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::Message;
///
/// let text = Message::from("hello");
/// assert_eq!(text.as_text(), Some("hello"));
/// let binary = Message::from(vec![1u8, 2, 3]);
/// assert_eq!(binary.payload().as_ref(), &[1, 2, 3]);
/// assert!(binary.as_text().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (already answered with a pong).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
}

impl Message {
    /// The payload's bytes (UTF-8 for text).
    pub fn payload(&self) -> &Bytes {
        match self {
            Message::Text(t) => &t.0,
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
        }
    }

    /// The payload, consuming the message.
    pub fn into_payload(self) -> Bytes {
        match self {
            Message::Text(t) => t.0,
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
        }
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// Bytes that are valid UTF-8: a text message's payload, shared without copying.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::Utf8Bytes;
///
/// let text = Utf8Bytes::from("grüße");
/// assert_eq!(text.len(), 7); // bytes, as `str::len`
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are valid UTF-8. Every way to build a `Utf8Bytes` ensures it:
        // `From<String>`/`From<&str>` take a `str`, `TryFrom<Bytes>` and `from_received`
        // validate, `Default` is empty, and `from_validated_unchecked` is `unsafe` with
        // that as its contract. The field is private and `Bytes` is immutable, so nothing
        // changes the bytes afterwards. (Checking again here cost ~54k instructions per
        // 64 KiB of text, about 4× the rest of its echo; benches/README.md, 2026-12-08.)
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The UTF-8 bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Wraps received text, replacing invalid sequences (which the receiver lets through
    /// only with `utf8_validate_incoming` off) with U+FFFD.
    pub(crate) fn from_received(bytes: Bytes) -> Self {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Utf8Bytes(bytes),
            Err(_) => Utf8Bytes(Bytes::from(String::from_utf8_lossy(&bytes).into_owned())),
        }
    }

    /// Wraps received text that the receiver has validated already, without looking at
    /// it again: each text is validated once, as it arrives.
    ///
    /// # Safety
    ///
    /// `bytes` must be valid UTF-8.
    pub(crate) unsafe fn from_validated_unchecked(bytes: Bytes) -> Self {
        debug_assert!(
            std::str::from_utf8(&bytes).is_ok(),
            "text handed out as validated is not UTF-8"
        );
        Utf8Bytes(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(s.into())
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    fn try_from(b: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&b)?;
        Ok(Utf8Bytes(b))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` trusts the bytes: every way to build a `Utf8Bytes` must give valid UTF-8.
    #[test]
    fn every_constructor_gives_valid_utf8() {
        let invalid: &[&[u8]] = &[
            b"\xff",
            b"a\xc3",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"ok\xf4\x90",
        ];
        let built = [
            Utf8Bytes::default(),
            Utf8Bytes::from("grüße"),
            Utf8Bytes::from(String::from("€5 😀")),
            Utf8Bytes::try_from(Bytes::from_static("naïve".as_bytes())).unwrap(),
            Utf8Bytes::from_received(Bytes::from_static("café".as_bytes())),
            // SAFETY: valid UTF-8.
            unsafe { Utf8Bytes::from_validated_unchecked(Bytes::from_static(b"plain")) },
        ];
        for text in &built {
            assert!(std::str::from_utf8(&text.clone().into_bytes()).is_ok());
            assert_eq!(text.as_str().as_bytes(), &text.clone().into_bytes()[..]);
        }
        assert_eq!(built[1].as_str(), "grüße");
        assert_eq!(&*built[2], "€5 😀");
        assert_eq!(built[3].to_string(), "naïve");
        assert_eq!(format!("{:?}", built[4]), "\"café\"");
        for bytes in invalid {
            assert!(
                Utf8Bytes::try_from(Bytes::from_static(bytes)).is_err(),
                "{bytes:x?}"
            );
            // Received text that was not validated: invalid sequences become U+FFFD.
            let lossy = Utf8Bytes::from_received(Bytes::from_static(bytes));
            assert_eq!(lossy.as_str(), String::from_utf8_lossy(bytes));
            assert!(lossy.as_str().contains('\u{fffd}'), "{bytes:x?}");
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not UTF-8")]
    fn unchecked_construction_is_checked_in_debug_builds() {
        // SAFETY: not upheld on purpose; the debug assertion stops it before any use.
        let _ = unsafe { Utf8Bytes::from_validated_unchecked(Bytes::from_static(b"\xff")) };
    }
}
