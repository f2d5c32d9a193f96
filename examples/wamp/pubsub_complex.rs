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
//! both, decodes `d` into a Rust struct with serde, and leaves after five `topic2` events:
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

use autobahn::wamp::value::from_value;
use autobahn::wamp::{ApplicationSession, ComponentConfig, Dict, PublishOptions, Session};
use autobahn::wamp::{EventDetails, SessionDetails, SubscribeOptions, Value};
use autobahn::{dict, list};
use serde::Deserialize;
use tokio::sync::mpsc;

const HEARTBEAT: &str = "com.myapp.heartbeat";
const TOPIC: &str = "com.myapp.topic2";
const INTERVAL: Duration = Duration::from_millis(500);
const EVENTS: usize = 5;

/// The `d` keyword of a `topic2` event.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // read through Debug
struct Counter {
    counter: u64,
    foo: Vec<i64>,
}

/// Publishes a heartbeat and a complex event every [`INTERVAL`].
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        common::ready();
        for counter in 0u64.. {
            let heartbeat = session
                .publish(HEARTBEAT, vec![], Dict::new(), PublishOptions::default())
                .await;
            let number = rand::random::<u8>() % 100;
            let args = list![number, "Hello, world!"];
            let kwargs = dict! {
                "c" => "Hello",
                "d" => dict! {"counter" => counter, "foo" => list![1, 2, 3]},
            };
            let event = session
                .publish(TOPIC, args, kwargs, PublishOptions::default())
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
    Event { args: Vec<Value>, kwargs: Dict },
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
        let on_heartbeat = move |_args, _kwargs, details: EventDetails| {
            let publication = details.publication;
            let _ = beats.send(Received::Heartbeat { publication });
            std::future::ready(Ok(()))
        };
        let on_event = move |args, kwargs, _details| {
            let _ = tx.send(Received::Event { args, kwargs });
            std::future::ready(Ok(()))
        };
        let subscribed = async {
            let options = SubscribeOptions::default;
            session
                .subscribe(HEARTBEAT, on_heartbeat, options())
                .await?;
            session.subscribe(TOPIC, on_event, options()).await
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
                Some(Received::Event { args, mut kwargs }) => {
                    // Typed views of the payload: the positional args as a tuple, `d` as
                    // a struct; `c` stays a dynamic Value.
                    let c = kwargs.remove("c").unwrap_or_default();
                    let d = kwargs.remove("d").unwrap_or_default();
                    let decoded = from_value::<(u64, String)>(Value::List(args))
                        .and_then(|ab| Ok((ab, from_value::<Counter>(d)?)));
                    match decoded {
                        Ok(((a, b), d)) => {
                            println!("Got event: {a} {b:?} c={c:?} d={d:?}");
                            self.received += 1;
                        }
                        Err(e) => {
                            self.error = Some(format!("unexpected event payload: {e}"));
                            break;
                        }
                    }
                }
                None => break,
            }
        }
        println!("Received {} events, leaving", self.received);
        common::leave(session).await;
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
