//! Shared helpers for the integration tests: a temporary world (config, Maildir tree, log)
//! and a way to run the real `retractor` binary on it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A temporary directory with a config for one Maildir tenant `corp` (domain corp.test).
pub struct World {
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new(extra_config: &str) -> World {
        World::with_access("default_role = \"admin\"", extra_config)
    }

    /// Like [`World::new`], with this body for the `[access]` table (e.g. `default_role = "viewer"`).
    pub fn with_access(access: &str, extra_config: &str) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!(
            r#"[store]
path = "retractor.db"

[access]
{access}

[engine]
backoff_ms = 20

[tenants.corp]
kind = "maildir"
root = "mail"
domains = ["corp.test"]
quarantine_mailbox = "quarantine@corp.test"
{extra_config}
"#
        );
        fs::create_dir_all(dir.path().join("mail/corp.test")).expect("mail root");
        fs::write(dir.path().join("config.toml"), config).expect("config");
        World { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    pub fn mailbox(&self, user: &str) -> PathBuf {
        self.path().join("mail/corp.test").join(user)
    }

    /// Run the binary with this world's config; stdin is closed (not a terminal).
    pub fn run(&self, args: &[&str]) -> Output {
        retractor(Some(&self.config()), self.path(), args)
    }

    /// Run with `--json`, expecting a failure: the exit code and the JSON error on stderr
    /// (`{"error":{"code","message"}}`); panics when stderr is not that.
    pub fn json_err(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        json_error(&out)
    }

    /// The Maildir tree and the store's jobs and audit, to show a refused or bad command
    /// changed nothing.
    pub fn state(&self) -> WorldState {
        let files = files_under(&self.path().join("mail"));
        let (_, jobs) = self.json(&["jobs"]);
        let (_, audit) = self.json(&["audit"]);
        let audit = audit["audit"].as_array().cloned().unwrap_or_default();
        WorldState {
            files,
            jobs: jobs["jobs"].as_array().map(Vec::len).unwrap_or(usize::MAX),
            // Loading the log (ingest, index) is audited too, but acts on no mailbox.
            audit: audit
                .iter()
                .filter(|a| {
                    a["outcome"] != "refused" && a["action"] != "ingest" && a["action"] != "index"
                })
                .count(),
        }
    }

    /// Run with `--json` and parse stdout; panics with stderr when it is not JSON.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
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

    /// Create empty Maildir++ mailboxes.
    pub fn make_mailboxes(&self, users: &[&str]) {
        for u in users {
            make_maildir(&self.mailbox(u));
        }
    }

    /// Deliver a message file to `user`'s folder (`""` = INBOX); returns its path.
    pub fn deliver(
        &self,
        user: &str,
        folder: &str,
        name: &str,
        text: &str,
        seen: bool,
        mtime: i64,
    ) -> PathBuf {
        let base = if folder.is_empty() {
            self.mailbox(user)
        } else {
            self.mailbox(user).join(format!(".{folder}"))
        };
        make_maildir(&base);
        let path = if seen {
            base.join("cur").join(format!("{name}:2,S"))
        } else {
            base.join("new").join(name)
        };
        fs::write(&path, text).expect("write message");
        filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(mtime, 0))
            .expect("mtime");
        path
    }

    pub fn ingest_lines(&self, lines: &[String]) -> Output {
        let file = self.path().join("log.jsonl");
        fs::write(&file, lines.join("\n")).expect("log");
        self.run(&[
            "ingest",
            "--format",
            "jsonl",
            file.to_str().expect("utf-8 path"),
        ])
    }
}

/// What [`World::state`] compares: message files, job count, audit records of requests and
/// acts (not refusals, not log loads).
#[derive(Debug, PartialEq, Eq)]
pub struct WorldState {
    pub files: Vec<PathBuf>,
    pub jobs: usize,
    pub audit: usize,
}

/// Run the real binary with an optional `--config`, keeping its XDG state and data under
/// `home`; stdin is closed (not a terminal).
pub fn retractor(config: Option<&Path>, home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retractor"));
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run retractor")
}

/// `retractor --json ARGS` with a time limit: a stuck job (a pool that starves, a server that
/// never answers) fails the test instead of hanging CI. `server_log` is added to the panic
/// message when the output is not JSON (the server's side of what went wrong).
#[allow(dead_code)]
pub fn json_within(
    config: &Path,
    home: &Path,
    args: &[&str],
    limit: std::time::Duration,
    server_log: impl Fn() -> String,
) -> (i32, Value) {
    let mut all: Vec<String> = vec!["--json".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    let (config, home) = (config.to_path_buf(), home.to_path_buf());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        let _ = tx.send(retractor(Some(&config), &home, &args));
    });
    let out = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("retractor {args:?} did not finish in {limit:?}"));
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON (exit {code}): {}\nstderr: {}\nserver: {}",
            stdout(&out),
            stderr(&out),
            server_log()
        )
    });
    (code, v)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code and the `{"error":{..}}` object a `--json` run printed on stderr.
pub fn json_error(out: &Output) -> (i32, Value) {
    let code = out.status.code().unwrap_or(-1);
    let text = stderr(out);
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON object ({e}): exit {code}\nstdout: {}\nstderr: {text}",
            stdout(out)
        )
    });
    assert_eq!(v["error"]["code"].as_i64(), Some(i64::from(code)), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    (code, v)
}

/// The OS login the binary will see (roles are keyed by it).
pub fn login() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// Panics unless `v` is an object holding every one of `fields`.
#[track_caller]
pub fn assert_fields(v: &Value, fields: &[&str]) {
    let missing: Vec<&&str> = fields.iter().filter(|f| v.get(**f).is_none()).collect();
    assert!(missing.is_empty(), "missing {missing:?} in {v}");
}

pub fn make_maildir(base: &Path) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(base.join(sub)).expect("maildir");
    }
}

/// A minimal RFC 5322 message.
pub fn message(id: &str, from: &str, to: &[&str], subject: &str, parent: Option<&str>) -> String {
    let mut h = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: {id}\r\n",
        to.join(", ")
    );
    if let Some(p) = parent {
        h.push_str(&format!("In-Reply-To: {p}\r\nReferences: {p}\r\n"));
    }
    h.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n");
    h
}

/// A JSONL log line.
pub fn log_line(id: &str, from: &str, to: &[&str], subject: &str, parent: Option<&str>) -> String {
    serde_json::json!({
        "message_id": id, "from": from, "to": to, "subject": subject,
        "received_at": "2026-11-20T10:00:00Z", "disposition": "malicious",
        "in_reply_to": parent, "references": parent.map(|p| vec![p]).unwrap_or_default(),
    })
    .to_string()
}

/// Every file under `dir` (recursively) whose name contains `needle`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

/// Paths of message files (in cur/ or new/) that contain `needle`.
pub fn copies_of(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let parent = p
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str());
            matches!(parent, Some("cur") | Some("new"))
                && fs::read_to_string(p)
                    .map(|t| t.contains(needle))
                    .unwrap_or(false)
        })
        .collect()
}

/// Wait until `child` (started with `RETRACTOR_TEST_STOP_AT=point`) has stopped itself with
/// SIGSTOP there; kill, reap and fail if it never does (a minute) or exits instead.
#[allow(dead_code)]
pub fn wait_until_stopped(mut child: std::process::Child, point: &str) -> std::process::Child {
    let stat = format!("/proc/{}/stat", child.id());
    let started = std::time::Instant::now();
    loop {
        let state = std::fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().to_string()))
            .and_then(|r| r.chars().next());
        if state == Some('T') {
            return child;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) || state == Some('Z') {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the worker never reached {point} (state {state:?})");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
