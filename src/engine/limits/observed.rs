//! A tenant's backend as the engine holds it: every call passes through unchanged, and its
//! latency and any throttle are told to the process's [`Limits`], which is how the tenant's
//! limit learns the server's capacity without each backend reporting it.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{CallKind, Limits};
use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, HeaderSummary,
    MailboxRef, ScanFilter, Standing,
};
use crate::model::{Action, Location};

/// A backend whose calls feed the tenant's limits.
pub(in crate::engine) struct Observed {
    inner: Arc<dyn Backend>,
    tenant: String,
    limits: Arc<Limits>,
}

impl Observed {
    pub(in crate::engine) fn wrap(
        inner: Arc<dyn Backend>,
        tenant: &str,
        limits: &Arc<Limits>,
    ) -> Arc<dyn Backend> {
        Arc::new(Observed {
            inner,
            tenant: tenant.to_string(),
            limits: Arc::clone(limits),
        })
    }

    fn report<T>(
        &self,
        mailbox: Option<&str>,
        call: CallKind,
        started: Instant,
        result: &Result<T, BackendError>,
    ) {
        let failure = result.as_ref().err().map(|e| (e.kind, e.retry_after));
        self.limits
            .observe(&self.tenant, mailbox, call, started.elapsed(), failure);
    }
}

#[async_trait]
impl Backend for Observed {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        let started = Instant::now();
        let result = self.inner.list_mailboxes().await;
        self.report(None, CallKind::List, started, &result);
        result
    }

    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let started = Instant::now();
        let result = self.inner.locate(mailbox, message_id).await;
        self.report(Some(&mailbox.address), CallKind::Locate, started, &result);
        result
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        // Often answered from memory: timing it would teach the limits a latency no server has.
        self.inner.destination(mailbox, action).await
    }

    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        // Often answered from memory: timing it would teach the limits a latency no server has.
        self.inner.standing(mailbox, copy, action).await
    }

    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        let started = Instant::now();
        let result = self.inner.fetch_raw(mailbox, copy).await;
        self.report(Some(&mailbox.address), CallKind::Fetch, started, &result);
        result
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let started = Instant::now();
        let result = self.inner.apply(mailbox, copy, action).await;
        self.report(Some(&mailbox.address), CallKind::Act, started, &result);
        result
    }

    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let started = Instant::now();
        let result = self
            .inner
            .put_back(mailbox, current_mailbox, current, original)
            .await;
        self.report(Some(&mailbox.address), CallKind::PutBack, started, &result);
        result
    }

    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let started = Instant::now();
        let result = self.inner.scan(mailbox, filter).await;
        self.report(Some(&mailbox.address), CallKind::Scan, started, &result);
        result
    }

    async fn check(&self) -> CheckReport {
        self.inner.check().await
    }

    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let started = Instant::now();
        let result = self.inner.file_to_folder(mailbox, copy, folder).await;
        // A move within the mailbox, as an act is.
        self.report(Some(&mailbox.address), CallKind::Act, started, &result);
        result
    }
}
