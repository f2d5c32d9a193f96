//! `wss://` over loopback with a self-signed certificate made by rcgen.

mod common;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;

/// A self-signed certificate for `localhost`: (certificate PEM, key PEM).
fn localhost_cert() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    (ck.cert.pem(), ck.key_pair.serialize_pem())
}

async fn tls_server() -> (TestServer, Events, String) {
    tls_server_with(ServerOptions::default()).await
}

/// An echo server on `wss://localhost` with `options`; returns it, its events and the
/// certificate PEM clients must trust.
async fn tls_server_with(options: ServerOptions) -> (TestServer, Events, String) {
    let (cert, key) = localhost_cert();
    let config = server_config_from_pem(cert.as_bytes(), key.as_bytes()).expect("server config");
    let factory = WebSocketServerFactory::new("wss://localhost")
        .tls(config)
        .with_protocol_options(options);
    let (server, sev) = start_echo_server(factory).await;
    (server, sev, cert)
}

#[tokio::test]
async fn wss_echo_with_trusted_self_signed_cert() {
    init_tracing();
    bounded(async {
        let (server, mut sev, cert) = tls_server().await;
        let url = format!("wss://localhost:{}/secure", server.addr.port());
        let factory = WebSocketClientFactory::new(&url)
            .unwrap()
            .tls(client_config_with_ca_pem(cert.as_bytes()).expect("client config"));
        let (tx, mut rx) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("wss connect");
        assert!(conn
            .response()
            .extensions
            .iter()
            .any(|e| e.name == "permessage-deflate"));
        let task = conn.spawn();
        let ch = rx.open().await;
        assert_eq!(sev.request().await.path, "/secure");
        for n in [0usize, 10, 20_000, 1 << 20] {
            let data = noise(n, n as u64);
            ch.send_message(data.clone(), true).await.unwrap();
            let (p, b) = rx.message().await;
            assert!(b);
            assert!(p == data, "{n} bytes");
        }
        ch.send_text("über TLS").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("über TLS"));

        ch.send_close(Some(1000), None).await.unwrap();
        let (clean, code, _) = rx.close().await;
        assert!(clean);
        assert_eq!(code, Some(1000));
        let (clean, _, _) = sev.close().await;
        assert!(clean, "server side clean over TLS");
        assert!(task.await.unwrap().1.was_clean);
    })
    .await;
}

#[tokio::test]
async fn untrusted_certificate_fails_with_tls_error() {
    bounded(async {
        let (server, mut sev, _cert) = tls_server().await;
        let url = format!("wss://localhost:{}/", server.addr.port());

        // Default roots (Mozilla's) do not include our self-signed certificate.
        let factory = WebSocketClientFactory::new(&url).unwrap();
        let (tx, _rx) = events();
        match factory.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::Tls { context, source }) => {
                assert!(context.contains("localhost"), "{context}");
                assert!(source.is_some(), "the rustls error is the source");
            }
            Err(e) => panic!("expected a TLS error, got {e}"),
            Ok(_) => panic!("connected to an untrusted server"),
        }

        // A different self-signed certificate as the only root: still refused.
        let (other, _) = localhost_cert();
        let factory = WebSocketClientFactory::new(&url)
            .unwrap()
            .tls(client_config_with_ca_pem(other.as_bytes()).unwrap());
        let (tx, _rx) = events();
        assert!(matches!(
            factory.connect(|ch| Recorder::new(ch, tx)).await,
            Err(Error::Tls { .. })
        ));

        // The server is unharmed and no handler saw a request.
        assert!(sev.is_empty());
    })
    .await;
}

#[tokio::test]
async fn plain_client_to_tls_server_fails_cleanly() {
    bounded(async {
        let (server, _sev, _cert) = tls_server().await;
        // A ws:// client speaking plain HTTP to the TLS port gets no handshake.
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (tx, _rx) = events();
        match factory.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::Handshake { .. }) | Err(Error::Connect { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("plain client connected to a TLS server"),
        }
    })
    .await;
}

/// TLS and HTTP handshakes share one `open_handshake_timeout` (2 s): a client that
/// takes 1.5 s to start TLS and then sends no request is dropped at about 2 s from
/// its connect, not 2 s after its TLS handshake (3.5 s).
#[tokio::test]
async fn tls_and_http_handshakes_share_one_open_timeout() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncReadExt;
    bounded(async {
        let (server, sev, cert) = tls_server_with(ServerOptions {
            open_handshake_timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        })
        .await;
        let t0 = Instant::now();
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        // The slow part of this client: it waits before its ClientHello.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let connector =
            tokio_rustls::TlsConnector::from(client_config_with_ca_pem(cert.as_bytes()).unwrap());
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        let mut buf = [0u8; 64];
        let n = tls.read(&mut buf).await.unwrap_or(0);
        let elapsed = t0.elapsed();
        assert_eq!(
            n, 0,
            "the server sent something to a client without a request"
        );
        assert!(
            elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(3000),
            "dropped {elapsed:?} after connecting"
        );
        drop(sev);
    })
    .await;
}

/// A connection still in its TLS handshake holds a `max_connections` slot: with a
/// limit of 1 and one TCP connection that never starts TLS, a real client gets 503.
#[tokio::test]
async fn tls_handshake_in_progress_counts_against_max_connections() {
    bounded(async {
        let (server, _sev, cert) = tls_server_with(ServerOptions {
            max_connections: 1,
            ..Default::default()
        })
        .await;
        let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let url = format!("wss://localhost:{}/", server.addr.port());
        let client = WebSocketClientFactory::new(&url)
            .unwrap()
            .tls(client_config_with_ca_pem(cert.as_bytes()).unwrap());
        let (tx, _rx) = events();
        match client.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::HttpStatus { status, .. }) => assert_eq!(status, 503),
            Err(e) => panic!("expected 503, got {e}"),
            Ok(_) => panic!("accepted past max_connections = 1 while a TLS handshake was pending"),
        }
    })
    .await;
}
