//! Progressive call results as a stream ([`Session::call_progressive`]).

use super::*;

/// One item of a [`ProgressiveCall`].
#[derive(Debug, Clone, PartialEq)]
pub enum CallUpdate {
    /// A progressive result.
    Progress(CallResult),
    /// The final result (the last item).
    Final(CallResult),
}

/// A call whose progressive results arrive as a stream (from
/// [`Session::call_progressive`]): [`CallUpdate::Progress`] items in the order the
/// callee sent them, then [`CallUpdate::Final`] or the call's error, then the end.
///
/// Dropping it before the final result cancels the call (see [`PendingCall`]).
#[derive(Debug)]
pub struct ProgressiveCall {
    /// Progressive results with their charge to the session's budget.
    progress: mpsc::UnboundedReceiver<(CallResult, HeldBytes)>,
    call: Option<PendingCall>,
    outcome: Option<Result<CallResult, Error>>,
    request: u64,
}

impl ProgressiveCall {
    pub(super) fn new(
        call: PendingCall,
        progress: mpsc::UnboundedReceiver<(CallResult, HeldBytes)>,
    ) -> ProgressiveCall {
        ProgressiveCall {
            request: call.request_id(),
            progress,
            call: Some(call),
            outcome: None,
        }
    }

    /// The request id of the call (0 if it could not be sent).
    pub fn request_id(&self) -> u64 {
        self.call
            .as_ref()
            .map_or(self.request, PendingCall::request_id)
    }

    /// Asks the dealer to cancel the call (see [`PendingCall::cancel`]); the stream
    /// then ends with [`Error::Canceled`]. Fails once the final result is in.
    pub async fn cancel(&self, mode: CancelMode) -> Result<(), Error> {
        match &self.call {
            Some(call) => call.cancel(mode).await,
            None => Err(Error::InvalidRequest("call already completed")),
        }
    }

    /// The next update: `None` after the final result or error.
    pub async fn next(&mut self) -> Option<Result<CallUpdate, Error>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Collects the progressive results and the final result.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{CallOptions, Dict};
    /// use autobahn::list;
    ///
    /// let call = session
    ///     .call_progressive("com.example.countdown", list![3], Dict::new(), CallOptions::default())
    ///     .await;
    /// let (progress, last) = call.collect().await?;
    /// println!("{} progressive results, then {:?}", progress.len(), last.value());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn collect(mut self) -> Result<(Vec<CallResult>, CallResult), Error> {
        let mut progress = Vec::new();
        while let Some(update) = self.next().await {
            match update? {
                CallUpdate::Progress(r) => progress.push(r),
                CallUpdate::Final(r) => return Ok((progress, r)),
            }
        }
        Err(Error::InvalidRequest("call already completed"))
    }
}

impl ProgressiveCall {
    /// Polls for the next update, the shape of `Stream::poll_next` (this crate does not
    /// depend on `futures`; `futures::stream::poll_fn(|cx| call.poll_next(cx))` makes
    /// it a `Stream`).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<CallUpdate, Error>>> {
        let this = self;
        if let Poll::Ready(Some((r, _held))) = this.progress.poll_recv(cx) {
            return Poll::Ready(Some(Ok(CallUpdate::Progress(r))));
        }
        if let Some(call) = this.call.as_mut() {
            match Pin::new(call).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => {
                    this.request = this.call.take().map_or(0, |c| c.request_id());
                    this.outcome = Some(r);
                }
            }
        }
        // The session task queues every progressive result before it answers the
        // call, so whatever is left in the queue now came before the final result.
        if let Ok((r, _held)) = this.progress.try_recv() {
            return Poll::Ready(Some(Ok(CallUpdate::Progress(r))));
        }
        Poll::Ready(this.outcome.take().map(|r| r.map(CallUpdate::Final)))
    }
}
