//! PubSub, unsubscribe: mirrors Autobahn|Python's `wamp/pubsub/unsubscribe` pair.
//!
//! ```text
//! cargo run --example wamp_pubsub_unsubscribe -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_pubsub_unsubscribe -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend publishes a counter to `com.myapp.topic1` every half second (as in
//! `wamp_pubsub_basic`). The frontend subscribes, takes five events, unsubscribes, pauses
//! two seconds (the events of that time are not delivered to it), subscribes again, takes
//! five more and leaves:
//!
//! ```text
//! Subscribed with subscription ID 111
//! Got event: 3
//! ...                    (five events)
//! Unsubscribed .. continue in 2s ..
//! Subscribed with subscription ID 222
//! Got event: 12
//! ...                    (five events)
//! Received 10 events, leaving
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use autobahn::list;
use autobahn::wamp::{ApplicationSession, ComponentConfig, Dict, PublishOptions, Session};
use autobahn::wamp::{SessionDetails, SubscribeOptions, Value};
use tokio::sync::mpsc;

const TOPIC: &str = "com.myapp.topic1";
const INTERVAL: Duration = Duration::from_millis(500);
const PAUSE: Duration = Duration::from_secs(2);
const EVENTS_PER_RUN: usize = 5;
const RUNS: usize = 2;

/// Publishes the counter forever.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        common::ready();
        for counter in 0u64.. {
            let options = PublishOptions::default();
            if let Err(e) = session
                .publish(TOPIC, list![counter], Dict::new(), options)
                .await
            {
                eprintln!("publish failed: {e}");
                return;
            }
            println!("Published event {counter}");
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// Subscribes for [`RUNS`] runs of [`EVENTS_PER_RUN`] events each.
struct Frontend {
    received: usize,
    error: Option<String>,
}

impl Frontend {
    /// One run: subscribe, print events until there were enough, unsubscribe.
    async fn run(&mut self, session: &Session) -> Result<(), autobahn::wamp::Error> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Prints in the handler itself, as the seed does: after `unsubscribe` returned no
        // handler call (and no line) may follow.
        let on_event = move |args: Vec<Value>, _kwargs, _details| {
            println!("Got event: {:?}", args.first().cloned().unwrap_or_default());
            let _ = tx.send(());
            std::future::ready(Ok(()))
        };
        let sub = session
            .subscribe(TOPIC, on_event, SubscribeOptions::default())
            .await?;
        println!("Subscribed with subscription ID {}", sub.id);
        let mut got = 0;
        while got < EVENTS_PER_RUN && rx.recv().await.is_some() {
            got += 1;
        }
        sub.unsubscribe().await?;
        self.received += got;
        Ok(())
    }
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        for run in 1..=RUNS {
            if let Err(e) = self.run(session).await {
                self.error = Some(format!("run {run}: {e}"));
                break;
            }
            if run < RUNS {
                println!("Unsubscribed .. continue in {}s ..", PAUSE.as_secs());
                tokio::time::sleep(PAUSE).await;
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
            None if self.received == RUNS * EVENTS_PER_RUN => Ok(()),
            None => Err(format!("received {} events", self.received)),
        }
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_pubsub_unsubscribe",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            received: 0,
            error: None,
        },
    )
}
