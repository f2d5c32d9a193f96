//! WAMP-Ticket authentication (Autobahn's `authentication/ticket` example).
//!
//! ```text
//! cargo run --example wamp_auth_ticket -- [URL] [REALM] [OPTIONS]
//! WAMP_AUTHID=ticketuser WAMP_SECRET=secret123 cargo run --example wamp_auth_ticket
//! ```
//!
//! The ticket is sent as is: use it over TLS (`wss://`, `rss://`). A one-time code from
//! [`compute_totp`](autobahn::wamp::auth::compute_totp) can be the ticket too.

#[path = "auth_common.rs"]
mod auth_common;

use std::process::ExitCode;

use autobahn::wamp::auth::AuthTicket;

fn main() -> ExitCode {
    let (authid, ticket) = auth_common::credentials("ticketuser", "secret123");
    auth_common::main("wamp_auth_ticket", Ok(AuthTicket::new(authid, ticket)))
}
