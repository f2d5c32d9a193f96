//! Requests from the application: CALL, CANCEL, PUBLISH, SUBSCRIBE, UNSUBSCRIBE,
//! REGISTER, UNREGISTER and the answers to invocations (YIELD, ERROR).

use std::mem;

use tracing::warn;

use super::*;

impl<T: SessionTypes> Protocol<T> {
    /// Sends CALL. `options` is the `CALL.Options` dict; progressive results are
    /// delivered when it holds `receive_progress: true`; its `timeout` is in
    /// milliseconds and is sent in the router's [unit](Self::timeout_unit). The payload
    /// goes through the payload codec, if one is set. Returns the request id, or
    /// `None` if the request failed at once ([`Event::RequestFailed`] is queued).
    pub fn call(
        &mut self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        mut options: Dict,
        token: T::Token,
    ) -> Option<u64> {
        let token = self.ready(token)?;
        let token = self.check_uri(procedure, UriCheck::LOOSE, token)?;
        let (args, kwargs) = match self.encode_payload(true, procedure, args, kwargs, &mut options)
        {
            Ok(p) => p,
            Err(e) => {
                self.fail(token, Error::Application(e));
                return None;
            }
        };
        let input_open = options.get("progress").and_then(Value::as_bool) == Some(true);
        if input_open && !self.router_has_feature("dealer", "progressive_call_invocations") {
            self.fail(
                token,
                Error::InvalidRequest("the router does not support progressive call invocations"),
            );
            return None;
        }
        let request = self.next_id();
        let progress = options.get("receive_progress").and_then(Value::as_bool) == Some(true);
        let timeout = options.get("timeout").and_then(Value::as_u64).unwrap_or(0) > 0;
        self.timeout_for_router(&mut options);
        let (args, kwargs) = opt_payload(args, kwargs);
        self.pending.insert(
            request,
            Pending::Call {
                token: Some(token),
                procedure: procedure.to_owned(),
                progress,
                canceled: false,
                timeout,
                input_open,
            },
        );
        self.outgoing.push_back(Message::Call(Call {
            request,
            options,
            procedure: procedure.to_owned(),
            args,
            kwargs,
        }));
        Some(request)
    }

    fn send_cancel(&mut self, request: u64, mode: Option<CancelMode>) {
        let mut options = Dict::new();
        if let Some(m) = mode {
            options.insert("mode".into(), Value::from(m.as_str()));
        }
        self.outgoing
            .push_back(Message::Cancel(Cancel { request, options }));
    }

    /// Sends CANCEL for a running call. With `kill`, `killnowait` or no mode the call
    /// still completes through the router's answer: `Error::Canceled` for its
    /// `wamp.error.canceled` (or the result, if that crossed the CANCEL). With `skip`
    /// the call fails with `Error::Canceled` at once and a late answer is dropped: the
    /// spec has the dealer answer at once anyway, and Crossbar.io 26.10 never answers
    /// a skipped call (the request then stays in the pending table, answerless, until
    /// the session ends).
    pub fn cancel(&mut self, request: u64, mode: Option<CancelMode>) -> Result<(), Error> {
        if self.state != State::Established || self.dead {
            return Err(Error::SessionNotReady);
        }
        if !self.router_has_feature("dealer", "call_canceling") {
            return Err(Error::InvalidRequest(
                "the router does not support call canceling",
            ));
        }
        match self.pending.get_mut(&request) {
            Some(Pending::Call {
                token: token @ Some(_),
                canceled,
                ..
            }) => {
                if !*canceled {
                    *canceled = true;
                    let skipped = if mode == Some(CancelMode::Skip) {
                        token.take()
                    } else {
                        None
                    };
                    self.send_cancel(request, mode);
                    if let Some(token) = skipped {
                        self.fail(token, Error::Canceled);
                    }
                }
                Ok(())
            }
            _ => Err(Error::InvalidRequest("no such call")),
        }
    }

    /// The caller no longer waits for the call (its future was dropped or timed out):
    /// its answer will be dropped, and CANCEL is sent if the router supports it.
    /// Returns the dropped token.
    pub fn abandon(&mut self, request: u64, mode: Option<CancelMode>) -> Option<T::Token> {
        let can_cancel = self.state == State::Established
            && !self.dead
            && self.router_has_feature("dealer", "call_canceling");
        let Some(Pending::Call {
            token, canceled, ..
        }) = self.pending.get_mut(&request)
        else {
            return None;
        };
        let token = token.take();
        if can_cancel && !*canceled {
            *canceled = true;
            self.send_cancel(request, mode);
        }
        token
    }

    /// Sends PUBLISH. With `acknowledge: true` in `options` the token is required and
    /// completes with [`Event::Published`]; otherwise a given token is failed only if
    /// the publish cannot be sent, and is dropped silently when it was sent. The
    /// payload goes through the payload codec, if one is set.
    pub fn publish(
        &mut self,
        topic: &str,
        args: Vec<Value>,
        kwargs: Dict,
        mut options: Dict,
        token: T::Token,
    ) -> Option<u64> {
        let token = self.ready(token)?;
        let token = self.check_uri(topic, UriCheck::LOOSE, token)?;
        let (args, kwargs) = match self.encode_payload(true, topic, args, kwargs, &mut options) {
            Ok(p) => p,
            Err(e) => {
                self.fail(token, Error::Application(e));
                return None;
            }
        };
        let request = self.next_id();
        if options.get("acknowledge").and_then(Value::as_bool) == Some(true) {
            self.pending.insert(request, Pending::Publish { token });
        }
        let (args, kwargs) = opt_payload(args, kwargs);
        self.outgoing.push_back(Message::Publish(Publish {
            request,
            options,
            topic: topic.to_owned(),
            args,
            kwargs,
        }));
        Some(request)
    }

    /// Sends SUBSCRIBE for a new local `handler`.
    pub fn subscribe(
        &mut self,
        topic: &str,
        options: Dict,
        handler: T::EventHandler,
        token: T::Token,
    ) -> Option<u64> {
        let token = self.ready(token)?;
        let check = UriCheck::for_match_policy(options.get("match").and_then(Value::as_str));
        let token = self.check_uri(topic, check, token)?;
        let request = self.next_id();
        self.pending.insert(
            request,
            Pending::Subscribe {
                token,
                topic: topic.to_owned(),
                handler,
            },
        );
        self.outgoing.push_back(Message::Subscribe(Subscribe {
            request,
            options,
            topic: topic.to_owned(),
        }));
        Some(request)
    }

    /// Removes the local `handler` of `subscription`; sends UNSUBSCRIBE when it was the
    /// last one, otherwise completes at once.
    pub fn unsubscribe(&mut self, subscription: u64, handler: u64, token: T::Token) -> Option<u64> {
        let token = self.ready(token)?;
        let Some(entry) = self.subscriptions.get_mut(&subscription) else {
            self.fail(token, Error::InvalidRequest("no such subscription"));
            return None;
        };
        let before = entry.handlers.len();
        entry.handlers.retain(|(id, _)| *id != handler);
        if entry.handlers.len() == before {
            self.fail(token, Error::InvalidRequest("no such subscription"));
            return None;
        }
        if !entry.handlers.is_empty() {
            self.events.push_back(Event::Unsubscribed { token });
            return None;
        }
        // The entry stays (without handlers) until UNSUBSCRIBED: events already in
        // flight are then dropped instead of being taken for a protocol violation.
        let request = self.next_id();
        self.pending.insert(
            request,
            Pending::Unsubscribe {
                token,
                subscription,
            },
        );
        self.outgoing.push_back(Message::Unsubscribe(Unsubscribe {
            request,
            subscription,
        }));
        Some(request)
    }

    /// Sends REGISTER for `endpoint`.
    pub fn register(
        &mut self,
        procedure: &str,
        options: Dict,
        endpoint: T::Endpoint,
        token: T::Token,
    ) -> Option<u64> {
        let token = self.ready(token)?;
        let check = UriCheck::for_match_policy(options.get("match").and_then(Value::as_str));
        let token = self.check_uri(procedure, check, token)?;
        let request = self.next_id();
        self.pending.insert(
            request,
            Pending::Register {
                token,
                procedure: procedure.to_owned(),
                endpoint,
            },
        );
        self.outgoing.push_back(Message::Register(Register {
            request,
            options,
            procedure: procedure.to_owned(),
        }));
        Some(request)
    }

    /// Sends UNREGISTER. The endpoint keeps serving invocations until UNREGISTERED.
    pub fn unregister(&mut self, registration: u64, token: T::Token) -> Option<u64> {
        let token = self.ready(token)?;
        if !self.registrations.contains_key(&registration) {
            self.fail(token, Error::InvalidRequest("no such registration"));
            return None;
        }
        let request = self.next_id();
        self.pending.insert(
            request,
            Pending::Unregister {
                token,
                registration,
            },
        );
        self.outgoing.push_back(Message::Unregister(Unregister {
            request,
            registration,
        }));
        Some(request)
    }

    /// Whether the caller of a running invocation accepts progressive results, and the procedure if the
    /// invocation came encoded (its result is encoded too).
    pub(super) fn check_invocation(&self, request: u64) -> Result<(bool, Option<String>), Error> {
        if self.state != State::Established || self.dead {
            return Err(Error::SessionNotReady);
        }
        self.invocations
            .get(&request)
            .map(|i| (i.receive_progress, i.encoded.then(|| i.procedure.clone())))
            .ok_or(Error::InvalidRequest("no such invocation"))
    }

    /// Answers an invocation with YIELD; `progress` sends a progressive result (only if
    /// the caller asked for them) and keeps the invocation running. The result goes
    /// through the payload codec, if one is set and the invocation came encoded (as
    /// Autobahn: a caller without the codec gets a plain result); if encoding fails the
    /// caller gets that error instead (and a progressive result is not sent).
    pub fn yield_result(
        &mut self,
        request: u64,
        result: CallResult,
        progress: bool,
    ) -> Result<(), Error> {
        let (accepts_progress, encoded_for) = self.check_invocation(request)?;
        let mut options = Dict::new();
        if progress && !accepts_progress {
            return Err(Error::InvalidRequest("the caller did not ask for progress"));
        }
        let encoded = match encoded_for {
            Some(procedure) => {
                self.encode_payload(false, &procedure, result.args, result.kwargs, &mut options)
            }
            None => Ok((result.args, result.kwargs)),
        };
        let (args, kwargs) = match encoded {
            Ok(p) => p,
            Err(e) if progress => return Err(Error::Application(e)),
            Err(e) => {
                self.end_invocation(request);
                return self.send_invocation_error(request, e);
            }
        };
        if progress {
            options.insert("progress".into(), Value::Bool(true));
        } else {
            self.end_invocation(request);
        }
        let (args, kwargs) = opt_payload(args, kwargs);
        self.outgoing.push_back(Message::Yield(Yield {
            request,
            options,
            args,
            kwargs,
        }));
        Ok(())
    }

    /// Answers an invocation with ERROR. The error's payload goes through the payload
    /// codec, keyed by the error URI, if one is set and the invocation came encoded (as
    /// its result would); if encoding fails the caller gets that error instead.
    pub fn invocation_error(
        &mut self,
        request: u64,
        mut error: ApplicationError,
    ) -> Result<(), Error> {
        let encoded = self.check_invocation(request)?.1.is_some();
        self.end_invocation(request);
        if validate_uri(&error.error, UriCheck::LOOSE).is_err() {
            // An endpoint returned a malformed URI: the router would reject the ERROR,
            // so report a runtime error instead of leaving the caller hanging.
            warn!(uri = %error.error, "invocation error with an invalid URI");
            let e = ApplicationError::with_message(
                ApplicationError::RUNTIME_ERROR,
                format!("invalid error URI '{}'", error.error),
            );
            return self.send_invocation_error(request, e);
        }
        if encoded {
            let (args, kwargs) = (mem::take(&mut error.args), mem::take(&mut error.kwargs));
            match self.encode_payload(false, &error.error, args, kwargs, &mut error.details) {
                Ok((args, kwargs)) => (error.args, error.kwargs) = (args, kwargs),
                Err(e) => return self.send_invocation_error(request, e),
            }
        }
        self.send_invocation_error(request, error)
    }

    pub(super) fn send_invocation_error(
        &mut self,
        request: u64,
        e: ApplicationError,
    ) -> Result<(), Error> {
        let (args, kwargs) = opt_payload(e.args, e.kwargs);
        self.outgoing.push_back(Message::Error(ErrorMessage {
            request_type: MessageType::Invocation,
            request,
            details: e.details,
            error: e.error,
            args,
            kwargs,
        }));
        Ok(())
    }
}
