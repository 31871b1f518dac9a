//! The IMAP backend on a real Dovecot and a real Cyrus (both layouts). One server per kind
//! serves every scenario; each scenario has users of its own (`alice-<tag>@corp.test`).
//! Flags are IMAP flags, the date is the INTERNALDATE.

use std::path::Path;

use super::fixture::{Copy, Fixture, Seed, Tenant, toml_list, write_config};
use crate::cyrus::{self, Cyrus, Layout};
use crate::dovecot::{self, Client, Dovecot, Options};

/// The internal date every seeded message gets.
const DATE: &str = "05-Jan-2026 10:11:12 +0000";

/// Which server a tenant lives on.
#[derive(Clone, Copy)]
enum Server<'a> {
    Dovecot(&'a Dovecot),
    Cyrus(&'a Cyrus),
}

impl Server<'_> {
    fn client(self, address: &str) -> Client {
        match self {
            Server::Dovecot(d) => d.client(address),
            Server::Cyrus(c) => c.client(address),
        }
    }

    /// A personal folder's name as LIST shows it (`name` with `/` between levels).
    fn personal(self, name: &str) -> String {
        match self {
            Server::Dovecot(_) => name.to_string(),
            Server::Cyrus(c) => c.layout.personal(name),
        }
    }

    fn separator(self) -> &'static str {
        match self {
            Server::Dovecot(_) => "/",
            Server::Cyrus(c) => c.layout.sep(),
        }
    }
}

/// A Dovecot started with every user the scenarios will ask for (its passwd file is
/// written once, at start).
pub struct DovecotFixture {
    server: Dovecot,
}

impl DovecotFixture {
    /// `users` are full addresses: every `(tag, user)` of the scenario table.
    pub fn start(users: &[String]) -> DovecotFixture {
        let refs: Vec<&str> = users.iter().map(String::as_str).collect();
        DovecotFixture {
            server: Dovecot::start(&refs, Options::default()),
        }
    }
}

impl Fixture for DovecotFixture {
    fn name(&self) -> &'static str {
        "dovecot"
    }

    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_> {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = self.server.tenant_keys(dir.path(), dovecot::ADMIN_PASSWORD);
        ImapTenant::create(
            Server::Dovecot(&self.server),
            dir,
            tag,
            users,
            held,
            engine,
            &keys,
        )
    }
}

/// The shared Cyrus of one layout (see `common/cyrus.rs`: started on first use, stopped
/// when the test process exits).
pub struct CyrusFixture {
    server: &'static Cyrus,
}

impl CyrusFixture {
    /// `None` only when Cyrus is missing and `RETRACTOR_SKIP_CYRUS=1`.
    pub fn start(layout: Layout) -> Option<CyrusFixture> {
        cyrus::shared(layout).map(|server| CyrusFixture { server })
    }
}

impl Fixture for CyrusFixture {
    fn name(&self) -> &'static str {
        match self.server.layout {
            Layout::Upstream => "cyrus-upstream",
            Layout::Debian => "cyrus-debian",
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
        let addresses: Vec<String> = users.iter().map(|u| address(tag, u)).collect();
        let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
        self.server.add_users(&refs);
        let keys = self.server.tenant_keys(dir.path());
        ImapTenant::create(
            Server::Cyrus(self.server),
            dir,
            tag,
            users,
            held,
            engine,
            &keys,
        )
    }
}

/// The address of a scenario user on the IMAP servers.
pub fn address(tag: &str, user: &str) -> String {
    format!("{user}-{tag}@corp.test")
}

struct ImapTenant<'a> {
    server: Server<'a>,
    dir: tempfile::TempDir,
    tag: String,
}

impl<'a> ImapTenant<'a> {
    fn create(
        server: Server<'a>,
        dir: tempfile::TempDir,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
        server_keys: &str,
    ) -> Box<dyn Tenant + 'a> {
        let mailboxes: Vec<String> = users
            .iter()
            .filter(|u| **u != "quarantine")
            .map(|u| address(tag, u))
            .collect();
        let held: Vec<String> = held.iter().map(|u| address(tag, u)).collect();
        let keys = format!(
            "kind = \"imap\"\ndomains = [\"corp.test\"]\nmailboxes = {}\n\
             quarantine_mailbox = \"{}\"\nholds = {}\n{server_keys}",
            toml_list(&mailboxes),
            address(tag, "quarantine"),
            toml_list(&held)
        );
        write_config(dir.path(), engine, &keys);
        Box::new(ImapTenant {
            server,
            dir,
            tag: tag.to_string(),
        })
    }
}

impl Tenant for ImapTenant<'_> {
    fn addr(&self, user: &str) -> String {
        address(&self.tag, user)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn seed(&self, address: &str, seed: &Seed) {
        let mut client = self.server.client(address);
        let folder = if seed.folder == "INBOX" {
            "INBOX".to_string()
        } else {
            let name = self.server.personal(seed.folder);
            // Already there from an earlier seed is fine; APPEND says when it is not.
            let _ = client.cmd(&format!("CREATE \"{name}\""));
            name
        };
        let flags: Vec<&str> = [(seed.seen, "\\Seen"), (seed.flagged, "\\Flagged")]
            .iter()
            .filter_map(|(on, flag)| on.then_some(*flag))
            .collect();
        client.append(&folder, &flags.join(" "), DATE, &seed.raw(address));
    }

    fn seed_raw(&self, address: &str, raw: &str) {
        self.server.client(address).append("INBOX", "", DATE, raw);
    }

    fn read(&self, address: &str) -> Vec<Copy> {
        let mut client = self.server.client(address);
        let mut out = Vec::new();
        for folder in client.folders() {
            for m in client.messages(&folder) {
                let mut flags = m.flags.clone();
                flags.sort();
                out.push(Copy {
                    message_id: m.message_id,
                    folder: folder.clone(),
                    flags,
                    date: m.internal_date,
                });
            }
        }
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
        let personal = |name: &str| self.server.personal(name);
        match action {
            "move-to-junk" => folder == personal("Junk"),
            "trash" => folder == personal("Trash"),
            "soft-delete" => folder == personal("Retractor-Deleted"),
            "quarantine" => {
                // One folder per recipient under Quarantine, its name the address in
                // modified UTF-7 with the separator escaped (`alice@corp=2Etest` on Dovecot).
                let parent = format!("{}{}", personal("Quarantine"), self.server.separator());
                let local = address.split('@').next().unwrap_or(address);
                folder.starts_with(&parent) && folder.contains(local)
            }
            _ => false,
        }
    }

    fn server_log(&self) -> String {
        match self.server {
            Server::Dovecot(d) => d.log(),
            Server::Cyrus(c) => c.log(),
        }
    }
}
