//! A bounds-checked cursor over a received payload, shared by the hand-written
//! MessagePack and CBOR decoders. Every read checks the remaining length
//! first, so a lying length header fails instead of allocating or panicking.

use crate::wamp::value::budget::{DecodeBudget, Exceeded};
use crate::wamp::value::{Dict, Value};

/// Why a binary payload could not be decoded.
pub(super) type DecodeError = &'static str;

pub(super) const EOF: DecodeError = "unexpected end of input";
pub(super) const TOO_DEEP: DecodeError = "nesting too deep";
pub(super) const BAD_UTF8: DecodeError = "invalid UTF-8 in string";
pub(super) const KEY_NOT_STRING: DecodeError = "dict key is not a string";
pub(super) const TRAILING: DecodeError = "trailing bytes after message";
/// The text of a spent [`DecodeBudget`]; the serializers report it as
/// `SerializationError::TooLarge` (they check [`DecodeBudget::exceeded`]).
pub(super) const OVER_BUDGET: DecodeError = "decoded message exceeds max_decoded_size";

/// Upper bound for capacity taken from a length header (elements are pushed
/// as they arrive, so a lie costs nothing).
pub(super) const MAX_PREALLOC: usize = 64;

pub(super) struct Reader<'a, 'b> {
    buf: &'a [u8],
    budget: &'b DecodeBudget,
    /// List slots that length headers may still reserve ahead of their
    /// elements. Every element takes at least one input byte, so an honest
    /// payload never declares more slots in total than it has bytes; a
    /// lying one (nested lists each claiming [`MAX_PREALLOC`]) is held to
    /// one slot per byte overall instead of `MAX_PREALLOC` per level.
    prealloc_left: std::cell::Cell<usize>,
}

impl<'a, 'b> Reader<'a, 'b> {
    pub(super) fn new(buf: &'a [u8], budget: &'b DecodeBudget) -> Self {
        Reader {
            buf,
            budget,
            prealloc_left: std::cell::Cell::new(buf.len()),
        }
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
        let text = std::str::from_utf8(bytes).map_err(|_| BAD_UTF8)?;
        self.budget.bytes(n).map_err(over)?;
        Ok(text.to_owned())
    }

    /// `n` bytes as owned binary data.
    pub(super) fn byte_vec(&mut self, n: usize) -> Result<Vec<u8>, DecodeError> {
        let bytes = self.take(n)?;
        self.budget.bytes(n).map_err(over)?;
        Ok(bytes.to_vec())
    }

    /// A list for a container claiming `n` elements: a lying header reserves
    /// at most [`MAX_PREALLOC`] slots, never more than the payload's bytes
    /// over the whole decode, and those are paid for.
    pub(super) fn list(&self, n: usize) -> Result<Vec<Value>, DecodeError> {
        let left = self.prealloc_left.get();
        let capacity = n.min(MAX_PREALLOC).min(self.buf.len()).min(left);
        self.prealloc_left.set(left - capacity);
        self.budget.list_with_capacity(capacity).map_err(over)
    }

    /// Appends to a list, paying for its growth.
    pub(super) fn push(&self, list: &mut Vec<Value>, value: Value) -> Result<(), DecodeError> {
        self.budget.push(list, value).map_err(over)
    }

    /// Inserts into a dict, paying for its nodes.
    pub(super) fn insert(
        &self,
        dict: &mut Dict,
        key: String,
        value: Value,
    ) -> Result<(), DecodeError> {
        self.budget.insert(dict, key, value).map_err(over)
    }

    /// Makes room to append `extra` bytes to `buf`, paying for the growth.
    pub(super) fn grow(&self, buf: &mut Vec<u8>, extra: usize) -> Result<(), DecodeError> {
        self.budget.grow_bytes(buf, extra).map_err(over)
    }
}

fn over(_: Exceeded) -> DecodeError {
    OVER_BUDGET
}

/// One level down the nesting budget, or [`TOO_DEEP`].
pub(super) fn descend(remaining: usize) -> Result<usize, DecodeError> {
    remaining.checked_sub(1).ok_or(TOO_DEEP)
}
