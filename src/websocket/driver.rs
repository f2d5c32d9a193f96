//! The connection's IO: moves bytes between the stream and the sans-IO core, runs the
//! closing handshake and the timers. [`super::connection::WebSocket`] wraps it, and the
//! callback API ([`super::handler_loop`]) drives that.
//!
//! While the application is busy with a message (a handler's hook is pending, or nobody
//! calls `recv`), polling the connection keeps reading (answering pings, queueing messages up to a bound in
//! bytes and in number, answering the peer's close once the messages before it are
//! handled), writing and timing. What it holds for the handler is also charged to the
//! server-wide budget, if any (see [`super::budget`]), and a message once begun must be
//! complete within `message_timeout`.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::budget::{BudgetCharge, SharedBudget};
use super::channel::{Phase, WebSocketChannel};
use super::frame::close_code;
use super::protocol::{
    respond, Event, Outgoing, ProtocolConfig, ProtocolViolation, Receiver, Role,
};
use super::timer::Timer;

/// Messages queued for a busy handler before we stop reading from the peer.
const MAX_QUEUED_EVENTS: usize = 64;
/// What a queued event costs besides its payload (the queue slot, the payload's
/// allocation), so that a flood of empty messages is bounded too.
const EVENT_OVERHEAD: usize = std::mem::size_of::<Event>() + 32;
/// Reads per poll before yielding to other tasks.
const READS_PER_POLL: usize = 16;
/// Size of the on-stack buffer used when no partial frame is buffered.
const STACK_READ: usize = 8 * 1024;
/// Most pieces handed to one vectored write.
const MAX_IO_SLICES: usize = 32;
/// Extra room asked for beyond the rest of a frame in progress.
const READ_SLACK: usize = 4 * 1024;
/// Largest single reservation for a frame in progress.
const MAX_READ_RESERVE: usize = 4 << 20;
/// Most input buffered, undecoded, while the server-wide budget holds reading up.
const MAX_READ_WHILE_BLOCKED: usize = 64 * 1024;
/// `poll_progress` passes that may skip polling the timers in a row (see there).
const TIMER_POLL_EVERY: u32 = 64;
/// How often a compressed connection checks whether its zlib state went unused (parked
/// after one to two periods without traffic, see `PerMessageDeflate::park_if_idle`).
const DEFLATE_PARK_CHECK: Duration = Duration::from_secs(1);

/// Timing and closing behaviour of a connection (from the options).
#[derive(Debug, Clone)]
pub(crate) struct DriverConfig {
    pub role: Role,
    pub fail_by_drop: bool,
    pub echo_close_code_reason: bool,
    pub close_handshake_timeout: Option<Duration>,
    pub server_connection_drop_timeout: Option<Duration>,
    pub auto_ping_interval: Option<Duration>,
    pub auto_ping_timeout: Option<Duration>,
    pub auto_ping_size: usize,
    pub log_octets: bool,
    /// Bytes held for the handler (queued events and the message being reassembled)
    /// past which we stop reading; `0` for no bound in bytes.
    pub max_queued_bytes: usize,
    /// Time allowed to receive a message once it has begun.
    pub message_timeout: Option<Duration>,
    /// The server-wide budget shared with the factory's other connections, and its size
    /// in bytes.
    pub budget: Option<(Arc<SharedBudget>, usize)>,
}

/// The peer did not complete a message in time (see `message_timeout`).
const MESSAGE_TIMED_OUT: ProtocolViolation = ProtocolViolation {
    code: close_code::POLICY_VIOLATION,
    reason: "message not completed in time",
};

/// The server-wide budget for buffered messages stayed exhausted while this peer's
/// message was in progress (see `max_buffered_bytes_total`).
const BUDGET_EXHAUSTED: ProtocolViolation = ProtocolViolation {
    code: close_code::TRY_AGAIN_LATER,
    reason: "server busy: message memory budget exhausted",
};

/// How the connection ended, for `on_close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The closing handshake completed.
    pub was_clean: bool,
    /// The peer's close code (1005 if its close frame had none), or 1006 if no close
    /// frame arrived.
    pub code: Option<u16>,
    /// The peer's reason, or what happened.
    pub reason: Option<String>,
}

/// One connection's IO and protocol state: the connection itself. The callback API
/// ([`run`]) and the pull API ([`super::connection::WebSocket`]) both drive it.
pub(crate) struct Io<S> {
    stream: S,
    cfg: DriverConfig,
    channel: WebSocketChannel,
    receiver: Receiver,
    read_buf: BytesMut,
    writing: Outgoing,
    events: VecDeque<Event>,
    /// What `events` holds, in bytes (payloads plus `EVENT_OVERHEAD` each).
    queued_bytes: usize,
    /// The receiver paused on its budget with complete frames left in `read_buf`: they
    /// are decoded (before anything more is read) once the handler has drained.
    undecoded: bool,
    read_eof: bool,
    /// Stop reading (after a violation): only wait for EOF or the timer.
    discard_input: bool,
    close_sent: bool,
    peer_close: Option<(Option<u16>, Option<String>)>,
    /// The peer's close came behind messages still queued for the handler: it is
    /// answered once they are handled (or when the close timeout fires), so that replies
    /// to them go out before our close, as with Autobahn|Python.
    close_reply_owed: bool,
    failure: Option<String>,
    /// A violation to fail the connection with once the queued events are handled.
    pending_failure: Option<ProtocolViolation>,
    /// Close the TCP connection as soon as the output is written.
    drop_after_flush: bool,
    /// Our own answers (pongs) filled the output queue to its high-water mark: reading stops
    /// until the queue moves to the writer, so a peer that pings and never reads
    /// cannot grow our memory.
    output_backlogged: bool,
    shutting_down: bool,
    /// Shut down on our side; discarding input until the peer closes.
    lingering: bool,
    done: bool,
    needs_flush: bool,
    /// The last read returned `Pending` (its waker is registered).
    read_blocked: bool,
    /// The next `poll_next` runs in the same task poll as the previous one (the hook in
    /// between completed at once): a read that was pending then is still pending.
    pub(crate) same_poll: bool,
    close_timer: Option<Timer>,
    ping_timer: Option<Timer>,
    ping_deadline: Option<Timer>,
    ping_outstanding: Option<Bytes>,
    /// Armed while a message is in progress: when it must be complete.
    message_timer: Option<Timer>,
    /// When the message in progress must be complete. The timer above follows it lazily
    /// (created once, moved only when it fires early): arming a timer for every message
    /// that straddles two reads cost ~0.1 µs per message in `ws_echo`.
    message_deadline: Option<Instant>,
    /// This connection's charge against the server-wide budget.
    budget: Option<BudgetCharge>,
    /// The last budget check refused more reading: we, not the peer, hold the message up.
    budget_blocked: bool,
    /// Armed while permessage-deflate holds zlib state: parks it once idle.
    park_timer: Option<Timer>,
    /// Passes of `poll_progress` since the timers were last polled.
    passes_without_timers: u32,
}

impl<S> Io<S> {
    /// The send side of this connection.
    pub(crate) fn channel(&self) -> &WebSocketChannel {
        &self.channel
    }

    /// Whether the receiver validates incoming text (see [`Receiver::validates_utf8`]).
    pub(crate) fn validates_utf8(&self) -> bool {
        self.receiver.validates_utf8()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Io<S> {
    /// An open connection over `stream`; `leftover` holds bytes read past the opening
    /// handshake.
    pub(crate) fn new(
        stream: S,
        leftover: BytesMut,
        channel: WebSocketChannel,
        mut receiver: Receiver,
        cfg: DriverConfig,
    ) -> Self {
        channel.set_open();
        // A large compressed frame is inflated over several polls, yielding in between.
        receiver.set_bounded_work(true);
        let ping_timer = cfg.auto_ping_interval.map(Timer::after);
        let budget = cfg
            .budget
            .as_ref()
            .map(|(shared, limit)| BudgetCharge::new(shared.clone(), *limit));
        let mut io = Io {
            stream,
            cfg,
            channel,
            receiver,
            // An empty leftover still holds the handshake's buffer: an idle connection
            // keeps none.
            read_buf: match leftover {
                empty if empty.is_empty() => BytesMut::new(),
                leftover => leftover,
            },
            writing: Outgoing::new(),
            events: VecDeque::new(),
            queued_bytes: 0,
            undecoded: false,
            read_eof: false,
            discard_input: false,
            close_sent: false,
            peer_close: None,
            close_reply_owed: false,
            failure: None,
            pending_failure: None,
            drop_after_flush: false,
            output_backlogged: false,
            shutting_down: false,
            lingering: false,
            done: false,
            needs_flush: false,
            read_blocked: false,
            same_poll: false,
            close_timer: None,
            ping_timer,
            ping_deadline: None,
            ping_outstanding: None,
            message_timer: None,
            message_deadline: None,
            budget,
            budget_blocked: false,
            park_timer: None,
            passes_without_timers: 0,
        };
        if !io.read_buf.is_empty() {
            // Decoded by the first poll, once the application has chosen how it receives
            // (see `set_streaming`).
            io.receiver.resume();
        }
        tracing::debug!("WebSocket connection open");
        io
    }

    /// Hands data messages begun from now on out as they arrive (see
    /// [`Receiver::set_streaming`]).
    pub(crate) fn set_streaming(&mut self, on: bool) {
        self.receiver.set_streaming(on);
    }

    /// The connection has ended (see [`Self::close_info`]).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// `poll_next` has something to hand out (or the end to report) without new input.
    pub(crate) fn has_news_for_reader(&self) -> bool {
        self.done
            || !self.events.is_empty()
            || self.pending_failure.is_some()
            || self.close_reply_owed
    }

    /// Received events wait for the application (the next `poll_next` hands one out).
    pub(crate) fn has_events_queued(&self) -> bool {
        !self.events.is_empty()
    }

    /// A sender waiting for room, a flush or the end may look again.
    pub(crate) fn has_news_for_writer(&self) -> bool {
        if self.done {
            return true;
        }
        let side = self.channel.shared.lock();
        side.out.len() < side.high_water
    }

    /// Nothing of ours waits to be written: the channel's queue, the bytes being
    /// written and the flush are all done.
    pub(crate) fn is_flushed(&self) -> bool {
        self.writing.is_empty() && !self.needs_flush && self.channel.shared.lock().out.is_empty()
    }

    /// The next event for the application, doing all the IO possible meanwhile; `None`
    /// once the connection has ended.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        // The handler runs next if events are queued, and its answers go out with the next
        // write: all answers to one read then leave in one write.
        if self.idle_pass_follows() {
            // What `poll_progress` would do in this pass, without its checks.
            self.same_poll = false;
            self.passes_without_timers += 1;
        } else {
            self.poll_progress(cx, true);
        }
        if let Some(ev) = self.events.pop_front() {
            self.queued_bytes -= event_cost(&ev);
            // Handing out only lowers what we hold: nothing to give back unless charged.
            if self.budget.as_ref().is_some_and(BudgetCharge::is_charged) {
                self.charge_budget();
            }
            return Poll::Ready(Some(ev));
        }
        if let Some(v) = self.pending_failure.take() {
            // The messages that came before the violation have been handled.
            self.fail(v);
            self.poll_progress(cx, false);
        }
        if self.close_reply_owed {
            // The messages that came with the peer's close have been handled.
            self.answer_close();
            self.poll_progress(cx, false);
        }
        if self.done {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// The handler took the last event in this same task poll and more are queued, with
    /// nothing to read (the last read was pending), decode or time: a deferring
    /// `poll_progress` pass would only count itself. This is the pass between two messages
    /// of one read (~50 instructions per message of checks in `ws_echo`).
    #[inline]
    fn idle_pass_follows(&self) -> bool {
        self.same_poll
            && self.read_blocked
            && !self.events.is_empty()
            && self.passes_without_timers + 1 < TIMER_POLL_EVERY
            && !self.undecoded
            && !self.done
            && !self.budget_blocked
            && !self.drop_after_flush
            && self.close_timer.is_none()
            && self.ping_deadline.is_none()
            && self.message_deadline.is_none()
            && !self.receiver.has_work_left()
    }

    /// Does all the IO that can be done now; registers wakers for the rest.
    ///
    /// With `defer_write`, nothing is written while events wait for the handler: the
    /// caller hands them out and calls again (its next call writes once they are gone).
    /// A hook that is pending (e.g. waiting for the queue to drain) is polled with
    /// `defer_write` false, so output always moves while the handler waits.
    pub(crate) fn poll_progress(&mut self, cx: &mut Context<'_>, defer_write: bool) {
        if self.done {
            return;
        }
        self.poll_timers(cx);
        let mut reads = 0;
        if self.may_decode_more() && self.budget_allows(cx) {
            // The receiver stopped at its work budget (a large compressed frame): one more
            // budget in this poll, the rest in later ones.
            self.process_input(&mut []);
        }
        let skip_read = std::mem::take(&mut self.same_poll) && self.read_blocked;
        // The common case under load (the handler took a message at once, the last read
        // was pending): nothing to read or decode, so none of the checks below.
        let nothing_to_read = skip_read && !self.undecoded;
        while !nothing_to_read
            && !self.done
            && !self.receiver.has_work_left()
            && !self.read_eof
            && !self.drop_after_flush
            && !self.output_backlogged
            && self.may_queue_more()
            && reads < READS_PER_POLL
            && self.budget_allows(cx)
        {
            if std::mem::take(&mut self.undecoded) {
                // Frames read earlier, held back by the bound: no read needed.
                self.process_input(&mut []);
                reads += 1;
                continue;
            }
            if skip_read {
                break;
            }
            self.read_blocked = false;
            match self.poll_read(cx) {
                Poll::Ready(Ok(0)) => self.on_eof(),
                Poll::Ready(Ok(_)) => reads += 1,
                Poll::Ready(Err(e)) => self.lost(format!("read failed: {e}")),
                Poll::Pending => {
                    self.read_blocked = true;
                    break;
                }
            }
        }
        if self.budget_blocked
            && self.cfg.message_timeout.is_some()
            && !self.done
            && !self.read_eof
            && !self.drop_after_flush
        {
            self.read_while_blocked(cx);
        }
        if reads == READS_PER_POLL || (self.may_decode_more() && !self.budget_blocked) {
            // (When the budget blocks, its release wakes us.)
            cx.waker().wake_by_ref();
        }
        let defer = defer_write && !self.events.is_empty();
        if !self.done && !defer {
            self.poll_write(cx);
            if self.drop_after_flush && !self.done && self.writing.is_empty() {
                self.poll_shutdown(cx);
            }
        }
        if self.drop_after_flush && !self.done {
            // A peer that stopped reading would hold the output, and with it this task,
            // forever: the flush and the shutdown together get the close timeout.
            self.start_close_timer();
        }
        // Timers armed during this pass (our close sent, the peer's close received, the
        // shutdown begun) must be polled once to register the waker, or they never fire.
        if !self.done {
            self.poll_timers(cx);
        }
        // The periodic timers (auto-ping, deflate parking) are always armed, and polling
        // a timer registers the waker each time (~0.1 µs per message in `ws_echo`): they
        // are polled when the pass ends with nothing left for the handler (the task is
        // about to wait), and every `TIMER_POLL_EVERY` passes under a flood that never
        // lets the queue empty. They fire late by at most one busy stretch, which is
        // harmless for a ping every 20 s and a park check every second.
        self.passes_without_timers = self.passes_without_timers.wrapping_add(1);
        let more_passes_follow = defer_write && !self.events.is_empty();
        if !self.done && (!more_passes_follow || self.passes_without_timers >= TIMER_POLL_EVERY) {
            self.passes_without_timers = 0;
            if self.poll_periodic_timers(cx) && !more_passes_follow && !self.done {
                // An auto-ping was queued: send it now.
                self.poll_write(cx);
            }
        }
    }

    /// Whether the handler's queue leaves room to decode more. Past the bound in bytes we
    /// stop reading, so TCP pushes back on the peer; with nothing queued we always read,
    /// so a message larger than the bound still arrives (its size is
    /// `max_message_payload_size`'s business).
    fn may_queue_more(&self) -> bool {
        self.events.is_empty()
            || (self.events.len() < MAX_QUEUED_EVENTS && self.held_bytes() < self.byte_bound())
    }

    /// Bytes held for the handler: queued events and the message being reassembled.
    fn held_bytes(&self) -> usize {
        self.queued_bytes + self.receiver.message_in_progress_len()
    }

    fn byte_bound(&self) -> usize {
        match self.cfg.max_queued_bytes {
            0 => usize::MAX,
            n => n,
        }
    }

    /// Whether the server-wide budget lets this connection read (or decode) more; if not,
    /// a release of memory by any connection wakes this task. Without a message timeout
    /// to bound the wait, a message in progress that the budget holds up fails at once
    /// with 1013: waiting for others to release could wait forever if they all wait too
    /// (a connection holding only queued messages releases them to its handler).
    // (Always: as a call, its entry and exit cost more than the common case's check.)
    #[inline(always)]
    fn budget_allows(&mut self, cx: &mut Context<'_>) -> bool {
        match &self.budget {
            None => true,
            Some(budget) if budget.allows_at_once() => {
                self.budget_blocked = false;
                true
            }
            Some(_) => self.budget_allows_after_checks(cx),
        }
    }

    /// [`Self::budget_allows`] when this connection holds a charge or the total is high.
    fn budget_allows_after_checks(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let growth = self.receiver.message_in_progress_len();
        self.budget_blocked = !budget.allows(cx.waker(), growth);
        let in_progress = self.receiver.is_mid_message();
        if self.budget_blocked && self.cfg.message_timeout.is_none() && in_progress {
            self.fail(BUDGET_EXHAUSTED);
        }
        !self.budget_blocked
    }

    /// Held up by the budget, we still read a little, undecoded (up to
    /// `MAX_READ_WHILE_BLOCKED` buffered, the peer's own bytes): a peer that has gone is
    /// then seen, and its share of the budget released, before its message times out.
    /// What is read counts as a message begun: the message timer bounds the wait.
    fn read_while_blocked(&mut self, cx: &mut Context<'_>) {
        for _ in 0..READS_PER_POLL {
            let room = MAX_READ_WHILE_BLOCKED.saturating_sub(self.read_buf.len());
            if room == 0 {
                return;
            }
            let want = room.min(STACK_READ);
            match poll_read_into(Pin::new(&mut self.stream), cx, &mut self.read_buf, want) {
                Poll::Ready(Ok(0)) => return self.on_eof(),
                Poll::Ready(Ok(_)) => {
                    // Decoded once the budget allows (see the read loop).
                    self.undecoded = true;
                    self.time_message(false);
                    self.charge_budget();
                }
                Poll::Ready(Err(e)) => return self.lost(format!("read failed: {e}")),
                Poll::Pending => return,
            }
        }
        cx.waker().wake_by_ref();
    }

    /// A message (or a frame) has begun and is not complete.
    fn mid_message(&self) -> bool {
        self.receiver.is_mid_message() || !self.read_buf.is_empty()
    }

    /// Charges what this connection holds now to the server-wide budget: queued events,
    /// the message being reassembled, the read buffer.
    fn charge_budget(&mut self) {
        let held = self.held_bytes() + self.read_buf.capacity();
        if let Some(budget) = self.budget.as_mut() {
            budget.set(held);
        }
    }

    /// Arms, restarts or disarms the message timer after input was decoded: it runs from
    /// the start of the message in progress, if any.
    fn time_message(&mut self, completed_a_message: bool) {
        let Some(timeout) = self.cfg.message_timeout else {
            return;
        };
        match (self.message_deadline, self.mid_message()) {
            (None, true) => self.message_deadline = Some(Instant::now() + timeout),
            (Some(_), true) if completed_a_message => {
                self.message_deadline = Some(Instant::now() + timeout);
            }
            (Some(_), false) => self.message_deadline = None,
            _ => {}
        }
    }

    /// We stopped reading because the handler has not taken what we hold for it (or the
    /// budget is exhausted), while the peer reads what we send: the peer is not to blame
    /// for what it could not deliver meanwhile (a message, a pong). A peer that does not
    /// read is, even if that is what keeps our handler busy.
    fn we_hold_the_peer_up(&self) -> bool {
        let reading_stopped = self.budget_blocked || !self.may_queue_more() || self.undecoded;
        reading_stopped && self.writing.is_empty()
    }

    /// The receiver has buffered input left from its last call and the handler can take
    /// more events.
    fn may_decode_more(&self) -> bool {
        self.receiver.has_work_left()
            && !self.done
            && !self.discard_input
            && self.peer_close.is_none()
            && !self.output_backlogged
            && self.may_queue_more()
    }

    /// Reads once and decodes what was read; `Ok(0)` is EOF.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stream = Pin::new(&mut self.stream);
        if self.read_buf.is_empty() {
            // Nothing buffered: read on the stack, so an idle connection holds no buffer,
            // and decode whole frames from there (only a partial frame gets buffered).
            let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
            let mut rb = ReadBuf::uninit(&mut stack);
            match stream.poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let n = rb.filled().len();
            if n > 0 {
                if self.cfg.log_octets {
                    tracing::trace!(octets = ?rb.filled(), "rx octets");
                }
                self.process_input(rb.filled_mut());
            }
            return Poll::Ready(Ok(n));
        }
        // A partial frame is buffered: read the rest of it (and some slack, so that a
        // read completing the frame does not fill the buffer, which would cost one more
        // read to learn that nothing else is there).
        let want = self
            .receiver
            .bytes_wanted(&self.read_buf)
            .saturating_add(READ_SLACK)
            .clamp(STACK_READ, MAX_READ_RESERVE);
        let n = match poll_read_into(stream, cx, &mut self.read_buf, want) {
            Poll::Ready(Ok(n)) => n,
            other => return other,
        };
        if n > 0 {
            if self.cfg.log_octets {
                let start = self.read_buf.len() - n;
                tracing::trace!(octets = ?&self.read_buf[start..], "rx octets");
            }
            self.process_input(&mut []);
        }
        Poll::Ready(Ok(n))
    }

    /// Decodes `fresh` (a read made while nothing was buffered; empty otherwise) and the
    /// buffered bytes, queues the events and reacts to them.
    fn process_input(&mut self, fresh: &mut [u8]) {
        if self.discard_input || self.peer_close.is_some() {
            self.read_buf = BytesMut::new();
            return;
        }
        let before = self.events.len();
        // One read may hold many messages, and compressed ones inflate: the receiver stops
        // decoding where the bound is reached and leaves the rest in `read_buf`.
        let budget = self.byte_bound().saturating_sub(self.held_bytes());
        self.receiver.set_message_budget(budget);
        let result = self
            .receiver
            .receive_read(&mut self.read_buf, fresh, &mut self.events);
        self.undecoded = self.receiver.is_paused() && !self.read_buf.is_empty();
        if self.read_buf.is_empty() && self.read_buf.capacity() > 0 {
            // Let the last payload own the allocation, and an idle connection hold none.
            self.read_buf = BytesMut::new();
        }
        // A streamed message holds nothing while it arrives: its deadline runs from its last
        // progress, so a message of any size may take as long as it needs while it moves.
        let mut completed_a_message = false;
        if self.events.len() > before {
            // One pass over the new events: what they cost, whether data arrived, whether
            // the protocol must answer any.
            let (mut cost, mut data, mut control) = (0, false, false);
            for ev in self.events.range(before..) {
                cost += event_cost(ev);
                data |= matches!(ev, Event::Message { .. } | Event::FrameData(_));
                control |= !ev.is_data();
            }
            self.queued_bytes += cost;
            completed_a_message = self.message_deadline.is_some() && data;
            if control {
                self.react(before);
            }
        }
        self.time_message(completed_a_message);
        self.charge_budget();
        if self.park_timer.is_none() && self.receiver.deflate_awake() {
            self.arm_park_timer();
        }
        if let Err(v) = result {
            if self.events.is_empty() {
                self.fail(v);
            } else {
                // Let the handler see (and answer) the messages that preceded the
                // violation before we fail the connection (Autobahn 3.x/4.x strictness).
                self.pending_failure = Some(v);
                self.discard_input = true;
                self.read_buf = BytesMut::new();
            }
        }
    }

    /// The protocol's own answers (pongs, the close reply) to newly queued events, some of
    /// which are control frames.
    fn react(&mut self, from: usize) {
        // A close behind queued events waits for them (see `close_reply_owed`).
        let close_waits = !self.close_sent
            && self.events.len() > 1
            && matches!(self.events.back(), Some(Event::Close { .. }));
        let mut guard = self.channel.shared.lock();
        let side = &mut *guard;
        for ev in self.events.range(from..) {
            if close_waits && matches!(ev, Event::Close { .. }) {
                continue;
            }
            respond(
                &mut side.sender,
                &mut side.out,
                ev,
                self.cfg.echo_close_code_reason,
            );
            if side.out.len() >= side.high_water {
                self.output_backlogged = true;
            }
            if let (Event::Pong(p), Some(expected)) = (ev, &self.ping_outstanding) {
                if p == expected {
                    self.ping_outstanding = None;
                    self.ping_deadline = None;
                }
            }
        }
        drop(guard);
        if let Some(Event::Close { code, reason }) = self.events.back() {
            self.peer_close = Some((*code, reason.clone()));
            if let Some(ev) = self.events.pop_back() {
                self.queued_bytes -= event_cost(&ev);
            }
            if close_waits {
                self.close_reply_owed = true;
                // The handler gets the close timeout to handle what came before it.
                self.start_close_timer();
            } else {
                self.close_sent = true;
                self.on_close_handshake_done();
            }
        }
    }

    /// Sends our reply to the peer's close, which waited for the handler.
    fn answer_close(&mut self) {
        self.close_reply_owed = false;
        if let Some((code, reason)) = self.peer_close.clone() {
            let mut guard = self.channel.shared.lock();
            let side = &mut *guard;
            respond(
                &mut side.sender,
                &mut side.out,
                &Event::Close { code, reason },
                self.cfg.echo_close_code_reason,
            );
        }
        self.close_sent = true;
        // The wait for the handler is over; what follows gets its own timeout.
        self.close_timer = None;
        self.on_close_handshake_done();
    }

    fn on_close_handshake_done(&mut self) {
        match self.cfg.role {
            // RFC 6455 §7.1.1: the server closes the TCP connection first.
            Role::Server => self.drop_after_flush = true,
            Role::Client => {
                self.close_timer = self.cfg.server_connection_drop_timeout.map(Timer::after);
                self.discard_input = true;
            }
        }
    }

    fn fail(&mut self, v: ProtocolViolation) {
        tracing::debug!(violation = %v, "failing connection");
        {
            let mut side = self.channel.shared.lock();
            let side = &mut *side;
            if !side.sender.close_sent() {
                let _ = side
                    .sender
                    .send_close(&mut side.out, Some(v.code), Some(v.reason));
            }
        }
        self.close_sent = true;
        self.failure = Some(format!("protocol violation: {v}"));
        self.discard_input = true;
        self.read_buf = BytesMut::new();
        // Nothing more is decoded: free the message in progress and the codec now.
        self.receiver = Receiver::new(ProtocolConfig::new(self.cfg.role));
        self.message_deadline = None;
        self.message_timer = None;
        self.charge_budget();
        if self.cfg.fail_by_drop {
            self.drop_after_flush = true;
        } else {
            self.start_close_timer();
        }
    }

    fn on_eof(&mut self) {
        self.read_eof = true;
        if self.peer_close.is_none() && self.failure.is_none() {
            self.failure = Some("connection closed by peer without a close frame".into());
        }
        // Nothing more can arrive; write what we can, then close.
        self.drop_after_flush = true;
    }

    fn lost(&mut self, why: String) {
        tracing::debug!(%why, "connection lost");
        if self.failure.is_none() && self.peer_close.is_none() {
            self.failure = Some(why);
        }
        self.finish();
    }

    fn finish(&mut self) {
        self.done = true;
        self.read_buf = BytesMut::new();
        self.writing = Outgoing::new();
        self.message_deadline = None;
        self.message_timer = None;
        // The events still queued go with the task; the budget need not wait for that.
        self.budget = None;
        let mut side = self.channel.shared.lock();
        side.phase = Phase::Closed;
        side.out = Outgoing::new();
        drop(side);
        self.channel.shared.drained.notify_waiters();
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) {
        // Output left from a write the peer did not take (see `Poll::Pending` below): a
        // peer that stopped reading keeps it here for good, so look for a drop here too.
        if !self.writing.is_empty() && self.channel.shared.lock().abort {
            return self.lost("connection dropped by the application".into());
        }
        loop {
            if self.writing.is_empty() {
                let mut side = self.channel.shared.lock();
                if side.abort {
                    drop(side);
                    return self.lost("connection dropped by the application".into());
                }
                if side.fail_after_flush && !self.drop_after_flush {
                    // `fail_connection`: write its close frame, then drop TCP.
                    self.drop_after_flush = true;
                    self.discard_input = true;
                    self.failure = Some("failed by the application layer".into());
                }
                let close_now_sent = side.sender.close_sent() && !self.close_sent;
                let deflate_woke = self.park_timer.is_none() && side.sender.deflate_awake();
                let was_full = side.out.len() >= side.high_water;
                if side.out.is_empty() {
                    match &side.driver {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => side.driver = Some(cx.waker().clone()),
                    }
                } else {
                    side.out.swap_into(&mut self.writing);
                    if std::mem::take(&mut self.output_backlogged) {
                        // Reading stopped for the backlog; this pass has already read.
                        cx.waker().wake_by_ref();
                    }
                }
                drop(side);
                if deflate_woke {
                    self.arm_park_timer();
                }
                if close_now_sent {
                    self.close_sent = true;
                    self.start_close_timer();
                }
                if self.writing.is_empty() {
                    break;
                }
                if was_full {
                    self.channel.shared.drained.notify_waiters();
                }
            }
            let stream = Pin::new(&mut self.stream);
            let res = if stream.is_write_vectored() && !self.writing.is_contiguous() {
                let mut slices = [IoSlice::new(&[]); MAX_IO_SLICES];
                let n = self.writing.as_io_slices(&mut slices);
                Pin::new(&mut self.stream).poll_write_vectored(cx, &slices[..n])
            } else {
                Pin::new(&mut self.stream).poll_write(cx, self.writing.first_chunk())
            };
            match res {
                Poll::Ready(Ok(0)) => return self.lost("write returned zero".into()),
                Poll::Ready(Ok(n)) => {
                    if self.cfg.log_octets {
                        // Only the length: our frames are what the hooks sent.
                        tracing::trace!(len = n, "tx octets");
                    }
                    self.writing.advance(n);
                    self.needs_flush = true;
                }
                Poll::Ready(Err(e)) => return self.lost(format!("write failed: {e}")),
                Poll::Pending => {
                    // The peer is not reading: leave our waker for `drop_connection` (and
                    // new output), or only the socket could wake us, perhaps never.
                    let mut side = self.channel.shared.lock();
                    match &side.driver {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => side.driver = Some(cx.waker().clone()),
                    }
                    return;
                }
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => self.lost(format!("flush failed: {e}")),
                Poll::Pending => {}
            }
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) {
        {
            let side = self.channel.shared.lock();
            if !side.out.is_empty() {
                return;
            }
        }
        if !self.shutting_down {
            self.shutting_down = true;
            // Bound the shutdown (TLS close_notify) by the close timeout.
            self.start_close_timer();
        }
        if self.lingering {
            return self.poll_linger(cx);
        }
        match Pin::new(&mut self.stream).poll_shutdown(cx) {
            Poll::Ready(_) if self.read_eof => self.finish(),
            Poll::Ready(_) => {
                // Our FIN is out. Closing now, with the peer's bytes still unread, would make
                // the kernel answer with RST, which can destroy our last frames (the echo,
                // the close frame) in the peer's receive buffer before it reads them. So
                // read and discard until the peer closes too, bounded by the close timer.
                self.lingering = true;
                self.poll_linger(cx);
            }
            Poll::Pending => {}
        }
    }

    /// After our shutdown: discard input until EOF (or an error, or the close timer).
    fn poll_linger(&mut self, cx: &mut Context<'_>) {
        let mut scratch = [MaybeUninit::<u8>::uninit(); STACK_READ];
        for _ in 0..READS_PER_POLL {
            let mut rb = ReadBuf::uninit(&mut scratch);
            match Pin::new(&mut self.stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return self.finish(),
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return self.finish(),
                Poll::Pending => return,
            }
        }
        cx.waker().wake_by_ref();
    }

    /// How the connection ended (meaningful once [`Self::is_done`]).
    pub(crate) fn close_info(&self) -> CloseInfo {
        match &self.peer_close {
            Some((code, reason)) => CloseInfo {
                was_clean: self.close_sent && self.failure.is_none(),
                code: Some(code.unwrap_or(close_code::NULL)),
                reason: reason.clone(),
            },
            None => CloseInfo {
                was_clean: false,
                code: Some(close_code::ABNORMAL_CLOSE),
                reason: self.failure.clone(),
            },
        }
    }
}

/// What a queued event counts against `max_queued_bytes`.
#[inline]
fn event_cost(ev: &Event) -> usize {
    EVENT_OVERHEAD
        + match ev {
            Event::Message { payload, .. } | Event::FrameData(payload) => payload.len(),
            Event::Ping(p) | Event::Pong(p) => p.len(),
            Event::Close { reason, .. } => reason.as_ref().map_or(0, String::len),
            Event::FrameBegin { .. } | Event::FrameEnd { .. } => 0,
        }
}

/// Reads into the spare capacity of `buf` without zeroing it first.
fn poll_read_into<S: AsyncRead>(
    stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    want: usize,
) -> Poll<io::Result<usize>> {
    if buf.capacity() - buf.len() < want {
        buf.reserve(want);
    }
    let spare = buf.spare_capacity_mut();
    let ptr = spare.as_ptr();
    let mut rb = ReadBuf::uninit(spare);
    match stream.poll_read(cx, &mut rb) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Pending => return Poll::Pending,
    }
    let n = rb.filled().len();
    // The reader filled the buffer we gave it, not one of its own.
    assert_eq!(rb.filled().as_ptr(), ptr.cast::<u8>());
    // SAFETY: `ReadBuf` guarantees its first `n` bytes were initialised by the reader,
    // and (checked above) they are the first `n` bytes of `buf`'s spare capacity, so
    // growing the length by `n` exposes only initialised bytes.
    unsafe { buf.set_len(buf.len() + n) };
    Poll::Ready(Ok(n))
}

mod timers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_read_into_appends_exactly_what_was_read() {
        let source: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader: &[u8] = &source;
        let mut buf = BytesMut::from(&b"head"[..]);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            match poll_read_into(Pin::new(&mut reader), &mut cx, &mut buf, 1000) {
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(n)) => assert!(n > 0),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(&buf[..4], b"head");
        assert_eq!(&buf[4..], &source[..]);
    }

    /// A reader that fills a buffer of its own instead of ours (possible through
    /// `&mut ReadBuf`): the unsafe `set_len` must never expose our uninitialised bytes
    /// on its word, so the guard stops it.
    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn poll_read_into_refuses_a_reader_that_swaps_the_buffer() {
        struct Swapper;
        impl AsyncRead for Swapper {
            fn poll_read(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let own: &'static mut [u8] = Box::leak(vec![7u8; 16].into_boxed_slice());
                *buf = ReadBuf::new(own);
                buf.advance(16);
                Poll::Ready(Ok(()))
            }
        }
        let mut buf = BytesMut::new();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let _ = poll_read_into(Pin::new(&mut Swapper), &mut cx, &mut buf, 64);
    }
}
