//! A decompression bomb over a real socket: a client that negotiated
//! permessage-deflate sends one ~16 KiB compressed frame that would inflate to 16 MiB.
//! The server fails the connection with 1009, and the heap the whole process grew
//! by meanwhile (counted by a global allocator in this test binary, which holds only
//! this test) stays within the 1 MiB message limit plus a small constant.
#![cfg(feature = "deflate")]

mod common;
mod counting_alloc;

use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::WebSocketServerFactory;
use common::*;
use counting_alloc::{peak_above, reset_peak, Counting};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[global_allocator]
static GLOBAL: Counting = Counting;

const LIMIT: usize = 1 << 20;
const BOMB: usize = 16 << 20;
/// Everything besides the message buffer: read buffers, zlib state, tokio, the test.
const SLACK: usize = 512 << 10;

#[tokio::test]
async fn deflate_bomb_closes_1009_within_the_memory_limit() {
    bounded(async {
        let options = ServerOptions {
            max_message_payload_size: LIMIT,
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (server, _sev) = start_echo_server(factory).await;

        // The bomb, compressed before measuring (its 16 MiB of input are freed).
        let mut bomb = Vec::new();
        {
            let zeros = vec![0u8; BOMB];
            PerMessageDeflate::new(false, PerMessageDeflateParams::default())
                .with_compression_level(9)
                .compress_message(&zeros, &mut bomb)
                .unwrap();
        }
        assert!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
        let mut frame = client_frame(2, &bomb);
        frame[0] |= 0x40; // RSV1: compressed

        let (request, _) = raw_request(server.addr);
        let request = String::from_utf8(request).unwrap().replacen(
            "\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
            1,
        );
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let (head, rest) = read_http_head(&mut s).await;
        assert_eq!(status_of(&head), 101, "{head}");
        let ext = header_of(&head, "sec-websocket-extensions").unwrap_or("");
        assert!(ext.starts_with("permessage-deflate"), "{head}");

        let before = reset_peak();
        s.write_all(&frame).await.unwrap();
        let mut reader = FrameReader::new(s, rest);
        let close = reader.next().await.expect("a close frame");
        let grown = peak_above(before);
        assert_eq!(close.close_code(), Some(1009), "{close:?}");
        eprintln!("heap grew by at most {grown} bytes while the 16 MiB bomb was refused");
        assert!(
            grown <= LIMIT + SLACK,
            "heap grew by {grown} bytes (limit {LIMIT} + {SLACK})"
        );
    })
    .await;
}
