//! `FrameHeader::parse` / `encode`.
//!
//! Input: any bytes. They are parsed as a header (never panics; a decoded header
//! re-encodes to exactly the bytes it came from, because lengths must be minimal;
//! prefixes of a complete header need more bytes; errors are decided by the prefix),
//! and an arbitrary valid header built from the same bytes round-trips.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use autobahn::websocket::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Header {
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len_class: u8,
    len: u64,
}

fn round_trip(h: FrameHeader) {
    let mut out = Vec::new();
    h.encode(&mut out);
    assert_eq!(out.len(), h.encoded_len(), "{h:?}");
    assert!(out.len() <= MAX_HEADER_LEN);
    assert_eq!(
        FrameHeader::parse(&out),
        Ok(Some((h, out.len()))),
        "{h:?} {out:02x?}"
    );
    for n in 0..out.len() {
        assert_eq!(FrameHeader::parse(&out[..n]), Ok(None), "{h:?} prefix {n}");
    }
}

fuzz_target!(|data: &[u8]| {
    match FrameHeader::parse(data) {
        Ok(Some((h, n))) => {
            assert_eq!(n, h.encoded_len(), "{h:?}");
            assert!(n <= data.len() && n <= MAX_HEADER_LEN);
            assert!(h.payload_len >> 63 == 0);
            let mut out = Vec::new();
            h.encode(&mut out);
            assert_eq!(&out[..], &data[..n], "re-encoding differs");
            for k in 0..n {
                assert_eq!(FrameHeader::parse(&data[..k]), Ok(None), "prefix {k}");
            }
        }
        Ok(None) => assert!(
            data.len() < MAX_HEADER_LEN,
            "{} bytes not enough",
            data.len()
        ),
        Err(e) => {
            // The error is decided by the first bytes: more input does not change it.
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0xff; MAX_HEADER_LEN]);
            assert_eq!(FrameHeader::parse(&longer), Err(e));
        }
    }

    let mut u = Unstructured::new(data);
    let Ok(a) = Header::arbitrary(&mut u) else {
        return;
    };
    let Some(opcode) = OpCode::from_u8(a.opcode & 0x0f) else {
        return;
    };
    // Spread lengths over the three encodings and their edges.
    let payload_len = match a.len_class % 4 {
        0 => a.len % 126,
        1 => 126 + a.len % (0x1_0000 - 126),
        2 => 0x1_0000 + a.len % ((1u64 << 63) - 0x1_0000),
        _ => [0, 125, 126, 127, 0xffff, 0x1_0000, (1 << 63) - 1][(a.len % 7) as usize],
    };
    round_trip(FrameHeader {
        fin: a.fin,
        rsv1: a.rsv1,
        rsv2: a.rsv2,
        rsv3: a.rsv3,
        opcode,
        mask: a.mask,
        payload_len,
    });
});
