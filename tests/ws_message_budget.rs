//! The server-wide budget for buffered messages (`max_buffered_bytes_total`) and the
//! deadline to complete a message once begun (`message_timeout`).
//!
//! The attack of issue 14 (item 2): peers begin compressed messages that inflate a
//! thousandfold and never end them. Without a server-wide budget, each connection holds
//! up to `max_message_payload_size`; with it, all of them together hold about the budget,
//! an honest peer is served meanwhile, and the memory comes back when they close.
//! The deadline tests use tokio's paused clock over in-memory streams (see
//! tests/ws_timeouts.rs for why not sockets).

mod common;
mod counting_alloc;

use std::time::Duration;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::WebSocketServerFactory;
use common::*;
use counting_alloc::{peak_above, reset_peak, Counting};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by every test here: the heap measurement must not see the others' allocations.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const OPCODE_CONTINUATION: u8 = 0;
const OPCODE_TEXT: u8 = 1;
const OPCODE_BINARY: u8 = 2;
const OPCODE_PING: u8 = 9;
const OPCODE_PONG: u8 = 10;
const MASK: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

/// The budget in the attack test.
const BUDGET: usize = 32 << 20;
/// The attack test's `message_timeout`.
const ATTACK_TIMEOUT: Duration = Duration::from_secs(20);
/// Connections of the attack.
const ATTACKERS: usize = 8;
/// MiB each attacker's message inflates to (within the default 64 MiB limit).
const ATTACK_MIB: usize = 60;
/// Beyond the budget: the headroom for connections holding nothing (16 MiB), one read's
/// inflation past the budget, the inflaters' states, tokio and the test's buffers.
const SLACK: usize = 24 << 20;

fn server_with(options: ServerOptions) -> WebSocketServerFactory {
    WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options)
}

/// The compressed fragments of a binary message of `ATTACK_MIB` MiB of zeros, never
/// finished: each fragment is 1 MiB deflated on its own and sync-flushed (about 1 KiB).
#[cfg(feature = "deflate")]
fn endless_compressed_message() -> Vec<u8> {
    use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    let mut deflate = PerMessageDeflate::new(false, PerMessageDeflateParams::default());
    let mut piece = Vec::new();
    deflate
        .compress_message(&vec![0u8; 1 << 20], &mut piece)
        .unwrap();
    // The sync flush's tail, which permessage-deflate strips from a message's end, keeps
    // the pieces one valid stream when they follow each other.
    piece.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut wire = Vec::new();
    for i in 0..ATTACK_MIB {
        let opcode = if i == 0 {
            OPCODE_BINARY
        } else {
            OPCODE_CONTINUATION
        };
        let mut f = frame(false, opcode, &piece, MASK);
        if i == 0 {
            f[0] |= 0x40; // RSV1: compressed
        }
        wire.extend_from_slice(&f);
    }
    wire
}

/// Polls `done` (a counter of the server's, no event to wait on) until it holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !done() {
        assert!(t0.elapsed() < EVENT_BOUND, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the heap has not grown for a second, or has grown past `limit`.
async fn until_heap_settles(before: usize, limit: usize) -> usize {
    let (mut last, mut quiet) = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let grown = peak_above(before);
        if grown > limit {
            return grown;
        }
        if grown == last {
            quiet += 1;
            if quiet == 10 {
                return grown;
            }
        } else {
            (last, quiet) = (grown, 0);
        }
    }
}

/// Issue 14, item 2: eight peers begin compressed messages of 60 MiB each (a few hundred
/// KiB on the wire) and never finish them. The server holds about the budget, not
/// 480 MiB; an honest peer gets its echo meanwhile; when their message timeout expires,
/// the attackers are failed with 1013 (the budget held them up) and every byte they
/// held is given back.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn unfinished_compressed_messages_hold_at_most_the_budget() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let factory = server_with(ServerOptions {
            max_buffered_bytes_total: BUDGET,
            // Long enough for the measurement and the honest echo on a loaded machine.
            message_timeout: Some(ATTACK_TIMEOUT),
            ..Default::default()
        });
        let counter = factory.clone();
        let (server, mut events) = start_echo_server(factory).await;
        let attack = endless_compressed_message();
        let (request, _) = raw_request(server.addr);
        let request = String::from_utf8(request).unwrap().replacen(
            "\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
            1,
        );
        let mut attackers = Vec::new();
        for _ in 0..ATTACKERS {
            let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            s.write_all(request.as_bytes()).await.unwrap();
            let (head, rest) = read_http_head(&mut s).await;
            assert_eq!(status_of(&head), 101, "{head}");
            assert!(header_of(&head, "sec-websocket-extensions").is_some());
            attackers.push(FrameReader::new(s, rest));
        }
        let before = reset_peak();
        let t0 = std::time::Instant::now();
        for peer in &mut attackers {
            peer.send(&attack).await;
        }
        let limit = BUDGET + SLACK;
        let grown = until_heap_settles(before, limit).await;
        eprintln!(
            "{ATTACKERS} peers sent {} wire bytes each; heap grew by {grown}, the server holds \
             {} for them",
            attack.len(),
            counter.buffered_bytes()
        );
        assert!(grown <= limit, "heap grew by {grown}, budget {BUDGET}");
        assert!(
            counter.buffered_bytes() >= BUDGET,
            "the attack filled the budget: {}",
            counter.buffered_bytes()
        );

        // An honest peer is served while the budget is taken.
        let (s, rest) = raw_connect(server.addr).await;
        let mut honest = FrameReader::new(s, rest);
        honest
            .send(&frame(true, OPCODE_TEXT, b"honest", MASK))
            .await;
        let echo = honest.next().await.expect("an echo");
        assert_eq!(
            (echo.opcode, &echo.payload[..]),
            (OPCODE_TEXT, &b"honest"[..])
        );
        assert!(counter.buffered_bytes() >= BUDGET, "still held meanwhile");
        assert!(
            t0.elapsed() < ATTACK_TIMEOUT,
            "measured too late: {:?}",
            t0.elapsed()
        );

        // At their message timeout the attackers are failed, and the budget comes back.
        for peer in &mut attackers {
            let mut frame = peer.next().await.expect("a close frame");
            while frame.opcode == OPCODE_PING {
                // Auto-ping; unanswered: a peer the budget holds up is not dropped for that.
                frame = peer.next().await.expect("a close frame");
            }
            assert_eq!(frame.close_code(), Some(1013));
        }
        assert!(
            t0.elapsed() >= ATTACK_TIMEOUT,
            "failed early: {:?}",
            t0.elapsed()
        );
        for _ in 0..ATTACKERS {
            let (clean, code, _) = events.close().await;
            assert_eq!((clean, code), (false, Some(1006)));
        }
        until("the budget is released", || counter.buffered_bytes() == 0).await;
    })
    .await;
}

/// A frame header whose payload trickles in, a byte a second: the connection fails with
/// 1008 when `message_timeout` expires, counted from the header.
#[tokio::test(start_paused = true)]
async fn a_trickled_frame_fails_at_the_message_timeout() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let timeout = Duration::from_secs(10);
        let factory = server_with(ServerOptions {
            message_timeout: Some(timeout),
            ..Default::default()
        });
        let (s, mut sev, _task) = serve_in_memory(factory);
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let mut peer = FrameReader::new(s, rest);
        let whole = frame(true, OPCODE_BINARY, &[7u8; 1000], MASK);
        let t0 = Instant::now();
        peer.send(&whole[..8]).await; // the header and the mask
        let mut sent = 8;
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(1), peer.next()).await {
                Ok(f) => break f.expect("a close frame"),
                Err(_) => {
                    peer.stream.write_all(&whole[sent..sent + 1]).await.unwrap();
                    sent += 1;
                }
            }
        };
        assert_eq!(close.close_code(), Some(1008));
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_millis(50),
            "failed after {elapsed:?}"
        );
        peer.expect_eof().await;
        let (clean, code, reason) = sev.close().await;
        assert_eq!((clean, code), (false, Some(1006)));
        assert!(reason.unwrap_or_default().contains("in time"));
    })
    .await;
}

/// With the default options, a message of one-byte fragments sent every 5 s by a peer
/// that answers every ping (so auto-ping keeps it) fails with 1008 after 60 s.
#[tokio::test(start_paused = true)]
async fn the_default_message_timeout_ends_a_message_that_never_ends() {
    let _measuring = MEASURING.lock().await;
    // Past `bounded`'s 60 s: the default deadline is that long.
    let test = async {
        let (s, _sev, _task) = serve_in_memory(server_with(ServerOptions::default()));
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let mut peer = FrameReader::new(s, rest);
        let t0 = Instant::now();
        peer.send(&frame(false, OPCODE_BINARY, b"x", MASK)).await;
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(5), peer.next()).await {
                Ok(Some(f)) if f.opcode == OPCODE_PING => {
                    peer.send(&frame(true, OPCODE_PONG, &f.payload, MASK)).await;
                }
                Ok(f) => break f.expect("a close frame"),
                Err(_) => {
                    let more = frame(false, OPCODE_CONTINUATION, b"x", MASK);
                    peer.send(&more).await;
                }
            }
        };
        assert_eq!(close.close_code(), Some(1008));
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(61),
            "failed after {elapsed:?}"
        );
    };
    tokio::time::timeout(Duration::from_secs(600), test)
        .await
        .expect("the message was never failed");
}

/// A message that the budget holds up (the budget is smaller than it) fails with 1013 at
/// the message timeout, or at once without one; complete messages within the budget
/// are echoed meanwhile.
#[tokio::test(start_paused = true)]
async fn a_message_held_up_by_the_budget_fails_with_1013() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        for timeout in [Some(Duration::from_secs(10)), None] {
            let factory = server_with(ServerOptions {
                max_buffered_bytes_total: 64 * 1024,
                message_timeout: timeout,
                ..Default::default()
            });
            let counter = factory.clone();
            let (s, _sev, task) = serve_in_memory(factory);
            let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
            let mut peer = FrameReader::new(s, rest);
            peer.send(&frame(true, OPCODE_TEXT, b"small", MASK)).await;
            assert_eq!(peer.next().await.unwrap().payload, b"small");
            let t0 = Instant::now();
            peer.send(&frame(false, OPCODE_BINARY, &[1u8; 100 * 1024], MASK))
                .await;
            let close = peer.next().await.expect("a close frame");
            assert_eq!(close.close_code(), Some(1013), "timeout {timeout:?}");
            let (elapsed, want) = (t0.elapsed(), timeout.unwrap_or_default());
            assert!(
                elapsed >= want && elapsed < want + Duration::from_millis(50),
                "failed after {elapsed:?}, timeout {timeout:?}"
            );
            peer.expect_eof().await;
            let _ = task.await;
            assert_eq!(counter.buffered_bytes(), 0);
        }
    })
    .await;
}

/// While the handler is behind and we stopped reading, the peer cannot finish its
/// message: the message timeout gives it another period (it reads what we send), and
/// the message arrives once the handler catches up.
#[tokio::test(start_paused = true)]
async fn the_message_timeout_spares_a_peer_that_our_handler_holds_up() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let timeout = Duration::from_secs(10);
        let factory = server_with(ServerOptions {
            message_timeout: Some(timeout),
            max_queued_bytes: 64 * 1024,
            auto_ping_interval: None,
            ..Default::default()
        });
        let (tx, mut events) = events();
        let (gate_tx, gate_rx) = tokio::sync::mpsc::unbounded_channel();
        let gate = std::sync::Arc::new(tokio::sync::Mutex::new(gate_rx));
        let (s, server_end) = in_memory_pair();
        let _task = tokio::spawn(async move {
            factory
                .accept_stream(server_end, "memory".into(), move |ch| Recorder {
                    gate: Some(gate),
                    ..Recorder::echo(ch, tx)
                })
                .await
        });
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let mut peer = FrameReader::new(s, rest);
        peer.send(&frame(true, OPCODE_TEXT, b"block", MASK)).await;
        events
            .until(|ev| matches!(ev, Ev::Blocked).then_some(()))
            .await;
        // Queued behind the blocked handler: a small message, then the first half of a
        // large one, past `max_queued_bytes`: the server stops reading there.
        peer.send(&frame(true, OPCODE_TEXT, b"queued", MASK)).await;
        let half = vec![5u8; 100 * 1024];
        peer.send(&frame(false, OPCODE_BINARY, &half, MASK)).await;
        let rest_of_it = frame(true, OPCODE_CONTINUATION, &half, MASK);
        let writer = tokio::spawn(async move {
            peer.send(&rest_of_it).await;
            peer
        });
        // Three message timeouts pass with the handler blocked.
        tokio::time::sleep(3 * timeout).await;
        gate_tx.send(()).unwrap();
        let mut peer = writer.await.unwrap();
        for want in [&b"block"[..], b"queued"] {
            assert_eq!(peer.next().await.expect("an echo").payload, want);
        }
        let echo = peer.next().await.expect("the large message's echo");
        assert_eq!(
            (echo.opcode, echo.payload.len()),
            (OPCODE_BINARY, 200 * 1024)
        );
    })
    .await;
}
