//! Secure WebSocket (`wss://`): mirrors Autobahn|Python's "Secure WebSocket" example (an
//! echo server and client over TLS).
//!
//! ```text
//! cargo run --example secure_echo
//! ```
//!
//! Autobahn's example loads a key and certificate made with `openssl`; here a self-signed
//! certificate for `localhost` is generated at startup (with `rcgen`), the server serves
//! `wss://` with it, and the client trusts exactly that certificate. A second client that
//! trusts only the public web roots is refused, as it must be. For real deployments, load
//! your PEM files with `tls::server_config_from_pem_files`.

use autobahn::websocket::stream::tls;
use autobahn::websocket::Error;
use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

struct EchoServer {
    channel: WebSocketChannel,
}

impl WebSocketServerHandler for EchoServer {}

impl WebSocketHandler for EchoServer {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

/// Sends one text message on open, closes when the echo comes back.
struct EchoClient {
    channel: WebSocketChannel,
    echoed: Option<String>,
}

impl WebSocketClientHandler for EchoClient {}

impl WebSocketHandler for EchoClient {
    async fn on_open(&mut self) {
        let _ = self.channel.send_text("Hello over TLS!").await;
    }

    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let text = String::from_utf8_lossy(&payload).into_owned();
        println!("[client] echo received: {text}");
        self.echoed = Some(text);
        let _ = self.channel.send_close(Some(1000), None).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A throwaway self-signed certificate; the client will trust exactly this one.
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.key_pair.serialize_pem();

    let server_tls = tls::server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    let factory = WebSocketServerFactory::new("wss://localhost").tls(server_tls);
    let listener = factory.listen("127.0.0.1:0").await?;
    // The URL's host must match the certificate's name (`localhost`), not the IP.
    let url = format!("wss://localhost:{}", listener.local_addr()?.port());
    println!("[server] listening on {url}");
    let server = tokio::spawn(factory.serve(listener, |channel| EchoServer { channel }));

    let client_tls = tls::client_config_with_ca_pem(cert_pem.as_bytes())?;
    let client = WebSocketClientFactory::new(&url)?.tls(client_tls);
    let conn = client
        .connect(|channel| EchoClient {
            channel,
            echoed: None,
        })
        .await?;
    println!("[client] TLS handshake and WebSocket handshake done");
    let (handler, close) = conn.run().await;
    println!("[client] closed: {close:?}");
    let echoed_ok = handler.echoed.as_deref() == Some("Hello over TLS!") && close.was_clean;

    // Without trusting our certificate, the TLS handshake must fail.
    let untrusting = WebSocketClientFactory::new(&url)?;
    let refused = match untrusting
        .connect(|channel| EchoClient {
            channel,
            echoed: None,
        })
        .await
    {
        Err(e @ Error::Tls { .. }) => {
            let why = std::error::Error::source(&e).map_or(String::new(), |s| format!(": {s}"));
            println!(
                "[client] as expected, a client not trusting the certificate is refused: {e}{why}"
            );
            true
        }
        Err(e) => {
            println!("[client] unexpected error: {e}");
            false
        }
        Ok(_) => false,
    };
    server.abort();

    if !(echoed_ok && refused) {
        return Err("secure echo failed".into());
    }
    println!("ok");
    Ok(())
}
