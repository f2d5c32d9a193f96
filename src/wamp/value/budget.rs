//! A memory budget for decoding one received payload into [`Value`]s.
//!
//! The wire forms are much denser than the decoded tree: a MessagePack or
//! CBOR list of one-entry dicts costs 3 bytes per entry on the wire and a
//! `BTreeMap` leaf node (over 600 bytes) per entry once decoded, so without a
//! budget a 16 MiB message from a hostile peer could take gigabytes. The
//! decoders charge what they are about to allocate *before* allocating it,
//! and stop with [`DecodeBudget::exceeded`] set once the total would pass the
//! limit. The charges are upper bounds of the requested heap bytes (checked
//! against a counting allocator in the tests and the fuzz targets), so the
//! limit bounds the memory a payload can cost, whatever its shape.

use std::cell::Cell;
use std::mem::size_of;

use super::{Dict, Value};

/// Entries of a `BTreeMap` node (the standard library's `B = 6`: 2B - 1).
const NODE_CAPACITY: usize = 11;
/// Fewest entries a non-root node keeps after a split (B - 1).
const NODE_MIN_LEN: usize = 5;
/// Heap size of a `BTreeMap<String, Value>` leaf node: keys and values plus
/// the parent pointer and two `u16`s (rounded up).
const LEAF_NODE: usize = NODE_CAPACITY * (size_of::<String>() + size_of::<Value>()) + 16;
/// An internal node: a leaf plus its child pointers.
const INTERNAL_NODE: usize = LEAF_NODE + (NODE_CAPACITY + 1) * size_of::<usize>();
/// What each dict entry after the first adds at most, amortised: every
/// further leaf holds at least [`NODE_MIN_LEN`] entries, every further
/// internal node at least `NODE_MIN_LEN + 1` children.
const DICT_ENTRY: usize =
    LEAF_NODE.div_ceil(NODE_MIN_LEN) + INTERNAL_NODE.div_ceil(NODE_MIN_LEN * (NODE_MIN_LEN + 1));
// Every `NODE_MIN_LEN` entries pay at least for a new leaf.
const _: () = assert!(DICT_ENTRY * NODE_MIN_LEN >= LEAF_NODE);

/// Smallest capacity a list gets when it first grows.
const MIN_LIST_GROWTH: usize = 4;

/// How many bytes decoding may still allocate for one received payload.
#[derive(Debug)]
pub(crate) struct DecodeBudget {
    limit: usize,
    left: Cell<usize>,
    exceeded: Cell<bool>,
}

impl DecodeBudget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            left: Cell::new(limit),
            exceeded: Cell::new(false),
        }
    }

    /// The limit this budget started with.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// `true` once a charge failed (the decoders turn that into
    /// `SerializationError::TooLarge`, whatever error text they carried).
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    /// Takes `bytes` from the budget, or fails (and remembers failing).
    pub(crate) fn charge(&self, bytes: usize) -> Result<(), Exceeded> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(Exceeded)
            }
        }
    }

    /// An empty list with room for `n` elements, paid for.
    pub(crate) fn list_with_capacity(&self, n: usize) -> Result<Vec<Value>, Exceeded> {
        self.charge(n.saturating_mul(size_of::<Value>()))?;
        Ok(Vec::with_capacity(n))
    }

    /// Pushes `value`, paying for the growth first if the list is full (the
    /// growth is made here, so the charge matches it exactly).
    pub(crate) fn push(&self, list: &mut Vec<Value>, value: Value) -> Result<(), Exceeded> {
        if list.len() == list.capacity() {
            let more = list.capacity().max(MIN_LIST_GROWTH);
            self.charge(more.saturating_mul(size_of::<Value>()))?;
            list.reserve_exact(more);
        }
        list.push(value);
        Ok(())
    }

    /// Inserts an entry, paying for its share of the map's nodes first (the
    /// key's own bytes are paid by whoever built it).
    pub(crate) fn insert(
        &self,
        dict: &mut Dict,
        key: String,
        value: Value,
    ) -> Result<(), Exceeded> {
        self.charge(if dict.is_empty() {
            LEAF_NODE
        } else {
            DICT_ENTRY
        })?;
        dict.insert(key, value);
        Ok(())
    }

    /// Pays for an owned copy of `len` bytes (a string, binary data, or
    /// growth of an indefinite-length CBOR string).
    pub(crate) fn bytes(&self, len: usize) -> Result<(), Exceeded> {
        self.charge(len)
    }

    /// Pays for appending `extra` bytes to a buffer with `len` used of `cap`,
    /// growing it here (doubling) so the charge matches the allocation.
    pub(crate) fn grow_bytes(&self, buf: &mut Vec<u8>, extra: usize) -> Result<(), Exceeded> {
        let needed = buf.len().saturating_add(extra);
        if needed > buf.capacity() {
            let new_cap = needed.max(buf.capacity().saturating_mul(2));
            self.charge(new_cap - buf.capacity())?;
            buf.reserve_exact(new_cap - buf.len());
        }
        Ok(())
    }
}

/// Heap bytes `value` holds, estimated as decoding charges them (lists count their
/// length, not their spare capacity, so a decoded list may hold up to twice its
/// share). Used to bound in bytes what received messages waiting for the application
/// may hold.
pub(crate) fn value_heap_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Integer(_) | Value::UInteger(_) | Value::Float(_) => {
            0
        }
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => list_heap_size(l),
        Value::Dict(d) => dict_heap_size(d),
    }
}

/// Heap bytes of a list of values (see [`value_heap_size`]).
pub(crate) fn list_heap_size(list: &[Value]) -> usize {
    list.iter().fold(std::mem::size_of_val(list), |n, v| {
        n.saturating_add(value_heap_size(v))
    })
}

/// Heap bytes of a dict (see [`value_heap_size`]).
pub(crate) fn dict_heap_size(dict: &Dict) -> usize {
    let nodes = match dict.len() {
        0 => 0,
        n => LEAF_NODE + (n - 1) * DICT_ENTRY,
    };
    dict.iter().fold(nodes, |n, (k, v)| {
        n.saturating_add(k.len()).saturating_add(value_heap_size(v))
    })
}

/// The budget of a [`DecodeBudget`] is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exceeded;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_stop_at_the_limit_and_are_remembered() {
        let b = DecodeBudget::new(100);
        assert_eq!(b.charge(60), Ok(()));
        assert!(!b.exceeded());
        assert_eq!(b.charge(41), Err(Exceeded));
        assert!(b.exceeded());
        // A failed charge takes nothing: 40 bytes are still there.
        assert_eq!(b.charge(40), Ok(()));
        assert_eq!(b.limit(), 100);
    }

    #[test]
    fn list_growth_is_charged_before_it_happens() {
        let b = DecodeBudget::new(4 * size_of::<Value>());
        let mut list = b.list_with_capacity(0).unwrap();
        for _ in 0..4 {
            b.push(&mut list, Value::Null).unwrap();
        }
        assert_eq!(list.capacity(), 4);
        assert_eq!(b.push(&mut list, Value::Null), Err(Exceeded));
        assert_eq!(list.capacity(), 4, "no growth without budget");
    }

    #[test]
    fn byte_buffers_grow_by_doubling_within_the_budget() {
        let b = DecodeBudget::new(64);
        let mut buf = Vec::new();
        b.grow_bytes(&mut buf, 10).unwrap();
        buf.extend_from_slice(&[0; 10]);
        b.grow_bytes(&mut buf, 1).unwrap();
        assert_eq!(buf.capacity(), 20);
        assert_eq!(b.grow_bytes(&mut buf, 100), Err(Exceeded));
    }

    #[test]
    fn heap_size_counts_strings_lists_and_dict_nodes() {
        assert_eq!(value_heap_size(&Value::Integer(7)), 0);
        assert_eq!(value_heap_size(&Value::from("abc")), 3);
        let list = Value::List(vec![Value::from("ab"), Value::Null]);
        assert_eq!(value_heap_size(&list), 2 * size_of::<Value>() + 2);
        let mut d = Dict::new();
        d.insert("k".into(), Value::bytes(vec![0; 10]));
        assert_eq!(dict_heap_size(&d), LEAF_NODE + 1 + 10);
        d.insert("l".into(), Value::Null);
        assert_eq!(dict_heap_size(&d), LEAF_NODE + DICT_ENTRY + 2 + 10);
    }
}
