//! `check` of an EWS tenant: TRAP's Test button. Reach the URL, authenticate, act as a
//! sample mailbox and as the quarantine mailbox, and say exactly what is missing: a wrong
//! password (401), the impersonation role (ErrorImpersonateUserDenied), Full Access on a
//! mailbox (ErrorAccessDenied), a mailbox Exchange does not have.
//!
//! Nothing is changed: the quarantine folder is looked for, not created.

use super::EwsBackend;
use super::soap;
use crate::backends::{BackendError, CheckReport, ErrorKind};
use crate::config::ews::{EwsAccess, EwsAuth};

/// Sample mailboxes tried besides the quarantine mailbox.
const SAMPLES: usize = 3;

impl EwsBackend {
    /// See the module doc.
    pub(super) async fn check_tenant(&self) -> CheckReport {
        let s = self.settings();
        let how = format!(
            "{} as {}, {}",
            match s.auth {
                EwsAuth::Ntlm => "NTLM",
                EwsAuth::Basic => "Basic",
                EwsAuth::Oauth => "OAuth bearer token",
            },
            if s.username.is_empty() {
                "the token's account"
            } else {
                &s.username
            },
            match s.access {
                EwsAccess::Impersonation => "impersonation",
                EwsAccess::Delegate => "delegate (Full Access)",
            }
        );
        let mut reached = Vec::new();
        let mut problems = Vec::new();
        let samples: Vec<&String> = self
            .mailboxes
            .iter()
            .filter(|m| Some(m.as_str()) != self.quarantine_mailbox.as_deref())
            .take(SAMPLES)
            .collect();
        if samples.is_empty() && self.quarantine_mailbox.is_none() {
            return CheckReport {
                ok: false,
                detail: format!("{how}: no mailbox to test: give mailboxes or mailboxes_file"),
            };
        }
        for mailbox in &samples {
            match self.folders(mailbox).await {
                Ok(f) => reached.push(format!("{mailbox} ({} folders)", f.searched.len())),
                Err(e) if e.kind == ErrorKind::AuthFailed => {
                    return CheckReport {
                        ok: false,
                        detail: format!("{}: {e}", s.url),
                    };
                }
                Err(e) => problems.push(e.detail),
            }
        }
        if let Some(q) = &self.quarantine_mailbox {
            match self.quarantine_state(q).await {
                Ok(state) => reached.push(format!("quarantine mailbox {q} ({state})")),
                Err(e) if e.kind == ErrorKind::AuthFailed => {
                    return CheckReport {
                        ok: false,
                        detail: format!("{}: {e}", s.url),
                    };
                }
                Err(e) => problems.push(format!("quarantine mailbox: {}", e.detail)),
            }
        }
        let detail = if problems.is_empty() {
            format!("{how}: reached {}", reached.join(", "))
        } else if reached.is_empty() {
            format!("{how}: {}", problems.join("; "))
        } else {
            format!(
                "{how}: reached {}; but {}",
                reached.join(", "),
                problems.join("; ")
            )
        };
        CheckReport {
            ok: problems.is_empty(),
            detail,
        }
    }

    /// Whether the quarantine folder exists in the quarantine mailbox (reached as it).
    async fn quarantine_state(&self, holder: &str) -> Result<String, BackendError> {
        let name = self.settings().quarantine_folder.clone();
        let root = self.well_known(holder, "msgfolderroot");
        let answer = self
            .client
            .call(holder, &soap::find_folder(&root, Some(&name), 0))
            .await?;
        let messages = soap::response_messages(&answer);
        let Some(m) = messages.first() else {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!("{holder}: FindFolder answered no response message"),
            ));
        };
        if !m.ok() {
            return Err(self.client.error_of(holder, m));
        }
        let present = m.element.find("Folders").is_some_and(|f| {
            f.children
                .iter()
                .any(|c| c.child_text("DisplayName") == name)
        });
        Ok(if present {
            format!("folder '{name}' present")
        } else {
            format!("folder '{name}' will be created on the first quarantine")
        })
    }
}
