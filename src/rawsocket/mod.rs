//! WAMP-RawSocket transport: sans-IO handshake and framing, and URL helpers.

pub mod framing;
pub mod handshake;
pub mod url;
