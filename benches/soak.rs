//! Soak run: hours of WebSocket echo and WAMP RPC traffic with connection churn in one
//! process, printing memory as it goes. Not run in CI.
//!
//! ```text
//! SOAK_SECS=3600 cargo bench --bench soak          # default 60 s, report every 10 s
//! SOAK_SECS=900 SOAK_REPORT_SECS=60 SOAK_WS=4 SOAK_WAMP=4 cargo bench --bench soak
//! ```
//!
//! In-process, on loopback: a WebSocket echo server (permessage-deflate negotiated)
//! and a minimal WAMP dealer (our `WebSocketServerFactory` answering HELLO, CALL and
//! GOODBYE), then `SOAK_WS` workers that each connect a client, echo 50 messages of
//! 1 B–64 KiB (text and binary), close and start over, and `SOAK_WAMP` workers that
//! each run an `ApplicationRunner::run_once` session making 50 calls and leaving.
//! Every `SOAK_REPORT_SECS` a line with the counts, `VmRSS` and the live heap (a
//! counting allocator). At the end the workers stop, and the heap once everything
//! closed is compared with the heap before they started: it must be back within
//! 1 MiB (else a leak), and the process exits non-zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autobahn::wamp::message::{Goodbye, Message, ResultMessage, Welcome};
use autobahn::wamp::serializer::for_subprotocol;
use autobahn::wamp::{
    ApplicationRunner, ApplicationSession, CallOptions, Dict, Session, SessionDetails, Value,
};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::sync::oneshot;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` unchanged; the counter never touches memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let q = unsafe { System.realloc(p, l, n) };
        if !q.is_null() {
            LIVE.fetch_add(n, Relaxed);
            LIVE.fetch_sub(l.size(), Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    ws_conns: AtomicU64,
    ws_msgs: AtomicU64,
    wamp_sessions: AtomicU64,
    wamp_calls: AtomicU64,
    errors: AtomicU64,
}

// ---- WebSocket echo ----------------------------------------------------------------

struct Echo {
    channel: WebSocketChannel,
}

impl WebSocketServerHandler for Echo {}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

struct EchoClient {
    channel: WebSocketChannel,
    messages: Vec<(Bytes, bool)>,
    next: usize,
    done: Option<oneshot::Sender<bool>>,
}

impl WebSocketClientHandler for EchoClient {}

impl WebSocketHandler for EchoClient {
    async fn on_open(&mut self) {
        let (p, b) = self.messages[0].clone();
        let _ = self.channel.send_message(p, b).await;
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let ok = (payload.clone(), is_binary) == self.messages[self.next];
        self.next += 1;
        if !ok || self.next == self.messages.len() {
            if let Some(d) = self.done.take() {
                let _ = d.send(ok);
            }
            let _ = self.channel.send_close(Some(1000), None).await;
        } else {
            let (p, b) = self.messages[self.next].clone();
            let _ = self.channel.send_message(p, b).await;
        }
    }
}

fn messages(seed: u64) -> Vec<(Bytes, bool)> {
    (0..50u64)
        .map(|i| {
            let n = ((seed.wrapping_mul(2654435761).wrapping_add(i * 40503)) % 65536) as usize + 1;
            if i % 2 == 0 {
                (Bytes::from("x".repeat(n)), false)
            } else {
                (Bytes::from(vec![(i % 251) as u8; n]), true)
            }
        })
        .collect()
}

async fn ws_worker(url: String, counts: Arc<Counts>, deadline: Instant, id: u64) {
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let msgs = messages(id * 1_000_003 + round);
        let (tx, rx) = oneshot::channel();
        let ok = async {
            let conn = WebSocketClientFactory::new(&url)
                .ok()?
                .connect(|channel| EchoClient {
                    channel,
                    messages: msgs,
                    next: 0,
                    done: Some(tx),
                })
                .await
                .ok()?;
            let run = tokio::spawn(conn.run());
            let ok = rx.await.ok()?;
            let _ = run.await;
            Some(ok)
        }
        .await;
        if ok == Some(true) {
            counts.ws_conns.fetch_add(1, Relaxed);
            counts.ws_msgs.fetch_add(50, Relaxed);
        } else {
            counts.errors.fetch_add(1, Relaxed);
        }
    }
}

// ---- WAMP --------------------------------------------------------------------------

/// Answers HELLO, CALL (echoing the arguments) and GOODBYE.
struct Dealer {
    channel: WebSocketChannel,
    session: u64,
}

impl WebSocketServerHandler for Dealer {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        if request.protocols.iter().any(|p| p == "wamp.2.json") {
            Ok(ConnectionAccept::with_subprotocol("wamp.2.json".to_owned()))
        } else {
            Err(ConnectionDeny::new(400, Some("wamp.2.json only")))
        }
    }
}

impl WebSocketHandler for Dealer {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let s = for_subprotocol("wamp.2.json").expect("json");
        let Ok(msgs) = s.unserialize(&payload, is_binary) else {
            return self.channel.drop_connection();
        };
        for m in msgs {
            let reply: Message = match m {
                Message::Hello(_) => {
                    let mut roles = Dict::new();
                    roles.insert("dealer".into(), Value::Dict(Dict::new()));
                    let mut details = Dict::new();
                    details.insert("roles".into(), Value::Dict(roles));
                    Welcome {
                        session: self.session,
                        details,
                    }
                    .into()
                }
                Message::Call(c) => ResultMessage {
                    request: c.request,
                    details: Dict::new(),
                    args: c.args,
                    kwargs: c.kwargs,
                }
                .into(),
                Message::Goodbye(_) => Goodbye {
                    details: Dict::new(),
                    reason: "wamp.close.goodbye_and_out".into(),
                }
                .into(),
                _ => continue,
            };
            let bytes = s.serialize(&reply).expect("serialize");
            let _ = self.channel.send_message(bytes, false).await;
        }
    }
}

/// Makes 50 calls, checks each echo, leaves.
struct Caller {
    counts: Arc<Counts>,
}

impl ApplicationSession for Caller {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        for i in 0..50i64 {
            let args = vec![
                Value::from(i),
                Value::from("x".repeat((i as usize * 97) % 2048)),
            ];
            match session
                .call(
                    "soak.echo",
                    args.clone(),
                    Dict::new(),
                    CallOptions::default(),
                )
                .await
            {
                Ok(r) if r.args == args => {
                    self.counts.wamp_calls.fetch_add(1, Relaxed);
                }
                _ => {
                    self.counts.errors.fetch_add(1, Relaxed);
                }
            }
        }
        let _ = session.leave(None, None).await;
    }
}

async fn wamp_worker(url: String, counts: Arc<Counts>, deadline: Instant) {
    while Instant::now() < deadline {
        let runner = ApplicationRunner::new(url.clone(), "realm1").serializers(["json"]);
        let c = counts.clone();
        match runner.run_once(move |_| Caller { counts: c }).await {
            Ok(o) if o.joined => {
                counts.wamp_sessions.fetch_add(1, Relaxed);
            }
            _ => {
                counts.errors.fetch_add(1, Relaxed);
            }
        }
    }
}

fn main() {
    let secs = env("SOAK_SECS", 60);
    let report = Duration::from_secs(env("SOAK_REPORT_SECS", 10).max(1));
    let (n_ws, n_wamp) = (env("SOAK_WS", 4), env("SOAK_WAMP", 4));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let failed = rt.block_on(async move {
        let echo = WebSocketServerFactory::new("ws://127.0.0.1");
        let listener = echo.listen("127.0.0.1:0").await.expect("bind");
        let echo_url = format!("ws://{}/", listener.local_addr().expect("addr"));
        tokio::spawn(async move { echo.serve(listener, |channel| Echo { channel }).await });
        let dealer = WebSocketServerFactory::new("ws://127.0.0.1");
        let listener = dealer.listen("127.0.0.1:0").await.expect("bind");
        let wamp_url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let sessions = Arc::new(AtomicU64::new(0));
        tokio::spawn(async move {
            dealer
                .serve(listener, move |channel| Dealer {
                    channel,
                    session: sessions.fetch_add(1, Relaxed) + 1,
                })
                .await
        });

        let counts = Arc::new(Counts::default());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let heap_before = LIVE.load(Relaxed);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        println!(
            "soak: {secs} s, {n_ws} echo + {n_wamp} WAMP workers; RSS {} KiB, heap {} KiB at start",
            rss_kib(),
            heap_before / 1024
        );
        println!("     s  ws-conns   ws-msgs  wamp-sess wamp-calls errors   RSS KiB  heap KiB");
        let mut workers = Vec::new();
        for i in 0..n_ws {
            workers.push(tokio::spawn(ws_worker(echo_url.clone(), counts.clone(), deadline, i)));
        }
        for _ in 0..n_wamp {
            workers.push(tokio::spawn(wamp_worker(wamp_url.clone(), counts.clone(), deadline)));
        }
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + report, report);
        let mut rss_first = None;
        while Instant::now() < deadline {
            ticker.tick().await;
            rss_first.get_or_insert_with(rss_kib);
            println!(
                "{:>6} {:>9} {:>9} {:>10} {:>10} {:>6} {:>9} {:>9}",
                start.elapsed().as_secs(),
                counts.ws_conns.load(Relaxed),
                counts.ws_msgs.load(Relaxed),
                counts.wamp_sessions.load(Relaxed),
                counts.wamp_calls.load(Relaxed),
                counts.errors.load(Relaxed),
                rss_kib(),
                LIVE.load(Relaxed) / 1024
            );
        }
        for w in workers {
            let _ = w.await;
        }
        // The servers' connection tasks finish their closing handshakes after the
        // clients return: wait (at most 10 s) for the heap to come back.
        let settled = Instant::now() + Duration::from_secs(10);
        while LIVE.load(Relaxed) > heap_before + (1 << 20) && Instant::now() < settled {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let heap_after = LIVE.load(Relaxed);
        let rss_end = rss_kib();
        // "RSS flat": the end within twice the first report's (allocator slack).
        let rss_grew = rss_first.is_some_and(|first| rss_end > 2 * first);
        let errors = counts.errors.load(Relaxed);
        println!(
            "soak done: heap {} KiB before the workers, {} KiB after (Δ {} KiB), RSS {} KiB, errors {errors}",
            heap_before / 1024,
            heap_after / 1024,
            (heap_after as i64 - heap_before as i64) / 1024,
            rss_kib()
        );
        errors > 0 || heap_after > heap_before + (1 << 20) || rss_grew
    });
    if failed {
        eprintln!(
            "soak: FAILED (errors, heap not back after all connections closed, or RSS \
             more than doubled since the first report)"
        );
        std::process::exit(1);
    }
}
