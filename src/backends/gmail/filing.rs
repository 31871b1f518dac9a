//! Filing a copy into a folder path of its own mailbox ([`Backend::file_to_folder`]: where
//! processed phish reports go). Gmail has labels, not folders: the path is one user label
//! whose name is the levels joined by `/` (Gmail's own nesting), shown in the label list so
//! an analyst finds the reports there, and each outer level is a label too, so Gmail's web
//! client nests it. Labels are created when missing (a 409 from a pass creating at once is
//! read back: `label_named`). Filing is one `messages.modify`: the label added and INBOX
//! removed, which takes the copy out of the inbox the next pass reads. The message id
//! survives, as with every label change.
//!
//! [`Backend::file_to_folder`]: crate::backends::Backend::file_to_folder

use super::GmailBackend;
use super::labels::INBOX;
use crate::backends::common::filing::filing_levels;
use crate::backends::{BackendError, MailboxRef};
use crate::model::Location;

impl GmailBackend {
    /// Label `copy` with `folder` (levels split by `/`) and take it out of INBOX; a copy
    /// already there is left alone.
    pub(super) async fn file_copy(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let user = mailbox.address.as_str();
        let levels = filing_levels(folder)?;
        let mut label = String::new();
        for depth in 1..=levels.len() {
            label = self
                .label_named(user, &levels[..depth].join("/"), true)
                .await?;
        }
        let has = |l: &str| copy.labels.iter().any(|c| c == l);
        if has(&label) && !has(INBOX) {
            return Ok(copy.clone());
        }
        let m = self
            .modify(user, &copy.provider_id, &[label], &[INBOX.into()])
            .await?;
        self.location_of(user, &m).await
    }
}
