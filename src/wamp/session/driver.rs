//! The session task: owns the transport and the sans-IO protocol, runs commands from
//! the handles and supervises invocation tasks.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, Id, JoinError, JoinSet};
use tracing::{debug, info, trace, warn, Instrument};

mod event_handler;
mod invocations;
mod restore;

use event_handler::panic_payload_message;
pub(super) use event_handler::spawn_event_handler;

use super::life::LifeSender;
use super::registry::{current, Confirmed, Slot};
use super::*;
use crate::wamp::protocol::{Event, Protocol, SessionTypes, UnsentMessage};
use crate::wamp::transport::TransportError;
use crate::wamp::value::budget::dict_heap_size;

/// The token attached to each request: where its answer goes.
enum Token {
    /// Nothing waits (unacknowledged publish that was sent).
    None,
    Call {
        reply: Reply<CallResult>,
        on_progress: Option<ProgressHandler>,
    },
    Publish(Reply<Option<Publication>>),
    /// A subscription entry of the registry (its waiters get the answer).
    Subscribe {
        key: u64,
    },
    /// A registration entry of the registry (its waiters get the answer).
    Register {
        key: u64,
    },
    Done(Reply<()>),
}

/// One event for a subscription handler's task, with its charge to the session's
/// budget.
type EventItem = (Vec<Value>, Dict, EventDetails, HeldBytes);

struct Types;
impl SessionTypes for Types {
    type Token = Token;
    type EventHandler = mpsc::UnboundedSender<EventItem>;
    type Endpoint = Endpoint;
}

type InvocationResult = Result<CallResult, ApplicationError>;

struct Driver<T: Transport> {
    transport: T,
    proto: Protocol<Types>,
    session: Session,
    commands: mpsc::Receiver<Command>,
    life: LifeSender,
    tasks: JoinSet<InvocationResult>,
    /// Invocation task → invocation request id.
    task_requests: HashMap<Id, u64>,
    /// Running invocation request id → its task (for INTERRUPT).
    running: HashMap<u64, AbortHandle>,
    /// Running progressive call invocations → where their further input goes.
    inputs: HashMap<u64, mpsc::UnboundedSender<(CallResult, HeldBytes)>>,
    leave_waiters: Vec<Reply<CloseDetails>>,
    disconnect_waiters: Vec<oneshot::Sender<()>>,
    close_transport: bool,
    /// Unacknowledged publishes: answered once the transport took (or refused) them, so
    /// that an oversized event is an error to the caller, not a silent loss.
    publish_replies: HashMap<u64, Reply<Option<Publication>>>,
    /// The version of the session's settings applied to `proto`.
    settings_version: Option<u64>,
    /// This session's span (the task runs in it); `session_id` is recorded on join.
    span: tracing::Span,
    /// The runtime is `current_thread`: an endpoint's first poll runs in this task
    /// (see `start_invocation`).
    inline_first_poll: bool,
}

pub(super) fn spawn<T: Transport>(
    transport: T,
    session: Session,
    commands: mpsc::Receiver<Command>,
    life: LifeSender,
    span: tracing::Span,
) {
    let proto = Protocol::new(transport.serializer_id(), transport.peer());
    let mut driver = Driver {
        transport,
        proto,
        session,
        commands,
        life,
        tasks: JoinSet::new(),
        task_requests: HashMap::new(),
        running: HashMap::new(),
        inputs: HashMap::new(),
        leave_waiters: Vec::new(),
        disconnect_waiters: Vec::new(),
        close_transport: false,
        publish_replies: HashMap::new(),
        settings_version: None,
        span: span.clone(),
        inline_first_poll: tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread,
    };
    driver.configure();
    tokio::spawn(driver.run().instrument(span));
}

fn panic_message(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => panic_payload_message(p),
        Err(e) => e.to_string(),
    }
}

impl<T: Transport> Driver<T> {
    async fn run(mut self) {
        debug!("WAMP session transport attached");
        loop {
            if !self.flush().await {
                break;
            }
            if self.close_transport || !self.transport.is_open() {
                break;
            }
            // While what handlers hold is over budget, the router waits (the transport
            // stops reading); commands and ending invocations still run.
            let full = self.session.shared.queued.is_full();
            tokio::select! {
                () = self.session.shared.queued.below_limit(), if full => {}
                msg = self.transport.recv(), if !full => match msg {
                    Some(Ok(m)) => {
                        trace!(msg_type = m.message_type().name(), "received WAMP message");
                        self.configure();
                        self.proto.handle_message(m);
                    }
                    Some(Err(TransportError::Protocol(text))) => {
                        self.proto.malformed_message(text);
                    }
                    Some(Err(e)) => {
                        debug!(error = %e, "transport failed");
                        break;
                    }
                    None => break,
                },
                Some(cmd) = self.commands.recv() => {
                    self.configure();
                    self.command(cmd);
                }
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.invocation_done(done);
                }
            }
        }
        self.transport.close().await;
        debug!("WAMP session transport closed");
        for (_, r) in self.publish_replies.drain() {
            let _ = r.send(Err(Error::TransportLost));
        }
        self.proto.transport_lost();
        self.drain_events();
        self.tasks.abort_all();
        // Details first: once `connected` is false a new transport may be attached.
        self.set_details(None);
        self.session
            .shared
            .connected
            .store(false, Ordering::Release);
        for w in self.disconnect_waiters.drain(..) {
            let _ = w.send(());
        }
        self.life.send(SessionEvent::Disconnected);
        // Commands still queued fail when `self.commands` is dropped here.
    }

    /// Sends what the protocol queued and acts on its events until both are empty.
    /// Returns `false` if the transport failed.
    async fn flush(&mut self) -> bool {
        loop {
            self.drain_events();
            let Some(msg) = self.proto.poll_outgoing() else {
                return true;
            };
            let publish_reply = match &msg {
                crate::wamp::message::Message::Publish(p) => {
                    self.publish_replies.remove(&p.request)
                }
                _ => None,
            };
            // The transport takes the message; what a refusal needs is kept aside.
            let unsent = UnsentMessage::of(&msg);
            trace!(msg_type = msg.message_type().name(), "sending WAMP message");
            match self.transport.send(msg).await {
                Ok(()) => {
                    if let Some(r) = publish_reply {
                        let _ = r.send(Ok(None));
                    }
                }
                Err(
                    e @ (TransportError::MessageTooLarge { .. } | TransportError::Serialize(_)),
                ) => {
                    warn!(error = %e, msg_type = %unsent.message_type(), "message not sent");
                    if let Some(r) = publish_reply {
                        let _ = r.send(Err(Error::Transport(e.to_string())));
                    }
                    self.proto.unsent(unsent, Error::Transport(e.to_string()));
                }
                Err(e) => {
                    debug!(error = %e, "transport failed while sending");
                    return false;
                }
            }
        }
    }

    /// Applies the session's settings (payload codec, timeout unit) to the protocol
    /// if they changed since the last time.
    fn configure(&mut self) {
        let settings = lock(&self.session.shared.settings);
        if self.settings_version == Some(settings.version) {
            return;
        }
        self.settings_version = Some(settings.version);
        self.proto.set_payload_codec(settings.codec.clone());
        self.proto.set_timeout_unit(settings.timeout_unit);
    }

    fn set_details(&self, details: Option<SessionDetails>) {
        *lock(&self.session.shared.details) = details;
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, registry::Registry> {
        lock(&self.session.shared.registry)
    }

    fn user_error(&self, error: ApplicationError, message: String) {
        self.life.user_error(error, message);
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Join(details, reply) => {
                let _ = reply.send(self.proto.join(&details));
            }
            Command::Authenticate(signature, extra, reply) => {
                let _ = reply.send(self.proto.authenticate(signature, extra));
            }
            Command::Abort(reason, message, reply) => {
                let _ = reply.send(self.proto.abort(&reason, message.as_deref()));
            }
            Command::Leave(reason, message, reply) => {
                match self.proto.leave(&reason, message.as_deref()) {
                    Ok(()) => {
                        // Leaving deliberately ends the registrations for good.
                        let mut registry = self.registry();
                        registry.registrations.clear();
                        registry.subscriptions.clear();
                        drop(registry);
                        self.leave_waiters.push(reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Disconnect(reply) => {
                self.disconnect_waiters.push(reply);
                self.close_transport = true;
            }
            Command::Call {
                procedure,
                args,
                kwargs,
                options,
                on_progress,
                id,
                reply,
            } => {
                if reply.is_closed() {
                    return; // The caller gave up before the call was sent.
                }
                let token = Token::Call { reply, on_progress };
                if let Some(request) = self.proto.call(&procedure, args, kwargs, options, token) {
                    id.store(request, Ordering::Release);
                }
            }
            Command::Cancel {
                id,
                mode,
                abandon,
                reply,
            } => {
                let request = id.load(Ordering::Acquire);
                let result = if abandon {
                    // Dropping the token drops the reply channel: nobody listens.
                    drop(self.proto.abandon(request, mode));
                    Ok(())
                } else {
                    self.proto.cancel(request, mode)
                };
                if let Some(r) = reply {
                    let _ = r.send(result);
                }
            }
            Command::Publish {
                topic,
                args,
                kwargs,
                options,
                reply,
            } => {
                let ack = options.get("acknowledge").and_then(Value::as_bool) == Some(true);
                if ack {
                    self.proto
                        .publish(&topic, args, kwargs, options, Token::Publish(reply));
                } else {
                    // Only a failure comes back as an event; success is answered when the
                    // transport has taken the message (see `flush`).
                    let sent = self
                        .proto
                        .publish(&topic, args, kwargs, options, Token::None);
                    if let Some(request) = sent {
                        self.publish_replies.insert(request, reply);
                    } else if let Some(Event::RequestFailed { error, .. }) = self.proto.poll_event()
                    {
                        let _ = reply.send(Err(error));
                    }
                }
            }
            Command::Subscribe {
                topic,
                options,
                handler,
                reply,
            } => {
                self.subscribe(topic, options, handler, reply);
            }
            Command::Unsubscribe { key, reply } => {
                let entry = self.registry().subscriptions.remove(key);
                match entry {
                    None => {
                        let _ = reply.send(Err(Error::InvalidRequest("no such subscription")));
                    }
                    Some(entry) => {
                        for w in entry.waiters {
                            let _ = w.send(Err(Error::InvalidRequest("unsubscribed meanwhile")));
                        }
                        match entry.current {
                            Some((subscription, handler)) => {
                                self.proto
                                    .unsubscribe(subscription, handler, Token::Done(reply));
                            }
                            // Not subscribed now (a pending restore is undone when it
                            // completes).
                            None => {
                                let _ = reply.send(Ok(()));
                            }
                        }
                    }
                }
            }
            Command::Register {
                procedure,
                options,
                endpoint,
                reply,
            } => {
                self.register(procedure, options, endpoint, reply);
            }
            Command::Unregister { key, reply } => {
                let entry = self.registry().registrations.remove(key);
                match entry {
                    None => {
                        let _ = reply.send(Err(Error::InvalidRequest("no such registration")));
                    }
                    Some(entry) => {
                        for w in entry.waiters {
                            let _ = w.send(Err(Error::InvalidRequest("unregistered meanwhile")));
                        }
                        match entry.current {
                            Some(registration) => {
                                self.proto.unregister(registration, Token::Done(reply));
                            }
                            None => {
                                let _ = reply.send(Ok(()));
                            }
                        }
                    }
                }
            }
            Command::Progress {
                request,
                result,
                reply,
            } => {
                let _ = reply.send(self.proto.yield_result(request, result, true));
            }
            Command::CallInput {
                id,
                input,
                last,
                reply,
            } => {
                let request = id.load(Ordering::Acquire);
                let _ = reply.send(
                    self.proto
                        .call_input(request, input.args, input.kwargs, last),
                );
            }
        }
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.proto.poll_event() {
            self.event(ev);
        }
    }

    fn event(&mut self, ev: Event<Types>) {
        match ev {
            Event::Challenge(c) => {
                self.life.send(SessionEvent::Challenge(c));
            }
            Event::Joined(d) => {
                if let Err(e) = self.session.config().authentication.on_welcome(&d) {
                    tracing::warn!(error = %e, "refusing WELCOME");
                    // Closes the session: its Left event follows from the protocol.
                    let _ = self.proto.refuse_welcome(e.uri(), &e.to_string());
                    self.close_transport = true;
                    return;
                }
                self.span.record("session_id", d.session);
                debug!(session_id = d.session, authid = ?d.authid, authrole = ?d.authrole, "WAMP session joined");
                self.set_details(Some(d.clone()));
                self.life.send(SessionEvent::Joined(d));
                // Queued before anything `on_join` sends.
                self.restore();
            }
            Event::Left(d) => {
                debug!(reason = %d.reason, close_message = ?d.message, "WAMP session left");
                self.set_details(None);
                {
                    let mut registry = self.registry();
                    registry.registrations.session_ended();
                    registry.subscriptions.session_ended();
                }
                // Invocations of the ended session can no longer be answered.
                self.tasks.abort_all();
                self.running.clear();
                self.inputs.clear();
                for w in self.leave_waiters.drain(..) {
                    let _ = w.send(Ok(d.clone()));
                }
                self.life.send(SessionEvent::Left(d));
            }
            Event::CloseTransport => self.close_transport = true,
            Event::RequestFailed { token, error } => self.fail(token, error),
            Event::CallResult { token, result } => {
                if let Token::Call { reply, .. } = token {
                    let _ = reply.send(Ok(result));
                }
            }
            Event::CallProgress { request, result } => {
                if let Some(Token::Call {
                    on_progress: Some(f),
                    ..
                }) = self.proto.token(request)
                {
                    f(result);
                }
            }
            Event::Subscribed {
                token,
                subscription,
                handler,
            } => {
                if let Token::Subscribe { key } = token {
                    let confirmed = self
                        .registry()
                        .subscriptions
                        .confirmed(key, (subscription, handler));
                    match confirmed {
                        Confirmed::Reply(topic, waiters) => {
                            for w in waiters {
                                let s = self.subscription(subscription, topic.clone(), key);
                                let _ = w.send(Ok(s));
                            }
                        }
                        Confirmed::Orphan => {
                            // Unsubscribed while the restore was under way.
                            self.proto.unsubscribe(subscription, handler, Token::None);
                        }
                    }
                }
            }
            Event::Unsubscribed { token } | Event::Unregistered { token } => {
                if let Token::Done(reply) = token {
                    let _ = reply.send(Ok(()));
                }
            }
            Event::SubscriptionRevoked {
                subscription,
                reason,
            } => {
                info!(subscription, ?reason, "subscription revoked by the router");
                self.registry()
                    .subscriptions
                    .revoke(|(id, _)| id == subscription, reason.as_deref());
            }
            Event::RegistrationRevoked {
                registration,
                reason,
            } => {
                info!(registration, ?reason, "registration revoked by the router");
                self.registry()
                    .registrations
                    .revoke(|id| id == registration, reason.as_deref());
            }
            Event::Published { token, publication } => {
                if let Token::Publish(reply) = token {
                    let _ = reply.send(Ok(Some(Publication { id: publication })));
                }
            }
            Event::Registered {
                token,
                registration,
            } => {
                if let Token::Register { key } = token {
                    let confirmed = self.registry().registrations.confirmed(key, registration);
                    match confirmed {
                        Confirmed::Reply(procedure, waiters) => {
                            for w in waiters {
                                let r = self.registration(registration, procedure.clone(), key);
                                let _ = w.send(Ok(r));
                            }
                        }
                        Confirmed::Orphan => {
                            // Unregistered while the restore was under way.
                            self.proto.unregister(registration, Token::None);
                        }
                    }
                }
            }
            Event::Event {
                handlers,
                details,
                args,
                kwargs,
            } => {
                // Each copy counts against the budget until its handler is done.
                let size =
                    payload_size(&args, &kwargs).saturating_add(dict_heap_size(&details.details));
                // The last handler (usually the only one) takes the payload itself.
                let mut item = Some((args, kwargs, details));
                let mut handlers = handlers.into_iter().peekable();
                while let Some(h) = handlers.next() {
                    let this = match (handlers.peek(), &item) {
                        (Some(_), Some(i)) => Some(i.clone()),
                        _ => item.take(),
                    };
                    // A closed queue means the handler task is gone: nothing to do.
                    if let Some((args, kwargs, details)) = this {
                        let held = self.session.charge(size);
                        let _ = h.send((args, kwargs, details, held));
                    }
                }
            }
            Event::Invocation {
                request,
                endpoint,
                details,
                receive_progress,
                args,
                kwargs,
            } => self.start_invocation(request, endpoint, details, receive_progress, args, kwargs),
            Event::InvocationInput {
                request,
                input,
                last,
            } => self.invocation_input(request, input, last),
            Event::PayloadError { error, message } => self.user_error(error, message),
            Event::Interrupt { request, mode, .. } => self.interrupt(request, mode.as_deref()),
        }
    }
}

/// Fails a request that has no registry entry.
fn fail(token: Token, error: Error) {
    match token {
        Token::None | Token::Subscribe { .. } | Token::Register { .. } => {}
        Token::Call { reply, .. } => {
            let _ = reply.send(Err(error));
        }
        Token::Publish(reply) => {
            let _ = reply.send(Err(error));
        }
        Token::Done(reply) => {
            let _ = reply.send(Err(error));
        }
    }
}
