//! WAMP v2 messages (`autobahn.wamp.message`).
//!
//! Every message of the basic and advanced profiles is a struct with named
//! fields; [`Message`] is the enum over all of them. Names follow the spec:
//! a spec element `Request|id` is the field `request: u64`, `Details|dict` is
//! `details: Dict`, `Arguments|list` is `args`, `ArgumentsKw|dict` is
//! `kwargs`. Two structs carry a suffix because their spec names clash with
//! Rust's prelude: [`ErrorMessage`] (ERROR) and [`ResultMessage`] (RESULT).
//!
//! [`Message::from_value`] validates the structure of a decoded message (the
//! type code and length fix the schema; ids are integers in `[0, 2^53]`;
//! dicts, lists, strings and URIs have the right types); [`Message::to_value`]
//! builds the list form, leaving out empty trailing `args`/`kwargs` as the
//! spec recommends. Unknown keys in `Details`/`Options` are kept as they are;
//! typed accessors for the common ones live in `options.rs`.

mod codec;
mod options;

pub(crate) use codec::WireMessage;

use crate::wamp::value::{Dict, Value};

/// The largest id WAMP allows (2^53, exactly representable in a double).
pub const MAX_ID: u64 = 1 << 53;

/// A WAMP message type with its numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `HELLO` (1)
    Hello = 1,
    /// `WELCOME` (2)
    Welcome = 2,
    /// `ABORT` (3)
    Abort = 3,
    /// `CHALLENGE` (4)
    Challenge = 4,
    /// `AUTHENTICATE` (5)
    Authenticate = 5,
    /// `GOODBYE` (6)
    Goodbye = 6,
    /// `ERROR` (8)
    Error = 8,
    /// `PUBLISH` (16)
    Publish = 16,
    /// `PUBLISHED` (17)
    Published = 17,
    /// `SUBSCRIBE` (32)
    Subscribe = 32,
    /// `SUBSCRIBED` (33)
    Subscribed = 33,
    /// `UNSUBSCRIBE` (34)
    Unsubscribe = 34,
    /// `UNSUBSCRIBED` (35)
    Unsubscribed = 35,
    /// `EVENT` (36)
    Event = 36,
    /// `CALL` (48)
    Call = 48,
    /// `CANCEL` (49)
    Cancel = 49,
    /// `RESULT` (50)
    Result = 50,
    /// `REGISTER` (64)
    Register = 64,
    /// `REGISTERED` (65)
    Registered = 65,
    /// `UNREGISTER` (66)
    Unregister = 66,
    /// `UNREGISTERED` (67)
    Unregistered = 67,
    /// `INVOCATION` (68)
    Invocation = 68,
    /// `INTERRUPT` (69)
    Interrupt = 69,
    /// `YIELD` (70)
    Yield = 70,
}

impl MessageType {
    /// All message types, in code order.
    pub const ALL: [MessageType; 24] = [
        MessageType::Hello,
        MessageType::Welcome,
        MessageType::Abort,
        MessageType::Challenge,
        MessageType::Authenticate,
        MessageType::Goodbye,
        MessageType::Error,
        MessageType::Publish,
        MessageType::Published,
        MessageType::Subscribe,
        MessageType::Subscribed,
        MessageType::Unsubscribe,
        MessageType::Unsubscribed,
        MessageType::Event,
        MessageType::Call,
        MessageType::Cancel,
        MessageType::Result,
        MessageType::Register,
        MessageType::Registered,
        MessageType::Unregister,
        MessageType::Unregistered,
        MessageType::Invocation,
        MessageType::Interrupt,
        MessageType::Yield,
    ];

    /// The numeric type code sent on the wire.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The message type for a code, if it is one of the 24 known ones.
    pub fn from_code(code: u64) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The spec name, e.g. `"CALL"`.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Hello => "HELLO",
            MessageType::Welcome => "WELCOME",
            MessageType::Abort => "ABORT",
            MessageType::Challenge => "CHALLENGE",
            MessageType::Authenticate => "AUTHENTICATE",
            MessageType::Goodbye => "GOODBYE",
            MessageType::Error => "ERROR",
            MessageType::Publish => "PUBLISH",
            MessageType::Published => "PUBLISHED",
            MessageType::Subscribe => "SUBSCRIBE",
            MessageType::Subscribed => "SUBSCRIBED",
            MessageType::Unsubscribe => "UNSUBSCRIBE",
            MessageType::Unsubscribed => "UNSUBSCRIBED",
            MessageType::Event => "EVENT",
            MessageType::Call => "CALL",
            MessageType::Cancel => "CANCEL",
            MessageType::Result => "RESULT",
            MessageType::Register => "REGISTER",
            MessageType::Registered => "REGISTERED",
            MessageType::Unregister => "UNREGISTER",
            MessageType::Unregistered => "UNREGISTERED",
            MessageType::Invocation => "INVOCATION",
            MessageType::Interrupt => "INTERRUPT",
            MessageType::Yield => "YIELD",
        }
    }

    /// `true` for the request types an ERROR may answer (`ERROR.REQUEST.Type`):
    /// SUBSCRIBE, UNSUBSCRIBE, PUBLISH, REGISTER, UNREGISTER, CALL, INVOCATION.
    pub fn is_error_request_type(self) -> bool {
        matches!(
            self,
            MessageType::Subscribe
                | MessageType::Unsubscribe
                | MessageType::Publish
                | MessageType::Register
                | MessageType::Unregister
                | MessageType::Call
                | MessageType::Invocation
        )
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[HELLO, Realm|uri, Details|dict]`: a client asks to join a realm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hello {
    /// Realm to join.
    pub realm: String,
    /// Roles, auth methods and other details.
    pub details: Dict,
}

/// `[WELCOME, Session|id, Details|dict]`: the router accepted the client.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Welcome {
    /// Session id assigned by the router.
    pub session: u64,
    /// Router roles, authid, authrole ...
    pub details: Dict,
}

/// `[ABORT, Details|dict, Reason|uri]`: session opening aborted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Abort {
    /// Details, e.g. a human readable `message`.
    pub details: Dict,
    /// Reason URI, e.g. `wamp.error.no_such_realm`.
    pub reason: String,
}

/// `[CHALLENGE, AuthMethod|string, Extra|dict]`: authentication challenge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Challenge {
    /// The authentication method, e.g. `wampcra`.
    pub method: String,
    /// Method-specific challenge data.
    pub extra: Dict,
}

/// `[AUTHENTICATE, Signature|string, Extra|dict]`: answer to a challenge. Its `Debug`
/// output leaves the signature out: for WAMP-Ticket it is the password.
#[derive(Clone, PartialEq, Default)]
pub struct Authenticate {
    /// The signature (method specific).
    pub signature: String,
    /// Method-specific extra data.
    pub extra: Dict,
}

impl std::fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticate")
            .field(
                "signature",
                &format_args!("<{} bytes>", self.signature.len()),
            )
            .field("extra", &self.extra)
            .finish()
    }
}

/// `[GOODBYE, Details|dict, Reason|uri]`: close an established session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Goodbye {
    /// Details, e.g. a human readable `message`.
    pub details: Dict,
    /// Reason URI, e.g. `wamp.close.normal`.
    pub reason: String,
}

/// `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri,
/// Arguments|list, ArgumentsKw|dict]`: a request failed (spec name `ERROR`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMessage {
    /// Type of the failed request (see [`MessageType::is_error_request_type`]).
    pub request_type: MessageType,
    /// Id of the failed request.
    pub request: u64,
    /// Details.
    pub details: Dict,
    /// Error URI.
    pub error: String,
    /// Positional error arguments.
    pub args: Option<Vec<Value>>,
    /// Keyword error arguments.
    pub kwargs: Option<Dict>,
}

/// `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list,
/// ArgumentsKw|dict]`: publish an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Publish {
    /// Request id.
    pub request: u64,
    /// Options (`acknowledge`, `exclude_me`, ...).
    pub options: Dict,
    /// Topic URI.
    pub topic: String,
    /// Positional payload.
    pub args: Option<Vec<Value>>,
    /// Keyword payload.
    pub kwargs: Option<Dict>,
}

/// `[PUBLISHED, PUBLISH.Request|id, Publication|id]`: publication acknowledged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Published {
    /// Id of the PUBLISH request.
    pub request: u64,
    /// Publication id.
    pub publication: u64,
}

/// `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]`: subscribe to a topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subscribe {
    /// Request id.
    pub request: u64,
    /// Options (`match`, `get_retained`, ...).
    pub options: Dict,
    /// Topic URI or pattern.
    pub topic: String,
}

/// `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subscribed {
    /// Id of the SUBSCRIBE request.
    pub request: u64,
    /// Subscription id.
    pub subscription: u64,
}

/// `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unsubscribe {
    /// Request id.
    pub request: u64,
    /// Subscription id to end.
    pub subscription: u64,
}

/// `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id, Details|dict]`; the router sends
/// request id 0 with `details.subscription`/`reason` when it revokes a
/// subscription (advanced profile). `details` is omitted on the wire if empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unsubscribed {
    /// Id of the UNSUBSCRIBE request, or 0 for a revocation.
    pub request: u64,
    /// Details (empty if absent).
    pub details: Dict,
}

/// `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id,
/// Details|dict, PUBLISH.Arguments|list, PUBLISH.ArgumentsKw|dict]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// Subscription the event is delivered on.
    pub subscription: u64,
    /// Publication id.
    pub publication: u64,
    /// Details (`publisher`, `topic`, `retained`, ...).
    pub details: Dict,
    /// Positional payload.
    pub args: Option<Vec<Value>>,
    /// Keyword payload.
    pub kwargs: Option<Dict>,
}

/// `[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list,
/// ArgumentsKw|dict]`: call a procedure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Call {
    /// Request id.
    pub request: u64,
    /// Options (`receive_progress`, `timeout`, ...).
    pub options: Dict,
    /// Procedure URI.
    pub procedure: String,
    /// Positional arguments.
    pub args: Option<Vec<Value>>,
    /// Keyword arguments.
    pub kwargs: Option<Dict>,
}

/// `[CANCEL, CALL.Request|id, Options|dict]`: cancel a call (advanced profile).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cancel {
    /// Id of the CALL request.
    pub request: u64,
    /// Options (`mode`: `skip`, `kill`, `killnowait`).
    pub options: Dict,
}

/// `[RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list,
/// YIELD.ArgumentsKw|dict]`: call result (spec name `RESULT`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultMessage {
    /// Id of the CALL request.
    pub request: u64,
    /// Details (`progress`, ...).
    pub details: Dict,
    /// Positional results.
    pub args: Option<Vec<Value>>,
    /// Keyword results.
    pub kwargs: Option<Dict>,
}

/// `[REGISTER, Request|id, Options|dict, Procedure|uri]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Register {
    /// Request id.
    pub request: u64,
    /// Options (`match`, `invoke`, ...).
    pub options: Dict,
    /// Procedure URI or pattern.
    pub procedure: String,
}

/// `[REGISTERED, REGISTER.Request|id, Registration|id]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Registered {
    /// Id of the REGISTER request.
    pub request: u64,
    /// Registration id.
    pub registration: u64,
}

/// `[UNREGISTER, Request|id, REGISTERED.Registration|id]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unregister {
    /// Request id.
    pub request: u64,
    /// Registration id to end.
    pub registration: u64,
}

/// `[UNREGISTERED, UNREGISTER.Request|id, Details|dict]`; request id 0 with
/// `details.registration`/`reason` when the router revokes a registration.
/// `details` is omitted on the wire if empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unregistered {
    /// Id of the UNREGISTER request, or 0 for a revocation.
    pub request: u64,
    /// Details (empty if absent).
    pub details: Dict,
}

/// `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict,
/// CALL.Arguments|list, CALL.ArgumentsKw|dict]`: the dealer invokes an
/// endpoint of the callee.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Invocation {
    /// Request id (chosen by the dealer).
    pub request: u64,
    /// Registration the call is for.
    pub registration: u64,
    /// Details (`receive_progress`, `caller`, `procedure`, ...).
    pub details: Dict,
    /// Positional arguments.
    pub args: Option<Vec<Value>>,
    /// Keyword arguments.
    pub kwargs: Option<Dict>,
}

/// `[INTERRUPT, INVOCATION.Request|id, Options|dict]`: the dealer cancels an
/// invocation (advanced profile).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interrupt {
    /// Id of the INVOCATION request.
    pub request: u64,
    /// Options (`mode`, `reason`).
    pub options: Dict,
}

/// `[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list,
/// ArgumentsKw|dict]`: the callee's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Yield {
    /// Id of the INVOCATION request.
    pub request: u64,
    /// Options (`progress`, ...).
    pub options: Dict,
    /// Positional results.
    pub args: Option<Vec<Value>>,
    /// Keyword results.
    pub kwargs: Option<Dict>,
}

/// Any WAMP v2 message.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::message::{Message, MessageType, Publish};
///
/// let msg = Message::Publish(Publish { request: 9, topic: "com.example.t".into(), ..Publish::default() });
/// assert_eq!(msg.message_type(), MessageType::Publish);
/// assert_eq!(msg.request_id(), Some(9));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// HELLO (1)
    Hello(Hello),
    /// WELCOME (2)
    Welcome(Welcome),
    /// ABORT (3)
    Abort(Abort),
    /// CHALLENGE (4)
    Challenge(Challenge),
    /// AUTHENTICATE (5)
    Authenticate(Authenticate),
    /// GOODBYE (6)
    Goodbye(Goodbye),
    /// ERROR (8)
    Error(ErrorMessage),
    /// PUBLISH (16)
    Publish(Publish),
    /// PUBLISHED (17)
    Published(Published),
    /// SUBSCRIBE (32)
    Subscribe(Subscribe),
    /// SUBSCRIBED (33)
    Subscribed(Subscribed),
    /// UNSUBSCRIBE (34)
    Unsubscribe(Unsubscribe),
    /// UNSUBSCRIBED (35)
    Unsubscribed(Unsubscribed),
    /// EVENT (36)
    Event(Event),
    /// CALL (48)
    Call(Call),
    /// CANCEL (49)
    Cancel(Cancel),
    /// RESULT (50)
    Result(ResultMessage),
    /// REGISTER (64)
    Register(Register),
    /// REGISTERED (65)
    Registered(Registered),
    /// UNREGISTER (66)
    Unregister(Unregister),
    /// UNREGISTERED (67)
    Unregistered(Unregistered),
    /// INVOCATION (68)
    Invocation(Invocation),
    /// INTERRUPT (69)
    Interrupt(Interrupt),
    /// YIELD (70)
    Yield(Yield),
}

macro_rules! message_from {
    ($($variant:ident($ty:ident)),* $(,)?) => {
        $(
            impl From<$ty> for Message {
                fn from(m: $ty) -> Message {
                    Message::$variant(m)
                }
            }
        )*

        impl Message {
            /// The type of this message.
            pub fn message_type(&self) -> MessageType {
                match self {
                    $( Message::$variant(_) => MessageType::$variant, )*
                }
            }
        }
    };
}

message_from!(
    Hello(Hello),
    Welcome(Welcome),
    Abort(Abort),
    Challenge(Challenge),
    Authenticate(Authenticate),
    Goodbye(Goodbye),
    Error(ErrorMessage),
    Publish(Publish),
    Published(Published),
    Subscribe(Subscribe),
    Subscribed(Subscribed),
    Unsubscribe(Unsubscribe),
    Unsubscribed(Unsubscribed),
    Event(Event),
    Call(Call),
    Cancel(Cancel),
    Result(ResultMessage),
    Register(Register),
    Registered(Registered),
    Unregister(Unregister),
    Unregistered(Unregistered),
    Invocation(Invocation),
    Interrupt(Interrupt),
    Yield(Yield),
);

impl Message {
    /// The request id the message carries or answers (`Request|id` of
    /// requests, `REQUEST.Request|id` of replies), if it has one.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Abort(_)
            | Message::Challenge(_)
            | Message::Authenticate(_)
            | Message::Goodbye(_)
            | Message::Event(_) => None,
            Message::Error(m) => Some(m.request),
            Message::Publish(m) => Some(m.request),
            Message::Published(m) => Some(m.request),
            Message::Subscribe(m) => Some(m.request),
            Message::Subscribed(m) => Some(m.request),
            Message::Unsubscribe(m) => Some(m.request),
            Message::Unsubscribed(m) => Some(m.request),
            Message::Call(m) => Some(m.request),
            Message::Cancel(m) => Some(m.request),
            Message::Result(m) => Some(m.request),
            Message::Register(m) => Some(m.request),
            Message::Registered(m) => Some(m.request),
            Message::Unregister(m) => Some(m.request),
            Message::Unregistered(m) => Some(m.request),
            Message::Invocation(m) => Some(m.request),
            Message::Interrupt(m) => Some(m.request),
            Message::Yield(m) => Some(m.request),
        }
    }
}

#[cfg(test)]
mod tests;
