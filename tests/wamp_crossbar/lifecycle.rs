//! Session lifecycle checks: leaving, an unknown realm, and `ApplicationRunner::run_once`
//! with a small `ApplicationSession`.

use autobahn::list;
use autobahn::wamp::session::{Lifecycle, SessionEvent};
use autobahn::wamp::{
    ApplicationError, ApplicationRunner, ApplicationSession, CallOptions, CloseDetails, Dict,
    HelloDetails, Session, SessionDetails, Value,
};

use super::checks::Checklist;
use super::crossbar::Crossbar;
use super::support::{next_event, within, Cell};

/// `leave` sends GOODBYE and returns the router's reply; the session is then detached
/// but connected until `disconnect`, after which the lifecycle ends with `Disconnected`.
pub async fn leave(s: &Session, life: &mut Lifecycle, done: &mut Checklist) {
    let close = within("leave", s.leave(None, Some("test over")))
        .await
        .expect("leave");
    // Crossbar answers GOODBYE with Autobahn's default reason, not `goodbye_and_out`.
    assert_eq!(close.reason, ApplicationError::CLOSE_NORMAL, "{close:?}");
    match next_event(life, "Left").await {
        SessionEvent::Left(d) => assert_eq!(d, close),
        other => panic!("expected Left, got {other:?}"),
    }
    assert!(!s.is_attached());
    // Requests after leaving fail at once.
    let r = within(
        "call after leave",
        s.call("com.x", list![], Dict::new(), CallOptions::default()),
    )
    .await;
    assert!(r.is_err(), "{r:?}");
    within("disconnect", s.disconnect()).await;
    match next_event(life, "Disconnected").await {
        SessionEvent::Disconnected => {}
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(!s.is_connected());
    done.pass("leave→GOODBYE, disconnect");
}

/// Joining a realm the router does not have ends in ABORT (`no_such_realm`), promptly.
pub async fn unknown_realm(cell: &Cell, cb: &Crossbar, done: &mut Checklist) {
    let mut started = cell.start_session(cb, "com.example.no.such.realm").await;
    let s = started.session;
    within(
        "join",
        s.join(HelloDetails::new("com.example.no.such.realm")),
    )
    .await
    .expect("HELLO queued");
    match next_event(&mut started.life, "ABORT").await {
        SessionEvent::Left(d) => {
            assert_eq!(d.reason, ApplicationError::NO_SUCH_REALM, "{d:?}");
        }
        other => panic!("expected Left(no_such_realm), got {other:?}"),
    }
    assert!(!s.is_attached());
    within("disconnect", s.disconnect()).await;
    loop {
        if let SessionEvent::Disconnected = next_event(&mut started.life, "Disconnected").await {
            break;
        }
    }
    done.pass("unknown realm→ABORT");
}

/// A small component: on join it calls `add2`, records the answer and leaves; the
/// default `on_leave` disconnects.
struct Adder {
    add2: String,
    log: Vec<String>,
}

impl ApplicationSession for Adder {
    async fn on_connect(&mut self, session: &Session) {
        self.log.push("connect".into());
        let realm = session.config().realm.clone();
        session.join(HelloDetails::new(realm)).await.expect("join");
    }

    async fn on_join(&mut self, session: &Session, details: SessionDetails) {
        self.log
            .push(format!("join {}", details.authrole.unwrap_or_default()));
        let r = session
            .call(
                &self.add2,
                list![19, 23],
                Dict::new(),
                CallOptions::default(),
            )
            .await;
        match r {
            Ok(r) => self
                .log
                .push(format!("add2 {:?}", r.args.first().and_then(Value::as_i64))),
            Err(e) => self.log.push(format!("add2 failed: {e}")),
        }
        // The hook is dropped when the session leaves, so nothing runs after this.
        let _ = session.leave(None, None).await;
    }

    async fn on_leave(&mut self, session: &Session, details: CloseDetails) {
        self.log.push(format!("leave {}", details.reason));
        session.disconnect().await;
    }

    async fn on_disconnect(&mut self) {
        self.log.push("disconnect".into());
    }
}

/// `ApplicationRunner::run_once` runs the component through its hooks against Crossbar.
pub async fn runner(cell: &Cell, cb: &Crossbar, add2: &str, done: &mut Checklist) {
    let runner = ApplicationRunner::new(cell.url(cb), super::crossbar::REALM)
        .serializers([cell.serializer])
        .extra(Value::from("extra"));
    let outcome = within(
        "run_once",
        runner.run_once(|config| {
            assert_eq!(config.extra, Value::from("extra"));
            Adder {
                add2: add2.to_owned(),
                log: Vec::new(),
            }
        }),
    )
    .await
    .expect("run_once");
    assert!(outcome.joined);
    assert_eq!(
        outcome.close.as_ref().map(|c| c.reason.as_str()),
        Some(ApplicationError::CLOSE_NORMAL)
    );
    let want = [
        "connect",
        "join anonymous",
        "add2 Some(42)",
        "leave wamp.close.normal",
        "disconnect",
    ];
    assert_eq!(outcome.app.log, want);
    done.pass("ApplicationRunner::run_once");
}
