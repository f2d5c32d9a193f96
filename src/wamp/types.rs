//! Option and detail types of the WAMP session API (`autobahn.wamp.types`).
//!
//! Options (`CallOptions`, `PublishOptions`, ...) are plain structs with `Default`; each
//! turns into the WAMP `Options` dict with [`to_dict`](PublishOptions::to_dict), which
//! holds only the keys that differ from the protocol default. Details (`EventDetails`,
//! `CallDetails`, ...) are what the session hands to handlers and hooks.
//!
//! Python-only knobs (`details_arg`, `correlation`, `keyring`, `controller`, `shared`)
//! have no counterpart: handlers always receive their details.
//!
//! # Advanced profile: where this differs from Autobahn|Python
//!
//! - [`CallOptions::timeout`] is a [`Duration`]. Autobahn|Python sends its number as it
//!   is and Crossbar.io reads it in seconds, while the WAMP spec says milliseconds; the
//!   session sends the router's [`TimeoutUnit`] (seconds for Crossbar.io, recognized from
//!   its WELCOME) and also enforces the timeout locally, so a router that ignores it
//!   still cannot leave the call hanging. [`CallDetails::timeout`] is read the same way.
//! - Crossbar.io decides caller/publisher disclosure by its role configuration and
//!   ignores `disclose_me`; [`CallOptions::disclose_me`] and
//!   [`PublishOptions::disclose_me`] are sent for routers that honour them.
//! - Cancelling with [`CancelMode::Skip`] completes the call locally at once (Autobahn
//!   fails the call future locally for every mode; here `kill` waits for the dealer's
//!   answer so the callee's outcome is known).
//! - Progressive results come through [`CallOptions::on_progress`] (Autobahn's
//!   `on_progress`) or as a stream from
//!   [`Session::call_progressive`](crate::wamp::Session::call_progressive).
//! - A revocation by the router (UNREGISTERED/UNSUBSCRIBED with request id 0) shows on
//!   the [`Registration`]/[`Subscription`] handle ([`Registration::wait_revoked`]);
//!   Autobahn 26.10 only logs a revoked registration.
//! - Payload transparency: see [`crate::wamp::payload`] (both `enc_*` and `ppt_*` keys
//!   are read; without a codec an encoded payload is passed on, Autobahn drops it).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::auth::Authentication;
use super::value::{Dict, Value};

pub use super::session::{
    CallUpdate, InvocationInput, PendingCall, ProgressSender, ProgressiveCall, Registration,
    Subscription, TestamentScope,
};

/// Configuration of an application component (Autobahn's `ComponentConfig`, plus the
/// `authentication` of Autobahn's `Component`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::{AuthTicket, Authentication};
/// use autobahn::wamp::value::Value;
/// use autobahn::wamp::ComponentConfig;
///
/// let config = ComponentConfig {
///     extra: Value::from("anything the component wants"),
///     authentication: Authentication::new().with(AuthTicket::new("joe", "secret-ticket")),
///     ..ComponentConfig::new("realm1")
/// };
/// let hello = config.hello_details();
/// assert_eq!(hello.realm, "realm1");
/// assert_eq!(hello.authmethods, ["ticket"]);
/// assert_eq!(hello.authid.as_deref(), Some("joe"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentConfig {
    /// The realm to join; empty to leave it to the router (see [`HelloDetails::realm`]).
    pub realm: String,
    /// Free-form extra configuration for the component.
    pub extra: Value,
    /// How the default `on_connect` and `on_challenge` hooks authenticate
    /// (empty: join without authentication).
    pub authentication: Authentication,
}

impl ComponentConfig {
    /// A configuration for `realm` with no extra and no authentication.
    pub fn new(realm: impl Into<String>) -> ComponentConfig {
        ComponentConfig {
            realm: realm.into(),
            extra: Value::Null,
            authentication: Authentication::new(),
        }
    }

    /// The HELLO details the default `on_connect` joins with: the realm, and the
    /// authentication methods and identity of [`authentication`](Self::authentication).
    pub fn hello_details(&self) -> HelloDetails {
        self.authentication.hello(self.realm.clone())
    }
}

/// What a client asks for when it joins (Autobahn's `HelloDetails`, the arguments of
/// `join()`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::HelloDetails;
///
/// // What `Session::join` sends when the default `on_connect` is not used.
/// let hello = HelloDetails {
///     authmethods: vec!["ticket".into()],
///     authid: Some("joe".into()),
///     ..HelloDetails::new("realm1")
/// };
/// assert_eq!(hello.realm, "realm1");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelloDetails {
    /// The realm to join; empty to leave it to the router (sent as `null`, Autobahn's
    /// `realm=None`), which assigns one from the authenticated principal (Crossbar.io:
    /// the principal's `realm`) or refuses with `wamp.error.no_such_realm`. The
    /// assigned realm is [`SessionDetails::realm`].
    pub realm: String,
    /// Authentication methods the client is willing to perform (`anonymous`, `ticket`,
    /// `wampcra`, `cryptosign` ...); empty: none announced.
    pub authmethods: Vec<String>,
    /// The authid to authenticate as.
    pub authid: Option<String>,
    /// The authrole to authenticate as.
    pub authrole: Option<String>,
    /// Extra data for the authentication method (e.g. a cryptosign `pubkey`).
    pub authextra: Option<Dict>,
    /// Ask the router to make this session resumable.
    pub resumable: Option<bool>,
    /// The session to resume.
    pub resume_session: Option<u64>,
    /// The token authorising the resumption.
    pub resume_token: Option<String>,
}

impl HelloDetails {
    /// Details for joining `realm` without authentication.
    pub fn new(realm: impl Into<String>) -> HelloDetails {
        HelloDetails {
            realm: realm.into(),
            ..HelloDetails::default()
        }
    }
}

/// The session as established (Autobahn's `SessionDetails`), given to `on_join`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionDetails {
    /// The realm joined.
    pub realm: String,
    /// The session id the router assigned.
    pub session: u64,
    /// The authenticated authid.
    pub authid: Option<String>,
    /// The authrole assigned.
    pub authrole: Option<String>,
    /// The authentication method that was used.
    pub authmethod: Option<String>,
    /// The authentication provider that was used.
    pub authprovider: Option<String>,
    /// Extra data from the router's authenticator.
    pub authextra: Option<Dict>,
    /// The serializer in use (`json`, `msgpack`, `cbor`).
    pub serializer: String,
    /// A description of the router's end of the transport.
    pub transport_peer: String,
    /// The session was resumed.
    pub resumed: Option<bool>,
    /// The session can be resumed later.
    pub resumable: Option<bool>,
    /// The token to resume the session with.
    pub resume_token: Option<String>,
    /// The router's roles and features (`WELCOME.Details.roles`).
    pub router_roles: Dict,
}

/// Why a session closed (Autobahn's `CloseDetails`), given to `on_leave`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseDetails {
    /// The close reason URI, e.g. `wamp.close.normal`.
    pub reason: String,
    /// A human readable message.
    pub message: Option<String>,
}

impl CloseDetails {
    /// The default reason of `leave()`.
    pub const REASON_DEFAULT: &'static str = "wamp.close.normal";
    /// The reason given when the transport was lost.
    pub const REASON_TRANSPORT_LOST: &'static str = "wamp.close.transport_lost";

    /// Close details with a reason and message.
    pub fn new(reason: impl Into<String>, message: Option<String>) -> CloseDetails {
        CloseDetails {
            reason: reason.into(),
            message,
        }
    }
}

/// An authentication challenge (Autobahn's `Challenge`), given to `on_challenge`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Challenge {
    /// The authentication method, e.g. `wampcra`.
    pub method: String,
    /// Method-specific challenge data.
    pub extra: Dict,
}

fn put_bool(d: &mut Dict, key: &str, v: Option<bool>) {
    if let Some(b) = v {
        d.insert(key.to_owned(), Value::Bool(b));
    }
}

fn put_list<T: Clone + Into<Value>>(d: &mut Dict, key: &str, v: &Option<Vec<T>>) {
    if let Some(l) = v {
        d.insert(
            key.to_owned(),
            Value::List(l.iter().cloned().map(Into::into).collect()),
        );
    }
}

/// Options for `subscribe` (Autobahn's `SubscribeOptions`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::SubscribeOptions;
///
/// let options = SubscribeOptions { match_: Some("prefix".into()), ..Default::default() };
/// assert_eq!(options.to_dict()["match"].as_str(), Some("prefix"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// Topic matching: `exact` (default), `prefix` or `wildcard`.
    pub match_: Option<String>,
    /// Ask for the event the broker retained on the topic, if any.
    pub get_retained: Option<bool>,
}

impl SubscribeOptions {
    /// The `SUBSCRIBE.Options` dict (only non-default keys).
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        if let Some(m) = self.match_.as_deref().filter(|m| *m != "exact") {
            d.insert("match".into(), Value::from(m));
        }
        put_bool(&mut d, "get_retained", self.get_retained);
        d
    }
}

/// Details of a received event (Autobahn's `EventDetails`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventDetails {
    /// The subscription the event was delivered on.
    pub subscription: u64,
    /// The publication id.
    pub publication: u64,
    /// Session id of the publisher, if disclosed.
    pub publisher: Option<u64>,
    /// Authid of the publisher, if disclosed.
    pub publisher_authid: Option<String>,
    /// Authrole of the publisher, if disclosed.
    pub publisher_authrole: Option<String>,
    /// The topic published to: from the event for pattern-based subscriptions,
    /// otherwise the subscribed topic.
    pub topic: Option<String>,
    /// The broker delivered a retained event.
    pub retained: bool,
    /// The payload transparency scheme (`enc_algo` or `ppt_scheme`) of the event, if
    /// its payload is encoded. Without a [`PayloadCodec`](crate::wamp::PayloadCodec)
    /// the encoded payload is the only positional argument.
    pub enc_algo: Option<String>,
    /// The raw `EVENT.Details`.
    pub details: Dict,
}

/// Options for `publish` (Autobahn's `PublishOptions`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::PublishOptions;
///
/// // Wait for the broker's acknowledgement, and deliver to ourselves too.
/// let options = PublishOptions {
///     acknowledge: true,
///     exclude_me: Some(false),
///     eligible_authrole: Some(vec!["admin".into()]),
///     ..Default::default()
/// };
/// let d = options.to_dict();
/// assert_eq!(d["exclude_me"].as_bool(), Some(false));
/// assert_eq!(d["eligible_authrole"][0].as_str(), Some("admin"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// Ask the broker to acknowledge the publication (PUBLISHED or ERROR); `publish`
    /// then waits and returns the [`Publication`].
    pub acknowledge: bool,
    /// Exclude the publisher from receiving the event (broker default: true).
    pub exclude_me: Option<bool>,
    /// Session ids that must not receive the event.
    pub exclude: Option<Vec<u64>>,
    /// Authids that must not receive the event.
    pub exclude_authid: Option<Vec<String>>,
    /// Authroles that must not receive the event.
    pub exclude_authrole: Option<Vec<String>>,
    /// Only these session ids may receive the event.
    pub eligible: Option<Vec<u64>>,
    /// Only these authids may receive the event.
    pub eligible_authid: Option<Vec<String>>,
    /// Only these authroles may receive the event.
    pub eligible_authrole: Option<Vec<String>>,
    /// Ask the broker to retain the event for later subscribers.
    pub retain: Option<bool>,
    /// Ask the broker to disclose the publisher's identity to subscribers.
    pub disclose_me: Option<bool>,
}

impl PublishOptions {
    /// The `PUBLISH.Options` dict (only non-default keys).
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        if self.acknowledge {
            d.insert("acknowledge".into(), Value::Bool(true));
        }
        put_bool(&mut d, "exclude_me", self.exclude_me);
        put_list(&mut d, "exclude", &self.exclude);
        put_list(&mut d, "exclude_authid", &self.exclude_authid);
        put_list(&mut d, "exclude_authrole", &self.exclude_authrole);
        put_list(&mut d, "eligible", &self.eligible);
        put_list(&mut d, "eligible_authid", &self.eligible_authid);
        put_list(&mut d, "eligible_authrole", &self.eligible_authrole);
        put_bool(&mut d, "retain", self.retain);
        put_bool(&mut d, "disclose_me", self.disclose_me);
        d
    }
}

/// An acknowledged publication (returned by `publish` with `acknowledge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Publication {
    /// The publication id the broker assigned.
    pub id: u64,
}

/// Options for `register` (Autobahn's `RegisterOptions`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::RegisterOptions;
///
/// // One of several callees of the same procedure, taking turns.
/// let options = RegisterOptions {
///     invoke: Some("roundrobin".into()),
///     concurrency: Some(4),
///     ..Default::default()
/// };
/// assert_eq!(options.to_dict()["invoke"].as_str(), Some("roundrobin"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOptions {
    /// Procedure matching: `exact` (default), `prefix` or `wildcard`.
    pub match_: Option<String>,
    /// Shared registration policy: `single` (default), `roundrobin`, `random`, `first`,
    /// `last`.
    pub invoke: Option<String>,
    /// Maximum concurrent invocations the dealer sends to this callee.
    pub concurrency: Option<u32>,
    /// Take over an existing registration of the same procedure (Crossbar).
    pub force_reregister: Option<bool>,
}

impl RegisterOptions {
    /// The `REGISTER.Options` dict (only non-default keys).
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        if let Some(m) = self.match_.as_deref().filter(|m| *m != "exact") {
            d.insert("match".into(), Value::from(m));
        }
        if let Some(i) = self.invoke.as_deref().filter(|i| *i != "single") {
            d.insert("invoke".into(), Value::from(i));
        }
        if let Some(c) = self.concurrency {
            d.insert("concurrency".into(), Value::from(c));
        }
        put_bool(&mut d, "force_reregister", self.force_reregister);
        d
    }
}

/// The router ended a registration or subscription on its own (UNREGISTERED or
/// UNSUBSCRIBED with request id 0): see [`Registration::revoked`] and
/// [`Subscription::revoked`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocation {
    /// The router's reason, e.g. `wamp.error.unregistered` (Crossbar.io's
    /// `force_reregister`) or what `wamp.registration.remove_callee` was given.
    pub reason: Option<String>,
}

/// Details of an invocation (Autobahn's `CallDetails`), given to a registered endpoint.
#[derive(Debug, Clone, Default)]
pub struct CallDetails {
    /// The registration the invocation is delivered on.
    pub registration: u64,
    /// Sends progressive results, if the caller asked for them.
    pub progress: Option<ProgressSender>,
    /// The further input of a progressive call invocation (the caller streams its
    /// arguments: this invocation's `args`/`kwargs` are the first chunk).
    pub input: Option<InvocationInput>,
    /// Session id of the caller, if disclosed.
    pub caller: Option<u64>,
    /// Authid of the caller, if disclosed.
    pub caller_authid: Option<String>,
    /// Authrole of the caller, if disclosed.
    pub caller_authrole: Option<String>,
    /// The procedure called: from the invocation for pattern-based registrations,
    /// otherwise the registered procedure.
    pub procedure: Option<String>,
    /// The call's timeout, if the dealer forwards it (read in the router's
    /// [`TimeoutUnit`]: seconds from Crossbar.io, milliseconds otherwise).
    pub timeout: Option<Duration>,
    /// The payload transparency scheme (`enc_algo` or `ppt_scheme`) of the invocation,
    /// if its payload is encoded. Without a [`PayloadCodec`](crate::wamp::PayloadCodec)
    /// the encoded payload is the only positional argument.
    pub enc_algo: Option<String>,
    /// The raw `INVOCATION.Details`.
    pub details: Dict,
}

/// The unit a router reads `CALL.Options.timeout` (and writes
/// `INVOCATION.Details.timeout`) in.
///
/// The WAMP specification says milliseconds. Crossbar.io (and Autobahn|Python's
/// `CallOptions(timeout=...)`) use seconds, and Crossbar.io does not announce the
/// `call_timeout` feature. The session detects Crossbar.io from its WELCOME and then
/// sends whole seconds (rounded up); see
/// [`Session::set_timeout_unit`](crate::wamp::Session::set_timeout_unit) to override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutUnit {
    /// Milliseconds (the WAMP specification).
    Milliseconds,
    /// Whole seconds (Crossbar.io, Autobahn|Python).
    Seconds,
}

/// How a call is canceled (`CANCEL.Options.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelMode {
    /// The dealer answers the caller at once and lets the callee finish.
    Skip,
    /// The dealer interrupts the callee and waits for its answer.
    Kill,
    /// The dealer interrupts the callee and answers the caller at once.
    KillNoWait,
}

impl CancelMode {
    /// The wire name: `skip`, `kill`, `killnowait`.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelMode::Skip => "skip",
            CancelMode::Kill => "kill",
            CancelMode::KillNoWait => "killnowait",
        }
    }
}

/// A callback for progressive call results.
pub type ProgressHandler = Arc<dyn Fn(CallResult) + Send + Sync>;

/// Options for `call` (Autobahn's `CallOptions`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use autobahn::wamp::{CallOptions, CallResult, CancelMode};
///
/// let options = CallOptions {
///     timeout: Some(Duration::from_secs(5)),
///     cancel_mode: Some(CancelMode::Kill),
///     on_progress: Some(Arc::new(|update: CallResult| {
///         println!("progress: {:?}", update.value());
///     })),
///     ..Default::default()
/// };
/// let d = options.to_dict();
/// assert_eq!(d["timeout"].as_u64(), Some(5000)); // milliseconds on the wire (the spec)
/// assert_eq!(d["receive_progress"].as_bool(), Some(true));
/// ```
#[derive(Clone, Default)]
pub struct CallOptions {
    /// Cancel the call after this long: sent to the dealer as `timeout` (milliseconds
    /// as the spec says, or whole seconds rounded up for Crossbar.io, see
    /// [`TimeoutUnit`]), and enforced locally too: the call fails with
    /// `Error::Timeout` when the time is up, and CANCEL (mode `killnowait` unless
    /// [`cancel_mode`](Self::cancel_mode) is set) goes to the dealer. A dealer that
    /// enforces it first answers `wamp.error.timeout` (Crossbar.io:
    /// `wamp.error.canceled`), which also ends the call with `Error::Timeout`.
    pub timeout: Option<Duration>,
    /// Receives progressive results (sets `receive_progress`). Runs on the session
    /// task: it must return quickly.
    pub on_progress: Option<ProgressHandler>,
    /// Ask the dealer to disclose the caller's identity to the callee.
    pub disclose_me: Option<bool>,
    /// The `CANCEL` mode used when the call future is dropped or times out (absent:
    /// the dealer's default).
    pub cancel_mode: Option<CancelMode>,
    /// Start a progressive call invocation (CALL `progress: true`): the call's
    /// arguments are the first input chunk, [`PendingCall::send_input`] sends the
    /// rest. Needs a dealer announcing `progressive_call_invocations` (Crossbar.io
    /// 26.10 does not; the call then fails with `Error::InvalidRequest`).
    pub progress: bool,
}

impl CallOptions {
    /// The `CALL.Options` dict (only non-default keys).
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        if let Some(t) = self.timeout.filter(|t| !t.is_zero()) {
            // Round up: a sub-millisecond timeout must not become 0 ("no timeout").
            let ms = u64::try_from(t.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
            d.insert("timeout".into(), Value::from_u64(ms));
        }
        if self.on_progress.is_some() {
            d.insert("receive_progress".into(), Value::Bool(true));
        }
        put_bool(&mut d, "disclose_me", self.disclose_me);
        if self.progress {
            d.insert("progress".into(), Value::Bool(true));
        }
        d
    }
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("on_progress", &self.on_progress.as_ref().map(|_| "Fn"))
            .field("disclose_me", &self.disclose_me)
            .field("cancel_mode", &self.cancel_mode)
            .field("progress", &self.progress)
            .finish()
    }
}

/// The result of a call (Autobahn's `CallResult`): positional and keyword results.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::CallResult;
/// use autobahn::{dict, list};
///
/// // As Autobahn returns it: one positional value is the value itself.
/// assert_eq!(CallResult::with_args(list![5]).value().as_i64(), Some(5));
/// let both = CallResult::with_args_kwargs(list![1, 2], dict! { "unit" => "m" });
/// assert_eq!(both.value().as_list().map(Vec::len), Some(2));
///
/// // Typed results through serde.
/// let r = CallResult::from_serialize(&(3, "three"))?;
/// let (n, s): (i64, String) = r.deserialize()?;
/// assert_eq!((n, s.as_str()), (3, "three"));
/// # Ok::<(), autobahn::wamp::error::ValueError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallResult {
    /// Positional results.
    pub args: Vec<Value>,
    /// Keyword results.
    pub kwargs: Dict,
}

impl CallResult {
    /// An empty result.
    pub fn new() -> CallResult {
        CallResult::default()
    }

    /// A result with positional values only.
    pub fn with_args(args: Vec<Value>) -> CallResult {
        CallResult {
            args,
            kwargs: Dict::new(),
        }
    }

    /// A result with positional and keyword values.
    pub fn with_args_kwargs(args: Vec<Value>, kwargs: Dict) -> CallResult {
        CallResult { args, kwargs }
    }

    /// A result holding one value (any type serde can serialize).
    pub fn from_serialize<T: serde::Serialize>(
        value: &T,
    ) -> Result<CallResult, super::error::ValueError> {
        Ok(CallResult::with_args(vec![super::value::to_value(value)?]))
    }

    /// The result as one value, the way Autobahn returns it: the single positional
    /// value when there is exactly one and no keywords, `Null` when empty, the keyword
    /// dict when there are only keywords, otherwise the positional list.
    pub fn value(&self) -> Value {
        match (self.args.as_slice(), self.kwargs.is_empty()) {
            ([], true) => Value::Null,
            ([one], true) => one.clone(),
            ([], false) => Value::Dict(self.kwargs.clone()),
            (all, _) => Value::List(all.to_vec()),
        }
    }

    /// Decodes [`value`](Self::value) into a Rust type.
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, super::error::ValueError> {
        super::value::from_value(self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;

    #[test]
    fn default_options_are_empty_dicts() {
        assert!(SubscribeOptions::default().to_dict().is_empty());
        assert!(PublishOptions::default().to_dict().is_empty());
        assert!(RegisterOptions::default().to_dict().is_empty());
        assert!(CallOptions::default().to_dict().is_empty());
    }

    #[test]
    fn options_to_dict() {
        let s = SubscribeOptions {
            match_: Some("prefix".into()),
            get_retained: Some(true),
        };
        assert_eq!(
            s.to_dict(),
            dict! {"match" => "prefix", "get_retained" => true}
        );
        // "exact" is the default and is left out.
        let s = SubscribeOptions {
            match_: Some("exact".into()),
            ..Default::default()
        };
        assert!(s.to_dict().is_empty());

        let p = PublishOptions {
            acknowledge: true,
            exclude_me: Some(false),
            exclude: Some(vec![1, 2]),
            eligible_authrole: Some(vec!["admin".into()]),
            ..Default::default()
        };
        assert_eq!(
            p.to_dict(),
            dict! {
                "acknowledge" => true,
                "exclude_me" => false,
                "exclude" => vec![1u64, 2],
                "eligible_authrole" => vec!["admin"],
            }
        );
        // An empty whitelist is meaningful (nobody is eligible) and is kept.
        let p = PublishOptions {
            eligible: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(p.to_dict(), dict! {"eligible" => Vec::<u64>::new()});

        let r = RegisterOptions {
            match_: Some("wildcard".into()),
            invoke: Some("roundrobin".into()),
            concurrency: Some(4),
            ..Default::default()
        };
        assert_eq!(
            r.to_dict(),
            dict! {"match" => "wildcard", "invoke" => "roundrobin", "concurrency" => 4}
        );

        let c = CallOptions {
            timeout: Some(Duration::from_micros(1500)),
            on_progress: Some(Arc::new(|_| {})),
            disclose_me: Some(true),
            ..Default::default()
        };
        assert_eq!(
            c.to_dict(),
            dict! {"timeout" => 2, "receive_progress" => true, "disclose_me" => true}
        );
    }

    #[test]
    fn call_result_value() {
        assert_eq!(CallResult::new().value(), Value::Null);
        assert_eq!(
            CallResult::with_args(crate::list![5]).value(),
            Value::from(5)
        );
        assert_eq!(
            CallResult::with_args(crate::list![1, 2]).value(),
            Value::from(vec![1, 2])
        );
        let kw = CallResult::with_args_kwargs(vec![], dict! {"a" => 1});
        assert_eq!(kw.value(), Value::Dict(dict! {"a" => 1}));
        let n: i64 = CallResult::with_args(crate::list![7])
            .deserialize()
            .unwrap();
        assert_eq!(n, 7);
        let t: (i64, String) = CallResult::with_args(crate::list![7, "x"])
            .deserialize()
            .unwrap();
        assert_eq!(t, (7, "x".to_owned()));
        assert!(CallResult::with_args(crate::list!["x"])
            .deserialize::<i64>()
            .is_err());
    }
}
