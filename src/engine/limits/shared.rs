//! The limits this process keeps with every other engine on a shared store (team mode): the
//! turn at a mailbox whose server limits its requests (one worker at a time, across hosts;
//! within its turn the process's own gates keep the worker to the limit), a server's hold on
//! a mailbox, and the tenant's credentials breaker. See `store/limits.rs` for the rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::{MailboxTurn, Store, StoreError};

/// How long to wait before asking again for a mailbox another worker has: short at first (a
/// turn ends with the other worker's last item there, usually one backend call away), then
/// longer, so that items waiting on one busy mailbox do not turn into a stream of writes.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const LAST_RETRY: Duration = Duration::from_millis(500);

/// How long a read of a tenant's breaker stands before the store is asked again: a breaker
/// another host opens stops this process's items within this (a refused login or two more,
/// not one per item), one this process opens at once; and items no longer cost a read each.
const BREAKER_FRESH: Duration = Duration::from_secs(1);

/// When a (tenant, job)'s breaker was read, and what it said.
type BreakerReads = HashMap<(String, i64), (Instant, Option<String>)>;

/// The breakers as last read.
#[derive(Default)]
pub(super) struct Breakers {
    read: Mutex<BreakerReads>,
}

impl Breakers {
    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerReads> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why `job`'s items of `tenant` stop (see `Store::breaker_for_job`), read again from the
    /// store once the last read is [`BREAKER_FRESH`] old.
    pub(super) fn check(
        &self,
        store: &Store,
        tenant: &str,
        job: i64,
    ) -> Result<Option<String>, StoreError> {
        let key = (tenant.to_string(), job);
        if let Some((at, answer)) = self.lock().get(&key)
            && at.elapsed() < BREAKER_FRESH
        {
            return Ok(answer.clone());
        }
        let answer = store.breaker_for_job(tenant, job)?;
        let mut read = self.lock();
        if read.len() > 4096 {
            read.retain(|_, (at, _)| at.elapsed() < BREAKER_FRESH);
        }
        read.insert(key, (Instant::now(), answer.clone()));
        Ok(answer)
    }

    /// Open `tenant`'s breaker, and forget what was read of it, so this process's next
    /// items read the open one.
    pub(super) fn open(&self, store: &Store, tenant: &str, reason: &str) -> Result<(), StoreError> {
        store.open_breaker(tenant, reason)?;
        self.lock().retain(|(t, _), _| t != tenant);
        Ok(())
    }
}

/// This process's turns: for each (worker, tenant, mailbox) whose turn it has, how many of
/// the worker's items are in the mailbox now. The turn is taken by the first and given back
/// by the last; the lock is held across those store writes, so an item that arrives as the
/// last one leaves never believes it has a turn the store has just let go.
#[derive(Default)]
pub(super) struct Turns {
    items: Mutex<HashMap<String, usize>>,
}

/// One item's share of its worker's turn at a mailbox; given back when dropped.
pub(in crate::engine) struct TurnPass {
    turns: Arc<Turns>,
    store: Arc<Store>,
    worker: String,
    tenant: String,
    mailbox: String,
}

fn key(worker: &str, tenant: &str, mailbox: &str) -> String {
    // A NUL cannot occur in a worker id, a tenant name or an address.
    format!("{worker}\0{tenant}\0{mailbox}")
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `worker` was presumed dead and its row deleted, its turns with it (another host may
    /// have one of them now): forget them, so its next items ask the store again instead of
    /// joining a turn it no longer has. The items still in flight were fenced with the
    /// claims; their passes find nothing to give back.
    pub(super) fn forget(&self, worker: &str) {
        let prefix = format!("{worker}\0");
        self.lock().retain(|key, _| !key.starts_with(&prefix));
    }

    /// Join the worker's turn at the mailbox, waiting for it while another worker has it or
    /// the mailbox is held.
    pub(super) async fn enter(
        self: &Arc<Self>,
        store: &Arc<Store>,
        worker: &str,
        tenant: &str,
        mailbox: &str,
    ) -> Result<TurnPass, StoreError> {
        let key = key(worker, tenant, mailbox);
        let mut retry = FIRST_RETRY;
        loop {
            let answer = {
                let mut items = self.lock();
                if let Some(n) = items.get_mut(&key) {
                    *n += 1;
                    MailboxTurn::Granted
                } else {
                    let answer = store.take_mailbox_turn(worker, tenant, mailbox)?;
                    if answer == MailboxTurn::Granted {
                        items.insert(key.clone(), 1);
                    }
                    answer
                }
            };
            match answer {
                MailboxTurn::Granted => {
                    return Ok(TurnPass {
                        turns: Arc::clone(self),
                        store: Arc::clone(store),
                        worker: worker.to_string(),
                        tenant: tenant.to_string(),
                        mailbox: mailbox.to_string(),
                    });
                }
                MailboxTurn::Held(wait) => tokio::time::sleep(wait).await,
                MailboxTurn::Busy { .. } => {
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        }
    }
}

impl Drop for TurnPass {
    fn drop(&mut self) {
        let key = key(&self.worker, &self.tenant, &self.mailbox);
        let mut items = self.turns.lock();
        let Some(n) = items.get_mut(&key) else {
            return;
        };
        *n -= 1;
        if *n > 0 {
            return;
        }
        items.remove(&key);
        // Not given back now, the turn goes with this worker's row when the run ends (or
        // when the worker is presumed dead): the mailbox waits meanwhile, never over its limit.
        if let Err(e) = self
            .store
            .end_mailbox_turn(&self.worker, &self.tenant, &self.mailbox)
        {
            tracing::warn!(mailbox = %self.mailbox, "ending a mailbox turn: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Turns;
    use crate::store::MailboxTurn;

    #[tokio::test]
    async fn a_forgotten_worker_asks_the_store_again_instead_of_joining_a_lost_turn() {
        let (_dir, store) = crate::store::testutil::temp_store();
        let store = Arc::new(store);
        let turns = Arc::new(Turns::default());
        for w in ["h:1:me", "h:2:other"] {
            assert!(store.register_worker(w, "h", 1).is_ok());
        }
        let first = turns.enter(&store, "h:1:me", "t", "a@t.test").await;
        assert!(first.is_ok());
        // Presumed dead meanwhile: the row went, its turn with it, and another took the turn.
        assert!(store.unregister_worker("h:1:me").is_ok());
        assert!(store.register_worker("h:1:me", "h", 1).is_ok());
        assert_eq!(
            store.take_mailbox_turn("h:2:other", "t", "a@t.test").ok(),
            Some(MailboxTurn::Granted)
        );
        turns.forget("h:1:me");
        let second = tokio::time::timeout(
            Duration::from_millis(200),
            turns.enter(&store, "h:1:me", "t", "a@t.test"),
        )
        .await;
        assert!(second.is_err(), "joined a turn another worker holds");
        // The item of the lost turn ends: nothing of the other's turn is given back.
        drop(first);
        assert_eq!(
            store.take_mailbox_turn("h:1:me", "t", "a@t.test").ok(),
            Some(MailboxTurn::Busy {
                worker: "h:2:other".into()
            })
        );
    }
}
