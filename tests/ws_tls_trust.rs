//! Default trust: clients given no TLS configuration trust the platform's roots (read
//! through rustls-native-certs, which `SSL_CERT_FILE` / `SSL_CERT_DIR` redirect); the
//! Mozilla roots are an option. One test only: it changes the process environment.

#![cfg(feature = "tls")]

mod common;
#[path = "common_tls/mod.rs"]
mod test_ca;

use autobahn::websocket::stream::tls::{client_config, server_config_from_pem, TrustRoots};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use common::*;
use test_ca::TestCa;

/// Connects to `url` with the factory's default TLS configuration.
async fn connect_default(url: &str) -> Result<(), Error> {
    let (tx, _rx) = events();
    WebSocketClientFactory::new(url)
        .unwrap()
        .connect(|ch| Recorder::new(ch, tx))
        .await
        .map(drop)
}

#[tokio::test]
async fn platform_roots_by_default_mozilla_roots_as_an_option() {
    bounded(async {
        // This machine's own store: roots, or the clear error (never a panic).
        match TrustRoots::Platform.root_store() {
            Ok(roots) => assert!(!roots.is_empty()),
            Err(Error::Tls { context, .. }) => assert!(
                context.contains("no platform root certificates"),
                "{context}"
            ),
            Err(e) => panic!("unexpected error {e}"),
        }

        // Mozilla's roots are compiled in: many, and not our test CA.
        let mozilla = TrustRoots::Mozilla.root_store().unwrap();
        assert!(mozilla.len() > 100, "{} Mozilla roots", mozilla.len());
        client_config(TrustRoots::Mozilla).unwrap();

        let ca = TestCa::new("platform CA");
        let cert = ca.server_cert();
        let config =
            server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
        let factory = WebSocketServerFactory::new("wss://localhost").tls(config);
        let (server, mut sev) = start_echo_server(factory).await;
        let url = format!("wss://localhost:{}/default-trust", server.addr.port());

        let dir = std::env::temp_dir().join(format!("autobahn-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.cert_pem()).unwrap();

        // A platform without roots: a TLS error saying so (no TLS handshake is tried).
        std::env::set_var("SSL_CERT_FILE", &empty);
        std::env::remove_var("SSL_CERT_DIR");
        match TrustRoots::Platform.root_store() {
            Err(Error::Tls { context, .. }) => assert!(
                context.contains("no platform root certificates"),
                "{context}"
            ),
            other => panic!("expected the no-roots error, got {other:?}"),
        }
        match connect_default(&url).await {
            Err(Error::Tls { context, .. }) => assert!(
                context.contains("no platform root certificates"),
                "{context}"
            ),
            Err(e) => panic!("expected the no-roots error, got {e}"),
            Ok(()) => panic!("connected without any trusted root"),
        }

        // The platform store holds our CA: the default client trusts it.
        std::env::set_var("SSL_CERT_FILE", &ca_file);
        assert_eq!(TrustRoots::Platform.root_store().unwrap().len(), 1);
        connect_default(&url)
            .await
            .expect("default trust is the platform's");
        assert_eq!(sev.request().await.path, "/default-trust");

        // With the Mozilla roots instead, the same server is not trusted.
        let (tx, _rx) = events();
        let result = WebSocketClientFactory::new(&url)
            .unwrap()
            .tls(client_config(TrustRoots::Mozilla).unwrap())
            .connect(|ch| Recorder::new(ch, tx))
            .await;
        match result {
            Err(e @ Error::Tls { .. }) => {
                let why = error_chain(&e);
                assert!(why.contains("UnknownIssuer"), "{why}")
            }
            Err(e) => panic!("expected an untrusted-certificate error, got {e}"),
            Ok(_) => panic!("the Mozilla roots trusted a test CA"),
        }

        std::env::remove_var("SSL_CERT_FILE");
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
