//! The limits of one process, owned by the [`Engine`](super::Engine) and shared by every run,
//! scan and job in it: two jobs in one console together stay within the per-mailbox limit
//! and the tenant's concurrency, and a tenant whose credentials were refused stops for all.
//!
//! - per mailbox: at most `[engine] per_mailbox` items at once, held after a throttle until
//!   the server's `Retry-After` passed (the same gate the HTTP backends use per request); on a
//!   shared store also across every host's engine ([`shared`]);
//! - per tenant: an adaptive limit ([`adaptive::Controller`]) from `[engine] concurrency` up
//!   to the ceiling, fed by every backend call ([`observed`]);
//! - the credentials breaker of each tenant, kept in the store so that it opens for every
//!   process and host at once.

mod adaptive;
mod observed;
mod shared;

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use adaptive::{CallKind, Controller};
pub(super) use observed::Observed;
pub(super) use shared::TurnPass;

use crate::backends::ErrorKind;
use crate::backends::common::throttle::{Gate, Gates};
use crate::config::EngineSettings;
use crate::store::{Store, StoreError};

/// The limits of this process.
pub(super) struct Limits {
    start: usize,
    ceiling: usize,
    mailboxes: Gates,
    tenants: Mutex<HashMap<String, Arc<TenantGate>>>,
    store: Arc<Store>,
    turns: Arc<shared::Turns>,
    breakers: shared::Breakers,
}

impl Limits {
    pub(super) fn new(settings: &EngineSettings, store: Arc<Store>) -> Limits {
        Limits {
            start: settings.concurrency,
            ceiling: settings.concurrency_ceiling(),
            mailboxes: Gates::new(settings.per_mailbox),
            tenants: Mutex::default(),
            store,
            turns: Arc::default(),
            breakers: shared::Breakers::default(),
        }
    }

    /// Why `job`'s items of `tenant` fail at once: its credentials were refused since the
    /// job was created, by this process or another host's (`None`: go ahead).
    pub(super) fn breaker(&self, tenant: &str, job: i64) -> Result<Option<String>, StoreError> {
        self.breakers.check(&self.store, tenant, job)
    }

    /// The tenant's credentials were refused: stop its items everywhere.
    pub(super) fn open_breaker(&self, tenant: &str, reason: &str) -> Result<(), StoreError> {
        self.breakers.open(&self.store, tenant, reason)
    }

    /// On a shared store, the worker's turn at a mailbox whose server limits its requests
    /// (`limited`), waited for while another host's worker has it (`None`: the store is this
    /// host's alone, or the server sets no such limit, and the process's gates suffice).
    pub(super) async fn mailbox_turn(
        &self,
        limited: bool,
        worker: &str,
        tenant: &str,
        mailbox: &str,
    ) -> Result<Option<TurnPass>, StoreError> {
        if !limited || !self.store.is_shared() {
            return Ok(None);
        }
        self.turns
            .enter(&self.store, worker, tenant, mailbox)
            .await
            .map(Some)
    }

    /// `worker` was presumed dead (its heartbeat found its row gone): its mailbox turns
    /// went with the row.
    pub(super) fn worker_was_forgotten(&self, worker: &str) {
        self.turns.forget(worker);
    }

    /// The gate of one mailbox, shared by every run of the process.
    pub(super) fn mailbox(&self, tenant: &str, mailbox: &str) -> Arc<Gate> {
        // A NUL cannot occur in a tenant name or an address, so the key is unambiguous.
        self.mailboxes.gate(&format!("{tenant}\0{mailbox}"))
    }

    /// The concurrency gate of one tenant, shared by every run and scan of the process.
    pub(super) fn tenant(&self, tenant: &str) -> Arc<TenantGate> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            tenants
                .entry(tenant.to_string())
                .or_insert_with(|| Arc::new(TenantGate::new(self.start, self.ceiling))),
        )
    }

    /// How many items a run may claim at once for these tenants: the sum of their current
    /// limits (claims beyond a tenant's limit would only wait, holding their lease).
    pub(super) fn claim_room<'a>(&self, tenants: impl Iterator<Item = &'a String>) -> usize {
        tenants
            .map(|t| self.tenant(t).limit())
            .sum::<usize>()
            .max(1)
    }

    /// What a backend call for `tenant` (and `mailbox`, when it was about one) came to.
    pub(super) fn observe(
        &self,
        tenant: &str,
        mailbox: Option<&str>,
        call: CallKind,
        latency: Duration,
        failure: Option<(ErrorKind, Option<Duration>)>,
    ) {
        let gate = self.tenant(tenant);
        match failure {
            None => gate.answered(call, latency),
            Some((kind, retry_after)) if is_throttle(kind, retry_after) => {
                gate.throttled(retry_after);
                if let (Some(mailbox), Some(wait)) = (mailbox, retry_after) {
                    self.mailbox(tenant, mailbox).hold(wait);
                    // Every other host waits it out too.
                    if self.store.is_shared()
                        && let Err(e) = self.store.hold_mailbox(tenant, mailbox, wait)
                    {
                        tracing::warn!("recording a hold on {mailbox}: {e}");
                    }
                }
            }
            // Other failures say nothing about the server's capacity.
            Some(_) => {}
        }
    }
}

/// 429, or 503 / server busy that says when to come back: the server is over its capacity.
/// A 503 without `Retry-After` is more often a server down or restarting than a busy one.
fn is_throttle(kind: ErrorKind, retry_after: Option<Duration>) -> bool {
    kind == ErrorKind::Throttled || (kind == ErrorKind::Unavailable && retry_after.is_some())
}

/// The adaptive concurrency gate of one tenant.
pub(super) struct TenantGate {
    state: Mutex<TenantState>,
    changed: Notify,
}

struct TenantState {
    controller: Controller,
    in_flight: usize,
}

/// A slot in a tenant's gate; given back when dropped.
pub(super) struct TenantSlot {
    gate: Arc<TenantGate>,
}

impl Drop for TenantSlot {
    fn drop(&mut self) {
        self.gate.lock().in_flight -= 1;
        self.gate.changed.notify_waiters();
    }
}

impl TenantGate {
    fn new(start: usize, ceiling: usize) -> TenantGate {
        TenantGate {
            state: Mutex::new(TenantState {
                controller: Controller::new(start, ceiling),
                in_flight: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TenantState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tenant's current limit.
    pub(super) fn limit(&self) -> usize {
        self.lock().controller.limit()
    }

    /// Items of the tenant in flight now, across every run of the process.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Wait for a slot under the tenant's current limit. (Named after the semaphore method it
    /// stands in for, so a caller holding either reads the same.)
    pub(super) async fn acquire_owned(self: Arc<Self>) -> TenantSlot {
        loop {
            // Registered before the check, so a slot freed between the two is not missed.
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.controller.limit() {
                    state.in_flight += 1;
                    return TenantSlot {
                        gate: Arc::clone(&self),
                    };
                }
            }
            changed.await;
        }
    }

    fn answered(&self, call: CallKind, latency: Duration) {
        let grew = {
            let mut state = self.lock();
            let before = state.controller.limit();
            state.controller.answered(call, latency, Instant::now());
            state.controller.limit() > before
        };
        if grew {
            self.changed.notify_waiters();
        }
    }

    fn throttled(&self, retry_after: Option<Duration>) {
        self.lock()
            .controller
            .throttled(retry_after, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(start: usize, ceiling: usize, per_mailbox: usize) -> (tempfile::TempDir, Limits) {
        let (dir, store) = crate::store::testutil::temp_store();
        let limits = Limits::new(
            &EngineSettings {
                concurrency: start,
                max_concurrency: Some(ceiling),
                per_mailbox,
                ..EngineSettings::default()
            },
            Arc::new(store),
        );
        (dir, limits)
    }

    #[tokio::test]
    async fn a_tenant_gate_admits_no_more_than_its_limit_and_wakes_a_waiter_on_release() {
        let (_dir, limits) = limits(2, 8, 4);
        let gate = limits.tenant("t");
        let a = Arc::clone(&gate).acquire_owned().await;
        let _b = Arc::clone(&gate).acquire_owned().await;
        let third = tokio::spawn(Arc::clone(&gate).acquire_owned());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished(), "a third slot under a limit of 2");
        assert_eq!(gate.in_flight(), 2);
        drop(a);
        let third = tokio::time::timeout(Duration::from_secs(1), third).await;
        assert!(third.is_ok(), "the freed slot was not handed on");
        // The same tenant from anywhere in the process is the same gate.
        assert!(Arc::ptr_eq(&gate, &limits.tenant("t")));
        assert!(!Arc::ptr_eq(&gate, &limits.tenant("u")));
    }

    #[tokio::test]
    async fn a_throttle_with_retry_after_holds_the_mailbox_and_halves_the_tenant() {
        let (_dir, limits) = limits(16, 64, 4);
        limits.observe(
            "t",
            Some("a@x"),
            CallKind::Act,
            Duration::from_millis(5),
            Some((ErrorKind::Throttled, Some(Duration::from_millis(600)))),
        );
        assert_eq!(limits.tenant("t").limit(), 8);
        let started = Instant::now();
        let _pass = limits.mailbox("t", "a@x").enter(1).await;
        assert!(started.elapsed() >= Duration::from_millis(590));
        // Another mailbox, and the same address in another tenant, are not held (the bound
        // is half the hold: a loaded machine may be slow, never 300 ms slow to a free gate).
        let started = Instant::now();
        let _pass = limits.mailbox("u", "a@x").enter(1).await;
        assert!(started.elapsed() < Duration::from_millis(300));
        // A 503 without Retry-After, or a refused login, is no throttle.
        limits.observe(
            "u",
            None,
            CallKind::Act,
            Duration::ZERO,
            Some((ErrorKind::Unavailable, None)),
        );
        limits.observe(
            "u",
            None,
            CallKind::Act,
            Duration::ZERO,
            Some((ErrorKind::AuthFailed, None)),
        );
        assert_eq!(limits.tenant("u").limit(), 16);
        limits.observe(
            "u",
            None,
            CallKind::Act,
            Duration::ZERO,
            Some((ErrorKind::Unavailable, Some(Duration::from_secs(1)))),
        );
        assert_eq!(limits.tenant("u").limit(), 8);
    }
}
