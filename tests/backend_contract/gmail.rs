//! The Google Workspace backend on the Gmail test server (`tests/gmail_server`). One server
//! serves every scenario; each scenario has users of its own (`alice-<tag>@gws.test`).
//! Gmail's places are labels: a copy shows as its label names (UNREAD and STARRED are the
//! flags `\Seen` and `\Flagged`); its date is `internalDate`. Seeds go in as
//! `messages.import` with `internalDateSource=dateHeader` puts them, so a copy quarantined
//! and restored (imported twice) keeps its date.

use std::path::Path;

use super::fixture::{Copy, Fixture, Seed, Tenant, toml_list, write_config};
use crate::gmail_server::{GmailServer, Settings, UserState};

pub struct GmailFixture {
    server: GmailServer,
}

impl GmailFixture {
    pub fn start() -> GmailFixture {
        let server = GmailServer::start(Settings::default());
        server.add_user("admin@gws.test", UserState::Active);
        GmailFixture { server }
    }

    /// What the server saw that breaks Gmail's limits (must stay empty).
    pub fn violations(&self) -> Vec<String> {
        self.server.violations()
    }
}

impl Fixture for GmailFixture {
    fn name(&self) -> &'static str {
        "gmail"
    }

    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_> {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = GmailTenant {
            server: &self.server,
            dir,
            tag: tag.to_string(),
        };
        for user in users {
            self.server.add_user(&t.addr(user), UserState::Active);
        }
        let held: Vec<String> = held.iter().map(|u| t.addr(u)).collect();
        let keys = format!(
            "{}domains = [\"gws.test\"]\nquarantine_mailbox = \"{}\"\nholds = {}\n",
            self.server.tenant_config(t.dir.path()),
            t.addr("quarantine"),
            toml_list(&held),
        );
        write_config(t.dir.path(), engine, &keys);
        Box::new(t)
    }
}

struct GmailTenant<'a> {
    server: &'a GmailServer,
    dir: tempfile::TempDir,
    tag: String,
}

impl Tenant for GmailTenant<'_> {
    fn addr(&self, user: &str) -> String {
        format!("{user}-{}@gws.test", self.tag)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn seed(&self, address: &str, seed: &Seed) {
        let mut labels: Vec<String> = Vec::new();
        if seed.folder == "INBOX" {
            labels.extend(["INBOX".to_string(), "CATEGORY_PERSONAL".to_string()]);
        } else {
            labels.push(self.server.add_label(address, seed.folder));
        }
        if !seed.seen {
            labels.push("UNREAD".into());
        }
        if seed.flagged {
            labels.push("STARRED".into());
        }
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        self.server.deliver(address, &seed.raw(address), &labels);
    }

    fn seed_raw(&self, address: &str, raw: &str) {
        self.server.deliver(address, raw, &["INBOX", "UNREAD"]);
    }

    fn read(&self, address: &str) -> Vec<Copy> {
        let mut out: Vec<Copy> = self
            .server
            .copies(address)
            .into_iter()
            .map(|(message_id, labels, date)| {
                let mut flags = Vec::new();
                if labels.iter().any(|l| l == "STARRED") {
                    flags.push("\\Flagged".to_string());
                }
                if !labels.iter().any(|l| l == "UNREAD") {
                    flags.push("\\Seen".to_string());
                }
                let places: Vec<String> = labels
                    .into_iter()
                    .filter(|l| l != "UNREAD" && l != "STARRED")
                    .collect();
                Copy {
                    message_id,
                    folder: places.join(","),
                    flags,
                    date: date.to_string(),
                }
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
        let places: Vec<&str> = folder.split(',').collect();
        let has = |l: &str| places.contains(&l);
        match action {
            "move-to-junk" => has("SPAM") && !has("INBOX"),
            "trash" => has("TRASH") && !has("Retractor/Soft-deleted"),
            "soft-delete" => has("TRASH") && has("Retractor/Soft-deleted"),
            "quarantine" => places == [format!("Retractor/Quarantine/{address}").as_str()],
            _ => false,
        }
    }
}
