//! A healthy RawSocket link under the runner's keepalive stays up against Crossbar.io.
//!
//! Crossbar.io's RawSocket server (Autobahn's Twisted one) has no PING/PONG: it reads a
//! PING's header as the length of a 16 MiB message and drops the connection, so a
//! keepalive of RawSocket PINGs cost every `rs://` session its link at the first probe.

use std::time::Duration;

use autobahn::wamp::rawsocket_transport::KEEPALIVE_PROCEDURE;
use autobahn::wamp::ApplicationRunner;

use super::crossbar::{self, Crossbar, REALM};
use super::dead_link::link_stays_up;
use super::test_proxy::Relay;
use super::{RunningService, LIMIT};

async fn rawsocket_link_stays_up(serializer: &str) {
    let cb = Crossbar::shared();
    let mut relay = Relay::start(cb.rs_addr).await;
    let procedure = crossbar::unique_uri("com.example.keepalive.ping");
    let runner = ApplicationRunner::new(format!("rs://{}", relay.addr), REALM)
        .serializers([serializer])
        .keepalive(Some(Duration::from_secs(1)), Some(Duration::from_secs(1)));
    let mut service = RunningService::start(runner, &procedure);
    let (_, session) = service.joined(LIMIT, "first join").await;
    assert_eq!(relay.accepted.recv().await, Some(0));
    link_stays_up(&mut service, &mut relay, &session, &procedure).await;
    service.stop().await;
    let log = cb.log();
    assert!(
        !log.contains("16777220"),
        "Crossbar.io read a RawSocket PING as a message length:\n{}",
        crossbar::tail(&log, 40)
    );
    // Crossbar.io answers the probes without a word at its default log level.
    assert!(
        !log.contains(KEEPALIVE_PROCEDURE),
        "Crossbar.io logged the keepalive probe:\n{}",
        crossbar::tail(&log, 40)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rawsocket_msgpack_link_stays_up_under_keepalive() {
    rawsocket_link_stays_up("msgpack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rawsocket_json_link_stays_up_under_keepalive() {
    rawsocket_link_stays_up("json").await;
}
