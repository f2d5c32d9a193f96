//! The server's answer, checked the same way whether it arrives as bytes
//! ([`ResponseParser`]) or as an `http::Response` another HTTP client received
//! ([`ClientHandshake::check_response`]); then the extension negotiation
//! ([`ClientHandshake::negotiate`]).

use super::super::head::{parse_response, HeadScanner, OwnedResponse};
use super::super::{accept_key, has_token, parse_extensions, single, HandshakeError, Negotiated};
use super::ClientHandshake;
use crate::websocket::types::ConnectionResponse;
use crate::websocket::PeerAddr;

impl ClientHandshake {
    /// A parser for the server's answer to a request sent with `key`, to a server
    /// at transport address `peer`.
    pub fn response_parser(&self, key: &str, peer: impl Into<String>) -> ResponseParser {
        ResponseParser {
            scanner: HeadScanner::new(self.max_header_bytes, self.max_headers),
            check: self.response_check(key, peer.into()),
        }
    }

    fn response_check(&self, key: &str, peer: String) -> ResponseCheck {
        ResponseCheck {
            expected_accept: accept_key(key),
            protocols: self.protocols.clone(),
            version: self.version,
            peer,
        }
    }

    /// Checks the server's answer to our request sent with `key`, as an `http::Response`
    /// an HTTP client received (the body is not looked at): `101`, `Upgrade`,
    /// `Connection`, the accept key, a subprotocol among those offered, and an extension
    /// response our offers allow. `peer` names the server (see
    /// [`ConnectionResponse::peer`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::handshake::{accept_key, ClientHandshake, HandshakeError};
    ///
    /// let mut client = ClientHandshake::new("localhost", 9000, false);
    /// client.protocols = vec!["chat".into()];
    /// let (_request, key) = client.http_request()?;
    ///
    /// let answer = |accept: &str| {
    ///     http::Response::builder()
    ///         .status(101)
    ///         .header("Upgrade", "websocket")
    ///         .header("Connection", "Upgrade")
    ///         .header("Sec-WebSocket-Accept", accept)
    ///         .header("Sec-WebSocket-Protocol", "chat")
    ///         .body(())
    /// };
    /// let (response, negotiated) =
    ///     client.check_response(&key, &answer(&accept_key(&key))?, "tcp:127.0.0.1:9000")?;
    /// assert_eq!(response.protocol.as_deref(), Some("chat"));
    /// assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
    ///
    /// let wrong = client.check_response(&key, &answer("bm90IHRoZSBrZXk=")?, "tcp:127.0.0.1:9000");
    /// assert_eq!(wrong.unwrap_err(), HandshakeError::AcceptMismatch);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_response<B>(
        &self,
        key: &str,
        response: &http::Response<B>,
        peer: &str,
    ) -> Result<(ConnectionResponse, Negotiated), HandshakeError> {
        let status = response.status();
        let head = OwnedResponse {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_owned(),
            minor_version: u8::from(response.version() == http::Version::HTTP_11),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        };
        let response = self.response_check(key, peer.to_owned()).check(head)?;
        let negotiated = self.negotiate(&response)?;
        Ok((response, negotiated))
    }

    /// Whether the extensions the server accepted are ones we offered, with parameters
    /// our offers allow and our acceptor takes; gives what the connection uses.
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut, clippy::needless_update))]
    pub fn negotiate(&self, response: &ConnectionResponse) -> Result<Negotiated, HandshakeError> {
        // (Without `deflate`, the two fields are all of `Negotiated`.)
        let mut negotiated = Negotiated {
            subprotocol: response.protocol.clone(),
            extensions: response.extensions.clone(),
            ..Negotiated::default()
        };
        match &response.extensions[..] {
            [] => {}
            #[cfg(feature = "deflate")]
            [ext]
                if ext
                    .name
                    .eq_ignore_ascii_case(crate::websocket::deflate::EXTENSION_NAME) =>
            {
                negotiated.deflate = Some(self.accept_deflate(ext)?);
            }
            exts => {
                return Err(HandshakeError::UnexpectedExtensions(
                    exts.iter().map(|e| e.name.clone()).collect(),
                ))
            }
        }
        Ok(negotiated)
    }

    #[cfg(feature = "deflate")]
    fn accept_deflate(
        &self,
        ext: &crate::websocket::types::Extension,
    ) -> Result<crate::websocket::deflate::PerMessageDeflateParams, HandshakeError> {
        use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateResponse};
        let offers = &self.per_message_compression_offers;
        let resp = PerMessageDeflateResponse::parse(&ext.params, offers)
            .map_err(HandshakeError::InvalidDeflateResponse)?;
        let mut accept = self
            .per_message_compression_accept
            .as_ref()
            .and_then(|f| f(&resp))
            .ok_or(HandshakeError::DeflateResponseRefused)?;
        // An offer with client_no_context_takeover promised no context takeover even if
        // the server did not ask for it (RFC 7692 §7.1.1.2): keep the promise.
        if accept.no_context_takeover.is_none()
            && offers.iter().all(|o| o.accept_no_context_takeover)
        {
            accept.no_context_takeover = Some(true);
        }
        accept
            .validate()
            .map_err(HandshakeError::InvalidDeflateAcceptance)?;
        Ok(*PerMessageDeflate::from_response_accept(&accept).params())
    }
}

/// What the server's answer must say, whichever way it arrived.
#[derive(Debug, Clone)]
struct ResponseCheck {
    expected_accept: String,
    protocols: Vec<String>,
    version: u8,
    peer: String,
}

impl ResponseCheck {
    fn check(&self, resp: OwnedResponse) -> Result<ConnectionResponse, HandshakeError> {
        if resp.status != 101 {
            return Err(HandshakeError::UnexpectedStatus {
                status: resp.status,
                reason: resp.reason,
            });
        }
        if resp.minor_version != 1 {
            return Err(HandshakeError::HttpVersion);
        }
        let h = &resp.headers;
        if !has_token(h, "Upgrade", "websocket") {
            return Err(HandshakeError::NotWebSocketUpgrade);
        }
        if !has_token(h, "Connection", "upgrade") {
            return Err(HandshakeError::NoConnectionUpgrade);
        }
        let accept = single(h, "Sec-WebSocket-Accept")?
            .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))?;
        if accept != self.expected_accept {
            return Err(HandshakeError::AcceptMismatch);
        }
        let protocol = match single(h, "Sec-WebSocket-Protocol")? {
            None | Some("") => None,
            Some(p) if self.protocols.iter().any(|o| o == p) => Some(p.to_owned()),
            Some(p) => return Err(HandshakeError::UnexpectedProtocol(p.to_owned())),
        };
        let extensions = parse_extensions(h.get_all("Sec-WebSocket-Extensions"))?;
        Ok(ConnectionResponse {
            peer: self.peer.clone(),
            peer_addr: PeerAddr::parse(&self.peer),
            headers: resp.headers,
            version: self.version,
            protocol,
            extensions,
        })
    }
}

/// Incremental parser and validator of the server's opening-handshake answer.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    scanner: HeadScanner,
    check: ResponseCheck,
}

impl ResponseParser {
    /// Parses `buf`, the connection's receive buffer (which must only grow):
    /// `Ok(None)` until the head is complete, then the validated response and the
    /// number of bytes it used (later bytes are WebSocket frames for the caller).
    ///
    /// Whether the accepted extensions are acceptable is for the caller to check
    /// ([`ClientHandshake::negotiate`]).
    pub fn parse(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<(ConnectionResponse, usize)>, HandshakeError> {
        let Some(head) = self.scanner.scan(buf)? else {
            return Ok(None);
        };
        let resp = parse_response(buf, head)?;
        Ok(Some((self.check.check(resp)?, head.end)))
    }
}

#[cfg(test)]
mod tests;
