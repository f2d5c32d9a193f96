//! RawSocket keepalive: after an interval in which nothing was received, a probe the
//! router must answer; a connection from which nothing at all arrives within the
//! timeout after it is failed (the RawSocket twin of the WebSocket client's
//! `auto_ping_interval` and `auto_ping_timeout`).
//!
//! Any received bytes prove the link alive, not only the probe's answer: the reader
//! stamps each socket read, and the timer is looked at only while the socket has
//! nothing to read, so a busy connection pays one clock read per socket read.

use std::task::Context;
use std::time::Duration;

use tokio::time::Instant;

use crate::websocket::timer::Timer;

/// What the reader does when the keepalive timer fires.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// Send probe number `n` (a PING with its bytes as payload, or a WAMP CALL with
    /// a request ID made from it).
    Probe(u32),
    /// Nothing received within the timeout after the probe: fail the connection.
    Dead,
    /// Nothing (the timer was re-armed).
    Nothing,
}

/// The keepalive state of one connection.
#[derive(Debug)]
pub(super) struct Keepalive {
    interval: Duration,
    timeout: Option<Duration>,
    timer: Timer,
    /// When the socket last gave us bytes.
    last_rx: Instant,
    /// When the unanswered probe was queued.
    outstanding: Option<Instant>,
    /// Probes may go out (a WAMP probe only while the session is established).
    active: bool,
    /// The application did not ask for messages when the timer came due: the answer may
    /// be behind what was not read yet.
    held_up: bool,
    /// Number of the next probe.
    next_probe: u32,
}

impl Keepalive {
    /// A keepalive probing after each `interval` of silence and failing after `timeout`
    /// more without anything received (`None`: never fails). `active` says whether
    /// probes may go out yet.
    pub(super) fn new(interval: Duration, timeout: Option<Duration>, active: bool) -> Self {
        let now = Instant::now();
        Self {
            interval,
            timeout,
            timer: Timer::after(interval),
            last_rx: now,
            outstanding: None,
            active,
            held_up: false,
            next_probe: 0,
        }
    }

    /// The socket gave us bytes.
    pub(super) fn received(&mut self) {
        self.last_rx = Instant::now();
    }

    /// Probes may go out (`true`) or not (`false`); an outstanding probe no longer
    /// counts once they may not.
    pub(super) fn set_active(&mut self, active: bool) {
        self.active = active;
        if !active {
            self.outstanding = None;
        }
    }

    /// What is due now, if anything; otherwise registers `cx` to be woken when it is.
    pub(super) fn poll_due(&mut self, cx: &mut Context<'_>) -> Option<Due> {
        if !self.timer.poll_fired(cx) {
            return None;
        }
        let now = Instant::now();
        if let Some(sent) = self.outstanding {
            if self.last_rx >= sent {
                self.outstanding = None;
            } else if let Some(timeout) = self.timeout {
                if !self.held_up {
                    return Some(Due::Dead);
                }
                // We held the router up: it gets another period to be heard from.
                self.held_up = false;
                self.timer.reset(now + timeout);
                return Some(Due::Nothing);
            }
        }
        let quiet_until = self.last_rx + self.interval;
        if !self.active || quiet_until > now {
            let at = if self.active {
                quiet_until
            } else {
                now + self.interval
            };
            self.timer.reset(at);
            return Some(Due::Nothing);
        }
        let n = self.next_probe;
        self.next_probe = self.next_probe.wrapping_add(1);
        self.outstanding = Some(now);
        self.held_up = false;
        self.timer
            .reset(now + self.timeout.unwrap_or(self.interval));
        Some(Due::Probe(n))
    }

    /// `recv` is polled again: if the timer came due while nobody polled it, the
    /// application held the router up (it did not ask for messages, so nothing was read).
    pub(super) fn resumed(&mut self) {
        if self.timer.deadline() <= Instant::now() {
            self.held_up = true;
        }
    }

    /// The application held the router up.
    #[cfg(test)]
    fn held_up(&mut self) {
        self.held_up = true;
    }

    /// How long the connection may stay silent after a probe (`None`: forever).
    pub(super) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::task::Poll;

    /// The next probe or death, skipping re-arms.
    async fn next_due(k: &mut Keepalive) -> Due {
        poll_fn(|cx| loop {
            match k.poll_due(cx) {
                Some(Due::Nothing) => continue,
                Some(d) => return Poll::Ready(d),
                None => return Poll::Pending,
            }
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn probes_after_each_interval_of_silence_while_answered() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        assert_eq!(next_due(&mut k).await, Due::Probe(0));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(1)).await;
        k.received(); // the answer, at 11 s
        assert_eq!(next_due(&mut k).await, Due::Probe(1));
        assert_eq!(start.elapsed(), Duration::from_secs(21));
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_postpones_the_probe() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        tokio::time::sleep(Duration::from_secs(7)).await;
        k.received();
        assert_eq!(next_due(&mut k).await, Due::Probe(0));
        assert_eq!(start.elapsed(), Duration::from_secs(17));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_dead_after_interval_and_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        assert!(matches!(next_due(&mut k).await, Due::Probe(_)));
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn inactive_sends_nothing_and_declares_nothing_dead() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(1), Some(Duration::from_secs(1)), false);
        let d = tokio::time::timeout(Duration::from_secs(30), next_due(&mut k)).await;
        assert!(d.is_err(), "nothing due while inactive: {d:?}");
        k.set_active(true);
        assert!(matches!(next_due(&mut k).await, Due::Probe(_)));
        assert!(start.elapsed() <= Duration::from_secs(32));
        // Closing: the outstanding probe no longer counts.
        k.set_active(false);
        let d = tokio::time::timeout(Duration::from_secs(30), next_due(&mut k)).await;
        assert!(d.is_err(), "nothing due once inactive again: {d:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn holding_the_router_up_gives_it_another_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        assert!(matches!(next_due(&mut k).await, Due::Probe(_)));
        k.held_up();
        assert_eq!(k.poll_due_now().await, Due::Nothing);
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn an_application_back_late_gives_the_router_another_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        assert!(matches!(next_due(&mut k).await, Due::Probe(_)));
        // Back in time: nothing changes, silence is still dead at 15 s.
        k.resumed();
        // Nobody asks for messages for a minute, past the deadline.
        tokio::time::sleep(Duration::from_secs(50)).await;
        k.resumed();
        assert_eq!(k.poll_due_now().await, Due::Nothing);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(65));
    }

    #[tokio::test(start_paused = true)]
    async fn resumed_in_time_spares_nothing() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)), true);
        assert!(matches!(next_due(&mut k).await, Due::Probe(_)));
        tokio::time::sleep(Duration::from_secs(4)).await;
        k.resumed();
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn without_timeout_it_only_probes() {
        let mut k = Keepalive::new(Duration::from_secs(1), None, true);
        for n in 0..3 {
            assert_eq!(next_due(&mut k).await, Due::Probe(n));
        }
        assert_eq!(k.timeout(), None);
    }

    impl Keepalive {
        /// The next thing due, re-arms included.
        async fn poll_due_now(&mut self) -> Due {
            poll_fn(|cx| match self.poll_due(cx) {
                Some(d) => Poll::Ready(d),
                None => Poll::Pending,
            })
            .await
        }
    }
}
