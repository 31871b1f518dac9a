//! `check` of a Gmail tenant: a token for the admin (the Directory scope) and one for a
//! sample user in each mailbox scope, naming any scope domain-wide delegation lacks
//! (`unauthorized_client`) and any user that cannot be acted as (`invalid_grant`), then one
//! cheap call (`labels.list`, 1 unit) as the sample user.

use super::account::DIRECTORY_SCOPE;
use super::client::Api;
use super::quota::Method;
use super::{GmailBackend, NEEDED_SCOPES};
use crate::backends::CheckReport;

impl GmailBackend {
    pub(super) async fn check_tenant(&self) -> CheckReport {
        let settings = self.client.settings();
        let admin = settings.admin_subject.clone();
        let fail = |detail: String| CheckReport { ok: false, detail };
        if let Err(e) = self
            .client
            .tokens()
            .cache(&admin, DIRECTORY_SCOPE)
            .token()
            .await
        {
            return fail(format!("admin {admin}: no Directory token: {e}"));
        }
        let sample = match &self.quarantine_mailbox {
            Some(q) => q.clone(),
            None => match self.directory_users(Some(1)).await {
                Ok(users) => match users.into_iter().next() {
                    Some(u) => u,
                    None => return fail("the directory lists no active user".into()),
                },
                Err(e) => return fail(format!("listing the directory's users failed: {e}")),
            },
        };
        let mut missing = Vec::new();
        for (scope, why) in NEEDED_SCOPES.iter().filter(|(s, _)| *s != DIRECTORY_SCOPE) {
            if let Err(e) = self.client.tokens().cache(&sample, scope).token().await {
                missing.push(format!("{scope} (to {why}): {e}"));
            }
        }
        if !missing.is_empty() {
            return fail(format!(
                "service account {}: admin token ok; sample user {sample}: {}",
                self.client.tokens().client_email(),
                missing.join("; ")
            ));
        }
        match self
            .client
            .call(
                Api::Gmail {
                    user: &sample,
                    scope: super::MODIFY_SCOPE,
                },
                Method::LabelsList,
                "GET",
                "/labels",
                None,
            )
            .await
        {
            Ok(_) => CheckReport {
                ok: true,
                detail: format!(
                    "service account {}: admin {admin} reads the directory; sample mailbox {sample} reached with every scope",
                    self.client.tokens().client_email()
                ),
            },
            Err(e) => fail(format!(
                "tokens ok, but sample mailbox {sample} was not reached: {e}"
            )),
        }
    }
}
