//! Typed WAMP (`register_typed`, `call_typed`, `subscribe_typed`, `publish_typed`,
//! `TypedError`) between two of our sessions through a real Crossbar.io router, over
//! WebSocket/JSON and RawSocket/CBOR:
//!
//! - a typed caller sends a tuple + a kwargs struct, the typed callee gets them decoded
//!   and its struct result comes back decoded;
//! - the callee raises a `TypedError` (URI, tuple, struct) and the caller decodes the
//!   same `TypedError` from the call's error;
//! - arguments that do not fit never reach the endpoint: the caller gets
//!   `wamp.error.invalid_argument` naming the procedure;
//! - a typed publisher reaches a typed subscriber; an event that does not fit becomes
//!   a `UserError` on the subscriber's session, and the subscription goes on.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

#[allow(dead_code)]
#[path = "wamp_crossbar/support.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autobahn::list;
use autobahn::wamp::session::{SessionEvent, TypedError};
use autobahn::wamp::{
    ApplicationError, CallDetails, CallOptions, Dict, EventDetails, PublishOptions,
    RegisterOptions, SubscribeOptions,
};
use crossbar::{unique_uri, Crossbar};
use serde::{Deserialize, Serialize};
use support::{next_event, within, Cell, Kind};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Scale {
    factor: i64,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Scaled {
    total: i64,
    label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Refusal {
    reason: String,
    allowed: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    unit: String,
}

const ZERO_FACTOR: &str = "com.example.error.zero_factor";

fn published() -> PublishOptions {
    PublishOptions {
        acknowledge: true,
        ..Default::default()
    }
}

async fn typed_exchange(cell: Cell) {
    let cb = Crossbar::shared();
    let callee = cell.joined(cb).await;
    let mut caller = cell.joined(cb).await;
    let procedure = unique_uri("com.example.typed.scale");
    let topic = unique_uri("com.example.typed.reading");

    // Typed callee: (i64, i64) + Scale -> Scaled, or a TypedError.
    let invoked = Arc::new(AtomicUsize::new(0));
    let seen = invoked.clone();
    let scale = move |(a, b): (i64, i64), scale: Scale, _details: CallDetails| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            if scale.factor == 0 {
                let refusal = Refusal {
                    reason: "factor must not be zero".into(),
                    allowed: vec![1, 2, 10],
                };
                return Err(TypedError::new(ZERO_FACTOR, (a, b), refusal));
            }
            Ok(Scaled {
                total: (a + b) * scale.factor,
                label: scale.label.unwrap_or_else(|| "plain".into()),
            })
        }
    };
    within(
        "register_typed",
        callee
            .session
            .register_typed(&procedure, scale, RegisterOptions::default()),
    )
    .await
    .expect("registered");

    // Tuple + kwargs struct there, struct back.
    let options = Scale {
        factor: 10,
        label: Some("tens".into()),
    };
    let scaled: Scaled = within(
        "call_typed",
        caller
            .session
            .call_typed(&procedure, (2, 3), options, CallOptions::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: typed call: {e}", cell.name()));
    assert_eq!(
        scaled,
        Scaled {
            total: 50,
            label: "tens".into()
        },
        "{}",
        cell.name()
    );

    // The callee's TypedError arrives as the same TypedError.
    let zero = Scale {
        factor: 0,
        label: None,
    };
    let err = within(
        "call_typed raising",
        caller
            .session
            .call_typed::<_, _, Scaled>(&procedure, (4, 5), zero, CallOptions::default()),
    )
    .await
    .expect_err("zero factor is refused");
    let typed = TypedError::<(i64, i64), Refusal>::from_error(&err)
        .unwrap_or_else(|e| panic!("{}: error payload: {e:?}", cell.name()))
        .unwrap_or_else(|| panic!("{}: not an application error: {err:?}", cell.name()));
    assert_eq!(typed.uri, ZERO_FACTOR);
    assert_eq!(typed.args, (4, 5));
    assert_eq!(
        typed.kwargs,
        Refusal {
            reason: "factor must not be zero".into(),
            allowed: vec![1, 2, 10]
        }
    );

    // Arguments that do not fit: invalid_argument naming the procedure, endpoint not run.
    let before = invoked.load(Ordering::SeqCst);
    let err = within(
        "call_typed with wrong arguments",
        caller.session.call_typed::<_, _, Scaled>(
            &procedure,
            ("two", "three"),
            Scale {
                factor: 1,
                label: None,
            },
            CallOptions::default(),
        ),
    )
    .await
    .expect_err("strings are not i64");
    let app = err.application_error().expect("an application error");
    assert!(app.is(ApplicationError::INVALID_ARGUMENT), "{app:?}");
    let message = app.message().unwrap_or_default();
    assert!(
        message.contains(&procedure) && message.contains("positional arguments"),
        "{message}"
    );
    let err = within(
        "call_typed without kwargs",
        caller
            .session
            .call_typed::<_, _, Scaled>(&procedure, (1, 2), (), CallOptions::default()),
    )
    .await
    .expect_err("factor is required");
    let message = err
        .application_error()
        .and_then(|a| a.message())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("keyword arguments") && message.contains("factor"),
        "{message}"
    );
    assert_eq!(invoked.load(Ordering::SeqCst), before, "endpoint not run");

    // Typed publisher -> typed subscriber (the caller's session subscribes).
    let (tx, mut rx) = mpsc::unbounded_channel();
    let on_reading = move |(sensor, value): (String, f64), reading: Reading, _: EventDetails| {
        let _ = tx.send((sensor, value, reading.unit));
        async { Ok::<_, ApplicationError>(()) }
    };
    within(
        "subscribe_typed",
        caller
            .session
            .subscribe_typed(&topic, on_reading, SubscribeOptions::default()),
    )
    .await
    .expect("subscribed");
    // An event that does not fit: a UserError on the subscriber, nothing delivered.
    within(
        "publish untyped",
        callee
            .session
            .publish(&topic, list![1, 2], Dict::new(), published()),
    )
    .await
    .expect("published");
    let reading = Reading { unit: "°C".into() };
    within(
        "publish_typed",
        callee
            .session
            .publish_typed(&topic, ("kitchen", 21.5), reading, published()),
    )
    .await
    .expect("published");
    match next_event(&mut caller.life, "UserError for the bad event").await {
        SessionEvent::UserError { error, .. } => {
            assert!(error.is(ApplicationError::INVALID_ARGUMENT), "{error:?}");
            assert!(
                error.message().unwrap_or_default().contains(&topic),
                "{error:?}"
            );
        }
        other => panic!("{}: expected UserError, got {other:?}", cell.name()),
    }
    let got = within("typed event", rx.recv()).await.expect("event");
    assert_eq!(got, ("kitchen".to_owned(), 21.5, "°C".to_owned()));
    assert!(rx.try_recv().is_err(), "the bad event was not delivered");

    within("leave", caller.session.leave(None, None))
        .await
        .expect("left");
    within("leave", callee.session.leave(None, None))
        .await
        .expect("left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_ws_json() {
    typed_exchange(Cell {
        kind: Kind::WebSocket,
        serializer: "json",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_rawsocket_cbor() {
    typed_exchange(Cell {
        kind: Kind::RawSocketTcp,
        serializer: "cbor",
    })
    .await;
}
