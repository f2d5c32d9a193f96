//! WAMP-SCRAM authentication (Crossbar's `scram`): neither side sends the password, and
//! the router proves in WELCOME that it knows the stored credential.
//!
//! ```text
//! cargo run --example wamp_auth_scram -- [URL] [REALM] [OPTIONS]
//! WAMP_AUTHID=scrampbkdf WAMP_SECRET=scrampbkdfsecret cargo run --example wamp_auth_scram
//! ```
//!
//! A router stores [`derive_scram_credential`](autobahn::wamp::auth::derive_scram_credential)
//! of the password, not the password.

#[path = "auth_common.rs"]
mod auth_common;

use std::process::ExitCode;

use autobahn::wamp::auth::AuthScram;

fn main() -> ExitCode {
    let (authid, password) = auth_common::credentials("scramuser", "scramsecret");
    auth_common::main("wamp_auth_scram", Ok(AuthScram::new(authid, password)))
}
