//! WAMP-Cryptosign authentication (Autobahn's `authentication/cryptosign` example): the
//! client proves it holds an Ed25519 private key; the router finds the authid from the
//! public key.
//!
//! ```text
//! cargo run --example wamp_auth_cryptosign -- [URL] [REALM] [OPTIONS]
//! WAMP_SECRET=~/.ssh/id_ed25519 cargo run --example wamp_auth_cryptosign
//! ```
//!
//! `WAMP_SECRET` is the 32-byte seed in hex, or the path of an unencrypted OpenSSH
//! Ed25519 private key file. `WAMP_AUTHID` is optional. With `WAMP_ROUTER_KEY` (hex), the
//! router must also prove it holds that key (router authentication).

#[path = "auth_common.rs"]
mod auth_common;

use std::path::Path;
use std::process::ExitCode;

use autobahn::wamp::auth::{AuthCryptosign, CryptosignKey};

/// The TEST ONLY seed of `tests/crossbar/README.md`.
const TEST_SEED: &str = "8965cbbd80c91aa1042a77d15fbb0c6a91c63d0bfd470f7131dea65bdccffda4";

fn authenticator() -> Result<AuthCryptosign, String> {
    let (authid, secret) = auth_common::credentials("", TEST_SEED);
    let key = if Path::new(&secret).is_file() {
        CryptosignKey::from_ssh_file(&secret)
    } else {
        CryptosignKey::from_seed_hex(&secret)
    }
    .map_err(|e| e.to_string())?;
    println!("public key: {}", key.public_key());
    let mut auth = AuthCryptosign::new(key);
    if !authid.is_empty() {
        auth = auth.authid(authid);
    }
    if let Ok(router) = std::env::var("WAMP_ROUTER_KEY") {
        let bytes: [u8; 32] = hex::decode(router.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("WAMP_ROUTER_KEY must be 64 hex digits")?;
        auth = auth.verify_router(&bytes).map_err(|e| e.to_string())?;
    }
    Ok(auth)
}

fn main() -> ExitCode {
    auth_common::main("wamp_auth_cryptosign", authenticator())
}
