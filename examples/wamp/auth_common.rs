//! Plumbing shared by the authentication examples (included with
//! `#[path = "auth_common.rs"] mod auth_common;`).
//!
//! ```text
//! <example> [URL] [REALM] [OPTIONS]
//! ```
//!
//! URL defaults to `ws://127.0.0.1:8080/auth` (`rs://host:port` selects RawSocket), REALM
//! to `realm1`; the options (`--serializer`, `--keepalive`) are those of `cli.rs`. The credentials come from `WAMP_AUTHID` and `WAMP_SECRET`; their defaults
//! are the TEST ONLY users of `tests/crossbar/config.json`. The example joins, prints how
//! the router authenticated it, and leaves; it exits 1 with the router's error when the
//! credentials are refused.

use std::process::ExitCode;
use std::time::Duration;

use autobahn::wamp::auth::Authenticator;
use autobahn::wamp::{ApplicationSession, Session, SessionDetails};

#[path = "cli.rs"]
mod cli;

/// The router the examples talk to unless told otherwise.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8080/auth";
/// Gives up after this long.
const LIMIT: Duration = Duration::from_secs(30);

/// `WAMP_AUTHID` / `WAMP_SECRET`, or the given defaults.
pub fn credentials(authid: &str, secret: &str) -> (String, String) {
    let get = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    (get("WAMP_AUTHID", authid), get("WAMP_SECRET", secret))
}

/// Prints the joined session and leaves.
#[derive(Default)]
struct ShowIdentity {
    joined: bool,
}

impl ApplicationSession for ShowIdentity {
    async fn on_join(&mut self, session: &Session, d: SessionDetails) {
        self.joined = true;
        println!(
            "joined {} as {} (authmethod {}, authrole {})",
            d.realm,
            d.authid.as_deref().unwrap_or("?"),
            d.authmethod.as_deref().unwrap_or("?"),
            d.authrole.as_deref().unwrap_or("?"),
        );
        let _ = session.leave(None, None).await;
    }
}

/// Joins with `authenticator` once, as the command line says.
pub fn main(name: &str, authenticator: Result<impl Authenticator, String>) -> ExitCode {
    let cli = match cli::Cli::from_env() {
        Ok(cli) if cli.positional.len() <= 2 => cli,
        Ok(cli) => {
            return usage(
                name,
                &format!("unexpected argument {:?}", cli.positional[2]),
            )
        }
        Err(e) => return usage(name, &e),
    };
    let mut args = cli.positional.iter().cloned();
    let url = args.next().unwrap_or_else(|| DEFAULT_URL.to_owned());
    let realm = args.next().unwrap_or_else(|| "realm1".to_owned());
    let authenticator = match authenticator {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runner = cli.runner(&url, &realm).authentication(authenticator);
    let run = rt.block_on(async {
        tokio::time::timeout(LIMIT, runner.run_once(|_| ShowIdentity::default())).await
    });
    match run {
        Ok(Ok(outcome)) if outcome.app.joined => ExitCode::SUCCESS,
        Ok(Ok(outcome)) => {
            match outcome.close {
                Some(c) => eprintln!(
                    "{name}: not joined: {}: {}",
                    c.reason,
                    c.message.unwrap_or_default()
                ),
                None => eprintln!("{name}: not joined: the connection closed"),
            }
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("{name}: no answer within {LIMIT:?}");
            ExitCode::FAILURE
        }
    }
}

fn usage(name: &str, problem: &str) -> ExitCode {
    eprintln!("{name}: {problem}\nusage: {name} [URL] [REALM] [OPTIONS]");
    eprintln!("  URL defaults to {DEFAULT_URL}, REALM to realm1");
    eprintln!("{}", cli::OPTIONS_USAGE);
    ExitCode::from(2)
}
