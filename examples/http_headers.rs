//! HTTP headers in the opening handshake: mirrors Autobahn|Python's "Using HTTP Headers
//! with WebSocket" example (custom headers both ways) plus cookie handling.
//!
//! ```text
//! cargo run --example http_headers
//! ```
//!
//! The client sends custom request headers (a token, a cookie, its user agent) and offers
//! two subprotocols. The server's `on_connect` inspects the request: without the right
//! token it denies the connection with HTTP 403; otherwise it accepts, adding a custom
//! header and a `Set-Cookie` to the `101` response (the factory adds one more header to
//! every response). The client's `on_connect` prints the response headers.

use autobahn::websocket::types::{
    ConnectionAccept, ConnectionDeny, ConnectionRequest, ConnectionResponse, Headers,
};
use autobahn::websocket::{
    Error, WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler,
};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

struct Server {
    channel: WebSocketChannel,
    visits: u32,
}

impl WebSocketServerHandler for Server {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        println!(
            "[server] request from {} for {} {:?}:",
            request.peer, request.path, request.params
        );
        for (name, value) in &request.headers {
            println!("[server]   {name}: {value}");
        }
        if request.headers.get("X-Api-Token") != Some("s3cret") {
            return Err(ConnectionDeny::new(
                ConnectionDeny::FORBIDDEN,
                Some("missing or wrong X-Api-Token"),
            ));
        }
        // Cookie: visits=N (one of possibly several cookies, `; `-separated).
        let cookies = request.headers.get("Cookie").unwrap_or("");
        let visits = cookies
            .split(';')
            .find_map(|c| c.trim().strip_prefix("visits=")?.parse::<u32>().ok());
        self.visits = visits.unwrap_or(0).saturating_add(1);
        Ok(ConnectionAccept::new()
            .header("MyCustomServerHeader", "Foobar")
            .header("Set-Cookie", format!("visits={}; HttpOnly", self.visits)))
    }
}

impl WebSocketHandler for Server {
    async fn on_open(&mut self) {
        let _ = self
            .channel
            .send_text(format!("welcome back, visit #{}", self.visits))
            .await;
    }
}

struct Client {
    channel: WebSocketChannel,
    greeting: Option<String>,
}

impl WebSocketClientHandler for Client {
    async fn on_connect(&mut self, response: &ConnectionResponse) {
        println!(
            "[client] accepted by {}, subprotocol {:?}; response headers:",
            response.peer, response.protocol
        );
        for (name, value) in &response.headers {
            println!("[client]   {name}: {value}");
        }
    }
}

impl WebSocketHandler for Client {
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let text = String::from_utf8_lossy(&payload).into_owned();
        println!("[client] server says: {text}");
        self.greeting = Some(text);
        let _ = self.channel.send_close(Some(1000), None).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1")
        .protocols(["chat.v1"])
        .headers(Headers::from_iter([("X-Powered-By", "autobahn-rs")]));
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}/chat?room=lobby", listener.local_addr()?);
    let server = tokio::spawn(factory.serve(listener, |channel| Server { channel, visits: 0 }));

    let client = WebSocketClientFactory::new(&url)?
        .useragent("http_headers-example/1.0")
        .protocols(["chat.v2", "chat.v1"])
        .headers(Headers::from_iter([
            ("X-Api-Token", "s3cret"),
            ("Cookie", "theme=dark; visits=2"),
        ]));
    let conn = client
        .connect(|channel| Client {
            channel,
            greeting: None,
        })
        .await?;
    let response = conn.response().clone();
    let (handler, close) = conn.run().await;
    let accepted_ok = response.protocol.as_deref() == Some("chat.v1")
        && response.headers.get("MyCustomServerHeader") == Some("Foobar")
        && response.headers.get("X-Powered-By") == Some("autobahn-rs")
        && response.headers.get("Set-Cookie") == Some("visits=3; HttpOnly")
        && handler.greeting.as_deref() == Some("welcome back, visit #3")
        && close.was_clean;

    // Without the token, the server's on_connect refuses with HTTP 403.
    let anonymous = WebSocketClientFactory::new(&url)?;
    let denied_ok = match anonymous
        .connect(|channel| Client {
            channel,
            greeting: None,
        })
        .await
    {
        Err(Error::HttpStatus { status, reason, .. }) => {
            println!("[client] without the token: HTTP {status} {reason}");
            status == 403
        }
        Err(e) => {
            println!("[client] unexpected error: {e}");
            false
        }
        Ok(_) => false,
    };
    server.abort();
    if !(accepted_ok && denied_ok) {
        return Err("headers example failed".into());
    }
    println!("ok");
    Ok(())
}
