//! Unit tests of the RawSocket transport over in-memory pipes.

use super::*;
use crate::rawsocket::handshake::{accept_reply, error_reply, parse_client_hello};
use crate::wamp::message::{Goodbye, Message};
use tokio::io::duplex;

#[test]
fn defaults() {
    let o = RawSocketOptions::default();
    assert_eq!(o.serializer, SerializerId::CBOR);
    assert_eq!(o.max_len_exp, 24);
    assert_eq!(o.handshake_timeout, Some(Duration::from_secs(30)));
    assert_eq!(o.max_queued_bytes, 4 << 20);
}

#[test]
fn refusal_becomes_typed_error() {
    let e: RawSocketConnectError =
        RawSocketError::Refused(HandshakeErrorCode::MaxConnectionCountReached).into();
    assert!(matches!(
        e,
        RawSocketConnectError::Refused(HandshakeErrorCode::MaxConnectionCountReached)
    ));
    let e: RawSocketConnectError = RawSocketError::BadMagic(0x48).into();
    assert!(matches!(e, RawSocketConnectError::Handshake(_)));
}

#[tokio::test]
async fn unsupported_serializer_is_refused_before_io() {
    let (a, _b) = duplex(64);
    let opts = RawSocketOptions {
        serializer: SerializerId::FLATBUFFERS,
        ..RawSocketOptions::default()
    };
    let e = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, RawSocketConnectError::UnsupportedSerializer(_)));
}

#[tokio::test]
async fn bad_url_is_an_error() {
    let e = RawSocketTransport::connect("ws://x", &RawSocketOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RawSocketConnectError::Url(_)));
}

/// Router side of a handshake over an in-memory pipe, replying `reply`.
pub(super) async fn router_handshake(
    b: &mut tokio::io::DuplexStream,
    reply: impl FnOnce(ClientHandshake) -> [u8; 4],
) {
    let mut hello = [0u8; 4];
    b.read_exact(&mut hello).await.unwrap();
    let hs = parse_client_hello(hello).unwrap();
    b.write_all(&reply(hs)).await.unwrap();
}

#[tokio::test]
async fn handshake_refused_and_mismatched() {
    let (a, mut b) = duplex(64);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |_| {
            error_reply(HandshakeErrorCode::MaxLengthUnacceptable)
        })
        .await;
        b
    });
    let e = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        RawSocketConnectError::Refused(HandshakeErrorCode::MaxLengthUnacceptable)
    ));
    router.await.unwrap();

    let (a, mut b) = duplex(64);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |_| accept_reply(24, SerializerId::JSON)).await;
        b
    });
    let e = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        RawSocketConnectError::Handshake(RawSocketError::SerializerMismatch {
            requested: 3,
            got: 1
        })
    ));
    router.await.unwrap();
}

#[tokio::test]
async fn eof_during_handshake_and_timeout() {
    let (a, b) = duplex(64);
    drop(b);
    let e = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap_err();
    // Writing the hello into a dropped pipe fails, or reading the reply sees EOF.
    assert!(matches!(
        e,
        RawSocketConnectError::ClosedDuringHandshake | RawSocketConnectError::Io(_)
    ));

    let (a, _b) = duplex(64);
    let opts = RawSocketOptions {
        handshake_timeout: Some(Duration::from_millis(50)),
        ..RawSocketOptions::default()
    };
    let e = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, RawSocketConnectError::Timeout));
}

#[tokio::test]
async fn garbage_frame_fails_the_transport() {
    let (a, mut b) = duplex(1024);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        // Reserved frame type 5.
        b.write_all(&[0x05, 0, 0, 1, 0]).await.unwrap();
        b
    });
    let mut t = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap();
    let _b = router.await.unwrap();
    assert!(matches!(
        t.recv().await,
        Some(Err(TransportError::Protocol(_)))
    ));
    assert!(t.recv().await.is_none());
    assert!(!t.is_open());
    let bye = Message::Goodbye(Goodbye {
        details: Default::default(),
        reason: "wamp.close.normal".into(),
    });
    assert!(matches!(t.send(bye).await, Err(TransportError::Closed)));
}

#[tokio::test]
async fn undecodable_message_fails_the_transport() {
    let (a, mut b) = duplex(1024);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        // 0xff is a CBOR "break" outside of any indefinite item.
        b.write_all(&[0x00, 0, 0, 1, 0xff]).await.unwrap();
        b
    });
    let mut t = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap();
    let _b = router.await.unwrap();
    assert!(matches!(
        t.recv().await,
        Some(Err(TransportError::Protocol(_)))
    ));
    assert!(t.recv().await.is_none());
}

#[tokio::test]
async fn frame_above_our_limit_fails_the_transport() {
    let (a, mut b) = duplex(1024);
    let opts = RawSocketOptions {
        max_len_exp: 9,
        ..RawSocketOptions::default()
    };
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| {
            assert_eq!(h.max_len(), 512);
            accept_reply(24, h.serializer)
        })
        .await;
        // Header announcing 513 bytes: refused before any payload arrives.
        b.write_all(&[0x00, 0, 0x02, 0x01]).await.unwrap();
        b
    });
    let mut t = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap();
    let _b = router.await.unwrap();
    match t.recv().await {
        Some(Err(TransportError::Protocol(m))) => assert!(m.contains("513"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn close_twice_and_close_after_abort_are_harmless() {
    let (a, mut b) = duplex(1024);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        // Read until the client's EOF, then close our side.
        let mut sink = Vec::new();
        let _ = b.read_to_end(&mut sink).await;
    });
    let mut t = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap();
    t.close().await;
    t.close().await;
    t.abort();
    t.close().await;
    assert!(!t.is_open());
    assert!(t.recv().await.is_none());
    router.await.unwrap();
}

/// A stream that counts the writes made to it.
struct CountingStream {
    inner: tokio::io::DuplexStream,
    writes: Arc<std::sync::atomic::AtomicUsize>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if r.is_ready() {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn goodbye(reason: String) -> Message {
    Message::Goodbye(Goodbye {
        details: Default::default(),
        reason,
    })
}

/// Messages queued while the writer task waits go out in as few writes as the batch
/// size allows, in order, and a message above the batch size is written whole.
#[tokio::test]
async fn queued_messages_are_batched_in_order() {
    let (a, mut b) = duplex(8 << 20);
    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stream = CountingStream {
        inner: a,
        writes: writes.clone(),
    };
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        b
    });
    let opts = RawSocketOptions {
        serializer: SerializerId::JSON,
        ..RawSocketOptions::default()
    };
    let mut t = RawSocketTransport::connect_stream(stream, "test", &opts)
        .await
        .unwrap();
    let mut b = router.await.unwrap();
    // Reads until our FIN, then closes the router's side so that `close` ends.
    let reader = tokio::spawn(async move {
        let mut bytes = Vec::new();
        b.read_to_end(&mut bytes).await.unwrap();
        b.shutdown().await.unwrap();
        bytes
    });
    let before = writes.load(Ordering::Relaxed);
    // On this single-threaded runtime the writer task cannot run during these sends.
    let big = "x".repeat(200 * 1024);
    let mut sent = Vec::new();
    for i in 0..200 {
        let reason = if i == 100 {
            big.clone()
        } else {
            format!("r.{i}")
        };
        sent.push(reason.clone());
        t.send(goodbye(reason)).await.unwrap();
    }
    t.close().await;
    let after = writes.load(Ordering::Relaxed) - before;
    // Small messages before the big one, the big one, the small ones after it.
    assert!(after <= 4, "{after} writes for 200 messages");

    let bytes = reader.await.unwrap();
    let mut dec = FrameDecoder::new(1 << 24);
    dec.feed(&bytes);
    let ser = for_rawsocket_id(SerializerId::JSON.get()).unwrap();
    let mut got = Vec::new();
    while let Some(frame) = dec.next_frame().unwrap() {
        assert_eq!(frame.kind, FrameKind::Message);
        for m in ser.unserialize(&frame.payload, false).unwrap() {
            match m {
                Message::Goodbye(g) => got.push(g.reason),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(got, sent);
}

/// A router over a pipe that answers the first `answered` keepalive PINGs with their
/// PONGs, then reads on without answering (a link gone silent); reports each PING.
async fn pinged_router(
    mut b: tokio::io::DuplexStream,
    answered: usize,
    pings: tokio::sync::mpsc::UnboundedSender<tokio::time::Instant>,
) {
    router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
    let mut decoder = FrameDecoder::new(1 << 24);
    let mut buf = [0u8; 256];
    let mut seen = 0;
    loop {
        while let Ok(Some(frame)) = decoder.next_frame() {
            if frame.kind != FrameKind::Ping {
                continue;
            }
            let _ = pings.send(tokio::time::Instant::now());
            seen += 1;
            if seen <= answered {
                b.write_all(&pong_for(&frame.payload)).await.unwrap();
            }
        }
        match b.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => decoder.feed(&buf[..n]),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_and_fails_a_silent_link_within_interval_and_timeout() {
    let interval = Duration::from_secs(10);
    let timeout = Duration::from_secs(5);
    let (a, b) = duplex(1024);
    let (pings_tx, mut pings) = tokio::sync::mpsc::unbounded_channel();
    let router = tokio::spawn(pinged_router(b, 3, pings_tx));
    let opts = RawSocketOptions {
        auto_ping_interval: Some(interval),
        auto_ping_timeout: Some(timeout),
        keepalive_probe: KeepaliveProbe::Ping,
        ..RawSocketOptions::default()
    };
    let start = tokio::time::Instant::now();
    let mut t = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap();
    let lost = t.recv().await;
    let detected = start.elapsed();
    assert!(
        matches!(&lost, Some(Err(TransportError::Lost(why))) if why.contains("keepalive")),
        "{lost:?}"
    );
    assert!(!t.is_open());
    // Three answered PINGs one interval apart, then the fourth goes unanswered.
    let mut at = Vec::new();
    while let Ok(p) = pings.try_recv() {
        at.push(p - start);
    }
    assert_eq!(at.len(), 4, "{at:?}");
    for (i, p) in at.iter().enumerate() {
        assert_eq!(*p, interval * (i as u32 + 1), "{at:?}");
    }
    assert_eq!(detected, interval * 4 + timeout);
    drop(t);
    router.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn keepalive_is_off_by_default() {
    let (a, b) = duplex(1024);
    let (pings_tx, mut pings) = tokio::sync::mpsc::unbounded_channel();
    let router = tokio::spawn(pinged_router(b, 0, pings_tx));
    let mut t = RawSocketTransport::connect_stream(a, "test", &RawSocketOptions::default())
        .await
        .unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(3600), t.recv()).await;
    assert!(
        quiet.is_err(),
        "nothing arrives and nothing fails: {quiet:?}"
    );
    assert!(t.is_open());
    assert!(pings.try_recv().is_err(), "no PING was sent");
    drop(t);
    router.await.unwrap();
}

/// Answers each PING read from `b` with its PONG until the pipe closes.
async fn answer_pings(b: &mut tokio::io::DuplexStream, decoder: &mut FrameDecoder) {
    let mut buf = [0u8; 256];
    loop {
        while let Ok(Some(f)) = decoder.next_frame() {
            if f.kind == FrameKind::Ping {
                b.write_all(&pong_for(&f.payload)).await.unwrap();
            }
        }
        match b.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => decoder.feed(&buf[..n]),
        }
    }
}

fn pong_for(payload: &[u8]) -> bytes::BytesMut {
    let mut pong = bytes::BytesMut::new();
    crate::rawsocket::encode_frame(FrameKind::Pong, payload, 1 << 24, &mut pong).unwrap();
    pong
}

/// A session that does not read holds the router up: the router's PONG waits behind the
/// messages we have not taken, so the keepalive must not give the connection up
/// meanwhile, however long that lasts.
#[tokio::test(start_paused = true)]
async fn keepalive_spares_a_router_held_up_by_an_application_not_reading() {
    let (a, mut b) = duplex(4096);
    let ser = for_rawsocket_id(SerializerId::JSON.get()).unwrap();
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        // The first PING (due at 1 s, sent once the application asks for messages:
        // nothing is read before) is answered only after far more messages than the
        // pipe holds: the router's write blocks until the application reads, and the
        // PONG comes a little after the last of them.
        let mut decoder = FrameDecoder::new(1 << 24);
        let mut buf = [0u8; 256];
        let ping = loop {
            if let Ok(Some(f)) = decoder.next_frame() {
                assert_eq!(f.kind, FrameKind::Ping);
                break f.payload;
            }
            let n = b.read(&mut buf).await.unwrap();
            decoder.feed(&buf[..n]);
        };
        let mut frames = bytes::BytesMut::new();
        for i in 0..500 {
            let mut payload = Vec::new();
            ser.serialize_into(&goodbye(format!("r.{i}")), &mut payload)
                .unwrap();
            crate::rawsocket::encode_frame(FrameKind::Message, &payload, 1 << 24, &mut frames)
                .unwrap();
        }
        b.write_all(&frames).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        b.write_all(&pong_for(&ping)).await.unwrap();
        answer_pings(&mut b, &mut decoder).await;
    });
    let opts = RawSocketOptions {
        serializer: SerializerId::JSON,
        queue_size: 1,
        auto_ping_interval: Some(Duration::from_secs(1)),
        auto_ping_timeout: Some(Duration::from_secs(1)),
        keepalive_probe: KeepaliveProbe::Ping,
        ..RawSocketOptions::default()
    };
    let mut t = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap();
    // The application does not read for a minute: sixty keepalive periods.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(t.is_open(), "given up while we held the router up");
    for i in 0..500 {
        match t.recv().await {
            Some(Ok(Message::Goodbye(g))) => assert_eq!(g.reason, format!("r.{i}")),
            other => panic!("message {i}: {other:?}"),
        }
    }
    // Caught up; the router answers each PING from now on: the connection stays.
    let idle = tokio::time::timeout(Duration::from_secs(30), t.recv()).await;
    assert!(idle.is_err(), "{idle:?}");
    assert!(t.is_open());
    drop(t);
    router.await.unwrap();
}
