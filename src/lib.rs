//! # autobahn-rs
//!
//! WebSocket (RFC 6455, permessage-deflate RFC 7692) client and server, and a WAMP v2
//! client, for async Rust — with the API of [Autobahn|Python](https://autobahn.readthedocs.io).
//!
//! The protocol cores are sans-IO state machines (bytes in, events out) under a thin
//! tokio layer; see `design.md` in the repository for the architecture.
//!
//! # Quick start: WebSocket
//!
//! A handler implements the hooks it needs ([`websocket::WebSocketHandler`]) and sends
//! through the [`websocket::WebSocketChannel`] its factory closure was given. Servers
//! usually [`listen`](websocket::WebSocketServerFactory::listen) and
//! [`serve`](websocket::WebSocketServerFactory::serve); this example runs a server and
//! a client over an in-memory pipe so that it needs no network:
//!
//! ```
//! use autobahn::websocket::{
//!     WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
//!     WebSocketServerFactory, WebSocketServerHandler,
//! };
//! use bytes::Bytes;
//!
//! /// Sends every message back.
//! struct Echo {
//!     channel: WebSocketChannel,
//! }
//! impl WebSocketHandler for Echo {
//!     async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
//!         let _ = self.channel.send_message(payload, is_binary).await;
//!     }
//! }
//! impl WebSocketServerHandler for Echo {}
//!
//! /// Says hello, keeps the answer and closes.
//! struct Hello {
//!     channel: WebSocketChannel,
//!     answer: Option<Bytes>,
//! }
//! impl WebSocketHandler for Hello {
//!     async fn on_open(&mut self) {
//!         let _ = self.channel.send_text("hello").await;
//!     }
//!     async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
//!         self.answer = Some(payload);
//!         let _ = self.channel.send_close(Some(1000), None).await;
//!     }
//! }
//! impl WebSocketClientHandler for Hello {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (server_end, client_end) = tokio::io::duplex(64 * 1024);
//! let server = WebSocketServerFactory::new("ws://localhost");
//! tokio::spawn(async move {
//!     server
//!         .accept_stream(server_end, "pipe".into(), |channel| Echo { channel })
//!         .await
//! });
//!
//! let client = WebSocketClientFactory::new("ws://localhost")?;
//! let connection = client
//!     .connect_stream(client_end, |channel| Hello { channel, answer: None })
//!     .await?;
//! let (hello, close) = connection.run().await;
//! assert_eq!(hello.answer.as_deref(), Some(&b"hello"[..]));
//! assert!(close.was_clean);
//! # Ok(())
//! # }
//! ```
//!
//! Over TCP the server is `factory.serve(factory.listen("127.0.0.1:9000").await?, make)`
//! and the client `WebSocketClientFactory::new("ws://127.0.0.1:9000")?.connect(make)`;
//! `wss://` needs the `tls` feature (see [`websocket::stream`]).
//!
//! # Quick start: WAMP
//!
//! With the `wamp` feature, an [`ApplicationRunner`](wamp::ApplicationRunner) connects to
//! a router, joins a realm and hands the [`Session`](wamp::Session) to your
//! [`ApplicationSession`](wamp::ApplicationSession) once joined (reconnecting if the
//! transport drops). This component registers a procedure and calls it:
//!
//! ```no_run
//! # #[cfg(feature = "wamp")]
//! # mod demo {
//! use autobahn::list;
//! use autobahn::wamp::{
//!     ApplicationRunner, ApplicationSession, CallOptions, CallResult, Dict, RegisterOptions,
//!     Session, SessionDetails,
//! };
//!
//! struct Adder;
//!
//! impl ApplicationSession for Adder {
//!     async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
//!         let add2 = |args: Vec<autobahn::wamp::Value>, _kwargs, _details| async move {
//!             let sum: i64 = args.iter().filter_map(|v| v.as_i64()).sum();
//!             Ok(CallResult::with_args(list![sum]))
//!         };
//!         let registered = session
//!             .register("com.example.add2", add2, RegisterOptions::default())
//!             .await;
//!         if registered.is_ok() {
//!             let result = session
//!                 .call("com.example.add2", list![2, 3], Dict::new(), CallOptions::default())
//!                 .await;
//!             assert_eq!(result.map(|r| r.value().as_i64()).ok().flatten(), Some(5));
//!         }
//!         // The default `on_leave` then disconnects, and `run` returns.
//!         let _ = session.leave(None, None).await;
//!     }
//! }
//!
//! pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A router (e.g. Crossbar.io) listening on this URL with realm `realm1`.
//!     ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1")
//!         .run(|_config| Adder)
//!         .await?;
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod util;
pub mod websocket;

#[cfg(feature = "wamp")]
pub mod rawsocket;
#[cfg(feature = "wamp")]
pub mod wamp;

/// The README's Rust blocks, compiled as doctests (they use the `wamp` and `axum`
/// features).
#[cfg(all(doctest, feature = "wamp", feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
