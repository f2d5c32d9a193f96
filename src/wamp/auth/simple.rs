//! The two methods without cryptography: `anonymous` and `ticket`.

use std::fmt;

use super::{AuthError, Authenticator, ChannelIds};
use crate::wamp::types::Challenge;
use crate::wamp::value::{Dict, Value};

/// WAMP-Anonymous (Autobahn's `AuthAnonymous`): announces `anonymous`; a router never
/// challenges it.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::{AuthAnonymous, AuthTicket, Authentication};
///
/// // Try a ticket first, fall back to anonymous if the router offers only that.
/// let auth = Authentication::new()
///     .with(AuthTicket::new("joe", "secret"))
///     .with(AuthAnonymous::new());
/// assert_eq!(auth.hello("realm1").authmethods, ["ticket", "anonymous"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthAnonymous {
    /// The authrole to ask for, if any.
    pub authrole: Option<String>,
}

impl AuthAnonymous {
    /// Anonymous authentication.
    pub fn new() -> AuthAnonymous {
        AuthAnonymous::default()
    }
}

impl Authenticator for AuthAnonymous {
    fn method(&self) -> &str {
        "anonymous"
    }

    fn authrole(&self) -> Option<&str> {
        self.authrole.as_deref()
    }

    fn on_challenge(&self, challenge: &Challenge, _: &ChannelIds) -> Result<String, AuthError> {
        Err(AuthError::challenge(
            &challenge.method,
            "anonymous authentication has no challenge",
        ))
    }
}

/// WAMP-Ticket (Autobahn's `AuthTicket`): answers the challenge with a fixed ticket
/// (a password, a token, or a current TOTP code from
/// [`compute_totp`](super::compute_totp)).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::{AuthTicket, Authenticator, ChannelIds};
/// use autobahn::wamp::{ApplicationRunner, Challenge};
///
/// let ticket = AuthTicket::new("joe", "secret!!!").authrole("user");
/// assert_eq!(ticket.method(), "ticket");
/// // The answer to the router's challenge is the ticket itself.
/// let challenge = Challenge { method: "ticket".into(), extra: Default::default() };
/// assert_eq!(ticket.on_challenge(&challenge, &ChannelIds::default())?, "secret!!!");
///
/// let runner = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1").authentication(ticket);
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct AuthTicket {
    authid: String,
    ticket: String,
    authrole: Option<String>,
    authextra: Dict,
}

impl AuthTicket {
    /// Authenticates `authid` with `ticket`.
    pub fn new(authid: impl Into<String>, ticket: impl Into<String>) -> AuthTicket {
        AuthTicket {
            authid: authid.into(),
            ticket: ticket.into(),
            authrole: None,
            authextra: Dict::new(),
        }
    }

    /// Asks for an authrole.
    pub fn authrole(mut self, authrole: impl Into<String>) -> AuthTicket {
        self.authrole = Some(authrole.into());
        self
    }

    /// Adds an entry to `HELLO.Details.authextra`.
    pub fn with_authextra(mut self, key: impl Into<String>, value: impl Into<Value>) -> AuthTicket {
        self.authextra.insert(key.into(), value.into());
        self
    }
}

impl fmt::Debug for AuthTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthTicket")
            .field("authid", &self.authid)
            .field("ticket", &"<redacted>")
            .field("authrole", &self.authrole)
            .finish()
    }
}

impl Authenticator for AuthTicket {
    fn method(&self) -> &str {
        "ticket"
    }

    fn authid(&self) -> Option<&str> {
        Some(&self.authid)
    }

    fn authrole(&self) -> Option<&str> {
        self.authrole.as_deref()
    }

    fn authextra(&self) -> Dict {
        self.authextra.clone()
    }

    fn on_challenge(&self, _: &Challenge, _: &ChannelIds) -> Result<String, AuthError> {
        Ok(self.ticket.clone())
    }
}
