//! Slow square: mirrors Autobahn|Python's "Slow Square" example, which shows co-routines
//! inside WebSocket handlers.
//!
//! ```text
//! cargo run --example slow_square
//! ```
//!
//! The server receives a number (a JSON number as a text message), computes its square
//! slowly (an `await`ed one-second delay standing in for a database or remote call) and
//! sends the result back. While a handler awaits, its connection still answers pings, and
//! other connections are served in parallel: two clients each ask for a square at the same
//! moment and ping while waiting; both pongs come back at once and both answers after
//! about one second, not two. Exits non-zero if any of that does not hold.

use std::time::{Duration, Instant};

use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

const DELAY: Duration = Duration::from_secs(1);

struct SlowSquare {
    channel: WebSocketChannel,
}

impl WebSocketServerHandler for SlowSquare {}

impl WebSocketHandler for SlowSquare {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let number = std::str::from_utf8(&payload)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok());
        match number {
            Some(x) if !is_binary => {
                // The slow part: other connections and this one's pings go on meanwhile.
                tokio::time::sleep(DELAY).await;
                let _ = self.channel.send_text((x * x).to_string()).await;
            }
            // Not a number: close with an application code (4000-4999 are private use).
            _ => {
                let _ = self
                    .channel
                    .send_close(Some(4000), Some("expected a number"))
                    .await;
            }
        }
    }
}

/// Asks for one square and pings right after; records when the pong and the answer
/// arrived.
struct Client {
    channel: WebSocketChannel,
    x: f64,
    start: Instant,
    pong_at: Option<Duration>,
    answer: Option<(f64, Duration)>,
}

impl WebSocketClientHandler for Client {}

impl WebSocketHandler for Client {
    async fn on_open(&mut self) {
        let _ = self.channel.send_text(self.x.to_string()).await;
        let _ = self.channel.send_ping(b"still there?").await;
    }

    async fn on_pong(&mut self, payload: Bytes) {
        let at = self.start.elapsed();
        println!(
            "[client {}] pong {:?} after {at:?}",
            self.x,
            String::from_utf8_lossy(&payload)
        );
        self.pong_at = Some(at);
    }

    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let at = self.start.elapsed();
        let text = String::from_utf8_lossy(&payload);
        println!("[client {}] result {text} after {at:?}", self.x);
        self.answer = text.parse::<f64>().ok().map(|r| (r, at));
        let _ = self.channel.send_close(Some(1000), None).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let server = tokio::spawn(factory.serve(listener, |channel| SlowSquare { channel }));

    let client = WebSocketClientFactory::new(&url)?;
    let start = Instant::now();
    let mut runs = Vec::new();
    for x in [3.0, 1.5] {
        let conn = client
            .connect(|channel| Client {
                channel,
                x,
                start,
                pong_at: None,
                answer: None,
            })
            .await?;
        runs.push(conn.spawn());
    }

    let mut ok = true;
    for run in runs {
        let (c, close) = run.await?;
        let expect = c.x * c.x;
        let pong_fast = c.pong_at.is_some_and(|t| t < DELAY);
        let right = c.answer.is_some_and(|(r, _)| r == expect);
        // Served in parallel: both answers within ~1 delay, well before 2.
        let parallel = c.answer.is_some_and(|(_, t)| t < DELAY * 2 - DELAY / 4);
        println!(
            "[client {}] square correct: {right}, pong before result: {pong_fast}, served in parallel: {parallel}, clean close: {}",
            c.x, close.was_clean
        );
        ok &= right && pong_fast && parallel && close.was_clean;
    }
    server.abort();
    if !ok {
        return Err("slow square did not behave as expected".into());
    }
    println!("ok");
    Ok(())
}
