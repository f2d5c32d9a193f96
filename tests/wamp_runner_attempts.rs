//! An `ApplicationRunner` that cannot reach its router (a loopback port with nothing
//! listening): each failed attempt is logged at warn with its error, counted, and
//! reported to the `on_connect_failure` hook; `run` gives up after
//! `RetryPolicy::max_retries` with the last failure as the error's source, and by
//! default keeps trying until stopped.
#![cfg(feature = "wamp")]

mod common;
#[path = "tracing_capture/mod.rs"]
mod tracing_capture;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autobahn::wamp::{ApplicationRunner, ApplicationSession, Error, RetryPolicy};
use common::bounded;
use tracing::Level;
use tracing_capture::Capture;

struct Nothing;
impl ApplicationSession for Nothing {}

/// What the hook saw of one attempt.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    attempt: u32,
    retries: bool,
    refused: bool,
}

/// A subscriber for the tests that check no log. Without one, the first of them to hit a
/// callsite (the runner's "connect failed") while the capturing test installs its own may
/// cache "never" for it, and the capture then misses the event (tracing-core registers a
/// callsite and a new dispatcher without ordering the two). With a subscriber on every
/// test's thread, no callsite is ever registered as uninteresting.
fn quiet_subscriber() -> tracing::subscriber::DefaultGuard {
    Capture::default().install()
}

/// A loopback URL with nothing listening: a port bound, then released.
async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("ws://{}/ws", listener.local_addr().unwrap())
}

fn quick_retries(max_retries: Option<u32>) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_retry_delay: Duration::from_millis(5),
        max_retry_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

/// A hook recording what it saw, and the record.
fn recorder() -> (
    Arc<Mutex<Vec<Seen>>>,
    impl Fn(&autobahn::wamp::ConnectFailure<'_>) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let hook = move |f: &autobahn::wamp::ConnectFailure<'_>| {
        let refused =
            std::iter::successors(Some(f.error as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        record.lock().unwrap().push(Seen {
            attempt: f.attempt,
            retries: f.retry_in.is_some(),
            refused,
        });
    };
    (seen, hook)
}

#[tokio::test]
async fn run_reports_each_failed_attempt_and_gives_up_after_max_retries() {
    let capture = Capture::default();
    let _guard = capture.install();
    let url = refused_url().await;
    let (seen, hook) = recorder();
    let runner = ApplicationRunner::new(url.clone(), "realm1")
        .retry_policy(quick_retries(Some(2)))
        .on_connect_failure(hook);
    let e = bounded(runner.run(|_| Nothing))
        .await
        .err()
        .expect("gives up");

    match &e {
        Error::GaveUp {
            url: u,
            attempts,
            source,
        } => {
            assert_eq!(u, &url);
            assert_eq!(*attempts, 3, "the first attempt and two retries");
            assert!(source.is_some(), "the last failure is the source");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    let expect = |attempt, retries| Seen {
        attempt,
        retries,
        refused: true,
    };
    assert_eq!(
        *seen.lock().unwrap(),
        vec![expect(1, true), expect(2, true), expect(3, false)]
    );
    assert_eq!(runner.connect_failures(), 3);

    let warnings: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.message == "connect failed")
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    for (i, w) in warnings.iter().enumerate() {
        assert_eq!(w.level, Level::WARN);
        assert_eq!(w.fields["attempt"], (i + 1).to_string());
        assert_eq!(w.fields["url"], url);
        // The whole chain, down to the operating system's words.
        let error = &w.fields["error"];
        assert!(error.contains("TCP connect to"), "{error}");
        assert!(error.contains("refused"), "{error}");
    }
}

#[tokio::test]
async fn run_keeps_trying_by_default_until_stopped() {
    let _tracing = quiet_subscriber();
    let url = refused_url().await;
    let (seen, record) = recorder();
    let runner = ApplicationRunner::new(url, "realm1").retry_policy(quick_retries(None));
    let stop = runner.stop_handle();
    let runner = runner.on_connect_failure(move |f| {
        record(f);
        assert!(f.retry_in.is_some(), "no limit: always a next attempt");
        if f.attempt == 5 {
            stop.stop();
        }
    });
    bounded(runner.run(|_| Nothing))
        .await
        .expect("a stopped runner returns Ok");
    assert_eq!(seen.lock().unwrap().len(), 5);
    assert_eq!(runner.connect_failures(), 5);
}

#[tokio::test]
async fn run_once_reports_its_failure_and_returns_it_as_source() {
    let _tracing = quiet_subscriber();
    let url = refused_url().await;
    let (seen, hook) = recorder();
    let runner = ApplicationRunner::new(url.clone(), "realm1").on_connect_failure(hook);
    let e = bounded(runner.run_once(|_| Nothing))
        .await
        .err()
        .expect("cannot connect");
    assert!(
        matches!(&e, Error::Connect { url: u, .. } if *u == url),
        "{e:?}"
    );
    assert!(std::error::Error::source(&e).is_some());
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Seen {
            attempt: 1,
            retries: false,
            refused: true
        }]
    );
    assert_eq!(runner.connect_failures(), 1);
}
