//! Writes the seed corpora under `fuzz/seeds/<target>/` from the unit-test vectors
//! (RFC 6455 and RFC 7692 examples, handshake examples, RawSocket and WAMP spec
//! messages). Run from `fuzz/`: `cargo run --example make_seeds`. Files are
//! overwritten, never deleted.

mod more;

use std::fs;
use std::path::Path;

use autobahn::websocket::frame::{FrameHeader, OpCode};
use autobahn::websocket::mask::apply_mask;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(fin: bool, op: OpCode, payload: &[u8], mask: bool) -> Vec<u8> {
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask: mask.then_some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if mask {
        apply_mask(&mut out[start..], KEY);
    }
    out
}

fn close(code: u16, reason: &str, mask: bool) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    frame(true, OpCode::Close, &p, mask)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub(crate) struct Seeds {
    dir: String,
}

impl Seeds {
    pub(crate) fn new(target: &str) -> Self {
        let dir = format!("seeds/{target}");
        fs::create_dir_all(&dir).expect("mkdir");
        Self { dir }
    }

    pub(crate) fn put(&self, name: &str, bytes: &[u8]) {
        fs::write(Path::new(&self.dir).join(name), bytes).expect("write seed");
    }
}

/// Stream seeds for one role: `[max_msg, max_frame, flags, k, lengths..., stream]`.
fn stream_seeds(target: &str, mask: bool) {
    let s = Seeds::new(target);
    let cfg = |stream: &[u8]| cat(&[&[0xff, 0, 0, 0], stream]);
    let hello = frame(true, OpCode::Text, b"Hello", mask);
    s.put("rfc6455-5.7-hello", &cfg(&hello));
    let frag = cat(&[
        &frame(false, OpCode::Text, b"Hel", mask),
        &frame(true, OpCode::Continuation, b"lo", mask),
    ]);
    s.put("rfc6455-5.7-fragmented", &cfg(&frag));
    let ping_pong = cat(&[
        &frame(true, OpCode::Ping, b"Hello", mask),
        &frame(true, OpCode::Pong, b"Hello", mask),
    ]);
    s.put("rfc6455-5.7-ping-pong", &cfg(&ping_pong));
    let binary256 = frame(true, OpCode::Binary, &[0x5a; 256], mask);
    s.put("rfc6455-5.7-binary-256", &cfg(&binary256));
    // 64-bit length announced (64 KiB), payload cut short.
    let mut big = frame(true, OpCode::Binary, &[], mask);
    big[1] = (big[1] & 0x80) | 127;
    big.splice(2..2, [0, 0, 0, 0, 0, 1, 0, 0]);
    big.extend_from_slice(&[1, 2, 3, 4]);
    s.put("rfc6455-5.7-binary-64k-truncated", &cfg(&big));
    let interleaved = cat(&[
        &frame(false, OpCode::Text, b"Hel", mask),
        &frame(true, OpCode::Ping, b"p", mask),
        &frame(false, OpCode::Continuation, "lo κό".as_bytes(), mask),
        &frame(true, OpCode::Continuation, "σμε".as_bytes(), mask),
        &close(1000, "bye", mask),
        &hello,
    ]);
    // Cut inside the multi-byte characters; echo the close code.
    s.put(
        "fragmented-interleaved-ping-close",
        &cat(&[&[0xff, 0, 1, 4, 3, 7, 1, 11], &interleaved]),
    );
    let bad_utf8 = frame(
        true,
        OpCode::Text,
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        mask,
    );
    s.put("invalid-utf8-surrogate", &cfg(&bad_utf8));
    s.put("too-big-for-256", &cat(&[&[0, 0, 0, 0], &binary256]));
    s.put("frame-limit-64", &cat(&[&[0xff, 1, 0, 0], &binary256]));
    s.put(
        "close-no-status",
        &cfg(&frame(true, OpCode::Close, &[], mask)),
    );
    s.put("close-bad-code", &cfg(&close(1005, "", mask)));
    s.put("reserved-opcode", &cfg(&[0x83, 0x80 * u8::from(mask)]));
    s.put(
        "unmasked-or-masked-wrong",
        &cfg(&frame(true, OpCode::Text, b"x", !mask)),
    );
}

fn main() {
    stream_seeds("ws_server_stream", true);
    stream_seeds("ws_client_stream", false);

    // RFC 6455 §1.2/§1.3 opening handshake.
    let rfc_request: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let s = Seeds::new("ws_handshake_request");
    // [max_bytes, max_headers, flags, k, lengths..., request]
    s.put("rfc6455-1.3", &cat(&[&[0xff, 64, 0x01, 0], rfc_request]));
    s.put(
        "rfc6455-1.3-split",
        &cat(&[&[0xff, 64, 0x01, 3, 5, 40, 1], rfc_request]),
    );
    s.put(
        "subdomain-origin-policy",
        &cat(&[
            &[0xff, 64, 0x08, 0],
            b"GET /ws?a=1&a=2&b=%20 HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://www.example.com\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"b\"\r\n\r\n\x81\x85",
        ]),
    );
    s.put(
        "hybi-08-forwarded",
        &cat(&[
            &[0xff, 64, 0x20 | 0x18, 0],
            b"GET ws://a/x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Origin: null\r\n\
X-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n\r\n",
        ]),
    );
    s.put(
        "status-page",
        &cat(&[
            &[0xff, 64, 0x01, 0],
            b"\r\nGET /index.html HTTP/1.1\nHost: a\n\n",
        ]),
    );
    s.put(
        "flash-policy",
        &cat(&[&[0xff, 64, 0x02, 0], b"<policy-file-request/>\0"]),
    );
    s.put(
        "bad-version-post",
        &cat(&[
            &[0xff, 64, 0x04, 0],
            b"POST / HTTP/1.0\r\nHost: a\r\nSec-WebSocket-Version: 7\r\n\r\n",
        ]),
    );
    s.put(
        "too-many-headers",
        &cat(&[
            &[0x10, 2, 0, 0],
            b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        ]),
    );

    let s = Seeds::new("ws_handshake_response");
    let rfc_response: &[u8] =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
    s.put("rfc6455-1.3", &cat(&[&[0xff, 64, 0x01, 0], rfc_response]));
    s.put(
        "rfc6455-1.3-split-trailing-frame",
        &cat(&[&[0xff, 64, 0x01, 2, 10, 60], rfc_response, b"\x81\x05Hello"]),
    );
    s.put(
        "extensions",
        &cat(&[
            &[0xff, 64, 0, 0],
            b"HTTP/1.1 101 OK\nupgrade: WebSocket\nconnection: upgrade\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n\
sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\n\n",
        ]),
    );
    s.put(
        "refused-426",
        &cat(&[
            &[0xff, 64, 0, 0],
            b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13, 8\r\n\r\n",
        ]),
    );
    s.put(
        "accept-mismatch",
        &cat(&[&[0xff, 64, 0, 0], b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"]),
    );

    let s = Seeds::new("ws_proxy_response");
    s.put(
        "connection-established",
        &cat(&[
            &[0xff, 64, 0],
            b"HTTP/1.1 200 Connection established\r\nVia: p\r\n\r\n\x16\x03\x01",
        ]),
    );
    s.put(
        "proxy-auth-required",
        &cat(&[
            &[0xff, 64, 1, 9],
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
        ]),
    );
    s.put("garbage", &cat(&[&[0, 4, 0], b"garbage\r\n\r\n"]));

    let s = Seeds::new("ws_frame_header");
    for (name, bytes) in [
        ("hello-unmasked", &[0x81u8, 0x05][..]),
        ("hello-masked", &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]),
        ("fragment", &[0x01, 0x03]),
        ("len16", &[0x82, 0x7e, 0x01, 0x00]),
        ("len64", &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
        (
            "len64-masked",
            &[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4],
        ),
        ("ping", &[0x89, 0x05]),
        ("msb-set", &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ("non-minimal-16", &[0x82, 0x7e, 0, 5]),
        (
            "non-minimal-64",
            &[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
        ),
        ("reserved-opcode", &[0x83, 0x00]),
    ] {
        s.put(name, bytes);
    }

    let s = Seeds::new("ws_utf8");
    // [mode, k, lengths..., text]
    for (name, head, text) in [
        ("kosme", &[0u8, 0][..], "κόσμε".as_bytes()),
        ("kosme-split", &[1, 3, 1, 2, 1], "κόσμε".as_bytes()),
        ("mixed", &[0, 2, 7, 9], "Hello-µ@ßöäüàá-UTF-8!!".as_bytes()),
        (
            "max-codepoints",
            &[1, 4, 1, 1, 1, 1],
            "\u{10FFFF}\u{FFFF}a\u{800}".as_bytes(),
        ),
        (
            "surrogate",
            &[0, 2, 12, 1],
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        ),
        ("above-max", &[0, 1, 2], b"\xf4\x90\x80\x80"),
        ("overlong", &[1, 1, 1], b"\xe0\x80\xaf"),
        ("truncated", &[1, 0], b"\xce\xba\xe1\xbd"),
        ("lone-continuation", &[0, 1, 2], b"ab\x80cd"),
        ("f5", &[0, 1, 3], b"\xf0\x90\x80\x80\xf5abc"),
    ] {
        s.put(name, &cat(&[head, text]));
    }

    let s = Seeds::new("ws_origin");
    // [allow_null, n, lengths..., patterns..., origin]
    let p1 = "https://*.example.com:443";
    let p2 = "*://localhost:*";
    for (name, null, pats, origin) in [
        ("subdomain", 0u8, vec![p1], "https://www.example.com"),
        (
            "subdomain-evil",
            0,
            vec![p1],
            "https://x.example.com.evil.org:443",
        ),
        ("two-patterns", 1, vec![p1, p2], "http://LOCALHOST:8080/"),
        ("null", 1, vec![p1], "null"),
        ("file", 1, vec![p2], "file:///etc/passwd"),
        ("ipv6", 0, vec!["http://[::1]:*"], "http://[::1]"),
        ("allow-all", 0, vec!["*"], "chrome-extension://abc"),
        ("globs", 0, vec!["a*b*c", "aa*aa"], "aXbYc"),
    ] {
        let mut head = vec![null, pats.len() as u8];
        head.extend(pats.iter().map(|p| p.len() as u8));
        let body: Vec<u8> = pats
            .iter()
            .flat_map(|p| p.bytes())
            .chain(origin.bytes())
            .collect();
        s.put(name, &cat(&[&head, &body]));
    }

    // `arbitrary`-decoded input: a few fixed byte strings give it a start.
    let s = Seeds::new("ws_handshake_roundtrip");
    s.put("zeros", &[0u8; 64]);
    s.put("text", b"localhost\x00\x50/chat?x=1\x00http://example.com\x00chat\x00superchat\x00permessage-deflate; client_max_window_bits\x00abcdefghijklmnop");

    more::deflate_stream_seeds("ws_server_deflate_stream", true);
    more::deflate_stream_seeds("ws_client_deflate_stream", false);
    more::deflate_negotiation_seeds();
    more::rawsocket_seeds();
    more::wamp_seeds();
}
