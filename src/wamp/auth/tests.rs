//! Authenticators against test vectors (RFCs, the WAMP spec, and values computed with
//! Autobahn|Python 26.10 / argon2-cffi for the same inputs).

use super::cryptosign::verify_signed_message;
use super::*;
use crate::dict;

fn challenge(method: &str, extra: Dict) -> Challenge {
    Challenge {
        method: method.into(),
        extra,
    }
}

const TEST_SEED: &str = "8965cbbd80c91aa1042a77d15fbb0c6a91c63d0bfd470f7131dea65bdccffda4";
const TEST_PUBKEY: &str = "b60259bbae3b43e4552ec976f00214d821a0de90514b8dba4cd42da1b090342e";

#[test]
fn pbkdf2_sha256_rfc7914_vector() {
    // RFC 7914 section 11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
    assert_eq!(
        hex::encode(pbkdf2(b"passwd", b"salt", 1, 64)),
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
         49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
    );
}

#[test]
fn wampcra_matches_autobahn() {
    assert_eq!(
        derive_key(b"crasaltedsecret", b"salt123", 100, 32),
        "5LiXqpVXzcccb1Qb0r+n+pIlp4R8deRJmGwo/eKZEsM="
    );
    assert_eq!(
        compute_wcs(b"crasecret", br#"{"nonce": 1}"#),
        "qOU/WOjHpt/1v/URex5HZo1t4Q2bZHJuekz2vJyeXrk="
    );
    let plain = AuthWampCra::new("crauser", "crasecret");
    let c = challenge("wampcra", dict! {"challenge" => r#"{"nonce": 1}"#});
    assert_eq!(
        plain.on_challenge(&c, &ChannelIds::default()).unwrap(),
        "qOU/WOjHpt/1v/URex5HZo1t4Q2bZHJuekz2vJyeXrk="
    );
    // Salted: the base64 text of the derived key is the HMAC key.
    let salted = AuthWampCra::new("u", "secret");
    let c = challenge(
        "wampcra",
        dict! {"challenge" => "challenge-text", "salt" => "salt123", "iterations" => 1000, "keylen" => 32},
    );
    assert_eq!(
        salted.on_challenge(&c, &ChannelIds::default()).unwrap(),
        "JVrwYDH5vkkAdlVQiYbaUwL6G22ou+qLut+Sgl7CN/w="
    );
}

#[test]
fn wampcra_refuses_hostile_parameters() {
    let a = AuthWampCra::new("u", "secret");
    for (iterations, keylen) in [(0u64, 32u64), (u64::MAX, 32), (1000, 0), (1000, 1 << 40)] {
        let c = challenge(
            "wampcra",
            dict! {"challenge" => "x", "salt" => "s", "iterations" => iterations, "keylen" => keylen},
        );
        let e = a.on_challenge(&c, &ChannelIds::default()).unwrap_err();
        assert!(matches!(e, AuthError::InvalidChallenge { .. }), "{e}");
    }
    let e = a
        .on_challenge(&challenge("wampcra", Dict::new()), &ChannelIds::default())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid wampcra challenge: 'challenge' is missing"
    );
    let e = a
        .on_challenge(
            &challenge("wampcra", dict! {"challenge" => 5}),
            &ChannelIds::default(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("not a string"), "{e}");
}

#[test]
fn generate_wcs_is_random_letters_and_digits() {
    let a = generate_wcs(14);
    assert_eq!(a.len(), 14);
    assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(a, generate_wcs(14));
}

#[test]
fn totp_rfc6238_vectors() {
    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; 6 digits are the low
    // 6 digits of the RFC's 8-digit codes.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (t, code) in [
        (59u64, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ] {
        assert_eq!(compute_totp_at(secret, t).unwrap(), code, "t={t}");
    }
    // Case and padding do not matter.
    assert_eq!(
        compute_totp_at("gezdgnbvgy3tqojqgezdgnbvgy3tqojq====", 59).unwrap(),
        "287082"
    );
    assert!(matches!(
        compute_totp_at("not base32!", 59),
        Err(AuthError::InvalidKey(_))
    ));
}

#[test]
fn totp_secret_and_check() {
    let s = generate_totp_secret(10);
    assert_eq!(s.len(), 16);
    assert!(s
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    let now = compute_totp(&s, 0).unwrap();
    assert!(check_totp(&s, &now).unwrap());
    let far = compute_totp(&s, 5).unwrap();
    // A code five steps ahead matches only if it happens to equal one in the window.
    let window: Vec<String> = (-1..=1).map(|o| compute_totp(&s, o).unwrap()).collect();
    assert_eq!(check_totp(&s, &far).unwrap(), window.contains(&far));
}

#[test]
fn cryptosign_signature_matches_autobahn() {
    let key = CryptosignKey::from_seed_hex(TEST_SEED).unwrap();
    assert_eq!(key.public_key(), TEST_PUBKEY);
    let c = challenge("cryptosign", dict! {"challenge" => "ff".repeat(32)});
    // Ed25519 is deterministic: the same signature Autobahn computes.
    let expected = "84b62a293f8423ae59f9382400b850e192344916054a629a36647dc4d7919212\
                    a698d7ffebb95a8801098c2e4167df02ce74de61f9b3178dd2c4af9436d9f605"
        .to_owned()
        + &"ff".repeat(32);
    assert_eq!(key.sign_challenge(&c, None).unwrap(), expected);
    // With channel binding, challenge XOR channel id is signed.
    let id: Vec<u8> = (0u8..32).collect();
    let bound = key.sign_challenge(&c, Some(&id)).unwrap();
    assert!(bound.starts_with("3b7426f4c49e95397f9821c0da2cc3f0f2dfef11b6c6f66fb73ecdddf3610dd5"));
    assert!(bound.ends_with("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"));
    let pk: [u8; 32] = hex::decode(TEST_PUBKEY).unwrap().try_into().unwrap();
    assert!(verify_signed_message(&pk, &bound).is_some());
    assert!(verify_signed_message(&pk, &expected).is_some());
}

#[test]
fn cryptosign_hello_and_channel_binding() {
    let key = CryptosignKey::from_seed_hex(TEST_SEED).unwrap();
    let a = AuthCryptosign::new(key).channel_binding("tls-exporter");
    let hello = Authentication::new().with(a).hello("realm1");
    assert_eq!(hello.authmethods, vec!["cryptosign"]);
    assert_eq!(hello.authid, None);
    assert_eq!(
        hello.authextra,
        Some(dict! {"pubkey" => TEST_PUBKEY, "channel_binding" => "tls-exporter"})
    );
    let auth = Authentication::new().with(
        AuthCryptosign::new(CryptosignKey::from_seed_hex(TEST_SEED).unwrap())
            .channel_binding("tls-exporter"),
    );
    let c = challenge("cryptosign", dict! {"challenge" => "00".repeat(32)});
    // Without a TLS channel the binding cannot be honoured: a clear error, no unbound
    // signature.
    assert_eq!(
        auth.on_challenge(&c, &ChannelIds::default()),
        Err(AuthError::ChannelBinding("tls-exporter".into()))
    );
    let ids = ChannelIds {
        tls_unique: None,
        tls_exporter: Some(vec![7; 32]),
    };
    let sig = auth.on_challenge(&c, &ids).unwrap();
    assert!(sig.ends_with(&"07".repeat(32)));
}

#[test]
fn cryptosign_rejects_malformed_challenges() {
    let key = CryptosignKey::from_seed_hex(TEST_SEED).unwrap();
    for bad in ["zz".repeat(32), "ff".repeat(31), "ff".repeat(33)] {
        let c = challenge("cryptosign", dict! {"challenge" => bad});
        assert!(matches!(
            key.sign_challenge(&c, None),
            Err(AuthError::InvalidChallenge { .. })
        ));
    }
    assert!(CryptosignKey::from_seed_hex("abcd").is_err());
    assert!(CryptosignKey::from_seed_hex(&"x".repeat(64)).is_err());
}

#[test]
fn cryptosign_router_authentication_spec_vector() {
    // WAMP spec, "Router Authentication": the router (pubkey 4a38…) signs the client's
    // challenge bbae60…; the signature is sig ‖ challenge.
    let router: [u8; 32] =
        hex::decode("4a3838f6fe75251e613329d53fc69b262d5eac97fb1d73bebbaed4015b53c862")
            .unwrap()
            .try_into()
            .unwrap();
    let ours: [u8; 32] =
        hex::decode("bbae60ea44cdd7b20dc7010a618b0f0803fab25a817520b4b7f057299b524deb")
            .unwrap()
            .try_into()
            .unwrap();
    let signature = "fd5128d2d207ba58a9d1d6f41b72c747964ad9d1294077b3b1eee6130b05843a\
                     b12c53c7f2519f73d4feb82db19d8ca0fc26b62bde6518e79a882f5795bc9f00\
                     bbae60ea44cdd7b20dc7010a618b0f0803fab25a817520b4b7f057299b524deb";
    let key = CryptosignKey::from_seed_hex(TEST_SEED).unwrap();
    let a = AuthCryptosign::new(key).verify_router(&router).unwrap();
    a.set_router_challenge(ours);
    let c = challenge(
        "cryptosign",
        dict! {
            "challenge" => "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537",
            "pubkey" => "4a3838f6fe75251e613329d53fc69b262d5eac97fb1d73bebbaed4015b53c862",
            "signature" => signature,
        },
    );
    assert!(a.on_challenge(&c, &ChannelIds::default()).is_ok());

    // A flipped bit in the signature, a different trusted key, or a missing signature
    // all fail as router authentication failures.
    let mut forged = c.clone();
    forged.extra.insert(
        "signature".into(),
        Value::from(format!("fc{}", &signature[2..])),
    );
    let e = a.on_challenge(&forged, &ChannelIds::default()).unwrap_err();
    assert!(matches!(e, AuthError::RouterAuthentication(_)), "{e}");
    assert_eq!(e.uri(), "wamp.error.authentication_failed");
    let mut unsigned = c.clone();
    unsigned.extra.remove("signature");
    assert!(a.on_challenge(&unsigned, &ChannelIds::default()).is_err());
    let other = AuthCryptosign::new(CryptosignKey::generate())
        .verify_router(&CryptosignKey::generate().public_key_bytes())
        .unwrap();
    other.set_router_challenge(ours);
    assert!(other.on_challenge(&c, &ChannelIds::default()).is_err());

    // HELLO carries a fresh challenge of ours.
    let extra = Authenticator::authextra(&a);
    let sent = extra["challenge"].as_str().unwrap();
    assert_eq!(sent.len(), 64);
    assert_ne!(sent, hex::encode(ours));
}

/// An OpenSSH Ed25519 key generated with `ssh-keygen -t ed25519 -N ''` for this test.
const OPENSSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAhLZQ3z8+H7TN5ecPR28Q4AC8KdR9YIevo8V+CLWUdGQAAAIhn4dYiZ+HW
IgAAAAtzc2gtZWQyNTUxOQAAACAhLZQ3z8+H7TN5ecPR28Q4AC8KdR9YIevo8V+CLWUdGQ
AAAEAhY04XzoJd0Vatg03d2iPKp7hWPPvXT5iOIIAsUd5BcyEtlDfPz4ftM3l5w9HbxDgA
Lwp1H1gh6+jxX4ItZR0ZAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----";

#[test]
fn cryptosign_key_from_openssh() {
    let key = CryptosignKey::from_ssh_key(OPENSSH_KEY).unwrap();
    assert_eq!(
        key.public_key(),
        "212d9437cfcf87ed337979c3d1dbc438002f0a751f5821ebe8f15f822d651d19"
    );
    assert!(matches!(
        CryptosignKey::from_ssh_key(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
        ),
        Err(AuthError::InvalidKey(_))
    ));
}

#[test]
fn scram_credentials_match_autobahn() {
    // Stored and server keys computed with argon2-cffi / hashlib as Autobahn does.
    let salt = b"autobahn-rs-salt";
    let argon = derive_scram_credential(
        "scrampass",
        salt,
        ScramKdf::Argon2id13 {
            iterations: 4,
            memory: 64,
        },
    )
    .unwrap();
    assert_eq!(
        hex::encode(argon.stored_key),
        "d625913f3448c1f7238b8a2efb4156885740940484bb328bce5545d8955e8274"
    );
    assert_eq!(
        hex::encode(argon.server_key),
        "b55274c1db9f65d65e48de8e1b7a33ed8782dcf5c83593b561bea8b79e758795"
    );
    let pbkdf =
        derive_scram_credential("scrampass", salt, ScramKdf::Pbkdf2 { iterations: 1000 }).unwrap();
    assert_eq!(
        hex::encode(pbkdf.stored_key),
        "e95ada9c869a60260c59276ad914ea4c234c8b4c5c9bf0f3bca4ef795f504dd7"
    );
    assert_eq!(
        pbkdf.to_dict()["server-key"],
        Value::from("af83720befdcbde5611fc4e4c3929d74e61067fee89a7f2e5d565521a612f3d6")
    );
    assert_eq!(pbkdf.to_dict()["salt"], Value::from(hex::encode(salt)));
}

/// A router's side of SCRAM over a stored credential, for the round trip below.
fn scram_router(
    cred: &ScramCredential,
    authid: &str,
    client_nonce: &str,
    proof_b64: &str,
) -> (bool, String, String) {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let mut nonce = B64.decode(client_nonce).unwrap();
    nonce.extend_from_slice(b"router-part-1234");
    let server_nonce = B64.encode(nonce);
    let salt = B64.encode(&cred.salt);
    let iterations = match cred.kdf {
        ScramKdf::Argon2id13 { iterations, .. } | ScramKdf::Pbkdf2 { iterations } => iterations,
    };
    let msg = format!(
        "n={authid},r={client_nonce},r={server_nonce},s={salt},i={iterations},c=,r={server_nonce}"
    );
    let mac = |k: &[u8], d: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(k).unwrap();
        m.update(d);
        m.finalize().into_bytes().to_vec()
    };
    let proof = B64.decode(proof_b64).unwrap();
    let sig = mac(&cred.stored_key, msg.as_bytes());
    let client_key: Vec<u8> = sig.iter().zip(&proof).map(|(a, b)| a ^ b).collect();
    let ok = Sha256::digest(&client_key).as_slice() == cred.stored_key;
    (
        ok,
        server_nonce,
        B64.encode(mac(&cred.server_key, msg.as_bytes())),
    )
}

#[test]
fn scram_round_trip_and_server_signature() {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    for kdf in [
        ScramKdf::Pbkdf2 { iterations: 100 },
        ScramKdf::Argon2id13 {
            iterations: 2,
            memory: 64,
        },
    ] {
        let cred = derive_scram_credential("pw", b"0123456789abcdef", kdf).unwrap();
        let a = AuthScram::new("alice", "pw");
        let auth = Authentication::new().with(a);
        let hello = auth.hello("realm1");
        assert_eq!(hello.authmethods, vec!["scram"]);
        let nonce = hello.authextra.as_ref().unwrap()["nonce"]
            .as_str()
            .unwrap()
            .to_owned();
        // The router answers with its nonce (extending ours) and the KDF parameters.
        let (_, server_nonce, _) = scram_router(&cred, "alice", &nonce, &B64.encode([0u8; 32]));
        let memory = match kdf {
            ScramKdf::Argon2id13 { memory, .. } => memory,
            ScramKdf::Pbkdf2 { .. } => 0,
        };
        let iterations = cred.to_dict()["iterations"].clone();
        let c = challenge(
            "wamp-scram",
            dict! {
                "nonce" => server_nonce.as_str(),
                "kdf" => kdf.name(),
                "salt" => B64.encode(&cred.salt),
                "iterations" => iterations,
                "memory" => memory,
            },
        );
        let proof = auth.on_challenge(&c, &ChannelIds::default()).unwrap();
        let (ok, _, server_sig) = scram_router(&cred, "alice", &nonce, &proof);
        assert!(ok, "router must accept the proof ({})", kdf.name());
        let mut welcome = SessionDetails {
            authmethod: Some("scram".into()),
            authextra: Some(dict! {"scram_server_signature" => server_sig.as_str()}),
            ..Default::default()
        };
        assert_eq!(auth.on_welcome(&welcome), Ok(()));
        // The same signature is not accepted twice, nor a wrong one.
        assert!(auth.on_welcome(&welcome).is_err());
        auth.hello("realm1");
        auth.on_challenge(&c, &ChannelIds::default()).unwrap_err(); // stale nonce
        welcome.authextra = Some(dict! {"scram_server_signature" => B64.encode([1u8; 32])});
        assert!(matches!(
            auth.on_welcome(&welcome),
            Err(AuthError::RouterAuthentication(_))
        ));
    }
}

#[test]
fn scram_refuses_hostile_challenges() {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    let a = AuthScram::new("alice", "pw");
    let nonce = Authenticator::authextra(&a)["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut server_nonce = B64.decode(&nonce).unwrap();
    server_nonce.extend_from_slice(b"router-part-1234");
    let server_nonce = B64.encode(server_nonce);
    let base = dict! {
        "nonce" => server_nonce.as_str(),
        "kdf" => "argon2id-13",
        "salt" => B64.encode(b"0123456789abcdef"),
        "iterations" => 2,
        "memory" => 64,
    };
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d.insert(k.into(), v);
        challenge("scram", d)
    };
    // The well-formed challenge is answered: each case below fails for its own reason.
    assert!(a
        .on_challenge(&challenge("scram", base.clone()), &ChannelIds::default())
        .is_ok());
    let mut heavy = base.clone();
    heavy.insert("iterations".into(), Value::from(100_000));
    heavy.insert("memory".into(), Value::from(1024));
    let e = a
        .on_challenge(&challenge("scram", heavy), &ChannelIds::default())
        .unwrap_err();
    assert!(e.to_string().contains("KiB-passes"), "{e}");
    for c in [
        with("memory", Value::from(1u64 << 30)),
        with("iterations", Value::from(1u64 << 40)),
        with("kdf", Value::from("md5")),
        with(
            "nonce",
            Value::from(B64.encode(b"someone else's nonce, longer")),
        ),
        with("salt", Value::from("%%%")),
    ] {
        let e = a.on_challenge(&c, &ChannelIds::default()).unwrap_err();
        assert!(matches!(e, AuthError::InvalidChallenge { .. }), "{e}");
    }
}

#[test]
fn authentication_collects_hello_and_dispatches() {
    let auth = Authentication::new()
        .with(AuthTicket::new("joe", "t1").with_authextra("x", 1))
        .with(AuthWampCra::new("other", "s").authrole("r"));
    let hello = auth.hello("realm1");
    assert_eq!(hello.authmethods, vec!["ticket", "wampcra"]);
    assert_eq!(hello.authid.as_deref(), Some("joe"));
    assert_eq!(hello.authrole.as_deref(), Some("r"));
    assert_eq!(hello.authextra, Some(dict! {"x" => 1}));
    let none = ChannelIds::default();
    assert_eq!(
        auth.on_challenge(&challenge("ticket", Dict::new()), &none),
        Ok("t1".into())
    );
    assert_eq!(
        auth.on_challenge(&challenge("cryptosign", Dict::new()), &none),
        Err(AuthError::NoAuthenticator("cryptosign".into()))
    );
    assert!(Authentication::new().hello("r").authmethods.is_empty());
    assert_eq!(auth, auth.clone());
    assert_ne!(auth, Authentication::new());
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let auth = format!(
        "{:?} {:?} {:?} {:?}",
        AuthTicket::new("joe", "TICKET-SECRET"),
        AuthWampCra::new("joe", "CRA-SECRET"),
        AuthScram::new("joe", "SCRAM-SECRET"),
        AuthCryptosign::new(CryptosignKey::from_seed_hex(TEST_SEED).unwrap()),
    );
    for secret in ["TICKET-SECRET", "CRA-SECRET", "SCRAM-SECRET", TEST_SEED] {
        assert!(!auth.contains(secret), "{auth}");
    }
    assert!(auth.contains(TEST_PUBKEY));
}

#[test]
fn authenticate_message_debug_hides_the_signature() {
    use crate::wamp::message::{Authenticate, Message};
    let m = Message::Authenticate(Authenticate {
        signature: "TICKET-SECRET".into(),
        extra: Dict::new(),
    });
    let text = format!("{m:?}");
    assert!(!text.contains("TICKET-SECRET"), "{text}");
    assert!(text.contains("13 bytes"), "{text}");
}

#[test]
fn welcome_by_a_method_not_offered_is_refused() {
    let welcome = |method: Option<&str>| SessionDetails {
        authmethod: method.map(str::to_owned),
        ..Default::default()
    };
    let scram = Authentication::new().with(AuthScram::new("alice", "pw"));
    for method in [Some("anonymous"), Some("ticket"), None] {
        assert!(matches!(
            scram.on_welcome(&welcome(method)),
            Err(AuthError::RouterAuthentication(_))
        ));
    }
    // Without authenticators, any WELCOME is fine.
    assert_eq!(Authentication::new().on_welcome(&welcome(None)), Ok(()));
    // Offering anonymous too makes an anonymous WELCOME acceptable.
    let both = Authentication::new()
        .with(AuthTicket::new("joe", "t"))
        .with(AuthAnonymous::new());
    assert_eq!(both.on_welcome(&welcome(Some("anonymous"))), Ok(()));
}

#[test]
fn cryptosign_router_must_prove_its_key_before_welcome() {
    let router = CryptosignKey::generate();
    let a = AuthCryptosign::new(CryptosignKey::from_seed_hex(TEST_SEED).unwrap())
        .verify_router(&router.public_key_bytes())
        .unwrap();
    let auth = Authentication::new().with(a);
    let welcome = SessionDetails {
        authmethod: Some("cryptosign".into()),
        ..Default::default()
    };
    // HELLO, then a WELCOME without any CHALLENGE: refused.
    let hello = auth.hello("realm1");
    assert_eq!(
        auth.on_welcome(&welcome),
        Err(AuthError::RouterAuthentication(
            "the router did not prove its key (no cryptosign challenge)".into()
        ))
    );
    // With a CHALLENGE signed by the trusted key, the WELCOME is accepted once.
    let ours = hex::decode(hello.authextra.unwrap()["challenge"].as_str().unwrap()).unwrap();
    let mut signed = router.sign(&ours).to_vec();
    signed.extend_from_slice(&ours);
    let c = challenge(
        "cryptosign",
        dict! {
            "challenge" => "00".repeat(32),
            "pubkey" => router.public_key(),
            "signature" => hex::encode(signed),
        },
    );
    auth.on_challenge(&c, &ChannelIds::default()).unwrap();
    assert_eq!(auth.on_welcome(&welcome), Ok(()));
    assert!(auth.on_welcome(&welcome).is_err(), "the proof is used up");
}
