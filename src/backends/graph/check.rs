//! `check` of a Graph tenant: the token, the application permissions it carries, and a
//! mailbox reached through them.
//!
//! One mailbox is not a fair sample: the first user a tenant lists is often an unlicensed or
//! shared account whose mailbox Graph does not serve (`MailboxNotEnabledForRESTAPI`), which
//! says nothing about the others. So the quarantine mailbox is tried first when configured
//! (the one mailbox every quarantine needs), then listed members, up to [`MAX_TRIED`] in all,
//! until one is reached. The tenant is red only when none is, and the detail says what was
//! tried and why each failed.

use super::odata::path_with_query;
use super::{GraphBackend, token};
use crate::backends::{BackendError, CheckReport, ErrorKind};

/// Application permissions the backend needs, with what each is for.
const NEEDED_ROLES: [(&str, &str); 2] = [
    ("Mail.ReadWrite", "locate, move and delete messages"),
    ("User.Read.All", "resolve recipients and list mailboxes"),
];
/// Mailboxes tried at most before the tenant is called unreachable.
const MAX_TRIED: usize = 5;
/// Users asked of the directory: more than tried, as guests are passed over.
const LISTED: &str = "10";

impl GraphBackend {
    /// See the module doc.
    pub(super) async fn check_tenant(&self) -> CheckReport {
        let fail = |detail: String| CheckReport { ok: false, detail };
        let token = match self.client.token().await {
            Ok(t) => t,
            Err(e) => return fail(format!("no token: {e}")),
        };
        let roles = match token::token_roles(token.expose()) {
            Ok(r) => r,
            Err(e) => return fail(format!("token obtained, but {e}")),
        };
        let missing: Vec<String> = NEEDED_ROLES
            .iter()
            .filter(|(role, _)| !roles.iter().any(|r| r == role))
            .map(|(role, why)| format!("{role} (to {why})"))
            .collect();
        let present = NEEDED_ROLES
            .iter()
            .filter(|(role, _)| roles.iter().any(|r| r == role))
            .map(|(role, _)| *role)
            .collect::<Vec<_>>()
            .join(", ");
        if !missing.is_empty() {
            return fail(format!(
                "token obtained; missing application permission {}: add it to the app registration and grant admin consent (present: {})",
                missing.join(", "),
                if present.is_empty() { "none" } else { &present }
            ));
        }
        let listed = match self.listed_members().await {
            Ok(l) => l,
            Err(e) => {
                return fail(format!(
                    "token and permissions ok, but listing users failed: {e}"
                ));
            }
        };
        let mut candidates: Vec<String> = self.check_first.iter().cloned().collect();
        for address in listed {
            if !candidates.contains(&address) {
                candidates.push(address);
            }
        }
        candidates.truncate(MAX_TRIED);
        if candidates.is_empty() {
            return fail("token and permissions ok, but the tenant lists no member users".into());
        }
        let mut passed_over = Vec::new();
        for address in &candidates {
            let reached = async {
                let user = self.user_id(address).await?;
                self.folders(address, &user).await
            }
            .await;
            match reached {
                Ok(_) => {
                    let mut detail = format!(
                        "token ok; permissions {present}; sample mailbox {address} reached"
                    );
                    if !passed_over.is_empty() {
                        detail.push_str(&format!(" (tried first: {})", passed_over.join("; ")));
                    }
                    return CheckReport { ok: true, detail };
                }
                Err(e) => passed_over.push(why_not(address, &e)),
            }
        }
        fail(format!(
            "token ok; permissions {present}; none of the {} mailbox(es) tried was reached: {}",
            candidates.len(),
            passed_over.join("; ")
        ))
    }

    /// Member users' addresses as the directory lists them (guests have no mailbox here).
    async fn listed_members(&self) -> Result<Vec<String>, BackendError> {
        let path = path_with_query(
            "/users",
            &[
                ("$select", "id,userPrincipalName,mail,userType".into()),
                ("$top", LISTED.into()),
            ],
        );
        let reply = self.client.call(None, "GET", &path, None).await?;
        let v = reply.json()?;
        Ok(v["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["userType"].as_str() != Some("Guest"))
            .filter_map(|u| u["mail"].as_str().or(u["userPrincipalName"].as_str()))
            .map(str::to_ascii_lowercase)
            .collect())
    }
}

/// One mailbox passed over, and why, in a few words.
fn why_not(address: &str, e: &BackendError) -> String {
    let why = match e.kind {
        ErrorKind::NoSuchMailbox => "skipped, no mailbox Graph serves",
        ErrorKind::PermissionDenied => "access denied",
        _ => "not reached",
    };
    format!("{address} {why} ({})", e.detail)
}
