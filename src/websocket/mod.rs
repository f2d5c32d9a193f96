//! WebSocket (RFC 6455) client and server.
//!
//! Layers, bottom up: [`frame`], [`mask`], [`utf8`] and [`handshake`] are pure codecs;
//! [`protocol`] is the sans-IO connection state machine; [`WebSocket`] is a connection over
//! any tokio stream (pull API: `recv`/`send`, `Stream`/`Sink`), and the handler API, the
//! client and the server are layers on the same connection state.

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
mod builder;
pub mod byte_stream;
pub mod channel;
mod connection;
mod driver;
pub mod error;
pub mod handler;
mod handler_loop;
mod message;
mod message_reader;
mod peer;
mod span;
mod split;
pub(crate) mod timer;

pub use builder::WebSocketBuilder;
pub use byte_stream::{ByteStream, TUNNEL_SUBPROTOCOL};
pub use channel::WebSocketChannel;
pub use connection::WebSocket;
pub use driver::CloseInfo;
pub use error::Error;
pub use handler::{Delivery, WebSocketClientHandler, WebSocketHandler, WebSocketServerHandler};
pub use message::{Message, Utf8Bytes};
pub use message_reader::MessageReader;
pub use peer::PeerAddr;
pub use protocol::PreparedMessage;
pub use split::{WebSocketReader, WebSocketWriter};
pub mod server;
pub mod stream;
pub use server::{ServerHandle, ShutdownReport, WebSocketServer, WebSocketServerFactory};
pub mod client;
#[cfg(feature = "hyper")]
pub mod upgrade;
pub use client::{Proxy, WebSocketClientFactory, WebSocketConnection};
