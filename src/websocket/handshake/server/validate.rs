//! RFC 6455 §4.2.1 validation of a client's opening request, whichever way it
//! arrived: parsed from bytes by [`RequestParser`](super::RequestParser), or an
//! `http::Request` another HTTP stack parsed ([`from_http`]).

use std::collections::BTreeMap;

use base64::Engine as _;

use super::super::head::OwnedRequest;
use super::super::{has_token, is_token, list_values, parse_extensions, single, HandshakeError};
use super::{ParsedRequest, ServerHandshakeConfig, UpgradeRequest};
use crate::websocket::types::{ConnectionRequest, Headers};
use crate::websocket::PeerAddr;

/// An `http` request head in the form the validation reads: header names as the
/// `http` crate spells them (lowercase), values decoded as UTF-8 (invalid bytes
/// replaced, as for requests parsed from bytes).
pub(crate) fn from_http(
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
    headers: &http::HeaderMap,
) -> OwnedRequest {
    OwnedRequest {
        method: method.as_str().to_owned(),
        target: uri.to_string(),
        // HTTP/2 and /3 carry no Upgrade: refused like HTTP/1.0.
        minor_version: u8::from(version == http::Version::HTTP_11),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    }
}

pub(super) fn validate(
    req: OwnedRequest,
    peer: &str,
    consumed: usize,
    config: &ServerHandshakeConfig,
) -> Result<ParsedRequest, HandshakeError> {
    if req.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed(req.method));
    }
    if req.minor_version != 1 {
        return Err(HandshakeError::HttpVersion);
    }
    let (path, params) = parse_target(&req.target)?;
    let h = &req.headers;
    let host = single(h, "Host")?
        .ok_or(HandshakeError::MissingHeader("Host"))?
        .to_owned();
    if let Some(expected) = config.external_port {
        check_host_port(&host, expected, config.default_port)?;
    }

    if !h.contains("Upgrade") {
        return if config.web_status {
            Ok(ParsedRequest::StatusPage { path, consumed })
        } else {
            Err(HandshakeError::UpgradeRequired)
        };
    }
    if !has_token(h, "Upgrade", "websocket") {
        return Err(HandshakeError::NotWebSocketUpgrade);
    }
    if !has_token(h, "Connection", "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }

    let version = single(h, "Sec-WebSocket-Version")?
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Version"))?;
    let version = parse_version(version)?;
    if !config.versions.contains(&version) {
        return Err(HandshakeError::UnsupportedVersion {
            version,
            supported: config.versions.clone(),
        });
    }

    let key = single(h, "Sec-WebSocket-Key")?
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Key"))?;
    if !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    let key = key.to_owned();

    // hybi-08..12 browsers sent the origin as Sec-WebSocket-Origin.
    let origin = if version <= 12 {
        single(h, "Sec-WebSocket-Origin")?
    } else {
        single(h, "Origin")?
    };
    config.origins.check(origin)?;
    let origin = origin.map(str::to_owned);

    let mut protocols: Vec<String> = Vec::new();
    // A set, not a scan of `protocols`: a 16 KiB head holds thousands of tokens, and a
    // quadratic duplicate check would make it cost 200 handshakes' worth of CPU.
    let mut seen = std::collections::HashSet::new();
    for p in list_values(h, "Sec-WebSocket-Protocol") {
        if !is_token(p) {
            return Err(HandshakeError::InvalidProtocol(format!(
                "{p:?} is not a token"
            )));
        }
        if !seen.insert(p) {
            return Err(HandshakeError::InvalidProtocol(format!(
                "duplicate protocol {p:?}"
            )));
        }
        protocols.push(p.to_owned());
    }

    let extensions = parse_extensions(h.get_all("Sec-WebSocket-Extensions"))?;
    let peer_addr = PeerAddr::parse(peer);
    let peer = resolve_peer(peer, h, config.trust_x_forwarded_for);

    Ok(ParsedRequest::Upgrade(Box::new(UpgradeRequest {
        request: ConnectionRequest {
            peer,
            peer_addr,
            headers: req.headers,
            host,
            path,
            params,
            version,
            origin,
            protocols,
            extensions,
        },
        key,
        consumed,
    })))
}

/// Autobahn's `externalPort` check: the port in `Host` (or `default_port` when it
/// names none) must be the port the server is reachable under.
fn check_host_port(host: &str, expected: u16, default_port: u16) -> Result<(), HandshakeError> {
    // After an IPv6 literal's `]`, or after the only `:` of a name or IPv4 address.
    let port_text = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(_, rest)| rest),
        None => Some(host),
    }
    .and_then(|rest| rest.rsplit_once(':'))
    .map(|(_, port)| port);
    let port = match port_text {
        None => Some(default_port),
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
        Some(_) => None,
    };
    if port == Some(expected) {
        Ok(())
    } else {
        Err(HandshakeError::HostPortMismatch {
            host: host.to_owned(),
            expected,
        })
    }
}

fn parse_version(v: &str) -> Result<u8, HandshakeError> {
    if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HandshakeError::InvalidVersion(v.to_owned()));
    }
    v.parse()
        .map_err(|_| HandshakeError::InvalidVersion(v.to_owned()))
}

/// A key is the base64 encoding (24 characters, padded) of 16 bytes (RFC 6455 §4.1).
fn is_valid_key(key: &str) -> bool {
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|k| k.len() == 16)
}

/// The client address: the transport peer, or with `trust` > 0 reverse proxies the
/// `trust`-th `X-Forwarded-For` entry from the right (the leftmost if there are
/// fewer), as Autobahn does. Entries further left were written by the client and
/// are never used.
fn resolve_peer(peer: &str, h: &Headers, trust: usize) -> String {
    if trust == 0 {
        return peer.to_owned();
    }
    let entries: Vec<&str> = list_values(h, "X-Forwarded-For").collect();
    let idx = entries.len().saturating_sub(trust);
    entries
        .get(idx)
        .map_or_else(|| peer.to_owned(), |s| (*s).to_owned())
}

type Params = BTreeMap<String, Vec<String>>;

/// Splits a request target into a percent-decoded path and query parameters.
/// Accepts origin-form (`/a?b`) and absolute http(s)/ws(s) URIs (RFC 6455 §4.1).
fn parse_target(target: &str) -> Result<(String, Params), HandshakeError> {
    let bad = |why: &str| HandshakeError::InvalidTarget(format!("{why}: {target:?}"));
    if target.contains('#') {
        return Err(bad("fragment not allowed"));
    }
    let rest = if target.starts_with('/') {
        target
    } else {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        let after_scheme = ["http://", "https://", "ws://", "wss://"]
            .iter()
            .find(|s| lower.starts_with(**s))
            .and_then(|s| target.get(s.len()..))
            .ok_or_else(|| bad("not a path or absolute URI"))?;
        match after_scheme.find(['/', '?']) {
            Some(i) => after_scheme.get(i..).unwrap_or("/"),
            None => "/",
        }
    };
    let (raw_path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = if raw_path.is_empty() {
        "/".to_owned()
    } else {
        crate::websocket::url::percent_decode(raw_path)
    };
    Ok((
        path,
        query
            .map(crate::websocket::url::parse_query)
            .unwrap_or_default(),
    ))
}
