//! TLS configurations for `wss://`, `rss://` and TLS servers (feature `tls`): the crypto
//! provider, trust roots, client and server configurations.
//!
//! # Crypto provider
//!
//! Every configuration this crate builds uses [`crypto_provider`]: *ring* with the `tls`
//! (or `ring`) feature, aws-lc-rs with the `aws-lc-rs` feature. When both are enabled
//! aws-lc-rs is used: `ring` comes with the default features, so enabling `aws-lc-rs` is
//! the explicit choice. The crate never relies on rustls' process-wide default provider
//! (`rustls::ClientConfig::builder()` and friends), which panics when the application's
//! dependency graph compiles both providers into rustls (an application using reqwest or
//! hyper-rustls with their defaults does) and none was installed. Configurations given to
//! the `.tls(...)` builders may use any provider.
//!
//! # Trust
//!
//! A `wss://` or `rss://` client without a `.tls(...)` configuration trusts the
//! platform's certificate store, as Autobahn|Python does ([`TrustRoots::Platform`], read
//! through rustls-native-certs: on Linux the system CA bundle, e.g. Debian's
//! `ca-certificates`; `SSL_CERT_FILE` / `SSL_CERT_DIR` override it). If the platform has
//! no roots the connection fails with [`Error::Tls`] saying so. The Mozilla roots
//! compiled into the crate ([`TrustRoots::Mozilla`], webpki-roots) work everywhere
//! without a system bundle: pass [`client_config`]`(TrustRoots::Mozilla)` to `.tls(...)`.
//!
//! # Client certificates
//!
//! [`server_config_with_client_auth_pem`] makes a server that requires a certificate
//! issued by a given CA; [`client_config_with_client_cert_pem`] makes a client that
//! presents one.
//!
//! # Examples
//!
//! A `wss://` echo on a loopback port with a self-signed certificate (made here with
//! `rcgen`), and a client that trusts exactly that certificate:
//!
//! ```
//! use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};
//! use autobahn::websocket::{
//!     WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
//!     WebSocketServerFactory, WebSocketServerHandler,
//! };
//!
//! struct Quiet(WebSocketChannel);
//! impl WebSocketHandler for Quiet {}
//! impl WebSocketServerHandler for Quiet {}
//! impl WebSocketClientHandler for Quiet {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
//! let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
//!
//! let server = WebSocketServerFactory::new("wss://localhost")
//!     .tls(server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?);
//! let listener = server.listen("127.0.0.1:0").await?;
//! let port = listener.local_addr()?.port();
//! tokio::spawn(server.serve(listener, Quiet));
//!
//! let client = WebSocketClientFactory::new(&format!("wss://localhost:{port}"))?
//!     .tls(client_config_with_ca_pem(cert_pem.as_bytes())?);
//! let connection = client.connect(Quiet).await?;
//! assert!(connection.stream().tls_exporter().is_some()); // TLS channel binding
//! connection.channel().send_close(Some(1000), None).await?;
//! let (_, close) = connection.run().await;
//! assert!(close.was_clean);
//! # Ok(())
//! # }
//! ```

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WantsClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, ServerConfig};

use crate::websocket::error::Error;

/// The crypto provider of every TLS configuration this crate builds: aws-lc-rs with the
/// `aws-lc-rs` feature, *ring* otherwise (see the [module documentation](self)).
///
/// Use it to build your own configurations with the same provider:
/// `rustls::ClientConfig::builder_with_provider(crypto_provider())`.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::stream::tls::crypto_provider;
///
/// // Never `rustls::ClientConfig::builder()`: that asks for a process-wide default,
/// // which panics when both providers are compiled into rustls and none was installed.
/// let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
///     .with_safe_default_protocol_versions()?
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth();
/// assert!(!config.crypto_provider().cipher_suites.is_empty());
/// # Ok::<(), rustls::Error>(())
/// ```
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            #[cfg(feature = "aws-lc-rs")]
            let provider = rustls::crypto::aws_lc_rs::default_provider();
            #[cfg(not(feature = "aws-lc-rs"))]
            let provider = rustls::crypto::ring::default_provider();
            Arc::new(provider)
        })
        .clone()
}

/// Which root certificates a client trusts.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::stream::tls::{client_config, TrustRoots};
/// use autobahn::websocket::WebSocketClientFactory;
///
/// // The Mozilla roots compiled into the crate, where the platform has no CA bundle.
/// let factory = WebSocketClientFactory::new("wss://example.com/ws")?
///     .tls(client_config(TrustRoots::Mozilla)?);
/// assert_eq!(TrustRoots::default(), TrustRoots::Platform); // what `.tls` defaults to
/// # Ok::<(), autobahn::websocket::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustRoots {
    /// The platform's certificate store (the default, as in Autobahn|Python).
    #[default]
    Platform,
    /// The Mozilla root certificates compiled into the crate (webpki-roots).
    Mozilla,
    /// Exactly the PEM certificates given (e.g. a private CA or a self-signed server
    /// certificate).
    Pem(Vec<u8>),
}

impl TrustRoots {
    /// The root store, or [`Error::Tls`] if it would be empty or a PEM is bad.
    pub fn root_store(&self) -> Result<RootCertStore, Error> {
        match self {
            TrustRoots::Platform => platform_roots(),
            TrustRoots::Mozilla => Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            TrustRoots::Pem(pem) => pem_roots(pem),
        }
    }
}

fn platform_roots() -> Result<RootCertStore, Error> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, _unusable) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(e) => format!(" ({e})"),
            None => String::new(),
        };
        return Err(Error::tls(format!(
            "no platform root certificates found{why}: install the system CA bundle \
             (e.g. ca-certificates), set SSL_CERT_FILE, or give the client a configuration \
             such as client_config(TrustRoots::Mozilla)"
        )));
    }
    Ok(roots)
}

fn pem_roots(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem(pem)? {
        roots
            .add(cert)
            .map_err(|e| Error::tls_with("unusable root certificate", e))?;
    }
    Ok(roots)
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::tls_with("bad certificate PEM", e))?;
    if certs.is_empty() {
        return Err(Error::tls("no certificate in PEM"));
    }
    Ok(certs)
}

fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::tls_with("bad key PEM", e))
}

/// A client builder with [`crypto_provider`], TLS 1.2 and 1.3, trusting `trust`.
fn client_builder(
    trust: &TrustRoots,
) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, Error> {
    let roots = trust.root_store()?;
    Ok(ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls_with("protocol versions for the crypto provider", e))?
        .with_root_certificates(roots))
}

/// A client configuration trusting `trust`, presenting no certificate.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::stream::tls::{client_config, TrustRoots};
///
/// let config = client_config(TrustRoots::Mozilla)?;
/// assert!(!config.client_auth_cert_resolver.has_certs());
/// # Ok::<(), autobahn::websocket::Error>(())
/// ```
pub fn client_config(trust: TrustRoots) -> Result<Arc<ClientConfig>, Error> {
    Ok(Arc::new(client_builder(&trust)?.with_no_client_auth()))
}

/// A client configuration trusting `trust` and presenting the client certificate chain
/// `cert_pem` with its private key `key_pem` (mutual TLS).
///
/// # Examples
///
/// ```no_run
/// use autobahn::websocket::stream::tls::{client_config_with_client_cert_pem, TrustRoots};
/// use autobahn::websocket::WebSocketClientFactory;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = client_config_with_client_cert_pem(
///     TrustRoots::Platform,
///     &std::fs::read("client.pem")?,
///     &std::fs::read("client.key")?,
/// )?;
/// let factory = WebSocketClientFactory::new("wss://example.com/ws")?.tls(config);
/// # Ok(()) }
/// ```
pub fn client_config_with_client_cert_pem(
    trust: TrustRoots,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ClientConfig>, Error> {
    let config = client_builder(&trust)?
        .with_client_auth_cert(certs_from_pem(cert_pem)?, key_from_pem(key_pem)?)
        .map_err(|e| Error::tls_with("unusable client certificate or key", e))?;
    Ok(Arc::new(config))
}

/// [`client_config`] with [`TrustRoots::Mozilla`].
pub fn client_config_webpki_roots() -> Result<Arc<ClientConfig>, Error> {
    client_config(TrustRoots::Mozilla)
}

/// [`client_config`] with [`TrustRoots::Platform`].
pub fn client_config_native_roots() -> Result<Arc<ClientConfig>, Error> {
    client_config(TrustRoots::Platform)
}

/// A client configuration trusting exactly the PEM certificates in `pem` (e.g. a test
/// CA or a self-signed server certificate).
pub fn client_config_with_ca_pem(pem: &[u8]) -> Result<Arc<ClientConfig>, Error> {
    client_config(TrustRoots::Pem(pem.to_vec()))
}

/// The configuration of clients given none: [`TrustRoots::Platform`], loaded once per
/// process (a failure is not remembered, so installing roots later helps).
pub(crate) fn default_client_config() -> Result<Arc<ClientConfig>, Error> {
    static LOADED: Mutex<Option<Arc<ClientConfig>>> = Mutex::new(None);
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(config) = &*loaded {
        return Ok(config.clone());
    }
    let config = client_config(TrustRoots::Platform)?;
    *loaded = Some(config.clone());
    Ok(config)
}

/// A server configuration from a PEM certificate chain and a PEM private key, with
/// [`crypto_provider`] and no client authentication.
pub fn server_config_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    let config = ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls_with("protocol versions for the crypto provider", e))?
        .with_no_client_auth()
        .with_single_cert(certs_from_pem(cert_pem)?, key_from_pem(key_pem)?)
        .map_err(|e| Error::tls_with("unusable server certificate or key", e))?;
    Ok(Arc::new(config))
}

/// [`server_config_from_pem`] reading the two files.
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use autobahn::websocket::stream::tls::server_config_from_pem_files;
/// use autobahn::websocket::WebSocketServerFactory;
///
/// # fn run() -> Result<(), autobahn::websocket::Error> {
/// let config = server_config_from_pem_files(
///     Path::new("/etc/my-app/fullchain.pem"),
///     Path::new("/etc/my-app/privkey.pem"),
/// )?;
/// let factory = WebSocketServerFactory::new("wss://example.com:443").tls(config);
/// # Ok(())
/// # }
/// ```
pub fn server_config_from_pem_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, Error> {
    let c = std::fs::read(cert)?;
    let k = std::fs::read(key)?;
    server_config_from_pem(&c, &k)
}

/// A server configuration (PEM certificate chain and key) that requires every client to
/// present a certificate issued by one of the CAs in `client_ca_pem` (mutual TLS); the
/// TLS handshake of a client without one fails.
///
/// # Examples
///
/// ```no_run
/// use autobahn::websocket::stream::tls::server_config_with_client_auth_pem;
/// use autobahn::websocket::WebSocketServerFactory;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = server_config_with_client_auth_pem(
///     &std::fs::read("server.pem")?,
///     &std::fs::read("server.key")?,
///     &std::fs::read("clients-ca.pem")?,
/// )?;
/// let factory = WebSocketServerFactory::new("wss://example.com").tls(config);
/// # Ok(()) }
/// ```
pub fn server_config_with_client_auth_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<Arc<ServerConfig>, Error> {
    let provider = crypto_provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(pem_roots(client_ca_pem)?),
        provider.clone(),
    )
    .build()
    .map_err(|e| Error::tls_with("client certificate verifier", e))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::tls_with("protocol versions for the crypto provider", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs_from_pem(cert_pem)?, key_from_pem(key_pem)?)
        .map_err(|e| Error::tls_with("unusable server certificate or key", e))?;
    Ok(Arc::new(config))
}

/// What to add to the context of a failed client TLS handshake when the server did not
/// answer with TLS (a plain server: `plain_scheme` is `ws://` or `rs://`); empty otherwise.
pub(crate) fn plain_server_hint(e: &io::Error, plain_scheme: &str) -> String {
    use rustls::InvalidMessage::{InvalidContentType, UnknownProtocolVersion};
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidMessage(InvalidContentType | UnknownProtocolVersion)) => {
            format!(
                ": the server answered with something that is not TLS (plain HTTP?); is it a \
                 plain {plain_scheme} server?"
            )
        }
        _ if e.kind() == io::ErrorKind::UnexpectedEof => format!(
            ": the server closed the connection during the TLS handshake; is it a plain \
             {plain_scheme} server?"
        ),
        _ => String::new(),
    }
}
