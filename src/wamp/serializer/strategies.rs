//! proptest strategies for values and messages, shared by the serializer
//! tests (test builds only).

use proptest::prelude::*;

use crate::wamp::message::*;
use crate::wamp::value::{Dict, Value};

pub(crate) fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{1,8}", any::<String>(),]
}

/// A leading NUL marks binary in JSON, so such strings are not sendable.
fn arb_text() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("no leading NUL", |s| !s.starts_with('\0'))
}

pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInteger),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float),
        arb_text().prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_map(arb_key(), inner, 0..6).prop_map(Value::Dict),
        ]
    })
}

fn arb_dict() -> impl Strategy<Value = Dict> {
    prop::collection::btree_map(arb_key(), arb_value(), 0..4)
}

fn arb_id() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(1u64 << 53), 0..=(1u64 << 53)]
}

fn arb_uri() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}(\\.[a-zA-Z0-9_\\-]{1,6}){0,4}"
}

fn arb_args() -> impl Strategy<Value = Option<Vec<Value>>> {
    prop::option::of(prop::collection::vec(arb_value(), 0..4))
}

fn arb_kwargs() -> impl Strategy<Value = Option<Dict>> {
    prop::option::of(arb_dict())
}

pub(crate) fn arb_message() -> impl Strategy<Value = Message> {
    let error_types = prop::sample::select(
        MessageType::ALL
            .into_iter()
            .filter(|t| t.is_error_request_type())
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (arb_uri(), arb_dict()).prop_map(|(realm, details)| Hello { realm, details }.into()),
        (arb_id(), arb_dict()).prop_map(|(session, details)| Welcome { session, details }.into()),
        (arb_dict(), arb_uri()).prop_map(|(details, reason)| Abort { details, reason }.into()),
        (arb_text(), arb_dict()).prop_map(|(method, extra)| Challenge { method, extra }.into()),
        (arb_text(), arb_dict())
            .prop_map(|(signature, extra)| Authenticate { signature, extra }.into()),
        (arb_dict(), arb_uri()).prop_map(|(details, reason)| Goodbye { details, reason }.into()),
        (
            error_types,
            arb_id(),
            arb_dict(),
            arb_uri(),
            arb_args(),
            arb_kwargs()
        )
            .prop_map(|(request_type, request, details, error, args, kwargs)| {
                Message::Error(ErrorMessage {
                    request_type,
                    request,
                    details,
                    error,
                    args,
                    kwargs,
                })
            }),
        (arb_id(), arb_dict(), arb_uri(), arb_args(), arb_kwargs()).prop_map(
            |(request, options, topic, args, kwargs)| Publish {
                request,
                options,
                topic,
                args,
                kwargs
            }
            .into()
        ),
        (arb_id(), arb_id()).prop_map(|(request, publication)| Published {
            request,
            publication
        }
        .into()),
        (arb_id(), arb_dict(), arb_uri()).prop_map(|(request, mut options, topic)| {
            options.remove("match");
            Subscribe {
                request,
                options,
                topic,
            }
            .into()
        }),
        (arb_id(), arb_id()).prop_map(|(request, subscription)| Subscribed {
            request,
            subscription
        }
        .into()),
        (arb_id(), arb_id()).prop_map(|(request, subscription)| Unsubscribe {
            request,
            subscription
        }
        .into()),
        (arb_id(), arb_dict())
            .prop_map(|(request, details)| Unsubscribed { request, details }.into()),
        (arb_id(), arb_id(), arb_dict(), arb_args(), arb_kwargs()).prop_map(
            |(subscription, publication, details, args, kwargs)| Event {
                subscription,
                publication,
                details,
                args,
                kwargs
            }
            .into()
        ),
        (arb_id(), arb_dict(), arb_uri(), arb_args(), arb_kwargs()).prop_map(
            |(request, options, procedure, args, kwargs)| Call {
                request,
                options,
                procedure,
                args,
                kwargs
            }
            .into()
        ),
        (arb_id(), arb_dict()).prop_map(|(request, options)| Cancel { request, options }.into()),
        (arb_id(), arb_dict(), arb_args(), arb_kwargs()).prop_map(
            |(request, details, args, kwargs)| ResultMessage {
                request,
                details,
                args,
                kwargs
            }
            .into()
        ),
        (arb_id(), arb_dict(), arb_uri()).prop_map(|(request, mut options, procedure)| {
            options.remove("match");
            Register {
                request,
                options,
                procedure,
            }
            .into()
        }),
        (arb_id(), arb_id()).prop_map(|(request, registration)| Registered {
            request,
            registration
        }
        .into()),
        (arb_id(), arb_id()).prop_map(|(request, registration)| Unregister {
            request,
            registration
        }
        .into()),
        (arb_id(), arb_dict())
            .prop_map(|(request, details)| Unregistered { request, details }.into()),
        (arb_id(), arb_id(), arb_dict(), arb_args(), arb_kwargs()).prop_map(
            |(request, registration, details, args, kwargs)| Invocation {
                request,
                registration,
                details,
                args,
                kwargs
            }
            .into()
        ),
        (arb_id(), arb_dict()).prop_map(|(request, options)| Interrupt { request, options }.into()),
        (arb_id(), arb_dict(), arb_args(), arb_kwargs()).prop_map(
            |(request, options, args, kwargs)| Yield {
                request,
                options,
                args,
                kwargs
            }
            .into()
        ),
    ]
}

/// What a message looks like after the wire: empty kwargs dropped, args
/// present (possibly empty) iff kwargs are, or non-empty on their own.
fn normalize_payload(args: &mut Option<Vec<Value>>, kwargs: &mut Option<Dict>) {
    if kwargs.as_ref().is_some_and(|k| !k.is_empty()) {
        args.get_or_insert_with(Vec::new);
    } else {
        *kwargs = None;
        if args.as_ref().is_some_and(|a| a.is_empty()) {
            *args = None;
        }
    }
}

pub(crate) fn normalize(mut m: Message) -> Message {
    match &mut m {
        Message::Error(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Publish(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Event(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Call(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Result(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Invocation(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        Message::Yield(x) => normalize_payload(&mut x.args, &mut x.kwargs),
        _ => {}
    }
    m
}
