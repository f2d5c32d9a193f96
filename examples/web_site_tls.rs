//! `web_site` over HTTPS: the same page, files, JSON and WebSocket echo, served with TLS
//! under the subpath `/app/` (the WebSocket is `wss://HOST:PORT/app/ws`).
//!
//! ```text
//! cargo run --all-features --example web_site_tls                      # demo: serve, check every route, exit
//! cargo run --all-features --example web_site_tls -- 127.0.0.1:8443    # serve until Ctrl-C; open https://127.0.0.1:8443/app/
//! ```
//!
//! The certificate is self-signed, generated at start (with `rcgen`) for `localhost` and
//! `127.0.0.1`: a browser warns about it once. For a real deployment load your PEM files
//! with `tls::server_config_from_pem_files`. `ADDR` may use port 0; the example prints
//! `listening on HOST:PORT`; `/` redirects to `/app/`.
//!
//! axum's own `serve` speaks plain TCP only, so this example accepts each TCP connection,
//! does the TLS handshake with tokio-rustls and serves the axum `Router` on the TLS stream
//! with hyper's HTTP/1.1 connection (upgrades on, for the WebSocket).
//!
//! With no arguments it serves on a free port, fetches the page and the JSON over HTTPS
//! trusting exactly the generated certificate, echoes a message over `wss://.../app/ws`
//! with compression negotiated, and exits 0 (non-zero if anything is off).

#[path = "web_site/app.rs"]
mod app;

use std::net::SocketAddr;
use std::sync::Arc;

use app::{app, check_site, get_text, DemoResult};
use autobahn::websocket::stream::tls;
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use axum::extract::ConnectInfo;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use hyper::service::Service;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Where the site lives on the server.
const BASE: &str = "/app";

/// A self-signed certificate and its key, as PEM.
struct SelfSigned {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> DemoResult<SelfSigned> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok(SelfSigned {
        cert_pem: certified.cert.pem(),
        key_pem: certified.key_pair.serialize_pem(),
    })
}

/// The TLS side of the server: our certificate, HTTP/1.1 announced by ALPN (WebSocket
/// upgrades need HTTP/1.1).
fn acceptor(certificate: &SelfSigned) -> DemoResult<TlsAcceptor> {
    let config = tls::server_config_from_pem(
        certificate.cert_pem.as_bytes(),
        certificate.key_pem.as_bytes(),
    )?;
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The site under [`BASE`], with `/` redirecting to it.
fn site(local: SocketAddr) -> Router {
    let factory = WebSocketServerFactory::new(format!("wss://{local}"));
    app(factory, BASE).route("/", get(|| async { Redirect::to(&format!("{BASE}/")) }))
}

/// Accepts connections until the listener fails; each one gets its TLS handshake and its
/// HTTP/1.1 connection on a task of its own (a slow handshake holds up no one else).
async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    site: Router,
) -> std::io::Result<()> {
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let site = TowerToHyperService::new(site.clone());
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(stream) => stream,
                Err(e) => {
                    // A browser that has not accepted the certificate yet ends up here.
                    eprintln!("{peer}: TLS handshake failed: {e}");
                    return;
                }
            };
            // The WebSocket extractor names the peer from axum's `ConnectInfo`.
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                site.call(request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = connection.await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn serve(addr: &str) -> DemoResult<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("listening on {local}");
    println!("open https://{local}{BASE}/ (the certificate is self-signed: accept it once)");
    let acceptor = acceptor(&self_signed()?)?;
    tokio::select! {
        served = serve_tls(listener, acceptor, site(local)) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn demo() -> DemoResult<()> {
    let certificate = self_signed()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    tokio::spawn(serve_tls(listener, acceptor(&certificate)?, site(addr)));

    // The clients trust exactly the generated certificate.
    let client_tls = tls::client_config_with_ca_pem(certificate.cert_pem.as_bytes())?;
    let connector = TlsConnector::from(client_tls.clone());
    let get = |path: String| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = ServerName::from(addr.ip());
            let stream = connector.connect(name, tcp).await?;
            get_text(stream, &addr.to_string(), &path).await
        }
    };
    let client = WebSocketClientFactory::new(&format!("wss://{addr}{BASE}/ws"))?.tls(client_tls);
    check_site(BASE, get, client).await
}

#[tokio::main]
async fn main() -> DemoResult<()> {
    match std::env::args().nth(1) {
        None => demo().await,
        Some(addr) => serve(&addr).await,
    }
}
