//! Errors of real failures read well under an error-chain reporter: every `source()`
//! segment adds something (no segment repeats the text of the next one, so `{:#}`
//! prints each piece once), the message names what was being done and with whom, and
//! the underlying I/O / rustls error is reachable with `downcast_ref`.

mod common;

use std::error::Error as StdError;
use std::sync::Arc;

use autobahn::websocket::error::{ConnectStep, Error};
use autobahn::websocket::types::ConnectionDeny;
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use common::*;

/// The texts of `e` and its sources, outermost first.
fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

/// No segment contains the text of the one after it (what `#[error("...: {0}")]` on a
/// `#[source]` field would do), and no segment is empty.
fn assert_no_repeats(e: &(dyn StdError + 'static)) -> Vec<String> {
    let segments = chain(e);
    for pair in segments.windows(2) {
        assert!(
            !pair[0].contains(&pair[1]),
            "{:?} repeats its source {:?} (chain {segments:?})",
            pair[0],
            pair[1]
        );
    }
    assert!(segments.iter().all(|s| !s.is_empty()), "{segments:?}");
    segments
}

/// The first error of type `T` in the chain.
fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(s) = next {
        if let Some(t) = s.downcast_ref::<T>() {
            return Some(t);
        }
        next = s.source();
    }
    None
}

/// A loopback port with nothing listening: bound, then released.
async fn refused_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn connect_error(factory: &WebSocketClientFactory) -> Error {
    let (tx, _rx) = events();
    match factory.connect(|ch| Recorder::new(ch, tx)).await {
        Ok(_) => panic!("connected, expected a failure"),
        Err(e) => e,
    }
}

#[test]
fn bad_url_names_the_url_once_and_the_reason_once() {
    for (url, reason) in [
        ("http://127.0.0.1/", "protocol scheme"),
        ("not a url", "not a URL"),
        ("ws://127.0.0.1/#frag", "fragment"),
    ] {
        let e = WebSocketClientFactory::new(url).unwrap_err();
        let segments = assert_no_repeats(&e);
        let all = segments.join(": ");
        assert!(segments[0].contains(url), "{segments:?}");
        assert_eq!(all.matches("invalid WebSocket URL").count(), 1, "{all}");
        assert!(all.contains(reason), "{all}");
    }
    let e = WebSocketClientFactory::new("not a url").unwrap_err();
    assert!(find::<url::ParseError>(&e).is_some(), "{:?}", chain(&e));
}

#[tokio::test]
async fn connection_refused_names_the_step_and_reaches_the_io_error() {
    bounded(async {
        let port = refused_port().await;
        let factory = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}/x")).unwrap();
        let e = connect_error(&factory).await;
        let segments = assert_no_repeats(&e);
        match &e {
            Error::Connect { step, target, .. } => {
                assert_eq!(*step, ConnectStep::TcpConnect);
                assert_eq!(target, &format!("127.0.0.1:{port}"));
            }
            other => panic!("expected a TCP connect error, got {other:?}"),
        }
        assert!(segments[0].contains("TCP connect"), "{segments:?}");
        let io = find::<std::io::Error>(&e).expect("the io::Error is a source");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    })
    .await;
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn untrusted_certificate_reaches_the_rustls_error() {
    use autobahn::websocket::stream::tls::server_config_from_pem;
    bounded(async {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let config = server_config_from_pem(
            ck.cert.pem().as_bytes(),
            ck.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        let (server, _sev) =
            start_echo_server(WebSocketServerFactory::new("wss://localhost").tls(config)).await;
        let url = format!("wss://localhost:{}/", server.addr.port());
        // Default roots do not include the self-signed certificate.
        let e = connect_error(&WebSocketClientFactory::new(&url).unwrap()).await;
        let segments = assert_no_repeats(&e);
        assert!(matches!(e, Error::Tls { .. }), "{e:?}");
        assert!(
            segments[0].contains(&format!("localhost:{}", server.addr.port())),
            "{segments:?}"
        );
        let tls = find::<rustls::Error>(&e).expect("the rustls::Error is a source");
        assert!(
            matches!(tls, rustls::Error::InvalidCertificate(_)),
            "{tls:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn http_403_answer_names_the_url_and_the_status() {
    bounded(async {
        let (tx, _sev) = events();
        let server = start_server(WebSocketServerFactory::new("ws://127.0.0.1"), move |ch| {
            let mut r = Recorder::echo(ch, tx.clone());
            r.decide = Some(Arc::new(|_| {
                Err(ConnectionDeny::new(ConnectionDeny::FORBIDDEN, Some("no")))
            }));
            r
        })
        .await;
        let url = server.url("/private?token=secret");
        let e = connect_error(&WebSocketClientFactory::new(&url).unwrap()).await;
        let segments = assert_no_repeats(&e);
        assert_eq!(e.http_status(), Some(403), "{e:?}");
        assert!(
            segments[0].contains(&format!("ws://{}/private", server.addr)),
            "{segments:?}"
        );
        assert!(
            !segments[0].contains("secret"),
            "the query (credentials) stays out of the message: {segments:?}"
        );
    })
    .await;
}

#[cfg(feature = "wamp")]
#[tokio::test]
async fn runner_that_gives_up_carries_the_last_failure() {
    use autobahn::wamp::{ApplicationRunner, ApplicationSession, RetryPolicy};
    struct Nothing;
    impl ApplicationSession for Nothing {}
    bounded(async {
        let port = refused_port().await;
        let url = format!("ws://127.0.0.1:{port}/ws");
        let runner = ApplicationRunner::new(url.clone(), "realm1").retry_policy(RetryPolicy {
            max_retries: Some(1),
            initial_retry_delay: std::time::Duration::from_millis(10),
            ..RetryPolicy::default()
        });
        let e = runner.run(|_| Nothing).await.err().expect("gives up");
        let segments = assert_no_repeats(&e);
        assert!(segments[0].contains(&url), "{segments:?}");
        let io = find::<std::io::Error>(&e).expect("the io::Error is a source");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    })
    .await;
}
