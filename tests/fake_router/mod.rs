//! A scripted WAMP router over a real WebSocket on loopback (`wamp.2.json` only), for
//! the tests that drive `ApplicationRunner` through misbehaving or restarting routers.
//! Include it with `#[path = "fake_router/mod.rs"] mod fake_router;` next to
//! `mod common;`.
//!
//! Every connection, decoded message and close is reported to the test, which
//! scripts the answers it cares about; [`Answers::Basics`] makes the router answer
//! the session bookkeeping (HELLO, REGISTER, SUBSCRIBE, their undoing, GOODBYE) by
//! itself.
#![allow(dead_code)]

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use autobahn::dict;
use autobahn::wamp::message::*;
use autobahn::wamp::serializer::for_subprotocol;
use autobahn::wamp::value::{Dict, Value};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::common::EVENT_BOUND;

/// One connection to the router, as the test sees it.
#[derive(Clone)]
pub struct Conn {
    /// 1 for the first connection, 2 for the second ...
    pub number: u64,
    /// The router's end of it.
    pub channel: WebSocketChannel,
}

impl Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({})", self.number)
    }
}

impl Conn {
    /// Sends `msg` as JSON; a connection that is already gone is ignored (the tests
    /// learn of that from [`RouterEvent::Closed`]).
    pub async fn send(&self, msg: impl Into<Message>) {
        let _ = self.channel.send_message(json(&msg.into()), false).await;
    }

    /// The registration id [`Answers::Basics`] hands out on this connection.
    pub fn registration(&self) -> u64 {
        100 * self.number + 1
    }

    /// The subscription id [`Answers::Basics`] hands out on this connection.
    pub fn subscription(&self) -> u64 {
        100 * self.number + 2
    }
}

/// `msg` encoded with the JSON serializer.
pub fn json(msg: &Message) -> Vec<u8> {
    let s = for_subprotocol("wamp.2.json").expect("json serializer");
    s.serialize(msg).expect("serialize")
}

/// What happened at the router.
#[derive(Debug)]
pub enum RouterEvent {
    Open(Conn),
    Msg(u64, Message),
    /// Connection `n` closed, with the close code the client sent (if any).
    Closed(u64, Option<u16>),
}

/// What the router answers by itself.
#[derive(Debug, Clone, Copy)]
pub enum Answers {
    /// Nothing: the test scripts every answer.
    Nothing,
    /// WELCOME to HELLO (session `1000 + connection number`; or ABORT with the given
    /// reason), REGISTERED, SUBSCRIBED, UNREGISTERED, UNSUBSCRIBED, GOODBYE.
    Basics { abort: Option<&'static str> },
}

impl Answers {
    fn to(self, conn: &Conn, m: &Message) -> Option<Message> {
        let Answers::Basics { abort } = self else {
            return None;
        };
        Some(match m {
            Message::Hello(_) => match abort {
                Some(reason) => Abort {
                    details: Dict::new(),
                    reason: reason.into(),
                }
                .into(),
                None => Welcome {
                    session: 1000 + conn.number,
                    details: router_details(),
                }
                .into(),
            },
            Message::Register(r) => Registered {
                request: r.request,
                registration: conn.registration(),
            }
            .into(),
            Message::Subscribe(r) => Subscribed {
                request: r.request,
                subscription: conn.subscription(),
            }
            .into(),
            Message::Unregister(r) => Unregistered {
                request: r.request,
                details: Dict::new(),
            }
            .into(),
            Message::Unsubscribe(r) => Unsubscribed {
                request: r.request,
                details: Dict::new(),
            }
            .into(),
            Message::Goodbye(_) => Goodbye {
                details: Dict::new(),
                reason: "wamp.close.goodbye_and_out".into(),
            }
            .into(),
            _ => return None,
        })
    }
}

/// WELCOME details: the dealer and broker roles.
pub fn router_details() -> Dict {
    dict! {
        "roles" => Value::Dict(dict! {
            "dealer" => Value::Dict(dict! {}),
            "broker" => Value::Dict(dict! {}),
        }),
    }
}

/// The WebSocket handler of one connection.
struct Handler {
    conn: Conn,
    answers: Answers,
    events: mpsc::UnboundedSender<RouterEvent>,
}

impl WebSocketServerHandler for Handler {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        if request.protocols.iter().any(|p| p == "wamp.2.json") {
            Ok(ConnectionAccept::with_subprotocol("wamp.2.json".to_owned()))
        } else {
            Err(ConnectionDeny::new(400, Some("wamp.2.json only")))
        }
    }
}

impl WebSocketHandler for Handler {
    async fn on_open(&mut self) {
        let _ = self.events.send(RouterEvent::Open(self.conn.clone()));
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let s = for_subprotocol("wamp.2.json").expect("json serializer");
        let msgs = s
            .unserialize(&payload, is_binary)
            .expect("client sends JSON");
        for m in msgs {
            let answer = self.answers.to(&self.conn, &m);
            let _ = self.events.send(RouterEvent::Msg(self.conn.number, m));
            if let Some(answer) = answer {
                self.conn.send(answer).await;
            }
        }
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let _ = self
            .events
            .send(RouterEvent::Closed(self.conn.number, code));
    }
}

/// The running router; dropping it stops it.
pub struct Router {
    pub addr: SocketAddr,
    events: mpsc::UnboundedReceiver<RouterEvent>,
    task: JoinHandle<()>,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Router {
    /// Starts a router on `addr` (port 0: any free port).
    pub async fn start(addr: &str, answers: Answers) -> Router {
        let factory = WebSocketServerFactory::new("ws://127.0.0.1");
        let listener = factory.listen(addr).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (tx, events) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(async move {
            let _ = factory
                .serve(listener, move |channel| Handler {
                    conn: Conn {
                        number: count.fetch_add(1, Ordering::Relaxed) + 1,
                        channel,
                    },
                    answers,
                    events: tx.clone(),
                })
                .await;
        });
        Router { addr, events, task }
    }

    /// `ws://<addr>/ws`.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The next event if one is already there (to check that nothing else happened).
    pub fn try_next(&mut self) -> Option<RouterEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, within [`EVENT_BOUND`].
    pub async fn next(&mut self) -> RouterEvent {
        tokio::time::timeout(EVENT_BOUND, self.events.recv())
            .await
            .expect("router waited too long")
            .expect("router gone")
    }

    /// The next connection (closes of older ones are skipped).
    pub async fn open(&mut self) -> Conn {
        loop {
            match self.next().await {
                RouterEvent::Open(c) => return c,
                RouterEvent::Closed(..) => {}
                other => panic!("expected a new connection, got {other:?}"),
            }
        }
    }

    /// The next message on `conn`, or the close code if it closed first (closes of
    /// older connections are skipped).
    pub async fn msg_or_close(&mut self, conn: &Conn) -> Result<Message, Option<u16>> {
        loop {
            match self.next().await {
                RouterEvent::Msg(n, m) if n == conn.number => return Ok(m),
                RouterEvent::Closed(n, code) if n == conn.number => return Err(code),
                RouterEvent::Closed(n, _) if n < conn.number => {}
                other => panic!("expected a message on {conn:?}, got {other:?}"),
            }
        }
    }

    /// The next message on `conn`, which must not close first.
    pub async fn msg(&mut self, conn: &Conn) -> Message {
        match self.msg_or_close(conn).await {
            Ok(m) => m,
            Err(code) => panic!("{conn:?} closed ({code:?}) instead of sending"),
        }
    }

    /// Waits for `conn` to close (skipping its messages and older closes).
    pub async fn closed(&mut self, conn: &Conn) {
        loop {
            match self.next().await {
                RouterEvent::Closed(n, _) if n == conn.number => return,
                RouterEvent::Msg(..) | RouterEvent::Closed(..) => {}
                other => panic!("expected {conn:?} to close, got {other:?}"),
            }
        }
    }
}
