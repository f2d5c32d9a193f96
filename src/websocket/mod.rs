//! WebSocket (RFC 6455) client and server.
//!
//! Layers, bottom up: [`frame`], [`mask`], [`utf8`] and [`handshake`] are pure codecs;
//! [`protocol`] is the sans-IO connection state machine; the channel, client and server
//! modules drive it over tokio streams.

pub mod frame;
pub mod handshake;
pub mod mask;
pub mod options;
pub mod origin;
pub mod protocol;
pub mod proxy;
pub mod types;
pub mod url;
pub mod utf8;

#[cfg(feature = "deflate")]
pub mod deflate;

mod budget;
pub mod channel;
mod driver;
pub mod error;
pub mod handler;
mod span;

pub use channel::WebSocketChannel;
pub use driver::CloseInfo;
pub use error::Error;
pub use handler::{WebSocketClientHandler, WebSocketHandler, WebSocketServerHandler};
pub mod server;
pub mod stream;
pub use server::WebSocketServerFactory;
pub mod client;
pub use client::{Proxy, WebSocketClientFactory, WebSocketConnection};
