//! Through an HTTP CONNECT proxy written here (tests/common_proxy): `ws://` and `wss://`
//! tunnels, a proxy demanding credentials (407), one refusing (403), one hanging up.

mod common;
#[cfg(feature = "tls")]
#[path = "common_tls/mod.rs"]
mod test_ca;
#[path = "common_proxy/mod.rs"]
mod test_proxy;

use autobahn::websocket::{Error, Proxy, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use test_proxy::{ProxyMode, TestProxy};
use tokio::net::TcpListener;

const CREDENTIALS: &str = "Basic dGVzdDp0ZXN0";

#[tokio::test]
async fn echo_through_connect_proxy_with_credentials() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let mut proxy = TestProxy::start(ProxyMode::RequireAuth(CREDENTIALS)).await;
        let mut proxy_cfg = proxy.config();
        proxy_cfg.headers.append("Proxy-Authorization", CREDENTIALS);
        let factory = WebSocketClientFactory::new(&server.url("/via-proxy"))
            .unwrap()
            .proxy(proxy_cfg);
        let (tx, mut rx) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("connect via proxy");
        let task = conn.spawn();
        let ch = rx.open().await;

        let head = proxy.seen.recv().await.unwrap();
        let target = server.addr.to_string();
        assert!(
            head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
            "{head}"
        );
        assert_eq!(header_of(&head, "host"), Some(target.as_str()));
        assert_eq!(header_of(&head, "proxy-authorization"), Some(CREDENTIALS));
        assert_eq!(sev.request().await.path, "/via-proxy");

        ch.send_text("through the tunnel").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("through the tunnel"));
        let big = noise(1 << 20, 11);
        ch.send_message(big.clone(), true).await.unwrap();
        assert!(rx.message().await.0 == big);
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(rx.close().await.0);
        assert!(task.await.unwrap().1.was_clean);
    })
    .await;
}

/// `wss://` through `CONNECT`: TLS runs end to end inside the tunnel, with the target's
/// name (not the proxy's) for the certificate check.
#[cfg(feature = "tls")]
#[tokio::test]
async fn wss_through_connect_proxy() {
    use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};
    bounded(async {
        let ca = test_ca::TestCa::new("test CA");
        let cert = ca.server_cert();
        let config =
            server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("wss://localhost").tls(config)).await;
        let mut proxy = TestProxy::start(ProxyMode::Tunnel).await;
        let url = format!("wss://localhost:{}/secure-via-proxy", server.addr.port());
        let factory = WebSocketClientFactory::new(&url)
            .unwrap()
            .proxy(proxy.config())
            .tls(client_config_with_ca_pem(ca.cert_pem().as_bytes()).unwrap());
        let (tx, mut rx) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("wss:// via proxy");
        assert!(
            conn.stream().tls_exporter().is_some(),
            "TLS inside the tunnel"
        );
        let task = conn.spawn();
        let ch = rx.open().await;

        let head = proxy.seen.recv().await.unwrap();
        let target = format!("localhost:{}", server.addr.port());
        assert!(
            head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
            "{head}"
        );
        assert_eq!(sev.request().await.path, "/secure-via-proxy");
        ch.send_text("secret through the tunnel").await.unwrap();
        assert_eq!(
            rx.message().await.0,
            Bytes::from("secret through the tunnel")
        );
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(rx.close().await.0);
        assert!(task.await.unwrap().1.was_clean);
    })
    .await;
}

/// A proxy that wants credentials answers 407: without them, and with wrong ones, the
/// client gets [`Error::ProxyRefused`] with that status, and the server sees nothing.
#[tokio::test]
async fn proxy_asking_for_credentials_gives_407() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let mut proxy = TestProxy::start(ProxyMode::RequireAuth(CREDENTIALS)).await;
        let mut wrong = proxy.config();
        wrong
            .headers
            .append("Proxy-Authorization", "Basic d3Jvbmc6d3Jvbmc=");
        for (what, proxy_cfg) in [("no credentials", proxy.config()), ("wrong ones", wrong)] {
            let factory = WebSocketClientFactory::new(&server.url("/"))
                .unwrap()
                .proxy(proxy_cfg);
            let (tx, _rx) = events();
            match factory.connect(|ch| Recorder::new(ch, tx)).await {
                Err(e @ Error::ProxyRefused { status: 407, .. }) => {
                    assert!(
                        e.to_string().contains("407 Proxy Authentication Required"),
                        "{e}"
                    )
                }
                Err(e) => panic!("{what}: expected a 407 refusal, got {e}"),
                Ok(_) => panic!("{what}: connected through a proxy demanding credentials"),
            }
            assert!(proxy.seen.recv().await.unwrap().starts_with("CONNECT "));
        }
        assert!(sev.is_empty(), "the WebSocket server never saw a client");
    })
    .await;
}

#[tokio::test]
async fn refusing_proxy_gives_proxy_refused() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let mut proxy = TestProxy::start(ProxyMode::Refuse).await;
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .proxy(proxy.config());
        let (tx, _rx) = events();
        match factory.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::ProxyRefused { status, reason }) => {
                assert_eq!((status, reason.as_str()), (403, "Forbidden"))
            }
            Err(e) => panic!("expected a proxy refusal, got {e}"),
            Ok(_) => panic!("connected through a refusing proxy"),
        }
        assert!(proxy.seen.recv().await.unwrap().starts_with("CONNECT "));
        assert!(sev.is_empty(), "the WebSocket server never saw a client");
    })
    .await;
}

#[tokio::test]
async fn proxy_that_hangs_up_gives_proxy_error() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hangup = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = read_http_head(&mut s).await;
            // Dropped: EOF without an answer.
        });
        let factory = WebSocketClientFactory::new("ws://127.0.0.1:9/")
            .unwrap()
            .proxy(Proxy::new("127.0.0.1", addr.port()));
        let (tx, _rx) = events();
        assert!(matches!(
            factory.connect(|ch| Recorder::new(ch, tx)).await,
            Err(Error::Proxy { .. })
        ));
        hangup.await.unwrap();
    })
    .await;
}
