//! RPC, time service: mirrors Autobahn|Python's `wamp/rpc/timeservice` pair.
//!
//! ```text
//! cargo run --example wamp_rpc_timeservice -- backend  [URL] [REALM] [OPTIONS]
//! cargo run --example wamp_rpc_timeservice -- frontend [URL] [REALM] [OPTIONS]
//! ```
//!
//! The backend registers `com.timeservice.now`, which returns the current UTC time as an
//! ISO 8601 string. The frontend calls it once and leaves:
//!
//! ```text
//! Current time from time service: 2025-01-31T12:34:56Z
//! ```

#[path = "common.rs"]
mod common;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use autobahn::wamp::{ApplicationError, ApplicationSession, CallDetails, RegisterOptions};
use autobahn::wamp::{ComponentConfig, Session, SessionDetails};

const PROCEDURE: &str = "com.timeservice.now";

/// Registers the time service.
struct Backend;

impl ApplicationSession for Backend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        // Typed: no arguments (`()`), a `String` result.
        let now =
            |(): (), (): (), _details: CallDetails| async { Ok::<_, ApplicationError>(utc_now()) };
        match session
            .register_typed(PROCEDURE, now, RegisterOptions::default())
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

/// Asks for the time once.
struct Frontend {
    done: Result<(), String>,
}

impl ApplicationSession for Frontend {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        // A result that is not a string fails the call with `Error::Value`.
        let result = session.call_with::<_, String>(PROCEDURE, ()).await;
        self.done = match result {
            Ok(now) => {
                println!("Current time from time service: {now}");
                Ok(())
            }
            Err(e) => Err(format!("call failed: {e}")),
        };
        common::leave(session).await;
    }
}

impl common::Outcome for Frontend {
    fn outcome(&self) -> Result<(), String> {
        self.done.clone()
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, time) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (shifting the year to start
/// in March puts the leap day last, so month lengths follow a fixed pattern).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097; // 400-year cycles
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153; // month, counted from March
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

fn main() -> ExitCode {
    common::main(
        "wamp_rpc_timeservice",
        |_: ComponentConfig| Backend,
        |_| Frontend {
            done: Err("did not finish".into()),
        },
    )
}
