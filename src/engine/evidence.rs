//! Reading a copy of a logged message for its evidence: the recipient's while it is
//! delivered, else the copy a quarantine holds, else the copy a hard-delete kept in the
//! evidence store. The bytes come through the backend (or the store); the parsing is
//! [`crate::forensics`], which does no I/O. An export is recorded in the audit before the
//! client writes a file: the chain of custody starts at the copy handed out.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Engine, EngineError};
use crate::backends::MailboxRef;
use crate::model::Role;
use crate::store::{MessageDetail, NewAudit};

/// Least role that may take a raw copy out of the store and the mailboxes.
pub const EXPORT_ROLE: Role = Role::Analyst;

/// Where the copy read was.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopySource {
    /// `mailbox` (a recipient's), `quarantine` (the quarantine mailbox's) or `evidence-store`
    /// (the copy a hard-delete kept).
    pub kind: String,
    pub mailbox: String,
    pub folder: String,
}

impl CopySource {
    /// Which copy this is, in words (raw: clients sanitise it): "the copy in
    /// alice@corp.test Junk", "the quarantine copy in quarantine@corp.test alice@corp.test",
    /// "the evidence copy a hard-delete kept (alice@corp.test INBOX)".
    pub fn describe(&self) -> String {
        match self.kind.as_str() {
            "quarantine" => format!("the quarantine copy in {} {}", self.mailbox, self.folder),
            "evidence-store" => format!(
                "the evidence copy a hard-delete kept ({} {})",
                self.mailbox, self.folder
            ),
            _ => format!("the copy in {} {}", self.mailbox, self.folder),
        }
    }
}

/// One copy's bytes and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceCopy {
    pub source: CopySource,
    pub raw: Vec<u8>,
}

/// How many recipients' mailboxes are tried before the quarantine: a copy is usually in
/// the first, and a message to thousands must not make `evidence` read thousands.
const MAILBOXES_TRIED: usize = 10;

impl Engine {
    /// The first copy of the message any backend (or the evidence store) can read, or why
    /// there is none.
    pub async fn evidence_copy(&self, detail: &MessageDetail) -> Result<EvidenceCopy, EngineError> {
        let message = &detail.message;
        let mut problems = Vec::new();
        match self.backend(&message.tenant) {
            Ok(backend) => {
                // A copy a job moved out of its mailbox (quarantined, hard-deleted) is not
                // looked for there: the quarantine and the evidence store are read below.
                let left = |d: &&crate::model::Delivery| {
                    d.status == crate::model::DeliveryState::Retracted
                        && d.folder.as_deref().is_some_and(|f| {
                            f == "(deleted)"
                                || f.split_once('/').is_some_and(|(holder, _)| {
                                    self.is_quarantine_mailbox(&message.tenant, holder)
                                })
                        })
                };
                let recipients = detail
                    .deliveries
                    .iter()
                    .filter(|d| !d.external)
                    .filter(|d| !left(d));
                for d in recipients.take(MAILBOXES_TRIED) {
                    let mailbox = MailboxRef {
                        address: d.mailbox.clone(),
                        on_hold: d.on_hold,
                    };
                    match self
                        .read_first(backend.as_ref(), &mailbox, &message.message_id)
                        .await
                    {
                        Ok(Some((folder, raw))) => {
                            let kind = if self.is_quarantine_mailbox(&message.tenant, &d.mailbox) {
                                "quarantine"
                            } else {
                                "mailbox"
                            };
                            return Ok(EvidenceCopy {
                                source: CopySource {
                                    kind: kind.into(),
                                    mailbox: d.mailbox.clone(),
                                    folder,
                                },
                                raw,
                            });
                        }
                        Ok(None) => {}
                        Err(e) => problems.push(format!("{}: {e}", d.mailbox)),
                    }
                }
                // Pulled copies: wherever a job recorded moving them into another mailbox.
                let mut holders: Vec<String> = self
                    .store
                    .restorable_items(Some(&message.message_id), None)?
                    .into_iter()
                    .filter(|i| i.tenant == message.tenant)
                    .flat_map(|i| i.placements)
                    .filter_map(|p| p.to_mailbox)
                    .collect();
                holders.sort();
                holders.dedup();
                for holder in holders {
                    let mailbox = MailboxRef {
                        address: holder.clone(),
                        on_hold: false,
                    };
                    match self
                        .read_first(backend.as_ref(), &mailbox, &message.message_id)
                        .await
                    {
                        Ok(Some((folder, raw))) => {
                            return Ok(EvidenceCopy {
                                source: CopySource {
                                    kind: "quarantine".into(),
                                    mailbox: holder,
                                    folder,
                                },
                                raw,
                            });
                        }
                        Ok(None) => {}
                        Err(e) => problems.push(format!("{holder}: {e}")),
                    }
                }
            }
            Err(e) => problems.push(format!("tenant {}: {e}", message.tenant)),
        }
        if let Some(kept) = self
            .store
            .evidence_for_message(&message.tenant, &message.message_id)?
            .into_iter()
            .next()
        {
            return Ok(EvidenceCopy {
                raw: self.store.evidence_raw(kept.id)?,
                source: CopySource {
                    kind: "evidence-store".into(),
                    mailbox: kept.mailbox,
                    folder: kept.folder,
                },
            });
        }
        let why = if problems.is_empty() {
            "no mailbox, quarantine or evidence copy holds it".to_string()
        } else {
            problems.join("; ")
        };
        Err(EngineError::Backend(crate::model::text::sanitize(
            &format!("no copy of {} could be read: {why}", message.message_id),
        )))
    }

    async fn read_first(
        &self,
        backend: &dyn crate::backends::Backend,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, crate::backends::BackendError> {
        let copies = backend.locate(mailbox, message_id).await?;
        let Some(copy) = copies.first() else {
            return Ok(None);
        };
        let raw = backend.fetch_raw(mailbox, copy).await?;
        Ok(Some((copy.folder.clone(), raw)))
    }

    /// Record (before any file is written) that `copy` of `reference` leaves for `destination`;
    /// refused (exit 4, audited) below [`EXPORT_ROLE`]. Returns who and when, for the manifest.
    pub fn record_evidence_export(
        &self,
        reference: &str,
        copy: &EvidenceCopy,
        destination: &str,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), EngineError> {
        let role = self.actor.role;
        let target = crate::model::text::sanitize(reference);
        let sha = hex::encode(Sha256::digest(&copy.raw));
        let allowed = role >= EXPORT_ROLE;
        let detail = if allowed {
            format!(
                "copy from {} {} folder {}, sha256 {sha}, {} bytes, to {}",
                copy.source.kind,
                copy.source.mailbox,
                copy.source.folder,
                copy.raw.len(),
                destination
            )
        } else {
            format!("role {role} may not export evidence; needs {EXPORT_ROLE}")
        };
        self.store.audit(&NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: role.to_string(),
            action: "evidence-export".into(),
            target,
            outcome: if allowed { "exported" } else { "refused" }.into(),
            detail: Some(crate::model::text::sanitize(&detail)),
            ..NewAudit::default()
        })?;
        if !allowed {
            return Err(EngineError::Refused(format!(
                "{} has role {role}, which may not export evidence (needs {EXPORT_ROLE} or above)",
                self.actor.login
            )));
        }
        Ok((self.actor.login.clone(), chrono::Utc::now()))
    }
}
