//! Acts on one copy and their undo. Every act returns the copy's labels as they are after
//! it; the engine keeps the labels from before (the located `Location`), so restore puts
//! back exactly that set, UNREAD included.
//!
//! - move-to-junk: `modify` adding SPAM, removing INBOX.
//! - trash: `trash`.
//! - soft-delete: `trash`, then `modify` adding the hidden soft-delete label. Gmail has no
//!   place hidden from the user: the copy shows in the user's Trash (and is purged after 30
//!   days unless a Vault rule keeps it); the label only lets retractor know it again.
//! - quarantine: the raw message imported into the quarantine mailbox under a label per
//!   recipient (`internalDateSource=dateHeader`, so its date is the message's own), then the
//!   original deleted. An import already there (a retry after a crash) is not repeated.
//! - hard-delete: `delete` (the engine has stored the raw evidence first); on a mailbox under
//!   hold the message stays in Vault: "retained by hold".

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Value, json};

use super::GmailBackend;
use super::account::FULL_SCOPE;
use super::client::{Api, encode, with_query};
use super::labels::{INBOX, SPAM, TRASH, is_changeable, label_ids};
use super::quota::Method;
use crate::backends::{Applied, BackendError, ErrorKind, MailboxRef};
use crate::model::{Action, Location, normalize_message_id};

/// Labels a quarantined copy keeps: its state, not its places.
const KEPT_IN_QUARANTINE: [&str; 3] = ["UNREAD", "STARRED", "IMPORTANT"];

impl GmailBackend {
    /// The quarantine mailbox, or why quarantine is not possible.
    pub(super) fn quarantine_target(&self) -> Result<&str, BackendError> {
        self.quarantine_mailbox.as_deref().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                "quarantine on Gmail needs the tenant's quarantine_mailbox (a copy is imported there; Gmail has no folder hidden from the user)",
            )
        })
    }

    /// The raw RFC 5322 message (`format=raw`, base64url in JSON).
    pub(super) async fn raw(&self, user: &str, id: &str) -> Result<Vec<u8>, BackendError> {
        let path = with_query(
            &format!("/messages/{}", encode(id)),
            &[("format", "raw".into())],
        );
        let v = self
            .client
            .json(Self::as_user(user), Method::MessagesGet, "GET", &path, None)
            .await?;
        let raw = v["raw"].as_str().unwrap_or_default();
        // Google pads base64url or not, depending on the client library that wrote the docs.
        let lenient = GeneralPurpose::new(
            &alphabet::URL_SAFE,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        lenient.decode(raw).map_err(|e| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{user}: a raw message that is not base64url: {e}"),
            )
        })
    }

    pub(super) async fn modify(
        &self,
        user: &str,
        id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Value, BackendError> {
        let body = json!({"addLabelIds": add, "removeLabelIds": remove});
        self.client
            .json(
                Self::as_user(user),
                Method::MessagesModify,
                "POST",
                &format!("/messages/{}/modify", encode(id)),
                Some(&body),
            )
            .await
    }

    async fn post_on(
        &self,
        user: &str,
        id: &str,
        method: Method,
        verb: &str,
    ) -> Result<Value, BackendError> {
        self.client
            .json(
                Self::as_user(user),
                method,
                "POST",
                &format!("/messages/{}/{verb}", encode(id)),
                None,
            )
            .await
    }

    async fn delete(&self, user: &str, id: &str) -> Result<(), BackendError> {
        self.client
            .call(
                Api::Gmail {
                    user,
                    scope: FULL_SCOPE,
                },
                Method::MessagesDelete,
                "DELETE",
                &format!("/messages/{}", encode(id)),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Import `raw` into `user`'s mailbox with these labels; the new message resource.
    async fn import(
        &self,
        user: &str,
        raw: &[u8],
        labels: &[String],
    ) -> Result<Value, BackendError> {
        let body = json!({"raw": URL_SAFE.encode(raw), "labelIds": labels});
        let path = with_query(
            "/messages/import",
            &[
                ("internalDateSource", "dateHeader".into()),
                ("neverMarkSpam", "true".into()),
                ("processForCalendar", "false".into()),
            ],
        );
        self.client
            .json(
                Self::as_user(user),
                Method::MessagesImport,
                "POST",
                &path,
                Some(&body),
            )
            .await
    }

    /// A copy of `message_id` in `user`'s mailbox carrying `label`, if one is there.
    async fn copy_with_label(
        &self,
        user: &str,
        message_id: &str,
        label: &str,
    ) -> Result<Option<Value>, BackendError> {
        Ok(self
            .copies_of(user, message_id)
            .await?
            .into_iter()
            .find(|m| label_ids(m).iter().any(|l| l == label)))
    }

    pub(super) async fn act(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let user = mailbox.address.as_str();
        let id = copy.provider_id.as_str();
        let moved = match action {
            Action::MoveToJunk => {
                self.modify(user, id, &[SPAM.into()], &[INBOX.into()])
                    .await?
            }
            Action::Trash => {
                self.post_on(user, id, Method::MessagesTrash, "trash")
                    .await?
            }
            Action::SoftDelete => {
                let label = self
                    .admin_label(user, &self.client.settings().soft_delete_label.clone())
                    .await?;
                self.post_on(user, id, Method::MessagesTrash, "trash")
                    .await?;
                self.modify(user, id, &[label], &[]).await?
            }
            Action::Quarantine => return self.quarantine(mailbox, copy).await,
            Action::HardDelete => {
                self.delete(user, id).await?;
                return Ok(Applied::deleted(mailbox.on_hold));
            }
            Action::Restore => return Err(BackendError::not_an_act(action)),
        };
        Ok(Applied::moved(
            self.location_of(user, &moved).await?,
            action,
        ))
    }

    async fn quarantine(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Applied, BackendError> {
        let user = mailbox.address.as_str();
        let holder = self.quarantine_target()?.to_string();
        let label = self
            .admin_label(&holder, &self.quarantine_label_for(user))
            .await?;
        let header = self
            .metadata(user, &copy.provider_id, &["Message-ID"])
            .await?
            .ok_or_else(|| {
                BackendError::new(ErrorKind::Gone, format!("{user}: the copy is gone"))
            })?;
        let message_id = super::scan::header(&header, "Message-ID")
            .map(|h| normalize_message_id(&h))
            .unwrap_or_default();
        let imported = match self.copy_with_label(&holder, &message_id, &label).await? {
            Some(already) => already,
            None => {
                let raw = self.raw(user, &copy.provider_id).await?;
                // The copy keeps its read state and star while quarantined; its places
                // (INBOX, user labels) mean nothing in another mailbox and stay recorded.
                let mut labels = vec![label.clone()];
                labels.extend(
                    copy.labels
                        .iter()
                        .filter(|l| KEPT_IN_QUARANTINE.contains(&l.as_str()))
                        .cloned(),
                );
                self.import(&holder, &raw, &labels).await?
            }
        };
        let to = self.location_of(&holder, &imported).await?;
        self.delete(user, &copy.provider_id).await?;
        Ok(Applied::moved_to_mailbox(to, holder))
    }

    /// Put the copy back with exactly its recorded labels: untrash when it is in Trash and
    /// was not, then one `modify` for the difference. A quarantined copy is imported back
    /// with those labels, then its quarantine copy deleted.
    pub(super) async fn restore(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let user = mailbox.address.as_str();
        let wanted: Vec<String> = original
            .labels
            .iter()
            .filter(|l| is_changeable(l))
            .cloned()
            .collect();
        if !current_mailbox.eq_ignore_ascii_case(user) {
            return self
                .restore_from(user, current_mailbox, current, &original.labels)
                .await;
        }
        let id = current.provider_id.as_str();
        let now = self.metadata(user, id, &[]).await?.ok_or_else(|| {
            BackendError::new(
                ErrorKind::Gone,
                format!("{user}: the copy to restore is gone"),
            )
        })?;
        let mut labels = label_ids(&now);
        if labels.iter().any(|l| l == TRASH) && !original.labels.iter().any(|l| l == TRASH) {
            labels = label_ids(
                &self
                    .post_on(user, id, Method::MessagesUntrash, "untrash")
                    .await?,
            );
        }
        let add: Vec<String> = wanted
            .iter()
            .filter(|l| !labels.contains(l))
            .cloned()
            .collect();
        let remove: Vec<String> = labels
            .iter()
            .filter(|l| is_changeable(l) && !wanted.contains(l))
            .cloned()
            .collect();
        let m = if add.is_empty() && remove.is_empty() {
            now
        } else {
            self.modify(user, id, &add, &remove).await?
        };
        self.location_of(user, &m).await
    }

    async fn restore_from(
        &self,
        user: &str,
        holder: &str,
        current: &Location,
        labels: &[String],
    ) -> Result<Location, BackendError> {
        let header = self
            .metadata(holder, &current.provider_id, &["Message-ID"])
            .await?;
        let back = match header {
            Some(h) => {
                let message_id = super::scan::header(&h, "Message-ID")
                    .map(|v| normalize_message_id(&v))
                    .unwrap_or_default();
                // Imported back already by an attempt that stopped before deleting: keep it.
                let existing = self
                    .copies_of(user, &message_id)
                    .await?
                    .into_iter()
                    .find(|m| label_ids(m) == labels);
                let back = match existing {
                    Some(m) => m,
                    None => {
                        let raw = self.raw(holder, &current.provider_id).await?;
                        self.import(user, &raw, labels).await?
                    }
                };
                self.delete(holder, &current.provider_id).await?;
                back
            }
            None => {
                return Err(BackendError::new(
                    ErrorKind::Gone,
                    format!("{holder}: the quarantined copy of {user}'s message is gone"),
                ));
            }
        };
        self.location_of(user, &back).await
    }
}
