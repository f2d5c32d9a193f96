//! [`ServerHandshake`]: a server's whole opening-handshake decision as data, from a
//! request (an `http::Request` or bytes parsed by [`RequestParser`](super::RequestParser))
//! through the application's `on_connect` decision to the answer and what was
//! negotiated. Our own server uses it; so can any HTTP stack that hands over requests
//! and upgrades connections.

use super::super::head::OwnedRequest;
use super::super::{HandshakeError, Negotiated};
use super::answer::{accept_answer, deny_answer, error_answer, status_page_answer, Answer};
use super::validate::{from_http, validate};
use super::{ParsedRequest, ServerHandshakeConfig, UpgradeRequest};
use crate::websocket::options::ServerOptions;
use crate::websocket::origin::OriginPolicy;
use crate::websocket::types::{
    ConnectionAccept, ConnectionDeny, ConnectionRequest, Extension, Headers,
};

/// The `Server` header a server sends by default: `AutobahnRust/<crate version>`.
pub const DEFAULT_SERVER: &str = concat!("AutobahnRust/", env!("CARGO_PKG_VERSION"));

/// Everything a server decides an opening handshake with, besides the request and the
/// application's `on_connect`: what Autobahn's server factory knows.
///
/// Two steps, sans-IO: [`check`](Self::check) a request (validation, origin policy,
/// `Host` port, permessage-deflate offers) into a [`PendingUpgrade`] whose
/// [`ConnectionRequest`] is what `on_connect` sees; then [`respond`](Self::respond)
/// with `on_connect`'s decision to get the `101` and the [`Negotiated`] parameters, or
/// a [`Refusal`] carrying the error answer. `max_connections` is the caller's count:
/// answer [`Refusal::too_many_connections`] when it is reached.
///
/// # Examples
///
/// A request another HTTP stack parsed, accepted with a subprotocol:
///
/// ```
/// use autobahn::websocket::handshake::{accept_key, Checked, ServerHandshake};
/// use autobahn::websocket::types::ConnectionAccept;
///
/// let mut handshake = ServerHandshake::new();
/// handshake.protocols = vec!["chat".into()];
///
/// let request = http::Request::get("/room?name=tea")
///     .header("Host", "localhost:9000")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Sec-WebSocket-Version", "13")
///     .header("Sec-WebSocket-Protocol", "chat")
///     .body(())?;
/// let Checked::Upgrade(pending) = handshake.check_request(&request, "tcp:127.0.0.1:50000")? else {
///     panic!("not an upgrade");
/// };
/// assert_eq!(pending.request().path, "/room");
/// assert_eq!(pending.request().params["name"], ["tea"]);
///
/// // What `on_connect` decided: accept, the factory's protocol list chooses.
/// let accepted = handshake.respond(pending, Ok(ConnectionAccept::new()))?;
/// let response = accepted.response();
/// assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
/// assert_eq!(
///     response.headers()["sec-websocket-accept"],
///     accept_key("dGhlIHNhbXBsZSBub25jZQ==").as_str()
/// );
/// assert_eq!(accepted.negotiated().subprotocol.as_deref(), Some("chat"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A denial by `on_connect` becomes the error answer our server would send:
///
/// ```
/// use autobahn::websocket::handshake::{Checked, ServerHandshake};
/// use autobahn::websocket::types::ConnectionDeny;
///
/// let handshake = ServerHandshake::new();
/// let request = http::Request::get("/private")
///     .header("Host", "localhost")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Sec-WebSocket-Version", "13")
///     .body(())?;
/// let Checked::Upgrade(pending) = handshake.check_request(&request, "tcp:127.0.0.1:50001")? else {
///     panic!("not an upgrade");
/// };
/// let deny = ConnectionDeny::new(ConnectionDeny::FORBIDDEN, Some("members only"));
/// let refusal = handshake.respond(pending, Err(deny)).unwrap_err();
/// let response = refusal.response();
/// assert_eq!(response.status(), http::StatusCode::FORBIDDEN);
/// assert!(response.body().contains("members only"));
///
/// // A request that is not valid gets its error answer from `check`.
/// let old = http::Request::get("/")
///     .header("Host", "localhost")
///     .header("Upgrade", "websocket")
///     .header("Connection", "Upgrade")
///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("Sec-WebSocket-Version", "7")
///     .body(())?;
/// let refusal = handshake.check_request(&old, "tcp:127.0.0.1:50002").unwrap_err();
/// assert_eq!(refusal.status(), 426);
/// assert_eq!(refusal.response().headers()["sec-websocket-version"], "13, 8");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ServerHandshake {
    /// Request validation: versions, status page, origin policy, `Host` port, limits.
    pub config: ServerHandshakeConfig,
    /// Subprotocols we speak: when `on_connect` chooses none, the first one the client
    /// announced that is in this list.
    pub protocols: Vec<String>,
    /// The `Server` header (`None`: none).
    pub server: Option<String>,
    /// Extra headers of every `101` answer.
    pub headers: Headers,
    /// Chooses among the client's permessage-deflate offers; `None` declines compression.
    #[cfg(feature = "deflate")]
    pub per_message_compression_accept:
        Option<crate::websocket::deflate::PerMessageCompressionAccept>,
}

impl std::fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandshake")
            .field("config", &self.config)
            .field("protocols", &self.protocols)
            .field("server", &self.server)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Default for ServerHandshake {
    fn default() -> Self {
        Self::from_options(&ServerOptions::default())
    }
}

impl ServerHandshake {
    /// The defaults of [`ServerOptions`], no subprotocols, [`DEFAULT_SERVER`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The handshake settings of `options` (versions, status page, Flash policy, origins,
    /// `X-Forwarded-For` trust, head limits, permessage-deflate acceptance), with no
    /// subprotocols, no extra headers, [`DEFAULT_SERVER`] and no `Host` port check.
    pub fn from_options(options: &ServerOptions) -> Self {
        let o = options;
        Self {
            config: ServerHandshakeConfig {
                versions: o.versions.clone(),
                web_status: o.web_status,
                serve_flash_socket_policy: o.serve_flash_socket_policy,
                origins: OriginPolicy::new(o.allowed_origins.iter(), o.allow_null_origin),
                trust_x_forwarded_for: o.trust_x_forwarded_for,
                max_header_bytes: o.max_handshake_size,
                max_headers: o.max_handshake_headers,
                external_port: None,
                default_port: 80,
            },
            protocols: Vec::new(),
            server: Some(DEFAULT_SERVER.to_owned()),
            headers: Headers::new(),
            #[cfg(feature = "deflate")]
            per_message_compression_accept: o.per_message_compression_accept.clone(),
        }
    }

    /// Step one for a request head another HTTP stack parsed (its size limits are that
    /// stack's): validates it and negotiates extensions. `peer` names the client
    /// (e.g. `tcp:1.2.3.4:5678`; see [`ConnectionRequest::peer`]).
    pub fn check(&self, request: &http::request::Parts, peer: &str) -> Result<Checked, Refusal> {
        self.check_head(
            from_http(
                &request.method,
                &request.uri,
                request.version,
                &request.headers,
            ),
            peer,
        )
    }

    /// [`Self::check`] for a whole request (the body is not looked at).
    pub fn check_request<B>(
        &self,
        request: &http::Request<B>,
        peer: &str,
    ) -> Result<Checked, Refusal> {
        self.check_head(
            from_http(
                request.method(),
                request.uri(),
                request.version(),
                request.headers(),
            ),
            peer,
        )
    }

    fn check_head(&self, head: OwnedRequest, peer: &str) -> Result<Checked, Refusal> {
        match validate(head, peer, 0, &self.config) {
            Ok(ParsedRequest::Upgrade(upgrade)) => self.negotiate(*upgrade).map(Checked::Upgrade),
            // Only the byte parser recognizes a Flash policy request.
            Ok(ParsedRequest::StatusPage { .. } | ParsedRequest::FlashPolicy { .. }) => {
                Ok(Checked::StatusPage(self.status_page()))
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "opening handshake refused");
                Err(self.refuse(e))
            }
        }
    }

    /// Step one for a request [`RequestParser`](super::RequestParser) parsed from bytes:
    /// negotiates extensions (permessage-deflate) before `on_connect` is asked.
    pub fn negotiate(&self, upgrade: UpgradeRequest) -> Result<PendingUpgrade, Refusal> {
        let negotiated = self
            .negotiate_extensions(&upgrade.request.extensions)
            .map_err(|why| Refusal {
                answer: deny_answer(400, Some(&why), &Headers::new()),
                error: HandshakeError::Rejected(why),
            })?;
        Ok(PendingUpgrade {
            request: upgrade.request,
            key: upgrade.key,
            negotiated,
        })
    }

    /// Chooses extensions from the client's offers.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn negotiate_extensions(&self, offered: &[Extension]) -> Result<Negotiated, String> {
        #[cfg(feature = "deflate")]
        {
            use crate::websocket::deflate::{
                PerMessageDeflate, PerMessageDeflateOffer, EXTENSION_NAME,
            };
            let offers = offered
                .iter()
                .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
                .map(|e| PerMessageDeflateOffer::parse(&e.params))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("invalid permessage-deflate offer: {e}"))?;
            if offers.is_empty() {
                return Ok(Negotiated::default());
            }
            let Some(accept_fn) = &self.per_message_compression_accept else {
                return Ok(Negotiated::default());
            };
            let Some(accept) = accept_fn(&offers) else {
                return Ok(Negotiated::default());
            };
            accept
                .validate()
                .map_err(|e| format!("invalid permessage-deflate acceptance: {e}"))?;
            let header = accept.to_extension_string();
            let extensions =
                super::super::parse_extensions([header.as_str()]).map_err(|e| e.to_string())?;
            Ok(Negotiated {
                subprotocol: None,
                extensions,
                deflate: Some(*PerMessageDeflate::from_offer_accept(&accept).params()),
            })
        }
        #[cfg(not(feature = "deflate"))]
        Ok(Negotiated::default())
    }

    /// Step two: the answer to `on_connect`'s decision. Accepting gives the `101` (the
    /// chosen subprotocol must be one the client announced; without one, the first
    /// announced protocol that is in [`Self::protocols`]); denying gives the error
    /// answer with the denial's status and reason.
    pub fn respond(
        &self,
        pending: PendingUpgrade,
        decision: Result<ConnectionAccept, ConnectionDeny>,
    ) -> Result<Accepted, Refusal> {
        match decision {
            Ok(accept) => self.accept(pending, accept),
            Err(ConnectionDeny { code, reason }) => Err(Refusal {
                answer: deny_answer(code, reason.as_deref(), &Headers::new()),
                error: HandshakeError::Rejected(format!("connection denied by on_connect: {code}")),
            }),
        }
    }

    fn accept(
        &self,
        pending: PendingUpgrade,
        accept: ConnectionAccept,
    ) -> Result<Accepted, Refusal> {
        let offered = &pending.request.protocols;
        let subprotocol = match accept.subprotocol {
            Some(p) if offered.contains(&p) => Some(p),
            Some(p) => {
                return Err(Refusal {
                    answer: deny_answer(
                        500,
                        Some("server chose a subprotocol the client did not offer"),
                        &Headers::new(),
                    ),
                    error: HandshakeError::Rejected(format!(
                        "on_connect chose subprotocol {p:?} not offered"
                    )),
                })
            }
            None => offered.iter().find(|p| self.protocols.contains(p)).cloned(),
        };
        let mut headers = self.headers.clone();
        headers.extend(accept.headers.iter());
        let mut negotiated = pending.negotiated;
        match accept_answer(
            &pending.key,
            subprotocol.as_deref(),
            &negotiated.extensions,
            &headers,
            self.server.as_deref(),
        ) {
            Ok(answer) => {
                negotiated.subprotocol = subprotocol;
                Ok(Accepted { answer, negotiated })
            }
            Err(e) => Err(Refusal {
                answer: deny_answer(500, Some(&e.to_string()), &Headers::new()),
                error: e,
            }),
        }
    }

    /// The error answer for a request that failed validation: its status, its message,
    /// the headers it requires, and our `Server` header.
    pub fn refuse(&self, error: HandshakeError) -> Refusal {
        Refusal {
            answer: error_answer(&error, self.server.as_deref()),
            error,
        }
    }

    /// The status page answering a plain GET (when [`ServerHandshakeConfig::web_status`]).
    pub fn status_page(&self) -> http::Response<String> {
        let answer = status_page_answer(self.server.as_deref(), &self.config.versions);
        answer.to_http(answer.body.clone())
    }
}

/// What [`ServerHandshake::check`] found.
#[derive(Debug)]
pub enum Checked {
    /// A valid upgrade: ask `on_connect`, then [`ServerHandshake::respond`].
    Upgrade(PendingUpgrade),
    /// A plain GET without `Upgrade` (and the status page is on): send this page.
    StatusPage(http::Response<String>),
}

/// A valid upgrade request waiting for the application's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpgrade {
    request: ConnectionRequest,
    key: String,
    /// The extensions already agreed (subprotocol still open).
    negotiated: Negotiated,
}

impl PendingUpgrade {
    /// What the client asked for: what `on_connect` is handed.
    pub fn request(&self) -> &ConnectionRequest {
        &self.request
    }

    /// The client's `Sec-WebSocket-Key`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The extensions the `101` will accept (negotiated before `on_connect`, as
    /// Autobahn does).
    pub fn extensions(&self) -> &[Extension] {
        &self.negotiated.extensions
    }

    /// The permessage-deflate parameters the `101` will accept, if any.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::websocket::deflate::PerMessageDeflateParams> {
        self.negotiated.deflate.as_ref()
    }
}

/// An accepted handshake: the `101` answer and what it settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    answer: Answer,
    negotiated: Negotiated,
}

impl Accepted {
    /// The `101 Switching Protocols` answer.
    pub fn response(&self) -> http::Response<()> {
        self.answer.to_http(())
    }

    /// The answer as our server writes it (header order and spelling kept).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.answer.to_bytes()
    }

    /// What the handshake settled.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// What the handshake settled, for the connection.
    pub fn into_negotiated(self) -> Negotiated {
        self.negotiated
    }
}

/// A refused handshake: why ([`Self::error`]) and the HTTP answer to send, a small HTML
/// page with `Connection: close`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("opening handshake refused with HTTP {}", .answer.status)]
pub struct Refusal {
    #[source]
    error: HandshakeError,
    answer: Answer,
}

impl Refusal {
    /// The refusal of a connection over the server's `max_connections`: 503, as our
    /// server answers before reading the request.
    pub fn too_many_connections() -> Self {
        Self {
            answer: deny_answer(503, Some("too many connections"), &Headers::new()),
            error: HandshakeError::Rejected("maximum number of connections reached".into()),
        }
    }

    /// Why the handshake was refused.
    pub fn error(&self) -> &HandshakeError {
        &self.error
    }

    /// Why the handshake was refused, by value.
    pub fn into_error(self) -> HandshakeError {
        self.error
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.answer.status
    }

    /// The answer (HTML body).
    pub fn response(&self) -> http::Response<String> {
        self.answer.to_http(self.answer.body.clone())
    }

    /// The answer as our server writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.answer.to_bytes()
    }
}

#[cfg(test)]
mod tests;
