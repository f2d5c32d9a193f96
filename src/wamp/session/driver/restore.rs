//! The session task's side of restoring registrations and subscriptions: new
//! requests go through the session's registry, and a join restores what it holds.

use super::*;
use crate::wamp::session::registry::Claim;

impl<T: Transport> Driver<T> {
    pub(super) fn registration(&self, id: u64, procedure: String, key: u64) -> Registration {
        let status = self.registry().registrations.revocation(key);
        Registration {
            id,
            procedure,
            key,
            session: self.session.clone(),
            status,
        }
    }

    pub(super) fn subscription(&self, id: u64, topic: String, key: u64) -> Subscription {
        let status = self.registry().subscriptions.revocation(key);
        Subscription {
            id,
            topic,
            key,
            session: self.session.clone(),
            status,
        }
    }

    /// After a join: registers and subscribes again what the previous session had.
    pub(super) fn restore(&mut self) {
        let (registrations, subscriptions) = {
            let mut registry = self.registry();
            (
                registry.registrations.restore(),
                registry.subscriptions.restore(),
            )
        };
        if registrations.is_empty() && subscriptions.is_empty() {
            return;
        }
        info!(
            registrations = registrations.len(),
            subscriptions = subscriptions.len(),
            "restoring registrations and subscriptions"
        );
        for (key, procedure, options, slot) in registrations {
            let endpoint = endpoint_from(slot);
            self.proto
                .register(&procedure, options, endpoint, Token::Register { key });
        }
        for (key, topic, options, slot) in subscriptions {
            let queue = spawn_event_handler(slot, self.life.clone(), topic.clone());
            self.proto
                .subscribe(&topic, options, queue, Token::Subscribe { key });
        }
    }

    /// SUBSCRIBE for the application, unless it adopts a restored subscription.
    pub(super) fn subscribe(
        &mut self,
        topic: String,
        options: Dict,
        handler: EventHandler,
        reply: Reply<Subscription>,
    ) {
        let claimed = self
            .registry()
            .subscriptions
            .claim(&topic, &options, handler, reply);
        let key = match claimed {
            Claim::Ready(key, (id, _), reply) => {
                let _ = reply.send(Ok(self.subscription(id, topic, key)));
                return;
            }
            // Answered when the restore completes.
            Claim::Waiting => return,
            Claim::None(handler, reply) => {
                self.registry()
                    .subscriptions
                    .insert(&topic, options.clone(), handler, reply)
            }
        };
        let slot = self
            .registry()
            .subscriptions
            .get(key)
            .map(|e| e.handler.clone());
        let Some(slot) = slot else { return };
        let queue = spawn_event_handler(slot, self.life.clone(), topic.clone());
        self.proto
            .subscribe(&topic, options, queue, Token::Subscribe { key });
    }

    /// REGISTER for the application, unless it adopts a restored registration.
    pub(super) fn register(
        &mut self,
        procedure: String,
        options: Dict,
        endpoint: Endpoint,
        reply: Reply<Registration>,
    ) {
        let claimed = self
            .registry()
            .registrations
            .claim(&procedure, &options, endpoint, reply);
        let key = match claimed {
            Claim::Ready(key, id, reply) => {
                let _ = reply.send(Ok(self.registration(id, procedure, key)));
                return;
            }
            Claim::Waiting => return,
            Claim::None(endpoint, reply) => {
                self.registry()
                    .registrations
                    .insert(&procedure, options.clone(), endpoint, reply)
            }
        };
        let slot = self
            .registry()
            .registrations
            .get(key)
            .map(|e| e.handler.clone());
        let Some(slot) = slot else { return };
        self.proto.register(
            &procedure,
            options,
            endpoint_from(slot),
            Token::Register { key },
        );
    }

    /// A request failed: tells whoever waits, and updates the registry.
    pub(super) fn fail(&self, token: Token, error: Error) {
        let (refused, what) = match token {
            Token::Subscribe { key } => {
                let (waiters, refused) = self.registry().subscriptions.failed(key, &error);
                for w in waiters {
                    let _ = w.send(Err(error.clone()));
                }
                (refused, "subscription")
            }
            Token::Register { key } => {
                let (waiters, refused) = self.registry().registrations.failed(key, &error);
                for w in waiters {
                    let _ = w.send(Err(error.clone()));
                }
                (refused, "registration")
            }
            other => {
                fail(other, error);
                return;
            }
        };
        if refused {
            let message = format!("restoring a {what} failed");
            self.user_error(error.into(), message);
        }
    }
}

/// The endpoint given to the protocol for a registry entry: calls whatever handler
/// the entry's slot holds at invocation time.
fn endpoint_from(slot: Slot<Endpoint>) -> Endpoint {
    Arc::new(move |args, kwargs, details| current(&slot)(args, kwargs, details))
}
