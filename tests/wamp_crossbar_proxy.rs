//! The WAMP `ApplicationRunner` through an HTTP CONNECT proxy (tests/common_proxy) to a
//! real Crossbar.io router (tests/common_crossbar): it joins with credentials for the
//! proxy, and reports the proxy's 407 without them.

#![cfg(feature = "wamp")]

mod common;
#[path = "common_crossbar/mod.rs"]
mod crossbar;
#[path = "common_proxy/mod.rs"]
mod test_proxy;

use std::time::Duration;

use autobahn::wamp::{
    ApplicationRunner, ApplicationSession, CallOptions, Dict, Error, Session, SessionDetails,
};
use crossbar::{Crossbar, REALM};
use test_proxy::{ProxyMode, TestProxy};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(120);
const CREDENTIALS: &str = "Basic cHJveHk6c2VjcmV0";

/// Joins, asks the router for its own session (a round trip through the tunnel), leaves.
#[derive(Default)]
struct Probe {
    session: Option<u64>,
    router_knows_us: bool,
}

impl ApplicationSession for Probe {
    async fn on_join(&mut self, session: &Session, details: SessionDetails) {
        let me = session
            .call(
                "wamp.session.get",
                vec![details.session.into()],
                Dict::new(),
                CallOptions::default(),
            )
            .await;
        self.router_knows_us = me.is_ok_and(|r| {
            r.args
                .first()
                .and_then(|d| d.get("session"))
                .and_then(|v| v.as_u64())
                == Some(details.session)
        });
        self.session = Some(details.session);
        let _ = session.leave(None, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_joins_through_a_connect_proxy() {
    let cb = Crossbar::shared();
    let mut proxy = TestProxy::start(ProxyMode::RequireAuth(CREDENTIALS)).await;
    let mut proxy_cfg = proxy.config();
    proxy_cfg.headers.append("Proxy-Authorization", CREDENTIALS);
    let runner = ApplicationRunner::new(cb.ws_url.clone(), REALM)
        .serializers(["json"])
        .proxy(proxy_cfg);
    let outcome = timeout(LIMIT, runner.run_once(|_| Probe::default()))
        .await
        .expect("run_once through the proxy timed out")
        .expect("run_once through the proxy");
    assert!(outcome.joined);
    assert!(outcome.app.session.is_some());
    assert!(outcome.app.router_knows_us, "wamp.session.get round trip");

    let head = proxy.seen.recv().await.unwrap();
    let target = cb.ws_addr.to_string();
    assert!(
        head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
        "{head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_reports_the_proxy_asking_for_credentials() {
    let cb = Crossbar::shared();
    let mut proxy = TestProxy::start(ProxyMode::RequireAuth(CREDENTIALS)).await;
    let runner = ApplicationRunner::new(cb.ws_url.clone(), REALM)
        .serializers(["json"])
        .proxy(proxy.config());
    let result = timeout(LIMIT, runner.run_once(|_| Probe::default()))
        .await
        .expect("run_once through the proxy timed out");
    match result {
        Err(e @ Error::Connect { .. }) => {
            let why = common::error_chain(&e);
            assert!(why.contains("407"), "{why}")
        }
        Err(e) => panic!("expected a connect error with the 407, got {e}"),
        Ok(o) => panic!(
            "ran through a proxy demanding credentials (joined: {})",
            o.joined
        ),
    }
    assert!(proxy.seen.recv().await.unwrap().starts_with("CONNECT "));
}
