//! A deadline timer that is cheap to poll again and again.
//!
//! A connection polls its timers on every pass (an echo server: every message), and polling
//! a tokio `Sleep` registers the waker with the time driver each time (~50 ns with the
//! coop budget, measured as ~0.1 µs per message in `ws_echo`). [`Timer`] polls the `Sleep`
//! only when that can change something: the first time after (re)arming, when the task's
//! waker changed, or once the time driver has marked it elapsed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use tokio::time::{sleep_until, Instant, Sleep};

/// A one-shot deadline; re-arm it with [`Timer::reset`].
#[derive(Debug)]
pub(crate) struct Timer {
    sleep: Pin<Box<Sleep>>,
    /// The waker the pending `Sleep` was last polled with.
    registered: Option<Waker>,
}

impl Timer {
    /// A timer firing at `deadline`.
    pub(crate) fn at(deadline: Instant) -> Self {
        Self {
            sleep: Box::pin(sleep_until(deadline)),
            registered: None,
        }
    }

    /// A timer firing `after` from now.
    pub(crate) fn after(after: std::time::Duration) -> Self {
        Self::at(Instant::now() + after)
    }

    /// When it fires.
    pub(crate) fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Re-arms it for `deadline` (to be polled again to register the waker).
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.sleep.as_mut().reset(deadline);
        self.registered = None;
    }

    /// True once the deadline has passed; otherwise makes sure `cx`'s task is woken then.
    #[inline]
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(waker) = &self.registered {
            if waker.will_wake(cx.waker()) && !self.sleep.is_elapsed() {
                return false;
            }
        }
        self.poll_sleep(cx)
    }

    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> bool {
        if self.sleep.as_mut().poll(cx).is_ready() {
            return true;
        }
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            self.registered = Some(cx.waker().clone());
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn fires_at_its_deadline_and_not_before() {
        let mut timer = Timer::after(Duration::from_secs(5));
        std::future::poll_fn(|cx| {
            assert!(!timer.poll_fired(cx), "not yet");
            assert!(!timer.poll_fired(cx), "polled again: still not");
            std::task::Poll::Ready(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(std::future::poll_fn(|cx| std::task::Poll::Ready(timer.poll_fired(cx))).await);
    }

    #[tokio::test(start_paused = true)]
    async fn wakes_the_task_that_waits_on_it() {
        let mut timer = Timer::after(Duration::from_secs(3));
        let started = Instant::now();
        // Polled twice per wake-up: the second poll must not lose the registration.
        std::future::poll_fn(|cx| {
            let _ = timer.poll_fired(cx);
            if timer.poll_fired(cx) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_moves_the_deadline() {
        let mut timer = Timer::after(Duration::from_secs(1));
        assert!(!std::future::poll_fn(|cx| std::task::Poll::Ready(timer.poll_fired(cx))).await);
        let later = Instant::now() + Duration::from_secs(10);
        timer.reset(later);
        assert_eq!(timer.deadline(), later);
        let started = Instant::now();
        std::future::poll_fn(|cx| match timer.poll_fired(cx) {
            true => std::task::Poll::Ready(()),
            false => std::task::Poll::Pending,
        })
        .await;
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
