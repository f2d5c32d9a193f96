//! RPC arguments: mirrors Autobahn|Python's `wamp/rpc/arguments` pair: every way of passing
//! positional and keyword arguments, with defaults.
//!
//! ```text
//! cargo run --example wamp_rpc_arguments -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_arguments -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers, under `com.arguments.`:
//!
//! - `ping()`: no arguments, no result;
//! - `add2(a, b)`: two positional arguments;
//! - `stars(nick="somebody", stars=0)`: keyword arguments with defaults (decoded into a
//!   struct with serde);
//! - `orders(product, limit=5)`: a positional argument, and one that may come positionally
//!   or by keyword;
//! - `arglen(*args, **kwargs)`: any arguments; returns how many of each kind.
//!
//! The first three are typed endpoints ([`Session::register_typed`]: a tuple for the
//! positional arguments, a struct or `()` for the keyword ones); the last two take the
//! untyped `Vec<Value>` + `Dict`, since their arguments vary in number and position.
//!
//! The frontend calls them in turn and prints:
//!
//! ```text
//! Pinged!
//! Add2: 5
//! Starred 1: somebody starred 0x
//! Starred 2: Homer starred 0x
//! Starred 3: somebody starred 5x
//! Starred 4: Homer starred 5x
//! Orders 1: ["Product 0", "Product 1", "Product 2", "Product 3", "Product 4"]
//! Orders 2: ["Product 0", ..., "Product 9"]
//! Arglen 1: [0, 0]
//! Arglen 2: [3, 0]
//! Arglen 3: [0, 3]
//! Arglen 4: [3, 3]
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

async fn ping(_args: (), _kwargs: (), _details: CallDetails) -> Result<(), ApplicationError> {
    Ok(())
}

// Arguments that do not decode never get here: the caller gets
// `wamp.error.invalid_argument`.
async fn add2(
    (a, b): (i64, i64),
    _kwargs: (),
    _details: CallDetails,
) -> Result<i64, ApplicationError> {
    a.checked_add(b).ok_or_else(|| {
        ApplicationError::with_message(ApplicationError::INVALID_ARGUMENT, "overflow")
    })
}

/// The keyword arguments of `stars`, with their defaults.
#[derive(Deserialize)]
struct Stars {
    #[serde(default = "somebody")]
    nick: String,
    #[serde(default)]
    stars: u32,
}

fn somebody() -> String {
    "somebody".to_owned()
}

async fn stars(_args: (), s: Stars, _details: CallDetails) -> Result<String, ApplicationError> {
    Ok(format!("{} starred {}x", s.nick, s.stars))
}

async fn orders(args: Vec<Value>, mut kwargs: Dict, _details: CallDetails) -> Reply {
    let mut args = args.into_iter();
    let _product: String = from_value(args.next().unwrap_or_default())?;
    let limit = match args.next().or_else(|| kwargs.remove("limit")) {
        Some(v) => from_value::<usize>(v)?,
        None => 5,
    };
    let all = (0..50).map(|i| format!("Product {i}"));
    Ok(CallResult::with_args(list![all
        .take(limit)
        .collect::<Vec<_>>()]))
}

async fn arglen(args: Vec<Value>, kwargs: Dict, _details: CallDetails) -> Reply {
    Ok(CallResult::with_args(list![list![
        args.len(),
        kwargs.len()
    ]]))
}

/// Registers the five procedures.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let registered = async {
            let options = RegisterOptions::default;
            session
                .register_typed("com.arguments.ping", ping, options())
                .await?;
            session
                .register_typed("com.arguments.add2", add2, options())
                .await?;
            session
                .register_typed("com.arguments.stars", stars, options())
                .await?;
            session
                .register("com.arguments.orders", orders, options())
                .await?;
            session
                .register("com.arguments.arglen", arglen, options())
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

/// Calls every procedure with every kind of arguments.
struct Frontend {
    done: Result<(), String>,
}

/// A value for printing: strings without quotes, everything else as `Debug` shows it.
fn show(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_owned(),
        None => format!("{v:?}"),
    }
}

async fn call_all(session: &Session) -> Result<(), Error> {
    let call = |procedure: &'static str, args: Vec<Value>, kwargs: Dict| {
        let session = session.clone();
        async move {
            let r = session
                .call(procedure, args, kwargs, CallOptions::default())
                .await?;
            Ok::<_, Error>(r.value())
        }
    };
    call("com.arguments.ping", list![], dict! {}).await?;
    println!("Pinged!");

    let sum: i64 = session
        .call_typed("com.arguments.add2", (2, 3), (), CallOptions::default())
        .await?;
    println!("Add2: {sum}");

    let starred = [
        dict! {},
        dict! {"nick" => "Homer"},
        dict! {"stars" => 5},
        dict! {"nick" => "Homer", "stars" => 5},
    ];
    for (i, kwargs) in starred.into_iter().enumerate() {
        let s = call("com.arguments.stars", list![], kwargs).await?;
        println!("Starred {}: {}", i + 1, show(&s));
    }

    let o = call("com.arguments.orders", list!["coffee"], dict! {}).await?;
    println!("Orders 1: {}", show(&o));
    let o = call(
        "com.arguments.orders",
        list!["coffee"],
        dict! {"limit" => 10},
    )
    .await?;
    println!("Orders 2: {}", show(&o));

    let arglens = [
        (list![], dict! {}),
        (list![1, 2, 3], dict! {}),
        (list![], dict! {"a" => 1, "b" => 2, "c" => 3}),
        (list![1, 2, 3], dict! {"a" => 1, "b" => 2, "c" => 3}),
    ];
    for (i, (args, kwargs)) in arglens.into_iter().enumerate() {
        let n = call("com.arguments.arglen", args, kwargs).await?;
        println!("Arglen {}: {}", i + 1, show(&n));
    }
    Ok(())
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        self.done = call_all(session).await.map_err(|e| e.to_string());
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
        "wamp_rpc_arguments",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
