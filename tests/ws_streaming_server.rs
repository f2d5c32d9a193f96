//! The streaming example's server (`examples/streaming_server.rs`) in its three modes,
//! against Python `websockets` as the client: 1 GiB in 1 MiB fragments and 256 MiB in one
//! frame, each answered with its SHA-256, while the server's peak memory stays under
//! 64 MiB; compressed messages too. The frame-based server holds one frame at a time, so
//! it gets the fragmented message only.

#[path = "common_example/mod.rs"]
mod common_example;
#[allow(dead_code)] // the echo tests' limits and line reader
#[path = "interop/python.rs"]
mod python;

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::timeout;

use common_example::ExampleServer;
use python::{python_script, stderr_of};

/// Generous: 1.3 GiB through a debug build on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(600);
/// The server's peak resident memory must stay below this.
const PEAK_LIMIT: u64 = 64 << 20;

const GIB_IN_MIB_FRAGMENTS: &str = "fragments:1024:1048576";
const MIB256_IN_ONE_FRAME: &str = "frame:268435456";

/// Runs the Python client against `server` with `specs`; every message's digest must
/// match. Returns the client's `OK` lines.
async fn send_all(server: &ExampleServer, compression: &str, specs: &[&str]) -> Vec<String> {
    let mut args = vec![format!("ws://{}/", server.addr), compression.to_string()];
    args.extend(specs.iter().map(|s| s.to_string()));
    let mut child = python_script("py_stream_client.py", &args)
        .spawn()
        .expect("start the Python client");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut oks = Vec::new();
    let status = timeout(DEADLINE, async {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("client: {line}");
            oks.push(line);
        }
        child.wait().await.expect("wait")
    })
    .await
    .expect("the client finishes in time");
    assert!(
        status.success(),
        "the Python client failed ({status}): {}",
        stderr_of(&mut child).await
    );
    assert_eq!(oks.len(), specs.len(), "a digest per message: {oks:?}");
    oks
}

fn assert_peak_bounded(server: &ExampleServer, what: &str) {
    let peak = server.memory_bytes("VmHWM");
    eprintln!("{what}: server peak {} KiB", peak >> 10);
    assert!(
        peak < PEAK_LIMIT,
        "{what}: the server's peak was {} MiB",
        peak >> 20
    );
}

async fn streams_a_gib_and_a_256_mib_frame(mode: &[&str], what: &str) {
    let mut args = vec!["127.0.0.1:0"];
    args.extend(mode);
    let server = ExampleServer::start("streaming_server", &args, DEADLINE).await;
    send_all(
        &server,
        "plain",
        &[GIB_IN_MIB_FRAGMENTS, MIB256_IN_ONE_FRAME],
    )
    .await;
    // Compressed: inflated piece by piece (python compresses 1 MiB fragments and a
    // 64 MiB frame).
    send_all(
        &server,
        "deflate",
        &["fragments:128:1048576", "frame:67108864"],
    )
    .await;
    assert_peak_bounded(&server, what);
}

#[tokio::test]
async fn the_streaming_hooks_hash_a_gib_in_bounded_memory() {
    streams_a_gib_and_a_256_mib_frame(&[], "streaming hooks").await;
}

#[tokio::test]
async fn the_pull_api_reader_hashes_a_gib_in_bounded_memory() {
    streams_a_gib_and_a_256_mib_frame(&["--pull"], "pull reader").await;
}

#[tokio::test]
async fn the_frame_based_hooks_hash_a_gib_of_fragments_in_bounded_memory() {
    let server =
        ExampleServer::start("streaming_server", &["127.0.0.1:0", "--frames"], DEADLINE).await;
    send_all(&server, "plain", &[GIB_IN_MIB_FRAGMENTS]).await;
    send_all(&server, "deflate", &["fragments:128:1048576"]).await;
    assert_peak_bounded(&server, "frame-based hooks");
}
