//! The per-mailbox gate of an HTTP backend: at most N requests in flight to one mailbox (a
//! `$batch` takes as many slots as it carries requests), and a hold after the server
//! throttled it, so no further request to that mailbox leaves until its `Retry-After` passed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::backoff::MAX_WAIT;
use crate::backends::{BackendError, ErrorKind};

/// The gates of one tenant's mailboxes, made on first use.
pub struct Gates {
    per_mailbox: usize,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Gates {
    /// Gates that let `per_mailbox` requests (at least one) run at once to each mailbox.
    pub fn new(per_mailbox: usize) -> Gates {
        Gates {
            per_mailbox: per_mailbox.max(1),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// The gate of `mailbox`; every caller naming the same mailbox shares it.
    pub fn gate(&self, mailbox: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(gates.entry(mailbox.to_string()).or_insert_with(|| {
            Arc::new(Gate {
                slots: self.per_mailbox,
                permits: Arc::new(Semaphore::new(self.per_mailbox)),
                not_before: Mutex::new(None),
            })
        }))
    }
}

/// The request limit and throttling state of one mailbox.
pub struct Gate {
    slots: usize,
    permits: Arc<Semaphore>,
    not_before: Mutex<Option<Instant>>,
}

/// Slots taken in a gate; given back when dropped.
pub struct Pass {
    _permit: OwnedSemaphorePermit,
}

impl Gate {
    /// Take `n` slots (1 to the gate's size), then wait out any hold the mailbox is under.
    pub async fn enter(&self, n: usize) -> Result<Pass, BackendError> {
        let n = n.clamp(1, self.slots) as u32;
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(n)
            .await
            .map_err(|_| BackendError::new(ErrorKind::Internal, "mailbox limiter closed"))?;
        self.wait_out_hold().await;
        Ok(Pass { _permit: permit })
    }

    /// Return once the mailbox is under no hold (holds may be extended while waiting).
    pub async fn wait_out_hold(&self) {
        loop {
            match self.held_until() {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => return,
            }
        }
    }

    /// The server throttled this mailbox: hold every request to it for `wait` (at most
    /// [`MAX_WAIT`]). A hold is only ever extended, never shortened by a later, smaller one.
    pub fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_WAIT);
        let mut held = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none_or(|t| t < until) {
            *held = Some(until);
        }
    }

    /// When the current hold ends, if one was ever set.
    pub fn held_until(&self) -> Option<Instant> {
        *self.not_before.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_limit_run_at_once_and_a_batch_takes_its_size() {
        let gates = Arc::new(Gates::new(4));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (gates, running, most) =
                    (Arc::clone(&gates), Arc::clone(&running), Arc::clone(&most));
                tokio::spawn(async move {
                    // Every fifth is a batch of 20 requests: it must hold all four slots.
                    let n = if i % 5 == 0 { 20 } else { 1 };
                    let _pass = gates.gate("a@x").enter(n).await.unwrap();
                    let now = running.fetch_add(n.min(4), Ordering::SeqCst) + n.min(4);
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    running.fetch_sub(n.min(4), Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 4);
        // Another mailbox has its own slots.
        let _all = gates.gate("a@x").enter(4).await.unwrap();
        let other = gates.gate("b@x");
        let entered = tokio::time::timeout(Duration::from_secs(1), other.enter(4)).await;
        assert!(entered.is_ok());
    }

    #[tokio::test]
    async fn a_hold_delays_entry_until_it_ends_and_is_never_shortened() {
        let gates = Gates::new(4);
        let gate = gates.gate("a@x");
        gate.hold(Duration::from_millis(600));
        gate.hold(Duration::from_millis(10));
        let started = Instant::now();
        let _pass = gates.gate("a@x").enter(1).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(590),
            "{:?}",
            started.elapsed()
        );
        // Other mailboxes are not held (half the hold: slack for a loaded machine).
        let started = Instant::now();
        let _pass = gates.gate("b@x").enter(1).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn a_hold_is_bounded_whatever_the_server_asked() {
        let gate = Gates::new(1).gate("a@x");
        gate.hold(Duration::MAX);
        let until = gate.held_until().unwrap();
        assert!(until <= Instant::now() + MAX_WAIT);
        assert!(until > Instant::now() + MAX_WAIT - Duration::from_secs(5));
    }
}
