//! The Maildir backend run as root over a tree whose insides the mailbox owners control:
//! links planted at every level, a directory swapped for a link during a job, a FIFO where
//! a message was, a mailbox that is another mailbox. Nothing outside the tree may change,
//! no user's copy may land in another user's mailbox, nothing may hang, and the items and
//! `check` name the unsafe layout.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const PHISH: &str = "<phish-9@bad.example>";
const T0: i64 = 1_795_000_000;
/// Long enough for a healthy run on a loaded two-core machine; a hang is far longer.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The phish as delivered to `owner`: the `X-Owner` line tells whose copy a file is.
fn phish_for(owner: &str) -> String {
    message(
        PHISH,
        "Payroll <hr@bad.example>",
        &[&format!("{owner}@corp.test")],
        "Payroll update",
        None,
    )
    .replacen(
        "MIME-Version",
        &format!("X-Owner: {owner}\r\nMIME-Version"),
        1,
    )
}

fn log_for(users: &[String]) -> String {
    let to: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    log_line(PHISH, "hr@bad.example", &to, "Payroll update", None)
}

/// Paths, types, modes, owners, sizes and content hashes of everything under `dir`,
/// links not followed.
fn digest(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let kind = meta.file_type();
            let what = if kind.is_symlink() {
                format!(
                    "link -> {}",
                    fs::read_link(&path).expect("readlink").display()
                )
            } else if kind.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if kind.is_file() {
                let bytes = fs::read(&path).expect("read");
                format!("file {}", hex(&Sha256::digest(&bytes)))
            } else {
                "special".to_string()
            };
            let rel = path.strip_prefix(dir).expect("under dir").to_path_buf();
            let line = format!(
                "{what} mode={:o} uid={} gid={} size={}",
                meta.mode(),
                meta.uid(),
                meta.gid(),
                if kind.is_dir() { 0 } else { meta.len() }
            );
            out.insert(rel, line);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every message file (in `cur/` or `new/`, links not followed) under `dir` with the owner
/// its `X-Owner` line names.
fn owners_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let text = fs::read_to_string(&path).unwrap_or_default();
                if let Some(line) = text.lines().find(|l| l.starts_with("X-Owner: ")) {
                    out.push((path.clone(), line["X-Owner: ".len()..].trim().to_string()));
                }
            }
        }
    }
    out
}

/// Panics unless every copy in a user's mailbox is that user's own, and every copy in the
/// quarantine mailbox sits in the folder of the user it belongs to.
fn assert_no_copy_crossed(w: &World) {
    let tree = w.path().join("mail/corp.test");
    for (path, owner) in owners_under(&tree) {
        let rel = path.strip_prefix(&tree).expect("in tree");
        let mailbox = rel.components().next().expect("mailbox");
        let mailbox = mailbox.as_os_str().to_string_lossy();
        if mailbox == "quarantine" {
            let folder = rel.components().nth(1).expect("folder");
            let folder = folder.as_os_str().to_string_lossy();
            assert_eq!(
                folder,
                format!(".Quarantine.{owner}@corp=2Etest"),
                "{owner}'s copy in quarantine folder {folder}"
            );
        } else {
            assert_eq!(mailbox, owner, "{owner}'s copy in {}", rel.display());
        }
    }
}

/// Run the binary with `--json`, killing it and failing the test when it does not finish
/// within [`RUN_LIMIT`]: a hang must fail, not block CI.
fn json_within(w: &World, args: &[&str]) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retractor"));
    cmd.arg("--config")
        .arg(w.config())
        .arg("--json")
        .args(args)
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .env("XDG_CONFIG_HOME", w.path().join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn retractor");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("retractor {args:?} hung for {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}) from {args:?}: exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn item_of<'a>(items: &'a [Value], user: &str) -> &'a Value {
    let address = format!("{user}@corp.test");
    items
        .iter()
        .find(|i| i["mailbox"] == address.as_str())
        .unwrap_or_else(|| panic!("no item for {address} in {items:?}"))
}

fn check_detail(w: &World) -> String {
    let (_, v) = json_within(w, &["check"]);
    v["tenants"][0]["detail"].as_str().unwrap_or("").to_string()
}

/// A world with `users` mailboxes, each holding its own copy of the phish in INBOX, the
/// phish logged to all of them, and a directory `outside` (not in the tree) with a maildir
/// of its own, a copy of the phish and a secret.
fn world_of(users: &[String]) -> World {
    let w = World::new("");
    let mut all: Vec<&str> = users.iter().map(String::as_str).collect();
    all.push("quarantine");
    w.make_mailboxes(&all);
    for (n, user) in users.iter().enumerate() {
        w.deliver(
            user,
            "",
            &format!("{}.M{n}.host", T0),
            &phish_for(user),
            true,
            T0,
        );
    }
    let outside = w.path().join("outside");
    make_maildir(&outside.join("box"));
    make_maildir(&outside.join("junk"));
    fs::write(outside.join("box/cur/1.M1.out:2,S"), phish_for("outsider")).expect("write");
    fs::write(outside.join("secret"), phish_for("secret")).expect("write");
    let out = w.ingest_lines(&[log_for(users)]);
    assert!(out.status.success(), "ingest: {}", stderr(&out));
    w
}

fn users(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn links_planted_at_every_level_are_refused_and_change_nothing_outside() {
    let names = users(&[
        "alice",
        "bob",
        "linkbox",
        "linkpeer",
        "linkjunk",
        "linkcur",
        "linknew",
        "linktmp",
        "linkfile",
        "linkqueue",
    ]);
    let w = world_of(&names);
    let outside = w.path().join("outside");
    let mb = |u: &str| w.mailbox(u);
    // The mailbox directory itself: into a maildir outside the tree, and into bob's.
    fs::remove_dir_all(mb("linkbox")).expect("rm");
    symlink(outside.join("box"), mb("linkbox")).expect("symlink");
    fs::remove_dir_all(mb("linkpeer")).expect("rm");
    symlink(mb("bob"), mb("linkpeer")).expect("symlink");
    // A folder that the act moves into, and cur/ new/ tmp/.
    symlink(outside.join("junk"), mb("linkjunk").join(".Junk")).expect("symlink");
    let cur_copy = fs::read_dir(mb("linkcur").join("cur"))
        .expect("cur")
        .next()
        .expect("copy")
        .expect("entry")
        .file_name();
    fs::rename(
        mb("linkcur").join("cur").join(&cur_copy),
        outside.join("box/cur").join(&cur_copy),
    )
    .expect("move");
    fs::remove_dir_all(mb("linkcur").join("cur")).expect("rm");
    symlink(outside.join("box/cur"), mb("linkcur").join("cur")).expect("symlink");
    fs::remove_dir_all(mb("linknew").join("new")).expect("rm");
    symlink(mb("bob").join("new"), mb("linknew").join("new")).expect("symlink");
    make_maildir(&mb("linktmp").join(".Junk"));
    fs::remove_dir_all(mb("linktmp").join(".Junk/tmp")).expect("rm");
    symlink(outside.join("junk/tmp"), mb("linktmp").join(".Junk/tmp")).expect("symlink");
    // A message file that is a link to a file outside (which holds the phish).
    symlink(
        outside.join("secret"),
        mb("linkfile").join("cur/1.M9.link:2,S"),
    )
    .expect("symlink");
    // The quarantine mailbox's folder for one recipient, planted by someone with access.
    make_maildir(&mb("quarantine").join(".Quarantine"));
    symlink(
        outside.join("junk"),
        mb("quarantine").join(".Quarantine.linkqueue@corp=2Etest"),
    )
    .expect("symlink");

    let outside_before = digest(&outside);
    let bob_before = digest(&mb("bob"));

    let (code, junked) = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
    );
    assert_ne!(code, 0, "{junked}");
    let junked = items(&junked);
    let (_, quarantined) = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "quarantine",
            "--yes",
            "--wait",
        ],
    );
    let quarantined = items(&quarantined);

    assert_eq!(digest(&outside), outside_before, "outside the tree changed");
    assert_no_copy_crossed(&w);
    for honest in ["alice", "linkfile"] {
        assert_eq!(item_of(&junked, honest)["result"], "remediated");
        assert_eq!(item_of(&quarantined, honest)["result"], "remediated");
    }
    // bob's own items act on bob's copy; nobody else's item touched it.
    assert_eq!(
        item_of(&junked, "bob")["result"],
        "remediated",
        "{junked:?}"
    );
    assert_ne!(digest(&mb("bob")), bob_before);
    let expect_unsafe = |items: &[Value], user: &str, rel: &str| {
        let item = item_of(items, user);
        let error = item["error"].as_str().unwrap_or("");
        assert!(
            error.contains("unsafe layout") && error.contains(rel),
            "{user}: {item}"
        );
        // Named as what it is (not retried, not a bug of ours).
        assert!(error.starts_with("invalid: "), "{user}: {item}");
        assert_ne!(item["result"], "remediated", "{item}");
    };
    expect_unsafe(&junked, "linkbox", "corp.test/linkbox");
    expect_unsafe(&junked, "linkpeer", "corp.test/linkpeer");
    expect_unsafe(&junked, "linkjunk", "corp.test/linkjunk/.Junk");
    expect_unsafe(&junked, "linkcur", "corp.test/linkcur/cur");
    expect_unsafe(&junked, "linknew", "corp.test/linknew/new");
    expect_unsafe(&junked, "linktmp", "corp.test/linktmp/.Junk/tmp");
    expect_unsafe(
        &quarantined,
        "linkqueue",
        "Quarantine.linkqueue@corp=2Etest",
    );
    // The linked message file is never taken for the copy; the real one is moved.
    assert!(mb("linkfile").join("cur/1.M9.link:2,S").is_symlink());

    let detail = check_detail(&w);
    for rel in [
        "corp.test/linkbox",
        "corp.test/linkpeer",
        "corp.test/linkjunk/.Junk",
        "corp.test/linkcur/cur",
        "corp.test/linknew/new",
        "corp.test/linktmp/.Junk/tmp",
        "corp.test/linkfile/cur/1.M9.link:2,S",
    ] {
        assert!(
            detail.contains(&format!("unsafe layout {rel}")),
            "{rel} in {detail}"
        );
    }
}

#[test]
fn a_domain_directory_that_is_a_link_is_refused() {
    let w = World::new("");
    let outside = w.path().join("outside");
    make_maildir(&outside.join("corp.test/eve"));
    fs::write(
        outside.join("corp.test/eve/cur/1.M1.x:2,S"),
        phish_for("eve"),
    )
    .expect("write");
    fs::remove_dir_all(w.path().join("mail/corp.test")).expect("rm");
    symlink(outside.join("corp.test"), w.path().join("mail/corp.test")).expect("symlink");
    let out = w.ingest_lines(&[log_for(&users(&["eve"]))]);
    assert!(out.status.success(), "ingest: {}", stderr(&out));
    let before = digest(&outside);

    let (_, job) = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "hard-delete",
            "--yes",
            "--wait",
        ],
    );

    assert_eq!(digest(&outside), before);
    let item = item_of(&items(&job), "eve").clone();
    assert!(
        item["error"]
            .as_str()
            .is_some_and(|e| e.contains("unsafe layout") && e.contains("corp.test")),
        "{item}"
    );
    assert!(check_detail(&w).contains("unsafe layout corp.test"));
}

/// Unmounts on drop, so that a failing test leaves no bind mount behind.
struct BindMount(PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mailbox_that_is_another_mailbox_is_refused() {
    let w = world_of(&users(&["bob", "mallory"]));
    let target = w.mailbox("mallory");
    let status = Command::new("mount")
        .arg("--bind")
        .arg(w.mailbox("bob"))
        .arg(&target)
        .status()
        .expect("mount");
    assert!(status.success(), "bind mount (the tests run as root)");
    let _mount = BindMount(target);
    let bob_before = digest(&w.mailbox("bob"));

    let (_, job) = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "hard-delete",
            "--recipient",
            "mallory@corp.test",
            "--yes",
            "--wait",
        ],
    );

    assert_eq!(
        digest(&w.mailbox("bob")),
        bob_before,
        "bob's copy was acted on"
    );
    let item = item_of(&items(&job), "mallory").clone();
    let error = item["error"].as_str().unwrap_or("");
    assert!(
        error.contains("unsafe layout") && error.contains("corp.test/bob"),
        "{item}"
    );
    assert!(check_detail(&w).contains("is the same directory as"));
}

/// Flips `dir` between the real directory and a link to `link_to`, as fast as it can, until
/// `stop`. Errors are expected (the backend may create the directory in the gap).
fn swapper(pairs: Vec<(PathBuf, PathBuf)>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut swaps = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for (dir, link_to) in &pairs {
                let aside = dir.with_extension("real");
                let _ = fs::rename(dir, &aside);
                let _ = symlink(link_to, dir);
                std::thread::yield_now();
                let _ = fs::remove_file(dir);
                let _ = fs::rename(&aside, dir);
                swaps += 1;
            }
        }
        swaps
    })
}

#[test]
fn a_folder_swapped_for_a_link_during_a_job_redirects_nothing() {
    let mut names: Vec<String> = (0..300).map(|n| format!("user{n:03}")).collect();
    names.push("bob".into());
    let w = world_of(&names);
    let outside = w.path().join("outside");
    make_maildir(&w.mailbox("bob").join(".Junk"));
    // Every tenth mailbox flips its Junk folder (or its INBOX's cur/) to a link, half
    // pointing outside the tree, half into bob's mailbox.
    let mut pairs = Vec::new();
    for (n, user) in names.iter().enumerate().filter(|(n, _)| n % 10 == 0) {
        let junk = w.mailbox(user).join(".Junk");
        make_maildir(&junk);
        fs::write(junk.join("maildirfolder"), b"").expect("marker");
        let link_to = if n % 20 == 0 {
            outside.join("junk")
        } else {
            w.mailbox("bob").join(".Junk")
        };
        pairs.push((junk, link_to));
    }
    let outside_before = digest(&outside);
    let stop = Arc::new(AtomicBool::new(false));
    let swapping = swapper(pairs.clone(), Arc::clone(&stop));

    let (_, job) = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
    );

    stop.store(true, Ordering::Relaxed);
    let swaps = swapping.join().expect("swapper");
    assert!(swaps > 0);
    // Leave every swapped folder a real directory again before looking.
    for (dir, _) in &pairs {
        if dir.is_symlink() {
            fs::remove_file(dir).expect("unlink");
        }
        // The backend may have made a fresh folder in a gap; then both stay (in the same
        // mailbox, which is all the checks below care about).
        let _ = fs::rename(dir.with_extension("real"), dir);
    }
    assert_eq!(digest(&outside), outside_before, "outside the tree changed");
    assert_no_copy_crossed(&w);
    let items = items(&job);
    assert_eq!(items.len(), names.len());
    let unsafe_count = items
        .iter()
        .filter(|i| {
            i["error"]
                .as_str()
                .is_some_and(|e| e.contains("unsafe layout"))
        })
        .count();
    eprintln!("{swaps} swaps; {unsafe_count} item(s) refused as unsafe");
}

#[test]
fn a_fifo_where_a_message_was_hangs_nothing() {
    let names: Vec<String> = (0..10).map(|n| format!("user{n:02}")).collect();
    let w = world_of(&names);
    // Every mailbox gets a FIFO under a message's name, and files that a loop keeps
    // replacing by a FIFO and back: a reader that checked a name first and opened it next
    // blocks on the FIFO forever. Filler messages widen that gap, as a big folder does.
    let mut flipping = Vec::new();
    for user in &names {
        let cur = w.mailbox(user).join("cur");
        mkfifo(&cur.join("9.M9.fifo:2,S"));
        for n in 0..100 {
            let filler = message(&format!("<f{n}@x>"), "a@b", &["c@d"], "other", None);
            fs::write(cur.join(format!("5{n:03}.M5.fill:2,S")), filler).expect("write");
        }
        for n in 0..3 {
            let path = cur.join(format!("7{n}.M7.flip:2,S"));
            fs::write(&path, phish_for(user)).expect("write");
            flipping.push(path);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for path in &flipping {
                    let aside = path.with_extension("aside");
                    let fifo = path.with_extension("fifo");
                    let _ = fs::rename(path, &aside);
                    mkfifo(&fifo);
                    let _ = fs::rename(&fifo, path);
                }
                std::thread::sleep(Duration::from_micros(300));
                for path in &flipping {
                    let _ = fs::rename(path.with_extension("aside"), path);
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        })
    };

    let index = json_within(&w, &["index", "--tenant", "corp"]);
    let sweep = json_within(
        &w,
        &[
            "sweep",
            "--tenant",
            "corp",
            "--subject",
            "Payroll",
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
    );
    let retract = json_within(
        &w,
        &[
            "retract",
            PHISH,
            "--action",
            "hard-delete",
            "--yes",
            "--wait",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    flipper.join().expect("flipper");
    let detail = check_detail(&w);

    assert_eq!(index.0, 0, "{}", index.1);
    assert!(sweep.0 == 0 || sweep.0 == 3, "{}", sweep.1);
    assert!(retract.0 == 0 || retract.0 == 3, "{}", retract.1);
    assert!(
        detail.contains("unsafe layout corp.test/user00/cur/9.M9.fifo:2,S: is a FIFO"),
        "{detail}"
    );
}

/// Create a FIFO at `path`; an existing entry there is left alone (the flip loop races).
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path that outlives the call.
    unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
}
