//! A small UBJSON/BJData parser straight into [`Value`], checking every
//! length and the nesting depth before allocating (see
//! [`UbjsonSerializer`](super::UbjsonSerializer) for what it accepts).

use super::UbjsonDialect;
use crate::wamp::serializer::cbor::f16_to_f64;
use crate::wamp::serializer::reader::{descend, DecodeError, Reader, EOF, TRAILING};
use crate::wamp::value::budget::DecodeBudget;
use crate::wamp::value::{Dict, Value, MAX_DEPTH};

const NOOP: u8 = b'N';
const TYPE: u8 = b'$';
const COUNT: u8 = b'#';

/// Decode exactly one UBJSON value filling `payload`, within `budget`.
pub(crate) fn decode_value_exact(
    payload: &[u8],
    budget: &DecodeBudget,
    dialect: UbjsonDialect,
) -> Result<Value, DecodeError> {
    let mut d = Decoder {
        r: Reader::new(payload, budget),
        little: dialect.little_endian(),
        empty_left: payload.len(),
    };
    let value = d.value(MAX_DEPTH)?;
    if d.r.is_empty() {
        Ok(value)
    } else {
        Err(TRAILING)
    }
}

struct Decoder<'a, 'b> {
    r: Reader<'a, 'b>,
    /// Multi-byte numbers are little-endian (BJData).
    little: bool,
    /// Elements that typed containers of `Z`, `T` or `F` may still hold.
    /// They take no input bytes, so without this bound ten bytes could
    /// claim 2^60 nulls; like every other element, each must cost a byte.
    empty_left: usize,
}

/// The header of an optimized container: element type and count, if given.
struct Header {
    element: Option<u8>,
    count: Option<usize>,
}

impl Decoder<'_, '_> {
    /// The next `N` bytes in big-endian order.
    fn number<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut bytes: [u8; N] = self.r.take(N)?.try_into().map_err(|_| EOF)?;
        if self.little {
            bytes.reverse();
        }
        Ok(bytes)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let marker = self.r.u8()?;
        self.value_of(marker, depth)
    }

    /// The value that `marker` (already read) starts.
    fn value_of(&mut self, marker: u8, depth: usize) -> Result<Value, DecodeError> {
        if let Some(n) = self.integer(marker)? {
            return Ok(n);
        }
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'h' => Value::Float(f16_to_f64(u16::from_be_bytes(self.number()?))),
            b'd' => Value::Float(f32::from_be_bytes(self.number()?).into()),
            b'D' => Value::Float(f64::from_be_bytes(self.number()?)),
            b'H' => {
                let n = self.length()?;
                high_precision(self.r.take(n)?)?
            }
            b'C' => match self.r.peek() {
                Some(0..=0x7f) => Value::String(self.r.string(1)?),
                Some(_) => return Err("char beyond ASCII"),
                None => return Err(EOF),
            },
            b'S' => {
                let n = self.length()?;
                Value::String(self.r.string(n)?)
            }
            b'[' => self.array(depth)?,
            b'{' => self.object(depth)?,
            NOOP => return Err("no-op where a value is required"),
            _ => return Err("invalid marker"),
        })
    }

    /// The integer `marker` starts, or `None` if it is no integer marker.
    fn integer(&mut self, marker: u8) -> Result<Option<Value>, DecodeError> {
        Ok(Some(match marker {
            b'i' => Value::Integer(i8::from_be_bytes(self.number()?).into()),
            b'U' | b'B' => Value::Integer(u8::from_be_bytes(self.number()?).into()),
            b'I' => Value::Integer(i16::from_be_bytes(self.number()?).into()),
            b'u' => Value::Integer(u16::from_be_bytes(self.number()?).into()),
            b'l' => Value::Integer(i32::from_be_bytes(self.number()?).into()),
            b'm' => Value::Integer(u32::from_be_bytes(self.number()?).into()),
            b'L' => Value::Integer(i64::from_be_bytes(self.number()?)),
            b'M' => Value::from_u64(u64::from_be_bytes(self.number()?)),
            _ => return Ok(None),
        }))
    }

    /// A length or count: an integer, not negative. One beyond `usize`
    /// could never be satisfied by the input anyway.
    fn length(&mut self) -> Result<usize, DecodeError> {
        let marker = self.r.u8()?;
        match self.integer(marker)? {
            Some(Value::Integer(n)) if n < 0 => Err("negative length"),
            Some(Value::Integer(n)) => usize::try_from(n).map_err(|_| EOF),
            Some(_) => Err(EOF),
            None => Err("integer marker expected for a length"),
        }
    }

    /// The optional `$type` and `#count` after `[` or `{`.
    fn header(&mut self) -> Result<Header, DecodeError> {
        let element = if self.r.peek() == Some(TYPE) {
            self.r.u8()?;
            match self.r.u8()? {
                NOOP | TYPE | COUNT | b']' | b'}' => return Err("invalid container type"),
                t => Some(t),
            }
        } else {
            None
        };
        let count = if self.r.peek() == Some(COUNT) {
            self.r.u8()?;
            if self.r.peek() == Some(b'[') {
                return Err("N-dimensional arrays are not supported");
            }
            Some(self.length()?)
        } else if element.is_some() {
            return Err("container type without count");
        } else {
            None
        };
        Ok(Header { element, count })
    }

    /// One element of a container: of the declared type, or any value.
    fn element(&mut self, element: Option<u8>, depth: usize) -> Result<Value, DecodeError> {
        match element {
            Some(marker) => self.value_of(marker, depth),
            None => self.value(depth),
        }
    }

    /// Skips no-ops; the next byte, not consumed.
    fn skip_noops(&mut self) -> Result<u8, DecodeError> {
        loop {
            match self.r.peek() {
                Some(NOOP) => self.r.u8()?,
                Some(b) => return Ok(b),
                None => return Err(EOF),
            };
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let Header { element, count } = self.header()?;
        // A byte array is WAMP's bytes, a scalar as in CBOR and MessagePack:
        // it takes no nesting level, so what they decode, this decodes too.
        if let (Some(b'U' | b'B'), Some(n)) = (element, count) {
            return Ok(Value::Bytes(self.r.byte_vec(n)?));
        }
        let child = descend(depth)?;
        let Some(n) = count else {
            let mut list = Vec::new();
            while self.skip_noops()? != b']' {
                let value = self.value(child)?;
                self.r.push(&mut list, value)?;
            }
            self.r.u8()?;
            return Ok(Value::List(list));
        };
        if let Some(b'Z' | b'T' | b'F') = element {
            self.empty_left = self
                .empty_left
                .checked_sub(n)
                .ok_or("more payload-less elements than payload bytes")?;
        }
        let mut list = self.r.list(n)?;
        for _ in 0..n {
            if element.is_none() {
                self.skip_noops()?;
            }
            let value = self.element(element, child)?;
            self.r.push(&mut list, value)?;
        }
        Ok(Value::List(list))
    }

    fn object(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let child = descend(depth)?;
        let Header { element, count } = self.header()?;
        let mut dict = Dict::new();
        match count {
            Some(n) => {
                for _ in 0..n {
                    let key = self.key()?;
                    let value = self.element(element, child)?;
                    self.r.insert(&mut dict, key, value)?;
                }
            }
            None => {
                while self.skip_noops()? != b'}' {
                    let key = self.key()?;
                    let value = self.value(child)?;
                    self.r.insert(&mut dict, key, value)?;
                }
                self.r.u8()?;
            }
        }
        Ok(Value::Dict(dict))
    }

    /// A dict key: a length and UTF-8 bytes, no `S` marker.
    fn key(&mut self) -> Result<String, DecodeError> {
        let n = self.length()?;
        self.r.string(n)
    }
}

/// A high-precision number (a JSON number as text): an integer if it is
/// one within 64 bits, a float otherwise.
fn high_precision(text: &[u8]) -> Result<Value, DecodeError> {
    const BAD: DecodeError = "invalid high-precision number";
    let text = std::str::from_utf8(text).map_err(|_| BAD)?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, rest) = digits.split_at(
        digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len()),
    );
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return Err(BAD);
    }
    if rest.is_empty() {
        return match text.parse::<i128>() {
            Ok(n) => i64::try_from(n)
                .map(Value::Integer)
                .or_else(|_| u64::try_from(n).map(Value::UInteger))
                .map_err(|_| "integer out of the 64-bit range"),
            Err(_) => Err("integer out of the 64-bit range"),
        };
    }
    let (fraction, exponent) = match rest.find(['e', 'E']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let fraction_ok = fraction.is_empty()
        || fraction
            .strip_prefix('.')
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let exponent_ok = exponent.is_empty() || {
        let e = &exponent[1..];
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    };
    if !(fraction_ok && exponent_ok) {
        return Err(BAD);
    }
    text.parse::<f64>().map(Value::Float).map_err(|_| BAD)
}
