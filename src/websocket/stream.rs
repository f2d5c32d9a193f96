//! The byte streams a WebSocket runs over: TCP, TLS (tokio-rustls) and Unix sockets,
//! behind one enum so that clients and servers need not be generic for the common cases.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connected stream of one of the supported kinds.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP, client side.
    #[cfg(feature = "tls")]
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS over TCP, server side.
    #[cfg(feature = "tls")]
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Unix domain socket.
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Tcp($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsClient($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsServer($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            #[cfg(unix)]
            MaybeTlsStream::Unix($s) => {
                let $s = Pin::new($s);
                $e
            }
        }
    };
}

/// The RFC 9266 label of the `tls-exporter` channel binding.
#[cfg(feature = "tls")]
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

impl MaybeTlsStream {
    /// The `tls-exporter` channel binding (RFC 9266: 32 bytes exported with
    /// [`TLS_EXPORTER_LABEL`] and no context) of a TLS stream;
    /// `None` for plain TCP and Unix sockets.
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        match self {
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsClient(s) => s
                .get_ref()
                .1
                .export_keying_material([0u8; 32], TLS_EXPORTER_LABEL, None)
                .ok()
                .map(|k| k.to_vec()),
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsServer(s) => s
                .get_ref()
                .1
                .export_keying_material([0u8; 32], TLS_EXPORTER_LABEL, None)
                .ok()
                .map(|k| k.to_vec()),
            _ => None,
        }
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Tcp(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsClient(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsServer(s) => s.is_write_vectored(),
            #[cfg(unix)]
            MaybeTlsStream::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}

/// TLS configuration helpers (feature `tls`).
///
/// # Examples
///
/// A `wss://` echo on a loopback port with a self-signed certificate (made here with
/// `rcgen`), and a client that trusts exactly that certificate:
///
/// ```
/// use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};
/// use autobahn::websocket::{
///     WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
///     WebSocketServerFactory, WebSocketServerHandler,
/// };
///
/// struct Quiet(WebSocketChannel);
/// impl WebSocketHandler for Quiet {}
/// impl WebSocketServerHandler for Quiet {}
/// impl WebSocketClientHandler for Quiet {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
/// let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
///
/// let server = WebSocketServerFactory::new("wss://localhost")
///     .tls(server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?);
/// let listener = server.listen("127.0.0.1:0").await?;
/// let port = listener.local_addr()?.port();
/// tokio::spawn(server.serve(listener, Quiet));
///
/// let client = WebSocketClientFactory::new(&format!("wss://localhost:{port}"))?
///     .tls(client_config_with_ca_pem(cert_pem.as_bytes())?);
/// let connection = client.connect(Quiet).await?;
/// assert!(connection.stream().tls_exporter().is_some()); // TLS channel binding
/// connection.channel().send_close(Some(1000), None).await?;
/// let (_, close) = connection.run().await;
/// assert!(close.was_clean);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tls")]
pub mod tls {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    use crate::websocket::error::Error;

    /// A client configuration trusting the Mozilla root certificates (webpki-roots).
    pub fn client_config_webpki_roots() -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// A client configuration trusting the platform's certificate store.
    pub fn client_config_native_roots() -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(Error::Tls("no platform root certificates found".into()));
        }
        Ok(Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    }

    /// A client configuration trusting exactly the PEM certificates in `pem` (e.g. a test
    /// CA or a self-signed server certificate).
    pub fn client_config_with_ca_pem(pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Tls(format!("bad certificate PEM: {e}")))?;
            roots.add(cert).map_err(|e| Error::Tls(e.to_string()))?;
        }
        Ok(Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    }

    /// A server configuration from a PEM certificate chain and a PEM private key.
    pub fn server_config_from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Arc<rustls::ServerConfig>, Error> {
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("bad certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Tls("no certificate in PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Tls(format!("bad key PEM: {e}")))?;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
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
    pub fn server_config_from_pem_files(
        cert: &Path,
        key: &Path,
    ) -> Result<Arc<rustls::ServerConfig>, Error> {
        let c = std::fs::read(cert)?;
        let k = std::fs::read(key)?;
        server_config_from_pem(&c, &k)
    }
}
