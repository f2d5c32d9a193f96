//! RPC with options: mirrors Autobahn|Python's `wamp/rpc/options` pair: caller disclosure,
//! call details in the callee, and publishing with an exclusion list from inside a procedure.
//!
//! ```text
//! cargo run --example wamp_rpc_options -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_options -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers `com.myapp.square(val)`. It prints who called (the caller's session
//! ID, which the dealer discloses because the caller asked with `disclose_me`) and, for a
//! non-positive value, publishes it to `com.myapp.square_on_nonpositive`: a negative value
//! to every subscriber, zero to every subscriber except the caller (`exclude`).
//!
//! ```text
//! square called from: 5551234
//! ```
//!
//! The frontend subscribes to that topic, squares 2, 0 and -2, and so hears only about -2:
//!
//! ```text
//! Squared 2 = 4
//! Squared 0 = 0
//! Someone requested to square non-positive: -2
//! Squared -2 = 4
//! ```
//!
//! (The event for -2 is published before the result is returned, so it usually prints before
//! `Squared -2`.)

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use autobahn::wamp::value::from_value;
use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, CallOptions, CallResult};
use autobahn::wamp::{ComponentConfig, Dict, PublishOptions, RegisterOptions, Session};
use autobahn::wamp::{SessionDetails, SubscribeOptions, Value};
use autobahn::{dict, list};
use tokio::sync::mpsc;

const PROCEDURE: &str = "com.myapp.square";
const TOPIC: &str = "com.myapp.square_on_nonpositive";
/// How long the frontend waits for the event about -2 after its last call.
const EVENT_WAIT: Duration = Duration::from_secs(2);

/// Registers `square`.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        // The endpoint publishes through its own handle to the session.
        let publisher = session.clone();
        let square = move |args: Vec<Value>, _kwargs: Dict, details: CallDetails| {
            let session = publisher.clone();
            async move {
                let (val,): (i64,) = from_value(Value::List(args))?;
                match details.caller {
                    Some(caller) => println!("square called from: {caller}"),
                    None => println!("square called from: an undisclosed caller"),
                }
                let options = match (val, details.caller) {
                    (v, _) if v < 0 => Some(PublishOptions::default()),
                    // Everybody but the caller.
                    (0, Some(caller)) => Some(PublishOptions {
                        exclude: Some(vec![caller]),
                        ..PublishOptions::default()
                    }),
                    (0, None) => Some(PublishOptions::default()),
                    _ => None,
                };
                if let Some(options) = options {
                    session
                        .publish(TOPIC, list![val], dict! {}, options)
                        .await?;
                }
                let square = val.checked_mul(val).ok_or_else(|| {
                    ApplicationError::with_message(ApplicationError::INVALID_ARGUMENT, "overflow")
                })?;
                Ok(CallResult::with_args(list![square]))
            }
        };
        match session
            .register(PROCEDURE, square, RegisterOptions::default())
            .await
        {
            Ok(_) => {
                println!("procedure registered: {PROCEDURE}");
                common::ready();
            }
            Err(e) => {
                eprintln!("could not register {PROCEDURE}: {e}");
                common::leave(session).await;
            }
        }
    }
}

/// Subscribes to the non-positive notifications and squares three values.
struct Frontend {
    done: Result<(), String>,
}

impl Frontend {
    async fn work(&mut self, session: &Session) -> Result<(), String> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let on_event = move |args: Vec<Value>, _kwargs, _details| {
            let val = args.first().cloned().unwrap_or_default();
            println!("Someone requested to square non-positive: {val:?}");
            let _ = tx.send(val);
            std::future::ready(Ok(()))
        };
        session
            .subscribe(TOPIC, on_event, SubscribeOptions::default())
            .await
            .map_err(|e| format!("subscribe failed: {e}"))?;
        for val in [2, 0, -2] {
            let options = CallOptions {
                disclose_me: Some(true),
                ..CallOptions::default()
            };
            let r = session
                .call(PROCEDURE, list![val], dict! {}, options)
                .await
                .map_err(|e| format!("call failed: {e}"))?;
            println!("Squared {val} = {:?}", r.value());
        }
        // The one event this session may get is the one about -2.
        match tokio::time::timeout(EVENT_WAIT, rx.recv()).await {
            Ok(Some(v)) if v == Value::from(-2) => Ok(()),
            Ok(other) => Err(format!("unexpected event {other:?}")),
            Err(_) => Err(format!("no event within {EVENT_WAIT:?}")),
        }
    }
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        self.done = self.work(session).await;
        common::leave(session).await;
    }
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        self.done.clone()
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_rpc_options",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
