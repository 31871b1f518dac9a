//! Labels, this backend's places: the label names of one user (learnt once, only when a copy
//! carries a user label), the admin labels created when missing (hidden from the label
//! list), and the `Location` of a copy from its `labelIds`.
//!
//! A copy's `Location`: `provider_id` is the Gmail message id (immutable: label changes keep
//! it); `labels` is every label id the copy carries, sorted (the exact set restore puts back,
//! UNREAD included); `seen` is "no UNREAD"; `folder` is the one place shown, chosen from the
//! labels by id (the admin labels, then TRASH, SPAM, INBOX, a user label, SENT, else ARCHIVE),
//! so a label the user names "SPAM" is never taken for Spam.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::GmailBackend;
use super::account::MODIFY_SCOPE;
use super::client::Api;
use super::quota::Method;
use crate::backends::{BackendError, ErrorKind};
use crate::model::Location;
use crate::model::text::sanitize;

pub const INBOX: &str = "INBOX";
pub const SPAM: &str = "SPAM";
pub const TRASH: &str = "TRASH";
pub const UNREAD: &str = "UNREAD";
/// Where a copy with no place label is: only in All Mail.
pub const ARCHIVE: &str = "ARCHIVE";
/// System labels the API does not let anyone add or remove.
const FIXED: [&str; 3] = ["SENT", "DRAFT", "CHAT"];

/// One user's labels: id -> name.
pub type LabelNames = HashMap<String, String>;

/// Whether a label id is a user label (Gmail names them `Label_<n>`); system labels are
/// upper-case words.
fn is_user_label(id: &str) -> bool {
    id.starts_with("Label_")
}

/// Whether a label can be added or removed with `messages.modify`.
pub fn is_changeable(id: &str) -> bool {
    !FIXED.contains(&id)
}

impl GmailBackend {
    /// The label names of `user`, from the cache or one `labels.list` (1 unit).
    pub(super) async fn label_names(&self, user: &str) -> Result<LabelNames, BackendError> {
        if let Some(names) = self
            .labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
        {
            return Ok(names.clone());
        }
        let v = self
            .client
            .json(
                Api::Gmail {
                    user,
                    scope: MODIFY_SCOPE,
                },
                Method::LabelsList,
                "GET",
                "/labels",
                None,
            )
            .await?;
        let names: LabelNames = v["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| Some((l["id"].as_str()?.to_string(), sanitize(l["name"].as_str()?))))
            .collect();
        self.labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_string(), names.clone());
        Ok(names)
    }

    /// Label names only when a copy carries a user label (the admin labels are user labels):
    /// a copy in INBOX/UNREAD/CATEGORY_* costs no request.
    pub(super) async fn names_for(
        &self,
        user: &str,
        ids: &[String],
    ) -> Result<LabelNames, BackendError> {
        if ids.iter().any(|id| is_user_label(id)) {
            self.label_names(user).await
        } else {
            Ok(LabelNames::new())
        }
    }

    /// The id of the label named `name` in `user`'s mailbox, created hidden when missing.
    pub(super) async fn admin_label(&self, user: &str, name: &str) -> Result<String, BackendError> {
        self.label_named(user, name, false).await
    }

    /// The id of the label named `name` in `user`'s mailbox, created when missing: shown in
    /// the label and message lists when `shown`, else hidden from both.
    pub(super) async fn label_named(
        &self,
        user: &str,
        name: &str,
        shown: bool,
    ) -> Result<String, BackendError> {
        let names = self.label_names(user).await?;
        if let Some((id, _)) = names.iter().find(|(_, n)| n.as_str() == name) {
            return Ok(id.clone());
        }
        let (list, messages) = if shown {
            ("labelShow", "show")
        } else {
            ("labelHide", "hide")
        };
        let body = json!({
            "name": name,
            "labelListVisibility": list,
            "messageListVisibility": messages,
        });
        let created = self
            .client
            .json(
                Api::Gmail {
                    user,
                    scope: MODIFY_SCOPE,
                },
                Method::LabelsCreate,
                "POST",
                "/labels",
                Some(&body),
            )
            .await;
        let id = match created {
            Ok(v) => v["id"].as_str().unwrap_or_default().to_string(),
            // Created meanwhile by another item of the same mailbox (409): learn it again.
            Err(e) if e.kind == ErrorKind::Invalid => {
                self.labels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(user);
                let names = self.label_names(user).await?;
                names
                    .iter()
                    .find(|(_, n)| n.as_str() == name)
                    .map(|(id, _)| id.clone())
                    .ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        if id.is_empty() {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!("{user}: label {name} created without an id"),
            ));
        }
        self.labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(user.to_string())
            .or_default()
            .insert(id.clone(), name.to_string());
        Ok(id)
    }

    /// The id of the soft-delete label if `user` has one (no request when cached or when
    /// `ids` carry no user label).
    pub(super) fn soft_delete_id(&self, names: &LabelNames) -> Option<String> {
        let wanted = &self.client.settings().soft_delete_label;
        names
            .iter()
            .find(|(_, n)| *n == wanted)
            .map(|(id, _)| id.clone())
    }

    /// The place a copy with these labels shows in (see the module doc).
    pub(super) fn place(&self, ids: &[String], names: &LabelNames) -> String {
        let has = |l: &str| ids.iter().any(|i| i == l);
        let settings = self.client.settings();
        let name_of = |id: &String| names.get(id).cloned();
        let quarantine_prefix = format!("{}/", settings.quarantine_label);
        for id in ids.iter().filter(|i| is_user_label(i)) {
            if let Some(name) = name_of(id)
                && (name == settings.soft_delete_label || name.starts_with(&quarantine_prefix))
            {
                return name;
            }
        }
        for system in [TRASH, SPAM, INBOX] {
            if has(system) {
                return system.into();
            }
        }
        if let Some(name) = ids.iter().filter(|i| is_user_label(i)).find_map(name_of) {
            return name;
        }
        for system in ["SENT", "DRAFT"] {
            if has(system) {
                return system.into();
            }
        }
        ARCHIVE.into()
    }

    /// A copy's `Location` from a message resource (`id`, `labelIds`, `internalDate`).
    pub(super) async fn location_of(
        &self,
        user: &str,
        m: &Value,
    ) -> Result<Location, BackendError> {
        let id = m["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!("{user}: a message without an id"),
                )
            })?;
        let labels = label_ids(m);
        let names = self.names_for(user, &labels).await?;
        Ok(Location {
            folder: self.place(&labels, &names),
            provider_id: sanitize(id),
            seen: !labels.iter().any(|l| l == UNREAD),
            flags: String::new(),
            internal_date: internal_date(m),
            folder_id: None,
            labels,
        })
    }
}

/// A message's label ids, sorted.
pub fn label_ids(m: &Value) -> Vec<String> {
    let mut ids: Vec<String> = m["labelIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(sanitize)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `internalDate`: milliseconds since the epoch, as a string.
pub fn internal_date(m: &Value) -> Option<DateTime<Utc>> {
    let ms: i64 = m["internalDate"].as_str()?.parse().ok()?;
    DateTime::from_timestamp_millis(ms)
}
