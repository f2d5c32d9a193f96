//! (b) WAMP over RawSocket against in-test routers: TCP, (c) a Unix socket, (d) TLS.

use super::*;

// ---------------------------------------------------------------------------------
// (b) WAMP over RawSocket: an in-test router
// ---------------------------------------------------------------------------------

/// The router side of one RawSocket connection.
struct RsRouter<S> {
    stream: S,
    serializer: Box<dyn Serializer>,
    decoder: FrameDecoder,
    /// What the client announced it accepts.
    client_max: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RsRouter<S> {
    /// Reads the client's hello and accepts it, announcing 2^`max_len_exp`.
    async fn accept(mut stream: S, max_len_exp: u8) -> (Self, SerializerId) {
        let mut hello = [0u8; 4];
        stream.read_exact(&mut hello).await.expect("client hello");
        let hs = parse_client_hello(hello).expect("valid hello");
        stream
            .write_all(&accept_reply(max_len_exp, hs.serializer))
            .await
            .unwrap();
        let serializer = for_rawsocket_id(hs.serializer.get()).expect("known serializer");
        let router = RsRouter {
            stream,
            serializer,
            decoder: FrameDecoder::new(1 << 24),
            client_max: hs.max_len(),
        };
        (router, hs.serializer)
    }

    /// The next frame, `None` on EOF.
    async fn frame(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(f) = self.decoder.next_frame().expect("valid frames from client") {
                return Some(f);
            }
            let n = self.stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return None;
            }
            self.decoder.feed(&buf[..n]);
        }
    }

    async fn msg(&mut self) -> Message {
        let f = self.frame().await.expect("a frame");
        assert_eq!(f.kind, FrameKind::Message);
        let mut msgs = self
            .serializer
            .unserialize(&f.payload, self.serializer.is_binary())
            .expect("decodes");
        assert_eq!(msgs.len(), 1);
        msgs.remove(0)
    }

    async fn send_frame(&mut self, kind: FrameKind, payload: &[u8]) {
        let mut out = BytesMut::new();
        encode_frame(kind, payload, self.client_max, &mut out).expect("fits");
        self.stream.write_all(&out).await.unwrap();
    }

    async fn send(&mut self, msg: &Message) {
        let payload = self.serializer.serialize(msg).unwrap();
        self.send_frame(FrameKind::Message, &payload).await;
    }

    /// Answers messages as [`router_reply`] says until EOF.
    async fn serve(mut self) {
        while let Some(f) = self.frame().await {
            if f.kind != FrameKind::Message {
                continue;
            }
            let msgs = self
                .serializer
                .unserialize(&f.payload, self.serializer.is_binary())
                .unwrap();
            for m in msgs {
                if let Some(r) = router_reply(&m) {
                    self.send(&r).await;
                }
            }
        }
    }
}

async fn tcp_listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rs://127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, url)
}

async fn accept_tcp(l: &tokio::net::TcpListener) -> tokio::net::TcpStream {
    l.accept().await.unwrap().0
}

#[tokio::test]
async fn rawsocket_handshake_for_each_serializer() {
    init_tracing();
    bounded(async {
        let (l, url) = tcp_listener().await;
        for (id, name) in [
            (SerializerId::JSON, "json"),
            (SerializerId::MSGPACK, "msgpack"),
            (SerializerId::CBOR, "cbor"),
            (SerializerId::UBJSON, "ubjson"),
        ] {
            let router = async {
                let (mut r, got) = RsRouter::accept(accept_tcp(&l).await, 20).await;
                assert_eq!(got, id);
                assert_eq!(r.client_max, 1 << 24, "default announces 16 MiB");
                assert_eq!(r.msg().await, hello("rs"));
                r.send(&router_reply(&hello("rs")).unwrap()).await;
                r.serve().await;
            };
            let client = async {
                let opts = RawSocketOptions {
                    serializer: id,
                    ..Default::default()
                };
                let mut t = RawSocketTransport::connect(&url, &opts).await.unwrap();
                assert_eq!(t.serializer_id(), name);
                assert_eq!(t.peer_max_len(), 1 << 20);
                assert!(t.peer().starts_with("tcp:127.0.0.1:"), "{}", t.peer());
                assert_eq!(t.channel_id("tls-exporter"), None, "no TLS, no binding");
                t.send(hello("rs")).await.unwrap();
                expect_welcome(t.recv().await, "rs");
                let args = vec![Value::bytes(noise(5000, 1)), Value::from("x")];
                t.send(publish(5, args.clone())).await.unwrap();
                expect_event(t.recv().await, 5, &args);
                t.close().await;
                assert!(!t.is_open());
                assert!(t.recv().await.is_none());
            };
            tokio::join!(router, client);
        }
    })
    .await;
}

#[tokio::test]
async fn rawsocket_default_serializer_is_cbor() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (r, got) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert_eq!(got, SerializerId::CBOR);
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            assert_eq!(t.serializer_id(), "cbor");
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_refusals_are_typed_connect_errors() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let opts = RawSocketOptions::default();
        for code in [
            HandshakeErrorCode::SerializerUnsupported,
            HandshakeErrorCode::MaxLengthUnacceptable,
            HandshakeErrorCode::ReservedBitsUsed,
            HandshakeErrorCode::MaxConnectionCountReached,
        ] {
            let router = async {
                let mut s = accept_tcp(&l).await;
                let mut hello = [0u8; 4];
                s.read_exact(&mut hello).await.unwrap();
                s.write_all(&error_reply(code)).await.unwrap();
                s
            };
            let client = RawSocketTransport::connect(&url, &opts);
            let (_s, res) = tokio::join!(router, client);
            match res {
                Err(RawSocketConnectError::Refused(c)) => assert_eq!(c, code),
                other => panic!("expected refusal {code}, got {other:?}"),
            }
        }
        // Not a RawSocket router at all.
        let router = async {
            let mut s = accept_tcp(&l).await;
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await
                .unwrap();
            s
        };
        let (_s, res) = tokio::join!(router, RawSocketTransport::connect(&url, &opts));
        assert!(
            matches!(res, Err(RawSocketConnectError::Handshake(_))),
            "{res:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn rawsocket_silent_router_times_out() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let opts = RawSocketOptions {
            handshake_timeout: Some(Duration::from_millis(100)),
            ..Default::default()
        };
        let (gave_up, client_gave_up) = tokio::sync::oneshot::channel::<()>();
        let router = async {
            let s = accept_tcp(&l).await;
            // Silent, holding the connection until the client has given up.
            let _ = client_gave_up.await;
            s
        };
        let client = async {
            let t0 = std::time::Instant::now();
            let res = RawSocketTransport::connect(&url, &opts).await;
            let waited = t0.elapsed();
            let _ = gave_up.send(());
            (res, waited)
        };
        let (_s, (res, waited)) = tokio::join!(router, client);
        assert!(
            matches!(res, Err(RawSocketConnectError::Timeout)),
            "{res:?}"
        );
        assert!(
            waited >= Duration::from_millis(100),
            "gave up after {waited:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn rawsocket_ping_is_answered_with_pong() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            for payload in [&b""[..], b"ping!", &noise(70_000, 3)] {
                r.send_frame(FrameKind::Ping, payload).await;
                let f = r.frame().await.expect("pong");
                assert_eq!(f.kind, FrameKind::Pong);
                assert!(f.payload == payload, "pong echoes the ping");
            }
            // Messages still flow after the pings.
            r.send(&router_reply(&hello("p")).unwrap()).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            // PINGs are answered by the transport's reader, without any recv.
            expect_welcome(t.recv().await, "p");
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_oversized_send_fails_and_transport_stays_usable() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            // The router accepts at most 512 bytes.
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 9).await;
            // The first thing to arrive is the small message after the refused one.
            let m = r.msg().await;
            assert_eq!(m, publish(2, vec![Value::from("small")]));
            r.send(&router_reply(&m).unwrap()).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            assert_eq!(t.peer_max_len(), 512);
            match t.send(publish(1, vec![Value::bytes(vec![7u8; 600])])).await {
                Err(TransportError::MessageTooLarge { size, max }) => {
                    assert!(size > 600, "{size}");
                    assert_eq!(max, 512);
                }
                other => panic!("expected MessageTooLarge, got {other:?}"),
            }
            assert!(t.is_open());
            t.send(publish(2, vec![Value::from("small")]))
                .await
                .unwrap();
            expect_event(t.recv().await, 2, &[Value::from("small")]);
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_large_messages_both_ways() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            // Several MiB queued at once exercise the send budget.
            let args = vec![Value::bytes(noise(3 << 20, 9))];
            for i in 0..3 {
                t.send(publish(i, args.clone())).await.unwrap();
            }
            for i in 0..3 {
                expect_event(t.recv().await, i, &args);
            }
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_router_closing_ends_recv() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert_eq!(r.msg().await, goodbye("wamp.close.normal"));
            r.send(&goodbye("wamp.close.goodbye_and_out")).await;
            // Dropping the router closes the connection.
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.send(goodbye("wamp.close.normal")).await.unwrap();
            assert_eq!(
                t.recv().await.unwrap().unwrap(),
                goodbye("wamp.close.goodbye_and_out")
            );
            assert!(t.recv().await.is_none());
            assert!(!t.is_open());
            assert!(matches!(
                t.send(hello("x")).await,
                Err(TransportError::Closed)
            ));
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_close_shuts_down_our_side() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            // Everything sent before close arrives, then EOF.
            assert_eq!(r.msg().await, goodbye("a"));
            assert_eq!(r.msg().await, goodbye("b"));
            assert!(r.frame().await.is_none(), "EOF after close");
            done_tx.send(()).unwrap();
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.send(goodbye("a")).await.unwrap();
            t.send(goodbye("b")).await.unwrap();
            t.close().await;
            assert!(!t.is_open());
            done_rx.await.unwrap();
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_abort_drops_the_connection() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert!(r.frame().await.is_none(), "connection dropped");
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.abort();
            assert!(!t.is_open());
            assert!(t.recv().await.is_none());
            // Dropping releases the socket.
            drop(t);
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_small_queue_loses_nothing() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let (burst_written, burst_on_its_way) = tokio::sync::oneshot::channel::<()>();
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            for i in 0..300u64 {
                r.send(&router_reply(&publish(i, vec![Value::from(i)])).unwrap())
                    .await;
            }
            // A PING behind the burst is answered once the application has read.
            r.send_frame(FrameKind::Ping, b"late").await;
            let _ = burst_written.send(());
            let f = r.frame().await.expect("pong");
            assert_eq!((f.kind, &f.payload[..]), (FrameKind::Pong, &b"late"[..]));
            r.serve().await;
        };
        let client = async {
            let opts = RawSocketOptions {
                queue_size: 1,
                ..Default::default()
            };
            let mut t = RawSocketTransport::connect(&url, &opts).await.unwrap();
            // Read only once the whole burst is on its way. `queue_size` has no effect
            // any more (`recv` reads the socket itself, nothing is queued ahead of it):
            // the burst waits in TCP's buffers and behind the router's blocked writes.
            burst_on_its_way.await.unwrap();
            for i in 0..300u64 {
                expect_event(t.recv().await, i, &[Value::from(i)]);
            }
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

// ---------------------------------------------------------------------------------
// (c) RawSocket over a Unix domain socket
// ---------------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn rawsocket_over_unix_socket() {
    bounded(async {
        let path = std::env::temp_dir().join(format!(
            "autobahn-rs-wamp-{}-{:?}.sock",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let l = tokio::net::UnixListener::bind(&path).unwrap();
        let url = format!("rs://unix:{}", path.display());
        let router = async {
            let (s, _) = l.accept().await.unwrap();
            let (r, got) = RsRouter::accept(s, 24).await;
            assert_eq!(got, SerializerId::MSGPACK);
            r.serve().await;
        };
        let client = async {
            let opts = RawSocketOptions {
                serializer: SerializerId::MSGPACK,
                ..Default::default()
            };
            let mut t = RawSocketTransport::connect(&url, &opts).await.unwrap();
            assert_eq!(t.peer(), format!("unix:{}", path.display()));
            t.send(hello("unix")).await.unwrap();
            expect_welcome(t.recv().await, "unix");
            t.close().await;
        };
        tokio::join!(router, client);
        let _ = std::fs::remove_file(&path);
    })
    .await;
}

// ---------------------------------------------------------------------------------
// (d) rss:// with a self-signed certificate
// ---------------------------------------------------------------------------------

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};

    fn localhost_cert() -> (String, String) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        (ck.cert.pem(), ck.key_pair.serialize_pem())
    }

    async fn tls_listener() -> (
        tokio::net::TcpListener,
        String,
        tokio_rustls::TlsAcceptor,
        String,
    ) {
        let (cert, key) = localhost_cert();
        let config = server_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("rss://localhost:{}", l.local_addr().unwrap().port());
        (l, url, tokio_rustls::TlsAcceptor::from(config), cert)
    }

    #[tokio::test]
    async fn rawsocket_over_tls_with_trusted_self_signed_cert() {
        bounded(async {
            let (l, url, acceptor, cert) = tls_listener().await;
            let (key_tx, key_rx) = tokio::sync::oneshot::channel();
            let router = async {
                let tls = acceptor
                    .accept(accept_tcp(&l).await)
                    .await
                    .expect("tls accept");
                let mut key = [0u8; 32];
                tls.get_ref()
                    .1
                    .export_keying_material(&mut key, b"EXPORTER-Channel-Binding", None)
                    .unwrap();
                key_tx.send(key.to_vec()).unwrap();
                let (r, _) = RsRouter::accept(tls, 24).await;
                r.serve().await;
            };
            let client = async {
                let opts = RawSocketOptions {
                    tls: Some(client_config_with_ca_pem(cert.as_bytes()).unwrap()),
                    ..Default::default()
                };
                let mut t = RawSocketTransport::connect(&url, &opts).await.expect("rss");
                let binding = t.channel_id("tls-exporter").expect("tls-exporter binding");
                assert_eq!(
                    binding,
                    key_rx.await.unwrap(),
                    "both ends derive the same binding"
                );
                assert_eq!(t.channel_id("tls-unique"), None);
                t.send(hello("secure")).await.unwrap();
                expect_welcome(t.recv().await, "secure");
                let args = vec![Value::bytes(noise(100_000, 4))];
                t.send(publish(8, args.clone())).await.unwrap();
                expect_event(t.recv().await, 8, &args);
                t.close().await;
            };
            tokio::join!(router, client);
        })
        .await;
    }

    #[tokio::test]
    async fn rawsocket_over_tls_rejects_untrusted_cert() {
        bounded(async {
            let (l, url, acceptor, _cert) = tls_listener().await;
            let (other, _) = localhost_cert();
            let router = async {
                // The handshake fails on the client's side.
                let _ = acceptor.accept(accept_tcp(&l).await).await;
            };
            let opts = RawSocketOptions {
                tls: Some(client_config_with_ca_pem(other.as_bytes()).unwrap()),
                ..Default::default()
            };
            let (_, res) = tokio::join!(router, RawSocketTransport::connect(&url, &opts));
            assert!(
                matches!(res, Err(RawSocketConnectError::Tls { .. })),
                "{res:?}"
            );
        })
        .await;
    }
}

/// A hostile RawSocket router: each way of sending bytes that are not a valid stream of
/// WAMP messages ends `recv` with one typed error and then `None` (nothing panics,
/// nothing hangs), and the transport is closed afterwards.
#[tokio::test]
async fn rawsocket_hostile_router_bytes_fail_recv_cleanly() {
    bounded(async {
        // Our limit is 2^16; each case is what the router writes after the handshake.
        let garbage_frame = [&[0u8, 0, 0, 5][..], b"\xc1\xc1\xc1\xc1\xc1"].concat();
        type Expect = fn(&TransportError) -> bool;
        let cases: [(&str, Vec<u8>, Expect); 5] = [
            (
                "undecodable payload",
                garbage_frame,
                |e| matches!(e, TransportError::Protocol(m) if m.contains("msgpack")),
            ),
            // A header announcing more than we accept: refused before any allocation.
            (
                "frame over our limit",
                vec![0, 0x01, 0x00, 0x01],
                |e| matches!(e, TransportError::Protocol(m) if m.contains("65537")),
            ),
            ("reserved frame type", vec![3, 0, 0, 0], |e| {
                matches!(e, TransportError::Protocol(_))
            }),
            // A frame cut short by the router going away.
            ("truncated frame", vec![0, 0, 0, 9, 0x93], |e| {
                matches!(e, TransportError::Lost(_))
            }),
            (
                "valid list, not a WAMP message",
                [&[0u8, 0, 0, 2][..], &[0x91, 0x00]].concat(),
                |e| matches!(e, TransportError::Protocol(_)),
            ),
        ];
        for (what, bytes, expected) in cases {
            let (l, url) = tcp_listener().await;
            let router = async {
                let mut s = accept_tcp(&l).await;
                let mut hello = [0u8; 4];
                s.read_exact(&mut hello).await.unwrap();
                let hs = parse_client_hello(hello).unwrap();
                s.write_all(&accept_reply(24, hs.serializer)).await.unwrap();
                s.write_all(&bytes).await.unwrap();
                // Close our side (the truncated case needs the EOF); keep reading
                // until the client goes.
                s.shutdown().await.unwrap();
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest).await;
            };
            let client = async {
                let options = RawSocketOptions {
                    serializer: SerializerId::MSGPACK,
                    max_len_exp: 16,
                    ..Default::default()
                };
                let mut t = RawSocketTransport::connect(&url, &options).await.unwrap();
                match t.recv().await {
                    Some(Err(e)) => assert!(expected(&e), "{what}: {e:?}"),
                    other => panic!("{what}: {other:?}"),
                }
                assert!(t.recv().await.is_none(), "{what}: nothing after the error");
                assert!(!t.is_open(), "{what}");
            };
            tokio::join!(router, client);
        }
    })
    .await;
}
