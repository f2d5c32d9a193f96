//! WAMP authentication (Autobahn's `autobahn.wamp.auth` and `autobahn.wamp.cryptosign`).
//!
//! An [`Authenticator`] knows one authentication method: what to announce in HELLO
//! (`authmethods`, `authid`, `authrole`, `authextra`), how to answer the router's
//! CHALLENGE, and how to check the router's WELCOME. Ready-made ones:
//!
//! | method | type | HELLO | AUTHENTICATE |
//! |---|---|---|---|
//! | `anonymous` | [`AuthAnonymous`] | – | (no challenge) |
//! | `ticket` | [`AuthTicket`] | authid | the ticket |
//! | `wampcra` | [`AuthWampCra`] | authid | base64 HMAC-SHA256 of the challenge, keyed by the secret or its [`derive_key`] |
//! | `cryptosign` | [`AuthCryptosign`] | `authextra.pubkey` (+ `challenge`, `channel_binding`) | hex(Ed25519 signature ‖ signed message) |
//! | `scram` / `wamp-scram` | [`AuthScram`] | authid, `authextra.nonce` | base64 ClientProof; WELCOME's server signature is verified |
//!
//! Give them to [`ApplicationRunner::authentication`](crate::wamp::ApplicationRunner::authentication)
//! (or put them in [`ComponentConfig::authentication`](crate::wamp::ComponentConfig)):
//! the default [`ApplicationSession`](crate::wamp::ApplicationSession) hooks then join
//! with their HELLO details and answer challenges with them, so an application writes
//! no crypto. A component that overrides `on_challenge` can still call
//! [`Authentication::on_challenge`] for the methods it does not handle itself.
//!
//! Secrets are never logged: the authenticators' `Debug` output redacts them.
//!
//! Channel binding: Crossbar.io only accepts `tls-unique` (RFC 5929), which TLS 1.3
//! does not define and rustls does not provide. Our TLS transports offer
//! `tls-exporter` (RFC 9266) through [`ChannelIds`]; an authenticator asked to bind to
//! a channel the transport cannot give fails with [`AuthError::ChannelBinding`]
//! instead of silently authenticating unbound.

mod cryptosign;
mod scram;
mod simple;
mod totp;
mod wampcra;

use std::fmt;
use std::sync::Arc;

pub use cryptosign::{AuthCryptosign, CryptosignKey};
pub use scram::{derive_scram_credential, AuthScram, ScramCredential, ScramKdf};
pub use simple::{AuthAnonymous, AuthTicket};
pub use totp::{check_totp, compute_totp, compute_totp_at, generate_totp_secret};
pub use wampcra::{compute_wcs, derive_key, generate_wcs, pbkdf2, AuthWampCra};

use super::error::{ApplicationError, Error};
use super::types::{Challenge, HelloDetails, SessionDetails};
use super::value::{Dict, Value};

/// Why authentication could not proceed on our side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The router's challenge is missing a field or has a malformed one.
    #[error("invalid {method} challenge: {reason}")]
    InvalidChallenge {
        /// The authentication method.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// No configured authenticator handles the challenge's method.
    #[error("no authenticator for method '{0}'")]
    NoAuthenticator(String),
    /// The requested channel binding is not available on this transport.
    #[error("channel binding '{0}' is not available on this transport")]
    ChannelBinding(String),
    /// The router failed to prove its identity (cryptosign router authentication,
    /// the SCRAM server signature).
    #[error("router authentication failed: {0}")]
    RouterAuthentication(String),
    /// A key could not be read.
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

impl AuthError {
    pub(crate) fn challenge(method: &str, reason: impl Into<String>) -> AuthError {
        AuthError::InvalidChallenge {
            method: method.to_owned(),
            reason: reason.into(),
        }
    }

    /// The WAMP error URI this failure is reported with:
    /// `wamp.error.authentication_failed` when the router failed to authenticate
    /// itself, `wamp.error.cannot_authenticate` otherwise.
    pub fn uri(&self) -> &'static str {
        match self {
            AuthError::RouterAuthentication(_) => ApplicationError::AUTHENTICATION_FAILED,
            _ => ApplicationError::CANNOT_AUTHENTICATE,
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Error {
        Error::Application(ApplicationError::with_message(e.uri(), e.to_string()))
    }
}

/// Channel binding data of a transport, for authenticators that bind to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChannelIds {
    /// `tls-unique` (RFC 5929): not available with TLS 1.3 nor with rustls.
    pub tls_unique: Option<Vec<u8>>,
    /// `tls-exporter` (RFC 9266): 32 bytes exported with the label
    /// `EXPORTER-Channel-Binding`, available on our TLS transports.
    pub tls_exporter: Option<Vec<u8>>,
}

impl ChannelIds {
    /// The channel id for a binding type (`tls-unique`, `tls-exporter`).
    pub fn get(&self, binding: &str) -> Option<&[u8]> {
        match binding {
            "tls-unique" => self.tls_unique.as_deref(),
            "tls-exporter" => self.tls_exporter.as_deref(),
            _ => None,
        }
    }

    /// Asks a transport for every binding type it knows.
    pub fn of<T: super::transport::Transport>(transport: &T) -> ChannelIds {
        ChannelIds {
            tls_unique: transport.channel_id("tls-unique"),
            tls_exporter: transport.channel_id("tls-exporter"),
        }
    }
}

impl fmt::Debug for ChannelIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelIds")
            .field("tls_unique", &self.tls_unique.as_ref().map(hex::encode))
            .field("tls_exporter", &self.tls_exporter.as_ref().map(hex::encode))
            .finish()
    }
}

/// One WAMP authentication method, client side (Autobahn's `IAuthenticator`).
///
/// An authenticator may be used for several joins one after the other (after
/// reconnects): per-attempt state (the SCRAM nonce) is created in
/// [`authextra`](Self::authextra), which is called once per HELLO (by
/// [`Authentication::hello`]), so one authenticator serves one join at a time.
///
/// # Examples
///
/// A method of your own (here a token read at each challenge):
///
/// ```
/// use autobahn::wamp::auth::{AuthError, Authentication, Authenticator, ChannelIds};
/// use autobahn::wamp::Challenge;
///
/// struct FreshToken;
///
/// impl Authenticator for FreshToken {
///     fn method(&self) -> &str {
///         "ticket"
///     }
///     fn authid(&self) -> Option<&str> {
///         Some("service-42")
///     }
///     fn on_challenge(&self, _challenge: &Challenge, _channel: &ChannelIds) -> Result<String, AuthError> {
///         Ok(std::env::var("SERVICE_TOKEN").unwrap_or_default())
///     }
/// }
///
/// let hello = Authentication::new().with(FreshToken).hello("realm1");
/// assert_eq!(hello.authid.as_deref(), Some("service-42"));
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The `authmethod` announced in HELLO, e.g. `ticket`.
    fn method(&self) -> &str;

    /// Whether a CHALLENGE with this method name is for this authenticator (default:
    /// the same name as [`method`](Self::method)).
    fn accepts(&self, method: &str) -> bool {
        method == self.method()
    }

    /// The authid to announce, if any.
    fn authid(&self) -> Option<&str> {
        None
    }

    /// The authrole to ask for, if any.
    fn authrole(&self) -> Option<&str> {
        None
    }

    /// Entries for `HELLO.Details.authextra`. Called once per HELLO.
    fn authextra(&self) -> Dict {
        Dict::new()
    }

    /// Answers a CHALLENGE: the signature (or ticket) for AUTHENTICATE.
    fn on_challenge(
        &self,
        challenge: &Challenge,
        channel: &ChannelIds,
    ) -> Result<String, AuthError>;

    /// Checks the router's WELCOME (e.g. the SCRAM server signature). An error makes
    /// the session refuse the WELCOME: it sends ABORT and closes the transport.
    fn on_welcome(&self, details: &SessionDetails) -> Result<(), AuthError> {
        let _ = details;
        Ok(())
    }
}

/// A shared authenticator is one too. Per-attempt state (the SCRAM nonce, our
/// cryptosign router challenge) lives in the authenticator: share one only between
/// sessions that do not authenticate at the same time.
impl<A: Authenticator + ?Sized> Authenticator for Arc<A> {
    fn method(&self) -> &str {
        (**self).method()
    }
    fn accepts(&self, method: &str) -> bool {
        (**self).accepts(method)
    }
    fn authid(&self) -> Option<&str> {
        (**self).authid()
    }
    fn authrole(&self) -> Option<&str> {
        (**self).authrole()
    }
    fn authextra(&self) -> Dict {
        (**self).authextra()
    }
    fn on_challenge(
        &self,
        challenge: &Challenge,
        channel: &ChannelIds,
    ) -> Result<String, AuthError> {
        (**self).on_challenge(challenge, channel)
    }
    fn on_welcome(&self, details: &SessionDetails) -> Result<(), AuthError> {
        (**self).on_welcome(details)
    }
}

/// The authenticators a component joins with, in order of preference (Autobahn
/// `Component`'s `authentication`). Empty: join without authentication.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::{AuthCryptosign, AuthTicket, Authentication, CryptosignKey};
///
/// let auth = Authentication::new()
///     .with(AuthCryptosign::new(CryptosignKey::generate()).authid("joe"))
///     .with(AuthTicket::new("joe", "fallback ticket"));
/// let hello = auth.hello("realm1");
/// assert_eq!(hello.authmethods, ["cryptosign", "ticket"]);
/// assert_eq!(hello.authid.as_deref(), Some("joe"));
/// // cryptosign announces the public key in authextra.
/// assert!(hello.authextra.is_some_and(|extra| extra.contains_key("pubkey")));
/// ```
#[derive(Clone, Default)]
pub struct Authentication {
    authenticators: Vec<Arc<dyn Authenticator>>,
}

impl Authentication {
    /// No authentication.
    pub fn new() -> Authentication {
        Authentication::default()
    }

    /// Adds an authenticator (its method is announced after the ones added before).
    pub fn with(mut self, authenticator: impl Authenticator) -> Authentication {
        self.push(Arc::new(authenticator));
        self
    }

    /// Adds a shared authenticator.
    pub fn push(&mut self, authenticator: Arc<dyn Authenticator>) {
        self.authenticators.push(authenticator);
    }

    /// `true` when no authenticator is configured.
    pub fn is_empty(&self) -> bool {
        self.authenticators.is_empty()
    }

    /// The configured authenticators.
    pub fn authenticators(&self) -> &[Arc<dyn Authenticator>] {
        &self.authenticators
    }

    /// HELLO details for `realm`: every method in `authmethods`; `authid` and
    /// `authrole` from the first authenticator that has one; the `authextra` entries
    /// of all of them (the first one wins a key).
    pub fn hello(&self, realm: impl Into<String>) -> HelloDetails {
        let mut hello = HelloDetails::new(realm);
        let mut extra = Dict::new();
        for a in &self.authenticators {
            hello.authmethods.push(a.method().to_owned());
            if hello.authid.is_none() {
                hello.authid = a.authid().map(str::to_owned);
            }
            if hello.authrole.is_none() {
                hello.authrole = a.authrole().map(str::to_owned);
            }
            for (k, v) in a.authextra() {
                extra.entry(k).or_insert(v);
            }
        }
        if !extra.is_empty() {
            hello.authextra = Some(extra);
        }
        hello
    }

    fn find(&self, method: &str) -> Option<&Arc<dyn Authenticator>> {
        self.authenticators.iter().find(|a| a.accepts(method))
    }

    /// Answers `challenge` with the authenticator for its method.
    pub fn on_challenge(
        &self,
        challenge: &Challenge,
        channel: &ChannelIds,
    ) -> Result<String, AuthError> {
        self.find(&challenge.method)
            .ok_or_else(|| AuthError::NoAuthenticator(challenge.method.clone()))?
            .on_challenge(challenge, channel)
    }

    /// Checks WELCOME with the authenticator of the method the router used. With
    /// authenticators configured, a WELCOME by a method we did not offer (a missing
    /// `authmethod` counts as `anonymous`) is refused: otherwise a router could skip
    /// the proof that SCRAM or cryptosign router authentication demand.
    pub fn on_welcome(&self, details: &SessionDetails) -> Result<(), AuthError> {
        if self.is_empty() {
            return Ok(());
        }
        let method = details.authmethod.as_deref().unwrap_or("anonymous");
        match self.find(method) {
            Some(a) => a.on_welcome(details),
            None => Err(AuthError::RouterAuthentication(format!(
                "the router admitted us by authmethod '{method}', which we did not offer"
            ))),
        }
    }
}

impl fmt::Debug for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.authenticators.iter().map(|a| a.method().to_owned()))
            .finish()
    }
}

impl PartialEq for Authentication {
    /// The same authenticators (by identity), in the same order.
    fn eq(&self, other: &Authentication) -> bool {
        self.authenticators.len() == other.authenticators.len()
            && self
                .authenticators
                .iter()
                .zip(&other.authenticators)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

/// A required string field of `challenge.extra`.
fn extra_str<'a>(challenge: &'a Challenge, key: &str) -> Result<&'a str, AuthError> {
    match challenge.extra.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(AuthError::challenge(
            &challenge.method,
            format!("'{key}' is a {}, not a string", other.type_name()),
        )),
        None => Err(AuthError::challenge(
            &challenge.method,
            format!("'{key}' is missing"),
        )),
    }
}

/// A required unsigned integer field of `challenge.extra`.
fn extra_u64(challenge: &Challenge, key: &str) -> Result<u64, AuthError> {
    match challenge.extra.get(key) {
        Some(v) => v.as_u64().ok_or_else(|| {
            AuthError::challenge(
                &challenge.method,
                format!("'{key}' is not an unsigned integer"),
            )
        }),
        None => Err(AuthError::challenge(
            &challenge.method,
            format!("'{key}' is missing"),
        )),
    }
}

#[cfg(test)]
mod tests;
