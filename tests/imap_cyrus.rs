//! The IMAP backend against a real Cyrus IMAP 3.6 (Debian's `cyrus-imapd`), end to end
//! through the real binary, in both layouts that matter: Cyrus' upstream default (personal
//! folders at the top level, `/`) and Debian's (under `INBOX.`, `.`). Retractor logs in as a
//! `proxyservers:` account with SASL PLAIN and an authorization id. What every backend must
//! do (every action and restore, locate, depth, crash, not-found, not-actionable, hold) is in
//! the backend contract suite (`backend_contract.rs`); this file keeps what is Cyrus' own.
//!
//! One Cyrus per layout serves the whole file (starting one takes a while); each test has
//! its own users, named after the test.

mod common;
#[path = "common/cyrus.rs"]
mod cyrus;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/tls.rs"]
mod tls;

use std::path::PathBuf;

use serde_json::Value;

use cyrus::{Cyrus, Layout};
use dovecot::message;

const MSG: &str = "<phish-1@evil.test>";
const DATE: &str = "05-Jan-2026 10:11:12 +0000";

/// A config dir with one IMAP tenant `corp` on the shared server of a layout, and users of
/// its own (`alice` is `alice-<tag>@corp.test`).
struct Setup {
    dir: tempfile::TempDir,
    server: &'static Cyrus,
    tag: String,
}

impl Setup {
    /// `None` only when Cyrus is missing and `RETRACTOR_SKIP_CYRUS=1`.
    fn new(layout: Layout, tag: &str, users: &[&str], extra_tenant: &str) -> Option<Setup> {
        let server = cyrus::shared(layout)?;
        let tag = format!("{tag}-{}", layout.sep().replace('/', "u").replace('.', "d"));
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Setup { dir, server, tag };
        let addresses: Vec<String> = users.iter().map(|u| s.addr(u)).collect();
        let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
        s.server.add_users(&refs);
        let mailboxes: Vec<String> = users
            .iter()
            .filter(|u| !u.starts_with("quarantine"))
            .map(|u| format!("\"{}\"", s.addr(u)))
            .collect();
        let config = format!(
            "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n[engine]\nbackoff_ms = 20\n\
             [tenants.corp]\nkind = \"imap\"\ndomains = [\"corp.test\"]\nmailboxes = [{}]\n\
             quarantine_mailbox = \"{}\"\nholds = [\"{}\"]\n{}{extra_tenant}\n",
            mailboxes.join(", "),
            s.addr("quarantine"),
            s.addr("held"),
            server.tenant_keys(s.dir.path()),
        );
        std::fs::write(s.dir.path().join("config.toml"), config).expect("config");
        Some(s)
    }

    fn addr(&self, name: &str) -> String {
        format!("{name}-{}@corp.test", self.tag)
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        common::json_within(
            &self.config(),
            self.dir.path(),
            args,
            std::time::Duration::from_secs(120),
            String::new,
        )
    }

    fn ingest(&self, message_id: &str, to: &[String]) {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let line = common::log_line(message_id, "mallory@evil.test", &to, "Invoice", None);
        let file = self.dir.path().join("log.jsonl");
        std::fs::write(&file, line).expect("log");
        let out = common::retractor(
            Some(&self.config()),
            self.dir.path(),
            &["ingest", "--format", "jsonl", file.to_str().expect("path")],
        );
        assert!(out.status.success(), "ingest: {}", common::stderr(&out));
    }

    /// Seed `id` into `user`'s INBOX with flags and the fixed internal date; the raw bytes.
    fn seed(&self, user: &str, flags: &str, id: &str, extra: &str) -> String {
        let raw = message(id, "mallory@evil.test", user, "Invoice", extra);
        self.server.client(user).append("INBOX", flags, DATE, &raw);
        raw
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

    /// The whole message at a uid, as the server holds it.
    fn raw(&self, user: &str, folder: &str, uid: u32) -> String {
        let mut c = self.server.client(user);
        assert!(c.cmd(&format!("SELECT \"{folder}\"")).ends_with_ok());
        let r = c.cmd(&format!("UID FETCH {uid} BODY.PEEK[]"));
        let open = r.0.find("BODY[] {").expect("literal") + "BODY[] {".len();
        let close = r.0[open..].find('}').expect("literal size") + open;
        let size: usize = r.0[open..close].parse().expect("size");
        r.0[close + 3..close + 3 + size].to_string()
    }

    /// The backend of the test tenant, built from the config as the binary builds it.
    fn backend(&self) -> std::sync::Arc<dyn retractor::backends::Backend> {
        let cfg = retractor::config::Config::load(&self.config()).expect("config");
        retractor::backends::for_tenant(&cfg.tenants["corp"]).expect("backend")
    }
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn mailbox(address: &str) -> retractor::backends::MailboxRef {
    retractor::backends::MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work)
}

/// One test per layout for each scenario.
macro_rules! in_both_layouts {
    ($scenario:ident: $upstream:ident, $debian:ident) => {
        #[test]
        fn $upstream() {
            $scenario(Layout::Upstream);
        }
        #[test]
        fn $debian() {
            $scenario(Layout::Debian);
        }
    };
}

in_both_layouts!(check_and_quarantine:
    check_names_the_layout_and_quarantine_keeps_the_delivered_bytes_on_cyrus_upstream,
    check_names_the_layout_and_quarantine_keeps_the_delivered_bytes_on_cyrus_debian);

/// What is Cyrus' own: `check` names the server and its layout; each quarantined copy is
/// made unique on the server (Cyrus limits identical ones), yet read back as evidence and
/// restored it is the message as delivered. Every action and its restore (folder, flags,
/// date), exact locate, depth, hold and the rest are in the backend contract suite.
fn check_and_quarantine(layout: Layout) {
    let Some(s) = Setup::new(layout, "act", &["alice", "bob", "quarantine"], "") else {
        return;
    };
    let (alice, bob, quarantine) = (s.addr("alice"), s.addr("bob"), s.addr("quarantine"));
    let original = s.seed(&alice, "\\Seen $Label1", MSG, "");
    s.seed(&bob, "\\Flagged", MSG, "");
    s.ingest(MSG, &[alice.clone(), bob.clone()]);
    let (code, check) = s.json(&["check"]);
    assert_eq!(code, 0, "{check}");
    let detail = check["tenants"][0]["detail"].as_str().unwrap_or("");
    let place = match layout {
        Layout::Upstream => "personal folders at the top level (separator /)",
        Layout::Debian => "personal folders under \"INBOX.\" (separator .)",
    };
    assert!(
        detail.contains("Cyrus") && detail.contains(place) && detail.contains("MOVE yes"),
        "{detail}"
    );
    let before = s.where_is(&alice, MSG);
    let quarantine_parent = format!("{}{}", layout.personal("Quarantine"), layout.sep());
    let (code, job) = s.json(&["retract", MSG, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    let moved: Vec<_> = s
        .where_is(&quarantine, MSG)
        .into_iter()
        .filter(|(f, _)| f.starts_with(quarantine_parent.as_str()))
        .collect();
    assert_eq!(moved.len(), 2, "{moved:?}");
    let first = s.raw(&quarantine, &moved[0].0, moved[0].1.uid);
    assert!(first.starts_with("X-Retractor-Quarantined: "), "{first}");
    assert_ne!(first, s.raw(&quarantine, &moved[1].0, moved[1].1.uid));
    let evidence = block_on(async {
        let backend = s.backend();
        let who = mailbox(&quarantine);
        let copies = backend.locate(&who, MSG).await.expect("locate");
        let mut raws = Vec::new();
        for copy in &copies {
            raws.push(backend.fetch_raw(&who, copy).await.expect("fetch"));
        }
        raws
    });
    assert_eq!(evidence.len(), 2);
    assert!(
        evidence.iter().any(|r| r == original.as_bytes()),
        "{evidence:?}"
    );
    let (code, job) = s.json(&["restore", MSG, "--yes", "--wait"]);
    assert_eq!(code, 0, "restore: {job}");
    let back = s.where_is(&alice, MSG);
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].1.flags, before[0].1.flags, "flags restored");
    // The bytes the server delivered, not the quarantined copy's.
    assert_eq!(s.raw(&alice, "INBOX", back[0].1.uid), original);
}

in_both_layouts!(many_identical_copies_into_one_folder:
    twelve_identical_copies_share_one_quarantine_folder_on_cyrus_upstream,
    twelve_identical_copies_share_one_quarantine_folder_on_cyrus_debian);

in_both_layouts!(many_identical_copies_per_recipient:
    twelve_identical_copies_per_recipient_on_cyrus_upstream,
    twelve_identical_copies_per_recipient_on_cyrus_debian);

fn many_identical_copies_into_one_folder(layout: Layout) {
    many_identical_copies(layout, false);
}

fn many_identical_copies_per_recipient(layout: Layout) {
    many_identical_copies(layout, true);
}

/// Twelve recipients of the same bytes quarantined into one quarantine mailbox: Cyrus keeps
/// at most ten byte-identical copies per folder; restore gives each the original bytes.
fn many_identical_copies(layout: Layout, per_recipient: bool) {
    let names: Vec<String> = (0..12).map(|n| format!("r{n}")).collect();
    let mut users: Vec<&str> = names.iter().map(String::as_str).collect();
    users.push("quarantine");
    let tag = if per_recipient { "each" } else { "one" };
    let extra = format!("quarantine_folder_per_recipient = {per_recipient}\n");
    let Some(s) = Setup::new(layout, tag, &users, &extra) else {
        return;
    };
    let recipients: Vec<String> = names.iter().map(|n| s.addr(n)).collect();
    // Byte-identical: the same To for all, as one campaign sends it.
    let raw = message(MSG, "mallory@evil.test", "staff@corp.test", "Invoice", "");
    for r in &recipients {
        s.server.client(r).append("INBOX", "\\Seen", DATE, &raw);
    }
    s.ingest(MSG, &recipients);
    let (code, job) = s.json(&["retract", MSG, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 12, "{job}");
    let quarantined = s.where_is(&s.addr("quarantine"), MSG);
    assert_eq!(quarantined.len(), 12, "{quarantined:?}");
    if !per_recipient {
        assert!(
            quarantined
                .iter()
                .all(|(f, _)| *f == layout.personal("Quarantine")),
            "{quarantined:?}"
        );
    }
    let (code, job) = s.json(&["restore", MSG, "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    for r in &recipients {
        let back = s.where_is(r, MSG);
        assert_eq!(back.len(), 1, "{r}: {back:?}");
        assert_eq!(back[0].0, "INBOX");
        assert_eq!(
            back[0].1.internal_date.trim_start(),
            DATE.trim_start_matches('0')
        );
        assert_eq!(s.raw(r, "INBOX", back[0].1.uid), raw, "{r}");
    }
    assert!(s.where_is(&s.addr("quarantine"), MSG).is_empty());
}

in_both_layouts!(two_items_create_one_folder:
    two_items_creating_one_folder_both_succeed_on_cyrus_upstream,
    two_items_creating_one_folder_both_succeed_on_cyrus_debian);

/// Two backends (two workers) each listed the folders before either created the soft-delete
/// folder: the second CREATE gets Cyrus' bare `NO Mailbox already exists`, which is success.
fn two_items_create_one_folder(layout: Layout) {
    use retractor::model::Action;
    let Some(s) = Setup::new(layout, "race", &["alice"], "") else {
        return;
    };
    let alice = s.addr("alice");
    let (first_id, second_id) = ("<first@evil.test>", "<second@evil.test>");
    s.seed(&alice, "", first_id, "");
    s.seed(&alice, "", second_id, "");
    block_on(async {
        let (one, two) = (s.backend(), s.backend());
        let who = mailbox(&alice);
        let first = one.locate(&who, first_id).await.expect("locate");
        let second = two.locate(&who, second_id).await.expect("locate");
        two.apply(&who, &second[0], Action::SoftDelete)
            .await
            .expect("the first to create it");
        let applied = one
            .apply(&who, &first[0], Action::SoftDelete)
            .await
            .expect("a folder created meanwhile is as good as one created here");
        let to = applied.to.expect("moved");
        assert_eq!(to.folder, layout.personal("Retractor-Deleted"));
    });
    let deleted = layout.personal("Retractor-Deleted");
    assert_eq!(s.where_is(&alice, first_id)[0].0, deleted);
    assert_eq!(s.where_is(&alice, second_id)[0].0, deleted);
}

in_both_layouts!(over_quota_without_a_code:
    an_over_quota_refusal_without_a_code_is_over_quota_on_cyrus_upstream,
    an_over_quota_refusal_without_a_code_is_over_quota_on_cyrus_debian);

/// Cyrus says `NO Over quota` with no `[OVERQUOTA]`: still an over-quota failure, and the
/// copy stays where it was.
fn over_quota_without_a_code(layout: Layout) {
    let Some(s) = Setup::new(layout, "quota", &["alice", "quarantine"], "") else {
        return;
    };
    let alice = s.addr("alice");
    s.server.set_quota_kib(&s.addr("quarantine"), 1);
    let padding = format!("X-Padding: {}\r\n", "x".repeat(4000));
    s.seed(&alice, "", MSG, &padding);
    s.ingest(MSG, std::slice::from_ref(&alice));
    let (code, job) = s.json(&["retract", MSG, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    let item = &items(&job)[0];
    assert_eq!(item["result"], "failed", "{item}");
    let error = item["error"].as_str().unwrap_or("");
    assert!(error.starts_with("over-quota"), "{item}");
    assert_eq!(s.where_is(&alice, MSG)[0].0, "INBOX");
}

in_both_layouts!(permission_denied_without_a_code:
    a_permission_refusal_without_a_code_is_permission_denied_on_cyrus_upstream,
    a_permission_refusal_without_a_code_is_permission_denied_on_cyrus_debian);

/// A quarantine mailbox where its owner may not create folders: Cyrus' bare `NO Permission
/// denied` to the CREATE (LIST shows no such folder) fails the item as permission-denied.
fn permission_denied_without_a_code(layout: Layout) {
    let Some(s) = Setup::new(layout, "acl", &["alice", "quarantine"], "") else {
        return;
    };
    let alice = s.addr("alice");
    s.server.set_own_rights(&s.addr("quarantine"), "lr");
    s.seed(&alice, "", MSG, "");
    s.ingest(MSG, std::slice::from_ref(&alice));
    let (code, job) = s.json(&["retract", MSG, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    let item = &items(&job)[0];
    assert_eq!(item["result"], "failed", "{item}");
    let error = item["error"].as_str().unwrap_or("");
    assert!(
        error.starts_with("permission-denied") && error.contains("Permission denied"),
        "{item}"
    );
    assert_eq!(s.where_is(&alice, MSG)[0].0, "INBOX");
}
