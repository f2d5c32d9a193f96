//! Server policy over real sockets: allowed origins, the `null` origin, connection
//! limits, the status page, and HTTP errors for bad requests.

mod common;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;

fn server_with(options: ServerOptions) -> WebSocketServerFactory {
    WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options)
}

/// Connects with `origin`; `Ok(())` if accepted, else the HTTP status.
async fn try_origin(server: &TestServer, origin: &str) -> Result<(), u16> {
    let factory = WebSocketClientFactory::new(&server.url("/"))
        .unwrap()
        .origin(origin);
    let (tx, _rx) = events();
    match factory.connect(|ch| Recorder::new(ch, tx)).await {
        Ok(_conn) => Ok(()),
        Err(Error::HttpStatus { status, .. }) => Err(status),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// A handshake request by hand with the given version line and extra header lines.
fn request(addr: std::net::SocketAddr, version: &str, extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn allowed_origins_pattern() {
    bounded(async {
        let options = ServerOptions {
            allowed_origins: vec!["https://*.example.com:443".into()],
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        assert_eq!(try_origin(&server, "https://a.example.com").await, Ok(()));
        assert_eq!(
            sev.request().await.origin.as_deref(),
            Some("https://a.example.com")
        );
        assert_eq!(
            try_origin(&server, "https://a.b.example.com:443").await,
            Ok(())
        );
        assert_eq!(
            try_origin(&server, "https://evilexample.com").await,
            Err(403)
        );
        assert_eq!(
            try_origin(&server, "https://a.example.com.evil.org").await,
            Err(403)
        );
        assert_eq!(
            try_origin(&server, "http://a.example.com").await,
            Err(403),
            "scheme/port differ"
        );
        assert_eq!(
            try_origin(&server, "https://a.example.com:8443").await,
            Err(403)
        );
        assert_eq!(try_origin(&server, "null").await, Err(403));

        // The 403 response to a raw request, and no handler hook for refused requests.
        let resp = raw_exchange(
            server.addr,
            request(server.addr, "13", "Origin: https://evilexample.com\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&resp), 403, "{resp}");
        // Only accepted origins reached on_connect.
        let mut seen = Vec::new();
        while let Ok(ev) = sev.rx.try_recv() {
            if let Ev::Request(r) = ev {
                seen.push(r.origin.unwrap_or_default());
            }
        }
        assert_eq!(seen, ["https://a.b.example.com:443"]);
    })
    .await;
}

#[tokio::test]
async fn null_origin_only_when_allowed() {
    bounded(async {
        let (strict, _e1) = start_echo_server(server_with(ServerOptions::default())).await;
        assert_eq!(try_origin(&strict, "null").await, Err(403));
        // Any real origin passes the default `*` policy.
        assert_eq!(try_origin(&strict, "https://anything.test").await, Ok(()));

        let options = ServerOptions {
            allow_null_origin: true,
            ..Default::default()
        };
        let (lenient, _e2) = start_echo_server(server_with(options)).await;
        assert_eq!(try_origin(&lenient, "null").await, Ok(()));
    })
    .await;
}

#[tokio::test]
async fn max_connections_answers_503_and_frees_slots() {
    bounded(async {
        let options = ServerOptions {
            max_connections: 2,
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let mut open = Vec::new();
        for _ in 0..2 {
            let (tx, mut rx) = events();
            let conn = factory
                .connect(|ch| Recorder::new(ch, tx))
                .await
                .expect("within the limit");
            let task = conn.spawn();
            let ch = rx.open().await;
            open.push((ch, rx, task));
        }
        let (tx, _rx) = events();
        match factory.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::HttpStatus { status, .. }) => assert_eq!(status, 503),
            Err(e) => panic!("expected 503, got {e}"),
            Ok(_) => panic!("a third connection was accepted with max_connections = 2"),
        }
        // The refused attempt did not take a slot for good: the open ones still work.
        let (ch, mut rx, task) = open.remove(0);
        ch.send_text("one").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("one"));

        // Close one; once the server has finished with it, a new one is accepted.
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(rx.close().await.0);
        task.await.unwrap();
        sev.close().await;
        let (tx, mut rx) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("a slot is free again");
        let _task = conn.spawn();
        let ch = rx.open().await;
        ch.send_text("two").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("two"));
        // And the server is full again.
        let (tx, _rx) = events();
        assert!(matches!(
            factory.connect(|ch| Recorder::new(ch, tx)).await,
            Err(Error::HttpStatus { status: 503, .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn web_status_page_and_upgrade_required() {
    bounded(async {
        let (server, mut sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let resp = raw_exchange(server.addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
        assert_eq!(status_of(&resp), 200, "{resp}");
        assert!(
            header_of(&resp, "content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{resp}"
        );
        assert!(resp.to_ascii_lowercase().contains("<html"), "{resp}");
        assert!(sev.is_empty());

        let options = ServerOptions {
            web_status: false,
            ..Default::default()
        };
        let (server, _sev) = start_echo_server(server_with(options)).await;
        let resp = raw_exchange(server.addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
        assert_eq!(status_of(&resp), 426, "{resp}");
    })
    .await;
}

#[tokio::test]
async fn bad_requests_get_http_errors() {
    bounded(async {
        let (server, mut sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let addr = server.addr;

        // Unsupported version: 426 listing what we speak.
        let resp = raw_exchange(addr, request(addr, "7", "").as_bytes()).await;
        assert_eq!(status_of(&resp), 426, "{resp}");
        let versions = header_of(&resp, "sec-websocket-version").unwrap_or("");
        assert!(versions.contains("13") && versions.contains('8'), "{resp}");

        // Malformed requests: 400.
        for bad in [
            "GARBAGE\r\n\r\n".to_string(),
            "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_string(),
            request(addr, "13", "").replace("dGhlIHNhbXBsZSBub25jZQ==", "tooshort"),
            request(addr, "banana", ""),
        ] {
            let resp = raw_exchange(addr, bad.as_bytes()).await;
            assert_eq!(status_of(&resp), 400, "request {bad:?} got {resp}");
        }

        // Not GET: 405.
        let resp = raw_exchange(addr, request(addr, "13", "").replacen("GET", "POST", 1).as_bytes()).await;
        assert_eq!(status_of(&resp), 405, "{resp}");

        // A head over max_handshake_size: refused without reading it all.
        let huge = request(addr, "13", &format!("X-Big: {}\r\n", "a".repeat(32 * 1024)));
        let resp = raw_exchange(addr, huge.as_bytes()).await;
        // (The server discards the rest before closing, so no reset destroys it.)
        assert_eq!(status_of(&resp), 431, "{resp}");

        assert!(sev.is_empty(), "no handler saw a bad request");

        // A good request by hand still works after all that.
        let _ = raw_connect(addr).await;
    })
    .await;
}

/// Sends `request` to `addr` and reads the answer's HTTP head only (a 101 leaves the
/// connection open).
async fn answer_head(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut s, request.as_bytes())
        .await
        .expect("write");
    read_http_head(&mut s).await.0
}

/// A handshake request by hand naming `host` in `Host`.
fn request_for_host(host: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

#[tokio::test]
async fn external_port_is_the_port_host_must_name() {
    bounded(async {
        // Behind a forwarder: reachable as port 9000, listening on another one.
        let factory = server_with(ServerOptions::default()).external_port(9000);
        let (server, mut sev) = start_echo_server(factory).await;
        let addr = server.addr;
        let ip = addr.ip();

        let resp = answer_head(addr, &request_for_host(&format!("{ip}:9000"))).await;
        assert_eq!(status_of(&resp), 101, "{resp}");
        assert_eq!(sev.request().await.host, format!("{ip}:9000"));

        // The listening port, another port, or none (80 is not 9000): 400.
        for host in [addr.to_string(), format!("{ip}:9001"), ip.to_string()] {
            let resp = raw_exchange(addr, request_for_host(&host).as_bytes()).await;
            assert_eq!(status_of(&resp), 400, "Host {host}: {resp}");
            assert!(resp.contains("9000"), "the answer names the port: {resp}");
        }
        // Our own client, told the listening address, is refused the same way.
        let (tx, _rx) = events();
        let client = WebSocketClientFactory::new(&server.url("/")).unwrap();
        assert!(matches!(
            client.connect(|ch| Recorder::new(ch, tx)).await,
            Err(Error::HttpStatus { status: 400, .. })
        ));
        // The status page is behind the same check.
        let resp = raw_exchange(
            addr,
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&resp), 400, "{resp}");
        let resp = raw_exchange(
            addr,
            format!("GET / HTTP/1.1\r\nHost: {ip}:9000\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&resp), 200, "{resp}");
        while let Ok(ev) = sev.rx.try_recv() {
            assert!(
                !matches!(ev, Ev::Request(_)),
                "a refused request reached on_connect: {ev:?}"
            );
        }

        // Port 80 on a ws:// server: a Host without a port is right.
        let factory = server_with(ServerOptions::default()).external_port(80);
        let (server, _sev) = start_echo_server(factory).await;
        let resp = answer_head(server.addr, &request_for_host(&ip.to_string())).await;
        assert_eq!(status_of(&resp), 101, "{resp}");

        // Without external_port, any Host port is accepted.
        let (server, _sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let resp = answer_head(server.addr, &request_for_host(&format!("{ip}:1"))).await;
        assert_eq!(status_of(&resp), 101, "{resp}");
    })
    .await;
}

#[tokio::test]
async fn server_none_sends_no_server_header() {
    bounded(async {
        for (name, server) in [(Some("Custom/1"), Some("Custom/1")), (None, None)] {
            let factory = server_with(ServerOptions::default()).server(name);
            let (srv, _sev) = start_echo_server(factory).await;
            let addr = srv.addr;
            let upgrade = answer_head(addr, &request(addr, "13", "")).await;
            let page = raw_exchange(
                addr,
                format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
            )
            .await;
            let refused = raw_exchange(addr, request(addr, "7", "").as_bytes()).await;
            for (what, resp, status) in [
                ("101", &upgrade, 101),
                ("status page", &page, 200),
                ("426", &refused, 426),
            ] {
                assert_eq!(status_of(resp), status, "{what}: {resp}");
                assert_eq!(
                    header_of(resp, "server"),
                    server,
                    "{what} with server({name:?}): {resp}"
                );
            }
            if name.is_none() {
                assert!(
                    !page.contains("AutobahnRust"),
                    "the page does not name us: {page}"
                );
            }
        }
        // The default names this crate.
        let (srv, _sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let page = raw_exchange(srv.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            header_of(&page, "server").is_some_and(|s| s.starts_with("AutobahnRust/")),
            "{page}"
        );
    })
    .await;
}
