//! A call in flight: the future of its result, its cancellation and timeout.

use super::*;

/// A call in flight (from [`Session::start_call`]): a future of its result.
///
/// Dropping it before it completes cancels the call: the session sends CANCEL (with
/// [`CallOptions::cancel_mode`]) if the router supports call canceling, and drops the
/// late answer. With [`CallOptions::timeout`] it fails with [`Error::Timeout`] when
/// the time is up (sending CANCEL, mode `killnowait` unless set).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
/// use std::sync::Arc;
/// use autobahn::wamp::{CallOptions, CallResult, CancelMode, Dict};
/// use autobahn::list;
///
/// let options = CallOptions {
///     on_progress: Some(Arc::new(|r: CallResult| println!("progress {:?}", r.value()))),
///     ..Default::default()
/// };
/// let call = session.start_call("com.example.render", list!["scene.xml"], Dict::new(), options).await;
/// if std::env::var("IMPATIENT").is_ok() {
///     // The dealer interrupts the callee and the call fails as canceled.
///     call.cancel(CancelMode::Kill).await?;
/// }
/// let result = call.await;
/// println!("{result:?}");
/// # Ok(())
/// # }
/// ```
pub struct PendingCall {
    pub(super) rx: oneshot::Receiver<Result<CallResult, Error>>,
    pub(super) id: Arc<AtomicU64>,
    /// The queue of the connection the call went out on: a cancel must not reach a
    /// later connection, where the request id means another request.
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) deadline: Option<Pin<Box<Sleep>>>,
    pub(super) cancel_mode: Option<CancelMode>,
    pub(super) done: bool,
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCall")
            .field("request", &self.request_id())
            .field("done", &self.done)
            .finish()
    }
}

impl PendingCall {
    /// The request id, once the session task has sent the CALL (0 before).
    pub fn request_id(&self) -> u64 {
        self.id.load(Ordering::Acquire)
    }

    /// Asks the dealer to cancel the call (CANCEL with `mode`). The call then completes
    /// with [`Error::Canceled`] when the dealer confirms, or with its result if that was
    /// already on the way. Fails if the router does not support call canceling.
    pub async fn cancel(&self, mode: CancelMode) -> Result<(), Error> {
        let id = self.id.clone();
        request_on(&self.commands, |r| Command::Cancel {
            id,
            mode: Some(mode),
            abandon: false,
            reply: Some(r),
        })
        .await
    }

    /// Sends the next input chunk of a progressive call invocation (started with
    /// [`CallOptions::progress`]); `last` ends the input. Waits until the CALL is
    /// queued.
    pub async fn send_input(
        &self,
        args: Vec<Value>,
        kwargs: Dict,
        last: bool,
    ) -> Result<(), Error> {
        let id = self.id.clone();
        let input = CallResult::with_args_kwargs(args, kwargs);
        request_on(&self.commands, |reply| Command::CallInput {
            id,
            input,
            last,
            reply,
        })
        .await
    }

    fn abandon(&mut self, mode: Option<CancelMode>) {
        self.done = true;
        let cmd = Command::Cancel {
            id: self.id.clone(),
            mode,
            abandon: true,
            reply: None,
        };
        send_later(&self.commands, cmd);
    }
}

impl Future for PendingCall {
    type Output = Result<CallResult, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            return Poll::Ready(Err(Error::InvalidRequest("call already completed")));
        }
        if let Poll::Ready(r) = Pin::new(&mut self.rx).poll(cx) {
            self.done = true;
            return Poll::Ready(lost(r));
        }
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                let mode = self.cancel_mode.or(Some(CancelMode::KillNoWait));
                self.abandon(mode);
                return Poll::Ready(Err(Error::Timeout));
            }
        }
        Poll::Pending
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if !self.done {
            let mode = self.cancel_mode;
            self.abandon(mode);
        }
    }
}
