//! Both rustls crypto providers compiled in, as in an application whose other
//! dependencies enable rustls' default (aws-lc-rs) next to our *ring*: the dev-dependency
//! `rustls` with default features gives exactly that mix. Nothing may panic, and no test
//! here installs a process-wide default provider (that would hide the problem).

#![cfg(feature = "tls")]

mod common;
#[path = "common_tls/mod.rs"]
mod test_ca;

use std::sync::Arc;

use autobahn::websocket::stream::tls::{
    client_config, client_config_with_ca_pem, crypto_provider, server_config_from_pem, TrustRoots,
};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use rustls::crypto::CryptoProvider;
use test_ca::TestCa;

/// The mix is real: rustls cannot pick a process default, so its `builder()` panics,
/// which is what the crate must never call.
#[test]
fn both_providers_are_compiled_in_and_no_default_is_installed() {
    assert!(CryptoProvider::get_default().is_none());
    let builder = std::panic::catch_unwind(rustls::ClientConfig::builder);
    assert!(
        builder.is_err(),
        "rustls found a process default: the test no longer has both providers"
    );
}

/// The crate's provider is the one its features choose.
#[test]
fn crypto_provider_follows_the_features() {
    let key_provider = format!("{:?}", crypto_provider().key_provider);
    let expected = if cfg!(feature = "aws-lc-rs") {
        "AwsLcRs"
    } else {
        "Ring"
    };
    assert_eq!(key_provider, expected);
    // One provider for the process: every configuration shares it.
    assert!(Arc::ptr_eq(&crypto_provider(), &crypto_provider()));
    for trust in [
        TrustRoots::Mozilla,
        TrustRoots::Pem(TestCa::new("ca").cert_pem().into()),
    ] {
        let config = client_config(trust).expect("client config");
        assert_eq!(
            format!("{:?}", config.crypto_provider().key_provider),
            expected
        );
    }
}

/// One echo over `wss://` with a server configuration built by `server_provider`.
async fn echo_with_server_provider(server_provider: Option<CryptoProvider>) {
    let ca = TestCa::new("test CA");
    let cert = ca.server_cert();
    let config = match server_provider {
        None => server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
            .expect("server config"),
        Some(provider) => {
            let certs = rustls::pki_types::pem::PemObject::pem_slice_iter(cert.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key =
                rustls::pki_types::pem::PemObject::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
            Arc::new(
                rustls::ServerConfig::builder_with_provider(Arc::new(provider))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(certs, key)
                    .unwrap(),
            )
        }
    };
    let factory = WebSocketServerFactory::new("wss://localhost").tls(config);
    let (server, mut sev) = start_echo_server(factory).await;
    let url = format!("wss://localhost:{}/both", server.addr.port());
    let (tx, mut rx) = events();
    let conn = WebSocketClientFactory::new(&url)
        .unwrap()
        .tls(client_config_with_ca_pem(ca.cert_pem().as_bytes()).unwrap())
        .connect(|ch| Recorder::new(ch, tx))
        .await
        .expect("wss connect");
    let task = conn.spawn();
    let ch = rx.open().await;
    assert_eq!(sev.request().await.path, "/both");
    ch.send_text("two providers").await.unwrap();
    assert_eq!(rx.message().await.0, Bytes::from("two providers"));
    ch.send_close(Some(1000), None).await.unwrap();
    assert!(rx.close().await.0);
    assert!(task.await.unwrap().1.was_clean);
}

/// `wss://` echo with the crate's configurations on both sides, then with servers whose
/// configurations the application built with *ring* and with aws-lc-rs.
#[tokio::test]
async fn wss_echo_with_both_providers_compiled_in() {
    bounded(async {
        echo_with_server_provider(None).await;
        echo_with_server_provider(Some(rustls::crypto::ring::default_provider())).await;
        echo_with_server_provider(Some(rustls::crypto::aws_lc_rs::default_provider())).await;
    })
    .await;
}

/// A client given no configuration builds the default one (platform roots) without
/// panicking: against a server it does not trust, a TLS error.
#[tokio::test]
async fn default_client_configuration_builds_with_both_providers_compiled_in() {
    bounded(async {
        let cert = TestCa::new("unknown CA").server_cert();
        let config =
            server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
        let factory = WebSocketServerFactory::new("wss://localhost").tls(config);
        let (server, _sev) = start_echo_server(factory).await;
        let url = format!("wss://localhost:{}/", server.addr.port());
        let (tx, _rx) = events();
        match WebSocketClientFactory::new(&url)
            .unwrap()
            .connect(|ch| Recorder::new(ch, tx))
            .await
        {
            Err(e @ Error::Tls { .. }) => {
                let why = error_chain(&e);
                assert!(
                    why.contains("UnknownIssuer") || why.contains("no platform root certificates"),
                    "{why}"
                )
            }
            Err(e) => panic!("expected a TLS error, got {e}"),
            Ok(_) => panic!("trusted a certificate from an unknown CA"),
        }
    })
    .await;
}

/// RawSocket and the WAMP runner (feature `wamp`).
#[cfg(feature = "wamp")]
mod wamp {
    use super::*;
    use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
    use autobahn::wamp::transport::{Transport, TransportError};
    use autobahn::wamp::ApplicationRunner;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::task::JoinHandle;

    /// A TLS listener (certificate from `ca`) answering the RawSocket handshake, then
    /// holding each connection until the client leaves; its `rss://` URL.
    async fn rss_listener(ca: &TestCa) -> (String, JoinHandle<()>) {
        let cert = ca.server_cert();
        let acceptor = tokio_rustls::TlsAcceptor::from(
            server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("rss://localhost:{}", listener.local_addr().unwrap().port());
        let task = tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue; // the client refused our certificate
                };
                // Magic and the client's serializer back, with the largest length.
                let mut hello = [0u8; 4];
                tls.read_exact(&mut hello).await.unwrap();
                assert_eq!(hello[0], 0x7f);
                tls.write_all(&[0x7f, 0xf0 | (hello[1] & 0x0f), 0, 0])
                    .await
                    .unwrap();
                let mut rest = Vec::new();
                let _ = tls.read_to_end(&mut rest).await;
            }
        });
        (url, task)
    }

    /// `rss://` with the client's own configuration, then with the default one (platform
    /// roots), which builds and does not trust our CA.
    #[tokio::test]
    async fn rawsocket_over_tls_with_both_providers_compiled_in() {
        bounded(async {
            let ca = TestCa::new("test CA");
            let (url, router) = rss_listener(&ca).await;
            let trusted = RawSocketOptions {
                tls: Some(client_config_with_ca_pem(ca.cert_pem().as_bytes()).unwrap()),
                ..Default::default()
            };
            let mut transport = RawSocketTransport::connect(&url, &trusted)
                .await
                .expect("rss:// with a trusted certificate");
            assert!(transport.channel_id("tls-exporter").is_some());
            transport.close().await;

            let result = RawSocketTransport::connect(&url, &RawSocketOptions::default()).await;
            assert!(result.is_err(), "trusted a certificate from an unknown CA");
            router.abort();
        })
        .await;
    }

    /// The runner hands its configuration to both transports: `rss://` connects, and
    /// `wss://` gets through TLS and HTTP to the (non-WAMP) echo server, which selects
    /// no WAMP subprotocol.
    #[tokio::test]
    async fn runner_connects_over_tls_with_both_providers_compiled_in() {
        bounded(async {
            let ca = TestCa::new("test CA");
            let client = client_config_with_ca_pem(ca.cert_pem().as_bytes()).unwrap();
            let (rss_url, router) = rss_listener(&ca).await;
            let mut transport = ApplicationRunner::new(&rss_url, "realm1")
                .tls(client.clone())
                .connect()
                .await
                .expect("runner over rss://");
            assert!(transport.channel_id("tls-exporter").is_some());
            transport.close().await;
            router.abort();

            let cert = ca.server_cert();
            let config =
                server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
            let factory = WebSocketServerFactory::new("wss://localhost").tls(config);
            let (server, mut sev) = start_echo_server(factory).await;
            let wss_url = format!("wss://localhost:{}/ws", server.addr.port());
            let result = ApplicationRunner::new(&wss_url, "realm1")
                .tls(client)
                .connect()
                .await;
            assert_eq!(sev.request().await.path, "/ws");
            match result {
                Err(TransportError::Connect(e)) => {
                    let why = error_chain(&*e);
                    assert!(why.contains("subprotocol"), "{why}")
                }
                other => panic!("expected the subprotocol refusal, got {other:?}"),
            }
        })
        .await;
    }
}
