//! What the protocol reports to its user.

use super::SessionTypes;
use crate::wamp::error::Error;
use crate::wamp::types::{CallResult, CloseDetails, SessionDetails};
use crate::wamp::value::{Dict, Value};

/// Something the session user must act on.
pub enum Event<T: SessionTypes> {
    /// The router demands authentication; answer with
    /// [`Protocol::authenticate`](super::Protocol::authenticate) or [`Protocol::abort`](super::Protocol::abort).
    Challenge(crate::wamp::types::Challenge),
    /// The session joined a realm.
    Joined(SessionDetails),
    /// The session closed (GOODBYE either way, ABORT, protocol violation or transport
    /// loss). Every pending request has failed by now.
    Left(CloseDetails),
    /// The transport must be closed once the queued messages are sent.
    CloseTransport,
    /// A request failed; `error` is the router's ERROR or the local reason.
    RequestFailed {
        /// The request's token.
        token: T::Token,
        /// Why it failed.
        error: Error,
    },
    /// The final result of a call.
    CallResult {
        /// The call's token.
        token: T::Token,
        /// The result.
        result: CallResult,
    },
    /// A progressive result of a call that asked for them; the token stays with the
    /// protocol (see [`Protocol::token`](super::Protocol::token)).
    CallProgress {
        /// The call's request id.
        request: u64,
        /// The progressive result.
        result: CallResult,
    },
    /// A subscription was created (or a handler added to an existing one).
    Subscribed {
        /// The subscribe request's token.
        token: T::Token,
        /// The router's subscription id.
        subscription: u64,
        /// The local handler id (for [`Protocol::unsubscribe`](super::Protocol::unsubscribe)).
        handler: u64,
    },
    /// An unsubscribe completed.
    Unsubscribed {
        /// The unsubscribe request's token.
        token: T::Token,
    },
    /// The router revoked a subscription; its handlers are dropped.
    SubscriptionRevoked {
        /// The subscription id.
        subscription: u64,
        /// The router's reason, if given.
        reason: Option<String>,
    },
    /// An acknowledged publication succeeded.
    Published {
        /// The publish request's token.
        token: T::Token,
        /// The publication id.
        publication: u64,
    },
    /// A registration was created.
    Registered {
        /// The register request's token.
        token: T::Token,
        /// The registration id.
        registration: u64,
    },
    /// An unregister completed.
    Unregistered {
        /// The unregister request's token.
        token: T::Token,
    },
    /// The router revoked a registration; its endpoint is dropped.
    RegistrationRevoked {
        /// The registration id.
        registration: u64,
        /// The router's reason, if given.
        reason: Option<String>,
    },
    /// An event for one or more local handlers.
    Event {
        /// The handlers of the subscription.
        handlers: Vec<T::EventHandler>,
        /// Event details.
        details: crate::wamp::types::EventDetails,
        /// Positional payload.
        args: Vec<Value>,
        /// Keyword payload.
        kwargs: Dict,
    },
    /// The dealer invokes a registered endpoint; answer with
    /// [`Protocol::yield_result`](super::Protocol::yield_result) or [`Protocol::invocation_error`](super::Protocol::invocation_error).
    Invocation {
        /// The invocation request id.
        request: u64,
        /// The registration's endpoint.
        endpoint: T::Endpoint,
        /// Call details (`progress` is left `None`: the caller fills it in when
        /// `receive_progress` is set).
        details: crate::wamp::types::CallDetails,
        /// The caller asked for progressive results.
        receive_progress: bool,
        /// Positional arguments.
        args: Vec<Value>,
        /// Keyword arguments.
        kwargs: Dict,
    },
    /// More input for a running progressive call invocation (a further INVOCATION
    /// with the same request id).
    InvocationInput {
        /// The invocation request id.
        request: u64,
        /// The input chunk.
        input: CallResult,
        /// This is the last chunk.
        last: bool,
    },
    /// A received payload could not be decoded by the payload codec (an EVENT: it is
    /// dropped). RESULT and INVOCATION payload errors fail the call instead.
    PayloadError {
        /// The codec's error.
        error: crate::wamp::error::ApplicationError,
        /// What the session was doing.
        message: String,
    },
    /// The dealer cancels a running invocation.
    Interrupt {
        /// The invocation request id.
        request: u64,
        /// `kill` or `killnowait` (absent: `kill`). With `killnowait` no answer is
        /// expected and the invocation is already forgotten.
        mode: Option<String>,
        /// The reason, e.g. `wamp.error.canceled` or `wamp.error.timeout`.
        reason: Option<String>,
    },
}

impl<T: SessionTypes> std::fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Event::Challenge(c) => return write!(f, "Challenge({c:?})"),
            Event::Joined(d) => return write!(f, "Joined({d:?})"),
            Event::Left(d) => return write!(f, "Left({d:?})"),
            Event::RequestFailed { error, .. } => return write!(f, "RequestFailed({error:?})"),
            Event::CallResult { result, .. } => return write!(f, "CallResult({result:?})"),
            Event::CallProgress { request, result } => {
                return write!(f, "CallProgress({request}, {result:?})")
            }
            Event::CloseTransport => "CloseTransport",
            Event::Subscribed { .. } => "Subscribed",
            Event::Unsubscribed { .. } => "Unsubscribed",
            Event::SubscriptionRevoked { .. } => "SubscriptionRevoked",
            Event::Published { .. } => "Published",
            Event::Registered { .. } => "Registered",
            Event::Unregistered { .. } => "Unregistered",
            Event::RegistrationRevoked { .. } => "RegistrationRevoked",
            Event::Event { .. } => "Event",
            Event::Invocation { .. } => "Invocation",
            Event::Interrupt { .. } => "Interrupt",
            Event::PayloadError { .. } => "PayloadError",
            Event::InvocationInput { .. } => "InvocationInput",
        };
        f.write_str(name)
    }
}
