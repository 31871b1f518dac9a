//! Several hosts' `retractor serve` on one PostgreSQL store (team mode), for the tests. Each
//! host is a directory of its own: a 0700 state directory (the service account's, holding its
//! key), a root-owned 0640 config and a socket. The mail tree and the database are shared, as
//! a team's mail system and database are. All services run as the one service account of this
//! machine; they stand in for one account on each of several jump hosts.
//!
//! The service key: the first service makes it, and it is copied to the other hosts before
//! they start (README "Several services on one store"): a job one service signs is run by
//! whichever service claims its items, so every service must accept every other's signature.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copies_of, log_line, make_maildir, message};
use crate::site::{ID, SOC, SVC, Service, VIEWER, accounts, curl, run, service_cli, start_service};
use crate::testpg::{TestDatabase, fresh_database};

/// One host: its state, config and socket.
pub struct Host {
    pub name: String,
    pub dir: PathBuf,
}

impl Host {
    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("etc/config.toml")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.join("run/retractor.sock")
    }

    /// Start this host's service.
    pub fn start(&self) -> Service {
        start_service(
            &self.config(),
            &self.state().join("xdg"),
            &self.socket(),
            &self.dir,
        )
    }

    /// The CLI as the service account through this host's socket.
    pub fn through_service(&self, args: &[&str]) -> Output {
        service_cli("--connect", &self.socket(), &self.state(), args)
    }

    /// The embedded CLI as the service account with this host's config.
    pub fn as_service(&self, args: &[&str]) -> Output {
        service_cli("--config", &self.config(), &self.state(), args)
    }

    /// `--json ARGS` through this host's socket, parsed; panics on a failure.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.through_service(&all);
        assert!(
            out.status.success(),
            "{args:?} on {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }

    /// Job `id` as this host's service lists it (counts, no items).
    pub fn job_summary(&self, id: i64) -> Value {
        let (_, body) = curl(VIEWER, &self.socket(), "/v1/jobs", &[]);
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        // `GET /v1/jobs` answers a bare list.
        v.as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["id"].as_i64() == Some(id)).cloned())
            .unwrap_or(Value::Null)
    }
}

/// Hosts on one database, one Maildir tenant of `mailboxes` users, each holding one copy of
/// the logged phish [`ID`].
pub struct Team {
    pub base: tempfile::TempDir,
    pub db: TestDatabase,
    pub hosts: Vec<Host>,
    pub mailboxes: Vec<String>,
}

impl Team {
    /// `roles`: extra entries of every host's `[access] roles`.
    pub fn new(hosts: usize, mailboxes: usize, roles: &str) -> Team {
        accounts();
        // In memory where there is a tmpfs: making and removing tens of thousands of
        // Maildir directories on a busy disk took longer than the job they stand for.
        let base = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("tempdir");
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let team = Team {
            db: fresh_database(),
            hosts: (0..hosts)
                .map(|n| {
                    let name = format!("host-{}", char::from(b'a' + n as u8));
                    Host {
                        dir: base.path().join(&name),
                        name,
                    }
                })
                .collect(),
            mailboxes: (0..mailboxes).map(|n| format!("user{n:05}")).collect(),
            base,
        };
        let text = message(ID, "x@bad.example", &["all@corp.test"], "Phish", None);
        for (n, u) in team.mailboxes.iter().enumerate() {
            let inbox = team.mailbox(u);
            make_maildir(&inbox);
            std::fs::write(inbox.join("new").join(format!("{n}.M1.host")), &text).expect("deliver");
        }
        own(&team.mail());
        std::fs::set_permissions(team.mail(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        for host in &team.hosts {
            for dir in ["state", "etc", "run"] {
                std::fs::create_dir_all(host.dir.join(dir)).expect("host dir");
            }
            own(&host.state());
            std::fs::set_permissions(host.state(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod");
            own(&host.dir.join("run"));
            team.write_config(host, roles);
        }
        let recipients: Vec<String> = team
            .mailboxes
            .iter()
            .map(|u| format!("{u}@corp.test"))
            .collect();
        let refs: Vec<&str> = recipients.iter().map(String::as_str).collect();
        let log = team.hosts[0].state().join("log.jsonl");
        std::fs::write(&log, log_line(ID, "x@bad.example", &refs, "Phish", None)).expect("log");
        own(&log);
        let out = team.hosts[0].as_service(&[
            "ingest",
            "--format",
            "jsonl",
            log.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "ingest: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        team
    }

    pub fn mail(&self) -> PathBuf {
        self.base.path().join("mail")
    }

    pub fn mailbox(&self, user: &str) -> PathBuf {
        self.mail().join("corp.test").join(user)
    }

    /// A host's config: the shared database (trust authentication on the test server's
    /// loopback, so no password source); the key and the alert spool in the host's state
    /// directory (with `[store] url` both would default to the config's directory).
    fn write_config(&self, host: &Host, roles: &str) {
        let text = format!(
            "[store]\nurl = \"{url}\"\nsslmode = \"disable\"\n\n\
             [access]\ndefault_role = \"viewer\"\nroles = {{ {SVC} = \"admin\"{roles} }}\n\n\
             [engine]\nbackoff_ms = 20\n\n\
             [service]\nsocket = \"{socket}\"\ngroup = \"{SOC}\"\nkey_dir = \"{keys}\"\n\n\
             [alerts]\nspool_dir = \"{keys}/alert-spool\"\n\n\
             [tenants.corp]\nkind = \"maildir\"\nroot = \"{mail}\"\ndomains = [\"corp.test\"]\n",
            url = self.db.url,
            socket = host.socket().display(),
            keys = host.state().display(),
            mail = self.mail().display(),
        );
        let path = host.config();
        std::fs::write(&path, text).expect("config");
        run(Command::new("chown").arg(format!("root:{SVC}")).arg(&path));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    }

    /// Add `text` (another tenant, say) to every host's config.
    pub fn append_config(&self, text: &str) {
        for host in &self.hosts {
            let mut config = std::fs::read_to_string(host.config()).expect("config");
            config.push_str(text);
            std::fs::write(host.config(), config).expect("config");
        }
    }

    /// A private directory of the service account's, shared by every host (a secret the
    /// hosts' configs name).
    pub fn shared_dir(&self, name: &str) -> PathBuf {
        let dir = self.base.path().join(name);
        std::fs::create_dir_all(&dir).expect("shared dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        dir
    }

    /// Give `path` (recursively) to the service account.
    pub fn give_to_service(&self, path: &Path) {
        own(path);
    }

    /// Start every host's service: the first makes the key, which is then copied (owner and
    /// mode kept) to the others' state directories before they start.
    pub fn start_all(&self) -> Vec<Service> {
        self.start_first(self.hosts.len())
    }

    /// Start the first `n` hosts' services (the key copied as in [`Team::start_all`]).
    pub fn start_first(&self, n: usize) -> Vec<Service> {
        let first = self.hosts[0].start();
        let mut services = vec![first];
        for host in &self.hosts[1..n] {
            for file in ["service.key", "service.pub"] {
                let out = run(Command::new("cp")
                    .arg("-p")
                    .arg(self.hosts[0].state().join(file))
                    .arg(host.state().join(file)));
                assert!(out.status.success(), "copy the key: {out:?}");
            }
            services.push(host.start());
        }
        services
    }

    /// Queue a retract of [`ID`] for every mailbox through `host`'s service; its job id.
    pub fn queue_retract(&self, host: usize) -> i64 {
        let v = self.hosts[host].json(&["retract", ID, "--action", "move-to-junk", "--yes"]);
        v["job"]["id"].as_i64().expect("job id")
    }

    /// Wait until job `id` is done (as `host` lists it), failing after `limit`.
    pub fn wait_done(&self, host: usize, id: i64, limit: Duration, logs: &dyn Fn() -> String) {
        let started = Instant::now();
        loop {
            let job = self.hosts[host].job_summary(id);
            if job["status"] == "done" {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "job {id} not done in {limit:?}: {job}\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every mailbox holds exactly one copy, in Junk.
    pub fn assert_every_copy_moved_once(&self) {
        for u in &self.mailboxes {
            let copies = copies_of(&self.mailbox(u), ID);
            assert_eq!(copies.len(), 1, "{u}: {copies:?}");
            assert!(
                copies[0].to_string_lossy().contains("/.Junk/"),
                "{u}: {copies:?}"
            );
        }
    }

    /// The job's engine records, as `host`'s service lists them.
    pub fn engine_records(&self, host: usize, job: i64) -> Vec<Value> {
        let audit =
            self.hosts[host].json(&["audit", "--job", &job.to_string(), "--limit", "1000000"]);
        audit["audit"]
            .as_array()
            .expect("audit")
            .iter()
            .filter(|a| a["role"] == "engine")
            .cloned()
            .collect()
    }
}

/// The pid of the worker that wrote an engine record (`executed by LOGIN (worker HOST:PID:…)`).
pub fn worker_pid(record: &Value) -> Option<String> {
    let detail = record["detail"].as_str()?;
    let worker = detail.rsplit_once("(worker ")?.1.trim_end_matches(')');
    // From the right: a host name is the one part that could hold anything.
    worker.rsplit(':').nth(1).map(str::to_string)
}

/// Give `path` (recursively) to the service account.
fn own(path: &Path) {
    let out = run(Command::new("chown")
        .args(["-R", &format!("{SVC}:{SVC}")])
        .arg(path));
    assert!(out.status.success(), "chown {}: {out:?}", path.display());
}
