//! WAMP authentication against a real Crossbar.io router (`tests/crossbar/config.json`):
//! every ready-made authenticator joins over WebSocket and RawSocket; wrong credentials,
//! a router that cannot prove its key, an impossible channel binding and a wrong SCRAM
//! server signature all end in a clear error without a hang; secrets stay out of logs.
//!
//! The components only use `ApplicationRunner::authentication`: the default
//! `on_connect`/`on_challenge` hooks do the rest, as an application would.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autobahn::wamp::auth::{
    AuthAnonymous, AuthCryptosign, AuthScram, AuthTicket, AuthWampCra, Authenticator, CryptosignKey,
};
use autobahn::wamp::session::RunOutcome;
use autobahn::wamp::{
    ApplicationError, ApplicationRunner, ApplicationSession, CallOptions, Dict, Error, RetryPolicy,
    Session, SessionDetails,
};
use crossbar::{Crossbar, REALM};

const LIMIT: Duration = Duration::from_secs(60);
/// The cryptosign test seed of `tests/crossbar/README.md` (TEST ONLY).
const CRYPTO_SEED: &str = "8965cbbd80c91aa1042a77d15fbb0c6a91c63d0bfd470f7131dea65bdccffda4";

/// Records the joined session, checks it works with one meta call, then leaves.
#[derive(Default)]
struct Probe {
    joined: Option<SessionDetails>,
    meta_ok: bool,
}

impl ApplicationSession for Probe {
    async fn on_join(&mut self, session: &Session, details: SessionDetails) {
        let me = session
            .call(
                "wamp.session.get",
                vec![details.session.into()],
                Dict::new(),
                CallOptions::default(),
            )
            .await;
        self.meta_ok = me.is_ok_and(|r| {
            r.args
                .first()
                .and_then(|d| d.get("authid"))
                .and_then(|v| v.as_str())
                == details.authid.as_deref()
        });
        self.joined = Some(details);
        let _ = session.leave(None, None).await;
    }
}

/// The two transports with authentication: WebSocket `/auth` and RawSocket over TCP.
fn transports(cb: &Crossbar) -> [(String, &'static str); 2] {
    [
        (cb.auth_ws_url.clone(), "json"),
        (cb.rs_url.clone(), "cbor"),
    ]
}

async fn run_once(url: &str, serializer: &str, auth: impl Authenticator) -> RunOutcome<Probe> {
    let runner = ApplicationRunner::new(url, REALM)
        .serializers([serializer])
        .authentication(auth);
    tokio::time::timeout(LIMIT, runner.run_once(|_| Probe::default()))
        .await
        .unwrap_or_else(|_| panic!("run_once on {url} did not finish within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("run_once on {url}: {e}"))
}

fn crypto_key() -> CryptosignKey {
    CryptosignKey::from_seed_hex(CRYPTO_SEED).unwrap()
}

fn openssh_key_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar/cryptosign_test_key.openssh")
}

/// Each method with the authmethod and authid the router must report.
fn good_credentials() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Arc<dyn Authenticator>,
)> {
    let ssh_key = CryptosignKey::from_ssh_file(openssh_key_file()).unwrap();
    vec![
        (
            "ticket",
            "ticket",
            "ticketuser",
            Arc::new(AuthTicket::new("ticketuser", "secret123")),
        ),
        (
            "wampcra",
            "wampcra",
            "crauser",
            Arc::new(AuthWampCra::new("crauser", "crasecret")),
        ),
        (
            "wampcra salted",
            "wampcra",
            "crasalted",
            Arc::new(AuthWampCra::new("crasalted", "crasaltedsecret")),
        ),
        (
            "cryptosign (hex seed, authid from the key)",
            "cryptosign",
            "cryptouser",
            Arc::new(AuthCryptosign::new(crypto_key())),
        ),
        (
            "cryptosign (OpenSSH key file)",
            "cryptosign",
            "cryptouser",
            Arc::new(AuthCryptosign::new(ssh_key).authid("cryptouser")),
        ),
        (
            "scram (argon2id-13)",
            "scram",
            "scramuser",
            Arc::new(AuthScram::new("scramuser", "scramsecret")),
        ),
        (
            "scram (pbkdf2)",
            "scram",
            "scrampbkdf",
            Arc::new(AuthScram::new("scrampbkdf", "scrampbkdfsecret")),
        ),
    ]
}

#[tokio::test]
async fn every_method_joins_over_websocket_and_rawsocket() {
    let cb = Crossbar::shared();
    for (url, serializer) in transports(cb) {
        for (name, method, authid, auth) in good_credentials() {
            let outcome = run_once(&url, serializer, auth).await;
            let d =
                outcome.app.joined.as_ref().unwrap_or_else(|| {
                    panic!("{name} over {url}: not joined: {:?}", outcome.close)
                });
            assert_eq!(d.authmethod.as_deref(), Some(method), "{name} over {url}");
            assert_eq!(d.authid.as_deref(), Some(authid), "{name} over {url}");
            assert_eq!(d.authrole.as_deref(), Some("authenticated"), "{name}");
            assert!(outcome.app.meta_ok, "{name} over {url}: session not usable");
            assert_eq!(
                outcome.close.as_ref().map(|c| c.reason.as_str()),
                Some(ApplicationError::CLOSE_NORMAL)
            );
            eprintln!("ok: {name} over {url} ({serializer})");
        }
    }
    // Anonymous on the RawSocket transport, which allows it next to the others.
    let outcome = run_once(&cb.rs_url, "msgpack", AuthAnonymous::new()).await;
    let d = outcome.app.joined.expect("anonymous join");
    assert_eq!(d.authmethod.as_deref(), Some("anonymous"));
    assert_eq!(d.authrole.as_deref(), Some("anonymous"));
}

/// Runs a join that must fail; returns the close reason and message.
async fn refused(url: &str, serializer: &str, auth: impl Authenticator) -> (String, String) {
    let outcome = run_once(url, serializer, auth).await;
    assert!(outcome.app.joined.is_none(), "joined with bad credentials");
    let close = outcome.close.expect("a refused join reports why");
    let message = close.message.unwrap_or_default();
    assert!(!message.is_empty(), "no message with {}", close.reason);
    (close.reason, message)
}

#[tokio::test]
async fn wrong_credentials_end_with_the_routers_error() {
    let cb = Crossbar::shared();
    for (url, serializer) in transports(cb) {
        let cases: Vec<(&str, (String, String))> = vec![
            (
                "ticket",
                refused(&url, serializer, AuthTicket::new("ticketuser", "wrong")).await,
            ),
            (
                "wampcra",
                refused(&url, serializer, AuthWampCra::new("crauser", "wrong")).await,
            ),
            (
                "wampcra salted",
                refused(&url, serializer, AuthWampCra::new("crasalted", "wrong")).await,
            ),
            (
                "cryptosign unknown key",
                refused(
                    &url,
                    serializer,
                    AuthCryptosign::new(CryptosignKey::generate()),
                )
                .await,
            ),
            (
                "scram",
                refused(&url, serializer, AuthScram::new("scramuser", "wrong")).await,
            ),
            (
                "unknown authid",
                refused(&url, serializer, AuthTicket::new("nobody", "x")).await,
            ),
        ];
        for (name, (reason, message)) in cases {
            eprintln!("{name} over {url}: {reason}: {message}");
            assert!(
                [
                    ApplicationError::NOT_AUTHORIZED,
                    ApplicationError::AUTHENTICATION_FAILED,
                    "wamp.error.no_such_principal",
                ]
                .contains(&reason.as_str()),
                "{name}: unexpected reason {reason}"
            );
        }
    }
}

#[tokio::test]
async fn reconnecting_runner_gives_up_on_wrong_credentials() {
    let cb = Crossbar::shared();
    let runner = ApplicationRunner::new(&cb.auth_ws_url, REALM)
        .authentication(AuthWampCra::new("crauser", "wrong"))
        .retry_policy(RetryPolicy {
            max_retries: None,
            ..RetryPolicy::default()
        });
    let r = tokio::time::timeout(LIMIT, runner.run(|_| Probe::default()))
        .await
        .expect("run must not retry wrong credentials forever");
    match r {
        Err(Error::Application(e)) => {
            assert!(e.error.starts_with("wamp.error."), "{e}");
            assert!(e.message().is_some_and(|m| !m.is_empty()), "{e:?}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("joined with a wrong secret"),
    }
}

fn node_public_key(cb: &Crossbar) -> [u8; 32] {
    let text = std::fs::read_to_string(cb.node_dir.join("key.pub")).expect("node key.pub");
    let hex_key = text
        .lines()
        .find_map(|l| l.strip_prefix("public-key-ed25519:"))
        .expect("public-key-ed25519 in key.pub")
        .trim();
    hex::decode(hex_key).unwrap().try_into().unwrap()
}

#[tokio::test]
async fn cryptosign_router_authentication() {
    let cb = Crossbar::shared();
    let router = node_public_key(cb);
    for (url, serializer) in transports(cb) {
        // The router signs our challenge with its node key.
        let auth = AuthCryptosign::new(crypto_key())
            .verify_router(&router)
            .unwrap();
        let outcome = run_once(&url, serializer, auth).await;
        assert!(outcome.app.joined.is_some(), "{:?}", outcome.close);

        // Trusting another key: we refuse to answer, with our own reason.
        let stranger = CryptosignKey::generate().public_key_bytes();
        let auth = AuthCryptosign::new(crypto_key())
            .verify_router(&stranger)
            .unwrap();
        let (reason, message) = refused(&url, serializer, auth).await;
        assert_eq!(reason, ApplicationError::AUTHENTICATION_FAILED, "{message}");
        assert!(message.contains("router"), "{message}");
    }
}

#[tokio::test]
async fn channel_binding_cannot_be_had_without_tls() {
    let cb = Crossbar::shared();
    for (url, serializer) in transports(cb) {
        // Crossbar only knows tls-unique, and only over TLS: it refuses the HELLO.
        let auth = AuthCryptosign::new(crypto_key()).channel_binding("tls-unique");
        let (reason, message) = refused(&url, serializer, auth).await;
        eprintln!("tls-unique over {url}: {reason}: {message}");
        assert!(message.contains("channel"), "{reason}: {message}");
    }
}

#[tokio::test]
async fn scram_wrong_server_signature_is_refused() {
    let cb = Crossbar::shared();
    for (url, serializer) in transports(cb) {
        // The router accepts our proof, but its stored server key is wrong: the WELCOME
        // does not prove it knows our credential, and we refuse it.
        let auth = AuthScram::new("scrambadserver", "scrampbkdfsecret");
        let (reason, message) = refused(&url, serializer, auth).await;
        assert_eq!(reason, ApplicationError::AUTHENTICATION_FAILED);
        assert!(message.contains("server signature"), "{message}");
    }
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_stay_out_of_trace_logs() {
    let cb = Crossbar::shared();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global, so that every task on every thread logs here (the other tests of this
    // binary too, from now on: their output must not hold secrets either).
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets it");
    let ticket = AuthTicket::new("ticketuser", "secret123");
    let ok = run_once(&cb.auth_ws_url, "json", ticket).await;
    assert!(ok.app.joined.is_some());
    let scram = AuthScram::new("scramuser", "scramsecret");
    let ok = run_once(&cb.rs_url, "json", scram).await;
    assert!(ok.app.joined.is_some());
    let bad = run_once(
        &cb.auth_ws_url,
        "json",
        AuthWampCra::new("crauser", "wrongsecret"),
    )
    .await;
    assert!(bad.app.joined.is_none());
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The library's own output was captured (transport and session events).
    assert!(
        logs.contains("autobahn::wamp::rawsocket_transport")
            && logs.contains("autobahn::wamp::session"),
        "the library's logs were not captured:\n{logs}"
    );
    for secret in ["secret123", "scramsecret", "wrongsecret", CRYPTO_SEED] {
        assert!(
            !logs.contains(secret),
            "{secret} appears in the logs:\n{logs}"
        );
    }
}

/// A session that names no realm (Autobahn's `realm=None`, an empty realm here) joins the
/// one its principal is assigned by the router's authenticator (`cryptouser`'s
/// `"realm": "realm1"` in `tests/crossbar/config.json`), over both transports and every
/// serializer (each encodes the missing realm as its `null`); anonymous, there is no
/// principal to take a realm from, and the router says so.
#[tokio::test]
async fn router_assigns_the_realm_when_none_is_asked_for() {
    let cb = Crossbar::shared();
    for url in [&cb.auth_ws_url, &cb.rs_url] {
        for serializer in crossbar::SERIALIZERS {
            let runner = ApplicationRunner::new(url.as_str(), "")
                .serializers([serializer])
                .authentication(AuthCryptosign::new(crypto_key()));
            let outcome = tokio::time::timeout(LIMIT, runner.run_once(|_| Probe::default()))
                .await
                .expect("run_once finishes")
                .expect("run_once connects");
            let details = outcome.app.joined.unwrap_or_else(|| {
                panic!(
                    "not joined over {url} with {serializer}: {:?}",
                    outcome.close
                )
            });
            assert_eq!(details.realm, REALM, "over {url} with {serializer}");
            assert_eq!(details.authid.as_deref(), Some("cryptouser"));
            assert!(outcome.app.meta_ok, "a call in the assigned realm works");
        }
    }
    let runner = ApplicationRunner::new(&cb.ws_url, "").serializers(["json"]);
    let outcome = tokio::time::timeout(LIMIT, runner.run_once(|_| Probe::default()))
        .await
        .expect("run_once finishes")
        .expect("run_once connects");
    assert!(outcome.app.joined.is_none());
    let close = outcome.close.expect("the router says why");
    assert_eq!(close.reason, "wamp.error.no_such_realm", "{close:?}");
}
