//! Progressive call invocations: a caller streams its input as several CALLs with one
//! request id (`Options.progress: true` on all but the last), which the dealer passes
//! to the callee as INVOCATIONs with one request id (`Details.progress`). Only used
//! when the dealer announces `progressive_call_invocations` (Crossbar.io 26.10 does not).

use super::*;
use crate::wamp::message::Invocation;

impl<T: SessionTypes> Protocol<T> {
    /// Sends one more input chunk of a call started with `progress: true` in its
    /// options (a CALL with the same request id); `last` ends the input.
    pub fn call_input(
        &mut self,
        request: u64,
        args: Vec<Value>,
        kwargs: Dict,
        last: bool,
    ) -> Result<(), Error> {
        if self.state != State::Established || self.dead {
            return Err(Error::SessionNotReady);
        }
        let procedure = match self.pending.get_mut(&request) {
            Some(Pending::Call {
                token: Some(_),
                procedure,
                input_open,
                canceled: false,
                ..
            }) if *input_open => {
                if last {
                    *input_open = false;
                }
                procedure.clone()
            }
            Some(Pending::Call { .. }) => {
                return Err(Error::InvalidRequest("the call takes no more input"))
            }
            _ => return Err(Error::InvalidRequest("no such call")),
        };
        let mut options = Dict::new();
        let (args, kwargs) = self
            .encode_payload(true, &procedure, args, kwargs, &mut options)
            .map_err(Error::Application)?;
        if !last {
            options.insert("progress".into(), Value::Bool(true));
        }
        let (args, kwargs) = opt_payload(args, kwargs);
        self.outgoing.push_back(Message::Call(Call {
            request,
            options,
            procedure,
            args,
            kwargs,
        }));
        Ok(())
    }

    /// A further INVOCATION for a running progressive call invocation.
    pub(super) fn on_invocation_input(&mut self, m: Invocation) {
        let last = !m.progress();
        let Some(running) = self.invocations.get_mut(&m.request) else {
            return;
        };
        if last {
            running.input_open = false;
        }
        let procedure = running.procedure.clone();
        let args = m.args.unwrap_or_default();
        let kwargs = m.kwargs.unwrap_or_default();
        match self.decode_payload(true, &procedure, &m.details, args, kwargs) {
            Ok((args, kwargs)) => self.events.push_back(Event::InvocationInput {
                request: m.request,
                input: CallResult { args, kwargs },
                last,
            }),
            Err(e) => {
                // The invocation cannot go on without its input: it fails.
                self.events.push_back(Event::Interrupt {
                    request: m.request,
                    mode: Some("killnowait".into()),
                    reason: Some(e.error.clone()),
                });
                self.end_invocation(m.request);
                let _ = self.send_invocation_error(m.request, e);
            }
        }
    }

    /// Forgets a running invocation (answered, failed or interrupted). If its caller
    /// was still streaming input, the rest of that input is dropped as it arrives.
    pub(super) fn end_invocation(&mut self, request: u64) {
        if let Some(running) = self.invocations.remove(&request) {
            if running.input_open {
                self.closed_inputs.insert(request);
            }
        }
    }
}
