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

// TLS configurations (feature `tls`); documented in the module.
#[cfg(feature = "tls")]
pub mod tls;
