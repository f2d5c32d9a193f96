//! A bounds-checked cursor over a received payload, shared by the hand-written
//! MessagePack and CBOR decoders. Every read checks the remaining length
//! first, so a lying length header fails instead of allocating or panicking.

/// Why a binary payload could not be decoded.
pub(super) type DecodeError = &'static str;

pub(super) const EOF: DecodeError = "unexpected end of input";
pub(super) const TOO_DEEP: DecodeError = "nesting too deep";
pub(super) const BAD_UTF8: DecodeError = "invalid UTF-8 in string";
pub(super) const KEY_NOT_STRING: DecodeError = "dict key is not a string";
pub(super) const TRAILING: DecodeError = "trailing bytes after message";

/// Upper bound for capacity taken from a length header (elements are pushed
/// as they arrive, so a lie costs nothing).
pub(super) const MAX_PREALLOC: usize = 64;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(EOF)?;
        self.buf = rest;
        Ok(b)
    }

    /// The next `n` bytes; `n` may be any peer-chosen number.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(EOF);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self.buf.split_first_chunk::<N>().ok_or(EOF)?;
        self.buf = rest;
        Ok(*head)
    }

    pub(super) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_be_bytes)
    }

    /// `n` bytes as an owned UTF-8 string.
    pub(super) fn string(&mut self, n: usize) -> Result<String, DecodeError> {
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| BAD_UTF8)
    }

    /// Capacity to reserve for a container claiming `n` elements.
    pub(super) fn capacity(&self, n: usize) -> usize {
        n.min(MAX_PREALLOC).min(self.buf.len())
    }
}

/// One level down the nesting budget, or [`TOO_DEEP`].
pub(super) fn descend(remaining: usize) -> Result<usize, DecodeError> {
    remaining.checked_sub(1).ok_or(TOO_DEEP)
}
