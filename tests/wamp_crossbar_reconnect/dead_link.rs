//! A silent link to the router (see the test's module docs).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use autobahn::list;
use autobahn::wamp::{
    ApplicationRunner, CallOptions, CallResult, Dict, Error, PublishOptions, RegisterOptions,
};
use tokio::time::timeout;

use super::crossbar::{self, Crossbar, REALM};
use super::test_proxy::Relay;
use super::{call_once, RunningService, LIMIT};

/// The test's keepalive: a ping each second, given up a second later.
const INTERVAL: Duration = Duration::from_secs(1);
const PONG_TIMEOUT: Duration = Duration::from_secs(1);
/// What a loaded 2-core machine may add to interval + timeout before the loss is seen.
const SLACK: Duration = Duration::from_secs(4);
/// The bound on reconnecting after the link went silent.
const RECONNECT_LIMIT: Duration = Duration::from_secs(30);
/// Keepalive intervals a healthy link must survive: a keepalive the router does not
/// take (Crossbar.io drops a RawSocket PING) fails within the first one or two.
const HEALTHY_INTERVALS: u32 = 6;

/// The link through `relay` stays up for [`HEALTHY_INTERVALS`] keepalive intervals: no
/// other join, no other connection; then the service's own session still calls through it.
pub(super) async fn link_stays_up(
    service: &mut RunningService,
    relay: &mut Relay,
    session: &autobahn::wamp::Session,
    procedure: &str,
) {
    // Waiting for a rejoin that must not come: the window is the assertion.
    let rejoin = timeout(INTERVAL * HEALTHY_INTERVALS, service.joins.recv()).await;
    assert!(
        rejoin.is_err(),
        "the link dropped and the runner re-joined within {HEALTHY_INTERVALS} keepalive intervals"
    );
    assert!(
        relay.accepted.try_recv().is_err(),
        "a second connection through the relay"
    );
    let call = session.call(procedure, Vec::new(), Dict::new(), CallOptions::default());
    let result = timeout(LIMIT, call).await.expect("the call returns");
    assert_eq!(
        result.map(|r| r.args).map_err(|e| e.to_string()),
        Ok(list!["pong"]),
        "a call over the kept link"
    );
}
/// Runs the scenario through a relay to `router` (the runner's URL is `url_via(relay)`);
/// returns how long detection and reconnection took after the freeze.
async fn silent_link_is_detected_and_replaced(
    router: SocketAddr,
    url_via: impl Fn(SocketAddr) -> String,
    serializer: &str,
) -> (Duration, Duration) {
    let cb = Crossbar::shared();
    let mut relay = Relay::start(router).await;
    let procedure = crossbar::unique_uri("com.example.deadlink.ping");

    let runner = ApplicationRunner::new(url_via(relay.addr), REALM)
        .serializers([serializer])
        .keepalive(Some(INTERVAL), Some(PONG_TIMEOUT));
    let mut service = RunningService::start(runner, &procedure);
    let (first, session) = service.joined(LIMIT, "first join").await;
    assert_eq!(relay.accepted.recv().await, Some(0));
    // Up through several keepalives first: only detection may replace the link below.
    link_stays_up(&mut service, &mut relay, &session, &procedure).await;
    assert_eq!(
        call_once(&cb.ws_url, &procedure).await,
        Ok(list!["pong"]),
        "the registration answers before the freeze"
    );

    // The link goes silent; requests made now can never be answered.
    relay.freeze();
    let frozen_at = Instant::now();
    let late_procedure = crossbar::unique_uri("com.example.deadlink.late");
    let topic = crossbar::unique_uri("com.example.deadlink.topic");
    let call = session.call(&procedure, Vec::new(), Dict::new(), CallOptions::default());
    let register = session.register(
        &late_procedure,
        |_, _, _| async { Ok(CallResult::default()) },
        RegisterOptions::default(),
    );
    let subscribe = session.subscribe(&topic, |_, _, _| async { Ok(()) }, Default::default());
    let publish = session.publish(
        &topic,
        Vec::new(),
        Dict::new(),
        PublishOptions {
            acknowledge: true,
            ..PublishOptions::default()
        },
    );
    let (call, register, subscribe, publish) = timeout(LIMIT, async {
        tokio::join!(call, register, subscribe, publish)
    })
    .await
    .expect("pending requests resolve");
    let detected = frozen_at.elapsed();
    assert!(matches!(call, Err(Error::TransportLost)), "{call:?}");
    assert!(
        matches!(register, Err(Error::TransportLost)),
        "{:?}",
        register.err()
    );
    assert!(
        matches!(subscribe, Err(Error::TransportLost)),
        "{:?}",
        subscribe.err()
    );
    assert!(matches!(publish, Err(Error::TransportLost)), "{publish:?}");
    assert!(
        detected <= INTERVAL + PONG_TIMEOUT + SLACK,
        "the silent link was noticed after {detected:?}"
    );

    // A new link through the relay, a new router session, the registration restored.
    let (second, _) = service
        .joined(RECONNECT_LIMIT, "the component re-joins within 30 s")
        .await;
    let rejoined = frozen_at.elapsed();
    assert_ne!(first, second, "a new router session");
    assert_eq!(relay.accepted.recv().await, Some(1), "a new connection");
    assert_eq!(call_once(&cb.ws_url, &procedure).await, Ok(list!["pong"]));

    service.stop().await;
    (detected, rejoined)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_silent_link_is_replaced() {
    let cb = Crossbar::shared();
    let (detected, rejoined) =
        silent_link_is_detected_and_replaced(cb.ws_addr, |a| format!("ws://{a}/ws"), "json").await;
    eprintln!("websocket: detected after {detected:?}, re-joined after {rejoined:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rawsocket_silent_link_is_replaced() {
    let cb = Crossbar::shared();
    let (detected, rejoined) =
        silent_link_is_detected_and_replaced(cb.rs_addr, |a| format!("rs://{a}"), "msgpack").await;
    eprintln!("rawsocket: detected after {detected:?}, re-joined after {rejoined:?}");
}
