//! The floor of a sequential WAMP call over RawSocket + MessagePack on this machine:
//! what any client must spend per call, whatever its language.
//!
//! A caller and a callee session, both on this one thread, over two blocking
//! `std::net::TcpStream`s, with no runtime, no tasks, no queues and no poller: per
//! call exactly one `write` of CALL, one blocking `read` of INVOCATION, one `write` of
//! YIELD and one blocking `read` of RESULT (the thread sleeps in `read` while the
//! router works: two sleeps and wake-ups per call, as for any client that waits for
//! the router). Messages are encoded and decoded with our MessagePack serializer
//! (well under 1 µs each). CPU time per call is the process's, as for our client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use autobahn::rawsocket::handshake::{ClientHandshake, SerializerId};
use autobahn::rawsocket::{encode_frame, FrameDecoder, FrameKind};
use autobahn::wamp::message::{Call, Hello, Message, Register, Yield};
use autobahn::wamp::serializer::{MsgPackSerializer, Serializer};
use autobahn::wamp::{Dict, Value};
use bytes::BytesMut;

/// One RawSocket session on a blocking socket.
struct Blocking {
    stream: TcpStream,
    decoder: FrameDecoder,
    peer_max_len: u32,
    buf: Vec<u8>,
    out: BytesMut,
}

impl Blocking {
    fn join(addr: SocketAddr, realm: &str, role: &str) -> Blocking {
        let mut stream = TcpStream::connect(addr).expect("connect to Crossbar");
        stream.set_nodelay(true).expect("nodelay");
        let hs = ClientHandshake {
            max_len_exp: 24,
            serializer: SerializerId::MSGPACK,
        };
        stream.write_all(&hs.to_bytes()).expect("handshake");
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply).expect("handshake reply");
        let hello = hs.check_reply(reply).expect("RawSocket accepted");
        let mut s = Blocking {
            stream,
            decoder: FrameDecoder::new(hs.max_len()),
            peer_max_len: hello.max_len(),
            buf: vec![0; 64 * 1024],
            out: BytesMut::new(),
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
        let payload = MsgPackSerializer::new().serialize(m).expect("encode");
        self.out.clear();
        encode_frame(
            FrameKind::Message,
            &payload,
            self.peer_max_len,
            &mut self.out,
        )
        .expect("frame");
        self.stream.write_all(&self.out).expect("write");
    }

    fn recv(&mut self) -> Message {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("RawSocket frame") {
                if frame.kind == FrameKind::Message {
                    let mut msgs = MsgPackSerializer::new()
                        .unserialize(&frame.payload, true)
                        .expect("decode");
                    return msgs.remove(0);
                }
                continue; // Crossbar does not ping here
            }
            let n = self.stream.read(&mut self.buf).expect("read");
            assert!(n > 0, "Crossbar closed the connection");
            self.decoder.feed(&self.buf[..n]);
        }
    }
}

/// `warmup` then `n` sequential echo calls; returns (wall seconds, process CPU seconds)
/// of the measured ones, using `cpu` as the clock.
pub fn sequential_calls(
    addr: SocketAddr,
    realm: &str,
    uri: &str,
    warmup: usize,
    n: usize,
    cpu: fn() -> f64,
) -> (f64, f64) {
    let mut callee = Blocking::join(addr, realm, "callee");
    let mut caller = Blocking::join(addr, realm, "caller");
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
