//! RPC errors: mirrors Autobahn|Python's `wamp/rpc/errors` pair: raising errors in a callee
//! and catching them in the caller, including an application error type mapped to its URI
//! (Autobahn's `@wamp.error` / `define()`).
//!
//! ```text
//! cargo run --example wamp_rpc_errors -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_errors -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers:
//!
//! - `com.myapp.sqrt(x)`: fails for 0 ("don't ask foolish questions ;)") and for negative
//!   numbers ("math domain error"), both as `wamp.error.runtime_error`, the URI Autobahn
//!   gives to exceptions that are not application errors;
//! - `com.myapp.checkname(name)`: fails with `com.myapp.error.reserved` (no payload),
//!   `com.myapp.error.mixed_case` (positional payload) or `com.myapp.error.invalid_length`
//!   (keyword payload);
//! - `com.myapp.compare(a, b)`: fails with [`AppError1`] (`com.myapp.error1`) if `a < b`.
//!
//! The frontend makes the calls and prints:
//!
//! ```text
//! Result: 1.4142135623730951
//! Error: wamp.error.runtime_error: don't ask foolish questions ;)
//! Error: wamp.error.runtime_error: math domain error
//! Error: com.myapp.error.reserved args=[] kwargs={}
//! Error: com.myapp.error.invalid_length args=[] kwargs={"max": 10, "min": 3}
//! Error: com.myapp.error.invalid_length args=[] kwargs={"max": 10, "min": 3}
//! Error: com.myapp.error.mixed_case args=["hello", "HELLO"] kwargs={}
//! Compare Error: AppError1(14)
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;

use autobahn::wamp::session::TypedError;
use autobahn::wamp::Value;
use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, CallOptions, CallResult};
use autobahn::wamp::{ComponentConfig, Error, RegisterOptions, Session, SessionDetails};
use autobahn::{dict, list};

/// A typed endpoint's result.
type Reply<T> = Result<T, ApplicationError>;

/// An application error type with its own URI; its payload is how far `a` is below `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AppError1(i64);

impl AppError1 {
    const URI: &'static str = "com.myapp.error1";
}

/// Raising it: a typed endpoint's `Err(AppError1(..))`. The wire form is a
/// [`TypedError`] with the URI and the payload as its one positional argument.
impl From<AppError1> for ApplicationError {
    fn from(e: AppError1) -> ApplicationError {
        TypedError::new(AppError1::URI, (e.0,), ()).into()
    }
}

/// Catching it: the caller recognizes the URI and decodes the payload.
impl TryFrom<&ApplicationError> for AppError1 {
    type Error = ();
    fn try_from(e: &ApplicationError) -> Result<AppError1, ()> {
        match TypedError::<(i64,)>::try_from(e.clone()) {
            Ok(TypedError {
                uri, args: (diff,), ..
            }) if uri == AppError1::URI => Ok(AppError1(diff)),
            _ => Err(()),
        }
    }
}

fn runtime_error(message: &str) -> ApplicationError {
    ApplicationError::with_message(ApplicationError::RUNTIME_ERROR, message)
}

async fn sqrt((x,): (f64,), _kwargs: (), _details: CallDetails) -> Reply<f64> {
    if x == 0.0 {
        Err(runtime_error("don't ask foolish questions ;)"))
    } else if x < 0.0 {
        Err(runtime_error("math domain error"))
    } else {
        Ok(x.sqrt())
    }
}

async fn checkname((name,): (String,), _kwargs: (), _details: CallDetails) -> Reply<()> {
    let (lower, upper) = (name.to_lowercase(), name.to_uppercase());
    if name == "foo" || name == "bar" {
        Err(ApplicationError::new("com.myapp.error.reserved"))
    } else if name != lower && name != upper {
        Err(ApplicationError::new("com.myapp.error.mixed_case").args(list![lower, upper]))
    } else if !(3..=10).contains(&name.chars().count()) {
        Err(ApplicationError::new("com.myapp.error.invalid_length")
            .kwargs(dict! {"min" => 3, "max" => 10}))
    } else {
        Ok(())
    }
}

async fn compare((a, b): (i64, i64), _kwargs: (), _details: CallDetails) -> Result<(), AppError1> {
    if a < b {
        return Err(AppError1(b.saturating_sub(a)));
    }
    Ok(())
}

/// Registers the three procedures.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let registered = async {
            let options = RegisterOptions::default;
            session
                .register_typed("com.myapp.sqrt", sqrt, options())
                .await?;
            session
                .register_typed("com.myapp.checkname", checkname, options())
                .await?;
            session
                .register_typed("com.myapp.compare", compare, options())
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

/// Makes calls that fail in every way.
struct Frontend {
    done: Result<(), String>,
}

/// The call's application error; other failures (transport ...) end the frontend.
fn application_error(
    r: Result<CallResult, Error>,
) -> Result<Result<CallResult, ApplicationError>, Error> {
    match r {
        Ok(r) => Ok(Ok(r)),
        Err(Error::Application(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

async fn call_all(session: &Session) -> Result<(), Error> {
    let call = |procedure: &'static str, args: Vec<Value>| {
        let session = session.clone();
        async move {
            let r = session
                .call(procedure, args, dict! {}, CallOptions::default())
                .await;
            application_error(r)
        }
    };
    for x in [2, 0, -2] {
        match call("com.myapp.sqrt", list![x]).await? {
            Ok(r) => println!("Result: {:?}", r.value()),
            // Display: the URI and the message (first positional argument).
            Err(e) => println!("Error: {e}"),
        }
    }
    let eleven_stars = "*".repeat(11);
    for name in ["foo", "a", eleven_stars.as_str(), "Hello"] {
        match call("com.myapp.checkname", list![name]).await? {
            Ok(r) => println!("Result: {:?}", r.value()),
            Err(e) => println!("Error: {} args={:?} kwargs={:?}", e.error, e.args, e.kwargs),
        }
    }
    match call("com.myapp.compare", list![3, 17]).await? {
        Ok(r) => println!("Result: {:?}", r.value()),
        Err(e) => match AppError1::try_from(&e) {
            Ok(app) => println!("Compare Error: {app:?}"),
            Err(()) => println!("Error: {e}"),
        },
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
        "wamp_rpc_errors",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
