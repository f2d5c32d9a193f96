//! Advanced profile support of the protocol: the roles and features announced in
//! HELLO, the router's unit for call timeouts, and payload transparency.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::wamp::payload::{EncodedPayload, PayloadCodec};
use crate::wamp::types::TimeoutUnit;

/// The roles and features this client announces in HELLO: exactly the advanced
/// profile features it implements.
pub fn client_roles() -> Dict {
    fn role(features: &[&str]) -> Value {
        let f: Dict = features
            .iter()
            .map(|f| ((*f).to_owned(), Value::Bool(true)))
            .collect();
        Value::Dict(crate::dict! {"features" => Value::Dict(f)})
    }
    crate::dict! {
        "caller" => role(&[
            "caller_identification",
            "progressive_call_results",
            "call_canceling",
            "call_timeout",
            "payload_transparency",
            "progressive_call_invocations",
        ]),
        "callee" => role(&[
            "caller_identification",
            "pattern_based_registration",
            "shared_registration",
            "progressive_call_results",
            "registration_revocation",
            "call_canceling",
            "call_timeout",
            "payload_transparency",
            "progressive_call_invocations",
        ]),
        "publisher" => role(&[
            "publisher_identification",
            "subscriber_blackwhite_listing",
            "publisher_exclusion",
            "payload_transparency",
        ]),
        "subscriber" => role(&[
            "publisher_identification",
            "pattern_based_subscription",
            "subscription_revocation",
            "payload_transparency",
        ]),
    }
}

/// A router is Crossbar.io when its WELCOME carries Crossbar's `authextra.x_cb_node`.
pub(super) fn is_crossbar(welcome_details: &Dict) -> bool {
    welcome_details
        .get("authextra")
        .and_then(|a| a.get("x_cb_node"))
        .is_some()
}

impl<T: SessionTypes> Protocol<T> {
    /// Overrides the unit of `CALL.Options.timeout` and `INVOCATION.Details.timeout`
    /// (`None`: detect it, see [`timeout_unit`](Self::timeout_unit)).
    pub fn set_timeout_unit(&mut self, unit: Option<TimeoutUnit>) {
        self.timeout_unit = unit;
    }

    /// The unit the router reads call timeouts in: the override if set, otherwise
    /// [`TimeoutUnit::Seconds`] for Crossbar.io (recognized by its WELCOME) and
    /// [`TimeoutUnit::Milliseconds`] (the spec's) for every other router.
    pub fn timeout_unit(&self) -> TimeoutUnit {
        match (self.timeout_unit, self.router_is_crossbar) {
            (Some(unit), _) => unit,
            (None, true) => TimeoutUnit::Seconds,
            (None, false) => TimeoutUnit::Milliseconds,
        }
    }

    /// Rewrites `CALL.Options.timeout` (milliseconds, from `CallOptions`) into the
    /// router's unit; whole seconds are rounded up so a timeout never becomes 0.
    pub(super) fn timeout_for_router(&self, options: &mut Dict) {
        if self.timeout_unit() != TimeoutUnit::Seconds {
            return;
        }
        if let Some(ms) = options.get("timeout").and_then(Value::as_u64) {
            options.insert("timeout".into(), Value::from_u64(ms.div_ceil(1000)));
        }
    }

    /// `INVOCATION.Details.timeout` as a duration, read in the router's unit.
    pub(super) fn invocation_timeout(&self, details: &Dict) -> Option<Duration> {
        let v = details.get("timeout")?;
        let n = match v {
            Value::Float(x) if x.is_finite() && *x > 0.0 => *x,
            v => v.as_u64().filter(|n| *n > 0)? as f64,
        };
        let secs = match self.timeout_unit() {
            TimeoutUnit::Seconds => n,
            TimeoutUnit::Milliseconds => n / 1000.0,
        };
        Duration::try_from_secs_f64(secs).ok()
    }

    /// Sets (or removes) the payload codec used for payload transparency.
    pub fn set_payload_codec(&mut self, codec: Option<Arc<dyn PayloadCodec>>) {
        self.codec = codec;
    }

    /// Encodes an outgoing payload with the codec, if one is set and encodes it:
    /// returns the arguments to send and adds the payload keys to `dict`.
    pub(super) fn encode_payload(
        &self,
        originating: bool,
        uri: &str,
        args: Vec<Value>,
        kwargs: Dict,
        dict: &mut Dict,
    ) -> Result<(Vec<Value>, Dict), ApplicationError> {
        let Some(codec) = &self.codec else {
            return Ok((args, kwargs));
        };
        match codec.encode(originating, uri, &args, &kwargs)? {
            Some(encoded) => {
                encoded.write_keys(dict);
                Ok((encoded.into_args(), Dict::new()))
            }
            None => Ok((args, kwargs)),
        }
    }

    /// Decodes a received payload with the codec when it is an encoded one; without a
    /// codec it is passed on as it came.
    pub(super) fn decode_payload(
        &self,
        originating: bool,
        uri: &str,
        dict: &Dict,
        args: Vec<Value>,
        kwargs: Dict,
    ) -> Result<(Vec<Value>, Dict), ApplicationError> {
        let Some(codec) = &self.codec else {
            return Ok((args, kwargs));
        };
        match EncodedPayload::from_message(dict, &args, &kwargs) {
            None => Ok((args, kwargs)),
            Some(encoded) => codec.decode(originating, uri, encoded?),
        }
    }
}

/// The payload scheme of a received message (`enc_algo` or `ppt_scheme`).
pub(super) fn payload_scheme(dict: &Dict) -> Option<String> {
    dict.get("enc_algo")
        .or_else(|| dict.get("ppt_scheme"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;

    #[test]
    fn hello_roles_are_exactly_the_implemented_features() {
        let roles = client_roles();
        let features = |role: &str| -> Vec<String> {
            let mut f: Vec<String> = roles[role]["features"]
                .as_dict()
                .expect("features")
                .iter()
                .map(|(k, v)| {
                    assert_eq!(v, &Value::Bool(true), "{role}.{k}");
                    k.clone()
                })
                .collect();
            f.sort();
            f
        };
        let mut names: Vec<&String> = roles.keys().collect();
        names.sort();
        assert_eq!(names, ["callee", "caller", "publisher", "subscriber"]);
        assert_eq!(
            features("caller"),
            [
                "call_canceling",
                "call_timeout",
                "caller_identification",
                "payload_transparency",
                "progressive_call_invocations",
                "progressive_call_results",
            ]
        );
        assert_eq!(
            features("callee"),
            [
                "call_canceling",
                "call_timeout",
                "caller_identification",
                "pattern_based_registration",
                "payload_transparency",
                "progressive_call_invocations",
                "progressive_call_results",
                "registration_revocation",
                "shared_registration",
            ]
        );
        assert_eq!(
            features("publisher"),
            [
                "payload_transparency",
                "publisher_exclusion",
                "publisher_identification",
                "subscriber_blackwhite_listing",
            ]
        );
        assert_eq!(
            features("subscriber"),
            [
                "pattern_based_subscription",
                "payload_transparency",
                "publisher_identification",
                "subscription_revocation",
            ]
        );
    }

    #[test]
    fn crossbar_is_recognized_by_its_welcome() {
        assert!(is_crossbar(
            &dict! {"authextra" => Value::Dict(dict! {"x_cb_node" => "n1"})}
        ));
        assert!(!is_crossbar(&dict! {"authextra" => Value::Dict(dict! {})}));
        assert!(!is_crossbar(&Dict::new()));
    }
}
