//! The example's processes.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::net::TcpStream;

use super::common::bounded;
use super::{echo, exchange, random_bytes, target};

#[path = "../common_example/binary.rs"]
mod binary;

fn example_binary() -> PathBuf {
    binary::example_binary("tunnel")
}

/// A running example; killed when dropped. Its stdout lines come one by one.
struct Example {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Example {
    fn start(args: &[&str]) -> Example {
        let mut child = tokio::process::Command::new(example_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("stdout");
        Example {
            _child: child,
            lines: tokio::io::BufReader::new(stdout).lines(),
        }
    }

    /// The rest of the first line that starts with `prefix`.
    async fn line_after(&mut self, prefix: &str) -> String {
        loop {
            let line = bounded(self.lines.next_line()).await.expect("stdout");
            let line = line.unwrap_or_else(|| panic!("the example exited before `{prefix}`"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }
}

#[tokio::test]
async fn the_example_forwards_a_half_closed_exchange_between_its_processes() {
    let (echo_addr, _echo) = target(echo).await;
    let mut server = Example::start(&["server", "127.0.0.1:0", &echo_addr.to_string()]);
    let cert = server.line_after("certificate ").await;
    let ws_addr = server.line_after("listening on ").await;
    let url = format!("wss://{ws_addr}");
    let mut client = Example::start(&["client", "127.0.0.1:0", &url, "--ca", &cert]);
    let local = client.line_after("listening on ").await;

    let sent = random_bytes(1 << 20, 11);
    let tcp = TcpStream::connect(&local).await.expect("connect");
    let echoed = bounded(exchange(tcp, &sent)).await;
    assert!(
        echoed == sent,
        "echoed {} of {} bytes",
        echoed.len(),
        sent.len()
    );
    // Each side reports the connection once both directions have ended.
    let n = sent.len();
    let client_report = client.line_after("[client]").await;
    assert!(
        client_report.ends_with(&format!("{n} bytes up, {n} bytes down")),
        "{client_report}"
    );
    let server_report = server.line_after("[server]").await;
    assert!(
        server_report.ends_with(&format!("{n} bytes up, {n} bytes down")),
        "{server_report}"
    );
    let _ = std::fs::remove_file(cert);
}

#[tokio::test]
async fn the_example_demo_exits_0() {
    let status = bounded(
        tokio::process::Command::new(example_binary())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await
    .expect("run the demo");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn an_example_client_without_the_servers_certificate_is_refused() {
    let (echo_addr, _echo) = target(echo).await;
    let mut server = Example::start(&["server", "127.0.0.1:0", &echo_addr.to_string()]);
    let cert = server.line_after("certificate ").await;
    let ws_addr = server.line_after("listening on ").await;
    // Trusting only the public web roots: the TLS handshake fails, the local connection
    // is dropped.
    let mut client = Example::start(&["client", "127.0.0.1:0", &format!("wss://{ws_addr}")]);
    let local = client.line_after("listening on ").await;
    let mut tcp = TcpStream::connect(&local).await.expect("connect");
    let mut received = Vec::new();
    // End of file or a reset, depending on timing: nothing comes through either way.
    let _ = bounded(tcp.read_to_end(&mut received)).await;
    assert!(
        received.is_empty(),
        "{} bytes through an untrusted tunnel",
        received.len()
    );
    let _ = std::fs::remove_file(cert);
}
