//! The sans-IO WAMP client session: messages in, messages and events out.
//!
//! [`Protocol`] tracks the session state (Closed → Establishing → (Challenging) →
//! Established → Closing → Closed), the request ids it hands out, the requests waiting
//! for an answer, the subscriptions, registrations and running invocations. It does no
//! IO and reads no clock: the caller feeds it received messages
//! ([`handle_message`](Protocol::handle_message)) and requests (`call`, `subscribe`,
//! ...), then drains the messages to send ([`poll_outgoing`](Protocol::poll_outgoing))
//! and the events to act on ([`poll_event`](Protocol::poll_event)).
//!
//! The caller attaches its own values to requests and handlers through
//! [`SessionTypes`]: a *token* per request (e.g. a channel to answer a future), a
//! handler per local subscription and an endpoint per registration. Every request's
//! token comes back exactly once, in a success event or in
//! [`Event::RequestFailed`] — also when the session closes or the transport is lost,
//! so no waiting future is ever left hanging.
//!
//! A message that is wrong for the state (an answer to an unknown request, a WELCOME
//! while established, a message only routers receive ...) is a protocol violation: the
//! session queues an ABORT (`wamp.error.protocol_violation`), fails everything pending,
//! emits [`Event::Left`] and [`Event::CloseTransport`], and ignores all further input.

mod advanced;
mod event;
mod incoming;
mod progressive;
mod requests;

pub use advanced::client_roles;
pub use event::Event;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use tracing::warn;

use super::error::{ApplicationError, Error};
use super::message::{
    Abort, Authenticate, Call, Cancel, ErrorMessage, Goodbye, Hello, Message, MessageType, Publish,
    Register, Subscribe, Unregister, Unsubscribe, Yield, MAX_ID,
};
use super::payload::PayloadCodec;
use super::types::{
    CallResult, CancelMode, CloseDetails, HelloDetails, SessionDetails, TimeoutUnit,
};
use super::uri::{validate_uri, UriCheck};
use super::value::{Dict, Value};

/// The types a user of [`Protocol`] attaches to requests, subscriptions and
/// registrations.
pub trait SessionTypes {
    /// Attached to each request; returned in the event that completes it.
    type Token;
    /// Attached to each local subscription; cloned into every [`Event::Event`].
    type EventHandler: Clone;
    /// Attached to each registration; cloned into every [`Event::Invocation`].
    type Endpoint: Clone;
}

/// The state of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No session (not joined yet, or left).
    Closed,
    /// HELLO (or AUTHENTICATE) sent, waiting for WELCOME, CHALLENGE or ABORT.
    Establishing,
    /// CHALLENGE received, waiting for the application to authenticate.
    Challenging,
    /// Joined to a realm.
    Established,
    /// GOODBYE sent, waiting for the router's GOODBYE.
    Closing,
}

/// A request waiting for the router's answer.
enum Pending<T: SessionTypes> {
    Call {
        /// `None` once the caller gave up on the call (answers are then dropped).
        token: Option<T::Token>,
        /// The procedure called (for the payload codec).
        procedure: String,
        progress: bool,
        canceled: bool,
        /// The call has a timeout (a router's cancel then means it timed out).
        timeout: bool,
        /// A progressive call invocation whose last input chunk is still to be sent.
        input_open: bool,
    },
    Subscribe {
        token: T::Token,
        topic: String,
        handler: T::EventHandler,
    },
    Unsubscribe {
        token: T::Token,
        subscription: u64,
    },
    Publish {
        token: T::Token,
    },
    Register {
        token: T::Token,
        procedure: String,
        endpoint: T::Endpoint,
    },
    Unregister {
        token: T::Token,
        registration: u64,
    },
}

impl<T: SessionTypes> Pending<T> {
    fn request_type(&self) -> MessageType {
        match self {
            Pending::Call { .. } => MessageType::Call,
            Pending::Subscribe { .. } => MessageType::Subscribe,
            Pending::Unsubscribe { .. } => MessageType::Unsubscribe,
            Pending::Publish { .. } => MessageType::Publish,
            Pending::Register { .. } => MessageType::Register,
            Pending::Unregister { .. } => MessageType::Unregister,
        }
    }

    fn into_token(self) -> Option<T::Token> {
        match self {
            Pending::Call { token, .. } => token,
            Pending::Subscribe { token, .. }
            | Pending::Unsubscribe { token, .. }
            | Pending::Publish { token }
            | Pending::Register { token, .. }
            | Pending::Unregister { token, .. } => Some(token),
        }
    }
}

struct SubscriptionEntry<H> {
    topic: String,
    /// Local handlers by local id; empty while the UNSUBSCRIBE is in flight.
    handlers: Vec<(u64, H)>,
}

/// A running invocation.
struct RunningInvocation {
    /// The caller accepts progressive results.
    receive_progress: bool,
    /// The procedure invoked (for the payload codec).
    procedure: String,
    /// A progressive call invocation whose last input chunk has not arrived yet.
    input_open: bool,
    /// The INVOCATION's payload came encoded: only then is the YIELD encoded (as
    /// Autobahn does), so a caller without the codec can read its result.
    encoded: bool,
}

struct RegistrationEntry<E> {
    procedure: String,
    endpoint: E,
}

/// The sans-IO WAMP client session state machine. See the [module docs](self).
///
/// # Examples
///
/// A session joined and a call made with no IO at all: the router's answers are
/// written by hand.
///
/// ```
/// use autobahn::wamp::message::{Message, ResultMessage, Welcome};
/// use autobahn::wamp::protocol::{Event, Protocol, SessionTypes, State};
/// use autobahn::wamp::HelloDetails;
/// use autobahn::{dict, list};
///
/// /// Requests carry a name; no handlers or endpoints in this example.
/// struct Types;
/// impl SessionTypes for Types {
///     type Token = &'static str;
///     type EventHandler = ();
///     type Endpoint = ();
/// }
///
/// let mut session: Protocol<Types> = Protocol::new("json", "tcp:127.0.0.1:8080");
/// session.join(&HelloDetails::new("realm1"))?;
/// assert!(matches!(session.poll_outgoing(), Some(Message::Hello(h)) if h.realm == "realm1"));
///
/// session.handle_message(Message::Welcome(Welcome { session: 42, details: dict! {} }));
/// assert!(matches!(session.poll_event(), Some(Event::Joined(d)) if d.session == 42));
/// assert_eq!(session.state(), State::Established);
///
/// let request = session
///     .call("com.example.add2", list![2, 3], dict! {}, dict! {}, "my call")
///     .expect("established");
/// assert!(matches!(session.poll_outgoing(), Some(Message::Call(c)) if c.request == request));
///
/// session.handle_message(Message::Result(ResultMessage {
///     request,
///     details: dict! {},
///     args: Some(list![5]),
///     kwargs: None,
/// }));
/// match session.poll_event() {
///     Some(Event::CallResult { token, result }) => {
///         assert_eq!(token, "my call");
///         assert_eq!(result.value().as_i64(), Some(5));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), autobahn::wamp::Error>(())
/// ```
pub struct Protocol<T: SessionTypes> {
    state: State,
    /// After a protocol violation or transport loss: all input is ignored.
    dead: bool,
    serializer: String,
    peer: String,
    realm: String,
    session: Option<SessionDetails>,
    next_request: u64,
    next_handler: u64,
    pending: HashMap<u64, Pending<T>>,
    subscriptions: HashMap<u64, SubscriptionEntry<T::EventHandler>>,
    registrations: HashMap<u64, RegistrationEntry<T::Endpoint>>,
    /// Running invocations by request id.
    invocations: HashMap<u64, RunningInvocation>,
    /// Invocations that ended while the caller was still streaming input: their later
    /// input chunks are dropped (not taken for new invocations) until the last one.
    closed_inputs: HashSet<u64>,
    outgoing: VecDeque<Message>,
    events: VecDeque<Event<T>>,
    /// The unit of call timeouts, if set by the application.
    timeout_unit: Option<TimeoutUnit>,
    /// The router said in WELCOME that it is Crossbar.io.
    router_is_crossbar: bool,
    /// Encodes and decodes payloads (payload transparency).
    codec: Option<Arc<dyn PayloadCodec>>,
}

fn message_details(message: Option<&str>) -> Dict {
    let mut d = Dict::new();
    if let Some(m) = message {
        d.insert("message".into(), Value::from(m));
    }
    d
}

fn opt_payload(args: Vec<Value>, kwargs: Dict) -> (Option<Vec<Value>>, Option<Dict>) {
    (
        (!args.is_empty()).then_some(args),
        (!kwargs.is_empty()).then_some(kwargs),
    )
}

impl<T: SessionTypes> Protocol<T> {
    /// A closed session over a transport using `serializer` (`json`, ...) to `peer`
    /// (both only reported in [`SessionDetails`]).
    pub fn new(serializer: impl Into<String>, peer: impl Into<String>) -> Protocol<T> {
        Protocol {
            state: State::Closed,
            dead: false,
            serializer: serializer.into(),
            peer: peer.into(),
            realm: String::new(),
            session: None,
            next_request: 1,
            next_handler: 1,
            pending: HashMap::new(),
            subscriptions: HashMap::new(),
            registrations: HashMap::new(),
            invocations: HashMap::new(),
            closed_inputs: HashSet::new(),
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            timeout_unit: None,
            router_is_crossbar: false,
            codec: None,
        }
    }

    /// The session state.
    pub fn state(&self) -> State {
        self.state
    }

    /// `true` while joined to a realm (Autobahn's `is_attached`).
    pub fn is_attached(&self) -> bool {
        self.state == State::Established
    }

    /// `true` once a protocol violation or transport loss ended this protocol for good.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The details of the established session.
    pub fn session_details(&self) -> Option<&SessionDetails> {
        self.session.as_ref()
    }

    /// The next message to send.
    pub fn poll_outgoing(&mut self) -> Option<Message> {
        self.outgoing.pop_front()
    }

    /// The next event to act on.
    pub fn poll_event(&mut self) -> Option<Event<T>> {
        self.events.pop_front()
    }

    /// The token of a call still waiting for its result (for progressive results).
    pub fn token(&self, request: u64) -> Option<&T::Token> {
        match self.pending.get(&request) {
            Some(Pending::Call { token, .. }) => token.as_ref(),
            _ => None,
        }
    }

    /// Number of requests waiting for an answer.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// `true` if the router announced `feature` for `role` in WELCOME.
    pub fn router_has_feature(&self, role: &str, feature: &str) -> bool {
        self.session
            .as_ref()
            .and_then(|s| s.router_roles.get(role))
            .and_then(|r| r.get("features"))
            .and_then(|f| f.get(feature))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The next request id: sequential from 1 in each session, wrapping after 2^53.
    fn next_id(&mut self) -> u64 {
        let id = self.next_request;
        self.next_request = if id >= MAX_ID { 1 } else { id + 1 };
        id
    }

    fn fail(&mut self, token: T::Token, error: Error) {
        self.events.push_back(Event::RequestFailed { token, error });
    }

    /// Checks the session is established; if not, fails `token` and returns `None`.
    fn ready(&mut self, token: T::Token) -> Option<T::Token> {
        if self.state == State::Established && !self.dead {
            Some(token)
        } else {
            self.fail(token, Error::SessionNotReady);
            None
        }
    }

    fn check_uri(&mut self, uri: &str, check: UriCheck, token: T::Token) -> Option<T::Token> {
        match validate_uri(uri, check) {
            Ok(()) => Some(token),
            Err(_) => {
                self.fail(token, Error::InvalidUri(uri.to_owned()));
                None
            }
        }
    }

    /// Sends HELLO to join `hello.realm` (Autobahn's `join`). Request ids restart at 1.
    pub fn join(&mut self, hello: &HelloDetails) -> Result<(), Error> {
        if self.dead {
            return Err(Error::TransportLost);
        }
        if self.state != State::Closed {
            return Err(Error::InvalidRequest("already joined or joining"));
        }
        // An empty realm is left to the router (sent as `null`).
        if !hello.realm.is_empty() && validate_uri(&hello.realm, UriCheck::LOOSE).is_err() {
            return Err(Error::InvalidUri(hello.realm.clone()));
        }
        let mut details = crate::dict! {
            "roles" => Value::Dict(client_roles()),
            "agent" => concat!("autobahn-rs-", env!("CARGO_PKG_VERSION")),
        };
        if !hello.authmethods.is_empty() {
            details.insert("authmethods".into(), Value::from(hello.authmethods.clone()));
        }
        let strings = [("authid", &hello.authid), ("authrole", &hello.authrole)];
        for (key, v) in strings {
            if let Some(s) = v {
                details.insert(key.into(), Value::from(s.as_str()));
            }
        }
        if let Some(extra) = &hello.authextra {
            details.insert("authextra".into(), Value::Dict(extra.clone()));
        }
        if let Some(r) = hello.resumable {
            details.insert("resumable".into(), Value::Bool(r));
        }
        if let Some(s) = hello.resume_session {
            details.insert("resume_session".into(), Value::from(s));
        }
        if let Some(t) = &hello.resume_token {
            details.insert("resume_token".into(), Value::from(t.as_str()));
        }
        self.realm = hello.realm.clone();
        self.next_request = 1;
        self.state = State::Establishing;
        self.outgoing.push_back(Message::Hello(Hello {
            realm: hello.realm.clone(),
            details,
        }));
        Ok(())
    }

    /// Answers a CHALLENGE with AUTHENTICATE.
    pub fn authenticate(&mut self, signature: String, extra: Dict) -> Result<(), Error> {
        if self.state != State::Challenging || self.dead {
            return Err(Error::InvalidRequest("no challenge to answer"));
        }
        self.state = State::Establishing;
        self.outgoing
            .push_back(Message::Authenticate(Authenticate { signature, extra }));
        Ok(())
    }

    /// Gives up joining: sends ABORT (e.g. `wamp.error.cannot_authenticate` when the
    /// challenge cannot be answered) and closes the session.
    pub fn abort(&mut self, reason: &str, message: Option<&str>) -> Result<(), Error> {
        if !matches!(self.state, State::Establishing | State::Challenging) || self.dead {
            return Err(Error::InvalidRequest(
                "abort is only possible while joining",
            ));
        }
        self.send_abort(reason, message);
        Ok(())
    }

    /// Refuses the WELCOME just received (the router failed to authenticate itself,
    /// e.g. a wrong SCRAM server signature): sends ABORT and closes the session at
    /// once. Only valid while established; the caller closes the transport.
    pub fn refuse_welcome(&mut self, reason: &str, message: &str) -> Result<(), Error> {
        if self.state != State::Established || self.dead {
            return Err(Error::SessionNotReady);
        }
        self.send_abort(reason, Some(message));
        Ok(())
    }

    fn send_abort(&mut self, reason: &str, message: Option<&str>) {
        self.outgoing.push_back(Message::Abort(Abort {
            details: message_details(message),
            reason: reason.to_owned(),
        }));
        let details = CloseDetails::new(reason, message.map(str::to_owned));
        self.close_session(
            details,
            Error::SessionClosed {
                reason: reason.to_owned(),
            },
        );
    }

    /// Sends GOODBYE (Autobahn's `leave`); the session closes when the router replies.
    pub fn leave(&mut self, reason: &str, message: Option<&str>) -> Result<(), Error> {
        if self.state != State::Established || self.dead {
            return Err(Error::SessionNotReady);
        }
        if validate_uri(reason, UriCheck::LOOSE).is_err() {
            return Err(Error::InvalidUri(reason.to_owned()));
        }
        self.state = State::Closing;
        self.outgoing.push_back(Message::Goodbye(Goodbye {
            details: message_details(message),
            reason: reason.to_owned(),
        }));
        Ok(())
    }

    /// The transport is gone: every pending request fails with
    /// [`Error::TransportLost`] and, if a session was open or opening, [`Event::Left`]
    /// follows with `wamp.close.transport_lost`.
    pub fn transport_lost(&mut self) {
        if self.dead {
            return;
        }
        self.close_session(
            CloseDetails::new(CloseDetails::REASON_TRANSPORT_LOST, None),
            Error::TransportLost,
        );
        self.dead = true;
    }

    /// Ends the session: fails everything pending with `error`, drops subscriptions,
    /// registrations and invocations, and emits [`Event::Left`] if a session was open.
    fn close_session(&mut self, details: CloseDetails, error: Error) {
        let mut pending: Vec<(u64, Pending<T>)> = self.pending.drain().collect();
        // Fail in request order, so the caller sees a deterministic sequence.
        pending.sort_by_key(|(id, _)| *id);
        for (_, p) in pending {
            if let Some(token) = p.into_token() {
                self.fail(token, error.clone());
            }
        }
        self.subscriptions.clear();
        self.registrations.clear();
        self.invocations.clear();
        self.closed_inputs.clear();
        self.session = None;
        self.router_is_crossbar = false;
        let was_open = self.state != State::Closed;
        self.state = State::Closed;
        if was_open {
            self.events.push_back(Event::Left(details));
        }
    }

    /// The peer sent something that is not a valid WAMP message (reported by the
    /// transport): handled as a protocol violation.
    pub fn malformed_message(&mut self, text: String) {
        if !self.dead {
            self.violation(text);
        }
    }

    /// A message taken from [`poll_outgoing`](Self::poll_outgoing) could not be sent
    /// (too large for the peer, not serializable) while the transport stays usable:
    /// the request it carried fails with `error`; a final YIELD is replaced by an ERROR
    /// (`wamp.error.runtime_error`) so the caller still gets an answer.
    pub fn message_not_sent(&mut self, msg: &Message, error: Error) {
        self.unsent(UnsentMessage::of(msg), error);
    }

    /// As [`message_not_sent`](Self::message_not_sent), from a summary taken before
    /// the message was handed to the transport (so that it need not be copied).
    pub fn unsent(&mut self, msg: UnsentMessage, error: Error) {
        use MessageType as T;
        match msg.kind {
            T::Yield if msg.final_yield => {
                let e = ApplicationError::with_message(
                    ApplicationError::RUNTIME_ERROR,
                    format!("result could not be sent: {error}"),
                );
                let _ = self.send_invocation_error(msg.request.unwrap_or_default(), e);
            }
            T::Call | T::Publish | T::Subscribe | T::Unsubscribe | T::Register | T::Unregister => {
                let token = msg
                    .request
                    .and_then(|id| self.pending.remove(&id))
                    .and_then(Pending::into_token);
                if let Some(token) = token {
                    self.fail(token, error);
                }
            }
            other => warn!(msg_type = %other, %error, "message not sent"),
        }
    }

    /// The peer broke the protocol: ABORT, close everything, ignore further input.
    fn violation(&mut self, text: String) {
        warn!(%text, "WAMP protocol violation");
        self.outgoing.push_back(Message::Abort(Abort {
            details: message_details(Some(&text)),
            reason: ApplicationError::PROTOCOL_VIOLATION.to_owned(),
        }));
        self.close_session(
            CloseDetails::new(ApplicationError::PROTOCOL_VIOLATION, Some(text.clone())),
            Error::ProtocolViolation(text),
        );
        self.events.push_back(Event::CloseTransport);
        self.dead = true;
    }
}

/// What [`Protocol::unsent`] needs to know of an outgoing message that the transport
/// refused: its type and request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsentMessage {
    kind: MessageType,
    request: Option<u64>,
    /// A YIELD that is not a progressive result.
    final_yield: bool,
}

impl UnsentMessage {
    /// The summary of `msg`.
    pub fn of(msg: &Message) -> Self {
        Self {
            kind: msg.message_type(),
            request: msg.request_id(),
            final_yield: matches!(msg, Message::Yield(y) if !y.progress()),
        }
    }

    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        self.kind
    }
}

#[cfg(test)]
mod tests;
