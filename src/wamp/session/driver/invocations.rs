//! The session task's side of invocations: running endpoints as tasks, feeding
//! progressive call invocations their input, interrupts, answers.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context, Poll, Waker};

use super::*;
use crate::wamp::session::handles::InvocationInput;

/// What a running invocation costs besides its arguments: its task and the
/// bookkeeping of the session task (a generous estimate).
const INVOCATION_TASK_SIZE: usize = 1024;

impl<T: Transport> Driver<T> {
    /// Runs an endpoint for an INVOCATION as its own task.
    pub(super) fn start_invocation(
        &mut self,
        request: u64,
        endpoint: Endpoint,
        mut details: CallDetails,
        receive_progress: bool,
        args: Vec<Value>,
        kwargs: Dict,
    ) {
        if receive_progress {
            details.progress = Some(ProgressSender {
                request,
                commands: self.session.commands(),
            });
        }
        if details.details.get("progress").and_then(Value::as_bool) == Some(true) {
            let (tx, rx) = mpsc::unbounded_channel();
            details.input = Some(InvocationInput::new(rx));
            self.inputs.insert(request, tx);
        }
        // The running invocation holds its arguments: they count against the budget
        // until it ends (a flood of INVOCATIONs cannot spawn tasks without bound).
        let held = self
            .session
            .charge(INVOCATION_TASK_SIZE.saturating_add(payload_size(&args, &kwargs)));
        let mut run = endpoint(args, kwargs, details);
        if self.inline_first_poll {
            // One thread runs every task: a task of its own buys the endpoint nothing
            // until it awaits, and an endpoint that answers at once (most do) then
            // costs no spawn, no extra wakeup of this task and no bookkeeping.
            let mut cx = Context::from_waker(Waker::noop());
            let end = match catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(&mut cx))) {
                Ok(Poll::Pending) => None,
                Ok(Poll::Ready(result)) => Some(Ok(result)),
                Err(p) => Some(Err(panic_payload_message(p))),
            };
            if let Some(end) = end {
                drop(held);
                self.answer_invocation(request, end);
                return;
            }
            // Not done: its task polls it again at once, with a waker that works.
        }
        let handle = self.tasks.spawn(async move {
            let result = run.await;
            drop(held);
            result
        });
        self.task_requests.insert(handle.id(), request);
        self.running.insert(request, handle);
    }

    /// More input for a running progressive call invocation.
    pub(super) fn invocation_input(&mut self, request: u64, input: CallResult, last: bool) {
        if let Some(tx) = self.inputs.get(&request) {
            let held = self
                .session
                .charge(payload_size(&input.args, &input.kwargs));
            // The endpoint may have stopped reading: its loss.
            let _ = tx.send((input, held));
        }
        if last {
            // Closing the queue ends the endpoint's input.
            self.inputs.remove(&request);
        }
    }

    /// The dealer interrupts an invocation: its task is aborted (the endpoint's future
    /// dropped) and, unless the mode is `killnowait`, the dealer gets
    /// `wamp.error.canceled`.
    pub(super) fn interrupt(&mut self, request: u64, mode: Option<&str>) {
        self.inputs.remove(&request);
        if let Some(task) = self.running.remove(&request) {
            task.abort();
        }
        if mode != Some("killnowait") {
            let e = ApplicationError::new(ApplicationError::CANCELED);
            if let Err(e) = self.proto.invocation_error(request, e) {
                debug!(request, error = %e, "interrupt answer dropped");
            }
        }
    }

    pub(super) fn invocation_done(&mut self, done: Result<(Id, InvocationResult), JoinError>) {
        let (id, outcome) = match done {
            Ok((id, r)) => (id, Ok(r)),
            Err(e) => (e.id(), Err(e)),
        };
        let Some(request) = self.task_requests.remove(&id) else {
            return;
        };
        self.inputs.remove(&request);
        if self.running.remove(&request).is_none() {
            return; // Interrupted, or the session ended: already answered or moot.
        }
        let end = match outcome {
            Ok(result) => Ok(result),
            Err(e) if e.is_panic() => Err(panic_message(e)),
            Err(_) => return,
        };
        self.answer_invocation(request, end);
    }

    /// Answers an invocation whose endpoint returned (`Ok`) or panicked (`Err`, the
    /// panic's text).
    fn answer_invocation(&mut self, request: u64, end: Result<InvocationResult, String>) {
        self.inputs.remove(&request);
        let sent = match end {
            Ok(Ok(result)) => self.proto.yield_result(request, result, false),
            Ok(Err(app)) => self.proto.invocation_error(request, app),
            Err(text) => {
                let app = ApplicationError::with_message(ApplicationError::RUNTIME_ERROR, text);
                self.user_error(
                    app.clone(),
                    format!("endpoint of invocation {request} panicked"),
                );
                self.proto.invocation_error(request, app)
            }
        };
        if let Err(e) = sent {
            debug!(request, error = %e, "invocation answer dropped");
        }
    }
}
