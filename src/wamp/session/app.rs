//! Autobahn's `ApplicationSession` hooks as a trait, and the loop that drives them.

use std::collections::VecDeque;

use tracing::{warn, Instrument};

use super::*;

/// An application component (Autobahn's `ApplicationSession` subclass): async hooks
/// with default bodies, called in lifecycle order by [`run_session`].
///
/// Hooks run one at a time. `on_connect`, `on_challenge` and `on_join` are dropped
/// (canceled at their next `.await`) when the session leaves or the transport closes
/// while they run, so `on_leave` and `on_disconnect` always follow promptly. Use the
/// [`Session`] handle (cloneable, `'static`) to call, publish ... from hooks and from
/// tasks they spawn.
///
/// Under [`ApplicationRunner::run`](crate::wamp::runner::ApplicationRunner::run) one
/// component value and one [`Session`] serve every connection: after a reconnect the
/// hooks run again from `on_connect`, and the session restores the registrations and
/// subscriptions made earlier (see [`Session`]), so `on_join` need not register again
/// (registering the same URI with the same options again adopts the restored one).
///
/// # Examples
///
/// A component keeping state across reconnects, with a custom join and error hook:
///
/// ```no_run
/// use autobahn::wamp::{
///     ApplicationError, ApplicationRunner, ApplicationSession, CloseDetails, Session,
///     SessionDetails,
/// };
///
/// #[derive(Default)]
/// struct Counter {
///     joins: u32,
/// }
///
/// impl ApplicationSession for Counter {
///     async fn on_join(&mut self, session: &Session, details: SessionDetails) {
///         self.joins += 1;
///         println!("joined {} as session {} ({} joins)", details.realm, details.session, self.joins);
///         let _ = session; // register, subscribe, call ... here
///     }
///     async fn on_leave(&mut self, session: &Session, details: CloseDetails) {
///         println!("left: {}", details.reason);
///         session.disconnect().await; // what the default does
///     }
///     async fn on_user_error(&mut self, error: ApplicationError, message: String) {
///         eprintln!("{message}: {error}");
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let counter = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1")
///     .run(|_config| Counter::default())
///     .await?;
/// println!("done after {} joins", counter.joins);
/// # Ok(())
/// # }
/// ```
pub trait ApplicationSession: Send + 'static {
    /// The transport is connected. The default joins [`ComponentConfig::realm`] with
    /// the HELLO details of [`ComponentConfig::authentication`]
    /// ([`ComponentConfig::hello_details`]); without authenticators, anonymously.
    fn on_connect(&mut self, session: &Session) -> impl Future<Output = ()> + Send {
        let session = session.clone();
        async move {
            let hello = session.config().hello_details();
            if let Err(e) = session.join(hello).await {
                warn!(error = %e, "join failed");
            }
        }
    }

    /// The router demands authentication: return the signature (or ticket) to send
    /// in AUTHENTICATE. An error aborts the join with its URI
    /// (`wamp.error.cannot_authenticate` for an [`AuthError`](crate::wamp::auth::AuthError)).
    /// The default answers with the authenticator of [`ComponentConfig::authentication`]
    /// for the challenge's method.
    fn on_challenge(
        &mut self,
        session: &Session,
        challenge: Challenge,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        let authentication = session.config().authentication.clone();
        let channel = session.channel_ids();
        async move {
            // Key derivation (PBKDF2, Argon2) takes up to seconds: off the async workers.
            tokio::task::spawn_blocking(move || authentication.on_challenge(&challenge, &channel))
                .await
                .map_err(|e| Error::Transport(format!("authenticator failed: {e}")))?
                .map_err(Error::from)
        }
    }

    /// The session joined a realm.
    fn on_join(
        &mut self,
        session: &Session,
        details: SessionDetails,
    ) -> impl Future<Output = ()> + Send {
        let _ = (session, details);
        async {}
    }

    /// The session left the realm. The default disconnects the transport.
    fn on_leave(
        &mut self,
        session: &Session,
        details: CloseDetails,
    ) -> impl Future<Output = ()> + Send {
        let _ = details;
        let session = session.clone();
        async move { session.disconnect().await }
    }

    /// The transport is closed; the last hook.
    fn on_disconnect(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A handler failed: an event handler returned an error, an endpoint panicked, or
    /// `on_challenge` failed. The default logs it.
    fn on_user_error(
        &mut self,
        error: ApplicationError,
        message: String,
    ) -> impl Future<Output = ()> + Send {
        warn!(%error, context = %message, "user error");
        async {}
    }
}

/// How a [`run_session`] ended.
#[derive(Debug)]
pub struct RunOutcome<A> {
    /// The application component, handed back.
    pub app: A,
    /// Whether the session joined a realm at least once.
    pub joined: bool,
    /// The close details of the last time the session left, if it did.
    pub close: Option<CloseDetails>,
}

fn is_terminal(ev: &SessionEvent) -> bool {
    matches!(ev, SessionEvent::Left(_) | SessionEvent::Disconnected)
}

/// Runs `hook` until it completes, or until the session leaves or disconnects (then
/// the hook is dropped and that event returned). Other events are queued.
async fn run_hook<F: Future>(
    hook: F,
    life: &mut Lifecycle,
    queue: &mut VecDeque<SessionEvent>,
) -> Result<F::Output, SessionEvent> {
    tokio::pin!(hook);
    loop {
        tokio::select! {
            out = &mut hook => return Ok(out),
            ev = life.next() => match ev {
                Some(ev) if is_terminal(&ev) => return Err(ev),
                Some(ev) => queue.push_back(ev),
                None => return Err(SessionEvent::Disconnected),
            }
        }
    }
}

/// Runs one session of `app` over a connected transport: `on_connect`, then the hooks
/// for each lifecycle event until the transport closes and `on_disconnect` returned.
/// Each call starts a new [`Session`]; to keep one session (and its registrations)
/// across connections, use [`Session::attach`] and [`run_component`].
pub async fn run_session<T: Transport, A: ApplicationSession>(
    transport: T,
    app: A,
    config: ComponentConfig,
) -> RunOutcome<A> {
    let (session, life) = Session::start(transport, config);
    run_component(&session, life, app).await
}

/// Drives `app` through the lifecycle of `session` on its current transport (the
/// [`Lifecycle`] that [`Session::start`] or [`Session::attach`] returned): `on_connect`,
/// then the hooks for each event until the transport closes and `on_disconnect`
/// returned. This is what an application runner calls per connection.
pub async fn run_component<A: ApplicationSession>(
    session: &Session,
    life: Lifecycle,
    app: A,
) -> RunOutcome<A> {
    let span = life.span.clone();
    drive_component(session.clone(), life, app)
        .instrument(span)
        .await
}

/// [`run_component`]'s body, run in the session's span.
async fn drive_component<A: ApplicationSession>(
    session: Session,
    mut life: Lifecycle,
    mut app: A,
) -> RunOutcome<A> {
    let mut queue = VecDeque::new();
    let mut joined = false;
    let mut close = None;

    let mut next = run_hook(app.on_connect(&session), &mut life, &mut queue)
        .await
        .err();
    loop {
        let ev = if let Some(ev) = next.take() {
            // The session ended while a hook ran: deliver the queued errors, drop the
            // stale challenge/join events, then handle the end.
            while let Some(q) = queue.pop_front() {
                if let SessionEvent::UserError { error, message } = q {
                    app.on_user_error(error, message).await;
                }
            }
            ev
        } else if let Some(ev) = queue.pop_front() {
            ev
        } else {
            life.next().await.unwrap_or(SessionEvent::Disconnected)
        };
        match ev {
            SessionEvent::Challenge(c) => {
                let hook = app.on_challenge(&session, c);
                match run_hook(hook, &mut life, &mut queue).await {
                    Ok(Ok(signature)) => {
                        if let Err(e) = session.authenticate(signature, Dict::new()).await {
                            warn!(error = %e, "authenticate failed");
                        }
                    }
                    Ok(Err(e)) => {
                        let e = ApplicationError::from(e);
                        let reason = match e.error.as_str() {
                            ApplicationError::AUTHENTICATION_FAILED => e.error.clone(),
                            _ => ApplicationError::CANNOT_AUTHENTICATE.to_owned(),
                        };
                        let text = e.message().unwrap_or(&e.error).to_owned();
                        app.on_user_error(e, "authentication failed".into()).await;
                        if let Err(e) = session.abort(&reason, Some(&text)).await {
                            warn!(error = %e, "abort failed");
                        }
                    }
                    Err(ev) => next = Some(ev),
                }
            }
            SessionEvent::Joined(d) => {
                joined = true;
                next = run_hook(app.on_join(&session, d), &mut life, &mut queue)
                    .await
                    .err();
            }
            SessionEvent::Left(d) => {
                close = Some(d.clone());
                app.on_leave(&session, d).await;
            }
            SessionEvent::UserError { error, message } => {
                app.on_user_error(error, message).await;
            }
            SessionEvent::Disconnected => {
                // Deliver the errors that were still queued, then the last hook.
                while let Some(ev) = queue.pop_front() {
                    if let SessionEvent::UserError { error, message } = ev {
                        app.on_user_error(error, message).await;
                    }
                }
                app.on_disconnect().await;
                break;
            }
        }
    }
    RunOutcome { app, joined, close }
}
