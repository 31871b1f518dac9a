//! `retractor demo`: a self-contained demo tenant that the other commands work on.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

/// A demo created by the real binary in a temporary directory.
struct Demo {
    home: tempfile::TempDir,
    config: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("demo");
        let out = retractor(
            None,
            home.path(),
            &["demo", "--dir", dir.to_str().expect("utf-8"), "--no-tui"],
        );
        assert_eq!(out.status.code(), Some(0), "demo: {}", stderr(&out));
        let printed = stdout(&out);
        let config = dir.join("config.toml");
        assert_eq!(
            printed.trim(),
            config.display().to_string(),
            "prints the config path"
        );
        assert!(config.is_file());
        Demo { home, config }
    }

    fn dir(&self) -> &Path {
        self.config.parent().expect("demo dir")
    }

    fn run(&self, args: &[&str]) -> Output {
        retractor(Some(&self.config), self.home.path(), args)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)))
    }

    fn messages(&self, query: &[&str]) -> Vec<Value> {
        let mut args = vec!["search", "--limit", "100000"];
        args.extend_from_slice(query);
        self.json(&args)["messages"]
            .as_array()
            .cloned()
            .expect("messages")
    }

    /// The malicious message with the most recipients: the campaign.
    fn campaign(&self) -> Value {
        self.messages(&["disposition:malicious"])
            .into_iter()
            .max_by_key(|m| m["recipients"].as_array().map(Vec::len).unwrap_or(0))
            .expect("a malicious message")
    }
}

fn id_of(m: &Value) -> String {
    m["id"].as_i64().expect("id").to_string()
}

#[test]
fn demo_log_has_the_campaign_with_hold_and_external_recipients() {
    let d = Demo::new();
    let all = d.messages(&[]);
    assert!(all.len() >= 300, "{} messages", all.len());
    // --limit is honoured.
    assert_eq!(
        d.json(&["search", "--limit", "7"])["messages"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );

    let campaign = d.campaign();
    let recipients = campaign["recipients"].as_array().map(Vec::len).unwrap_or(0);
    assert!(recipients >= 20, "{campaign}");
    assert_eq!(campaign["disposition"], "malicious");
    assert_eq!(campaign["tenant"], "demo");

    let shown = d.json(&["show", &id_of(&campaign)]);
    assert_eq!(shown["message_id"], campaign["message_id"]);
    let deliveries = shown["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), recipients, "one delivery per recipient");
    let on_hold: Vec<&Value> = deliveries.iter().filter(|d| d["on_hold"] == true).collect();
    let external: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["external"] == true)
        .collect();
    assert_eq!(on_hold.len(), 1, "{on_hold:?}");
    assert_eq!(external.len(), 1, "{external:?}");
    // The held mailbox is the one the config names; the external one is outside the domain.
    let config = fs::read_to_string(&d.config).expect("config");
    let held = on_hold[0]["recipient"].as_str().expect("recipient");
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("holds") && l.contains(held)),
        "{held} not in holds"
    );
    assert!(
        !external[0]["recipient"]
            .as_str()
            .unwrap_or_default()
            .ends_with("@demo.test"),
        "{:?}",
        external[0]
    );
    // Headers come from the mailbox copy.
    let headers = shown["headers"].as_array().expect("headers");
    let msgid = headers
        .iter()
        .find(|h| {
            h[0].as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("Message-ID"))
        })
        .expect("Message-ID header");
    assert_eq!(msgid[1], campaign["message_id"]);
    // The conversation has replies and forwards at depth 1 and 2.
    let depths: Vec<u64> = shown["conversation"]
        .as_array()
        .expect("conversation")
        .iter()
        .filter_map(|c| c["depth"].as_u64())
        .collect();
    assert!(depths.contains(&1) && depths.contains(&2), "{depths:?}");
}

#[test]
fn demo_dry_run_counts_every_depth_and_changes_nothing() {
    let d = Demo::new();
    let campaign = d.campaign();
    let before = files_under(&d.dir().join("mail"));
    let plan = d.json(&[
        "retract",
        &id_of(&campaign),
        "--action",
        "trash",
        "--depth",
        "2",
        "--dry-run",
    ]);
    let by_depth = plan["plan"]["by_depth"].as_array().expect("by_depth");
    let depths: Vec<u64> = by_depth
        .iter()
        .filter_map(|b| b["depth"].as_u64())
        .collect();
    assert_eq!(depths, vec![0, 1, 2], "{plan}");
    for b in by_depth {
        assert!(b["mailboxes"].as_u64().unwrap_or(0) > 0, "{b}");
        assert!(b["messages"].as_u64().unwrap_or(0) > 0, "{b}");
    }
    assert_eq!(by_depth[0]["messages"], 1);
    // Depth 0 plans one item per recipient; the external one is settled as not actionable.
    let items = plan["plan"]["items"].as_array().expect("items");
    let depth0 = items.iter().filter(|i| i["depth"] == 0).count();
    assert_eq!(
        depth0,
        campaign["recipients"].as_array().map(Vec::len).unwrap_or(0)
    );
    assert!(
        items.iter().any(|i| i["result"] == "not-actionable"),
        "{plan}"
    );
    assert_eq!(files_under(&d.dir().join("mail")), before);
    let jobs = d.json(&["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(0));
}

#[test]
fn hostile_subject_is_inert_in_tables_and_exact_in_json() {
    let d = Demo::new();
    let hostile = d.messages(&["disposition:suspicious"]);
    let with_escape: Vec<&Value> = hostile
        .iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains('\u{1b}')))
        .collect();
    assert!(
        !with_escape.is_empty(),
        "the demo has a subject with ESC: {hostile:?}"
    );

    for args in [
        vec!["search", "disposition:suspicious"],
        vec!["search", "--limit", "1000"],
        vec!["show", &id_of(with_escape[0])],
    ] {
        let out = d.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            !out.stdout.contains(&0x1b),
            "raw ESC in the output of {args:?}"
        );
        assert!(
            !out.stdout.contains(&0x07),
            "raw BEL in the output of {args:?}"
        );
        assert!(!out.stderr.contains(&0x1b), "raw ESC on stderr of {args:?}");
        assert!(
            stdout(&out).contains("\\x1b"),
            "{args:?}: the escape is shown, visibly: {}",
            stdout(&out)
        );
    }
    // Bidi overrides are shown, not obeyed.
    let out = d.run(&["show", &id_of(with_escape[0])]);
    assert!(!stdout(&out).contains('\u{202e}'), "raw RLO in show");
}

#[test]
fn encoded_subjects_are_decoded_in_the_log() {
    let d = Demo::new();
    // Take RFC 2047-encoded Subject headers from the Maildir files and decode them here.
    let mut encoded = Vec::new();
    for file in files_under(&d.dir().join("mail")) {
        let Ok(raw) = fs::read(&file) else { continue };
        let head_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(raw.len());
        if !String::from_utf8_lossy(&raw[..head_end]).contains("\nSubject: =?") {
            continue;
        }
        let parsed = mail_parser::MessageParser::default()
            .parse_headers(&raw)
            .expect("parse");
        let subject = parsed.subject().expect("subject").to_string();
        let id = parsed.message_id().expect("message id").to_string();
        encoded.push((id, subject));
        if encoded.len() >= 5 {
            break;
        }
    }
    assert!(!encoded.is_empty(), "the demo has encoded subjects");
    for (id, subject) in &encoded {
        assert!(!subject.is_ascii(), "{subject}");
        let found = d.messages(&[&format!("msgid:<{id}>")]);
        assert_eq!(found.len(), 1, "{id}");
        assert_eq!(found[0]["subject"].as_str(), Some(subject.as_str()), "{id}");
    }
    // No subject anywhere in the log is left as an encoded word.
    let all = d.messages(&[]);
    assert!(
        all.iter()
            .all(|m| !m["subject"].as_str().unwrap_or_default().contains("=?"))
    );
    assert!(
        all.iter()
            .filter(|m| !m["subject"].as_str().unwrap_or_default().is_ascii())
            .count()
            >= encoded.len()
    );
}

#[test]
fn demo_is_reused_reset_and_refuses_the_console() {
    let d = Demo::new();
    let dir = d.dir().to_str().expect("utf-8").to_string();
    let count = d.messages(&[]).len();
    // Retract something, so a reset has something to undo.
    let campaign = d.campaign();
    let out = d.run(&[
        "retract",
        &id_of(&campaign),
        "--action",
        "trash",
        "--yes",
        "--wait",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Again without --reset: reused as it is.
    let out = retractor(None, d.home.path(), &["demo", "--dir", &dir, "--no-tui"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), d.config.display().to_string());
    let out = retractor(
        None,
        d.home.path(),
        &["--json", "demo", "--dir", &dir, "--no-tui"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["demo"]["created"], false, "{v}");
    assert_eq!(d.messages(&[]).len(), count);
    assert_eq!(d.json(&["jobs"])["jobs"].as_array().map(Vec::len), Some(1));
    assert_eq!(d.json(&["show", &id_of(&campaign)])["status"], "retracted");

    // --reset: a fresh demo, the job and the retraction gone.
    let out = retractor(
        None,
        d.home.path(),
        &["--json", "demo", "--dir", &dir, "--reset", "--no-tui"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["demo"]["created"], true, "{v}");
    assert_eq!(d.json(&["jobs"])["jobs"].as_array().map(Vec::len), Some(0));
    let again = d.campaign();
    assert_eq!(again["status"], "delivered", "{again}");
    assert!(d.messages(&[]).len() >= 300);

    // --reset refuses to delete a directory that is not a demo.
    let other = d.home.path().join("not-a-demo");
    fs::create_dir_all(&other).expect("dir");
    fs::write(other.join("precious.txt"), "keep").expect("file");
    let out = retractor(
        None,
        d.home.path(),
        &[
            "demo",
            "--dir",
            other.to_str().expect("utf-8"),
            "--reset",
            "--no-tui",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(other.join("precious.txt").exists());

    // Without --no-tui and without a terminal: the console cannot open; it says so, exits 2.
    let out = retractor(None, d.home.path(), &["demo", "--dir", &dir]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stdout(&out).trim(),
        d.config.display().to_string(),
        "still prints the config path"
    );
    assert!(
        stderr(&out).contains("the console needs a terminal"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn demo_default_dir_is_under_xdg_data_home() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = retractor(None, home.path(), &["demo", "--no-tui"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config = home.path().join("data/retractor/demo/config.toml");
    assert_eq!(stdout(&out).trim(), config.display().to_string());
    assert!(config.is_file());
}

/// `demo --reset --dir DIR` on a directory the demo did not make: exit 2 naming it, and
/// every file still there.
fn reset_refused(home: &Path, dir: &Path) -> String {
    let out = retractor(
        None,
        home,
        &[
            "demo",
            "--dir",
            dir.to_str().expect("utf-8"),
            "--reset",
            "--no-tui",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&dir.display().to_string()),
        "names the directory: {err}"
    );
    err
}

#[test]
fn reset_deletes_only_a_directory_the_demo_marked() {
    let home = tempfile::tempdir().expect("tempdir");
    // A real configuration with its mail: config.toml and mail/ prove nothing.
    let real = home.path().join("etc-retractor");
    fs::create_dir_all(real.join("mail/corp.test/alice/cur")).expect("dirs");
    fs::write(
        real.join("config.toml"),
        "[store]\npath = \"retractor.db\"\n",
    )
    .expect("config");
    fs::write(real.join("mail/corp.test/alice/cur/1.M1.host:2,S"), "mail").expect("mail");
    let before = files_under(&real);
    let err = reset_refused(home.path(), &real);
    assert!(err.contains(".retractor-demo"), "says why: {err}");
    assert_eq!(files_under(&real), before, "nothing deleted");
    // A forged marker with other text is not the demo's either.
    fs::write(real.join(".retractor-demo"), "mine").expect("marker");
    reset_refused(home.path(), &real);
    assert!(real.join("config.toml").is_file());
    // Nor will the demo write into a directory that already holds someone's files.
    let notes = home.path().join("notes");
    fs::create_dir_all(&notes).expect("dir");
    fs::write(notes.join("todo.txt"), "keep").expect("file");
    let out = retractor(
        None,
        home.path(),
        &["demo", "--dir", notes.to_str().expect("utf-8"), "--no-tui"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!notes.join(".retractor-demo").exists());
    assert!(!notes.join("config.toml").exists());
}

#[test]
fn reset_never_follows_a_symbolic_link() {
    let d = Demo::new();
    assert!(
        d.dir().join(".retractor-demo").is_file(),
        "the demo marks its directory"
    );
    // Outside the demo: a directory a link inside the demo points at.
    let outside = d.home.path().join("outside");
    fs::create_dir_all(&outside).expect("dir");
    fs::write(outside.join("precious.txt"), "keep").expect("file");
    std::os::unix::fs::symlink(&outside, d.dir().join("mail/demo.test/link")).expect("link");
    std::os::unix::fs::symlink(outside.join("precious.txt"), d.dir().join("file-link"))
        .expect("link");
    // DIR itself a link to a marked demo: refused, the demo kept.
    let alias = d.home.path().join("alias");
    std::os::unix::fs::symlink(d.dir(), &alias).expect("link");
    let err = reset_refused(d.home.path(), &alias);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(d.config.is_file());
    // The real directory: reset, the links removed, never what they point at.
    let dir = d.dir().to_str().expect("utf-8").to_string();
    let out = retractor(
        None,
        d.home.path(),
        &["demo", "--dir", &dir, "--reset", "--no-tui"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(outside.join("precious.txt"))
            .ok()
            .as_deref(),
        Some("keep")
    );
    assert!(!d.dir().join("file-link").exists());
    assert!(d.config.is_file(), "a fresh demo");
}

#[test]
fn the_demo_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    // It holds a store with evidence of hard-deleted mail, and the mail itself.
    let d = Demo::new();
    let mode = fs::metadata(d.dir())
        .expect("demo dir")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "demo directory mode {mode:o}");
}
