//! PubSub, complex events: mirrors Autobahn|Python's `wamp/pubsub/complex` pair.
//!
//! ```text
//! cargo run --example wamp_pubsub_complex -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_pubsub_complex -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! Every half second the backend publishes an event without payload to
//! `com.myapp.heartbeat`, and an event with positional and keyword payload to
//! `com.myapp.topic2`: args `[<random 0..100>, "Hello, world!"]`, kwargs
//! `{"c": "Hello", "d": {"counter": <n>, "foo": [1, 2, 3]}}`. The frontend subscribes to
//! both with typed handlers ([`Session::subscribe_typed`]: the positional args as a tuple,
//! the keyword args as a struct holding `d` as a struct and `c` as a dynamic `Value`), and
//! leaves after five `topic2` events:
//!
//! ```text
//! Got heartbeat (publication ID 4242)
//! Got event: 17 "Hello, world!" c="Hello" d=Counter { counter: 3, foo: [1, 2, 3] }
//! ...
//! Received 5 events, leaving
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use autobahn::wamp::{ApplicationError, ApplicationSession, ComponentConfig, PublishOptions};
use autobahn::wamp::{EventDetails, Session, SessionDetails, SubscribeOptions, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

const HEARTBEAT: &str = "com.myapp.heartbeat";
const TOPIC: &str = "com.myapp.topic2";
const INTERVAL: Duration = Duration::from_millis(500);
const EVENTS: usize = 5;

/// The `d` keyword of a `topic2` event.
#[derive(Debug, Serialize, Deserialize)]
struct Counter {
    counter: u64,
    foo: Vec<i64>,
}

/// The keyword arguments of a `topic2` event: `c` stays dynamic, `d` is typed.
#[derive(Debug, Serialize, Deserialize)]
struct Topic2 {
    c: Value,
    d: Counter,
}

/// Publishes a heartbeat and a complex event every [`INTERVAL`].
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        common::ready();
        for counter in 0u64.. {
            let heartbeat = session
                .publish_typed(HEARTBEAT, (), (), PublishOptions::default())
                .await;
            let number = rand::random::<u8>() % 100;
            let kwargs = Topic2 {
                c: "Hello".into(),
                d: Counter {
                    counter,
                    foo: vec![1, 2, 3],
                },
            };
            let event = session
                .publish_typed(
                    TOPIC,
                    (number, "Hello, world!"),
                    kwargs,
                    PublishOptions::default(),
                )
                .await;
            if let Err(e) = heartbeat.and(event) {
                eprintln!("publish failed: {e}");
                return;
            }
            println!("Published heartbeat and event {counter}");
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// What the frontend's handlers hand to its `on_join`.
enum Received {
    Heartbeat { publication: u64 },
    Event { a: u64, b: String, kwargs: Topic2 },
}

/// Prints heartbeats and [`EVENTS`] complex events, then leaves.
struct Frontend {
    received: usize,
    error: Option<String>,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let beats = tx.clone();
        // No payload: `()` for both; an event that does not fit is a user error.
        let on_heartbeat = move |(): (), (): (), details: EventDetails| {
            let publication = details.publication;
            let _ = beats.send(Received::Heartbeat { publication });
            std::future::ready(Ok::<_, ApplicationError>(()))
        };
        let on_event = move |(a, b): (u64, String), kwargs: Topic2, _details| {
            let _ = tx.send(Received::Event { a, b, kwargs });
            std::future::ready(Ok::<_, ApplicationError>(()))
        };
        let subscribed = async {
            let options = SubscribeOptions::default;
            session
                .subscribe_typed(HEARTBEAT, on_heartbeat, options())
                .await?;
            session.subscribe_typed(TOPIC, on_event, options()).await
        };
        if let Err(e) = subscribed.await {
            self.error = Some(format!("subscribe failed: {e}"));
            return common::leave(session).await;
        }
        while self.received < EVENTS {
            match rx.recv().await {
                Some(Received::Heartbeat { publication }) => {
                    println!("Got heartbeat (publication ID {publication})");
                }
                Some(Received::Event { a, b, kwargs }) => {
                    let Topic2 { c, d } = kwargs;
                    println!("Got event: {a} {b:?} c={c:?} d={d:?}");
                    self.received += 1;
                }
                None => break,
            }
        }
        println!("Received {} events, leaving", self.received);
        common::leave(session).await;
    }

    /// An event whose payload does not decode ends up here (after `on_join`).
    async fn on_user_error(&mut self, error: ApplicationError, message: String) {
        self.error = Some(format!("{message}: {error}"));
    }
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None if self.received == EVENTS => Ok(()),
            None => Err(format!("received {} of {EVENTS} events", self.received)),
        }
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_pubsub_complex",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            received: 0,
            error: None,
        },
    )
}
