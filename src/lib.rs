//! # autobahn-rs
//!
//! WebSocket (RFC 6455, permessage-deflate RFC 7692) client and server, and a WAMP v2
//! client, for async Rust — with the API of [Autobahn|Python](https://autobahn.readthedocs.io).
//!
//! The protocol cores are sans-IO state machines (bytes in, events out) under a thin
//! tokio layer; see `design.md` in the repository for the architecture.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod util;
pub mod websocket;

#[cfg(feature = "wamp")]
pub mod rawsocket;
#[cfg(feature = "wamp")]
pub mod wamp;
