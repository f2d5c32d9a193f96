//! The `tracing` span of one WebSocket connection.
//!
//! Everything the library logs about a connection (handshake, open, every message at
//! `trace`, close) is emitted inside its span, so a subscriber shows the peer and the
//! path with each event. The span is at `debug`: with `info` or less it is disabled and
//! costs a level check.

use tracing::field::Empty;
use tracing::Span;

use super::types::Extension;

/// A new connection's span; `path` (when still unknown), `subprotocol` and `extensions`
/// are recorded once known with [`record_path`] and [`record_negotiated`].
pub(crate) fn connection_span(
    role: &'static str,
    peer: &dyn std::fmt::Display,
    path: Option<&str>,
) -> Span {
    let span = tracing::debug_span!(
        "ws_connection",
        role,
        peer = %peer,
        path = Empty,
        subprotocol = Empty,
        extensions = Empty,
    );
    if let Some(path) = path {
        record_path(&span, path);
    }
    span
}

/// Records the request path (the server learns it from the request).
pub(crate) fn record_path(span: &Span, path: &str) {
    span.record("path", path);
}

/// Records the negotiated subprotocol and extensions, and logs the open handshake.
pub(crate) fn record_negotiated(span: &Span, subprotocol: Option<&str>, extensions: &[Extension]) {
    if span.is_disabled() {
        return;
    }
    if let Some(p) = subprotocol {
        span.record("subprotocol", p);
    }
    if !extensions.is_empty() {
        let names: Vec<&str> = extensions.iter().map(|e| e.name.as_str()).collect();
        span.record("extensions", names.join(", ").as_str());
    }
}
