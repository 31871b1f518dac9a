//! The IMAP backend against a real Dovecot, end to end through the real binary: what is
//! particular to IMAP and Dovecot (the COPY path on a server without MOVE, dropped
//! connections, auth failure, over quota, TLS, the evidence copy, index, sweep, check).
//! Every action and its restore, exact locate, depth, a crash, not-found, not-actionable and
//! hold are in the backend contract suite (`backend_contract.rs`), for every backend. A hunt
//! by URL narrows with `SEARCH BODY` and is confirmed on the parsed message.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/tls.rs"]
mod tls;

use std::path::PathBuf;

use serde_json::Value;

use dovecot::{Dovecot, Options, message};

const MSG: &str = "<phish-1@evil.test>";
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
        common::json_within(
            &self.config(),
            self.dir.path(),
            args,
            std::time::Duration::from_secs(120),
            || self.server.log(),
        )
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

fn log(id: &str, to: &[&str]) -> String {
    common::log_line(id, "mallory@evil.test", to, "Invoice", None)
}

/// Hard-delete stores the evidence copy before it deletes (the hold is in the contract suite).
#[test]
fn hard_delete_stores_an_evidence_copy_before_deleting() {
    let s = Setup::new(
        &["alice@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "", MSG, "");
    s.ingest(&[log(MSG, &["alice@corp.test"])]);
    let (code, job) = s.json(&["retract", MSG, "--action", "hard-delete", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert!(s.where_is("alice@corp.test", MSG).is_empty());
    assert!(
        body_copies_in_store(&s.dir.path().join("retractor.db")) >= 1,
        "no evidence stored"
    );
}

/// How often the seeded body text appears in the store's file: only an evidence copy holds
/// message bodies (the log keeps headers), and the CLI does not expose evidence as JSON.
fn body_copies_in_store(db: &std::path::Path) -> usize {
    let bytes = std::fs::read(db).unwrap_or_default();
    let needle = b"Hello.";
    bytes.windows(needle.len()).filter(|w| w == needle).count()
}

#[test]
fn a_server_without_move_takes_the_copy_path() {
    let s = Setup::new(
        &["alice@corp.test", "quarantine@corp.test"],
        Options {
            without_move: true,
            ..Options::default()
        },
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "\\Seen", MSG, "");
    s.seed(
        "alice@corp.test",
        "INBOX",
        "\\Deleted",
        "<someone-elses@corp.test>",
        "",
    );
    s.ingest(&[log(MSG, &["alice@corp.test"])]);
    let (code, check) = s.json(&["check"]);
    assert_eq!(code, 0, "{check}");
    let detail = check["tenants"][0]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        detail.contains("MOVE no") && detail.contains("UIDPLUS yes"),
        "{detail}"
    );
    let (code, job) = s.json(&["retract", MSG, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    let now = s.where_is("alice@corp.test", MSG);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, "Trash");
    // UID EXPUNGE touched only our message: another \Deleted message is still there.
    assert_eq!(
        s.where_is("alice@corp.test", "<someone-elses@corp.test>")
            .len(),
        1
    );
    let (code, job) = s.json(&["restore", MSG, "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    let back = s.where_is("alice@corp.test", MSG);
    assert_eq!(
        (back[0].0.as_str(), back[0].1.flags.clone()),
        ("INBOX", vec!["\\Seen".to_string()])
    );
    assert_eq!(back[0].1.internal_date, DATE);
}

#[test]
fn auth_failure_stops_the_tenant() {
    let s = Setup::new(
        &["alice@corp.test", "bob@corp.test", "carol@corp.test"],
        Options::default(),
        "wrong-password",
        "concurrency = 1",
    );
    s.ingest(&[log(
        MSG,
        &["alice@corp.test", "bob@corp.test", "carol@corp.test"],
    )]);
    let (code, job) = s.json(&["retract", MSG, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    for item in items(&job) {
        assert_eq!(item["result"], "failed", "{item}");
        assert!(
            item["error"].as_str().unwrap_or("").contains("auth"),
            "{item}"
        );
        assert!(
            !item["error"]
                .as_str()
                .unwrap_or("")
                .contains("wrong-password")
        );
    }
    // One refused login, not one per item: the breaker stopped the rest.
    let refused = s.server.log().matches("auth failed").count();
    assert_eq!(refused, 1, "{}", s.server.log());
}

#[test]
fn index_sweep_and_check_work_through_scan() {
    let s = Setup::new(
        &["alice@corp.test", "bob@corp.test", "quarantine@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "", MSG, "");
    s.seed("bob@corp.test", "INBOX", "", MSG, "");
    s.seed("bob@corp.test", "INBOX", "", "<hello@corp.test>", "");
    let (code, check) = s.json(&["check"]);
    assert_eq!(code, 0, "{check}");
    let detail = check["tenants"][0]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("MOVE yes") && detail.contains("\\Junk=Junk"),
        "{detail}"
    );
    let out = common::retractor(
        Some(&s.config()),
        s.dir.path(),
        &["index", "--tenant", "corp"],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let (_, found) = s.json(&["search", "msgid:phish-1@evil.test"]);
    let recipients = found["messages"][0]["recipients"].to_string();
    assert!(
        recipients.contains("alice@corp.test") && recipients.contains("bob@corp.test"),
        "{found}"
    );
    let (code, job) = s.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        MSG,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(s.where_is("alice@corp.test", MSG)[0].0, "Junk");
    assert_eq!(s.where_is("bob@corp.test", MSG)[0].0, "Junk");
    assert_eq!(
        s.where_is("bob@corp.test", "<hello@corp.test>")[0].0,
        "INBOX"
    );
}

#[test]
fn connections_kicked_mid_job_are_reopened_and_the_job_completes() {
    let users: Vec<String> = (0..30).map(|n| format!("u{n}@corp.test")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    // Every connection is kicked every few tens of milliseconds, so an item may lose several
    // sessions in a row: more attempts than the default 5 keep the test about reconnecting,
    // not about the odds of five kicks in a row on a loaded machine.
    let s = Setup::new(
        &refs,
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "max_attempts = 12",
    );
    for u in &refs {
        s.seed(u, "INBOX", "", MSG, "");
    }
    s.ingest(&[log(MSG, &refs)]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kicker = {
        let stop = std::sync::Arc::clone(&stop);
        let conf = s.server.dir.path().join("dovecot.conf");
        std::thread::spawn(move || {
            let mut kicks = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = std::process::Command::new("doveadm")
                    .arg("-c")
                    .arg(&conf)
                    .args(["kick", "*@corp.test"])
                    .output();
                if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("@corp.test")) {
                    kicks += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
            kicks
        })
    };
    let (code, job) = s.json(&[
        "retract",
        MSG,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kicks = kicker.join().expect("kicker");
    assert_eq!(code, 0, "{job}");
    assert!(kicks > 0, "no connection was kicked during the job");
    for u in &refs {
        let at = s.where_is(u, MSG);
        assert_eq!(at.len(), 1, "{u}: {at:?}");
        assert_eq!(at[0].0, "Junk", "{u}");
    }
}

/// The backend of the test tenant, built from the config as the binary builds it.
fn backend_of(s: &Setup) -> std::sync::Arc<dyn retractor::backends::Backend> {
    let cfg = retractor::config::Config::load(&s.config()).expect("config");
    retractor::backends::for_tenant(&cfg.tenants["corp"]).expect("backend")
}

fn mailbox(address: &str) -> retractor::backends::MailboxRef {
    retractor::backends::MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_is_reopened_for_reads_and_an_act_fails_retryably() {
    use retractor::backends::ErrorKind;
    use retractor::model::Action;
    let s = Setup::new(
        &["alice@corp.test", "quarantine@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "\\Seen", MSG, "");
    let backend = backend_of(&s);
    let alice = mailbox("alice@corp.test");
    let found = backend.locate(&alice, MSG).await.expect("locate");
    assert_eq!(found.len(), 1);
    // The session kept for alice is cut: the next read reconnects by itself.
    s.server.kick_and_wait("alice@corp.test");
    let again = backend
        .locate(&alice, MSG)
        .await
        .expect("locate after kick");
    assert_eq!(again, found);
    // An act on a cut session is not repeated blind: it fails retryably, and the engine
    // locates again before acting (as the next two calls do).
    s.server.kick_and_wait("alice@corp.test");
    let e = backend
        .apply(&alice, &again[0], Action::MoveToJunk)
        .await
        .expect_err("the session was cut");
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
    assert!(e.retryable());
    let copies = backend.locate(&alice, MSG).await.expect("locate");
    let applied = backend
        .apply(&alice, &copies[0], Action::MoveToJunk)
        .await
        .expect("apply");
    let to = applied.to.expect("moved");
    assert_eq!(to.folder, "Junk");
    assert!(to.seen);
    assert_eq!(s.where_is("alice@corp.test", MSG)[0].0, "Junk");
}

#[test]
fn an_over_quota_quarantine_fails_the_item_and_leaves_the_copy() {
    let s = Setup::new(
        &["alice@corp.test", "quarantine@corp.test"],
        Options {
            over_quota_user: Some("quarantine@corp.test"),
            ..Options::default()
        },
        dovecot::ADMIN_PASSWORD,
        "",
    );
    s.seed("alice@corp.test", "INBOX", "", MSG, "");
    s.ingest(&[log(MSG, &["alice@corp.test"])]);
    let (code, job) = s.json(&["retract", MSG, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    let item = &items(&job)[0];
    assert_eq!(item["result"], "failed", "{item}");
    let error = item["error"].as_str().unwrap_or("");
    assert!(
        error.contains("over-quota") || error.contains("OVERQUOTA"),
        "{error}"
    );
    assert_eq!(s.where_is("alice@corp.test", MSG)[0].0, "INBOX");
}

#[test]
fn tls_and_starttls_with_a_private_ca() {
    let server = Dovecot::start(
        &["alice@corp.test", "quarantine@corp.test"],
        Options {
            tls: true,
            ..Options::default()
        },
    );
    let tls_port = server.tls_port.expect("tls port");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = server.dir.path().join("ca.pem");
    let keys = server
        .tenant_keys(dir.path(), dovecot::ADMIN_PASSWORD)
        .replace("host = \"127.0.0.1\"", "host = \"localhost\"")
        .replace(&format!("port = {}\n", server.port), "")
        .replace("security = \"none\"\n", "");
    let tenant = |name: &str, extra: &str| {
        format!(
            "[tenants.{name}]\nkind = \"imap\"\ndomains = [\"{name}.test\"]\nmailboxes = [\"alice@corp.test\"]\n{keys}{extra}\n"
        )
    };
    let config = format!(
        "[store]\npath = \"r.db\"\n{}{}{}",
        tenant(
            "tls",
            &format!(
                "security = \"tls\"\nport = {tls_port}\nca_file = \"{}\"",
                ca.display()
            )
        ),
        tenant(
            "starttls",
            &format!(
                "security = \"starttls\"\nport = {}\nca_file = \"{}\"",
                server.port,
                ca.display()
            )
        ),
        // Without the private CA the certificate must be refused.
        tenant(
            "untrusted",
            &format!("security = \"tls\"\nport = {tls_port}")
        ),
    );
    std::fs::write(dir.path().join("config.toml"), config).expect("config");
    let out = common::retractor(
        Some(&dir.path().join("config.toml")),
        dir.path(),
        &["--json", "check"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("check JSON");
    let by_name = |n: &str| {
        v["tenants"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == n).cloned())
            .unwrap_or_else(|| panic!("{n}: {v}"))
    };
    for name in ["tls", "starttls"] {
        let t = by_name(name);
        assert_eq!(t["ok"], true, "{t}\n{}", server.log());
        assert!(
            t["detail"].as_str().unwrap_or("").contains("UIDPLUS yes"),
            "{t}"
        );
    }
    let t = by_name("untrusted");
    assert_eq!(t["ok"], false, "{t}");
    assert!(t["detail"].as_str().unwrap_or("").contains("TLS"), "{t}");
}

#[test]
fn one_connection_serves_many_mailboxes_in_turn() {
    let users: Vec<String> = (0..6).map(|n| format!("m{n}@corp.test")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let s = Setup::new(&refs, Options::default(), dovecot::ADMIN_PASSWORD, "");
    // The tenant table is the config's last: one connection for the whole tenant.
    let mut config = std::fs::read_to_string(s.config()).expect("config");
    config.push_str("max_connections = 1\n");
    std::fs::write(s.config(), config).expect("config");
    for u in &refs {
        s.seed(u, "INBOX", "", MSG, "");
    }
    s.ingest(&[log(MSG, &refs)]);
    let (code, job) = s.json(&["retract", MSG, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 6, "{job}");
    // Never more than one session at a time: each login followed the previous logout.
    assert!(!s.server.log().contains("Maximum number of connections"));
}

/// A backend that has listed nothing yet answers from the server: the mailbox's special-use
/// `\Junk` (Dovecot's `Junk`), not the configured fallback name, for both the destination
/// and where a copy stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_backend_asks_the_server_where_junk_is() {
    use retractor::backends::{Destination, Standing};
    use retractor::model::Action;
    let s = Setup::new(
        &["alice@corp.test", "quarantine@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "",
    );
    let config = std::fs::read_to_string(s.config()).expect("config");
    std::fs::write(
        s.config(),
        format!("{config}\n[tenants.corp.folders]\njunk = \"Not-Special\"\n"),
    )
    .expect("config");
    s.seed("alice@corp.test", "Junk", "\\Seen", MSG, "");
    let alice = mailbox("alice@corp.test");
    let copy = backend_of(&s).locate(&alice, MSG).await.expect("locate")[0].clone();
    assert_eq!(copy.folder, "Junk");
    // Each question to a backend that has learnt nothing.
    assert_eq!(
        backend_of(&s)
            .destination(&alice, Action::MoveToJunk)
            .await
            .expect("destination"),
        Destination::Folder("Junk".into())
    );
    assert_eq!(
        backend_of(&s)
            .standing(&alice, &copy, Action::MoveToJunk)
            .await
            .expect("standing"),
        Standing::AtDestination
    );
    assert_eq!(
        backend_of(&s)
            .standing(&alice, &copy, Action::Trash)
            .await
            .expect("standing"),
        Standing::InView
    );
}

/// A phish report in the abuse mailbox on Dovecot: read (the original attached whole), its
/// alert raised, and the report moved to the processed folder with the server's delimiter;
/// a second run finds nothing new.
#[test]
fn a_phish_report_is_read_and_filed_on_dovecot() {
    let s = Setup::new(
        &["alice@corp.test", "abuse@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "[submissions]\ntenant = \"corp\"\nmailbox = \"abuse@corp.test\"\n",
    );
    s.seed("alice@corp.test", "INBOX", "", MSG, "");
    let original = message(MSG, "mallory@evil.test", "alice@corp.test", "Invoice", "");
    let report = format!(
        "Message-ID: <report-1@corp.test>\r\nFrom: Alice <alice@corp.test>\r\nTo: abuse@corp.test\r\n\
         Subject: 3|Invoice\r\nDate: Fri, 20 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain\r\n\r\nReported as phishing.\r\n--b1\r\n\
         Content-Type: message/rfc822\r\n\r\n{original}\r\n--b1--\r\n"
    );
    s.server
        .client("abuse@corp.test")
        .append("INBOX", "", DATE, &report);
    let (code, v) = s.json(&["submissions"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["submissions"]["reports"][0];
    assert_eq!(r["format"], "attached", "{v}");
    assert_eq!(r["reporter"], "alice@corp.test");
    assert_eq!(r["original_message_id"], MSG);
    assert_eq!(r["moved"], true, "{v}");
    let placed = s.where_is("abuse@corp.test", "<report-1@corp.test>");
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert!(
        placed[0].0.ends_with("Retractor.Processed")
            || placed[0].0.ends_with("Retractor/Processed"),
        "{placed:?}"
    );
    // The reported message itself is untouched: only the policies act on it.
    assert_eq!(s.where_is("alice@corp.test", MSG).len(), 1);
    let (code, again) = s.json(&["submissions"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["submissions"]["reports"], serde_json::json!([]));
}

/// A hunt by URL on Dovecot: `SEARCH BODY <host>` returns the phish and the warning quoting
/// its URL (not the unrelated mail), the parsed message keeps only the phish; a second hunt is
/// a repeat. The quarantine mailbox is not hunted.
#[test]
fn a_url_hunt_on_dovecot_confirms_the_phish_and_the_next_reads_only_what_arrived_since() {
    let s = Setup::new(
        &["alice@corp.test", "bob@corp.test", "quarantine@corp.test"],
        Options::default(),
        dovecot::ADMIN_PASSWORD,
        "[reevaluation]\nwindow = \"520w\"\n",
    );
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/forensics/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    };
    s.server
        .client("alice@corp.test")
        .append("INBOX", "", DATE, &fixture("phish.eml"));
    s.server
        .client("bob@corp.test")
        .append("INBOX", "", DATE, &fixture("newsletter.eml"));
    s.seed("bob@corp.test", "INBOX", "", "<hello@corp.test>", "");
    let add = common::retractor(
        Some(&s.config()),
        s.dir.path(),
        &[
            "ioc",
            "add",
            "url",
            "https://login.evil-bank.example/reset?id=42&u=alice",
            "--classification",
            "ioc-match",
        ],
    );
    assert!(add.status.success(), "{}", common::stderr(&add));
    let (code, first) = s.json(&["hunt"]);
    assert_eq!(code, 0, "{first}");
    let h = &first["hunt"];
    assert_eq!(
        (
            h["mailboxes"].as_u64(),
            h["copies_read"].as_u64(),
            h["matches"].as_u64(),
            h["new_alerts"].as_u64()
        ),
        (Some(2), Some(2), Some(1), Some(1)),
        "the phish and the warning read, the phish alone matched: {first}"
    );
    // The next hunt reads each mailbox only since the first one (by the server's
    // INTERNALDATE): nothing arrived, nothing read, nothing raised again.
    let (code, second) = s.json(&["hunt"]);
    assert_eq!(code, 0, "{second}");
    let h = &second["hunt"];
    assert_eq!(
        (
            h["mailboxes_resumed"].as_u64(),
            h["copies_read"].as_u64(),
            h["matches"].as_u64(),
            h["new_alerts"].as_u64()
        ),
        (Some(2), Some(0), Some(0), Some(0)),
        "{second}"
    );
}
