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
async fn router_handshake(
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
