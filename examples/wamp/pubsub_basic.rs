//! PubSub, basic: mirrors Autobahn|Python's `wamp/pubsub/basic` pair.
//!
//! ```text
//! cargo run --example wamp_pubsub_basic -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_pubsub_basic -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend publishes a counter (0, 1, 2, ...) to `com.myapp.topic1` every half second.
//! The frontend subscribes, prints five events and leaves:
//!
//! ```text
//! Got event: 7
//! ...                    (five consecutive counters)
//! Received 5 events, leaving
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use autobahn::wamp::{
    ApplicationError, ApplicationSession, PublishOptions, Session, SessionDetails,
};
use autobahn::wamp::{ComponentConfig, SubscribeOptions};
use tokio::sync::mpsc;

const TOPIC: &str = "com.myapp.topic1";
const INTERVAL: Duration = Duration::from_millis(500);
const EVENTS: usize = 5;

/// Publishes the counter forever.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        common::ready();
        for counter in 0u64.. {
            let options = PublishOptions::default();
            if let Err(e) = session.publish_typed(TOPIC, (counter,), (), options).await {
                eprintln!("publish failed: {e}");
                return;
            }
            println!("Published event {counter}");
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// Prints [`EVENTS`] events, then leaves.
struct Frontend {
    received: usize,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        // The handler runs on its own task; it hands the events to this hook.
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Typed: one positional `u64`, no keyword arguments.
        let handler = move |(counter,): (u64,), _kwargs: (), _details| {
            let _ = tx.send(counter);
            std::future::ready(Ok::<_, ApplicationError>(()))
        };
        if let Err(e) = session
            .subscribe_typed(TOPIC, handler, SubscribeOptions::default())
            .await
        {
            eprintln!("subscribe failed: {e}");
            return common::leave(session).await;
        }
        while self.received < EVENTS {
            let Some(counter) = rx.recv().await else {
                break;
            };
            println!("Got event: {counter}");
            self.received += 1;
        }
        println!("Received {} events, leaving", self.received);
        common::leave(session).await;
    }
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        if self.received == EVENTS {
            Ok(())
        } else {
            Err(format!("received {} of {EVENTS} events", self.received))
        }
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_pubsub_basic",
        |_: ComponentConfig| Backend,
        |_| Frontend { received: 0 },
    )
}
