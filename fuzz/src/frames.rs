//! Building peer frames and reading back every frame our side wrote (data frames
//! included), for the permessage-deflate targets.

use autobahn::websocket::frame::{FrameHeader, OpCode};
use autobahn::websocket::mask::apply_mask;

/// The masking key a fuzzed peer uses.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame as a peer would send it; masked with [`KEY`] when `masked`.
pub fn frame(fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8], masked: bool) -> Vec<u8> {
    let h = FrameHeader {
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: masked.then_some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::with_capacity(14 + payload.len());
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if masked {
        apply_mask(&mut out[start..], KEY);
    }
    out
}

/// Splits our output into `(header, unmasked payload)`; anything malformed (a
/// truncated frame, a header that does not parse) is a bug of the sender.
pub fn read_all(mut out: &[u8], expect_masked: bool) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let (h, n) = match FrameHeader::parse(out) {
            Ok(Some(x)) => x,
            other => panic!("our output does not start with a frame header: {other:?}"),
        };
        assert!(!h.rsv2 && !h.rsv3, "reserved bits in {h:?}");
        assert_eq!(h.mask.is_some(), expect_masked, "masking of {h:?}");
        let len = usize::try_from(h.payload_len).expect("fits");
        let end = n.checked_add(len).expect("fits");
        assert!(end <= out.len(), "truncated frame in our output");
        let mut payload = out[n..end].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key);
        }
        frames.push((h, payload));
        out = &out[end..];
    }
    frames
}
