//! The IMAP backend against a real Dovecot, end to end through the real binary: every
//! action and its restore (folder, flags and internal date kept), per-recipient quarantine,
//! hard-delete with a mailbox on hold, depth 2 across mailboxes, the COPY path on a server
//! without MOVE, dropped connections, auth failure and a missing user, index, sweep, check.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;

use std::path::PathBuf;

use serde_json::Value;

use dovecot::{Dovecot, Options, message};

const MSG: &str = "<phish-1@evil.test>";
/// SEARCH HEADER is a substring match: this one must never be touched.
const DECOY: &str = "<phish-1@evil.test.decoy>";
const DATE: &str = "05-Jan-2026 10:11:12 +0000";

/// A config dir with one IMAP tenant `corp` on the server.
struct Setup {
    dir: tempfile::TempDir,
    server: Dovecot,
}

impl Setup {
    fn new(users: &[&str], options: Options, password: &str, extra: &str) -> Setup {
        let server = Dovecot::start(users, options);
        let dir = tempfile::tempdir().expect("tempdir");
        let mailboxes: Vec<String> = users
            .iter()
            .filter(|u| !u.starts_with("quarantine"))
            .map(|u| format!("\"{u}\""))
            .collect();
        let config = format!(
            "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n[engine]\nbackoff_ms = 20\n{extra}\n\
             [tenants.corp]\nkind = \"imap\"\ndomains = [\"corp.test\"]\nmailboxes = [{}]\n\
             quarantine_mailbox = \"quarantine@corp.test\"\nholds = [\"held@corp.test\"]\n{}",
            mailboxes.join(", "),
            server
                .tenant_keys(dir.path(), dovecot::ADMIN_PASSWORD)
                .replace(dovecot::ADMIN_PASSWORD, password)
        );
        // tenant_keys wrote the real password; a test of a wrong one rewrites it.
        if password != dovecot::ADMIN_PASSWORD {
            std::fs::write(dir.path().join("admin.pw"), format!("{password}\n")).expect("pw");
        }
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        Setup { dir, server }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = common::retractor(Some(&self.config()), self.dir.path(), &all);
        let code = out.status.code().unwrap_or(-1);
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "not JSON (exit {code}): {}\nstderr: {}\ndovecot: {}",
                common::stdout(&out),
                common::stderr(&out),
                self.server.log()
            )
        });
        (code, v)
    }

    fn ingest(&self, lines: &[String]) {
        let file = self.dir.path().join("log.jsonl");
        std::fs::write(&file, lines.join("\n")).expect("log");
        let out = common::retractor(
            Some(&self.config()),
            self.dir.path(),
            &["ingest", "--format", "jsonl", file.to_str().expect("path")],
        );
        assert!(out.status.success(), "ingest: {}", common::stderr(&out));
    }

    /// Seed `id` into `user`'s folder with flags and the fixed internal date.
    fn seed(&self, user: &str, folder: &str, flags: &str, id: &str, extra: &str) {
        let raw = message(id, "mallory@evil.test", user, "Invoice", extra);
        self.server.client(user).append(folder, flags, DATE, &raw);
    }

    fn where_is(&self, user: &str, id: &str) -> Vec<(String, dovecot::Seen)> {
        let mut c = self.server.client(user);
        let mut out = Vec::new();
        for folder in c.folders() {
            for m in c.messages(&folder) {
                if m.message_id == id {
                    out.push((folder.clone(), m));
                }
            }
        }
        out
    }
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn results(job: &Value) -> Vec<String> {
    items(job)
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["mailbox"].as_str().unwrap_or(""),
                i["result"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn log(id: &str, to: &[&str]) -> String {
    common::log_line(id, "mallory@evil.test", to, "Invoice", None)
}

#[test]
fn every_action_retracts_and_restore_puts_back_folder_flags_and_date() {
    let s = Setup::new(
        &["alice@corp.test", "bob@corp.test", "quarantine@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "\\Seen $Label1", MSG, "");
    s.seed("alice@corp.test", "INBOX", "", DECOY, "");
    s.seed("bob@corp.test", "INBOX", "\\Flagged", MSG, "");
    s.ingest(&[log(MSG, &["alice@corp.test", "bob@corp.test"])]);
    let before = s.where_is("alice@corp.test", MSG);
    assert_eq!(before.len(), 1, "{before:?}");
    for (action, alice_at, holder) in [
        ("move-to-junk", "Junk", "alice@corp.test"),
        ("trash", "Trash", "alice@corp.test"),
        ("soft-delete", "Retractor-Deleted", "alice@corp.test"),
        (
            "quarantine",
            "Quarantine/alice@corp_test",
            "quarantine@corp.test",
        ),
    ] {
        let (code, job) = s.json(&["retract", MSG, "--action", action, "--yes", "--wait"]);
        assert_eq!(code, 0, "{action}: {job}");
        assert!(
            results(&job).iter().all(|r| r.ends_with("remediated")),
            "{action}: {job}"
        );
        let now = s.where_is(holder, MSG);
        let alice_copy: Vec<_> = now.iter().filter(|(f, _)| f == alice_at).collect();
        assert_eq!(alice_copy.len(), 1, "{action}: {now:?}");
        assert_eq!(
            alice_copy[0].1.flags, before[0].1.flags,
            "{action}: flags kept"
        );
        assert_eq!(alice_copy[0].1.internal_date, before[0].1.internal_date);
        assert!(
            s.where_is("alice@corp.test", MSG)
                .iter()
                .all(|(f, _)| f != "INBOX")
        );
        if action == "quarantine" {
            // One folder per recipient.
            assert_eq!(
                s.where_is("quarantine@corp.test", MSG)
                    .iter()
                    .filter(|(f, _)| f == "Quarantine/bob@corp_test")
                    .count(),
                1
            );
        }
        let (code, job) = s.json(&["restore", MSG, "--yes", "--wait"]);
        assert_eq!(code, 0, "{action} restore: {job}");
        let back = s.where_is("alice@corp.test", MSG);
        assert_eq!(back.len(), 1, "{action}: {back:?}");
        assert_eq!(back[0].0, "INBOX");
        assert_eq!(
            back[0].1.flags, before[0].1.flags,
            "{action}: flags restored"
        );
        assert_eq!(
            back[0].1.internal_date, before[0].1.internal_date,
            "{action}: date"
        );
        let bob = s.where_is("bob@corp.test", MSG);
        assert_eq!(bob.len(), 1);
        assert_eq!(
            (bob[0].0.as_str(), bob[0].1.flags.clone()),
            ("INBOX", vec!["\\Flagged".to_string()])
        );
        assert!(
            s.where_is("quarantine@corp.test", MSG).is_empty(),
            "{action}"
        );
    }
    // The decoy, whose id merely contains the wanted one, never moved.
    let decoy = s.where_is("alice@corp.test", DECOY);
    assert_eq!(decoy.len(), 1);
    assert_eq!(decoy[0].0, "INBOX");
}
