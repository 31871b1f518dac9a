//! A host set up for `retractor serve` as the README says, shared by the service's tests:
//! the service account, the SOC group and four analysts; a 0700 state directory with a
//! Maildir tenant and a logged phish; a root-owned config; the service started as its account.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copies_of, log_line, make_maildir, message};

pub const SVC: &str = "retractor-svc";
pub const VIEWER: &str = "rsvc-viewer";
pub const RESPONDER: &str = "rsvc-responder";
/// Two more analysts, for four-eyes: one asks, the other decides.
pub const REQUESTER: &str = "rsvc-requester";
pub const APPROVER: &str = "rsvc-approver";
pub const SOC: &str = "rsvc-soc";
pub const ID: &str = "<svc-phish@bad.example>";
pub const BIN: &str = env!("CARGO_BIN_EXE_retractor");

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The CLI as the service account with `flag PLACE` (`--connect SOCKET` or `--config FILE`),
/// its XDG state inside `state`: one host's service, embedded or through its socket.
pub fn service_cli(flag: &str, place: &Path, state: &Path, args: &[&str]) -> Output {
    run(Command::new("runuser")
        .args(["-u", SVC, "--", BIN, flag])
        .arg(place)
        .args(args)
        .env("XDG_STATE_HOME", state.join("xdg")))
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

/// The service account, the SOC group and four analysts in it (created once, kept: accounts
/// are host state that other runs reuse).
pub fn accounts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        run(Command::new("groupadd").args(["-f", SOC]));
        for (user, groups) in [
            (SVC, None),
            (VIEWER, Some(SOC)),
            (RESPONDER, Some(SOC)),
            (REQUESTER, Some(SOC)),
            (APPROVER, Some(SOC)),
        ] {
            if run(Command::new("id").arg(user)).status.success() {
                continue;
            }
            let mut cmd = Command::new("useradd");
            cmd.args(["-M", "-s", "/usr/sbin/nologin"]);
            if let Some(g) = groups {
                cmd.args(["-G", g]);
            }
            let out = run(cmd.arg(user));
            assert!(out.status.success(), "useradd {user}: {out:?}");
        }
        // The service may give its socket only a group it is in (README, step 2).
        run(Command::new("usermod").args(["-aG", SOC, SVC]));
    });
}

/// A host set up as the README says: state 0700 owned by the service, config root:svc 0640.
pub struct Site {
    pub base: tempfile::TempDir,
    pub mailboxes: Vec<String>,
}

impl Site {
    pub fn new(mailboxes: usize, roles: &str) -> Site {
        accounts();
        let base = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let site = Site {
            base,
            mailboxes: (0..mailboxes).map(|n| format!("user{n:05}")).collect(),
        };
        std::fs::create_dir_all(site.state().join("mail/corp.test")).expect("mail");
        std::fs::create_dir_all(site.path().join("etc")).expect("etc");
        let text = message(ID, "x@bad.example", &["all@corp.test"], "Phish", None);
        for (n, u) in site.mailboxes.iter().enumerate() {
            let inbox = site.state().join("mail/corp.test").join(u);
            make_maildir(&inbox);
            std::fs::write(inbox.join("new").join(format!("{n}.M1.host")), &text).expect("deliver");
        }
        site.write_config(roles);
        // The runtime directory, as systemd's RuntimeDirectory= makes it: the service's, 0755.
        let run_dir = site.path().join("run");
        std::fs::create_dir_all(&run_dir).expect("run dir");
        run(Command::new("chown")
            .arg(format!("{SVC}:{SVC}"))
            .arg(&run_dir));
        let recipients: Vec<String> = site
            .mailboxes
            .iter()
            .map(|u| format!("{u}@corp.test"))
            .collect();
        let refs: Vec<&str> = recipients.iter().map(String::as_str).collect();
        let log = site.state().join("log.jsonl");
        std::fs::write(&log, log_line(ID, "x@bad.example", &refs, "Phish", None)).expect("log");
        let out = run(Command::new("chown")
            .args(["-R", &format!("{SVC}:{SVC}")])
            .arg(site.state()));
        assert!(out.status.success());
        std::fs::set_permissions(site.state(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let out = site.as_service(&["ingest", "--format", "jsonl", log.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "ingest: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        site
    }

    pub fn path(&self) -> &Path {
        self.base.path()
    }
    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }
    pub fn config(&self) -> PathBuf {
        self.path().join("etc/config.toml")
    }
    pub fn socket(&self) -> PathBuf {
        self.path().join("run/retractor.sock")
    }
    pub fn store(&self) -> PathBuf {
        self.state().join("retractor.db")
    }

    /// The config, root-owned and readable by the service's group only. `roles`: extra
    /// entries of `[access] roles` (everyone else is a viewer; the service account is admin,
    /// as it queues the tests' jobs with the embedded CLI).
    pub fn write_config(&self, roles: &str) {
        self.write_config_with(roles, "");
    }

    /// [`Site::write_config`] with `extra` tables appended (`[submissions]`).
    pub fn write_config_with(&self, roles: &str, extra: &str) {
        let access = format!("default_role = \"viewer\"\nroles = {{ {SVC} = \"admin\"{roles} }}");
        let text = format!(
            "[store]\npath = \"{store}\"\n\n[access]\n{access}\n\n[engine]\nbackoff_ms = 20\n\n\
             [service]\nsocket = \"{socket}\"\ngroup = \"{SOC}\"\n\n\
             [tenants.corp]\nkind = \"maildir\"\nroot = \"{mail}\"\ndomains = [\"corp.test\"]\n{extra}",
            store = self.store().display(),
            socket = self.socket().display(),
            mail = self.state().join("mail").display(),
        );
        let tmp = self.path().join("etc/config.toml.new");
        std::fs::write(&tmp, text).expect("config");
        run(Command::new("chown").arg(format!("root:{SVC}")).arg(&tmp));
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        std::fs::rename(&tmp, self.config()).expect("publish config");
    }

    /// The CLI as the service account through the socket: the service signs the job, and its
    /// worker runs only signed jobs.
    pub fn through_service(&self, args: &[&str]) -> Output {
        service_cli("--connect", &self.socket(), &self.state(), args)
    }

    /// The embedded CLI as the service account (set-up before the service starts, and reads
    /// while it is stopped).
    pub fn as_service(&self, args: &[&str]) -> Output {
        service_cli("--config", &self.config(), &self.state(), args)
    }

    /// Queue a retract of ID for every mailbox; its job id.
    pub fn queue_retract(&self) -> i64 {
        let out =
            self.through_service(&["--json", "retract", ID, "--action", "move-to-junk", "--yes"]);
        assert!(
            out.status.success(),
            "retract: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["job"]["id"].as_i64().expect("job id")
    }

    /// The job with its items, read by the service account (never as root: a root-owned
    /// -shm file would lock the service out of its own store).
    pub fn job(&self, id: i64) -> Value {
        let out = self.as_service(&["--json", "jobs", &id.to_string()]);
        assert!(
            out.status.success(),
            "jobs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["job"].clone()
    }

    pub fn start(&self) -> Service {
        start_service(
            &self.config(),
            &self.state().join("xdg"),
            &self.socket(),
            self.path(),
        )
    }
}

/// `retractor serve --config CONFIG` as the service account, its stderr in a log under
/// `logs`; returns once the socket answers (a minute at most: a busy machine starts slowly).
pub fn start_service(config: &Path, xdg: &Path, socket: &Path, logs: &Path) -> Service {
    let log = logs.join(format!(
        "serve-{}.log",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let child = Command::new("runuser")
        .args(["-u", SVC, "--", BIN, "serve", "--config"])
        .arg(config)
        .env("XDG_STATE_HOME", xdg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("serve");
    let service = Service { child, log };
    let started = Instant::now();
    while curl(VIEWER, socket, "/v1/whoami", &[]).0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the service did not come up: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    service
}

pub struct Service {
    pub child: Child,
    pub log: PathBuf,
}

impl Service {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `retractor serve` process itself (runuser's child).
    pub fn pid(&self) -> String {
        let out = run(Command::new("pgrep").args(["-P", &self.child.id().to_string()]));
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!pid.is_empty(), "no serve process under runuser");
        pid
    }

    pub fn signal(&self, sig: &str) {
        let out = run(Command::new("kill").args([sig, &self.pid()]));
        assert!(out.status.success(), "kill {sig}");
    }

    pub fn wait(mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the service did not stop: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = run(Command::new("pkill").args(["-KILL", "-P", &self.child.id().to_string()]));
            let _ = self.child.wait();
        }
    }
}

/// `curl` on the socket as `user`: status and body.
pub fn curl(user: &str, socket: &Path, path: &str, headers: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("runuser");
    cmd.args([
        "-u",
        user,
        "--",
        "curl",
        "-s",
        "-N",
        "-w",
        "\n%{http_code}",
        "--unix-socket",
    ])
    .arg(socket);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = run(cmd.arg(format!("http://retractor{path}")));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.parse().unwrap_or(0), body.to_string())
}

pub fn whoami(user: &str, site: &Site, headers: &[&str]) -> Value {
    let (status, body) = curl(user, &site.socket(), "/v1/whoami", headers);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("identity")
}

pub fn uid_of(user: &str) -> u64 {
    let out = run(Command::new("id").args(["-u", user]));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("uid")
}

pub fn gid_of(group: &str) -> u32 {
    let out = run(Command::new("getent").args(["group", group]));
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .nth(2)
        .and_then(|g| g.parse().ok())
        .expect("gid")
}

/// Every mailbox holds exactly one copy, in Junk; one engine audit record per item.
pub fn assert_every_item_once(site: &Site, job: i64) {
    let j = site.job(job);
    assert_eq!(j["status"], "done", "{j}");
    let items = j["items"].as_array().expect("items");
    assert_eq!(items.len(), site.mailboxes.len());
    for u in &site.mailboxes {
        let copies = copies_of(&site.state().join("mail/corp.test").join(u), ID);
        assert_eq!(copies.len(), 1, "{u}: {copies:?}");
        assert!(
            copies[0].to_string_lossy().contains("/.Junk/"),
            "{u}: {copies:?}"
        );
    }
    let out = site.as_service(&[
        "--json",
        "audit",
        "--job",
        &job.to_string(),
        "--limit",
        "100000",
    ]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let acts = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["role"] == "engine")
        .count();
    assert_eq!(acts, site.mailboxes.len(), "one engine record per item");
}
