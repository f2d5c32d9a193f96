//! RPC, slow square: mirrors Autobahn|Python's `wamp/rpc/slowsquare` pair: a procedure that
//! answers asynchronously, and calls that run concurrently.
//!
//! ```text
//! cargo run --example wamp_rpc_slowsquare -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_slowsquare -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers `com.math.square(x)`, which answers at once, and
//! `com.math.slowsquare(x, delay=1)`, which awaits `delay` seconds first. Each invocation runs
//! as its own task, so the slow one does not hold up the quick one. The frontend starts both
//! calls at the same time; the quick answer arrives first:
//!
//! ```text
//! Quick Square: 9 in 3 ms
//! Slow Square: 9 in 1004 ms
//! All finished.
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use autobahn::list;
use autobahn::wamp::value::from_value;
use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, CallOptions, CallResult};
use autobahn::wamp::{ComponentConfig, Dict, RegisterOptions, Session, SessionDetails, Value};

const SQUARE: &str = "com.math.square";
const SLOW_SQUARE: &str = "com.math.slowsquare";

/// `x` (and an optional delay in seconds) from the positional arguments.
fn arguments(args: Vec<Value>) -> Result<(f64, Option<f64>), ApplicationError> {
    let mut args = args.into_iter();
    let x: f64 = from_value(args.next().unwrap_or_default())?;
    let delay = args.next().map(from_value::<f64>).transpose()?;
    Ok((x, delay))
}

/// A number as an integer when it is one (so 3 * 3 goes back as `9`, not `9.0`).
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

async fn square(
    args: Vec<Value>,
    _kwargs: Dict,
    _details: CallDetails,
) -> Result<CallResult, ApplicationError> {
    let (x, _) = arguments(args)?;
    Ok(CallResult::with_args(list![number(x * x)]))
}

async fn slow_square(
    args: Vec<Value>,
    _kwargs: Dict,
    _details: CallDetails,
) -> Result<CallResult, ApplicationError> {
    let (x, delay) = arguments(args)?;
    let delay = delay.unwrap_or(1.0);
    if !(0.0..=60.0).contains(&delay) {
        let msg = "delay must be between 0 and 60 seconds";
        return Err(ApplicationError::with_message(
            ApplicationError::INVALID_ARGUMENT,
            msg,
        ));
    }
    tokio::time::sleep(Duration::from_secs_f64(delay)).await;
    Ok(CallResult::with_args(list![number(x * x)]))
}

/// Registers both procedures.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let registered = async {
            session
                .register(SQUARE, square, RegisterOptions::default())
                .await?;
            session
                .register(SLOW_SQUARE, slow_square, RegisterOptions::default())
                .await
        };
        match registered.await {
            Ok(_) => {
                println!("procedures registered: {SQUARE}, {SLOW_SQUARE}");
                common::ready();
            }
            Err(e) => {
                eprintln!("could not register: {e}");
                common::leave(session).await;
            }
        }
    }
}

/// Calls both procedures concurrently.
struct Frontend {
    done: Result<(), String>,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let timed = |procedure: &'static str, label: &'static str| {
            let session = session.clone();
            async move {
                let started = Instant::now();
                let options = CallOptions::default();
                let result = session
                    .call(procedure, list![3], Dict::new(), options)
                    .await;
                let ms = started.elapsed().as_millis();
                match result {
                    Ok(r) => {
                        println!("{label}: {:?} in {ms} ms", r.value());
                        Ok(())
                    }
                    Err(e) => Err(format!("{label} failed: {e}")),
                }
            }
        };
        let (slow, quick) = tokio::join!(
            timed(SLOW_SQUARE, "Slow Square"),
            timed(SQUARE, "Quick Square")
        );
        self.done = slow.and(quick);
        if self.done.is_ok() {
            println!("All finished.");
        }
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
        "wamp_rpc_slowsquare",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
