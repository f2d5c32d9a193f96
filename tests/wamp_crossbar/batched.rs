//! The batched WebSocket subprotocols (`wamp.2.<serializer>.batched`), which Crossbar.io
//! offers for every serializer: a session joins, calls a meta procedure, and gets its own
//! event back with every value type (bytes, integer extremes, unicode) intact.

use autobahn::list;
use autobahn::wamp::session::SessionEvent;
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{
    ComponentConfig, Dict, HelloDetails, PublishOptions, Session, SubscribeOptions,
};

use super::checks::{call, rich_args, rich_kwargs};
use super::crossbar::{unique_uri, Crossbar, REALM};
use super::support::{next_event, within};

/// Joins over `wamp.2.<serializer>.batched` and checks a meta call and a round trip
/// through the broker.
pub async fn join_call_and_echo(cb: &Crossbar, serializer: &str) {
    let proto = format!("wamp.2.{serializer}.batched");
    let config = WebSocketTransportConfig::with_subprotocols([proto.clone()]);
    let t = within(
        "WebSocket connect",
        WebSocketTransport::connect(&cb.ws_url, &config),
    )
    .await
    .unwrap_or_else(|e| panic!("{proto}: {e}"));
    assert_eq!(t.subprotocol(), proto, "negotiated subprotocol");
    let (s, mut life) = Session::start(t, ComponentConfig::new(REALM));
    within("join", s.join(HelloDetails::new(REALM)))
        .await
        .expect("HELLO queued");
    let me = match next_event(&mut life, "WELCOME").await {
        SessionEvent::Joined(d) => d.session,
        other => panic!("{proto}: expected Joined, got {other:?}"),
    };

    let r = call(&s, "wamp.session.get", list![me], Dict::new())
        .await
        .unwrap_or_else(|e| panic!("{proto}: wamp.session.get: {e}"));
    assert_eq!(r.args[0]["session"].as_u64(), Some(me), "{proto}");

    let topic = unique_uri("com.example.batched");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = within(
        "subscribe",
        s.subscribe(
            &topic,
            move |args, kwargs, _details| {
                let _ = tx.send((args, kwargs));
                async { Ok(()) }
            },
            SubscribeOptions::default(),
        ),
    )
    .await
    .expect("subscribe");
    let options = PublishOptions {
        acknowledge: true,
        exclude_me: Some(false),
        ..PublishOptions::default()
    };
    within(
        "publish",
        s.publish(&topic, rich_args(), rich_kwargs(), options),
    )
    .await
    .unwrap_or_else(|e| panic!("{proto}: publish: {e}"));
    let (args, kwargs) = within("own event", rx.recv()).await.expect("event");
    assert_eq!(args, rich_args(), "{proto}: event args");
    assert_eq!(kwargs, rich_kwargs(), "{proto}: event kwargs");

    within("leave", s.leave(None, None))
        .await
        .unwrap_or_else(|e| panic!("{proto}: leave: {e}"));
    within("disconnect", s.disconnect()).await;
}
