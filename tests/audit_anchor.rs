//! The anchored audit and signed jobs, with the real binary on real SQLite files: each way of
//! tampering with the store (a cut tail, a rollback to an older copy, truncation to 0 bytes,
//! a consistent rewrite with the triggers dropped) is found by `audit verify`, and a job row
//! edited in the store is refused by the signing worker without touching a mailbox.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const ID: &str = "<anchor-1@bad.example>";
const ID2: &str = "<anchor-2@bad.example>";
const WITNESS_CONFIG: &str = "[audit]\nwitness = \"audit.witness\"\nwitness_every = 2\n";

/// A world whose messages ID and ID2 sit in alice's and bob's INBOX, logged.
fn world() -> World {
    let w = World::new(WITNESS_CONFIG);
    let mut lines = Vec::new();
    for (n, id) in [ID, ID2].into_iter().enumerate() {
        let text = message(
            id,
            "x@bad.example",
            &["alice@corp.test", "bob@corp.test"],
            "Phish",
            None,
        );
        for user in ["alice", "bob", "carol"] {
            w.deliver(
                user,
                "",
                &format!("{n}.M1.{user}"),
                &text,
                false,
                1_795_000_000,
            );
        }
        lines.push(log_line(
            id,
            "x@bad.example",
            &["alice@corp.test", "bob@corp.test"],
            "Phish",
            None,
        ));
    }
    let out = signed(
        &w,
        &w.config(),
        &["ingest", "--format", "jsonl", &write_log(&w, &lines)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w
}

fn write_log(w: &World, lines: &[String]) -> String {
    let file = w.path().join("log.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("log");
    file.to_str().expect("utf-8").to_string()
}

/// Run the binary as the service would: signing with the key in the store's directory.
fn signed(w: &World, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RETRACTOR_SIGN", "1")
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .env_remove("RETRACTOR_CONFIG")
        .env_remove("SSH_CONNECTION")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run retractor")
}

/// `audit verify --json` with `config` (and extra args): exit code and verdict.
fn verify(w: &World, config: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json", "audit", "verify"];
    args.extend_from_slice(extra);
    let out = retractor(Some(config), w.path(), &args);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): exit {code}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// The same world's config without the witness (verification from the store and key alone).
fn config_without_witness(w: &World) -> PathBuf {
    let text = std::fs::read_to_string(w.config()).expect("config");
    let path = w.path().join("no-witness.toml");
    std::fs::write(&path, text.replace(WITNESS_CONFIG, "")).expect("config");
    path
}

fn retract(w: &World, id: &str) {
    let out = signed(
        w,
        &w.config(),
        &["retract", id, "--action", "move-to-junk", "--yes", "--wait"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn db(w: &World) -> PathBuf {
    w.path().join("retractor.db")
}

/// Everything in the WAL written back into the main file, so copying or truncating the file
/// copies or truncates the whole store.
fn checkpoint(w: &World) {
    let conn = rusqlite::Connection::open(db(w)).expect("db");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

fn remove_wal(w: &World) {
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db(w).display()));
    }
}

fn witnessed_seqs(w: &World) -> Vec<i64> {
    std::fs::read_to_string(w.path().join("audit.witness"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("entry")["seq"]
                .as_i64()
                .expect("seq")
        })
        .collect()
}

fn max_seq(w: &World) -> i64 {
    let conn = rusqlite::Connection::open(db(w)).expect("db");
    conn.query_row("SELECT max(seq) FROM audit", [], |r| r.get(0))
        .expect("max")
}

#[test]
fn an_intact_signed_store_verifies_with_and_without_the_witness() {
    let w = world();
    retract(&w, ID);
    let (code, v) = verify(&w, &w.config(), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["signed"], v["records"], "every record is signed: {v}");
    assert!(v["witness_entries"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["contradiction"].is_null(), "{v}");
    // The last record written is witnessed: the process witnesses its head before it exits.
    assert_eq!(witnessed_seqs(&w).last().copied(), Some(max_seq(&w)));
    let (code, v) = verify(&w, &config_without_witness(&w), &[]);
    assert_eq!(
        (code, &v["ok"], &v["witness_entries"]),
        (0, &Value::Bool(true), &Value::from(0)),
        "{v}"
    );
    // Every record says the service wrote it.
    let (_, a) = w.json(&["audit"]);
    for e in a["audit"].as_array().expect("audit") {
        assert_eq!(e["authority"], "service", "{e}");
    }
    // The job carries the service's signature.
    let conn = rusqlite::Connection::open(db(&w)).expect("db");
    let unsigned: i64 = conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE signature IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("jobs");
    assert_eq!(unsigned, 0);
}

#[test]
fn a_tail_deleted_after_a_witnessed_head_is_found() {
    let w = world();
    retract(&w, ID);
    let last = max_seq(&w);
    assert_eq!(witnessed_seqs(&w).last().copied(), Some(last));
    // Cut the last two records and re-point the head: the chain alone is consistent.
    let conn = rusqlite::Connection::open(db(&w)).expect("db");
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_no_delete;
         DELETE FROM audit WHERE seq > {keep};
         UPDATE audit_head SET seq = {keep}, hash = (SELECT hash FROM audit WHERE seq = {keep});",
        keep = last - 2
    ))
    .expect("cut");
    drop(conn);
    let (code, v) = verify(&w, &config_without_witness(&w), &[]);
    assert_eq!(code, 0, "without the witness a cut tail is consistent: {v}");
    let (code, v) = verify(&w, &w.config(), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    let found = v["contradiction"].as_str().expect("contradiction");
    assert!(
        found.contains(&format!("record {last} is missing")),
        "{found}"
    );
}

#[test]
fn a_store_rolled_back_to_an_older_copy_is_found() {
    let w = world();
    retract(&w, ID);
    checkpoint(&w);
    let old = w.path().join("old.db");
    std::fs::copy(db(&w), &old).expect("copy");
    retract(&w, ID2);
    let newest = max_seq(&w);
    assert_eq!(witnessed_seqs(&w).last().copied(), Some(newest));
    std::fs::copy(&old, db(&w)).expect("put back");
    remove_wal(&w);
    let (code, v) = verify(&w, &w.config(), &[]);
    assert_eq!(code, 1, "{v}");
    let found = v["contradiction"].as_str().expect("contradiction");
    assert!(
        found.contains("is missing, though witness entry"),
        "{found}"
    );
    // Offline, on a copy elsewhere: the witness and key given on the command line.
    let copy_dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(&old, copy_dir.path().join("retractor.db")).expect("copy");
    std::fs::write(
        copy_dir.path().join("c.toml"),
        "[store]\npath = \"retractor.db\"\n",
    )
    .expect("config");
    let witness = w.path().join("audit.witness");
    let key = w.path().join("service.pub");
    let (code, v) = verify(
        &w,
        &copy_dir.path().join("c.toml"),
        &[
            "--witness",
            witness.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 1, "{v}");
    assert!(v["contradiction"].as_str().is_some(), "{v}");
}

#[test]
fn a_store_truncated_to_zero_bytes_is_found() {
    let w = world();
    retract(&w, ID);
    checkpoint(&w);
    remove_wal(&w);
    std::fs::OpenOptions::new()
        .write(true)
        .open(db(&w))
        .and_then(|f| f.set_len(0))
        .expect("truncate");
    let (code, v) = verify(&w, &w.config(), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["records"], 0, "{v}");
    let found = v["contradiction"].as_str().expect("contradiction");
    assert!(found.contains("is missing"), "{found}");
    assert_eq!(
        std::fs::metadata(db(&w)).expect("db").len(),
        0,
        "verify wrote nothing"
    );
}

/// The chain hash as the store computes it (the record's fields, its authority).
fn rehash(conn: &rusqlite::Connection, from: i64) {
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, actor, ssh_from, role, action, target, reason, outcome, job, detail,
                    authority FROM audit WHERE seq >= ?1 ORDER BY seq",
        )
        .expect("select");
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<i64>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = stmt
        .query_map([from], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
            ))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut prev: String = conn
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .expect("prev");
    for (seq, at, actor, ssh, role, action, target, reason, outcome, job, detail, authority) in rows
    {
        let fields = (
            seq, &at, &actor, &ssh, &role, &action, &target, &reason, &outcome, job, &detail, &prev,
        );
        let canonical = serde_json::to_string(&(fields, &authority)).expect("json");
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        conn.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, prev, hash],
        )
        .expect("update");
        prev = hash;
    }
    conn.execute("UPDATE audit_head SET hash = ?1", [prev])
        .expect("head");
}

#[test]
fn a_consistent_rewrite_with_the_triggers_dropped_fails_its_signature() {
    let w = world();
    retract(&w, ID);
    let conn = rusqlite::Connection::open(db(&w)).expect("db");
    let victim: i64 = conn
        .query_row(
            "SELECT min(seq) FROM audit WHERE action = 'move-to-junk'",
            [],
            |r| r.get(0),
        )
        .expect("victim");
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = {victim};"
    ))
    .expect("rewrite");
    rehash(&conn, victim);
    drop(conn);
    // The hash chain alone is intact again; the signature is not.
    let (code, v) = verify(&w, &config_without_witness(&w), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_bad"], victim, "{v}");
    let problem = v["problem"].as_str().expect("problem");
    assert!(
        problem.contains("not signed by the service key"),
        "{problem}"
    );
    // Stripping the signatures off the rewritten records is found too.
    let conn = rusqlite::Connection::open(db(&w)).expect("db");
    conn.execute("UPDATE audit SET sig = NULL WHERE seq >= ?1", [victim])
        .expect("strip");
    drop(conn);
    let (code, v) = verify(&w, &config_without_witness(&w), &[]);
    assert_eq!((code, &v["first_bad"]), (1, &Value::from(victim)), "{v}");
    assert!(
        v["problem"]
            .as_str()
            .expect("problem")
            .contains("has no signature"),
        "{v}"
    );
}

fn mail_files(w: &World) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk(&w.path().join("mail"))
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Queue a signed job without running it; its id.
fn queue(w: &World, id: &str) -> i64 {
    let out = signed(
        w,
        &w.config(),
        &["--json", "retract", id, "--action", "move-to-junk", "--yes"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v["id"]
        .as_i64()
        .or_else(|| v["job"]["id"].as_i64())
        .unwrap_or_else(|| panic!("job id in {v}"))
}

#[test]
fn a_job_row_edited_while_no_worker_ran_is_refused_and_nothing_is_touched() {
    let w = world();
    let edited_initiator = queue(&w, ID);
    let edited_target = queue(&w, ID2);
    let conn = rusqlite::Connection::open(db(&w)).expect("db");
    conn.execute(
        "UPDATE jobs SET initiated_by = 'mallory' WHERE id = ?1",
        [edited_initiator],
    )
    .expect("edit job");
    conn.execute(
        "UPDATE items SET mailbox = 'carol@corp.test' WHERE job = ?1 AND mailbox = 'bob@corp.test'",
        [edited_target],
    )
    .expect("edit item");
    drop(conn);
    let before = mail_files(&w);

    let out = signed(&w, &w.config(), &["worker"]);
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mail_files(&w), before, "no mailbox changed");

    let (_, a) = w.json(&["audit"]);
    let records = a["audit"].as_array().expect("audit").clone();
    for (job, what) in [
        (edited_initiator, "initiated_by is \"mallory\""),
        (edited_target, "carol@corp.test"),
    ] {
        let refusal = records
            .iter()
            .find(|e| e["action"] == "job-refused" && e["job"] == job)
            .unwrap_or_else(|| panic!("no job-refused record for job {job}: {records:?}"));
        let detail = refusal["detail"].as_str().expect("detail");
        assert!(detail.contains(what), "{detail}");
        assert_eq!(refusal["target"], format!("job {job}"));
        let (_, j) = w.json(&["jobs", &job.to_string()]);
        let items = j["job"]["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items in {j}"));
        assert!(!items.is_empty());
        for item in items {
            assert_eq!(item["result"], "failed", "{item}");
            assert!(
                item["error"].as_str().unwrap_or("").contains("signature"),
                "{item}"
            );
        }
    }
    // No record of the edited job names the actor the row was edited to.
    assert!(
        records
            .iter()
            .filter(|e| e["job"] == edited_initiator)
            .all(|e| e["actor"] != "mallory"),
        "{records:?}"
    );
    let (code, v) = verify(&w, &w.config(), &[]);
    assert_eq!(
        code, 0,
        "the refusals are part of an intact, signed trail: {v}"
    );
}

/// A config that trusts the retired key at `retired` with these bounds (`None`: none).
fn config_trusting(
    w: &World,
    retired: &Path,
    last_record: Option<i64>,
    last_job: Option<i64>,
) -> PathBuf {
    let mut entry = format!("file = {:?}", retired.display().to_string());
    for (name, bound) in [("last_record", last_record), ("last_job", last_job)] {
        if let Some(n) = bound {
            entry.push_str(&format!(", {name} = {n}"));
        }
    }
    let text = std::fs::read_to_string(w.config()).expect("config");
    let path = w.path().join(format!(
        "trusting-{}-{}.toml",
        last_record.unwrap_or(0),
        last_job.unwrap_or(0)
    ));
    std::fs::write(
        &path,
        format!("{text}\n[service]\ntrusted_keys = [{{ {entry} }}]\n"),
    )
    .expect("config");
    path
}

#[test]
fn after_a_key_change_the_retired_key_is_trusted_for_what_it_signed_and_no_further() {
    let w = world();
    retract(&w, ID);
    // Two jobs signed with the old key and not yet run when the key changes.
    let before_change = queue(&w, ID2);
    let past_bound = queue(&w, ID);
    let old_last = max_seq(&w);
    // The change as the README tells it: keep the old public key, remove the secret one; the
    // next signing process makes a new key.
    let retired = w.path().join("retired-2026-11.pub");
    std::fs::copy(w.path().join("service.pub"), &retired).expect("keep the old key");
    std::fs::remove_file(w.path().join("service.key")).expect("retire the old key");

    // The new key's worker runs the old key's job up to the bound, and refuses the one past it.
    let trusting = config_trusting(&w, &retired, None, Some(before_change));
    let out = signed(&w, &trusting, &["worker"]);
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, j) = w.json(&["jobs", &before_change.to_string()]);
    assert_eq!(
        (&j["job"]["status"], &j["job"]["remediated"]),
        (&Value::from("done"), &Value::from(2)),
        "{j}"
    );
    let (_, a) = w.json(&["audit", "--action", "job-refused"]);
    let refusals = a["audit"].as_array().expect("audit");
    assert_eq!(refusals.len(), 1, "{a}");
    assert_eq!(refusals[0]["job"], past_bound, "{a}");
    let detail = refusals[0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("trusts only up to job {before_change}")),
        "{detail}"
    );

    // Every record verifies: the old key's up to where the change fell, the new key's after.
    let (code, v) = verify(&w, &trusting, &[]);
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");
    assert!(v["witness_entries"].as_u64().unwrap_or(0) > 1, "{v}");
    let by = v["signed_by"].as_array().expect("signed_by");
    assert_eq!(by.len(), 2, "{v}");
    assert_eq!(by[0]["last_record"], old_last, "{v}");
    assert_eq!(by[0]["key"], v["trusted_keys"][0], "{v}");
    assert_eq!(by[1]["key"], v["key"], "{v}");
    assert_eq!(
        by[0]["records"].as_i64().unwrap_or(0) + by[1]["records"].as_i64().unwrap_or(0),
        max_seq(&w),
        "{v}"
    );
    let out = retractor(Some(&trusting), w.path(), &["audit", "verify"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("by retired key"), "{said}");

    // Without the retired key the first old record is the finding; with only the old key, the
    // first new one; the same keys given on the command line verify.
    let plain = config_without_witness(&w);
    let (code, v) = verify(&w, &plain, &[]);
    assert_eq!((code, &v["first_bad"]), (1, &Value::from(1)), "{v}");
    assert!(
        v["problem"]
            .as_str()
            .unwrap_or("")
            .contains("not signed by the service key"),
        "{v}"
    );
    let retired_arg = retired.to_str().expect("utf-8");
    let (code, v) = verify(&w, &plain, &["--key", retired_arg]);
    assert_eq!(
        (code, &v["first_bad"]),
        (1, &Value::from(old_last + 1)),
        "{v}"
    );
    let new_key = w.path().join("service.pub");
    let new_arg = new_key.to_str().expect("utf-8");
    let (code, v) = verify(
        &w,
        &plain,
        &["--key", new_arg, "--trusted-key", retired_arg],
    );
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");

    // Pinned one record short, the old key's last record is refused like a stranger's.
    let pinned = config_trusting(&w, &retired, Some(old_last - 1), None);
    let (code, v) = verify(&w, &pinned, &[]);
    assert_eq!((code, &v["first_bad"]), (1, &Value::from(old_last)), "{v}");
    assert!(
        v["problem"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("trusts only up to record {}", old_last - 1)),
        "{v}"
    );

    // A retired key file others could rewrite is refused, by name, before anything is read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&retired, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let (code, v) = json_error(&retractor(
        Some(&trusting),
        w.path(),
        &["--json", "audit", "verify"],
    ));
    assert_eq!(code, 2, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("writable by group or others"),
        "{v}"
    );
    let out = signed(&w, &trusting, &["worker"]);
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("trusted_keys") && said.contains("writable by group or others"),
        "{said}"
    );
}
