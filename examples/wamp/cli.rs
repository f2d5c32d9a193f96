//! The transport options every WAMP example takes besides its positional arguments
//! (included with `#[path = "cli.rs"] mod cli;` by `common.rs` and `auth_common.rs`).
//!
//! ```text
//! --serializer LIST        serializers to offer, most preferred first, comma-separated:
//!                          json, msgpack, cbor (default cbor,msgpack,json; RawSocket uses
//!                          the first)
//! --keepalive SECS,SECS    ping interval and pong timeout (default 10,5), or "off"
//! ```
//!
//! The URL's scheme picks the transport: `ws://`, `wss://` WebSocket, `rs://`, `rss://`
//! RawSocket (`rs://unix:/path` for a Unix socket). Options may come before, between or
//! after the positional arguments (`--name value` or `--name=value`).

use std::time::Duration;

use autobahn::wamp::ApplicationRunner;

/// Usage lines of the options, for the examples' usage messages.
pub const OPTIONS_USAGE: &str =
    "  --serializer LIST      json, msgpack, cbor, comma-separated, preferred first
                         (default cbor,msgpack,json; RawSocket uses the first)
  --keepalive SECS,SECS  ping interval and pong timeout (default 10,5), or \"off\"
  The URL's scheme picks the transport: ws:// or wss:// (WebSocket), rs:// or rss://
  (RawSocket; rs://unix:/path for a Unix socket).";

/// The command line, split.
#[derive(Debug, Clone, Default)]
pub struct Cli {
    /// The positional arguments, in order.
    pub positional: Vec<String>,
    /// `--serializer`: offered serializers, most preferred first (empty: the default).
    pub serializers: Vec<String>,
    /// `--keepalive`: `Some(None)` for off, `Some(Some((interval, timeout)))` to set it.
    pub keepalive: Option<Option<(Duration, Duration)>>,
}

impl Cli {
    /// Parses the process's arguments.
    pub fn from_env() -> Result<Cli, String> {
        Cli::parse(std::env::args().skip(1))
    }

    /// Parses `args` (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
        let mut cli = Cli::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(option) = arg.strip_prefix("--") else {
                cli.positional.push(arg);
                continue;
            };
            let (name, value) = match option.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = args
                        .next()
                        .ok_or_else(|| format!("--{option} needs a value"))?;
                    (option.to_owned(), v)
                }
            };
            match name.as_str() {
                "serializer" => cli.serializers = serializers(&value)?,
                "keepalive" => cli.keepalive = Some(keepalive(&value)?),
                other => return Err(format!("unknown option --{other}")),
            }
        }
        Ok(cli)
    }

    /// The runner for `url` and `realm` with these options.
    pub fn runner(&self, url: &str, realm: &str) -> ApplicationRunner {
        let mut runner = ApplicationRunner::new(url, realm);
        if !self.serializers.is_empty() {
            runner = runner.serializers(self.serializers.iter().cloned());
        }
        if let Some(keepalive) = self.keepalive {
            let (interval, timeout) = keepalive.unzip();
            runner = runner.keepalive(interval, timeout);
        }
        runner
    }
}

fn serializers(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(|s| match s.trim() {
            name @ ("json" | "msgpack" | "cbor") => Ok(name.to_owned()),
            other => Err(format!(
                "unknown serializer {other:?} (json, msgpack or cbor)"
            )),
        })
        .collect()
}

fn keepalive(value: &str) -> Result<Option<(Duration, Duration)>, String> {
    if value == "off" {
        return Ok(None);
    }
    let secs = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .and_then(|v| Duration::try_from_secs_f64(v).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("--keepalive: {s:?} is not a number of seconds"))
    };
    let (interval, timeout) = value
        .split_once(',')
        .ok_or("--keepalive takes INTERVAL,TIMEOUT in seconds, or off")?;
    Ok(Some((secs(interval)?, secs(timeout)?)))
}
