//! Construction: the one place that turns a tenant's settings into its backend. A new kind
//! adds one arm here (its settings come from `config::kinds`); this is the only module outside
//! a backend's own folder that names the backends.

use std::sync::Arc;

use super::{Backend, ews, gmail, graph, imap, maildir};
use crate::config::{BackendSettings, Tenant};

/// Build the backend for a tenant, or say why there is none.
pub fn for_tenant(tenant: &Tenant) -> Result<Arc<dyn Backend>, String> {
    match &tenant.backend {
        BackendSettings::Maildir(settings) => Ok(Arc::new(maildir::MaildirBackend::new(
            settings.clone(),
            tenant.quarantine_mailbox.clone(),
            tenant.quarantine_folder_per_recipient,
        ))),
        BackendSettings::Graph(settings) => graph::GraphBackend::new(settings.clone())
            .map(|b| Arc::new(b.check_first(tenant.quarantine_mailbox.clone())) as Arc<dyn Backend>)
            .map_err(|e| format!("tenant '{}': {e}", tenant.name)),
        BackendSettings::Imap(settings) => Ok(Arc::new(imap::ImapBackend::new(
            settings.clone(),
            tenant.quarantine_mailbox.clone(),
            tenant.quarantine_folder_per_recipient,
            tenant.mailboxes.clone(),
        ))),
        BackendSettings::Ews(settings) => ews::EwsBackend::new(
            settings.clone(),
            tenant.quarantine_mailbox.clone(),
            tenant.quarantine_folder_per_recipient,
            tenant.mailboxes.clone(),
        )
        .map(|b| Arc::new(b) as Arc<dyn Backend>)
        .map_err(|e| format!("tenant '{}': {e}", tenant.name)),
        BackendSettings::Gmail(settings) => {
            gmail::GmailBackend::new(settings.clone(), tenant.quarantine_mailbox.clone())
                .map(|b| Arc::new(b) as Arc<dyn Backend>)
                .map_err(|e| format!("tenant '{}': {e}", tenant.name))
        }
        BackendSettings::NotYetSupported => Err(format!(
            "tenant '{}': kind \"{}\" is not available in this build yet",
            tenant.name, tenant.kind
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::Config;

    /// One tenant of every kind the contract names, built: each built backend serves the
    /// kind its tenant names (a settings row wired to another kind's construction would
    /// fail here), and each announced kind gets the "not in this build" answer.
    #[test]
    fn every_kind_builds_the_backend_of_its_name_or_says_it_is_not_built() {
        // Graph reads its secret when built: a private file is the source that needs
        // neither the process environment nor a child process.
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s").expect("write the secret");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the secret");
        // Gmail reads its service-account key when built: the test key of tests/fixtures.
        let pem = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gmail-sa.pem"),
        )
        .expect("the test key");
        let key = serde_json::json!({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem, "token_uri": "https://oauth2.googleapis.com/token"});
        let key_file = dir.path().join("gws-sa.json");
        std::fs::write(&key_file, key.to_string()).expect("write the key");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the key");
        let text = "\
[tenants.md]\nkind = \"maildir\"\nroot = \"mail\"\ndomains = [\"md.test\"]\n\
[tenants.im]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nadmin_user = \"a\"\n\
admin_password_env = \"RETRACTOR_REGISTRY_TEST_UNSET\"\ndomains = [\"im.test\"]\n\
[tenants.gr]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\n\
client_secret_file = \"secret\"\ndomains = [\"gr.test\"]\n\
[tenants.gm]\nkind = \"gmail\"\nservice_account_file = \"gws-sa.json\"\n\
admin_subject = \"admin@gm.test\"\ndomains = [\"gm.test\"]\n\
[tenants.ew]\nkind = \"ews\"\nurl = \"http://127.0.0.1:9/EWS/Exchange.asmx\"\n\
username = \"CORP\\\\svc\"\npassword_file = \"secret\"\ndomains = [\"ew.test\"]\n\
[tenants.jm]\nkind = \"jmap\"\ndomains = [\"jm.test\"]\n";
        let cfg = Config::parse(text, &dir.path().join("config.toml")).map_err(|e| e.to_string());
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        for (name, tenant) in &cfg.tenants {
            match for_tenant(tenant) {
                Ok(backend) => assert_eq!(backend.kind(), tenant.kind, "tenant {name}"),
                Err(e) => {
                    assert!(
                        ["jmap"].contains(&tenant.kind.as_str()),
                        "tenant {name} ({}): {e}",
                        tenant.kind
                    );
                    assert_eq!(
                        e,
                        format!(
                            "tenant '{name}': kind \"{}\" is not available in this build yet",
                            tenant.kind
                        )
                    );
                }
            }
        }
        assert_eq!(cfg.tenants.len(), 6);
    }
}
