//! The one way the engine reads many mailboxes of a tenant: one task per mailbox, at most the
//! tenant's limit at once, every mailbox that could not be read named with why (never
//! skipped silently). Sweeps, `index` and hunts all go through it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::{Engine, EngineError};
use crate::backends::{Backend, BackendError, MailboxRef};

/// What every mailbox gave, and the mailboxes that could not be read, with why.
pub(super) struct EachMailbox<T> {
    pub(super) done: Vec<(MailboxRef, T)>,
    pub(super) unsearched: Vec<(MailboxRef, String)>,
}

impl Engine {
    /// Run `read` on each of `mailboxes` with `tenant`'s backend, bounded by the tenant's
    /// limit; results in no particular order.
    pub(super) async fn each_mailbox<T, F, Fut>(
        &self,
        tenant: &str,
        mailboxes: Vec<MailboxRef>,
        read: F,
    ) -> Result<EachMailbox<T>, EngineError>
    where
        T: Send + 'static,
        F: Fn(Arc<dyn Backend>, MailboxRef) -> Fut,
        Fut: Future<Output = Result<T, BackendError>> + Send + 'static,
    {
        let backend = Arc::clone(self.backend(tenant).map_err(EngineError::Backend)?);
        let limit = self.limits.tenant(tenant);
        let mut tasks = JoinSet::new();
        let mut by_task = HashMap::new();
        for mailbox in mailboxes {
            let limit = Arc::clone(&limit);
            let work = read(Arc::clone(&backend), mailbox.clone());
            let searched = mailbox.clone();
            let task = tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (searched, work.await)
            });
            by_task.insert(task.id(), mailbox);
        }
        let mut out = EachMailbox {
            done: Vec::new(),
            unsearched: Vec::new(),
        };
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((mailbox, Ok(found))) => out.done.push((mailbox, found)),
                Ok((mailbox, Err(e))) => out.unsearched.push((mailbox, e.to_string())),
                Err(e) => {
                    if let Some(mailbox) = by_task.remove(&e.id()) {
                        out.unsearched
                            .push((mailbox, "the search failed unexpectedly".into()));
                    }
                }
            }
        }
        out.unsearched.sort_by(|a, b| a.0.address.cmp(&b.0.address));
        Ok(out)
    }
}
