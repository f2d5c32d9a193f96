//! Typed read access to the common `Details`/`Options` keys.
//!
//! The dicts stay the source of truth (unknown keys are kept); these are
//! conveniences returning `None`/`false` when a key is absent or has the
//! wrong type.

use super::*;

fn get_str<'a>(d: &'a Dict, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

fn get_u64(d: &Dict, key: &str) -> Option<u64> {
    d.get(key).and_then(Value::as_u64)
}

fn get_bool(d: &Dict, key: &str) -> bool {
    d.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn get_dict<'a>(d: &'a Dict, key: &str) -> Option<&'a Dict> {
    d.get(key).and_then(Value::as_dict)
}

/// A duration option in milliseconds (`timeout`); integral or float values.
fn get_millis(d: &Dict, key: &str) -> Option<u64> {
    match d.get(key)? {
        Value::Float(x) if x.is_finite() && *x >= 0.0 => Some(*x as u64),
        v => v.as_u64(),
    }
}

impl Hello {
    /// `details.roles`: the roles and features the client announces.
    pub fn roles(&self) -> Option<&Dict> {
        get_dict(&self.details, "roles")
    }

    /// `details.authmethods`: the authentication methods offered (strings only).
    pub fn authmethods(&self) -> Vec<&str> {
        self.details
            .get("authmethods")
            .and_then(Value::as_list)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// `details.authid`.
    pub fn authid(&self) -> Option<&str> {
        get_str(&self.details, "authid")
    }
}

impl Welcome {
    /// `details.roles`: the router's roles and features.
    pub fn roles(&self) -> Option<&Dict> {
        get_dict(&self.details, "roles")
    }

    /// `details.realm` (sent by some routers, e.g. when they chose the realm).
    pub fn realm(&self) -> Option<&str> {
        get_str(&self.details, "realm")
    }

    /// `details.authid`.
    pub fn authid(&self) -> Option<&str> {
        get_str(&self.details, "authid")
    }

    /// `details.authrole`.
    pub fn authrole(&self) -> Option<&str> {
        get_str(&self.details, "authrole")
    }

    /// `details.authmethod`.
    pub fn authmethod(&self) -> Option<&str> {
        get_str(&self.details, "authmethod")
    }

    /// `details.authprovider`.
    pub fn authprovider(&self) -> Option<&str> {
        get_str(&self.details, "authprovider")
    }

    /// `details.authextra`.
    pub fn authextra(&self) -> Option<&Dict> {
        get_dict(&self.details, "authextra")
    }

    /// `true` if the router announces `feature` for `role`
    /// (`details.roles.<role>.features.<feature> == true`).
    pub fn has_feature(&self, role: &str, feature: &str) -> bool {
        self.roles()
            .and_then(|r| get_dict(r, role))
            .and_then(|r| get_dict(r, "features"))
            .is_some_and(|f| get_bool(f, feature))
    }
}

impl Abort {
    /// `details.message`: human readable text.
    pub fn message(&self) -> Option<&str> {
        get_str(&self.details, "message")
    }
}

impl Goodbye {
    /// `details.message`: human readable text.
    pub fn message(&self) -> Option<&str> {
        get_str(&self.details, "message")
    }
}

impl Publish {
    /// `options.acknowledge`: the publisher wants PUBLISHED or ERROR back.
    pub fn acknowledge(&self) -> bool {
        get_bool(&self.options, "acknowledge")
    }

    /// `options.exclude_me` (the broker's default is `true`).
    pub fn exclude_me(&self) -> Option<bool> {
        self.options.get("exclude_me").and_then(Value::as_bool)
    }
}

impl Subscribe {
    /// `options.match`: `exact` (default), `prefix` or `wildcard`.
    pub fn match_policy(&self) -> Option<&str> {
        get_str(&self.options, "match")
    }
}

impl Unsubscribed {
    /// `details.subscription`: the revoked subscription (request id 0).
    pub fn subscription(&self) -> Option<u64> {
        get_u64(&self.details, "subscription")
    }

    /// `details.reason`: why the subscription was revoked.
    pub fn reason(&self) -> Option<&str> {
        get_str(&self.details, "reason")
    }
}

impl Event {
    /// `details.publisher`: session id of the publisher, if disclosed.
    pub fn publisher(&self) -> Option<u64> {
        get_u64(&self.details, "publisher")
    }

    /// `details.publisher_authid`, if disclosed.
    pub fn publisher_authid(&self) -> Option<&str> {
        get_str(&self.details, "publisher_authid")
    }

    /// `details.publisher_authrole`, if disclosed.
    pub fn publisher_authrole(&self) -> Option<&str> {
        get_str(&self.details, "publisher_authrole")
    }

    /// `details.topic`: the concrete topic for pattern-based subscriptions.
    pub fn topic(&self) -> Option<&str> {
        get_str(&self.details, "topic")
    }

    /// `details.retained`: the event was retained by the broker.
    pub fn retained(&self) -> bool {
        get_bool(&self.details, "retained")
    }
}

impl Call {
    /// `options.receive_progress`: the caller accepts progressive results.
    pub fn receive_progress(&self) -> bool {
        get_bool(&self.options, "receive_progress")
    }

    /// `options.progress`: more input follows (progressive call invocations).
    pub fn progress(&self) -> bool {
        get_bool(&self.options, "progress")
    }

    /// `options.timeout` in milliseconds (0 or absent: no timeout).
    pub fn timeout(&self) -> Option<u64> {
        get_millis(&self.options, "timeout")
    }
}

impl Cancel {
    /// `options.mode`: `skip`, `kill` or `killnowait`.
    pub fn mode(&self) -> Option<&str> {
        get_str(&self.options, "mode")
    }
}

impl ResultMessage {
    /// `details.progress`: this is a progressive (non-final) result.
    pub fn progress(&self) -> bool {
        get_bool(&self.details, "progress")
    }
}

impl Register {
    /// `options.match`: `exact` (default), `prefix` or `wildcard`.
    pub fn match_policy(&self) -> Option<&str> {
        get_str(&self.options, "match")
    }

    /// `options.invoke`: `single` (default), `roundrobin`, `random`, `first`, `last`.
    pub fn invoke(&self) -> Option<&str> {
        get_str(&self.options, "invoke")
    }
}

impl Unregistered {
    /// `details.registration`: the revoked registration (request id 0).
    pub fn registration(&self) -> Option<u64> {
        get_u64(&self.details, "registration")
    }

    /// `details.reason`: why the registration was revoked.
    pub fn reason(&self) -> Option<&str> {
        get_str(&self.details, "reason")
    }
}

impl Invocation {
    /// `details.receive_progress`: the caller accepts progressive results.
    pub fn receive_progress(&self) -> bool {
        get_bool(&self.details, "receive_progress")
    }

    /// `details.caller`: session id of the caller, if disclosed.
    pub fn caller(&self) -> Option<u64> {
        get_u64(&self.details, "caller")
    }

    /// `details.caller_authid`, if disclosed.
    pub fn caller_authid(&self) -> Option<&str> {
        get_str(&self.details, "caller_authid")
    }

    /// `details.caller_authrole`, if disclosed.
    pub fn caller_authrole(&self) -> Option<&str> {
        get_str(&self.details, "caller_authrole")
    }

    /// `details.procedure`: the concrete procedure for pattern-based registrations.
    pub fn procedure(&self) -> Option<&str> {
        get_str(&self.details, "procedure")
    }

    /// `details.progress`: more input follows (progressive call invocations).
    pub fn progress(&self) -> bool {
        get_bool(&self.details, "progress")
    }

    /// `details.timeout` in milliseconds, if the dealer forwards it.
    pub fn timeout(&self) -> Option<u64> {
        get_millis(&self.details, "timeout")
    }
}

impl Interrupt {
    /// `options.mode`: `kill` or `killnowait`.
    pub fn mode(&self) -> Option<&str> {
        get_str(&self.options, "mode")
    }

    /// `options.reason`: e.g. `wamp.error.canceled` or `wamp.error.timeout`.
    pub fn reason(&self) -> Option<&str> {
        get_str(&self.options, "reason")
    }
}

impl Yield {
    /// `options.progress`: this is a progressive (non-final) result.
    pub fn progress(&self) -> bool {
        get_bool(&self.options, "progress")
    }
}
