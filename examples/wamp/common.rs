//! Plumbing shared by the WAMP example pairs (included with `#[path = "common.rs"] mod common;`):
//! the command line, logging, and running one role until it is done.
//!
//! Every example is one binary with two roles:
//!
//! ```text
//! <example> backend  [URL] [REALM] [OPTIONS]  # callee / publisher: runs until killed
//! <example> frontend [URL] [REALM] [OPTIONS]  # caller / subscriber: does its work, leaves, exits 0
//! ```
//!
//! URL defaults to `ws://127.0.0.1:8080/ws` (`rs://host:port` selects RawSocket), REALM to
//! `realm1`; the options (`--serializer`, `--keepalive`) are those of `cli.rs`. `RUST_LOG`
//! controls the library's logging (default `warn`, on stderr).

#![allow(dead_code)] // each example uses a different part of this module

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use autobahn::wamp::{ApplicationRunner, ApplicationSession, ComponentConfig, Session};

#[path = "cli.rs"]
mod cli;

/// The router the examples talk to unless told otherwise.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8080/ws";
/// The realm the examples join unless told otherwise.
pub const DEFAULT_REALM: &str = "realm1";
/// A frontend that has not finished by then gives up (exit status 1): every frontend does a
/// bounded amount of work, so this only triggers when its backend is missing.
pub const FRONTEND_LIMIT: Duration = Duration::from_secs(60);
/// The line every backend prints once it has registered / subscribed / started publishing.
pub const READY: &str = "backend ready";

/// How a frontend's session went, asked once its session is over.
pub trait Outcome {
    /// `Ok` if the frontend did all of its work.
    fn outcome(&self) -> Result<(), String>;
}

/// Which half of the pair to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The callee / publisher.
    Backend,
    /// The caller / subscriber.
    Frontend,
}

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    /// The role to run.
    pub role: Role,
    /// The router's URL.
    pub url: String,
    /// The realm to join.
    pub realm: String,
    /// The transport options.
    pub cli: cli::Cli,
}

fn parse_args() -> Result<Args, String> {
    let cli = cli::Cli::from_env()?;
    let mut it = cli.positional.clone().into_iter();
    let role = match it.next().as_deref() {
        Some("backend") => Role::Backend,
        Some("frontend") => Role::Frontend,
        Some(other) => return Err(format!("unknown role {other:?}")),
        None => return Err("missing role".to_owned()),
    };
    let url = it.next().unwrap_or_else(|| DEFAULT_URL.to_owned());
    let realm = it.next().unwrap_or_else(|| DEFAULT_REALM.to_owned());
    if let Some(extra) = it.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    Ok(Args {
        role,
        url,
        realm,
        cli,
    })
}

/// Prints [`READY`]: the backend is set up and a frontend may start.
pub fn ready() {
    println!("{READY}");
}

/// Leaves the realm (GOODBYE `wamp.close.normal`); the runner then returns.
///
/// Called at the end of a hook, which the session cancels as soon as it has left, so
/// nothing after this call runs.
pub async fn leave(session: &Session) {
    if let Err(e) = session.leave(None, None).await {
        eprintln!("leave failed: {e}");
    }
}

/// Parses the command line and runs the chosen role on a single-threaded tokio runtime.
///
/// The backend runs with [`ApplicationRunner::run`] (it reconnects if the router goes away,
/// and only returns if it leaves); the frontend connects once with
/// [`ApplicationRunner::run_once`] and exits 0 only if it joined and its
/// [`Outcome`] is `Ok`.
pub fn main<B, F, MB, MF>(name: &str, make_backend: MB, make_frontend: MF) -> ExitCode
where
    B: ApplicationSession,
    F: ApplicationSession + Outcome,
    MB: FnMut(ComponentConfig) -> B,
    MF: FnOnce(ComponentConfig) -> F,
{
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{name}: {e}\nusage: {name} backend|frontend [URL] [REALM] [OPTIONS]");
            eprintln!("  URL defaults to {DEFAULT_URL}, REALM to {DEFAULT_REALM}");
            eprintln!("{}", cli::OPTIONS_USAGE);
            return ExitCode::from(2);
        }
    };
    init_logging();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runner = args.cli.runner(&args.url, &args.realm);
    match args.role {
        Role::Backend => rt.block_on(backend(name, runner, make_backend)),
        Role::Frontend => rt.block_on(frontend(name, runner, make_frontend)),
    }
}

async fn backend<B, MB>(name: &str, runner: ApplicationRunner, make: MB) -> ExitCode
where
    B: ApplicationSession,
    MB: FnMut(ComponentConfig) -> B,
{
    match runner.run(make).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name} backend: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn frontend<F, MF>(name: &str, runner: ApplicationRunner, make: MF) -> ExitCode
where
    F: ApplicationSession + Outcome,
    MF: FnOnce(ComponentConfig) -> F,
{
    let run = with_limit(FRONTEND_LIMIT, runner.run_once(make));
    match run.await {
        None => {
            eprintln!(
                "{name} frontend: not done after {FRONTEND_LIMIT:?} (is the backend running?)"
            );
            ExitCode::FAILURE
        }
        Some(Err(e)) => {
            eprintln!("{name} frontend: {e}");
            ExitCode::FAILURE
        }
        Some(Ok(outcome)) if !outcome.joined => {
            eprintln!(
                "{name} frontend: could not join the realm ({:?})",
                outcome.close
            );
            ExitCode::FAILURE
        }
        Some(Ok(outcome)) => match outcome.app.outcome() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name} frontend: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn with_limit<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, fut).await.ok()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
