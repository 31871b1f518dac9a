//! End-to-end checks of the generated tenant, read back from disk the way the rest of
//! retractor will read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::config::{BackendSettings, Config};
use crate::model::{MessageRecord, normalize_message_id};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 30, 0)
        .single()
        .unwrap_or_default()
}

fn temp() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

struct Demo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    summary: DemoSummary,
    written: Vec<Written>,
    log: Vec<MessageRecord>,
    log_text: String,
}

fn demo_at(now: DateTime<Utc>) -> Demo {
    let tmp = temp();
    let dir = tmp.path().join("demo");
    let (summary, written) = match generate_with_files(&dir, now) {
        Ok(x) => x,
        Err(e) => panic!("generate: {e}"),
    };
    let log_text = fs::read_to_string(&summary.log_path).unwrap_or_default();
    let log = log_text
        .lines()
        .enumerate()
        .map(|(n, l)| match serde_json::from_str::<MessageRecord>(l) {
            Ok(r) => r,
            Err(e) => panic!("log line {}: {e}: {l}", n + 1),
        })
        .collect();
    Demo {
        _tmp: tmp,
        dir,
        summary,
        written,
        log,
        log_text,
    }
}

fn demo() -> Demo {
    demo_at(now())
}

/// Every regular file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Message files only: they live in cur/ or new/.
fn message_files(root: &Path) -> Vec<PathBuf> {
    files_under(root)
        .into_iter()
        .filter(|p| {
            let parent = p
                .parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str());
            matches!(parent, Some("cur") | Some("new"))
        })
        .collect()
}

struct Parsed {
    message_id: String,
    subject: Option<String>,
    parents: Vec<String>,
}

fn parse(path: &Path) -> Parsed {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let Some(m) = mail_parser::MessageParser::default().parse(&bytes[..]) else {
        panic!("{} does not parse", path.display());
    };
    // The direct parent, as threading clients find it: In-Reply-To, else the last of
    // References. (Every earlier References entry is a further ancestor, not the parent.)
    let last_reference = m
        .references()
        .as_text_list()
        .and_then(|l| l.last().map(|s| s.to_string()))
        .or_else(|| m.references().as_text().map(str::to_string));
    let parent = m
        .in_reply_to()
        .as_text()
        .map(str::to_string)
        .or(last_reference);
    let parents: Vec<String> = parent.iter().map(|p| normalize_message_id(p)).collect();
    Parsed {
        message_id: normalize_message_id(m.message_id().unwrap_or_default()),
        subject: m.subject().map(str::to_string),
        parents,
    }
}

#[test]
fn config_parses_and_names_the_tenant() {
    let d = demo();
    let cfg = match Config::load(&d.summary.config_path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(cfg.store_path, d.dir.join("retractor.db"));
    assert_eq!(cfg.access.default_role, crate::model::Role::Responder);
    let Some(t) = cfg.tenant("demo") else {
        panic!("no demo tenant")
    };
    assert_eq!(t.kind, "maildir");
    assert_eq!(t.domains, vec!["demo.test".to_string()]);
    assert_eq!(
        t.quarantine_mailbox.as_deref(),
        Some("quarantine@demo.test")
    );
    assert!(t.on_hold(&d.summary.hold_mailbox));
    assert!(!t.owns("m.osei@partner.example"));
    match &t.backend {
        BackendSettings::Maildir(m) => assert_eq!(m.root, d.summary.mail_root),
        other => panic!("unexpected backend {other:?}"),
    }
}

#[test]
fn mailboxes_and_messages_meet_the_minimums() {
    let d = demo();
    let domain_dir = d.summary.mail_root.join("demo.test");
    let mailboxes: Vec<PathBuf> = match fs::read_dir(&domain_dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => panic!("{}: {e}", domain_dir.display()),
    };
    assert_eq!(mailboxes.len(), d.summary.mailboxes);
    assert!(mailboxes.len() >= 31, "{} mailboxes", mailboxes.len());
    for mb in &mailboxes {
        for sub in ["cur", "new", "tmp"] {
            assert!(mb.join(sub).is_dir(), "{}/{sub}", mb.display());
        }
        if mb.ends_with("quarantine") {
            assert!(fs::read_dir(mb.join("new")).map(|r| r.count()).unwrap_or(1) == 0);
            assert!(fs::read_dir(mb.join("cur")).map(|r| r.count()).unwrap_or(1) == 0);
            continue;
        }
        if mb.ends_with("abuse") {
            // A bare INBOX holding the three reports of the campaign, one per format.
            assert_eq!(
                fs::read_dir(mb.join("new")).map(|r| r.count()).unwrap_or(0),
                3
            );
            continue;
        }
        for folder in [".Junk", ".Trash", ".Sent"] {
            assert!(
                mb.join(folder).join("maildirfolder").is_file(),
                "{}/{folder}",
                mb.display()
            );
            for sub in ["cur", "new", "tmp"] {
                assert!(mb.join(folder).join(sub).is_dir());
            }
        }
    }
    assert!(d.log.len() >= 300, "{} logged messages", d.log.len());
    assert!(d.summary.messages >= d.log.len());
    let ids: BTreeSet<&str> = d.written.iter().map(|w| w.message_id.as_str()).collect();
    assert_eq!(ids.len(), d.summary.messages);
    // Spam sits in Junk, and every kind of mail the brief promises is there.
    let dispositions: BTreeSet<&str> = d
        .log
        .iter()
        .filter_map(|r| r.disposition.as_deref())
        .collect();
    for kind in ["clean", "bulk", "spam", "suspicious", "malicious"] {
        assert!(dispositions.contains(kind), "no {kind} mail");
    }
    let spam_ids: BTreeSet<&str> = d
        .log
        .iter()
        .filter(|r| r.disposition.as_deref() == Some("spam"))
        .map(|r| r.message_id.as_str())
        .collect();
    for w in d
        .written
        .iter()
        .filter(|w| spam_ids.contains(w.message_id.as_str()))
    {
        assert!(
            w.path.to_string_lossy().contains("/.Junk/"),
            "{}",
            w.path.display()
        );
    }
}

#[test]
fn log_lines_are_well_formed_and_in_the_two_weeks_before_now() {
    let d = demo();
    let allowed = ["clean", "bulk", "spam", "suspicious", "malicious", "spoof"];
    let mut ids = BTreeSet::new();
    for r in &d.log {
        assert!(
            ids.insert(r.message_id.clone()),
            "duplicate {}",
            r.message_id
        );
        assert_eq!(r.message_id, normalize_message_id(&r.message_id));
        assert!(
            allowed.contains(&r.disposition.as_deref().unwrap_or("")),
            "{r:?}"
        );
        assert_eq!(r.tenant.as_deref(), Some("demo"));
        assert!(r.source_id.as_deref().is_some_and(|s| !s.is_empty()));
        assert!(
            r.received_at < now() && r.received_at > now() - Duration::days(15),
            "{r:?}"
        );
        assert!(!r.to.is_empty());
        assert!(r.size.is_some_and(|s| s > 200));
    }
    let times: Vec<_> = d.log.iter().map(|r| r.received_at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "log is not in arrival order"
    );
    let working = d
        .log
        .iter()
        .filter(|r| {
            (8..18).contains(
                &r.received_at
                    .format("%H")
                    .to_string()
                    .parse::<u32>()
                    .unwrap_or(0),
            )
        })
        .count();
    assert!(
        working * 10 > d.log.len() * 7,
        "{working} of {} in working hours",
        d.log.len()
    );
}

#[test]
fn every_file_parses_and_holds_its_message() {
    let d = demo();
    let expected: HashMap<&Path, &Written> =
        d.written.iter().map(|w| (w.path.as_path(), w)).collect();
    let on_disk = message_files(&d.summary.mail_root);
    assert_eq!(on_disk.len(), d.written.len());
    let log_subjects: HashMap<&str, &str> = d
        .log
        .iter()
        .map(|r| (r.message_id.as_str(), r.subject.as_str()))
        .collect();
    for path in &on_disk {
        let Some(w) = expected.get(path.as_path()) else {
            panic!("unexpected file {}", path.display());
        };
        let parsed = parse(path);
        assert_eq!(parsed.message_id, w.message_id, "{}", path.display());
        if let Some(subject) = log_subjects.get(w.message_id.as_str())
            && w.message_id != d.summary.hostile_message_id
        {
            assert_eq!(
                parsed.subject.as_deref(),
                Some(*subject),
                "{}",
                path.display()
            );
        }
        let bytes = fs::read(path).unwrap_or_default();
        assert!(
            bytes.split(|b| *b == b'\n').all(|l| l.len() <= 998),
            "{} has an overlong line",
            path.display()
        );
        assert!(
            bytes
                .windows(2)
                .enumerate()
                .all(|(i, w)| w[1] != b'\n' || w[0] == b'\r' || i == usize::MAX)
                && bytes.first() != Some(&b'\n'),
            "{} has bare LF",
            path.display()
        );
        let meta = fs::metadata(path).map(|m| filetime::FileTime::from_last_modification_time(&m));
        assert_eq!(
            meta.map(|t| t.unix_seconds()).ok(),
            Some(w.at.timestamp()),
            "{}",
            path.display()
        );
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let in_cur = path.parent().is_some_and(|p| p.ends_with("cur"));
        assert_eq!(in_cur, name.ends_with(":2,S"), "{}", path.display());
        assert!(name.starts_with(&w.at.timestamp().to_string()), "{name}");
    }
}

#[test]
fn non_ascii_subjects_are_encoded_in_files_and_decoded_in_the_log() {
    let d = demo();
    let foreign: Vec<&MessageRecord> = d
        .log
        .iter()
        .filter(|r| !r.subject.is_ascii() && r.disposition.as_deref() != Some("suspicious"))
        .collect();
    let distinct: BTreeSet<&str> = foreign
        .iter()
        .map(|r| r.subject.trim_start_matches("Re: "))
        .collect();
    assert!(distinct.len() >= 5, "{distinct:?}");
    for script in ["ü", "日", "🎉"] {
        assert!(
            distinct.iter().any(|s| s.contains(script)),
            "no subject with {script}"
        );
    }
    for r in foreign {
        let Some(w) = d.written.iter().find(|w| w.message_id == r.message_id) else {
            panic!("no file for {}", r.message_id);
        };
        let text = fs::read(&w.path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let header = text.split("\r\n\r\n").next().unwrap_or_default();
        let subject_line = header
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or_default();
        assert!(
            subject_line.is_ascii() && subject_line.contains("=?UTF-8?B?"),
            "{subject_line}"
        );
    }
}

#[test]
fn hostile_subject_is_raw_in_the_file_and_escaped_in_the_log() {
    let d = demo();
    let Some(r) = d
        .log
        .iter()
        .find(|r| r.message_id == d.summary.hostile_message_id)
    else {
        panic!("hostile message not logged");
    };
    assert_eq!(r.disposition.as_deref(), Some("suspicious"));
    assert!(
        r.subject.contains('\x1b') && r.subject.contains('\x07') && r.subject.contains('\u{202e}')
    );
    assert!(
        !d.log_text.contains('\x1b') && !d.log_text.contains('\x07'),
        "raw control bytes in the log"
    );
    assert!(d.log_text.contains("\\u001b[2J"));
    let files: Vec<&Written> = d
        .written
        .iter()
        .filter(|w| w.message_id == r.message_id)
        .collect();
    assert!(!files.is_empty());
    for w in files {
        let bytes = fs::read(&w.path).unwrap_or_default();
        let needle = "Subject: Invoice \x1b[2J\x1b]0;pwned\x07 overdue \u{202e}fdp.exe\r\n";
        assert!(
            bytes.windows(needle.len()).any(|x| x == needle.as_bytes()),
            "{}",
            w.path.display()
        );
    }
}

/// The campaign's conversation, rebuilt from the files alone: Message-ID -> depth.
fn conversation(d: &Demo) -> BTreeMap<String, usize> {
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in message_files(&d.summary.mail_root) {
        let p = parse(&path);
        parents.entry(p.message_id).or_insert(p.parents);
    }
    let mut depth = BTreeMap::new();
    depth.insert(d.summary.campaign_message_id.clone(), 0);
    for level in 1..10 {
        let frontier: Vec<String> = depth
            .iter()
            .filter(|(_, l)| **l == level - 1)
            .map(|(id, _)| id.clone())
            .collect();
        for (id, ps) in &parents {
            if !depth.contains_key(id) && ps.iter().any(|p| frontier.contains(p)) {
                depth.insert(id.clone(), level);
            }
        }
    }
    depth
}

#[test]
fn campaign_reaches_twenty_recipients_and_spawns_log_less_descendants() {
    let d = demo();
    let Some(root) = d
        .log
        .iter()
        .find(|r| r.message_id == d.summary.campaign_message_id)
    else {
        panic!("campaign not logged");
    };
    assert_eq!(root.disposition.as_deref(), Some("malicious"));
    let recipients = root.recipients();
    assert!(recipients.len() >= 21, "{} recipients", recipients.len());
    let internal: Vec<&String> = recipients
        .iter()
        .filter(|r| r.ends_with("@demo.test"))
        .collect();
    assert!(internal.len() >= 20);
    assert!(
        recipients.iter().any(|r| r.ends_with("@partner.example")),
        "no external recipient"
    );
    let age = now() - root.received_at;
    assert!(
        age >= Duration::hours(24) && age <= Duration::hours(48),
        "{age}"
    );

    // Every internal recipient has a copy; some read, some not.
    let copies: Vec<&Written> = d
        .written
        .iter()
        .filter(|w| w.message_id == root.message_id)
        .collect();
    assert_eq!(copies.len(), internal.len());
    let read = copies
        .iter()
        .filter(|w| w.path.to_string_lossy().ends_with(":2,S"))
        .count();
    assert!(
        read > 0 && read < copies.len(),
        "{read} of {} read",
        copies.len()
    );

    let depth = conversation(&d);
    let max = depth.values().copied().max().unwrap_or(0);
    assert!(max >= 2, "conversation only {max} deep");
    // The scripted shape (see campaign.rs): 4 replies/forwards, then 3, then 1.
    let per_depth: Vec<usize> = (0..=max)
        .map(|l| depth.values().filter(|v| **v == l).count())
        .collect();
    assert_eq!(per_depth, vec![1, 4, 3, 1]);
    let logged: BTreeSet<&str> = d.log.iter().map(|r| r.message_id.as_str()).collect();
    let descendants: Vec<&String> = depth
        .iter()
        .filter(|(_, l)| **l > 0)
        .map(|(id, _)| id)
        .collect();
    assert!(descendants.len() >= 6, "{descendants:?}");
    let log_less: Vec<&&String> = descendants
        .iter()
        .filter(|id| !logged.contains(id.as_str()))
        .collect();
    assert!(log_less.len() >= 3, "log-less: {log_less:?}");
    assert!(
        descendants.iter().any(|id| logged.contains(id.as_str())),
        "no logged descendant"
    );
    assert!(
        depth
            .iter()
            .any(|(id, l)| *l >= 2 && !logged.contains(id.as_str())),
        "no log-less descendant at depth 2 or more"
    );
    // Each log-less descendant is in its sender's Sent folder and some recipient's mailbox.
    for id in log_less {
        let places: Vec<String> = d
            .written
            .iter()
            .filter(|w| &w.message_id == *id)
            .map(|w| w.path.to_string_lossy().into_owned())
            .collect();
        assert!(
            places.iter().any(|p| p.contains("/.Sent/cur/")),
            "{id}: {places:?}"
        );
        assert!(
            places.iter().any(|p| !p.contains("/.Sent/")),
            "{id}: {places:?}"
        );
    }
}

#[test]
fn hold_mailbox_received_the_campaign() {
    let d = demo();
    let Some(root) = d
        .log
        .iter()
        .find(|r| r.message_id == d.summary.campaign_message_id)
    else {
        panic!("campaign not logged");
    };
    assert!(root.recipients().contains(&d.summary.hold_mailbox));
    let local = d.summary.hold_mailbox.split('@').next().unwrap_or_default();
    let hold_dir = d.summary.mail_root.join("demo.test").join(local);
    assert!(
        d.written
            .iter()
            .any(|w| w.message_id == root.message_id && w.path.starts_with(&hold_dir)),
        "no copy of the campaign in {}",
        hold_dir.display()
    );
}

#[test]
fn same_now_gives_the_same_tenant() {
    let a = demo();
    let b = demo();
    assert_eq!(a.log_text, b.log_text);
    assert_eq!(a.summary.campaign_message_id, b.summary.campaign_message_id);
    let rel = |d: &Demo| -> Vec<(PathBuf, Vec<u8>)> {
        files_under(&d.dir)
            .into_iter()
            .map(|p| {
                let content = fs::read(&p).unwrap_or_default();
                (
                    p.strip_prefix(&d.dir).map(Path::to_path_buf).unwrap_or(p),
                    content,
                )
            })
            .collect()
    };
    assert!(rel(&a) == rel(&b), "trees differ");
    let c = demo_at(now() + Duration::hours(1));
    assert_ne!(a.log_text, c.log_text);
}

#[test]
fn generating_twice_into_one_dir_is_refused() {
    let d = demo();
    let before = fs::read_to_string(&d.summary.config_path).unwrap_or_default();
    match generate(&d.dir, now()) {
        Ok(_) => panic!("second generate succeeded"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&d.summary.config_path.display().to_string()),
                "{msg}"
            );
        }
    }
    assert_eq!(
        fs::read_to_string(&d.summary.config_path).unwrap_or_default(),
        before
    );
}

#[test]
fn write_failures_name_the_path() {
    let tmp = temp();
    let blocker = tmp.path().join("not-a-dir");
    if let Err(e) = fs::write(&blocker, b"x") {
        panic!("{e}");
    }
    let dir = blocker.join("demo");
    match generate(&dir, now()) {
        Ok(_) => panic!("generate under a file succeeded"),
        Err(e) => assert!(e.to_string().contains(&dir.display().to_string()), "{e}"),
    }
}
