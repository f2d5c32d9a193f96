//! A TCP tunnel through `wss://`: any TCP protocol (HTTP, SSH, a database's) rides a
//! WebSocket as a byte stream ([`ByteStream`], subprotocol [`TUNNEL_SUBPROTOCOL`]).
//!
//! ```text
//! cargo run --all-features --example tunnel                                   # demo on loopback, exits 0
//! cargo run --all-features --example tunnel -- server WS_ADDR TARGET_ADDR    # wss:// in, TCP out
//! cargo run --all-features --example tunnel -- client LISTEN_ADDR wss://HOST:PORT [--ca CERT_PEM]
//! ```
//!
//! The **server** serves `wss://` on `WS_ADDR` with a self-signed certificate generated at
//! start (with `rcgen`, for `localhost` and `127.0.0.1`) and writes that certificate to a
//! file, printing `certificate PATH`. Each WebSocket that offers the tunnel subprotocol
//! gets a new TCP connection to `TARGET_ADDR`; others are refused with HTTP 400. A target
//! that cannot be reached closes the WebSocket with 4502.
//!
//! The **client** accepts TCP connections on `LISTEN_ADDR` and forwards each through a new
//! `wss://` connection. It trusts exactly the certificate in the PEM file given with
//! `--ca` (the path the server printed); without `--ca` the public web roots, as for a
//! server with a real certificate. There is no "insecure" mode: a tunnel that trusts any
//! certificate hands its traffic to whoever sits in between.
//!
//! Both print `listening on HOST:PORT` once they serve (port 0 picks a free port), then
//! one line per forwarded connection. Half-closes are forwarded (a client that shuts
//! down its write side still gets the whole answer), and each WebSocket ends with a
//! clean close (1000) once both directions have ended.
//!
//! With no arguments the example runs an echo server, a tunnel server and a tunnel client
//! on loopback, sends 4 MiB through the tunnel, checks the echo byte for byte after
//! shutting down its write side, and exits 0 (non-zero if anything is off). Compression
//! is left off: tunnelled traffic is often encrypted already, and deflate would only
//! cost CPU.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::tls;
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    ByteStream, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler, TUNNEL_SUBPROTOCOL,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The close code when the server cannot reach its target (private use, 4000–4999; as
/// HTTP's 502 Bad Gateway).
const TARGET_UNREACHABLE: u16 = 4502;

/// Accepts only WebSockets that offer the tunnel subprotocol.
struct TunnelOnly;

impl WebSocketHandler for TunnelOnly {}

impl WebSocketServerHandler for TunnelOnly {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        if request.protocols.iter().any(|p| p == TUNNEL_SUBPROTOCOL) {
            Ok(ConnectionAccept::with_subprotocol(TUNNEL_SUBPROTOCOL))
        } else {
            Err(ConnectionDeny::new(
                ConnectionDeny::BAD_REQUEST,
                Some("this server speaks only the tunnel subprotocol"),
            ))
        }
    }
}

/// The client's connections are taken over by the pull API right after the handshake.
struct Forwarded;

impl WebSocketHandler for Forwarded {}
impl WebSocketClientHandler for Forwarded {}

/// A self-signed certificate for `localhost` and `127.0.0.1`, as PEM: (cert, key).
fn self_signed() -> DemoResult<(String, String)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.key_pair.serialize_pem()))
}

/// The tunnel server: `wss://` on `listener`, each WebSocket forwarded to `target`.
async fn serve(
    listener: TcpListener,
    cert_pem: &str,
    key_pem: &str,
    target: String,
) -> DemoResult<()> {
    let local = listener.local_addr()?;
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    let mut options = ServerOptions::default();
    #[cfg(feature = "deflate")]
    {
        options.per_message_compression_accept = None;
    }
    let factory = WebSocketServerFactory::new(format!("wss://{local}"))
        .tls(tls::server_config_from_pem(
            cert_pem.as_bytes(),
            key_pem.as_bytes(),
        )?)
        .protocols([TUNNEL_SUBPROTOCOL])
        .with_protocol_options(options);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let factory = factory.clone();
        let target = target.clone();
        tokio::spawn(async move {
            if let Err(e) = forward_to_target(&factory, tcp, peer, &target).await {
                eprintln!("[server] {peer}: {}", chain(&*e));
            }
        });
    }
}

/// One WebSocket: its opening handshake, a TCP connection to `target`, the bytes both
/// ways until both directions have ended.
async fn forward_to_target(
    factory: &WebSocketServerFactory,
    tcp: TcpStream,
    peer: SocketAddr,
    target: &str,
) -> DemoResult<()> {
    let Some(mut ws) = factory
        .accept_tcp_websocket(tcp, peer, |_| TunnelOnly)
        .await?
    else {
        return Ok(()); // refused: no tunnel subprotocol
    };
    let mut far = match TcpStream::connect(target).await {
        Ok(far) => far,
        Err(e) => {
            ws.close(Some(TARGET_UNREACHABLE), Some("target unreachable"))
                .await?;
            return Err(format!("connecting to {target}: {e}").into());
        }
    };
    let _ = far.set_nodelay(true);
    let mut stream = ByteStream::tunnel(ws)?;
    let (up, down) = tokio::io::copy_bidirectional(&mut stream, &mut far).await?;
    println!("[server] {peer} -> {target}: {up} bytes up, {down} bytes down");
    Ok(())
}

/// The tunnel client: TCP on `listener`, each connection forwarded through `url`.
async fn forward_local(
    listener: TcpListener,
    url: String,
    ca_pem: Option<Vec<u8>>,
) -> DemoResult<()> {
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    let mut options = ClientOptions::default();
    #[cfg(feature = "deflate")]
    {
        options.per_message_compression_offers = Vec::new();
    }
    let mut factory = WebSocketClientFactory::new(&url)?
        .protocols([TUNNEL_SUBPROTOCOL])
        .with_protocol_options(options);
    if let Some(pem) = ca_pem {
        factory = factory.tls(tls::client_config_with_ca_pem(&pem)?);
    }
    let factory = Arc::new(factory);
    loop {
        let (local, peer) = listener.accept().await?;
        let factory = factory.clone();
        tokio::spawn(async move {
            match forward_through(&factory, local).await {
                Ok((up, down)) => println!("[client] {peer}: {up} bytes up, {down} bytes down"),
                Err(e) => eprintln!("[client] {peer}: {}", chain(&*e)),
            }
        });
    }
}

/// One local connection through a new WebSocket.
async fn forward_through(
    factory: &WebSocketClientFactory,
    mut local: TcpStream,
) -> DemoResult<(u64, u64)> {
    let _ = local.set_nodelay(true);
    let connection = factory.connect(|_| Forwarded).await?;
    // Fails unless the server agreed to the tunnel subprotocol.
    let mut stream = ByteStream::tunnel(connection.into_websocket())?;
    Ok(tokio::io::copy_bidirectional(&mut local, &mut stream).await?)
}

/// An error and its sources, `": "`-separated.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

async fn server_mode(ws_addr: &str, target: &str) -> DemoResult<()> {
    let listener = TcpListener::bind(ws_addr).await?;
    let local = listener.local_addr()?;
    let (cert_pem, key_pem) = self_signed()?;
    let cert_path = std::env::temp_dir().join(format!("autobahn-tunnel-{}.pem", local.port()));
    std::fs::write(&cert_path, &cert_pem)?;
    println!("certificate {}", cert_path.display());
    println!("listening on {local}");
    serve(listener, &cert_pem, &key_pem, target.to_string()).await
}

async fn client_mode(listen_addr: &str, url: &str, ca: Option<PathBuf>) -> DemoResult<()> {
    let ca_pem = match ca {
        Some(path) => Some(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let listener = TcpListener::bind(listen_addr).await?;
    println!("listening on {}", listener.local_addr()?);
    forward_local(listener, url.to_string(), ca_pem).await
}

/// Echoes each connection's bytes, then ends its side when the client has ended its.
async fn echo(listener: TcpListener) -> DemoResult<()> {
    loop {
        let (mut tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut from, mut to) = tcp.split();
            tokio::io::copy(&mut from, &mut to).await?;
            to.shutdown().await
        });
    }
}

async fn demo() -> DemoResult<()> {
    let echo_listener = TcpListener::bind("127.0.0.1:0").await?;
    let target = echo_listener.local_addr()?.to_string();
    tokio::spawn(echo(echo_listener));

    let (cert_pem, key_pem) = self_signed()?;
    // The client trusts exactly the server's certificate.
    let ca = cert_pem.clone().into_bytes();
    let ws_listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("wss://{}", ws_listener.local_addr()?);
    println!(
        "[server] listening on {}, forwarding to {target}",
        ws_listener.local_addr()?
    );
    let server = tokio::spawn(async move { serve(ws_listener, &cert_pem, &key_pem, target).await });

    let local_listener = TcpListener::bind("127.0.0.1:0").await?;
    let local = local_listener.local_addr()?;
    println!("[client] listening on {local}, forwarding through {url}");
    let client = tokio::spawn(forward_local(local_listener, url, Some(ca)));

    // 4 MiB of a pattern no message boundary lines up with, echoed while it is sent.
    let sent: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let tcp = TcpStream::connect(local).await?;
    let (mut from, mut to) = tcp.into_split();
    let sending = {
        let sent = sent.clone();
        tokio::spawn(async move {
            to.write_all(&sent).await?;
            to.shutdown().await // end of our data: the echo still comes back in full
        })
    };
    let mut echoed = Vec::with_capacity(sent.len());
    from.read_to_end(&mut echoed).await?;
    sending.await??;
    if echoed != sent {
        return Err(format!(
            "echo differs: sent {} bytes, got {}",
            sent.len(),
            echoed.len()
        )
        .into());
    }
    println!(
        "[demo] {} bytes echoed through the tunnel, byte for byte",
        echoed.len()
    );
    server.abort();
    client.abort();
    println!("ok");
    Ok(())
}

fn usage() -> ! {
    eprintln!(
        "usage: tunnel                                          (demo)\n       \
         tunnel server WS_ADDR TARGET_ADDR\n       \
         tunnel client LISTEN_ADDR wss://HOST:PORT [--ca CERT_PEM]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] => demo().await,
        ["server", ws_addr, target] => server_mode(ws_addr, target).await,
        ["client", listen, url] => client_mode(listen, url, None).await,
        ["client", listen, url, "--ca", ca] => client_mode(listen, url, Some(ca.into())).await,
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("error: {}", chain(&*e));
        std::process::exit(1);
    }
}
