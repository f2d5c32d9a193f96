//! The messages the Rust side sends (the twin of `messages.py`) and the expected outcome
//! of a permessage-deflate negotiation.
#![allow(dead_code)] // each test binary uses a part

use autobahn::websocket::deflate::{PerMessageDeflateOfferAccept, PerMessageDeflateResponse};
use bytes::Bytes;
use rand::{Rng, RngCore, SeedableRng};

/// Sizes where the WebSocket payload length encoding changes, plus 0, 1 and 1 MiB.
pub const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];

/// One test message: a label for failure messages, the payload, binary or text.
pub struct TestMessage {
    pub label: String,
    pub payload: Bytes,
    pub is_binary: bool,
}

/// Text cut from this phrase compresses well and stays ASCII (so any cut is valid UTF-8).
const PHRASE: &str = "WAMP call com.example.add2 args=[1, 2] kwargs={'unit': 'cm'}; ";

/// Characters of 1 to 4 UTF-8 bytes.
const CHARS: [char; 10] = ['a', 'Z', '7', ' ', 'é', 'Ω', '€', '中', '😀', '𐍈'];

fn compressible(size: usize) -> Vec<u8> {
    PHRASE.bytes().cycle().take(size).collect()
}

/// Random text of exactly `size` UTF-8 bytes, multi-byte characters included.
fn random_text(rng: &mut impl Rng, size: usize) -> String {
    let mut s = String::with_capacity(size);
    while s.len() < size {
        let c = CHARS[rng.gen_range(0..CHARS.len())];
        if s.len() + c.len_utf8() <= size {
            s.push(c);
        } else {
            s.push('x');
        }
    }
    s
}

pub fn test_messages() -> Vec<TestMessage> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(6455);
    let mut out = Vec::new();
    for size in SIZES {
        let mut random = vec![0u8; size];
        rng.fill_bytes(&mut random);
        let text = random_text(&mut rng, size);
        assert_eq!(text.len(), size);
        out.push(TestMessage {
            label: format!("text/random/{size}"),
            payload: text.into(),
            is_binary: false,
        });
        out.push(TestMessage {
            label: format!("text/compressible/{size}"),
            payload: compressible(size).into(),
            is_binary: false,
        });
        out.push(TestMessage {
            label: format!("binary/random/{size}"),
            payload: random.into(),
            is_binary: true,
        });
        out.push(TestMessage {
            label: format!("binary/compressible/{size}"),
            payload: compressible(size).into(),
            is_binary: true,
        });
    }
    out
}

/// What permessage-deflate should come out of a negotiation (`None`: not negotiated).
/// Window bits 0 mean "not given in the header" (15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: u8,
    pub client_max_window_bits: u8,
}

impl From<&PerMessageDeflateResponse> for Negotiated {
    fn from(r: &PerMessageDeflateResponse) -> Self {
        Self {
            server_no_context_takeover: r.server_no_context_takeover,
            client_no_context_takeover: r.client_no_context_takeover,
            server_max_window_bits: r.server_max_window_bits,
            client_max_window_bits: r.client_max_window_bits,
        }
    }
}

impl From<&PerMessageDeflateOfferAccept> for Negotiated {
    fn from(a: &PerMessageDeflateOfferAccept) -> Self {
        Self {
            server_no_context_takeover: a.server_no_context_takeover(),
            client_no_context_takeover: a.request_no_context_takeover,
            server_max_window_bits: a.server_max_window_bits(),
            client_max_window_bits: a.request_max_window_bits,
        }
    }
}

/// The `PMD` line Python prints for a negotiated extension; `local`/`remote` are from
/// Python's side.
pub fn pmd_line(n: Option<Negotiated>, python_is_server: bool) -> String {
    let Some(n) = n else { return "PMD none".into() };
    let bits = |b: u8| if b == 0 { 15 } else { b };
    let (local_nct, remote_nct, local_bits, remote_bits) = if python_is_server {
        (
            n.server_no_context_takeover,
            n.client_no_context_takeover,
            n.server_max_window_bits,
            n.client_max_window_bits,
        )
    } else {
        (
            n.client_no_context_takeover,
            n.server_no_context_takeover,
            n.client_max_window_bits,
            n.server_max_window_bits,
        )
    };
    format!(
        "PMD local_no_context_takeover={local_nct} remote_no_context_takeover={remote_nct} \
         local_max_window_bits={} remote_max_window_bits={}",
        bits(local_bits),
        bits(remote_bits)
    )
}
