//! Messages from the router: state checks, request matching, events.

use tracing::{debug, warn};

use super::advanced::{is_crossbar, payload_scheme};
use super::RunningInvocation;
use super::*;
use crate::wamp::message::{
    Challenge as ChallengeMsg, Event as EventMsg, Interrupt, Invocation, Published, Registered,
    ResultMessage, Subscribed, Unregistered, Unsubscribed, Welcome,
};
use crate::wamp::payload::EncodedPayload;
use crate::wamp::types::{CallDetails, Challenge, EventDetails};

fn get_str(d: &Dict, key: &str) -> Option<String> {
    d.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn get_bool(d: &Dict, key: &str) -> Option<bool> {
    d.get(key).and_then(Value::as_bool)
}

fn payload(args: Option<Vec<Value>>, kwargs: Option<Dict>) -> (Vec<Value>, Dict) {
    (args.unwrap_or_default(), kwargs.unwrap_or_default())
}

impl<T: SessionTypes> Protocol<T> {
    /// Processes one message from the router.
    pub fn handle_message(&mut self, msg: Message) {
        if self.dead {
            debug!(msg_type = %msg.message_type(), "ignoring message after the session ended");
            return;
        }
        match (self.state, msg) {
            (State::Establishing, Message::Welcome(w)) => self.on_welcome(w),
            (State::Establishing, Message::Challenge(c)) => self.on_challenge(c),
            (State::Establishing | State::Challenging, Message::Abort(a)) => {
                self.on_close_from_router(a.reason, a.details, false)
            }
            (State::Established, Message::Goodbye(g)) => {
                self.on_close_from_router(g.reason, g.details, true)
            }
            // ABORT is only defined while joining, but a router that sends it later has
            // ended the session all the same: close without answering.
            (State::Established | State::Closing, Message::Abort(a)) => {
                self.on_close_from_router(a.reason, a.details, false);
                self.events.push_back(Event::CloseTransport);
            }
            (State::Closing, Message::Goodbye(g)) => {
                let details = CloseDetails::new(g.reason.clone(), g.message().map(str::to_owned));
                self.close_session(details, Error::SessionClosed { reason: g.reason });
            }
            (State::Closing, m) => {
                // Messages the router sent before it saw our GOODBYE: dropped.
                debug!(msg_type = %m.message_type(), "ignoring message while closing");
            }
            (State::Established, m) => self.on_established(m),
            (state, m) => self.violation(format!(
                "unexpected {} in session state {state:?}",
                m.message_type()
            )),
        }
    }

    fn on_welcome(&mut self, w: Welcome) {
        let d = &w.details;
        let details = SessionDetails {
            realm: w.realm().map_or_else(|| self.realm.clone(), str::to_owned),
            session: w.session,
            authid: get_str(d, "authid"),
            authrole: get_str(d, "authrole"),
            authmethod: get_str(d, "authmethod"),
            authprovider: get_str(d, "authprovider"),
            authextra: w.authextra().cloned(),
            serializer: self.serializer.clone(),
            transport_peer: self.peer.clone(),
            resumed: get_bool(d, "resumed"),
            resumable: get_bool(d, "resumable"),
            resume_token: get_str(d, "resume_token"),
            router_roles: w.roles().cloned().unwrap_or_default(),
        };
        self.state = State::Established;
        self.router_is_crossbar = is_crossbar(d);
        self.session = Some(details.clone());
        self.events.push_back(Event::Joined(details));
    }

    fn on_challenge(&mut self, c: ChallengeMsg) {
        self.state = State::Challenging;
        self.events.push_back(Event::Challenge(Challenge {
            method: c.method,
            extra: c.extra,
        }));
    }

    /// GOODBYE (answered with GOODBYE `wamp.close.goodbye_and_out`) or ABORT.
    fn on_close_from_router(&mut self, reason: String, details: Dict, reply: bool) {
        if reply {
            self.outgoing.push_back(Message::Goodbye(Goodbye {
                details: Dict::new(),
                reason: ApplicationError::GOODBYE_AND_OUT.to_owned(),
            }));
        }
        let message = get_str(&details, "message");
        self.close_session(
            CloseDetails::new(reason.clone(), message),
            Error::SessionClosed { reason },
        );
    }

    fn on_established(&mut self, msg: Message) {
        match msg {
            Message::Result(m) => self.on_result(m),
            Message::Error(m) => self.on_error(m),
            Message::Published(m) => self.on_published(m),
            Message::Subscribed(m) => self.on_subscribed(m),
            Message::Unsubscribed(m) => self.on_unsubscribed(m),
            Message::Registered(m) => self.on_registered(m),
            Message::Unregistered(m) => self.on_unregistered(m),
            Message::Event(m) => self.on_event(m),
            Message::Invocation(m) => self.on_invocation(m),
            Message::Interrupt(m) => self.on_interrupt(m),
            m => self.violation(format!(
                "unexpected {} in an established session",
                m.message_type()
            )),
        }
    }

    /// Takes the pending request `request` if it is of type `ty`; anything else is a
    /// protocol violation.
    fn take_pending(&mut self, request: u64, ty: MessageType, answer: &str) -> Option<Pending<T>> {
        match self.pending.get(&request) {
            Some(p) if p.request_type() == ty => self.pending.remove(&request),
            Some(p) => {
                let expected = p.request_type();
                self.violation(format!(
                    "{answer} for request {request}, which is a {expected}"
                ));
                None
            }
            None => {
                self.violation(format!("{answer} for unknown request {request}"));
                None
            }
        }
    }

    fn on_result(&mut self, m: ResultMessage) {
        let progress = m.progress();
        let (args, kwargs) = payload(m.args, m.kwargs);
        let decoded = match self.pending.get(&m.request) {
            Some(Pending::Call { procedure, .. }) => {
                self.decode_payload(false, procedure, &m.details, args, kwargs)
            }
            _ => Ok((args, kwargs)),
        };
        let result = match decoded {
            Ok((args, kwargs)) => CallResult { args, kwargs },
            Err(e) => {
                // The call fails with the codec's error; later answers are dropped.
                let token = match self.pending.get_mut(&m.request) {
                    Some(Pending::Call { token, .. }) => token.take(),
                    _ => None,
                };
                if !progress {
                    self.pending.remove(&m.request);
                }
                if let Some(token) = token {
                    self.fail(token, Error::Application(e));
                }
                return;
            }
        };
        if progress {
            match self.pending.get(&m.request) {
                Some(Pending::Call {
                    token: Some(_),
                    progress: true,
                    ..
                }) => self.events.push_back(Event::CallProgress {
                    request: m.request,
                    result,
                }),
                Some(Pending::Call { progress, .. }) => {
                    if !progress {
                        warn!(
                            request = m.request,
                            "progressive RESULT not asked for; dropped"
                        );
                    }
                }
                _ => self.violation(format!("progressive RESULT for unknown call {}", m.request)),
            }
            return;
        }
        if let Some(Pending::Call {
            token: Some(token), ..
        }) = self.take_pending(m.request, MessageType::Call, "RESULT")
        {
            self.events.push_back(Event::CallResult { token, result });
        }
    }

    fn on_error(&mut self, m: ErrorMessage) {
        if m.request_type == MessageType::Invocation {
            self.violation("ERROR for an INVOCATION sent to a client".to_owned());
            return;
        }
        let Some(p) = self.take_pending(m.request, m.request_type, "ERROR") else {
            return;
        };
        let (canceled, timeout) = match p {
            Pending::Call {
                canceled, timeout, ..
            } => (canceled, timeout),
            _ => (false, false),
        };
        let Some(token) = p.into_token() else {
            return;
        };
        let error = if canceled && m.error == ApplicationError::CANCELED {
            Error::Canceled
        } else if timeout
            && (m.error == ApplicationError::TIMEOUT || m.error == ApplicationError::CANCELED)
        {
            // The dealer enforced the call's timeout (Crossbar.io answers it with
            // `wamp.error.canceled`, "timeout reached").
            Error::Timeout
        } else {
            let (args, kwargs) = payload(m.args, m.kwargs);
            // Autobahn encodes error payloads too; one that does not decode stays raw.
            let encoded = match &self.codec {
                Some(codec) => EncodedPayload::from_message(&m.details, &args, &kwargs)
                    .and_then(Result::ok)
                    .map(|encoded| (codec, encoded)),
                None => None,
            };
            let (args, kwargs) = match encoded {
                Some((codec, encoded)) => codec
                    .decode(false, &m.error, encoded)
                    .unwrap_or((args, kwargs)),
                None => (args, kwargs),
            };
            Error::Application(ApplicationError {
                error: m.error,
                args,
                kwargs,
                details: m.details,
            })
        };
        self.fail(token, error);
    }

    fn on_published(&mut self, m: Published) {
        if let Some(Pending::Publish { token }) =
            self.take_pending(m.request, MessageType::Publish, "PUBLISHED")
        {
            self.events.push_back(Event::Published {
                token,
                publication: m.publication,
            });
        }
    }

    fn on_subscribed(&mut self, m: Subscribed) {
        let Some(Pending::Subscribe {
            token,
            topic,
            handler,
        }) = self.take_pending(m.request, MessageType::Subscribe, "SUBSCRIBED")
        else {
            return;
        };
        let local = self.next_handler;
        self.next_handler += 1;
        // A router answers a second subscribe to the same topic with the same id: the
        // handler joins the existing subscription.
        self.subscriptions
            .entry(m.subscription)
            .or_insert_with(|| SubscriptionEntry {
                topic,
                handlers: Vec::new(),
            })
            .handlers
            .push((local, handler));
        self.events.push_back(Event::Subscribed {
            token,
            subscription: m.subscription,
            handler: local,
        });
    }

    fn on_unsubscribed(&mut self, m: Unsubscribed) {
        if m.request == 0 {
            // Router-initiated revocation (advanced profile).
            let Some(sub) = m.subscription() else {
                self.violation("UNSUBSCRIBED revocation without a subscription id".to_owned());
                return;
            };
            if self.subscriptions.remove(&sub).is_some() {
                self.events.push_back(Event::SubscriptionRevoked {
                    subscription: sub,
                    reason: m.reason().map(str::to_owned),
                });
            } else {
                debug!(
                    subscription = sub,
                    "revocation of an unknown subscription ignored"
                );
            }
            return;
        }
        if let Some(Pending::Unsubscribe {
            token,
            subscription,
        }) = self.take_pending(m.request, MessageType::Unsubscribe, "UNSUBSCRIBED")
        {
            // A handler added meanwhile (same id from a new SUBSCRIBE) keeps the entry.
            if self
                .subscriptions
                .get(&subscription)
                .is_some_and(|e| e.handlers.is_empty())
            {
                self.subscriptions.remove(&subscription);
            }
            self.events.push_back(Event::Unsubscribed { token });
        }
    }

    fn on_registered(&mut self, m: Registered) {
        if self.registrations.contains_key(&m.registration) {
            self.violation(format!(
                "REGISTERED with registration id {} already in use",
                m.registration
            ));
            return;
        }
        if let Some(Pending::Register {
            token,
            procedure,
            endpoint,
        }) = self.take_pending(m.request, MessageType::Register, "REGISTERED")
        {
            self.registrations.insert(
                m.registration,
                RegistrationEntry {
                    procedure,
                    endpoint,
                },
            );
            self.events.push_back(Event::Registered {
                token,
                registration: m.registration,
            });
        }
    }

    fn on_unregistered(&mut self, m: Unregistered) {
        if m.request == 0 {
            let Some(reg) = m.registration() else {
                self.violation("UNREGISTERED revocation without a registration id".to_owned());
                return;
            };
            if self.registrations.remove(&reg).is_some() {
                self.events.push_back(Event::RegistrationRevoked {
                    registration: reg,
                    reason: m.reason().map(str::to_owned),
                });
            } else {
                debug!(
                    registration = reg,
                    "revocation of an unknown registration ignored"
                );
            }
            return;
        }
        if let Some(Pending::Unregister {
            token,
            registration,
        }) = self.take_pending(m.request, MessageType::Unregister, "UNREGISTERED")
        {
            self.registrations.remove(&registration);
            self.events.push_back(Event::Unregistered { token });
        }
    }

    fn on_event(&mut self, m: EventMsg) {
        let Some(entry) = self.subscriptions.get(&m.subscription) else {
            self.violation(format!("EVENT for unknown subscription {}", m.subscription));
            return;
        };
        if entry.handlers.is_empty() {
            // Unsubscribe in flight.
            return;
        }
        let handlers = entry.handlers.iter().map(|(_, h)| h.clone()).collect();
        let topic = m.topic().map_or_else(|| entry.topic.clone(), str::to_owned);
        let d = &m.details;
        let mut details = EventDetails {
            subscription: m.subscription,
            publication: m.publication,
            publisher: m.publisher(),
            publisher_authid: m.publisher_authid().map(str::to_owned),
            publisher_authrole: m.publisher_authrole().map(str::to_owned),
            topic: None,
            retained: m.retained(),
            enc_algo: payload_scheme(d),
            details: m.details.clone(),
        };
        let (args, kwargs) = payload(m.args, m.kwargs);
        let (args, kwargs) = match self.decode_payload(true, &topic, &details.details, args, kwargs)
        {
            Ok(p) => {
                details.topic = Some(topic);
                p
            }
            Err(e) => {
                warn!(subscription = m.subscription, error = %e, "event payload not decoded; dropped");
                self.events.push_back(Event::PayloadError {
                    error: e,
                    message: format!("decoding an event on '{topic}'"),
                });
                return;
            }
        };
        self.events.push_back(Event::Event {
            handlers,
            details,
            args,
            kwargs,
        });
    }

    fn on_invocation(&mut self, mut m: Invocation) {
        let Some(entry) = self.registrations.get(&m.registration) else {
            self.violation(format!(
                "INVOCATION for unknown registration {}",
                m.registration
            ));
            return;
        };
        if self.closed_inputs.contains(&m.request) {
            // Input for an invocation that already ended: dropped.
            if !m.progress() {
                self.closed_inputs.remove(&m.request);
            }
            return;
        }
        match self.invocations.get(&m.request) {
            Some(running) if running.input_open => {
                self.on_invocation_input(m);
                return;
            }
            Some(_) => {
                self.violation(format!(
                    "INVOCATION reuses running request id {}",
                    m.request
                ));
                return;
            }
            None => {}
        }
        let receive_progress = m.receive_progress();
        let procedure = m
            .procedure()
            .map_or_else(|| entry.procedure.clone(), str::to_owned);
        let endpoint = entry.endpoint.clone();
        let enc_algo = payload_scheme(&m.details);
        self.invocations.insert(
            m.request,
            RunningInvocation {
                receive_progress,
                procedure: procedure.clone(),
                input_open: m.progress(),
                encoded: enc_algo.is_some(),
            },
        );
        let (args, kwargs) = payload(m.args.take(), m.kwargs.take());
        let (args, kwargs) = match self.decode_payload(true, &procedure, &m.details, args, kwargs) {
            Ok(p) => p,
            Err(e) => {
                // The endpoint is not run; the caller learns why.
                self.end_invocation(m.request);
                let _ = self.send_invocation_error(m.request, e);
                return;
            }
        };
        let details = CallDetails {
            registration: m.registration,
            progress: None,
            input: None,
            caller: m.caller(),
            caller_authid: m.caller_authid().map(str::to_owned),
            caller_authrole: m.caller_authrole().map(str::to_owned),
            procedure: Some(procedure),
            timeout: self.invocation_timeout(&m.details),
            enc_algo,
            // The message's details are not needed any more: moved, not copied.
            details: std::mem::take(&mut m.details),
        };
        self.events.push_back(Event::Invocation {
            request: m.request,
            endpoint,
            details,
            receive_progress,
            args,
            kwargs,
        });
    }

    fn on_interrupt(&mut self, m: Interrupt) {
        if !self.invocations.contains_key(&m.request) {
            // The invocation already finished: the answer crossed the INTERRUPT.
            debug!(
                request = m.request,
                "INTERRUPT for a finished invocation ignored"
            );
            return;
        }
        let mode = m.mode().map(str::to_owned);
        if mode.as_deref() == Some("killnowait") {
            self.end_invocation(m.request);
        }
        self.events.push_back(Event::Interrupt {
            request: m.request,
            mode,
            reason: m.reason().map(str::to_owned),
        });
    }
}
