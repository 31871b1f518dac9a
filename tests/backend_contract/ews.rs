//! On-premises Exchange on the EWS test server (`tests/ews_server`). One server serves every
//! scenario; each scenario has mailboxes of its own (`alice-<tag>@exch.test`) and a
//! quarantine mailbox with a folder per recipient. Two fixtures: NTLM with impersonation, and
//! Basic with delegate (Full Access) rights. EWS keeps read state per copy (`\Seen` here);
//! the date is `DateTimeReceived`.

use std::path::Path;

use super::fixture::{Copy, Fixture, Seed, Tenant, secret_file, toml_list, write_config};
use crate::ews_server::{self, EwsServer, NewMessage, Rights};

pub struct EwsFixture {
    server: EwsServer,
    /// `auth` and `access` of every tenant it hands out.
    auth: &'static str,
    access: &'static str,
}

impl EwsFixture {
    pub fn start(auth: &'static str, access: &'static str) -> EwsFixture {
        EwsFixture {
            server: EwsServer::start(27),
            auth,
            access,
        }
    }

    /// What the server saw that breaks Exchange's rules (must stay empty).
    pub fn violations(&self) -> Vec<String> {
        self.server.violations()
    }
}

impl Fixture for EwsFixture {
    fn name(&self) -> &'static str {
        if self.access == "delegate" {
            "ews-delegate"
        } else {
            "ews"
        }
    }

    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_> {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = EwsTenant {
            server: &self.server,
            dir,
            tag: tag.to_string(),
        };
        let addresses: Vec<String> = users.iter().map(|u| t.addr(u)).collect();
        for a in &addresses {
            self.server.add_mailbox(a, Rights::ALL);
        }
        let held: Vec<String> = held.iter().map(|u| t.addr(u)).collect();
        for h in &held {
            self.server.set_hold(h);
        }
        let secret = secret_file(t.dir.path(), "ews-password", ews_server::PASSWORD);
        let keys = format!(
            "kind = \"ews\"\nurl = \"{}\"\nauth = \"{}\"\naccess = \"{}\"\nusername = '{}'\n\
             password_file = \"{}\"\nretry_backoff_ms = 20\ndomains = [\"exch.test\"]\n\
             mailboxes = {}\nholds = {}\nquarantine_mailbox = \"{}\"\n",
            self.server.url,
            self.auth,
            self.access,
            ews_server::USER,
            secret.display(),
            toml_list(&addresses),
            toml_list(&held),
            t.addr("quarantine"),
        );
        write_config(t.dir.path(), engine, &keys);
        Box::new(t)
    }
}

struct EwsTenant<'a> {
    server: &'a EwsServer,
    dir: tempfile::TempDir,
    tag: String,
}

impl Tenant for EwsTenant<'_> {
    fn addr(&self, user: &str) -> String {
        format!("{user}-{}@exch.test", self.tag)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn seed(&self, address: &str, seed: &Seed) {
        assert!(!seed.flagged, "the EWS test server models no followup flag");
        let folder = if seed.folder == "INBOX" {
            "inbox"
        } else {
            seed.folder
        };
        self.server.deliver(
            address,
            folder,
            NewMessage {
                message_id: seed.message_id.to_string(),
                from: "mallory@evil.test".into(),
                to: vec![address.to_string()],
                subject: "Invoice".into(),
                in_reply_to: seed.in_reply_to.map(str::to_string),
                references: seed.references.iter().map(|r| r.to_string()).collect(),
                read: seed.seen,
            },
        );
    }

    fn seed_raw(&self, address: &str, raw: &str) {
        self.server.deliver_mime(address, "inbox", raw.as_bytes());
    }

    fn read(&self, address: &str) -> Vec<Copy> {
        let mut out: Vec<Copy> = self
            .server
            .copies(address)
            .into_iter()
            .map(|(folder, message_id, read, received)| Copy {
                message_id,
                folder,
                flags: if read {
                    vec!["\\Seen".to_string()]
                } else {
                    Vec::new()
                },
                date: received,
            })
            .collect();
        out.sort();
        out
    }

    fn holder(&self, action: &str, address: &str) -> String {
        if action == "quarantine" {
            self.addr("quarantine")
        } else {
            address.to_string()
        }
    }

    fn is_destination(&self, action: &str, address: &str, folder: &str) -> bool {
        match action {
            "move-to-junk" => folder == "junkemail",
            "trash" => folder == "deleteditems",
            "soft-delete" => folder == "recoverableitemsdeletions",
            "quarantine" => {
                let leaf: String = address
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'_' | b'-' | b'+') {
                            char::from(b).to_string()
                        } else {
                            format!("={b:02X}")
                        }
                    })
                    .collect();
                folder == format!("Quarantine/{leaf}")
            }
            _ => false,
        }
    }
}
