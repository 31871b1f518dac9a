//! What a backend gives the contract suite: a [`Fixture`] (one started mail system, shared by
//! every scenario of the file) hands out a [`Tenant`] per scenario (its own mailboxes and its
//! own config dir), which seeds messages and reads mailboxes back. A new backend joins the
//! suite by implementing these two traits and adding one line to `BACKENDS` in
//! `backend_contract.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// One message to put into a mailbox before a scenario runs.
#[derive(Clone, Debug)]
pub struct Seed<'a> {
    pub message_id: &'a str,
    /// `"INBOX"`, or a personal folder the fixture creates when missing.
    pub folder: &'a str,
    pub seen: bool,
    pub flagged: bool,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [&'a str],
}

impl<'a> Seed<'a> {
    /// An unread, unflagged message in INBOX with no thread headers.
    pub fn inbox(message_id: &'a str) -> Seed<'a> {
        Seed {
            message_id,
            folder: "INBOX",
            seen: false,
            flagged: false,
            in_reply_to: None,
            references: &[],
        }
    }

    /// The RFC 5322 text of this seed (for the systems that take raw messages).
    pub fn raw(&self, to: &str) -> String {
        let mut extra = String::new();
        if let Some(parent) = self.in_reply_to {
            extra.push_str(&format!("In-Reply-To: {parent}\r\n"));
        }
        if !self.references.is_empty() {
            extra.push_str(&format!("References: {}\r\n", self.references.join(" ")));
        }
        crate::dovecot::message(self.message_id, "mallory@evil.test", to, "Invoice", &extra)
    }
}

/// One copy as a mailbox shows it: where it is, its flags (IMAP names, sorted), its date
/// (internal date, mtime or receivedDateTime: whatever the system keeps per copy).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Copy {
    pub message_id: String,
    pub folder: String,
    pub flags: Vec<String>,
    pub date: String,
}

/// A mail system started once for the whole suite.
pub trait Fixture: Sync {
    /// How failures and skips name this backend.
    fn name(&self) -> &'static str;
    /// A new tenant `corp` for one scenario. `tag` makes its mailbox names unique on the
    /// shared server; `held` are the users on legal hold; `engine` goes into `[engine]`.
    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_>;
}

/// One scenario's view of a backend: mailboxes of its own and a config dir.
pub trait Tenant {
    /// The address of `user` (a name from the scenario's user list).
    fn addr(&self, user: &str) -> String;
    /// The directory holding `config.toml` and the store.
    fn dir(&self) -> &Path;
    /// Put a message into the mailbox at `address`.
    fn seed(&self, address: &str, seed: &Seed);
    /// Put a whole message as it is (CRLF; a report with its attachment) into the INBOX of
    /// the mailbox at `address`, unread.
    fn seed_raw(&self, address: &str, raw: &str);
    /// Every copy in the mailbox at `address`, all folders, sorted.
    fn read(&self, address: &str) -> Vec<Copy>;
    /// The address of the mailbox that holds the copy of the mailbox at `address` after
    /// `action` (the quarantine mailbox, or the same one).
    fn holder(&self, action: &str, address: &str) -> String;
    /// Whether `folder` of the holder is where `action` puts the copy of `address`.
    fn is_destination(&self, action: &str, address: &str, folder: &str) -> bool;
    /// The server's log, for failure messages.
    fn server_log(&self) -> String {
        String::new()
    }
}

impl dyn Tenant + '_ {
    /// `retractor --json ARGS` on this tenant's config, bounded in time.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        crate::common::json_within(
            &self.dir().join("config.toml"),
            self.dir(),
            args,
            Duration::from_secs(120),
            || self.server_log(),
        )
    }

    /// Load one log line: `message_id` delivered to these users.
    pub fn ingest(&self, message_id: &str, users: &[&str]) {
        let to: Vec<String> = users.iter().map(|u| self.addr(u)).collect();
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let line = crate::common::log_line(message_id, "mallory@evil.test", &to, "Invoice", None);
        let file = self.dir().join("log.jsonl");
        fs::write(&file, line).expect("log");
        let out = crate::common::retractor(
            Some(&self.dir().join("config.toml")),
            self.dir(),
            &["ingest", "--format", "jsonl", file.to_str().expect("path")],
        );
        assert!(
            out.status.success(),
            "ingest: {}",
            crate::common::stderr(&out)
        );
    }

    /// The copies of `message_id` in the mailbox at `address`.
    pub fn copies(&self, address: &str, message_id: &str) -> Vec<Copy> {
        self.read(address)
            .into_iter()
            .filter(|c| c.message_id == message_id)
            .collect()
    }
}

/// Write `config.toml` into `dir`: an admin store, quick back-off, `[engine]` extras and
/// the tenant `corp` with these keys.
pub fn write_config(dir: &Path, engine: &str, tenant_keys: &str) -> PathBuf {
    let config = format!(
        "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n\
         [engine]\nbackoff_ms = 20\n{engine}\n[tenants.corp]\n{tenant_keys}\n"
    );
    let path = dir.join("config.toml");
    fs::write(&path, config).expect("config");
    path
}

/// A secret in a private file in `dir`; returns its path.
pub fn secret_file(dir: &Path, name: &str, secret: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("{secret}\n")).expect("secret");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// A TOML list of quoted addresses.
pub fn toml_list(addresses: &[String]) -> String {
    let quoted: Vec<String> = addresses.iter().map(|a| format!("\"{a}\"")).collect();
    format!("[{}]", quoted.join(", "))
}
