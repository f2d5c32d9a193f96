//! A serde `Serializer` writing UBJSON, so messages encode straight from
//! [`Message`](crate::wamp::message::Message) without a `Value` tree.
//!
//! Containers are written unsized (`[`…`]`, `{`…`}`), which every decoder
//! reads and needs no count up front. Types beyond the WAMP value model map
//! as in `serde_json`: structs and maps are dicts (string keys only),
//! sequences and tuples lists, unit variants their name, other variants a
//! one-entry dict.

use std::fmt;

use serde::ser::{self, Serialize};

use super::UbjsonDialect;

/// Why a value could not be encoded (a non-string dict key).
#[derive(Debug)]
pub(super) struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

fn key_not_string() -> EncodeError {
    EncodeError("dict keys must be strings".into())
}

/// Writes one UBJSON value into `out`.
pub(super) struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    dialect: UbjsonDialect,
    /// The next string is a dict key: written without the `S` marker, and
    /// anything but a string is an error.
    key: bool,
}

impl<'a> Encoder<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>, dialect: UbjsonDialect) -> Self {
        Encoder {
            out,
            dialect,
            key: false,
        }
    }

    /// Starts a value with `marker`; fails where a dict key is expected.
    fn marker(&mut self, marker: u8) -> Result<(), EncodeError> {
        if self.key {
            return Err(key_not_string());
        }
        self.out.push(marker);
        Ok(())
    }

    fn number<const N: usize>(&mut self, marker: u8, be: [u8; N]) -> Result<(), EncodeError> {
        self.marker(marker)?;
        if self.dialect.little_endian() {
            self.out.extend(be.iter().rev());
        } else {
            self.out.extend_from_slice(&be);
        }
        Ok(())
    }

    /// An integer in the smallest type the dialect has for it.
    fn int(&mut self, n: i64) -> Result<(), EncodeError> {
        let bjdata = self.dialect == UbjsonDialect::BJData;
        // The casts below are exact: each arm checked the range.
        match n {
            0..=0xff => self.number(b'U', [n as u8]),
            -0x80..=-1 => self.number(b'i', [n as i8 as u8]),
            0x100..=0xffff if bjdata => self.number(b'u', (n as u16).to_be_bytes()),
            -0x8000..=0x7fff => self.number(b'I', (n as i16).to_be_bytes()),
            0x1_0000..=0xffff_ffff if bjdata => self.number(b'm', (n as u32).to_be_bytes()),
            -0x8000_0000..=0x7fff_ffff => self.number(b'l', (n as i32).to_be_bytes()),
            0.. if bjdata => self.number(b'M', n.to_be_bytes()),
            _ => self.number(b'L', n.to_be_bytes()),
        }
    }

    fn uint(&mut self, n: u64) -> Result<(), EncodeError> {
        if let Ok(i) = i64::try_from(n) {
            return self.int(i);
        }
        match self.dialect {
            UbjsonDialect::BJData => self.number(b'M', n.to_be_bytes()),
            // Draft 12 has no unsigned 64-bit type: a high-precision number.
            UbjsonDialect::Draft12 => {
                self.marker(b'H')?;
                self.counted(n.to_string().as_bytes())
            }
        }
    }

    /// A length and the bytes (strings, keys, high-precision numbers).
    fn counted(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.length(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn length(&mut self, n: usize) -> Result<(), EncodeError> {
        let n = i64::try_from(n).map_err(|_| EncodeError("length beyond i64".into()))?;
        self.int(n)
    }

    fn text(&mut self, s: &str) -> Result<(), EncodeError> {
        if std::mem::replace(&mut self.key, false) {
            return self.counted(s.as_bytes());
        }
        self.marker(b'S')?;
        self.counted(s.as_bytes())
    }

    fn open(&mut self, marker: u8) -> Result<Compound<'_, 'a>, EncodeError> {
        self.marker(marker)?;
        Ok(Compound {
            enc: self,
            close: &[],
        })
    }

    /// `{variant: ` … the caller's container, closed with `close`.
    fn variant(
        &mut self,
        variant: &str,
        marker: u8,
        close: &'static [u8],
    ) -> Result<Compound<'_, 'a>, EncodeError> {
        self.marker(b'{')?;
        self.counted(variant.as_bytes())?;
        self.out.push(marker);
        Ok(Compound { enc: self, close })
    }
}

/// An open list or dict; `close` follows its end marker (a variant's `}`).
pub(super) struct Compound<'e, 'a> {
    enc: &'e mut Encoder<'a>,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut *self.enc)
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        // Only a string clears the flag; anything else fails at its marker.
        self.enc.key = true;
        let result = key.serialize(&mut *self.enc);
        self.enc.key = false;
        result
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), EncodeError> {
        self.enc.counted(name.as_bytes())?;
        self.element(value)
    }

    fn finish(self, end: u8) -> Result<(), EncodeError> {
        self.enc.out.push(end);
        self.enc.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'e, 'a> ser::Serializer for &'e mut Encoder<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Compound<'e, 'a>;
    type SerializeTuple = Compound<'e, 'a>;
    type SerializeTupleStruct = Compound<'e, 'a>;
    type SerializeTupleVariant = Compound<'e, 'a>;
    type SerializeMap = Compound<'e, 'a>;
    type SerializeStruct = Compound<'e, 'a>;
    type SerializeStructVariant = Compound<'e, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.marker(if v { b'T' } else { b'F' })
    }
    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => self.int(i),
            (_, Ok(u)) => self.uint(u),
            _ => Err(EncodeError("integer out of the 64-bit range".into())),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        self.uint(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        let v =
            u64::try_from(v).map_err(|_| EncodeError("integer out of the 64-bit range".into()))?;
        self.uint(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        self.number(b'D', v.to_bits().to_be_bytes())
    }
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.text(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        let element = match self.dialect {
            UbjsonDialect::BJData => b'B',
            UbjsonDialect::Draft12 => b'U',
        };
        self.marker(b'[')?;
        self.out.extend_from_slice(&[b'$', element, b'#']);
        self.counted(v)
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.marker(b'Z')
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.marker(b'Z')
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        self.marker(b'Z')
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.marker(b'{')?;
        self.counted(variant.as_bytes())?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'e, 'a>, EncodeError> {
        self.open(b'[')
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'e, 'a>, EncodeError> {
        self.open(b'[')
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'e, 'a>, EncodeError> {
        self.open(b'[')
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'e, 'a>, EncodeError> {
        self.variant(variant, b'[', b"}")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'e, 'a>, EncodeError> {
        self.open(b'{')
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'e, 'a>, EncodeError> {
        self.open(b'{')
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'e, 'a>, EncodeError> {
        self.variant(variant, b'{', b"}")
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.element(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.element(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.element(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.element(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b']')
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.element(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.field(name, value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.field(name, value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish(b'}')
    }
}
