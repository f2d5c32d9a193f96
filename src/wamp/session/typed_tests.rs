use serde::{Deserialize, Serialize};

use super::*;
use crate::{dict, list};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Limits {
    max: i64,
    #[serde(default)]
    strict: bool,
}

#[test]
fn args_encode_as_elements_none_or_one() {
    assert_eq!(encode_args(&(1, "two")).unwrap(), list![1, "two"]);
    assert_eq!(encode_args(&("one",)).unwrap(), list!["one"]);
    assert_eq!(encode_args(&()).unwrap(), list![]);
    assert_eq!(encode_args(&None::<i64>).unwrap(), list![]);
    assert_eq!(encode_args(&vec![1, 2, 3]).unwrap(), list![1, 2, 3]);
    // Not a sequence: one argument.
    assert_eq!(encode_args(&7).unwrap(), list![7]);
}

#[test]
fn kwargs_encode_as_map_or_nothing() {
    let limits = Limits {
        max: 5,
        strict: true,
    };
    assert_eq!(
        encode_kwargs(&limits).unwrap(),
        dict! { "max" => 5, "strict" => true }
    );
    assert_eq!(encode_kwargs(&()).unwrap(), Dict::new());
    let err = encode_kwargs(&(1, 2)).unwrap_err();
    assert!(err.0.contains("must serialize to a map"), "{err}");
    assert!(encode_kwargs(&42).is_err());
}

#[test]
fn args_decode_into_tuples_of_matching_length() {
    let (a, b): (i64, String) = decode_args(list![1, "x"]).unwrap();
    assert_eq!((a, b.as_str()), (1, "x"));
    let err = decode_args::<(i64, i64)>(list![1]).unwrap_err();
    assert!(err.0.starts_with("positional arguments: "), "{err}");
    assert!(decode_args::<(i64,)>(list![1, 2]).is_err(), "extra element");
    assert!(decode_args::<(i64,)>(list!["one"]).is_err(), "wrong type");
}

#[test]
fn nothing_decodes_into_unit_and_unit_only_from_nothing() {
    decode_args::<()>(list![]).unwrap();
    decode_kwargs::<()>(Dict::new()).unwrap();
    assert!(decode_args::<()>(list![1]).is_err());
    assert!(decode_kwargs::<()>(dict! { "a" => 1 }).is_err());
    // Anything is accepted when ignored.
    decode_kwargs::<serde::de::IgnoredAny>(dict! { "a" => 1 }).unwrap();
    decode_args::<serde::de::IgnoredAny>(list![1, 2]).unwrap();
}

#[test]
fn kwargs_decode_into_structs_with_defaults() {
    let k: Limits = decode_kwargs(dict! { "max" => 3 }).unwrap();
    assert_eq!(
        k,
        Limits {
            max: 3,
            strict: false
        }
    );
    let err = decode_kwargs::<Limits>(Dict::new()).unwrap_err();
    assert!(err.0.starts_with("keyword arguments: "), "{err}");
    assert!(err.0.contains("max"), "names the missing field: {err}");
}

#[test]
fn results_are_one_value_or_none() {
    assert_eq!(encode_result(&42).unwrap().args, list![42]);
    assert_eq!(encode_result(&()).unwrap(), CallResult::new());
    // A tuple or list stays one value, so a caller decodes it back whole.
    let pair = encode_result(&(1, 2)).unwrap();
    assert_eq!(pair.args, vec![Value::List(list![1, 2])]);
    assert_eq!(pair.deserialize::<(i64, i64)>().unwrap(), (1, 2));
    let one = encode_result(&vec![9]).unwrap();
    assert_eq!(one.deserialize::<Vec<i64>>().unwrap(), vec![9]);
}

#[test]
fn typed_error_converts_both_ways() {
    let limits = Limits {
        max: 5,
        strict: true,
    };
    let raised = TypedError::new("com.example.too_big", (7, "seven"), limits.clone());
    let wire = ApplicationError::from(raised.clone());
    assert_eq!(wire.error, "com.example.too_big");
    assert_eq!(wire.args, list![7, "seven"]);
    assert_eq!(wire.kwargs, dict! { "max" => 5, "strict" => true });

    let back = TypedError::<(i64, String), Limits>::try_from(wire).unwrap();
    assert_eq!(back.uri, raised.uri);
    assert_eq!(back.args, (7, "seven".to_owned()));
    assert_eq!(back.kwargs, limits);
}

#[test]
fn undecodable_error_is_handed_back_with_the_reason() {
    let wire = ApplicationError::with_message("com.example.oops", "text, not a number");
    let err = TypedError::<(i64,)>::try_from(wire.clone()).unwrap_err();
    assert_eq!(err.error, wire);
    assert!(err.source.0.starts_with("positional arguments"), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn typed_error_from_session_errors() {
    let app = Error::Application(ApplicationError::new("com.example.plain"));
    let typed = TypedError::<(), ()>::from_error(&app).unwrap().unwrap();
    assert_eq!(typed.uri, "com.example.plain");
    assert_eq!(TypedError::<(), ()>::from_error(&Error::Timeout), Ok(None));
}

#[test]
fn unserializable_error_payload_keeps_its_uri() {
    // A number cannot be keyword arguments.
    let wire = ApplicationError::from(TypedError::new("com.example.bad", (1,), 42));
    assert_eq!(wire.error, "com.example.bad");
    assert!(
        wire.message()
            .is_some_and(|m| m.contains("did not serialize")),
        "{wire:?}"
    );
    assert_eq!(wire.args.len(), 1, "only the message: {wire:?}");
    assert!(wire.kwargs.is_empty());
}

#[test]
fn invalid_argument_names_the_uri() {
    let e = invalid_argument(
        "com.example.add2",
        ValueError("positional arguments: x".into()),
    );
    assert!(e.is(ApplicationError::INVALID_ARGUMENT));
    assert_eq!(
        e.message(),
        Some("com.example.add2: positional arguments: x")
    );
}
