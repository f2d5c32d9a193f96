//! WAMP-CRA authentication (Autobahn's `authentication/wampcra` example), plain or
//! salted: the router's challenge says which, the authenticator handles both.
//!
//! ```text
//! cargo run --example wamp_auth_wampcra -- [URL] [REALM] [OPTIONS]
//! WAMP_AUTHID=crasalted WAMP_SECRET=crasaltedsecret cargo run --example wamp_auth_wampcra
//! ```

#[path = "auth_common.rs"]
mod auth_common;

use std::process::ExitCode;

use autobahn::wamp::auth::AuthWampCra;

fn main() -> ExitCode {
    let (authid, secret) = auth_common::credentials("crauser", "crasecret");
    auth_common::main("wamp_auth_wampcra", Ok(AuthWampCra::new(authid, secret)))
}
