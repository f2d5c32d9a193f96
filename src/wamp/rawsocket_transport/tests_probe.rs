//! Unit tests of the WAMP keepalive probe ([`KeepaliveProbe::WampCall`]), bytes in and
//! bytes out over an in-memory pipe, on a paused clock.

use std::pin::Pin;

use tokio::io::{duplex, DuplexStream, ReadBuf};

use super::tests::router_handshake;
use super::*;
use crate::rawsocket::handshake::accept_reply;
use crate::wamp::message::{
    Call, ErrorMessage, Goodbye, Hello, MessageType, ResultMessage, Welcome,
};

const INTERVAL: Duration = Duration::from_secs(1);

/// The router's end of the pipe: what the client wrote, and writing to it.
struct Router {
    b: DuplexStream,
    decoder: FrameDecoder,
    ser: Arc<dyn Serializer>,
}

impl Router {
    /// The messages written to the router since the last look (without waiting).
    async fn written(&mut self) -> Vec<Message> {
        let mut buf = [0u8; 4096];
        loop {
            let mut rb = ReadBuf::new(&mut buf);
            let ready =
                poll_fn(|cx| Poll::Ready(Pin::new(&mut self.b).poll_read(cx, &mut rb).is_ready()))
                    .await;
            if !ready || rb.filled().is_empty() {
                break;
            }
            self.decoder.feed(rb.filled());
        }
        let mut out = Vec::new();
        while let Some(frame) = self.decoder.next_frame().unwrap() {
            assert_eq!(
                frame.kind,
                FrameKind::Message,
                "no PING with the WAMP probe"
            );
            out.extend(self.ser.unserialize(&frame.payload, false).unwrap());
        }
        out
    }

    async fn write(&mut self, msg: Message) {
        let mut payload = Vec::new();
        self.ser.serialize_into(&msg, &mut payload).unwrap();
        let mut frame = bytes::BytesMut::new();
        crate::rawsocket::encode_frame(FrameKind::Message, &payload, 1 << 24, &mut frame).unwrap();
        self.b.write_all(&frame).await.unwrap();
    }
}

async fn connect() -> (RawSocketTransport, Router) {
    let (a, mut b) = duplex(1 << 16);
    let router = tokio::spawn(async move {
        router_handshake(&mut b, |h| accept_reply(24, h.serializer)).await;
        b
    });
    let opts = RawSocketOptions {
        serializer: SerializerId::JSON,
        auto_ping_interval: Some(INTERVAL),
        auto_ping_timeout: Some(INTERVAL),
        ..RawSocketOptions::default()
    };
    let t = RawSocketTransport::connect_stream(a, "test", &opts)
        .await
        .unwrap();
    let router = Router {
        b: router.await.unwrap(),
        decoder: FrameDecoder::new(1 << 24),
        ser: for_rawsocket_id(SerializerId::JSON.get()).unwrap().into(),
    };
    (t, router)
}

/// `recv` for `d`: nothing may arrive meanwhile.
async fn quiet_for(t: &mut RawSocketTransport, d: Duration) {
    let got = tokio::time::timeout(d, t.recv()).await;
    assert!(got.is_err(), "expected nothing for {d:?}: {got:?}");
}

/// The probe calls among `msgs`.
fn probes(msgs: &[Message]) -> Vec<&Call> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Call(c) if c.procedure == KEEPALIVE_PROCEDURE => Some(c),
            _ => None,
        })
        .collect()
}

fn no_such_procedure(request: u64) -> Message {
    Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request,
        details: Default::default(),
        error: "wamp.error.no_such_procedure".into(),
        args: None,
        kwargs: None,
    })
}

fn goodbye() -> Message {
    Message::Goodbye(Goodbye {
        details: Default::default(),
        reason: "wamp.close.normal".into(),
    })
}

fn result(request: u64) -> Message {
    Message::Result(ResultMessage {
        request,
        ..ResultMessage::default()
    })
}

/// Joins: HELLO out, WELCOME in.
async fn join(t: &mut RawSocketTransport, r: &mut Router) {
    t.send(Message::Hello(Hello::default())).await.unwrap();
    r.write(Message::Welcome(Welcome {
        session: 7,
        ..Welcome::default()
    }))
    .await;
    assert!(matches!(t.recv().await, Some(Ok(Message::Welcome(_)))));
}

#[tokio::test(start_paused = true)]
async fn no_probe_before_welcome() {
    let (mut t, mut r) = connect().await;
    t.send(Message::Hello(Hello::default())).await.unwrap();
    // Thirty intervals of a silent router during the opening: neither a probe nor a
    // verdict (the session's own join timeout is for that).
    quiet_for(&mut t, INTERVAL * 30).await;
    let sent = r.written().await;
    assert!(matches!(sent.as_slice(), [Message::Hello(_)]), "{sent:?}");
    assert!(t.is_open());
    join_after_hello(&mut t, &mut r).await;
    quiet_for(&mut t, INTERVAL + Duration::from_millis(100)).await;
    assert_eq!(
        probes(&r.written().await).len(),
        1,
        "probing once established"
    );
}

async fn join_after_hello(t: &mut RawSocketTransport, r: &mut Router) {
    r.write(Message::Welcome(Welcome::default())).await;
    assert!(matches!(t.recv().await, Some(Ok(Message::Welcome(_)))));
}

#[tokio::test(start_paused = true)]
async fn probe_goes_out_after_an_interval_of_silence_and_its_answer_is_swallowed() {
    let (mut t, mut r) = connect().await;
    join(&mut t, &mut r).await;
    let _ = r.written().await;
    quiet_for(&mut t, INTERVAL - Duration::from_millis(100)).await;
    assert!(
        probes(&r.written().await).is_empty(),
        "no probe before the interval"
    );
    quiet_for(&mut t, Duration::from_millis(200)).await;
    let sent = r.written().await;
    let [probe] = probes(&sent)[..] else {
        panic!("one probe: {sent:?}")
    };
    assert!(KEEPALIVE_REQUEST_IDS.contains(&probe.request), "{probe:?}");
    // The router's answer, then an ordinary result: the session sees only the latter.
    r.write(no_such_procedure(probe.request)).await;
    r.write(result(1)).await;
    match t.recv().await {
        Some(Ok(Message::Result(m))) => assert_eq!(m.request, 1),
        other => panic!("the probe's answer leaked: {other:?}"),
    }
    // A RESULT to a probe (a router that lets someone register it) is swallowed too.
    quiet_for(&mut t, INTERVAL + Duration::from_millis(100)).await;
    let sent = r.written().await;
    let [probe] = probes(&sent)[..] else {
        panic!("a second probe: {sent:?}")
    };
    r.write(result(probe.request)).await;
    quiet_for(&mut t, Duration::from_millis(500)).await;
    assert!(t.is_open(), "answered: alive");
}

#[tokio::test(start_paused = true)]
async fn traffic_puts_the_probe_off() {
    let (mut t, mut r) = connect().await;
    join(&mut t, &mut r).await;
    let _ = r.written().await;
    // A message every 0.7 s for ten intervals: never an interval of silence.
    for i in 0..15 {
        quiet_for(&mut t, Duration::from_millis(700)).await;
        r.write(result(i + 1)).await;
        assert!(matches!(t.recv().await, Some(Ok(Message::Result(_)))));
    }
    assert!(
        probes(&r.written().await).is_empty(),
        "no probe while traffic flows"
    );
    quiet_for(&mut t, INTERVAL + Duration::from_millis(100)).await;
    assert_eq!(probes(&r.written().await).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn silence_after_the_probe_fails_the_link_within_interval_and_timeout() {
    let (mut t, mut r) = connect().await;
    join(&mut t, &mut r).await;
    let start = tokio::time::Instant::now();
    let lost = t.recv().await;
    assert!(
        matches!(&lost, Some(Err(TransportError::Lost(why))) if why.contains("keepalive")),
        "{lost:?}"
    );
    assert_eq!(start.elapsed(), INTERVAL * 2);
    assert_eq!(probes(&r.written().await).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn no_probe_once_closing() {
    // Our GOODBYE: the router may take its time to answer it.
    let (mut t, mut r) = connect().await;
    join(&mut t, &mut r).await;
    t.send(goodbye()).await.unwrap();
    quiet_for(&mut t, INTERVAL * 30).await;
    let sent = r.written().await;
    assert!(
        matches!(sent.as_slice(), [_, Message::Goodbye(_)]),
        "{sent:?}"
    );
    // The router's GOODBYE.
    let (mut t, mut r) = connect().await;
    join(&mut t, &mut r).await;
    r.write(goodbye()).await;
    assert!(matches!(t.recv().await, Some(Ok(Message::Goodbye(_)))));
    quiet_for(&mut t, INTERVAL * 30).await;
    assert!(probes(&r.written().await).is_empty());
}

#[test]
fn probe_ids_stay_in_their_range() {
    for n in [0, 1, (1 << 20) - 1, 1 << 20, u32::MAX] {
        let Message::Call(c) = reader::probe_call(n) else {
            panic!("a CALL")
        };
        assert!(
            KEEPALIVE_REQUEST_IDS.contains(&c.request),
            "{n}: {}",
            c.request
        );
    }
    assert_eq!(*KEEPALIVE_REQUEST_IDS.end(), crate::wamp::message::MAX_ID);
}
