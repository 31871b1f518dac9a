//! Maildir backend (stub; being written).
use async_trait::async_trait;

use crate::backends::*;
use crate::config::MaildirSettings;

/// Dovecot Maildir++ tree.
pub struct MaildirBackend;

impl MaildirBackend {
    pub fn new(_s: MaildirSettings, _q: Option<String>, _p: bool) -> Self {
        MaildirBackend
    }
}

fn stub<T>() -> Result<T, BackendError> {
    Err(BackendError::new(ErrorKind::Internal, "stub"))
}

#[async_trait]
impl Backend for MaildirBackend {
    fn kind(&self) -> &'static str {
        "maildir"
    }
    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        stub()
    }
    async fn locate(&self, _m: &MailboxRef, _id: &str) -> Result<Vec<Location>, BackendError> {
        stub()
    }
    fn destination_folder(&self, _m: &MailboxRef, _a: Action) -> Option<String> {
        None
    }
    async fn fetch_raw(&self, _m: &MailboxRef, _c: &Location) -> Result<Vec<u8>, BackendError> {
        stub()
    }
    async fn apply(&self, _m: &MailboxRef, _c: &Location, _a: Action) -> Result<Applied, BackendError> {
        stub()
    }
    async fn put_back(&self, _m: &MailboxRef, _cm: &str, _c: &Location, _o: &Location) -> Result<Location, BackendError> {
        stub()
    }
    async fn scan(&self, _m: &MailboxRef, _f: &ScanFilter) -> Result<Vec<HeaderSummary>, BackendError> {
        stub()
    }
    async fn check(&self) -> CheckReport {
        CheckReport { ok: false, detail: "stub".into() }
    }
}
