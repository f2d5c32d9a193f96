//! WAMP-SCRAM (Crossbar's `scram`, the spec's `wamp-scram`): a salted challenge-response
//! where neither side sends the password, and the router proves it knows the stored
//! credential with a signature in WELCOME.

use std::fmt;
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD as BASE64, STANDARD_NO_PAD as BASE64_NOPAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::wampcra::pbkdf2;
use super::{extra_str, extra_u64, AuthError, Authenticator, ChannelIds};
use crate::wamp::types::{Challenge, SessionDetails};
use crate::wamp::value::{Dict, Value};

/// Limits on the router's KDF parameters, so a hostile router cannot make us burn
/// minutes of CPU or gigabytes of memory.
/// (About a second of PBKDF2-HMAC-SHA256 here.)
const MAX_ITERATIONS: u64 = 1_000_000;
const MAX_ARGON2_ITERATIONS: u64 = 100_000;
/// Argon2 memory cost limit, in KiB (256 MiB).
const MAX_ARGON2_MEMORY: u64 = 256 * 1024;
/// Limit of passes × KiB: 16 GiB of memory traffic, 8× Autobahn's own parameters
/// (4096 passes over 512 KiB).
const MAX_ARGON2_WORK: u64 = 4096 * 4096;

/// The key derivation function of a SCRAM credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramKdf {
    /// `argon2id-13`: Argon2id version 0x13, parallelism 1, 32-byte output. As
    /// Autobahn and Crossbar do, the salted password is the unpadded base64 text of
    /// the Argon2 hash.
    Argon2id13 {
        /// Time cost (passes).
        iterations: u32,
        /// Memory cost in KiB.
        memory: u32,
    },
    /// `pbkdf2`: PBKDF2-HMAC-SHA256, 32-byte output used as is.
    Pbkdf2 {
        /// Iteration count.
        iterations: u32,
    },
}

impl ScramKdf {
    /// The wire name (`argon2id-13`, `pbkdf2`).
    pub fn name(&self) -> &'static str {
        match self {
            ScramKdf::Argon2id13 { .. } => "argon2id-13",
            ScramKdf::Pbkdf2 { .. } => "pbkdf2",
        }
    }

    /// The salted password: the key that the client and server keys derive from.
    fn salted_password(&self, password: &[u8], salt: &[u8]) -> Result<Vec<u8>, AuthError> {
        match *self {
            ScramKdf::Argon2id13 { iterations, memory } => {
                let params = argon2::Params::new(memory, iterations, 1, Some(32)).map_err(|e| {
                    AuthError::challenge("scram", format!("argon2 parameters: {e}"))
                })?;
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let mut hash = [0u8; 32];
                argon
                    .hash_password_into(password, salt, &mut hash)
                    .map_err(|e| AuthError::challenge("scram", format!("argon2: {e}")))?;
                Ok(BASE64_NOPAD.encode(hash).into_bytes())
            }
            ScramKdf::Pbkdf2 { iterations } => Ok(pbkdf2(password, salt, iterations, 32)),
        }
    }
}

/// A WAMP-SCRAM credential as a router stores it (Autobahn's
/// `derive_scram_credential`); [`to_dict`](Self::to_dict) gives the keys of a Crossbar
/// `scram` principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The key derivation function and its parameters.
    pub kdf: ScramKdf,
    /// The salt.
    pub salt: Vec<u8>,
    /// SHA-256 of the client key.
    pub stored_key: [u8; 32],
    /// The server key.
    pub server_key: [u8; 32],
}

impl ScramCredential {
    /// The credential in Crossbar's configuration format: `kdf`, `iterations`,
    /// `memory`, `salt`, `stored-key`, `server-key` (hex).
    pub fn to_dict(&self) -> Dict {
        let (iterations, memory) = match self.kdf {
            ScramKdf::Argon2id13 { iterations, memory } => (iterations, memory),
            ScramKdf::Pbkdf2 { iterations } => (iterations, 0),
        };
        let mut d = Dict::new();
        d.insert("kdf".into(), Value::from(self.kdf.name()));
        d.insert("iterations".into(), Value::from(iterations));
        d.insert("memory".into(), Value::from(memory));
        d.insert("salt".into(), Value::from(hex::encode(&self.salt)));
        d.insert(
            "stored-key".into(),
            Value::from(hex::encode(self.stored_key)),
        );
        d.insert(
            "server-key".into(),
            Value::from(hex::encode(self.server_key)),
        );
        d
    }
}

/// Derives the credential a router stores for `password` (Autobahn's
/// `derive_scram_credential`, which fixes argon2id-13 with 4096 iterations and 512 KiB
/// and derives the salt from the e-mail address; here the caller chooses).
///
/// # Examples
///
/// The credential a router stores for a user (here with PBKDF2; Crossbar.io
/// defaults to argon2id-13):
///
/// ```
/// use autobahn::wamp::auth::{derive_scram_credential, ScramKdf};
///
/// let credential = derive_scram_credential(
///     "correct horse battery staple",
///     b"per-user salt",
///     ScramKdf::Pbkdf2 { iterations: 4096 },
/// )?;
/// let principal = credential.to_dict();
/// assert_eq!(principal["kdf"].as_str(), Some("pbkdf2"));
/// assert_eq!(principal["stored-key"].as_str().map(str::len), Some(64)); // hex
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
pub fn derive_scram_credential(
    password: &str,
    salt: &[u8],
    kdf: ScramKdf,
) -> Result<ScramCredential, AuthError> {
    let salted = kdf.salted_password(password.as_bytes(), salt)?;
    let client_key = hmac(&salted, b"Client Key");
    Ok(ScramCredential {
        kdf,
        salt: salt.to_vec(),
        stored_key: Sha256::digest(client_key).into(),
        server_key: hmac(&salted, b"Server Key"),
    })
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// What one authentication attempt remembers between HELLO, CHALLENGE and WELCOME.
#[derive(Default)]
struct Attempt {
    client_nonce: Option<String>,
    /// The server signature WELCOME must carry.
    expected_server_signature: Option<[u8; 32]>,
}

/// WAMP-SCRAM (Autobahn's `AuthScram`). The router's challenge chooses the KDF
/// (`argon2id-13` or `pbkdf2`) and its parameters; WELCOME must carry
/// `authextra.scram_server_signature`, or the session refuses it.
///
/// Channel binding is not offered (`c=` stays empty): Crossbar does not implement it
/// for SCRAM.
///
/// # Examples
///
/// ```no_run
/// use autobahn::wamp::auth::AuthScram;
/// use autobahn::wamp::{ApplicationRunner, ApplicationSession};
///
/// struct App;
/// impl ApplicationSession for App {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The router's challenge picks argon2id-13 or pbkdf2 and its parameters.
/// ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1")
///     .authentication(AuthScram::new("alice", "correct horse battery staple"))
///     .run(|_config| App)
///     .await?;
/// # Ok(())
/// # }
/// ```
pub struct AuthScram {
    authid: String,
    password: String,
    authrole: Option<String>,
    attempt: Mutex<Attempt>,
}

impl AuthScram {
    /// Authenticates `authid` with `password`.
    pub fn new(authid: impl Into<String>, password: impl Into<String>) -> AuthScram {
        AuthScram {
            authid: authid.into(),
            password: password.into(),
            authrole: None,
            attempt: Mutex::new(Attempt::default()),
        }
    }

    /// Asks for an authrole.
    pub fn authrole(mut self, authrole: impl Into<String>) -> AuthScram {
        self.authrole = Some(authrole.into());
        self
    }

    fn attempt(&self) -> std::sync::MutexGuard<'_, Attempt> {
        self.attempt.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn kdf(challenge: &Challenge) -> Result<ScramKdf, AuthError> {
        let iterations = extra_u64(challenge, "iterations")?;
        let bad = |what: String| AuthError::challenge(&challenge.method, what);
        match extra_str(challenge, "kdf")? {
            "argon2id-13" => {
                let memory = extra_u64(challenge, "memory")?;
                if !(1..=MAX_ARGON2_ITERATIONS).contains(&iterations) {
                    return Err(bad(format!(
                        "iterations {iterations} outside 1..={MAX_ARGON2_ITERATIONS}"
                    )));
                }
                if memory > MAX_ARGON2_MEMORY {
                    return Err(bad(format!(
                        "memory {memory} KiB above {MAX_ARGON2_MEMORY} KiB"
                    )));
                }
                if iterations.saturating_mul(memory) > MAX_ARGON2_WORK {
                    return Err(bad(format!(
                        "{iterations} passes over {memory} KiB exceed {MAX_ARGON2_WORK} KiB-passes"
                    )));
                }
                // Both bounds fit in u32 (checked above).
                Ok(ScramKdf::Argon2id13 {
                    iterations: iterations as u32,
                    memory: memory as u32,
                })
            }
            "pbkdf2" => {
                if !(1..=MAX_ITERATIONS).contains(&iterations) {
                    return Err(bad(format!(
                        "iterations {iterations} outside 1..={MAX_ITERATIONS}"
                    )));
                }
                Ok(ScramKdf::Pbkdf2 {
                    iterations: iterations as u32,
                })
            }
            other => Err(bad(format!("unknown kdf '{other}'"))),
        }
    }
}

impl fmt::Debug for AuthScram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthScram")
            .field("authid", &self.authid)
            .field("password", &"<redacted>")
            .field("authrole", &self.authrole)
            .finish()
    }
}

impl Authenticator for AuthScram {
    fn method(&self) -> &str {
        "scram"
    }

    fn accepts(&self, method: &str) -> bool {
        method == "scram" || method == "wamp-scram"
    }

    fn authid(&self) -> Option<&str> {
        Some(&self.authid)
    }

    fn authrole(&self) -> Option<&str> {
        self.authrole.as_deref()
    }

    fn authextra(&self) -> Dict {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let nonce = BASE64.encode(nonce);
        *self.attempt() = Attempt {
            client_nonce: Some(nonce.clone()),
            expected_server_signature: None,
        };
        let mut d = Dict::new();
        d.insert("nonce".into(), Value::from(nonce));
        d
    }

    fn on_challenge(&self, challenge: &Challenge, _: &ChannelIds) -> Result<String, AuthError> {
        let bad = |what: &str| AuthError::challenge(&challenge.method, what);
        let client_nonce = self
            .attempt()
            .client_nonce
            .clone()
            .ok_or_else(|| bad("no nonce was sent in HELLO"))?;
        let server_nonce = extra_str(challenge, "nonce")?;
        let salt_b64 = extra_str(challenge, "salt")?;
        let kdf = AuthScram::kdf(challenge)?;
        // The server nonce extends ours (RFC 5802): anything else is a replay or a mix-up.
        let ours = BASE64
            .decode(&client_nonce)
            .map_err(|_| bad("client nonce"))?;
        let theirs = BASE64
            .decode(server_nonce)
            .map_err(|_| bad("nonce is not base64"))?;
        if theirs.len() <= ours.len() || !theirs.starts_with(&ours) {
            return Err(bad("the server nonce does not extend the client nonce"));
        }
        let salt = BASE64
            .decode(salt_b64)
            .map_err(|_| bad("salt is not base64"))?;
        let authid = stringprep::saslprep(&self.authid)
            .map_err(|e| bad(&format!("authid cannot be SASLprepped: {e}")))?;
        let iterations = extra_u64(challenge, "iterations")?;
        let auth_message = format!(
            "n={authid},r={client_nonce},r={server_nonce},s={salt_b64},i={iterations},c=,r={server_nonce}"
        );
        let salted = kdf.salted_password(self.password.as_bytes(), &salt)?;
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let server_key = hmac(&salted, b"Server Key");
        self.attempt().expected_server_signature = Some(hmac(&server_key, auth_message.as_bytes()));
        Ok(BASE64.encode(proof))
    }

    fn on_welcome(&self, details: &SessionDetails) -> Result<(), AuthError> {
        let fail = |m: &str| AuthError::RouterAuthentication(m.to_owned());
        let expected = self
            .attempt()
            .expected_server_signature
            .take()
            .ok_or_else(|| fail("WELCOME without a SCRAM challenge"))?;
        let got = match details
            .authextra
            .as_ref()
            .and_then(|e| e.get("scram_server_signature"))
        {
            Some(Value::String(s)) => BASE64
                .decode(s)
                .map_err(|_| fail("scram_server_signature is not base64"))?,
            _ => return Err(fail("WELCOME lacks scram_server_signature")),
        };
        // Constant time: compare the MACs of both values rather than the values.
        if hmac(&expected, &got) == hmac(&expected, &expected) {
            Ok(())
        } else {
            Err(fail("the server signature does not match"))
        }
    }
}
