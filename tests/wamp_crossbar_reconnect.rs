//! Reconnect against the real router, under a running `ApplicationRunner`:
//! - Crossbar.io is stopped and started again: the component re-joins and its registration
//!   answers again;
//! - the link goes silent (no FIN, no RST: a dead NAT entry, a vanished host; a TCP relay,
//!   tests/common_proxy, stops forwarding and leaves its sockets open), on WebSocket and
//!   RawSocket (`dead_link`): the keepalive notices within interval + timeout, every pending
//!   request fails with `TransportLost` at that moment, the runner reconnects through the
//!   relay, restores the registration, and a fresh caller gets answers from it;
//! - a healthy RawSocket link stays up under the runner's keepalive (`keepalive`):
//!   Crossbar.io has no RawSocket PING, so the keepalive must be something it answers.

mod common;
#[path = "common_crossbar/mod.rs"]
mod crossbar;
#[path = "wamp_crossbar_reconnect/dead_link.rs"]
mod dead_link;
#[path = "wamp_crossbar_reconnect/keepalive.rs"]
mod keepalive;
#[path = "common_proxy/mod.rs"]
mod test_proxy;

use std::time::Duration;

use autobahn::list;
use autobahn::wamp::{
    ApplicationRunner, ApplicationSession, CallOptions, CallResult, Dict, RegisterOptions,
    RetryPolicy, Session, SessionDetails, StopHandle, Value,
};
use crossbar::REALM;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(120);

/// Registers `procedure` once (the runner restores it after a reconnect) and hands each
/// joined session out.
struct Service {
    procedure: String,
    joins: mpsc::UnboundedSender<(u64, Session)>,
    registered: bool,
}

impl ApplicationSession for Service {
    async fn on_join(&mut self, session: &Session, details: SessionDetails) {
        if !self.registered {
            // The router still holds the silent session's registration until it notices
            // that link itself: the restore takes the procedure over.
            let options = RegisterOptions {
                force_reregister: Some(true),
                ..RegisterOptions::default()
            };
            session
                .register(
                    &self.procedure,
                    |_args, _kwargs, _details| async { Ok(CallResult::with_args(list!["pong"])) },
                    options,
                )
                .await
                .expect("register");
            self.registered = true;
        }
        let _ = self.joins.send((details.session, session.clone()));
    }
}

/// Calls `procedure` once from a fresh session straight to the router, and leaves.
struct Caller {
    procedure: String,
    result: Option<Result<Vec<Value>, String>>,
}

impl ApplicationSession for Caller {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let r = session
            .call(
                &self.procedure,
                Vec::new(),
                Dict::new(),
                CallOptions::default(),
            )
            .await;
        self.result = Some(r.map(|r| r.args).map_err(|e| e.to_string()));
        let _ = session.leave(None, None).await;
    }
}

async fn call_once(url: &str, procedure: &str) -> Result<Vec<Value>, String> {
    let runner = ApplicationRunner::new(url, REALM);
    let outcome = timeout(
        LIMIT,
        runner.run_once(|_| Caller {
            procedure: procedure.to_owned(),
            result: None,
        }),
    )
    .await
    .expect("caller timed out")
    .expect("caller connects");
    outcome.app.result.expect("caller joined and called")
}

/// A `Service` run by an `ApplicationRunner` in a task of its own, reconnecting quickly.
struct RunningService {
    /// The router session ID and the session of each join, in order.
    joins: mpsc::UnboundedReceiver<(u64, Session)>,
    stop: StopHandle,
    run: JoinHandle<Result<Service, autobahn::wamp::Error>>,
}

impl RunningService {
    /// Starts `runner` (its retry policy set here) with a `Service` for `procedure`.
    fn start(runner: ApplicationRunner, procedure: &str) -> Self {
        let runner = runner.retry_policy(RetryPolicy {
            initial_retry_delay: Duration::from_millis(200),
            max_retry_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        });
        let (joins_tx, joins) = mpsc::unbounded_channel();
        let stop = runner.stop_handle();
        let procedure = procedure.to_owned();
        let run = tokio::spawn(async move {
            runner
                .run(move |_| Service {
                    procedure: procedure.clone(),
                    joins: joins_tx.clone(),
                    registered: false,
                })
                .await
        });
        Self { joins, stop, run }
    }

    /// The next join: its router session ID and the session. Fails after `limit`.
    async fn joined(&mut self, limit: Duration, what: &str) -> (u64, Session) {
        timeout(limit, self.joins.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: no join within {limit:?}"))
            .expect("the runner's task is alive")
    }

    /// Stops the runner; its component must have registered.
    async fn stop(self) {
        self.stop.stop();
        let app = timeout(LIMIT, self.run)
            .await
            .expect("runner stops")
            .expect("task")
            .expect("run ok");
        assert!(app.registered);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_rejoins_after_crossbar_restarts_and_its_registration_answers() {
    let mut cb = tokio::task::spawn_blocking(crossbar::Crossbar::start)
        .await
        .expect("start");
    let url = cb.ws_url.clone();
    let procedure = crossbar::unique_uri("com.example.reconnect.ping");

    let mut service = RunningService::start(ApplicationRunner::new(url.clone(), REALM), &procedure);
    let (first, _) = service.joined(LIMIT, "first join").await;
    assert_eq!(call_once(&url, &procedure).await, Ok(list!["pong"]));

    // Kill and restart the router under the running component.
    let cb_back = tokio::task::spawn_blocking(move || {
        cb.restart();
        cb
    })
    .await
    .expect("restart");

    let (second, _) = service
        .joined(LIMIT, "the component re-joins after the restart")
        .await;
    assert_ne!(first, second, "a new router session");
    // The registration was restored by the runner (the component registered only once).
    assert_eq!(call_once(&url, &procedure).await, Ok(list!["pong"]));

    service.stop().await;
    drop(cb_back);
}
