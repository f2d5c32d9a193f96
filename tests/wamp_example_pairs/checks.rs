//! What each WAMP example pair's frontend (and, where it is part of the example, its
//! backend) must print: the same checks for the Rust pairs and their JavaScript counterparts.

use super::proc::{Proc, BACKEND_LIMIT};

/// The time, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rpc_timeservice(lines: &[String], _backend: &mut Proc) {
    let now = after(lines, "Current time from time service: ");
    assert_eq!(now.len(), 1, "{lines:?}");
    // YYYY-MM-DDTHH:MM:SSZ
    let shape: String = now[0]
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{}", now[0]);
}

/// Five events with their positional and keyword payloads, in order, and heartbeats.
pub fn pubsub_complex(lines: &[String], _backend: &mut Proc) {
    let events = after(lines, "Got event: ");
    assert_eq!(events.len(), 5, "{lines:?}");
    let mut counters = Vec::new();
    for e in &events {
        // `<0..100> "Hello, world!" c="Hello" d=Counter { counter: N, foo: [1, 2, 3] }`
        let (number, rest) = e.split_once(' ').expect("a space");
        let n: u32 = number.parse().expect("a number");
        assert!(n < 100, "{e}");
        let counter = rest
            .strip_prefix(r#""Hello, world!" c="Hello" d=Counter { counter: "#)
            .and_then(|r| r.strip_suffix(", foo: [1, 2, 3] }"))
            .unwrap_or_else(|| panic!("unexpected event line {e:?}"));
        counters.push(counter.parse::<i64>().expect("a counter"));
    }
    assert!(
        counters.windows(2).all(|w| w[1] == w[0] + 1),
        "{counters:?}"
    );
    let beats = after(lines, "Got heartbeat (publication ID ");
    assert!(!beats.is_empty(), "no heartbeat: {lines:?}");
    for b in beats {
        let id = b.strip_suffix(')').expect("closing parenthesis");
        assert!(id.parse::<u64>().is_ok(), "{b}");
    }
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Received 5 events, leaving")
    );
}

/// Five events with the publisher disclosed; the backend got acknowledgements and its own events.
pub fn pubsub_options(lines: &[String], backend: &mut Proc) {
    // `Got event, publication ID P, publisher S: N`: the publisher is disclosed.
    let events = after(lines, "Got event, publication ID ");
    assert_eq!(events.len(), 5, "{lines:?}");
    let mut publishers = Vec::new();
    let mut publications = Vec::new();
    for e in &events {
        let (publication, rest) = e.split_once(", publisher ").expect("publisher");
        let (publisher, _value) = rest.split_once(": ").expect("value");
        publications.push(publication.parse::<u64>().expect("publication ID"));
        publishers.push(publisher.parse::<u64>().expect("publisher session ID"));
    }
    assert!(
        publishers.windows(2).all(|w| w[0] == w[1]),
        "{publishers:?}"
    );
    // The backend got its publication IDs from acknowledgements, and (exclude_me: false)
    // received its own events.
    let acked = |out: &[String]| -> Vec<u64> {
        ints(&after(out, "Event published with publication ID "))
            .into_iter()
            .map(|i| i as u64)
            .collect()
    };
    backend.drain_until(BACKEND_LIMIT, |out| {
        let acked = acked(out);
        publications.iter().all(|p| acked.contains(p)) && after(out, "Got event: ").len() >= 5
    });
}

/// Two runs of five events with a gap between them, where the frontend was unsubscribed.
pub fn pubsub_unsubscribe(lines: &[String], _backend: &mut Proc) {
    let subscribed = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("Subscribed with subscription ID "))
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    assert_eq!(subscribed.len(), 2, "{lines:?}");
    let paused = index_of(lines, |l| l == "Unsubscribed .. continue in 2s ..");
    assert!(
        subscribed[0] < paused && paused < subscribed[1],
        "{lines:?}"
    );
    let first = ints(&after(&lines[subscribed[0]..paused], "Got event: "));
    // The handler may print the new subscription's first event before `subscribe`
    // returns and the frontend prints "Subscribed": count from the pause.
    let second = ints(&after(&lines[paused..], "Got event: "));
    assert!(first.len() >= 5 && second.len() >= 5, "{lines:?}");
    // Publishing went on during the 2 s pause (every 0.5 s): those events were missed
    // (an event delivered while unsubscribed would close the gap).
    let (last, next) = (first[first.len() - 1], second[0]);
    assert!(
        next >= last + 3,
        "no gap between {last} and {next}: {lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Received 10 events, leaving")
    );
}

/// Both calls in flight at once: the quick one returned first.
pub fn rpc_slowsquare(lines: &[String], _backend: &mut Proc) {
    let quick = index_of(lines, |l| l.starts_with("Quick Square: 9 in "));
    let slow = index_of(lines, |l| l.starts_with("Slow Square: 9 in "));
    // Both calls were in flight together: the quick one came back first.
    assert!(quick < slow, "{lines:?}");
    let ms = |l: &str| -> u64 {
        let tail = l.rsplit_once(" in ").expect("duration").1;
        tail.strip_suffix(" ms")
            .expect("ms")
            .parse()
            .expect("a number")
    };
    let (quick_ms, slow_ms) = (ms(&lines[quick]), ms(&lines[slow]));
    assert!(slow_ms >= 1000, "{lines:?}");
    assert!(quick_ms < slow_ms, "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("All finished."));
}

/// The keyword result and the two positional results, exactly.
pub fn rpc_complex(lines: &[String], _backend: &mut Proc) {
    assert_eq!(
        lines,
        ["Result: 6 + 8i", "Forename: Homer, Surname: Simpson"]
    );
}

/// Every error URI with its arguments, exactly.
pub fn rpc_errors(lines: &[String], _backend: &mut Proc) {
    let length = r#"Error: com.myapp.error.invalid_length args=[] kwargs={"max": 10, "min": 3}"#;
    assert_eq!(
        lines,
        [
            "Result: 1.4142135623730951",
            "Error: wamp.error.runtime_error: don't ask foolish questions ;)",
            "Error: wamp.error.runtime_error: math domain error",
            "Error: com.myapp.error.reserved args=[] kwargs={}",
            length,
            length,
            r#"Error: com.myapp.error.mixed_case args=["hello", "HELLO"] kwargs={}"#,
            "Compare Error: AppError1(14)",
        ]
    );
}

/// The progressive results and the final ones, exactly.
pub fn rpc_progress(lines: &[String], _backend: &mut Proc) {
    assert_eq!(
        lines,
        [
            "Progress: 0",
            "Progress: 1",
            "Progress: 2",
            "Final: 3",
            "Stream progress: 0",
            "Stream progress: 1",
            "Stream final: 2",
        ]
    );
}

/// The squares, the one event the caller was not excluded from, the caller disclosed.
pub fn rpc_options(lines: &[String], backend: &mut Proc) {
    for want in ["Squared 2 = 4", "Squared 0 = 0", "Squared -2 = 4"] {
        assert!(lines.iter().any(|l| l == want), "no {want:?}: {lines:?}");
    }
    // Told about -2, not about 0 (the caller was excluded from that one).
    let events = after(lines, "Someone requested to square non-positive: ");
    assert_eq!(events, ["-2"], "{lines:?}");
    // The dealer disclosed the caller to the callee, for each of the three calls.
    let out = backend.drain_until(BACKEND_LIMIT, |out| {
        after(out, "square called from: ").len() >= 3
    });
    let callers = after(out, "square called from: ");
    assert_eq!(callers.len(), 3, "{out:?}");
    for c in callers {
        assert!(c.parse::<u64>().is_ok(), "caller not disclosed: {out:?}");
    }
}

/// Five consecutive events, which the backend published.
pub fn pubsub_basic(lines: &[String], backend: &mut Proc) {
    let counters = ints(&after(lines, "Got event: "));
    assert_eq!(counters.len(), 5, "{lines:?}");
    assert!(
        counters.windows(2).all(|w| w[1] == w[0] + 1),
        "events out of order or missing: {counters:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Received 5 events, leaving")
    );
    // The backend published what the frontend received.
    let last = format!("Published event {}", counters[4]);
    backend.drain_until(BACKEND_LIMIT, |out| out.contains(&last));
}

/// Every result, exactly.
pub fn rpc_arguments(lines: &[String], _backend: &mut Proc) {
    let products = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("\"Product {i}\"")).collect();
        format!("[{}]", names.join(", "))
    };
    let want = [
        "Pinged!".to_owned(),
        "Add2: 5".into(),
        "Starred 1: somebody starred 0x".into(),
        "Starred 2: Homer starred 0x".into(),
        "Starred 3: somebody starred 5x".into(),
        "Starred 4: Homer starred 5x".into(),
        format!("Orders 1: {}", products(5)),
        format!("Orders 2: {}", products(10)),
        "Arglen 1: [0, 0]".into(),
        "Arglen 2: [3, 0]".into(),
        "Arglen 3: [0, 3]".into(),
        "Arglen 4: [3, 3]".into(),
    ];
    assert_eq!(lines, want);
}

/// The lines starting with `prefix`, with the prefix removed.
fn after<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect()
}

fn index_of(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines
        .iter()
        .position(|l| pred(l))
        .unwrap_or_else(|| panic!("no matching line in {lines:#?}"))
}

fn ints(values: &[&str]) -> Vec<i64> {
    values
        .iter()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("not an integer: {v:?}"))
        })
        .collect()
}
