//! permessage-deflate parameter negotiation (RFC 7692 §7.1), as in Autobahn|Python.
//!
//! Client side: send [`PerMessageDeflateOffer::to_extension_string`] for each offer, parse the
//! server's answer with [`PerMessageDeflateResponse::parse`] and let a
//! [`PerMessageCompressionResponseAccept`] (default [`accept_response`]) decide.
//!
//! Server side: parse every `permessage-deflate` offer with [`PerMessageDeflateOffer::parse`],
//! let a [`PerMessageCompressionAccept`] (default [`accept_first_offer`]) pick one, and send
//! [`PerMessageDeflateOfferAccept::to_extension_string`] back.
//!
//! Either side then builds its codec with
//! [`PerMessageDeflate::from_offer_accept`](super::PerMessageDeflate::from_offer_accept) or
//! [`PerMessageDeflate::from_response_accept`](super::PerMessageDeflate::from_response_accept).

use std::fmt;
use std::sync::Arc;

use super::{valid_mem_level, valid_window_bits, EXTENSION_NAME};

const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";

/// Why a permessage-deflate offer, response or acceptance is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeflateNegotiationError {
    /// A parameter RFC 7692 does not define.
    #[error("unknown permessage-deflate parameter {0:?}")]
    UnknownParameter(String),
    /// The same parameter given twice.
    #[error("duplicate permessage-deflate parameter {0:?}")]
    DuplicateParameter(String),
    /// A parameter with a missing, superfluous or malformed value.
    #[error("invalid value {value:?} for permessage-deflate parameter {name:?}")]
    InvalidValue {
        /// The parameter name.
        name: String,
        /// The value as received (`None`: no value).
        value: Option<String>,
    },
    /// A server response that no offer we sent allows (e.g. `client_max_window_bits` when we
    /// did not offer it, or a larger `server_max_window_bits` than we asked for).
    #[error("permessage-deflate response not allowed by our offer: {0}")]
    NotAllowed(&'static str),
    /// An acceptance (or an offer we build) whose settings contradict each other.
    #[error("incompatible permessage-deflate parameters: {0}")]
    Incompatible(&'static str),
}

type Result<T> = std::result::Result<T, DeflateNegotiationError>;

/// Server-side acceptor: picks (at most) one of the client's offers.
///
/// Autobahn's `perMessageCompressionAccept` for servers; [`accept_first_offer`] is the usual one.
pub type PerMessageCompressionAccept =
    Arc<dyn Fn(&[PerMessageDeflateOffer]) -> Option<PerMessageDeflateOfferAccept> + Send + Sync>;

/// Client-side acceptor: accepts (or refuses, failing the connection) the server's response.
///
/// Autobahn's `perMessageCompressionAccept` for clients; [`accept_response`] is the usual one.
pub type PerMessageCompressionResponseAccept = Arc<
    dyn Fn(&PerMessageDeflateResponse) -> Option<PerMessageDeflateResponseAccept> + Send + Sync,
>;

/// The four RFC 7692 parameters as found in one extension of the header.
#[derive(Default)]
struct RawParams {
    /// `None`: absent; `Some(0)`: present without value; `Some(n)`: value n.
    client_max_window_bits: Option<u8>,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    server_no_context_takeover: bool,
}

/// Parses a window-bits value: a decimal 8..=15 without leading zeroes (RFC 7692 §7.1.2).
/// Quotes are tolerated because RFC 6455 §9.1 allows quoted-string parameter values.
fn parse_window_bits(value: &str) -> Option<u8> {
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if value.is_empty() || value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    valid_window_bits(bits).then_some(bits)
}

fn invalid(name: &str, value: &Option<String>) -> DeflateNegotiationError {
    DeflateNegotiationError::InvalidValue {
        name: name.to_owned(),
        value: value.clone(),
    }
}

/// Shared syntax check for offers and responses: known names, no duplicates, values where
/// required. `client_bits_value_optional`: in an offer `client_max_window_bits` may come
/// without a value, in a response it must have one.
fn parse_raw(
    params: &[(String, Option<String>)],
    client_bits_value_optional: bool,
) -> Result<RawParams> {
    let mut raw = RawParams::default();
    let mut seen = [false; 4];
    for (name, value) in params {
        let slot = match name.as_str() {
            CLIENT_MAX_WINDOW_BITS => 0,
            CLIENT_NO_CONTEXT_TAKEOVER => 1,
            SERVER_MAX_WINDOW_BITS => 2,
            SERVER_NO_CONTEXT_TAKEOVER => 3,
            _ => return Err(DeflateNegotiationError::UnknownParameter(name.clone())),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(DeflateNegotiationError::DuplicateParameter(name.clone()));
        }
        match slot {
            0 => {
                raw.client_max_window_bits = Some(match value {
                    None if client_bits_value_optional => 0,
                    None => return Err(invalid(name, value)),
                    Some(v) => parse_window_bits(v).ok_or_else(|| invalid(name, value))?,
                });
            }
            2 => {
                let bits = value.as_deref().and_then(parse_window_bits);
                raw.server_max_window_bits = Some(bits.ok_or_else(|| invalid(name, value))?);
            }
            // The no_context_takeover parameters have no value (RFC 7692 §7.1.1).
            _ if value.is_some() => return Err(invalid(name, value)),
            1 => raw.client_no_context_takeover = true,
            _ => raw.server_no_context_takeover = true,
        }
    }
    Ok(raw)
}

fn check_request_bits(bits: u8) -> Result<()> {
    if bits == 0 || valid_window_bits(bits) {
        Ok(())
    } else {
        Err(DeflateNegotiationError::Incompatible(
            "max window bits must be 0 (none) or 8..=15",
        ))
    }
}

fn check_window_bits(bits: Option<u8>) -> Result<()> {
    match bits {
        Some(b) if !valid_window_bits(b) => Err(DeflateNegotiationError::Incompatible(
            "window_bits must be 8..=15",
        )),
        _ => Ok(()),
    }
}

fn check_mem_level(level: Option<u8>) -> Result<()> {
    match level {
        Some(l) if !valid_mem_level(l) => Err(DeflateNegotiationError::Incompatible(
            "mem_level must be 1..=9",
        )),
        _ => Ok(()),
    }
}

/// A *permessage-deflate* offer, sent by a client (Autobahn's `PerMessageDeflateOffer`).
///
/// # Examples
///
/// Negotiation end to end: the client's offer, the server's acceptance and the
/// client's check of the response.
///
/// ```
/// use autobahn::websocket::deflate::{
///     PerMessageDeflateOffer, PerMessageDeflateOfferAccept, PerMessageDeflateResponse,
/// };
///
/// // Client: offer, asking the server for a 10-bit window.
/// let offer = PerMessageDeflateOffer::new(true, true, false, 10)?;
/// assert_eq!(
///     offer.to_extension_string(),
///     "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
///      server_max_window_bits=10"
/// );
///
/// // Server: the header's parameters parse back into the same offer; accept it asking
/// // the client not to keep its context.
/// let params = vec![
///     ("client_no_context_takeover".to_string(), None),
///     ("client_max_window_bits".to_string(), None),
///     ("server_max_window_bits".to_string(), Some("10".to_string())),
/// ];
/// let parsed = PerMessageDeflateOffer::parse(&params)?;
/// assert_eq!(parsed, offer);
/// let accept = PerMessageDeflateOfferAccept::with_params(parsed, true, 0, None, None, None)?;
/// assert_eq!(accept.server_max_window_bits(), 10);
///
/// // Client: the server's response is one of the answers our offer allows.
/// let response_params = vec![
///     ("client_no_context_takeover".to_string(), None),
///     ("server_max_window_bits".to_string(), Some("10".to_string())),
/// ];
/// let response = PerMessageDeflateResponse::parse(&response_params, &[offer])?;
/// assert!(response.client_no_context_takeover);
/// # Ok::<(), autobahn::websocket::deflate::DeflateNegotiationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflateOffer {
    /// The client hints that it will not use context takeover (`client_no_context_takeover`
    /// in the offer), so the server may ask for it. Default `true`. A response asking for it
    /// is accepted either way: RFC 7692 §7.1.1.2 lets a server include it unasked.
    pub accept_no_context_takeover: bool,
    /// The client accepts that the server limits the client's window
    /// (`client_max_window_bits` in the offer). Default `true`.
    pub accept_max_window_bits: bool,
    /// The client asks the server not to use context takeover (`server_no_context_takeover`).
    /// Default `false`.
    pub request_no_context_takeover: bool,
    /// When non-zero (8..=15), the client asks the server to use at most this window
    /// (`server_max_window_bits`). Default `0`.
    pub request_max_window_bits: u8,
}

impl Default for PerMessageDeflateOffer {
    fn default() -> Self {
        Self {
            accept_no_context_takeover: true,
            accept_max_window_bits: true,
            request_no_context_takeover: false,
            request_max_window_bits: 0,
        }
    }
}

impl PerMessageDeflateOffer {
    /// An offer with the given settings; fails if `request_max_window_bits` is not 0 or 8..=15.
    pub fn new(
        accept_no_context_takeover: bool,
        accept_max_window_bits: bool,
        request_no_context_takeover: bool,
        request_max_window_bits: u8,
    ) -> Result<Self> {
        let offer = Self {
            accept_no_context_takeover,
            accept_max_window_bits,
            request_no_context_takeover,
            request_max_window_bits,
        };
        offer.validate()?;
        Ok(offer)
    }

    /// Checks the settings (the fields are public, so they may have been set to anything).
    pub fn validate(&self) -> Result<()> {
        check_request_bits(self.request_max_window_bits)
    }

    /// Server side: parses the parameters of one `permessage-deflate` offer of a client.
    ///
    /// Rejects unknown and duplicate parameters, values on `*_no_context_takeover`, a missing or
    /// invalid `server_max_window_bits` value and an invalid `client_max_window_bits` value
    /// (which may have no value). As in Autobahn, `accept_no_context_takeover` is always `true`
    /// (RFC 7692 lets a server send `client_no_context_takeover` to any client), and the
    /// optional value of `client_max_window_bits` is checked but not kept: we always inflate
    /// with a 32 KiB window, so the hint would not save us memory.
    pub fn parse(params: &[(String, Option<String>)]) -> Result<Self> {
        let raw = parse_raw(params, true)?;
        Ok(Self {
            accept_no_context_takeover: true,
            accept_max_window_bits: raw.client_max_window_bits.is_some(),
            request_no_context_takeover: raw.server_no_context_takeover,
            request_max_window_bits: raw.server_max_window_bits.unwrap_or(0),
        })
    }

    /// The offer as a `Sec-WebSocket-Extensions` element, e.g.
    /// `permessage-deflate; client_no_context_takeover; client_max_window_bits`.
    ///
    /// As in Autobahn, `accept_no_context_takeover` adds `client_no_context_takeover`. In an
    /// offer that parameter is also a promise not to use context takeover when compressing
    /// (RFC 7692 §7.1.1.2), and the client keeps it (see
    /// [`PerMessageDeflateResponseAccept`] as built by the client factory).
    pub fn to_extension_string(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.accept_no_context_takeover {
            s.push_str("; ");
            s.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if self.accept_max_window_bits {
            s.push_str("; ");
            s.push_str(CLIENT_MAX_WINDOW_BITS);
        }
        if self.request_no_context_takeover {
            s.push_str("; ");
            s.push_str(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.request_max_window_bits != 0 {
            s.push_str(&format!(
                "; {SERVER_MAX_WINDOW_BITS}={}",
                self.request_max_window_bits
            ));
        }
        s
    }

    /// Client side: does the server's `response` validly accept this offer (RFC 7692 §7.1)?
    pub fn check_response(&self, response: &PerMessageDeflateResponse) -> Result<()> {
        use DeflateNegotiationError::NotAllowed;
        if response.client_max_window_bits != 0 && !self.accept_max_window_bits {
            return Err(NotAllowed("client_max_window_bits without an offer of it"));
        }
        // No check of `client_no_context_takeover`: RFC 7692 §7.1.1.2 lets a server put it in
        // any response, offered or not (node's `ws` does), and the client then simply
        // compresses without context takeover.
        if self.request_no_context_takeover && !response.server_no_context_takeover {
            return Err(NotAllowed("requested server_no_context_takeover missing"));
        }
        if self.request_max_window_bits != 0
            && (response.server_max_window_bits == 0
                || response.server_max_window_bits > self.request_max_window_bits)
        {
            return Err(NotAllowed(
                "server_max_window_bits missing or above the requested value",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for PerMessageDeflateOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_extension_string())
    }
}

/// How a server accepts a client's offer (Autobahn's `PerMessageDeflateOfferAccept`).
///
/// `no_context_takeover`, `window_bits` and `mem_level` tune the server's own compressor
/// (server-to-client direction); the `request_*` fields ask the client to restrict its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflateOfferAccept {
    /// The offer being accepted.
    pub offer: PerMessageDeflateOffer,
    /// Ask the client not to use context takeover (`client_no_context_takeover`); needs
    /// `offer.accept_no_context_takeover`.
    pub request_no_context_takeover: bool,
    /// When non-zero (8..=15), limit the client's window (`client_max_window_bits`); needs
    /// `offer.accept_max_window_bits`.
    pub request_max_window_bits: u8,
    /// Override the server's context takeover (`Some(false)` is refused when the client
    /// requested no context takeover). `None`: as the offer requests.
    pub no_context_takeover: Option<bool>,
    /// Override the server's window bits (8..=15, at most what the client requested).
    /// `None`: as the offer requests, else 15.
    pub window_bits: Option<u8>,
    /// The server compressor's zlib memLevel (1..=9). `None`: 8.
    pub mem_level: Option<u8>,
}

impl PerMessageDeflateOfferAccept {
    /// Accepts `offer` as it is, requesting nothing (always valid for a valid offer).
    pub fn new(offer: PerMessageDeflateOffer) -> Self {
        Self {
            offer,
            request_no_context_takeover: false,
            request_max_window_bits: 0,
            no_context_takeover: None,
            window_bits: None,
            mem_level: None,
        }
    }

    /// Accepts `offer` with the given settings, checking them as Autobahn does.
    pub fn with_params(
        offer: PerMessageDeflateOffer,
        request_no_context_takeover: bool,
        request_max_window_bits: u8,
        no_context_takeover: Option<bool>,
        window_bits: Option<u8>,
        mem_level: Option<u8>,
    ) -> Result<Self> {
        let accept = Self {
            offer,
            request_no_context_takeover,
            request_max_window_bits,
            no_context_takeover,
            window_bits,
            mem_level,
        };
        accept.validate()?;
        Ok(accept)
    }

    /// Checks the settings against each other and against the offer.
    pub fn validate(&self) -> Result<()> {
        use DeflateNegotiationError::Incompatible;
        self.offer.validate()?;
        if self.request_no_context_takeover && !self.offer.accept_no_context_takeover {
            return Err(Incompatible(
                "client_no_context_takeover requested but not accepted by the client",
            ));
        }
        check_request_bits(self.request_max_window_bits)?;
        if self.request_max_window_bits != 0 && !self.offer.accept_max_window_bits {
            return Err(Incompatible(
                "client_max_window_bits requested but not accepted by the client",
            ));
        }
        if self.no_context_takeover == Some(false) && self.offer.request_no_context_takeover {
            return Err(Incompatible(
                "the client requested server_no_context_takeover",
            ));
        }
        check_window_bits(self.window_bits)?;
        if let Some(bits) = self.window_bits {
            if self.offer.request_max_window_bits != 0 && bits > self.offer.request_max_window_bits
            {
                return Err(Incompatible(
                    "window_bits above the server_max_window_bits the client requested",
                ));
            }
        }
        check_mem_level(self.mem_level)
    }

    /// Whether the server will not use context takeover.
    pub fn server_no_context_takeover(&self) -> bool {
        self.no_context_takeover
            .unwrap_or(self.offer.request_no_context_takeover)
    }

    /// The server's window bits as declared (0: not declared, i.e. 15).
    pub fn server_max_window_bits(&self) -> u8 {
        self.window_bits
            .unwrap_or(self.offer.request_max_window_bits)
    }

    /// The server's response as a `Sec-WebSocket-Extensions` value.
    ///
    /// Declares the server's own restrictions too when set by `no_context_takeover` /
    /// `window_bits` (RFC 7692 §7.1.1.1 and §7.1.2.1 allow that whatever the offer said), so
    /// the client knows exactly what we do.
    pub fn to_extension_string(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover() {
            s.push_str("; ");
            s.push_str(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.server_max_window_bits() != 0 {
            s.push_str(&format!(
                "; {SERVER_MAX_WINDOW_BITS}={}",
                self.server_max_window_bits()
            ));
        }
        if self.request_no_context_takeover {
            s.push_str("; ");
            s.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if self.request_max_window_bits != 0 {
            s.push_str(&format!(
                "; {CLIENT_MAX_WINDOW_BITS}={}",
                self.request_max_window_bits
            ));
        }
        s
    }
}

impl fmt::Display for PerMessageDeflateOfferAccept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_extension_string())
    }
}

/// The parameters of a server's *permessage-deflate* response (Autobahn's
/// `PerMessageDeflateResponse`). Window bits 0 mean "not given" (15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerMessageDeflateResponse {
    /// Largest window the client may use (8..=15), 0: not limited.
    pub client_max_window_bits: u8,
    /// The client must not use context takeover.
    pub client_no_context_takeover: bool,
    /// Largest window the server will use (8..=15), 0: not declared.
    pub server_max_window_bits: u8,
    /// The server will not use context takeover.
    pub server_no_context_takeover: bool,
}

impl PerMessageDeflateResponse {
    /// Client side: parses the server's response and checks that at least one of the `offers`
    /// we sent allows it (see [`PerMessageDeflateOffer::check_response`]).
    ///
    /// Rejects unknown and duplicate parameters, values on `*_no_context_takeover`, and window
    /// bits without a valid value. With no `offers` at all, every response is refused (we
    /// offered nothing, so the server must not answer with the extension).
    pub fn parse(
        params: &[(String, Option<String>)],
        offers: &[PerMessageDeflateOffer],
    ) -> Result<Self> {
        let raw = parse_raw(params, false)?;
        let response = Self {
            client_max_window_bits: raw.client_max_window_bits.unwrap_or(0),
            client_no_context_takeover: raw.client_no_context_takeover,
            server_max_window_bits: raw.server_max_window_bits.unwrap_or(0),
            server_no_context_takeover: raw.server_no_context_takeover,
        };
        let mut verdict = Err(DeflateNegotiationError::NotAllowed(
            "permessage-deflate was not offered",
        ));
        for offer in offers {
            verdict = offer.check_response(&response);
            if verdict.is_ok() {
                break;
            }
        }
        verdict.map(|()| response)
    }

    /// The response as a `Sec-WebSocket-Extensions` value.
    pub fn to_extension_string(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            s.push_str("; ");
            s.push_str(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.server_max_window_bits != 0 {
            s.push_str(&format!(
                "; {SERVER_MAX_WINDOW_BITS}={}",
                self.server_max_window_bits
            ));
        }
        if self.client_no_context_takeover {
            s.push_str("; ");
            s.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if self.client_max_window_bits != 0 {
            s.push_str(&format!(
                "; {CLIENT_MAX_WINDOW_BITS}={}",
                self.client_max_window_bits
            ));
        }
        s
    }
}

impl fmt::Display for PerMessageDeflateResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_extension_string())
    }
}

/// How a client accepts the server's response (Autobahn's `PerMessageDeflateResponseAccept`).
///
/// The overrides tune the client's own compressor (client-to-server direction).
///
/// # Examples
///
/// A client acceptor that keeps less state than the server allows (see
/// [`ClientOptions::per_message_compression_accept`](crate::websocket::options::ClientOptions::per_message_compression_accept)):
///
/// ```
/// use std::sync::Arc;
/// use autobahn::websocket::deflate::{PerMessageDeflateResponse, PerMessageDeflateResponseAccept};
/// use autobahn::websocket::options::ClientOptions;
///
/// let options = ClientOptions {
///     per_message_compression_accept: Some(Arc::new(|response: &PerMessageDeflateResponse| {
///         PerMessageDeflateResponseAccept::with_params(*response, Some(true), None, Some(4)).ok()
///     })),
///     ..ClientOptions::default()
/// };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflateResponseAccept {
    /// The response being accepted.
    pub response: PerMessageDeflateResponse,
    /// Override the client's context takeover (`Some(false)` is refused when the server
    /// requested `client_no_context_takeover`). `None`: as the response says.
    pub no_context_takeover: Option<bool>,
    /// Override the client's window bits (8..=15, at most the server's limit).
    /// `None`: as the response says, else 15.
    pub window_bits: Option<u8>,
    /// The client compressor's zlib memLevel (1..=9). `None`: 8.
    pub mem_level: Option<u8>,
}

impl PerMessageDeflateResponseAccept {
    /// Accepts `response` as it is.
    pub fn new(response: PerMessageDeflateResponse) -> Self {
        Self {
            response,
            no_context_takeover: None,
            window_bits: None,
            mem_level: None,
        }
    }

    /// Accepts `response` with overrides, checking them as Autobahn does.
    pub fn with_params(
        response: PerMessageDeflateResponse,
        no_context_takeover: Option<bool>,
        window_bits: Option<u8>,
        mem_level: Option<u8>,
    ) -> Result<Self> {
        let accept = Self {
            response,
            no_context_takeover,
            window_bits,
            mem_level,
        };
        accept.validate()?;
        Ok(accept)
    }

    /// Checks the overrides against the response.
    pub fn validate(&self) -> Result<()> {
        use DeflateNegotiationError::Incompatible;
        if self.no_context_takeover == Some(false) && self.response.client_no_context_takeover {
            return Err(Incompatible(
                "the server requested client_no_context_takeover",
            ));
        }
        check_window_bits(self.window_bits)?;
        if let Some(bits) = self.window_bits {
            if self.response.client_max_window_bits != 0
                && bits > self.response.client_max_window_bits
            {
                return Err(Incompatible(
                    "window_bits above the client_max_window_bits the server requested",
                ));
            }
        }
        check_mem_level(self.mem_level)
    }
}

/// Autobahn's typical server acceptor: accept the client's first offer as it is.
///
/// # Examples
///
/// Servers accept the first offer by default; an acceptor of your own can ask for less
/// memory (see [`ServerOptions::per_message_compression_accept`](crate::websocket::options::ServerOptions::per_message_compression_accept)):
///
/// ```
/// use std::sync::Arc;
/// use autobahn::websocket::deflate::{accept_first_offer, PerMessageDeflateOffer};
/// use autobahn::websocket::deflate::PerMessageDeflateOfferAccept;
/// use autobahn::websocket::options::ServerOptions;
///
/// let offers = [PerMessageDeflateOffer::default()];
/// assert_eq!(accept_first_offer(&offers).map(|a| a.offer), Some(offers[0]));
/// assert!(accept_first_offer(&[]).is_none());
///
/// let mut options = ServerOptions::default();
/// // No context takeover on our side, and a 9-bit window with zlib memLevel 1.
/// options.per_message_compression_accept = Some(Arc::new(|offers: &[PerMessageDeflateOffer]| {
///     let offer = *offers.first()?;
///     PerMessageDeflateOfferAccept::with_params(offer, false, 0, Some(true), Some(9), Some(1)).ok()
/// }));
/// ```
pub fn accept_first_offer(
    offers: &[PerMessageDeflateOffer],
) -> Option<PerMessageDeflateOfferAccept> {
    offers
        .first()
        .map(|offer| PerMessageDeflateOfferAccept::new(*offer))
}

/// Autobahn's typical client acceptor: accept the server's response as it is.
pub fn accept_response(
    response: &PerMessageDeflateResponse,
) -> Option<PerMessageDeflateResponseAccept> {
    Some(PerMessageDeflateResponseAccept::new(*response))
}

/// The client's default offers: one [`PerMessageDeflateOffer::default`], which lets the server
/// request `client_no_context_takeover` and `client_max_window_bits` (needed by the Autobahn
/// testsuite's 13.* cases).
pub fn default_offers() -> Vec<PerMessageDeflateOffer> {
    vec![PerMessageDeflateOffer::default()]
}

#[cfg(test)]
mod tests;
