//! `evidence` (fields, inert text, the export package and its audit) and sweeps by
//! indicator, on Maildir and on a real Dovecot. The messages are tests/fixtures/forensics
//! (written for the tests by make.py there): the phish, a security warning that names every
//! indicator in its text, and a look-alike from a neighbouring domain.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/tls.rs"]
mod tls;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::*;
use dovecot::{Dovecot, Options};
use serde_json::Value;
use sha2::{Digest, Sha256};

const PHISH_ID: &str = "<phish-2026-12-01@evil-bank.example>";
const EXE_SHA: &str = "9391274a45aba3235700c29c4da549884dd3d227b11cf35cd39a8914d27fc8e2";

fn fixture(name: &str) -> String {
    fs::read_to_string(format!(
        "{}/tests/fixtures/forensics/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Every indicator flag with a value that names the phish and nothing else.
fn indicator_sweeps() -> Vec<[&'static str; 2]> {
    vec![
        [
            "--url",
            "https://login.evil-bank.example/reset?id=42&u=alice",
        ],
        ["--url-domain", "evil-bank.example"],
        ["--sender-domain", "evil-bank.example"],
        ["--attachment-sha256", EXE_SHA],
        ["--attachment-name", "invoice.pdf.exe"],
    ]
}

/// alice and bob got the phish; alice the warning, bob the look-alike. The phish is logged.
fn world() -> World {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    w.deliver(
        "alice",
        "",
        "1.M1.host",
        &fixture("phish.eml"),
        false,
        1_796_119_200,
    );
    w.deliver(
        "bob",
        "",
        "2.M1.host",
        &fixture("phish.eml"),
        true,
        1_796_119_200,
    );
    w.deliver(
        "alice",
        "",
        "3.M1.host",
        &fixture("newsletter.eml"),
        false,
        1_796_122_800,
    );
    w.deliver(
        "bob",
        "",
        "4.M1.host",
        &fixture("lookalike.eml"),
        false,
        1_796_121_000,
    );
    let out = w.ingest_lines(&[log_line(
        PHISH_ID,
        "support@evil-bank.example",
        &["alice@corp.test", "bob@corp.test"],
        "Your mailbox is full",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

fn planned(w: &World, flag: [&str; 2], tenant_args: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["sweep", "--tenant", "corp", flag[0], flag[1]];
    args.extend_from_slice(tenant_args);
    args.extend_from_slice(&["--action", "quarantine", "--dry-run"]);
    let (code, plan) = w.json(&args);
    assert_eq!(code, 0, "{flag:?}: {plan}");
    let mut items: Vec<(String, String)> = plan["plan"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["mailbox"].as_str().unwrap_or_default().to_string(),
                i["message_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    items.sort();
    items
}

fn phish_in_both() -> Vec<(String, String)> {
    vec![
        ("alice@corp.test".into(), PHISH_ID.into()),
        ("bob@corp.test".into(), PHISH_ID.into()),
    ]
}

#[test]
fn maildir_sweeps_by_each_indicator_find_exactly_the_phish() {
    let w = world();
    for flag in indicator_sweeps() {
        assert_eq!(planned(&w, flag, &[]), phish_in_both(), "{flag:?}");
    }
    // A look-alike value finds only the look-alike.
    assert_eq!(
        planned(&w, ["--sender-domain", "notevil-bank.example"], &[]),
        vec![(
            "bob@corp.test".to_string(),
            "<lookalike-2026-12-01@notevil-bank.example>".to_string()
        )]
    );
    // A bad indicator is bad input naming its flag, before any mailbox is read.
    let (code, e) = w.json_err(&[
        "sweep",
        "--tenant",
        "corp",
        "--attachment-sha256",
        "abc",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert_eq!(code, 2, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--attachment-sha256"),
        "{e}"
    );
}

#[test]
fn imap_sweeps_by_each_indicator_find_exactly_the_phish_on_dovecot() {
    let server = Dovecot::start(
        &["alice@corp.test", "bob@corp.test", "quarantine@corp.test"],
        Options::default(),
    );
    let date = "01-Dec-2026 10:00:07 +0000";
    for (user, files) in [
        ("alice@corp.test", ["phish.eml", "newsletter.eml"]),
        ("bob@corp.test", ["phish.eml", "lookalike.eml"]),
    ] {
        let mut c = server.client(user);
        for f in files {
            c.append("INBOX", "", date, &fixture(f));
        }
    }
    let w = World::new("");
    let config = format!(
        "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n\
         [tenants.corp]\nkind = \"imap\"\ndomains = [\"corp.test\"]\n\
         mailboxes = [\"alice@corp.test\", \"bob@corp.test\"]\n\
         quarantine_mailbox = \"quarantine@corp.test\"\n{}",
        server.tenant_keys(w.path(), dovecot::ADMIN_PASSWORD)
    );
    fs::write(w.config(), config).expect("config");
    for flag in indicator_sweeps() {
        assert_eq!(
            planned(&w, flag, &[]),
            phish_in_both(),
            "{flag:?}\n{}",
            server.log()
        );
    }
    // The warning names the phish's host in its text, so the server's BODY search returns
    // it too; only the parsed message decides, and it is not a link there.
    assert_eq!(
        planned(&w, ["--url-domain", "notevil-bank.example"], &[]),
        vec![(
            "bob@corp.test".to_string(),
            "<lookalike-2026-12-01@notevil-bank.example>".to_string()
        )]
    );
}

#[test]
fn evidence_shows_the_copys_fields_and_keeps_attacker_text_inert() {
    let w = world();
    let (code, v) = w.json(&["evidence", PHISH_ID]);
    assert_eq!(code, 0, "{v}");
    let e = &v["evidence"];
    assert_eq!(e["message_id"], PHISH_ID);
    assert_eq!(e["source"]["kind"], "mailbox");
    assert_eq!(e["source"]["mailbox"], "alice@corp.test");
    assert_eq!(e["auth"]["spf"], "pass");
    assert_eq!(e["auth"]["dkim"], "fail");
    assert_eq!(e["auth"]["dmarc"], "fail");
    assert_eq!(e["auth"]["arc"], "none");
    let route = e["route"].as_array().expect("route");
    assert_eq!(route.len(), 3);
    assert_eq!(route[1]["address"], "203.0.113.7");
    assert_eq!(route[1]["delay_secs"], 7);
    assert_eq!(e["urls"][0]["domain"], "login.evil-bank.example");
    assert_eq!(
        e["attachments"][0]["nested"][0]["sha256"], EXE_SHA,
        "{}",
        e["attachments"]
    );
    let raw = fs::read(w.mailbox("alice").join("new/1.M1.host")).expect("copy");
    assert_eq!(e["sha256"], hex::encode(Sha256::digest(&raw)));
    let out = w.run(&["--json", "evidence", PHISH_ID]);
    assert!(!out.stdout.contains(&0x1b), "no raw ESC in JSON output");

    let out = w.run(&["evidence", PHISH_ID]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "inert text"
    );
    let text = stdout(&out);
    assert!(
        text.contains("\\x1b[2J"),
        "the escape shows as text: {text}"
    );
    assert!(
        text.contains("hxxps://login[.]evil-bank[.]example/reset"),
        "{text}"
    );
    assert!(
        !text.contains("https://login.evil-bank.example"),
        "never clickable: {text}"
    );
    assert!(text.contains("declared and detected differ"), "{text}");
}

fn manifest_checks(files: &[(String, Vec<u8>)]) -> Value {
    let manifest: Value = serde_json::from_slice(
        &files
            .iter()
            .find(|(n, _)| n == "manifest.json")
            .expect("manifest")
            .1,
    )
    .expect("manifest json");
    for entry in manifest["files"].as_array().expect("files") {
        let name = entry["name"].as_str().expect("name");
        let bytes = &files.iter().find(|(n, _)| n == name).expect(name).1;
        assert_eq!(
            entry["sha256"],
            hex::encode(Sha256::digest(bytes)),
            "{name}"
        );
        assert_eq!(entry["size"], bytes.len(), "{name}");
    }
    assert_eq!(manifest["exported_by"], login());
    assert_eq!(manifest["message_id"], PHISH_ID);
    manifest
}

#[test]
fn an_export_is_private_hashed_audited_and_never_overwrites() {
    let w = world();
    let raw = fs::read(w.mailbox("alice").join("new/1.M1.host")).expect("copy");

    let dir = w.path().join("case-17");
    let out = w.run(&["evidence", PHISH_ID, "--export", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut files = Vec::new();
    for name in ["message.eml", "evidence.json", "manifest.json"] {
        let p = dir.join(name);
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{name}"
        );
        files.push((name.to_string(), fs::read(&p).unwrap()));
    }
    assert_eq!(files[0].1, raw, "the EML is the copy's exact bytes");
    let manifest = manifest_checks(&files);
    assert_eq!(
        manifest["files"][0]["sha256"],
        hex::encode(Sha256::digest(&raw))
    );

    let zip_path = w.path().join("case-17.zip");
    let out = w.run(&["evidence", PHISH_ID, "--export", zip_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(&zip_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut zip = zip::ZipArchive::new(fs::File::open(&zip_path).unwrap()).unwrap();
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
        files.push((f.name().unwrap().to_string(), bytes));
    }
    assert_eq!(files.len(), 3);
    manifest_checks(&files);

    // Both exports are in the audit, naming the copy's hash and where it went.
    let (_, audit) = w.json(&["audit"]);
    let exports: Vec<&Value> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "evidence-export")
        .collect();
    assert_eq!(exports.len(), 2, "{audit}");
    let detail = exports[1]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&hex::encode(Sha256::digest(&raw))),
        "{detail}"
    );
    assert!(detail.contains("case-17.zip"), "{detail}");

    // Taken names, a link among them, are refused and left as they were.
    let link = w.path().join("link.zip");
    std::os::unix::fs::symlink(w.path().join("elsewhere.zip"), &link).unwrap();
    for taken in [&dir, &zip_path, &link] {
        let before = fs::symlink_metadata(taken).unwrap().modified().unwrap();
        let (code, e) = w.json_err(&["evidence", PHISH_ID, "--export", taken.to_str().unwrap()]);
        assert_eq!(code, 2, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already exists"),
            "{e}"
        );
        assert_eq!(
            fs::symlink_metadata(taken).unwrap().modified().unwrap(),
            before
        );
    }
    assert!(!w.path().join("elsewhere.zip").exists());
    let (_, audit) = w.json(&["audit"]);
    let count = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "evidence-export")
        .count();
    assert_eq!(count, 2, "a refused name is no export");
}

#[test]
fn once_pulled_the_evidence_comes_from_the_quarantine_then_the_evidence_store() {
    let w = world();
    let out = w.run(&[
        "retract",
        PHISH_ID,
        "--action",
        "quarantine",
        "--yes",
        "--wait",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, v) = w.json(&["evidence", PHISH_ID]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["evidence"]["source"]["kind"], "quarantine",
        "{}",
        v["evidence"]["source"]
    );
    assert_eq!(v["evidence"]["source"]["mailbox"], "quarantine@corp.test");

    let out = w.run(&[
        "retract",
        PHISH_ID,
        "--action",
        "hard-delete",
        "--yes",
        "--wait",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(copies_of(&w.path().join("mail"), "phish-2026-12-01").is_empty());
    let (code, v) = w.json(&["evidence", PHISH_ID]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["evidence"]["source"]["kind"], "evidence-store",
        "{}",
        v["evidence"]["source"]
    );
    assert_eq!(
        v["evidence"]["attachments"][0]["nested"][0]["sha256"],
        EXE_SHA
    );
}
