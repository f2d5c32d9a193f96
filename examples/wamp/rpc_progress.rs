//! RPC with progressive results: mirrors Autobahn|Python's `wamp/rpc/progress` pair.
//!
//! ```text
//! cargo run --example wamp_rpc_progress -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_progress -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers `com.myapp.longop(n)`: a long operation that, when the caller asked
//! for progress, sends `0 .. n-1` as progressive results half a second apart, and finally
//! returns `n` (without progress it just takes as long). The frontend calls it with `n = 3`
//! and an `on_progress` handler, as the Python frontend does, then once more with `n = 2`
//! reading the results as a stream (`Session::call_progressive`, no Python counterpart):
//!
//! ```text
//! Progress: 0
//! Progress: 1
//! Progress: 2
//! Final: 3
//! Stream progress: 0
//! Stream progress: 1
//! Stream final: 2
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use autobahn::wamp::CallUpdate;
use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, CallOptions, CallResult};
use autobahn::wamp::{ComponentConfig, Dict, RegisterOptions, Session, SessionDetails};
use autobahn::{dict, list};

const PROCEDURE: &str = "com.myapp.longop";
const STEP: Duration = Duration::from_millis(500);
/// Bounds the work a caller can ask for.
const MAX_N: u32 = 100;

/// Typed: one `u32` argument, no keywords; the result is `n`.
async fn longop((n,): (u32,), (): (), details: CallDetails) -> Result<u32, ApplicationError> {
    if n > MAX_N {
        let msg = format!("n must be at most {MAX_N}");
        return Err(ApplicationError::with_message(
            ApplicationError::INVALID_ARGUMENT,
            msg,
        ));
    }
    match details.progress {
        Some(progress) => {
            for i in 0..n {
                progress.send(list![i], Dict::new()).await?;
                tokio::time::sleep(STEP).await;
            }
        }
        None => tokio::time::sleep(STEP * n).await,
    }
    Ok(n)
}

/// Registers the long operation.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        match session
            .register_typed(PROCEDURE, longop, RegisterOptions::default())
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

/// Calls the long operation with a progress handler.
struct Frontend {
    done: Result<(), String>,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let options = CallOptions {
            // Runs on the session task for each progressive result, so it only prints.
            on_progress: Some(Arc::new(|progress: CallResult| {
                println!("Progress: {:?}", progress.value());
            })),
            ..CallOptions::default()
        };
        let result = session.call(PROCEDURE, list![3], dict! {}, options).await;
        self.done = match result {
            Ok(r) => {
                println!("Final: {:?}", r.value());
                stream(session).await
            }
            Err(e) => Err(format!("call failed: {e}")),
        };
        common::leave(session).await;
    }
}

/// The same call, its results read as a stream.
async fn stream(session: &Session) -> Result<(), String> {
    let mut call = session
        .call_progressive(PROCEDURE, list![2], dict! {}, CallOptions::default())
        .await;
    while let Some(update) = call.next().await {
        match update.map_err(|e| format!("call failed: {e}"))? {
            CallUpdate::Progress(r) => println!("Stream progress: {:?}", r.value()),
            CallUpdate::Final(r) => println!("Stream final: {:?}", r.value()),
        }
    }
    Ok(())
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        self.done.clone()
    }
}

fn main() -> ExitCode {
    common::main(
        "wamp_rpc_progress",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
