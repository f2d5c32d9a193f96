//! Cancellation, call timeouts and message size limits against the real router.

use std::time::{Duration, Instant};

use autobahn::list;
use autobahn::wamp::{
    ApplicationError, CallOptions, CancelMode, Dict, Error, PublishOptions, Session, Value,
};
use serde_json::json;

use super::checks::{call, Checklist};
use super::crossbar::Peer;
use super::support::{within, RS_MAX_LEN_EXP, STEP};

/// Cancelling a call to the Python callee's `slow` (mode `kill`) interrupts it there and
/// fails the call with `Canceled`; a call whose `CallOptions::timeout` expires fails with
/// `Timeout` and the callee is interrupted too (CANCEL `killnowait`; 1 s leaves the
/// callee time to start the invocation on a loaded machine). Crossbar reads the
/// `timeout` option in seconds, so only our local deadline fires here.
pub async fn cancel_and_timeout(s: &Session, slow: &str, callee: &mut Peer, done: &mut Checklist) {
    let pending = within(
        "start_call",
        s.start_call(slow, list![30], Dict::new(), CallOptions::default()),
    )
    .await;
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["procedure"], json!(slow));
    assert!(pending.request_id() > 0);
    within("cancel", pending.cancel(CancelMode::Kill))
        .await
        .expect("CANCEL sent");
    match within("canceled call", pending).await {
        Err(Error::Canceled) => {}
        other => panic!("expected Canceled, got {other:?}"),
    }
    assert_eq!(
        callee.wait_for_json_async(STEP, "cancelled").await,
        json!(slow)
    );
    done.pass("cancel (kill)");

    let t = Instant::now();
    let options = CallOptions {
        timeout: Some(Duration::from_secs(1)),
        ..CallOptions::default()
    };
    match within("timed call", s.call(slow, list![30], Dict::new(), options)).await {
        Err(Error::Timeout) => {}
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(
        callee.wait_for_json_async(STEP, "cancelled").await,
        json!(slow)
    );
    done.pass("call timeout");
}

/// RawSocket, outgoing: a call and a publish (acknowledged or not) larger than the router's
/// limit fail at once with a transport error naming the limit. Incoming: a result larger
/// than the limit we announced ([`RS_MAX_LEN_EXP`]) is not sent by the router, which
/// answers `wamp.error.invalid_argument` instead. The session keeps working after both.
pub async fn oversized(
    s: &Session,
    serializer: &str,
    peer_max_len: u32,
    echo: &str,
    add2: &str,
    topic: &str,
    done: &mut Checklist,
) {
    assert!(peer_max_len >= 512, "router limit {peer_max_len}");
    // Just over the limit once serialized: JSON's base64 makes 4 characters of 3 bytes
    // (and serializing 16 MiB to JSON takes seconds in a debug build).
    let limit = peer_max_len as usize;
    let len = if serializer == "json" {
        limit / 4 * 3 + 3
    } else {
        limit + 1
    };
    let big = || list![Value::bytes(vec![0x5a; len])];
    match call(s, echo, big(), Dict::new()).await {
        Err(Error::Transport(text)) => {
            assert!(
                text.contains("exceeds") && text.contains(&peer_max_len.to_string()),
                "{text}"
            );
        }
        other => panic!("oversized call: expected a transport error, got {other:?}"),
    }
    let ack = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    match within("big publish", s.publish(topic, big(), Dict::new(), ack)).await {
        Err(Error::Transport(text)) => assert!(text.contains("exceeds"), "{text}"),
        other => panic!("oversized publish: expected a transport error, got {other:?}"),
    }
    // Without acknowledge too: the caller learns the event was not sent.
    match within(
        "big unacknowledged publish",
        s.publish(topic, big(), Dict::new(), PublishOptions::default()),
    )
    .await
    {
        Err(Error::Transport(text)) => assert!(text.contains("exceeds"), "{text}"),
        other => panic!(
            "oversized publish without acknowledge: expected a transport error, got {other:?}"
        ),
    }
    assert!(s.is_connected() && s.is_attached());
    let r = call(s, add2, list![40, 2], Dict::new())
        .await
        .expect("add2 after");
    assert_eq!(r.args, list![42]);
    done.pass("oversized send→error");

    let ours = 1usize << RS_MAX_LEN_EXP;
    // Fits the router's limit going out, but the echoed RESULT does not fit ours.
    match call(s, echo, list![Value::bytes(vec![1u8; ours])], Dict::new()).await {
        Err(Error::Application(e)) => {
            assert_eq!(e.error, ApplicationError::INVALID_ARGUMENT);
            assert!(
                e.message().is_some_and(|m| m.contains(&ours.to_string())),
                "{e:?}"
            );
        }
        other => panic!("too big a result: expected invalid_argument, got {other:?}"),
    }
    let r = call(s, add2, list![1, 2], Dict::new())
        .await
        .expect("add2 after");
    assert_eq!(r.args, list![3]);
    done.pass("our max_len honoured");
}
