//! RPC, complex results: mirrors Autobahn|Python's `wamp/rpc/complex` pair: results with
//! more than one positional or keyword value (Autobahn's `CallResult`).
//!
//! ```text
//! cargo run --example wamp_rpc_complex -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_complex -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers `com.myapp.add_complex(a, ai, b, bi)`, which returns the sum of two
//! complex numbers as keyword results `c` and `ci`, and `com.myapp.split_name(fullname)`,
//! which returns two positional results. The frontend calls both and prints:
//!
//! ```text
//! Result: 6 + 8i
//! Forename: Homer, Surname: Simpson
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;

use autobahn::wamp::value::from_value;
use autobahn::wamp::Value;
use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, CallOptions, CallResult};
use autobahn::wamp::{ComponentConfig, Dict, Error, RegisterOptions, Session, SessionDetails};
use autobahn::{dict, list};
use serde::Deserialize;

/// A registered procedure's result.
type Reply = Result<CallResult, ApplicationError>;

fn overflow() -> ApplicationError {
    ApplicationError::with_message(ApplicationError::INVALID_ARGUMENT, "overflow")
}

async fn add_complex(args: Vec<Value>, _kwargs: Dict, _details: CallDetails) -> Reply {
    let (a, ai, b, bi): (i64, i64, i64, i64) = from_value(Value::List(args))?;
    let c = a.checked_add(b).ok_or_else(overflow)?;
    let ci = ai.checked_add(bi).ok_or_else(overflow)?;
    Ok(CallResult::with_args_kwargs(
        list![],
        dict! {"c" => c, "ci" => ci},
    ))
}

async fn split_name(args: Vec<Value>, _kwargs: Dict, _details: CallDetails) -> Reply {
    let (fullname,): (String,) = from_value(Value::List(args))?;
    let (forename, surname) = fullname.split_once(' ').unwrap_or((&fullname, ""));
    Ok(CallResult::with_args(list![forename, surname]))
}

/// Registers both procedures.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let registered = async {
            let options = RegisterOptions::default;
            session
                .register("com.myapp.add_complex", add_complex, options())
                .await?;
            session
                .register("com.myapp.split_name", split_name, options())
                .await
        };
        match registered.await {
            Ok(_) => {
                println!("procedures registered");
                common::ready();
            }
            Err(e) => {
                eprintln!("could not register: {e}");
                common::leave(session).await;
            }
        }
    }
}

/// The keyword results of `add_complex`.
#[derive(Deserialize)]
struct Complex {
    c: i64,
    ci: i64,
}

/// Calls both procedures.
struct Frontend {
    done: Result<(), String>,
}

async fn call_both(session: &Session) -> Result<(), Error> {
    let options = CallOptions::default;
    let sum = session
        .call(
            "com.myapp.add_complex",
            list![2, 3, 4, 5],
            dict! {},
            options(),
        )
        .await?;
    // Only keyword results: `CallResult::deserialize` decodes the kwargs dict.
    let sum: Complex = sum.deserialize()?;
    println!("Result: {} + {}i", sum.c, sum.ci);

    let name = session
        .call(
            "com.myapp.split_name",
            list!["Homer Simpson"],
            dict! {},
            options(),
        )
        .await?;
    // Two positional results: a tuple.
    let (forename, surname): (String, String) = name.deserialize()?;
    println!("Forename: {forename}, Surname: {surname}");
    Ok(())
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        self.done = call_both(session).await.map_err(|e| e.to_string());
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
        "wamp_rpc_complex",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
