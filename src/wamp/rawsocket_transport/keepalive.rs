//! RawSocket keepalive: a PING every interval, and a connection that does not answer
//! with its PONG in time is failed (the RawSocket twin of the WebSocket client's
//! `auto_ping_interval` and `auto_ping_timeout`).
//!
//! The transport's `recv` polls it only while the socket has nothing to read, so a busy
//! connection pays nothing per message.

use std::task::Context;
use std::time::Duration;

use tokio::time::Instant;

use crate::websocket::timer::Timer;

/// What the reader does when the keepalive timer fires.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// Send a PING with this payload.
    Ping([u8; 4]),
    /// No PONG in time: fail the connection.
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
    /// The PING waiting for its PONG: its payload and when it was queued.
    outstanding: Option<([u8; 4], Instant)>,
    /// The application did not ask for messages when the timer came due: the PONG may
    /// be behind what was not read yet.
    held_up: bool,
    /// Payload of the next PING (a counter: each PONG names its PING).
    next_payload: u32,
}

impl Keepalive {
    /// A keepalive pinging every `interval` (the first PING one interval from now) and
    /// failing after `timeout` without the PONG (`None`: never fails).
    pub(super) fn new(interval: Duration, timeout: Option<Duration>) -> Self {
        Self {
            interval,
            timeout,
            timer: Timer::after(interval),
            outstanding: None,
            held_up: false,
            next_payload: 0,
        }
    }

    /// What is due now, if anything; otherwise registers `cx` to be woken when it is.
    pub(super) fn poll_due(&mut self, cx: &mut Context<'_>) -> Option<Due> {
        if !self.timer.poll_fired(cx) {
            return None;
        }
        let now = Instant::now();
        let due = match (self.outstanding, self.timeout) {
            (None, _) | (Some(_), None) => {
                let payload = self.next_payload.to_be_bytes();
                self.next_payload = self.next_payload.wrapping_add(1);
                self.outstanding = Some((payload, now));
                self.held_up = false;
                let wait = self.timeout.unwrap_or(self.interval);
                self.timer.reset(now + wait);
                Due::Ping(payload)
            }
            (Some(_), Some(timeout)) if self.held_up => {
                // We held the router up: it gets another period for the PONG.
                self.held_up = false;
                self.timer.reset(now + timeout);
                Due::Nothing
            }
            (Some(_), Some(_)) => Due::Dead,
        };
        Some(due)
    }

    /// A PONG arrived: the next PING goes one interval after the one it answers.
    pub(super) fn pong(&mut self, payload: &[u8]) -> bool {
        match self.outstanding {
            Some((sent, at)) if payload == sent => {
                self.outstanding = None;
                self.timer.reset(at + self.interval);
                true
            }
            _ => false,
        }
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

    /// How long a PING may wait for its PONG (`None`: forever).
    pub(super) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::task::Poll;

    async fn next_due(k: &mut Keepalive) -> Due {
        poll_fn(|cx| match k.poll_due(cx) {
            Some(d) => Poll::Ready(d),
            None => Poll::Pending,
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn pings_each_interval_while_answered() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)));
        let Due::Ping(first) = next_due(&mut k).await else {
            panic!("a ping first")
        };
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert!(!k.pong(&[9, 9, 9, 9]), "not its payload");
        assert!(k.pong(&first));
        let Due::Ping(second) = next_due(&mut k).await else {
            panic!("a second ping")
        };
        assert_ne!(first, second);
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_dead_after_interval_and_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)));
        assert!(matches!(next_due(&mut k).await, Due::Ping(_)));
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn holding_the_router_up_gives_it_another_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)));
        let Due::Ping(p) = next_due(&mut k).await else {
            panic!("a ping")
        };
        k.held_up();
        assert_eq!(next_due(&mut k).await, Due::Nothing);
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        assert!(
            k.pong(&p),
            "a late PONG still counts if the reader gets to it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_application_back_late_gives_the_router_another_timeout() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)));
        assert!(matches!(next_due(&mut k).await, Due::Ping(_)));
        // Back in time: nothing changes, silence is still dead at 15 s.
        k.resumed();
        // Nobody asks for messages for a minute, past the PONG's deadline.
        tokio::time::sleep(Duration::from_secs(50)).await;
        k.resumed();
        assert_eq!(next_due(&mut k).await, Due::Nothing);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(65));
    }

    #[tokio::test(start_paused = true)]
    async fn resumed_in_time_spares_nothing() {
        let start = Instant::now();
        let mut k = Keepalive::new(Duration::from_secs(10), Some(Duration::from_secs(5)));
        assert!(matches!(next_due(&mut k).await, Due::Ping(_)));
        tokio::time::sleep(Duration::from_secs(4)).await;
        k.resumed();
        assert_eq!(next_due(&mut k).await, Due::Dead);
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn without_timeout_it_only_pings() {
        let mut k = Keepalive::new(Duration::from_secs(1), None);
        for _ in 0..3 {
            assert!(matches!(next_due(&mut k).await, Due::Ping(_)));
        }
        assert_eq!(k.timeout(), None);
    }
}
