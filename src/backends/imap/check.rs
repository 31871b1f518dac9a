//! `check` of an IMAP tenant: the connection as configured, the admin login into a sample of
//! the configured mailboxes (and the quarantine mailbox), their special-use folders, the
//! capabilities acts need, and which server it is and where it keeps personal folders.

use super::ImapBackend;
use crate::backends::{BackendError, CheckReport};
use crate::config::imap::ImapSecurity;

impl ImapBackend {
    /// Log in to a sample of the configured mailboxes; see the module doc.
    pub(super) async fn check_tenant(&self) -> CheckReport {
        let s = &self.settings;
        let security = match s.security {
            ImapSecurity::Tls => "tls",
            ImapSecurity::Starttls => "starttls",
            ImapSecurity::None => "plain text, loopback",
        };
        let login = match s.login {
            crate::config::imap::ImapLogin::MasterUser => "master-user",
            crate::config::imap::ImapLogin::SaslAuthzid => "sasl-authzid",
        };
        let mut detail = format!(
            "imap {}:{} ({security}); {login} login as {}",
            s.host, s.port, s.admin_user
        );
        let sample: Vec<&String> = self
            .mailboxes
            .iter()
            .chain(self.quarantine_mailbox.iter())
            .take(s.check_sample.max(1))
            .collect();
        if sample.is_empty() {
            detail.push_str(": no mailboxes configured to log in to (set mailboxes)");
            return CheckReport { ok: false, detail };
        }
        let mut ok = true;
        let mut caps = Vec::new();
        let mut found = Vec::new();
        for user in sample {
            match self.check_mailbox(user, &mut caps).await {
                Ok(line) => found.push(line),
                Err(e) => {
                    ok = false;
                    found.push(format!("{user}: {}", e.detail));
                }
            }
        }
        if !caps.is_empty() {
            let has = |c: &str| caps.iter().any(|x| x == c);
            let shown: Vec<String> = ["MOVE", "UIDPLUS", "SPECIAL-USE"]
                .iter()
                .map(|c| format!("{c} {}", if has(c) { "yes" } else { "no" }))
                .collect();
            detail.push_str(&format!("; capabilities: {}", shown.join(", ")));
            if !has("UIDPLUS") {
                ok = false;
                detail.push_str(" (UIDPLUS is required: acts must touch only our message)");
            }
        }
        detail.push_str(&self.namespace_note());
        detail.push_str("; ");
        detail.push_str(&found.join("; "));
        CheckReport { ok, detail }
    }

    /// `; Cyrus, personal folders under "INBOX." (separator .)` for `check`.
    fn namespace_note(&self) -> String {
        let Some((server, has_namespace)) = *self.server.lock().unwrap_or_else(|e| e.into_inner())
        else {
            return String::new();
        };
        let place = match &*self.namespace.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(ns) if ns.prefix.is_empty() => format!(
                "personal folders at the top level (separator {})",
                ns.delimiter.as_deref().unwrap_or("none")
            ),
            Some(ns) => format!(
                "personal folders under \"{}\" (separator {})",
                ns.prefix,
                ns.delimiter.as_deref().unwrap_or("none")
            ),
            None if has_namespace => "no personal namespace named".to_string(),
            None => "no NAMESPACE: folders at the top level".to_string(),
        };
        format!("; {}, {place}", server.name())
    }

    async fn check_mailbox(
        &self,
        user: &str,
        caps: &mut Vec<String>,
    ) -> Result<String, BackendError> {
        let mut s = self.session(user).await?;
        let result = self.folders(&mut s.conn).await;
        if caps.is_empty() {
            caps.clone_from(&s.conn.caps);
        }
        self.release(s, &result);
        let folders = result?;
        let selectable = folders.list.iter().filter(|f| f.selectable).count();
        Ok(format!(
            "{user}: {selectable} folder(s), junk {}, trash {}",
            folders
                .junk()
                .map(|j| format!("\\Junk={j}"))
                .unwrap_or_else(|| format!("{} (fallback)", self.settings.folders.junk)),
            folders
                .trash()
                .map(|t| format!("\\Trash={t}"))
                .unwrap_or_else(|| format!("{} (fallback)", self.settings.folders.trash)),
        ))
    }
}
