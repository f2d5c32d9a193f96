//! The floor of a sequential WAMP call on this machine, over RawSocket + MessagePack
//! or WebSocket + JSON: what any client must spend per call, whatever its language.
//!
//! A caller and a callee session, both on this one thread, over two blocking
//! `std::net::TcpStream`s, with no runtime, no tasks, no queues and no poller: per
//! call exactly one `write` of CALL, one blocking `read` of INVOCATION, one `write` of
//! YIELD and one blocking `read` of RESULT (the thread sleeps in `read` while the
//! router works: two sleeps and wake-ups per call, as for any client that waits for
//! the router). Messages are encoded and decoded with our serializers, and framed
//! with our sans-IO RawSocket and WebSocket codecs (well under 1 µs each). CPU time
//! per call is the process's, as for our client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use autobahn::rawsocket::handshake::{ClientHandshake, SerializerId};
use autobahn::rawsocket::{encode_frame, FrameDecoder, FrameKind};
use autobahn::wamp::message::{Call, Hello, Message, Register, Yield};
use autobahn::wamp::serializer::{JsonSerializer, MsgPackSerializer, Serializer};
use autobahn::wamp::{Dict, Value};
use autobahn::websocket::handshake::ClientHandshake as WsHandshake;
use autobahn::websocket::protocol::{Connection, Event, ProtocolConfig, Role};
use bytes::BytesMut;

/// Which transport and serializer the floor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// RawSocket + MessagePack.
    RawSocketMsgpack,
    /// WebSocket (`/ws`, `wamp.2.json`, no extensions) + JSON.
    WebSocketJson,
}

/// The framing state of one connection.
enum Framing {
    RawSocket {
        decoder: FrameDecoder,
        peer_max_len: u32,
        out: BytesMut,
    },
    WebSocket(Box<Connection>),
}

/// One WAMP session on a blocking socket.
struct Blocking {
    stream: TcpStream,
    framing: Framing,
    serializer: Box<dyn Serializer>,
    buf: Vec<u8>,
}

impl Blocking {
    fn join(addr: SocketAddr, wire: Wire, realm: &str, role: &str) -> Blocking {
        let mut stream = TcpStream::connect(addr).expect("connect to Crossbar");
        stream.set_nodelay(true).expect("nodelay");
        let mut buf = vec![0; 64 * 1024];
        let (framing, serializer): (Framing, Box<dyn Serializer>) = match wire {
            Wire::RawSocketMsgpack => {
                let hs = ClientHandshake {
                    max_len_exp: 24,
                    serializer: SerializerId::MSGPACK,
                };
                stream.write_all(&hs.to_bytes()).expect("handshake");
                let mut reply = [0u8; 4];
                stream.read_exact(&mut reply).expect("handshake reply");
                let hello = hs.check_reply(reply).expect("RawSocket accepted");
                let framing = Framing::RawSocket {
                    decoder: FrameDecoder::new(hs.max_len()),
                    peer_max_len: hello.max_len(),
                    out: BytesMut::new(),
                };
                (framing, Box::new(MsgPackSerializer::new()))
            }
            Wire::WebSocketJson => {
                let mut hs = WsHandshake::new(addr.ip().to_string(), addr.port(), false);
                hs.resource = "/ws".into();
                hs.protocols = vec!["wamp.2.json".into()];
                let (request, key) = hs.build_request().expect("handshake request");
                stream.write_all(&request).expect("handshake");
                let mut parser = hs.response_parser(&key, addr.to_string());
                let mut head = Vec::new();
                let used = loop {
                    let n = stream.read(&mut buf).expect("handshake reply");
                    assert!(n > 0, "Crossbar closed during the handshake");
                    head.extend_from_slice(&buf[..n]);
                    if let Some((_, used)) = parser.parse(&head).expect("WebSocket accepted") {
                        break used;
                    }
                };
                let mut conn = Connection::new(ProtocolConfig::new(Role::Client));
                conn.receive_data(&head[used..]).expect("WebSocket frames");
                (
                    Framing::WebSocket(Box::new(conn)),
                    Box::new(JsonSerializer::new()),
                )
            }
        };
        let mut s = Blocking {
            stream,
            framing,
            serializer,
            buf,
        };
        let mut roles = Dict::new();
        roles.insert(role.to_owned(), Value::Dict(Dict::new()));
        let mut details = Dict::new();
        details.insert("roles".to_owned(), Value::Dict(roles));
        s.send(&Message::Hello(Hello {
            realm: realm.to_owned(),
            details,
        }));
        match s.recv() {
            Message::Welcome(_) => s,
            other => panic!("joining: {other:?}"),
        }
    }

    fn send(&mut self, m: &Message) {
        let payload = self.serializer.serialize(m).expect("encode");
        match &mut self.framing {
            Framing::RawSocket {
                peer_max_len, out, ..
            } => {
                out.clear();
                encode_frame(FrameKind::Message, &payload, *peer_max_len, out).expect("frame");
                self.stream.write_all(out).expect("write");
            }
            Framing::WebSocket(conn) => {
                conn.send_message(payload, self.serializer.is_binary())
                    .expect("send");
                self.stream.write_all(&conn.take_output()).expect("write");
            }
        }
    }

    /// The next complete message payload already received, if any.
    fn buffered_payload(&mut self) -> Option<bytes::Bytes> {
        match &mut self.framing {
            Framing::RawSocket { decoder, .. } => loop {
                let frame = decoder.next_frame().expect("RawSocket frame")?;
                if frame.kind == FrameKind::Message {
                    return Some(frame.payload);
                } // Crossbar does not ping here
            },
            Framing::WebSocket(conn) => match conn.next_event()? {
                Event::Message { payload, .. } => Some(payload),
                other => panic!("unexpected WebSocket event {other:?}"),
            },
        }
    }

    fn recv(&mut self) -> Message {
        loop {
            if let Some(payload) = self.buffered_payload() {
                let mut msgs = self
                    .serializer
                    .unserialize(&payload, self.serializer.is_binary())
                    .expect("decode");
                return msgs.remove(0);
            }
            let n = self.stream.read(&mut self.buf).expect("read");
            assert!(n > 0, "Crossbar closed the connection");
            match &mut self.framing {
                Framing::RawSocket { decoder, .. } => decoder.feed(&self.buf[..n]),
                Framing::WebSocket(conn) => {
                    conn.receive_data(&self.buf[..n]).expect("WebSocket frames")
                }
            }
        }
    }
}

/// `warmup` then `n` sequential echo calls; returns (wall seconds, process CPU seconds)
/// of the measured ones, using `cpu` as the clock.
pub fn sequential_calls(
    addr: SocketAddr,
    wire: Wire,
    realm: &str,
    uri: &str,
    warmup: usize,
    n: usize,
    cpu: fn() -> f64,
) -> (f64, f64) {
    let mut callee = Blocking::join(addr, wire, realm, "callee");
    let mut caller = Blocking::join(addr, wire, realm, "caller");
    callee.send(&Message::Register(Register {
        request: 1,
        options: Dict::new(),
        procedure: uri.to_owned(),
    }));
    match callee.recv() {
        Message::Registered(_) => {}
        other => panic!("registering: {other:?}"),
    }
    let mut call = |i: usize| {
        caller.send(&Message::Call(Call {
            request: i as u64 + 1,
            options: Dict::new(),
            procedure: uri.to_owned(),
            args: Some(vec![Value::from(i as u64)]),
            kwargs: None,
        }));
        let Message::Invocation(inv) = callee.recv() else {
            panic!("expected INVOCATION")
        };
        callee.send(&Message::Yield(Yield {
            request: inv.request,
            options: Dict::new(),
            args: inv.args,
            kwargs: None,
        }));
        match caller.recv() {
            Message::Result(r) => assert_eq!(r.args, Some(vec![Value::from(i as u64)])),
            other => panic!("calling: {other:?}"),
        }
    };
    for i in 0..warmup {
        call(i);
    }
    let (t0, c0) = (Instant::now(), cpu());
    for i in warmup..warmup + n {
        call(i);
    }
    (t0.elapsed().as_secs_f64(), cpu() - c0)
}
