//! The connection's timers: the closing handshake's, auto-ping and its deadline, the
//! message deadline, and the check that parks idle permessage-deflate state.

use std::task::Context;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::super::timer::Timer;
use super::{Io, BUDGET_EXHAUSTED, DEFLATE_PARK_CHECK, MESSAGE_TIMED_OUT};

impl<S: AsyncRead + AsyncWrite + Unpin> Io<S> {
    /// Polls the message timer towards `message_deadline`; true once that has passed.
    pub(super) fn poll_message_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.message_deadline else {
            return false;
        };
        let timer = self
            .message_timer
            .get_or_insert_with(|| Timer::at(deadline));
        if timer.deadline() > deadline {
            timer.reset(deadline);
        }
        if !timer.poll_fired(cx) {
            return false;
        }
        if deadline <= timer.deadline() {
            return true;
        }
        // Fired for an earlier message: follow the current one.
        timer.reset(deadline);
        let _ = timer.poll_fired(cx);
        false
    }

    /// The message timer fired. If the server-wide budget held the message up, the peer
    /// may try again later (1013). If our handler held it up, the peer is not to blame:
    /// it gets another period. Otherwise the peer was too slow (1008).
    pub(super) fn message_timed_out(&mut self) {
        if !self.mid_message() || self.discard_input {
            return;
        }
        if self.budget_blocked {
            return self.fail(BUDGET_EXHAUSTED);
        }
        if self.we_hold_the_peer_up() {
            self.time_message(false);
            return;
        }
        self.fail(MESSAGE_TIMED_OUT);
    }

    pub(super) fn start_close_timer(&mut self) {
        if self.close_timer.is_none() {
            self.close_timer = self.cfg.close_handshake_timeout.map(Timer::after);
        }
    }

    #[inline]
    pub(super) fn poll_timers(&mut self, cx: &mut Context<'_>) {
        if self.close_timer.is_some()
            || self.ping_deadline.is_some()
            || self.message_deadline.is_some()
        {
            self.poll_armed_timers(cx);
        }
    }

    pub(super) fn poll_armed_timers(&mut self, cx: &mut Context<'_>) {
        if let Some(t) = self.close_timer.as_mut() {
            if t.poll_fired(cx) {
                self.close_timer = None;
                if self.close_reply_owed {
                    // The handler took too long with what came before the close: answer
                    // it now (its later sends fail as after any close).
                    self.answer_close();
                    return;
                }
                if self.drop_after_flush && !self.shutting_down && self.failure.is_none() {
                    // Our last frames (the close reply among them) never left: the peer
                    // stopped reading. The closing handshake did not complete.
                    self.failure = Some("peer stopped reading before our close went out".into());
                }
                let why = if self.peer_close.is_some() {
                    "server did not drop the connection in time"
                } else {
                    "closing handshake timed out"
                };
                return self.lost(why.into());
            }
        }
        let spare_the_peer = self.we_hold_the_peer_up();
        if let Some(t) = self.ping_deadline.as_mut() {
            if t.poll_fired(cx) {
                if spare_the_peer {
                    // The pong may be among what we have not read (or decoded) yet: the
                    // peer gets another period.
                    let timeout = self.cfg.auto_ping_timeout.unwrap_or(Duration::from_secs(1));
                    t.reset(Instant::now() + timeout);
                    let _ = t.poll_fired(cx);
                } else {
                    self.ping_deadline = None;
                    return self.lost("auto-ping timed out".into());
                }
            }
        }
        if self.poll_message_timer(cx) {
            self.message_deadline = None;
            self.message_timed_out();
            // Re-armed (our handler held the peer up): register the waker.
            self.poll_message_timer(cx);
        }
    }

    /// The auto-ping and deflate-parking timers; true if a ping was queued.
    pub(super) fn poll_periodic_timers(&mut self, cx: &mut Context<'_>) -> bool {
        self.poll_park_timer(cx);
        let Some(t) = self.ping_timer.as_mut() else {
            return false;
        };
        if !t.poll_fired(cx) {
            return false;
        }
        let interval = self
            .cfg
            .auto_ping_interval
            .unwrap_or(Duration::from_secs(1));
        t.reset(Instant::now() + interval);
        let _ = t.poll_fired(cx);
        if self.ping_outstanding.is_none() && !self.close_sent {
            self.send_auto_ping(cx);
            return true;
        }
        false
    }

    /// Parks permessage-deflate's zlib state if it was unused for a whole period; disarms
    /// the timer once nothing is held (the next message re-arms it).
    pub(super) fn poll_park_timer(&mut self, cx: &mut Context<'_>) {
        let Some(t) = self.park_timer.as_mut() else {
            return;
        };
        if !t.poll_fired(cx) {
            return;
        }
        let receiving = self.receiver.park_deflate_if_idle();
        let sending = self.channel.shared.lock().sender.park_deflate_if_idle();
        match self.park_timer.as_mut() {
            Some(t) if receiving || sending => {
                t.reset(Instant::now() + DEFLATE_PARK_CHECK);
                let _ = t.poll_fired(cx);
            }
            _ => self.park_timer = None,
        }
    }

    /// Starts the park timer (polled at the end of the current pass).
    pub(super) fn arm_park_timer(&mut self) {
        self.park_timer = Some(Timer::after(DEFLATE_PARK_CHECK));
    }

    pub(super) fn send_auto_ping(&mut self, cx: &mut Context<'_>) {
        let size = self.cfg.auto_ping_size.clamp(4, 125);
        let payload: Bytes = (0..size)
            .map(|_| rand::random::<u8>())
            .collect::<Vec<u8>>()
            .into();
        {
            let mut side = self.channel.shared.lock();
            let side = &mut *side;
            if side.sender.send_ping(&mut side.out, &payload).is_err() {
                return;
            }
        }
        self.ping_outstanding = Some(payload);
        if let Some(d) = self.cfg.auto_ping_timeout {
            let mut t = Timer::after(d);
            let _ = t.poll_fired(cx);
            self.ping_deadline = Some(t);
        }
    }
}
