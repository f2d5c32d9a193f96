//! The RawSocket side of the flood tests: a scripted router (MessagePack) over TCP
//! and a joined session talking to it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autobahn::rawsocket::handshake::{accept_reply, SerializerId};
use autobahn::rawsocket::{encode_frame, FrameKind};
use autobahn::wamp::message::{self, Message};
use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use autobahn::wamp::serializer::{for_subprotocol, Serializer};
use autobahn::wamp::session::Lifecycle;
use autobahn::wamp::{CallOptions, ComponentConfig, Dict, Session, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;

use super::{join, BOUND, EVENT_ARG, PROCEDURE};

/// The router's end of a RawSocket connection (MessagePack).
pub struct RawRouter {
    rd: OwnedReadHalf,
    /// `None` while a flood task has it.
    pub wr: Option<OwnedWriteHalf>,
    s: Arc<dyn Serializer>,
}

impl RawRouter {
    /// Accepts one client and answers its handshake.
    pub async fn accept(listener: TcpListener) -> RawRouter {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 4];
        stream.read_exact(&mut hello).await.unwrap();
        stream
            .write_all(&accept_reply(24, SerializerId::MSGPACK))
            .await
            .unwrap();
        let (rd, wr) = stream.into_split();
        let s = Arc::from(for_subprotocol("wamp.2.msgpack").unwrap());
        RawRouter {
            rd,
            wr: Some(wr),
            s,
        }
    }

    /// The next message from the client.
    pub async fn recv(&mut self) -> Message {
        let mut header = [0u8; 4];
        self.rd.read_exact(&mut header).await.unwrap();
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let mut payload = vec![0u8; len];
        self.rd.read_exact(&mut payload).await.unwrap();
        let mut msgs = self.s.unserialize(&payload, true).unwrap();
        assert_eq!(msgs.len(), 1);
        msgs.remove(0)
    }

    /// A message as a RawSocket frame.
    fn frame(s: &dyn Serializer, m: &Message) -> bytes::BytesMut {
        let mut frame = bytes::BytesMut::new();
        encode_frame(
            FrameKind::Message,
            &s.serialize(m).unwrap(),
            1 << 24,
            &mut frame,
        )
        .unwrap();
        frame
    }

    pub async fn send(&mut self, m: Message) {
        let frame = Self::frame(&*self.s, &m);
        let wr = self.wr.as_mut().expect("not flooding");
        wr.write_all(&frame).await.unwrap();
    }

    /// Writes `count` messages made by `make` (from 1) from a task, counting
    /// [`EVENT_ARG`] bytes per message written in `sent`; [`Self::flooded`] waits for it.
    pub fn flood(
        &mut self,
        count: u64,
        make: impl Fn(u64) -> Message + Send + 'static,
    ) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<OwnedWriteHalf>) {
        let sent = Arc::new(AtomicUsize::new(0));
        let task = {
            let (s, sent) = (self.s.clone(), sent.clone());
            let mut wr = self.wr.take().expect("one flood at a time");
            tokio::spawn(async move {
                for n in 1..=count {
                    wr.write_all(&Self::frame(&*s, &make(n))).await.unwrap();
                    sent.fetch_add(EVENT_ARG, Ordering::Relaxed);
                }
                wr
            })
        };
        (sent, task)
    }

    /// Waits for the flood to end and takes the write half back.
    pub async fn flooded(&mut self, task: tokio::task::JoinHandle<OwnedWriteHalf>) {
        self.wr = Some(task.await.unwrap());
    }
}

/// A session over RawSocket (the transport's budget [`BOUND`]), joined.
pub async fn rawsocket_session() -> (Session, Lifecycle, RawRouter) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(RawRouter::accept(listener));
    let options = RawSocketOptions {
        serializer: SerializerId::MSGPACK,
        max_queued_bytes: BOUND,
        ..RawSocketOptions::default()
    };
    let transport = RawSocketTransport::connect(&format!("rs://{addr}"), &options)
        .await
        .unwrap();
    let mut router = accept.await.unwrap();
    let (session, mut lifecycle) = Session::start(transport, ComponentConfig::new("realm1"));
    let welcome = async {
        assert!(matches!(router.recv().await, Message::Hello(_)));
        router
            .send(Message::Welcome(message::Welcome {
                session: 1,
                details: crate::fake_router::router_details(),
            }))
            .await;
    };
    tokio::join!(join(&session, &mut lifecycle), welcome);
    (session, lifecycle, router)
}

/// Calls [`PROCEDURE`] and answers it from the router: the session still works.
pub async fn rawsocket_call_is_answered(session: &Session, router: &mut RawRouter) {
    let call = tokio::spawn({
        let session = session.clone();
        async move {
            session
                .call(PROCEDURE, vec![], Dict::new(), CallOptions::default())
                .await
        }
    });
    let c = loop {
        match router.recv().await {
            Message::Call(c) => break c,
            Message::Yield(_) => {}
            other => panic!("expected CALL, got {other:?}"),
        }
    };
    assert_eq!(c.procedure, PROCEDURE);
    router
        .send(Message::Result(message::ResultMessage {
            request: c.request,
            details: Dict::new(),
            args: Some(vec![Value::from("still here")]),
            kwargs: None,
        }))
        .await;
    let r = call.await.unwrap().unwrap();
    assert_eq!(r.value().as_str(), Some("still here"));
}
