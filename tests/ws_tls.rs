//! `wss://` over loopback with certificates made by rcgen: echo, untrusted certificates,
//! TLS/plain mismatches, timeouts, client certificates.

#![cfg(feature = "tls")]

mod common;
#[path = "common_tls/mod.rs"]
mod test_ca;

use std::time::{Duration, Instant};

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::tls::{
    client_config, client_config_with_ca_pem, client_config_with_client_cert_pem,
    server_config_from_pem, server_config_with_client_auth_pem, TrustRoots,
};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use test_ca::TestCa;

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
        assert_eq!(
            conn.response()
                .extensions
                .iter()
                .any(|e| e.name == "permessage-deflate"),
            cfg!(feature = "deflate")
        );
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

        // The default roots (the platform's; or none, also a TLS error) do not include our
        // self-signed certificate.
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

/// A client whose own timeout would be far away: a mismatch must not wait for it.
fn patient_client(url: &str) -> WebSocketClientFactory {
    WebSocketClientFactory::new(url)
        .unwrap()
        .with_protocol_options(ClientOptions {
            open_handshake_timeout: Some(PATIENCE),
            ..Default::default()
        })
}

/// The open-handshake timeout of [`patient_client`] (and of the servers in the mismatch
/// tests); a mismatch must be reported in well under a third of it.
const PATIENCE: Duration = Duration::from_secs(45);

/// A ws:// client at a TLS server: the TLS server's alert arrives instead of an HTTP
/// answer, and the client says so at once rather than at its open-handshake timeout.
#[tokio::test]
async fn plain_client_to_tls_server_fails_fast() {
    bounded(async {
        let (server, mut sev, _cert) = tls_server_with(ServerOptions {
            open_handshake_timeout: Some(PATIENCE),
            ..Default::default()
        })
        .await;
        let t0 = Instant::now();
        let (tx, _rx) = events();
        let result = patient_client(&server.url("/"))
            .connect(|ch| Recorder::new(ch, tx))
            .await;
        let elapsed = t0.elapsed();
        match result {
            Err(Error::Handshake { source, .. }) => assert!(
                source.to_string().contains("is it a TLS server (wss://)?"),
                "{source}"
            ),
            Err(e) => panic!("expected a handshake error naming TLS, got {e}"),
            Ok(_) => panic!("plain client connected to a TLS server"),
        }
        assert!(elapsed < PATIENCE / 3, "failed after {elapsed:?}");
        assert!(sev.is_empty(), "no request reached the handler");
    })
    .await;
}

/// A wss:// client at a plain server: the server answers the ClientHello with an HTTP
/// 400 at once (instead of waiting for an HTTP head that never comes), and the client
/// names the mismatch.
#[tokio::test]
async fn tls_client_to_plain_server_fails_fast() {
    bounded(async {
        let factory =
            WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(ServerOptions {
                open_handshake_timeout: Some(PATIENCE),
                ..Default::default()
            });
        let (server, mut sev) = start_echo_server(factory).await;
        let url = format!("wss://localhost:{}/", server.addr.port());
        let t0 = Instant::now();
        let (tx, _rx) = events();
        let result = patient_client(&url)
            .tls(client_config(TrustRoots::Mozilla).unwrap())
            .connect(|ch| Recorder::new(ch, tx))
            .await;
        let elapsed = t0.elapsed();
        match result {
            Err(Error::Tls { context, .. }) => assert!(
                context.contains("not TLS") && context.contains("plain ws:// server"),
                "{context}"
            ),
            Err(e) => panic!("expected a TLS error naming the mismatch, got {e}"),
            Ok(_) => panic!("TLS client connected to a plain server"),
        }
        assert!(elapsed < PATIENCE / 3, "failed after {elapsed:?}");
        assert!(sev.is_empty(), "no request reached the handler");
    })
    .await;
}

/// What a plain server answers to a TLS ClientHello: an HTTP 400 saying so, at once.
#[tokio::test]
async fn plain_server_answers_client_hello_with_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    bounded(async {
        let factory =
            WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(ServerOptions {
                open_handshake_timeout: Some(PATIENCE),
                ..Default::default()
            });
        let (server, _sev) = start_echo_server(factory).await;
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        // The start of a ClientHello record: handshake (22), TLS 1.0 record version.
        tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00])
            .await
            .unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(status_of(&answer), 400, "{answer}");
        assert!(answer.contains("without TLS"), "{answer}");
    })
    .await;
}

/// Mutual TLS: a server requiring client certificates from its CA accepts a client
/// presenting one, and refuses clients without a certificate or with one from another CA.
#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    bounded(async {
        let server_ca = TestCa::new("server CA");
        let client_ca = TestCa::new("client CA");
        let server_cert = server_ca.server_cert();
        let config = server_config_with_client_auth_pem(
            server_cert.cert_pem.as_bytes(),
            server_cert.key_pem.as_bytes(),
            client_ca.cert_pem().as_bytes(),
        )
        .expect("mTLS server config");
        let factory = WebSocketServerFactory::new("wss://localhost").tls(config);
        let (server, mut sev) = start_echo_server(factory).await;
        let url = format!("wss://localhost:{}/mtls", server.addr.port());
        let trust = TrustRoots::Pem(server_ca.cert_pem().into_bytes());

        // With a certificate from the client CA: an echo.
        let alice = client_ca.client_cert("alice");
        let with_cert = client_config_with_client_cert_pem(
            trust.clone(),
            alice.cert_pem.as_bytes(),
            alice.key_pem.as_bytes(),
        )
        .expect("mTLS client config");
        let (tx, mut rx) = events();
        let conn = WebSocketClientFactory::new(&url)
            .unwrap()
            .tls(with_cert)
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("connect with a client certificate");
        let task = conn.spawn();
        let ch = rx.open().await;
        assert_eq!(sev.request().await.path, "/mtls");
        ch.send_text("mutual").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("mutual"));
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(rx.close().await.0);
        assert!(task.await.unwrap().1.was_clean);
        assert!(sev.close().await.0);

        // Without a certificate, and with one from another CA: refused before HTTP.
        let mallory = TestCa::new("other CA").client_cert("mallory");
        let refused = [
            (
                "no certificate",
                "CertificateRequired",
                client_config(trust.clone()).unwrap(),
            ),
            (
                "certificate from another CA",
                "UnknownCA",
                client_config_with_client_cert_pem(
                    trust.clone(),
                    mallory.cert_pem.as_bytes(),
                    mallory.key_pem.as_bytes(),
                )
                .unwrap(),
            ),
        ];
        for (what, alert, config) in refused {
            let (tx, _rx) = events();
            let result = WebSocketClientFactory::new(&url)
                .unwrap()
                .tls(config)
                .connect(|ch| Recorder::new(ch, tx))
                .await;
            // TLS 1.3 clients finish their handshake before the server checks the
            // certificate: the refusal (an alert) may surface on the first read.
            match result {
                Err(
                    e @ (Error::Tls { .. }
                    | Error::Io(_)
                    | Error::Handshake { .. }
                    | Error::Connect { .. }),
                ) => {
                    let text = error_chain(&e);
                    assert!(text.contains(alert), "{what}: {text}");
                }
                Err(e) => panic!("{what}: unexpected error {e}"),
                Ok(_) => panic!("{what}: connected to a server requiring a client certificate"),
            }
        }
        assert!(sev.is_empty(), "no refused client reached the handler");
    })
    .await;
}

/// TLS and HTTP handshakes share one `open_handshake_timeout` (2 s): a client that
/// takes 1.5 s to start TLS and then sends no request is dropped at about 2 s from
/// its connect, not 2 s after its TLS handshake (3.5 s).
#[tokio::test]
async fn tls_and_http_handshakes_share_one_open_timeout() {
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
