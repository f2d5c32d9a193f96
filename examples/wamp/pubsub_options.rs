//! PubSub with options: mirrors Autobahn|Python's `wamp/pubsub/options` pair.
//!
//! ```text
//! cargo run --example wamp_pubsub_options -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_pubsub_options -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend subscribes to `com.myapp.topic1` itself, then publishes a counter there every
//! half second with `acknowledge` (so `publish` waits for the broker and returns the
//! publication ID), `exclude_me: false` (so it receives its own events) and `disclose_me` (so
//! subscribers learn its session ID):
//!
//! ```text
//! Event published with publication ID 123
//! Got event: 0
//! ```
//!
//! The frontend prints five events with the details the broker gave and leaves:
//!
//! ```text
//! Got event, publication ID 123, publisher 456: 0
//! ...
//! Received 5 events, leaving
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use autobahn::list;
use autobahn::wamp::{ApplicationSession, ComponentConfig, Dict, EventDetails, PublishOptions};
use autobahn::wamp::{Session, SessionDetails, SubscribeOptions, Value};
use tokio::sync::mpsc;

const TOPIC: &str = "com.myapp.topic1";
const INTERVAL: Duration = Duration::from_millis(500);
const EVENTS: usize = 5;

/// Subscribes to its own topic and publishes with options.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let on_event = |args: Vec<Value>, _kwargs, _details| {
            println!("Got event: {:?}", args.first().cloned().unwrap_or_default());
            std::future::ready(Ok(()))
        };
        if let Err(e) = session
            .subscribe(TOPIC, on_event, SubscribeOptions::default())
            .await
        {
            eprintln!("subscribe failed: {e}");
            return common::leave(session).await;
        }
        common::ready();
        let options = PublishOptions {
            acknowledge: true,
            exclude_me: Some(false),
            disclose_me: Some(true),
            ..PublishOptions::default()
        };
        for counter in 0u64.. {
            match session
                .publish(TOPIC, list![counter], Dict::new(), options.clone())
                .await
            {
                Ok(Some(publication)) => {
                    println!("Event published with publication ID {}", publication.id)
                }
                Ok(None) => println!("Event published (no acknowledgement)"),
                Err(e) => {
                    eprintln!("publish failed: {e}");
                    return common::leave(session).await;
                }
            }
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// Prints [`EVENTS`] events with their details, then leaves.
struct Frontend {
    received: usize,
    anonymous: usize,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let on_event = move |args: Vec<Value>, _kwargs, details: EventDetails| {
            let _ = tx.send((args, details));
            std::future::ready(Ok(()))
        };
        if let Err(e) = session
            .subscribe(TOPIC, on_event, SubscribeOptions::default())
            .await
        {
            eprintln!("subscribe failed: {e}");
            return common::leave(session).await;
        }
        while self.received < EVENTS {
            let Some((args, details)) = rx.recv().await else {
                break;
            };
            let value = args.first().cloned().unwrap_or_default();
            let publisher = match details.publisher {
                Some(id) => id.to_string(),
                None => {
                    self.anonymous += 1;
                    "undisclosed".to_owned()
                }
            };
            println!(
                "Got event, publication ID {}, publisher {publisher}: {value:?}",
                details.publication
            );
            self.received += 1;
        }
        println!("Received {} events, leaving", self.received);
        common::leave(session).await;
    }
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        if self.received != EVENTS {
            Err(format!("received {} of {EVENTS} events", self.received))
        } else if self.anonymous > 0 {
            Err(format!("{} events without the publisher", self.anonymous))
        } else {
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_pubsub_options",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            received: 0,
            anonymous: 0,
        },
    )
}
