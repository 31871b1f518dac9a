//! `retractor serve` for real: the binary running as its own account (`retractor-svc`), its
//! store and mail in a 0700 state directory, its config root-owned 0640, and clients as other
//! uids (`runuser`) on its 0660 socket. Needs root (useradd, runuser); skipped otherwise.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{copies_of, log_line, make_maildir, message};

const SVC: &str = "retractor-svc";
const VIEWER: &str = "rsvc-viewer";
const RESPONDER: &str = "rsvc-responder";
const SOC: &str = "rsvc-soc";
const ID: &str = "<svc-phish@bad.example>";
const BIN: &str = env!("CARGO_BIN_EXE_retractor");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

/// The service account, the SOC group and two analysts in it (created once, kept: accounts
/// are host state that other runs reuse).
fn accounts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        run(Command::new("groupadd").args(["-f", SOC]));
        for (user, groups) in [(SVC, None), (VIEWER, Some(SOC)), (RESPONDER, Some(SOC))] {
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
struct Site {
    base: tempfile::TempDir,
    mailboxes: Vec<String>,
}

impl Site {
    fn new(mailboxes: usize, roles: &str) -> Site {
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

    fn path(&self) -> &Path {
        self.base.path()
    }
    fn state(&self) -> PathBuf {
        self.path().join("state")
    }
    fn config(&self) -> PathBuf {
        self.path().join("etc/config.toml")
    }
    fn socket(&self) -> PathBuf {
        self.path().join("run/retractor.sock")
    }
    fn store(&self) -> PathBuf {
        self.state().join("retractor.db")
    }

    /// The config, root-owned and readable by the service's group only. `roles`: extra
    /// entries of `[access] roles` (everyone else is a viewer; the service account is admin,
    /// as it queues the tests' jobs with the embedded CLI).
    fn write_config(&self, roles: &str) {
        let access = format!("default_role = \"viewer\"\nroles = {{ {SVC} = \"admin\"{roles} }}");
        let text = format!(
            "[store]\npath = \"{store}\"\n\n[access]\n{access}\n\n[engine]\nbackoff_ms = 20\n\n\
             [service]\nsocket = \"{socket}\"\ngroup = \"{SOC}\"\n\n\
             [tenants.corp]\nkind = \"maildir\"\nroot = \"{mail}\"\ndomains = [\"corp.test\"]\n",
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
    fn through_service(&self, args: &[&str]) -> Output {
        run(Command::new("runuser")
            .args(["-u", SVC, "--", BIN, "--connect"])
            .arg(self.socket())
            .args(args)
            .env("XDG_STATE_HOME", self.state().join("xdg")))
    }

    /// The embedded CLI as the service account (set-up before the service starts, and reads
    /// while it is stopped).
    fn as_service(&self, args: &[&str]) -> Output {
        run(Command::new("runuser")
            .args(["-u", SVC, "--", BIN, "--config"])
            .arg(self.config())
            .args(args)
            .env("XDG_STATE_HOME", self.state().join("xdg")))
    }

    /// Queue a retract of ID for every mailbox; its job id.
    fn queue_retract(&self) -> i64 {
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
    fn job(&self, id: i64) -> Value {
        let out = self.as_service(&["--json", "jobs", &id.to_string()]);
        assert!(
            out.status.success(),
            "jobs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["job"].clone()
    }

    fn start(&self) -> Service {
        let log = self
            .path()
            .join(format!("serve-{}.log", Instant::now().elapsed().as_nanos()));
        let child = Command::new("runuser")
            .args(["-u", SVC, "--", BIN, "serve", "--config"])
            .arg(self.config())
            .env("XDG_STATE_HOME", self.state().join("xdg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("serve");
        let service = Service { child, log };
        let started = Instant::now();
        while curl(VIEWER, &self.socket(), "/v1/whoami", &[]).0 != 200 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the service did not come up: {}",
                service.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }
}

struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `retractor serve` process itself (runuser's child).
    fn pid(&self) -> String {
        let out = run(Command::new("pgrep").args(["-P", &self.child.id().to_string()]));
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!pid.is_empty(), "no serve process under runuser");
        pid
    }

    fn signal(&self, sig: &str) {
        let out = run(Command::new("kill").args([sig, &self.pid()]));
        assert!(out.status.success(), "kill {sig}");
    }

    fn wait(mut self, limit: Duration) -> Option<i32> {
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
fn curl(user: &str, socket: &Path, path: &str, headers: &[&str]) -> (u16, String) {
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

fn whoami(user: &str, site: &Site, headers: &[&str]) -> Value {
    let (status, body) = curl(user, &site.socket(), "/v1/whoami", headers);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("identity")
}

fn uid_of(user: &str) -> u64 {
    let out = run(Command::new("id").args(["-u", user]));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("uid")
}

fn gid_of(group: &str) -> u32 {
    let out = run(Command::new("getent").args(["group", group]));
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .nth(2)
        .and_then(|g| g.parse().ok())
        .expect("gid")
}

/// Every mailbox holds exactly one copy, in Junk; one engine audit record per item.
fn assert_every_item_once(site: &Site, job: i64) {
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

#[test]
fn one_service_its_socket_its_callers_reload_and_drain() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(400, &format!(", {RESPONDER} = \"responder\""));
    let service = site.start();

    // The socket: 0660, the SOC group, in a 0755 directory the service made.
    let meta = std::fs::symlink_metadata(site.socket()).expect("socket");
    assert_eq!(meta.mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid_of(SOC));
    assert_eq!(meta.uid() as u64, uid_of(SVC));
    let dir = std::fs::metadata(site.socket().parent().expect("dir")).expect("dir");
    assert_eq!(dir.mode() & 0o777, 0o755);

    // The caller is the socket peer's uid; the role is the service's.
    let viewer = whoami(VIEWER, &site, &[]);
    assert_eq!(viewer["login"], VIEWER);
    assert_eq!(viewer["uid"].as_u64(), Some(uid_of(VIEWER)));
    assert_eq!(
        (viewer["role"].as_str(), viewer["authority"].as_str()),
        (Some("viewer"), Some("service"))
    );
    assert_eq!(whoami(RESPONDER, &site, &[])["role"], "responder");
    // An address the OS has no login record for is kept, and marked as the client's claim.
    let claimed = whoami(VIEWER, &site, &["X-Retractor-Ssh-From: 198.51.100.9"]);
    assert_eq!(claimed["ssh_from"], "198.51.100.9");
    assert_eq!(claimed["ssh_from_reported_by_client"], true);
    let junk = whoami(
        VIEWER,
        &site,
        &["X-Retractor-Ssh-From: evil.example; rm -rf"],
    );
    assert_eq!(junk["ssh_from"], Value::Null);

    // Nobody outside the group reaches the socket; a viewer cannot read the store itself.
    let out = run(Command::new("runuser")
        .args(["-u", VIEWER, "--", "cat"])
        .arg(site.store()));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{out:?}"
    );
    let out = run(Command::new("runuser")
        .args(["-u", VIEWER, "--", "sqlite3"])
        .arg(site.store())
        .arg("select 1"));
    assert!(!out.status.success(), "the viewer opened the store");

    // A job the service's worker runs; two clients watch it from start to end.
    let job = site.queue_retract();
    let socket = site.socket();
    let watchers: Vec<_> = [VIEWER, RESPONDER]
        .into_iter()
        .map(|u| {
            let socket = socket.clone();
            std::thread::spawn(move || curl(u, &socket, &format!("/v1/jobs/{job}/events"), &[]))
        })
        .collect();
    let streams: Vec<Vec<Value>> = watchers
        .into_iter()
        .map(|w| {
            let (status, body) = w.join().expect("watcher");
            assert_eq!(status, 200, "{body}");
            body.lines()
                .map(|l| serde_json::from_str(l).expect("event line"))
                .collect()
        })
        .collect();
    for events in &streams {
        let done: Vec<u64> = events
            .iter()
            .map(|e| {
                e["progress"]["job"]["counts"]["remediated"]
                    .as_u64()
                    .expect("counts")
            })
            .collect();
        assert!(
            done.windows(2).all(|w| w[0] <= w[1]),
            "progress goes forward: {done:?}"
        );
        let last = events.last().expect("events");
        assert_eq!(last["progress"]["finished"], true);
        assert_eq!(last["progress"]["job"]["status"], "done");
    }
    assert_eq!(
        streams[0].last().expect("a")["progress"]["job"]["counts"],
        streams[1].last().expect("b")["progress"]["job"]["counts"],
        "both watchers end on the same counts"
    );
    assert_every_item_once(&site, job);

    // SIGHUP: a changed role is in force at once; a broken config is refused, the old kept.
    site.write_config(&format!(", {VIEWER} = \"analyst\""));
    service.signal("-HUP");
    let started = Instant::now();
    while whoami(VIEWER, &site, &[])["role"] != "analyst" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not reloaded: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(site.path().join("etc/broken"), "[access\n").expect("write");
    std::fs::rename(site.path().join("etc/broken"), site.config()).expect("break config");
    service.signal("-HUP");
    let started = Instant::now();
    while !service.log().contains("config not reloaded") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no complaint: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        whoami(VIEWER, &site, &[])["role"],
        "analyst",
        "the old config stays"
    );
    site.write_config("");

    // SIGTERM mid-job: in-flight items finish and are recorded, nothing stays claimed, exit 0.
    let job = {
        // Put the copies back first, so a second retract has work to do.
        let out = site.through_service(&[
            "--json",
            "restore",
            "--job",
            &job.to_string(),
            "--yes",
            "--wait",
        ]);
        assert!(
            out.status.success(),
            "restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        site.queue_retract()
    };
    let started = Instant::now();
    loop {
        let (_, body) = curl(VIEWER, &site.socket(), &format!("/v1/jobs/{job}"), &[]);
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if v["job"]["counts"]["remediated"].as_u64().unwrap_or(0) >= 20 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    service.signal("-TERM");
    let log_path = service.log.clone();
    assert_eq!(
        service.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    assert!(!site.socket().exists(), "the socket is removed on exit");
    let j = site.job(job);
    let states: Vec<&str> = j["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["result"].as_str())
        .collect();
    assert!(
        !states.contains(&"claimed"),
        "drained: nothing left claimed: {states:?}"
    );
    // After a restart the service resumes the job and finishes it, each item once.
    let service = site.start();
    let started = Instant::now();
    while site.job(job)["status"] != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not resumed: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_every_item_once(&site, job);
    service.signal("-TERM");
    assert_eq!(service.wait(Duration::from_secs(60)), Some(0));
}

#[test]
fn kill_dash_nine_mid_job_then_restart_does_every_item_exactly_once() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(1500, "");
    let service = site.start();
    let job = site.queue_retract();
    let started = Instant::now();
    loop {
        let (_, body) = curl(VIEWER, &site.socket(), &format!("/v1/jobs/{job}"), &[]);
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let done = v["job"]["counts"]["remediated"].as_u64().unwrap_or(0);
        if done >= 150 {
            assert!(done < 1500, "killed too late to be mid-job");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    service.signal("-KILL");
    assert_eq!(
        service.wait(Duration::from_secs(10)),
        Some(137), // runuser: 128 + SIGKILL
        "killed by a signal"
    );
    // The socket file stays behind: the next start must replace it (nobody answers on it).
    assert!(site.socket().exists());
    let service = site.start();
    let started = Instant::now();
    while site.job(job)["status"] != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not resumed: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_every_item_once(&site, job);
}

#[test]
fn start_up_refuses_a_missing_group_and_never_replaces_what_is_not_a_dead_socket() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("run/r.sock");
    let config = dir.path().join("config.toml");
    let write = |group: &str| {
        std::fs::write(
            &config,
            format!(
                "[store]\npath = \"r.db\"\n[service]\nsocket = \"{}\"\n{group}\n",
                socket.display()
            ),
        )
        .expect("config")
    };
    let serve = || {
        Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("XDG_STATE_HOME", dir.path().join("xdg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve")
    };
    let finish = |child: Child| {
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    write("group = \"no-such-group-xyz\"");
    let (code, err) = finish(serve());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no-such-group-xyz") && err.contains("no such group"),
        "{err}"
    );
    assert!(!socket.exists(), "nothing half-made");

    write("");
    std::fs::create_dir_all(socket.parent().expect("dir")).expect("dir");
    std::fs::write(&socket, "precious").expect("file");
    let (code, err) = finish(serve());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&socket).expect("kept"), "precious");
    std::fs::remove_file(&socket).expect("rm");

    let target = dir.path().join("target");
    std::fs::write(&target, "t").expect("target");
    std::os::unix::fs::symlink(&target, &socket).expect("link");
    let (code, err) = finish(serve());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        std::fs::symlink_metadata(&socket)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    std::fs::remove_file(&socket).expect("rm");

    // A dead socket (a service killed -9) is replaced; a live one is not.
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("dead socket"));
    let mut first = serve();
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "did not replace the dead socket"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, err) = finish(serve());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already answers"), "{err}");
    let _ = run(Command::new("kill").args(["-TERM", &first.id().to_string()]));
    let status = first.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// Through `--connect` the role is the service's: a viewer is refused (audited) even with a
/// config of their own that claims admin, and a responder's retraction runs in the service,
/// every record of the job naming the responder and signed by the service.
#[test]
fn through_connect_a_viewer_is_refused_even_with_an_admin_config_and_a_responder_acts() {
    let site = Site::new(5, &format!(", {RESPONDER} = \"responder\""));
    let service = site.start();
    let socket = site.socket();
    let client = |user: &str, config: Option<&Path>, args: &[&str]| {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", user, "--", BIN, "--json", "--connect"])
            .arg(&socket);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        run(cmd.args(args).env("XDG_STATE_HOME", "/tmp"))
    };
    let retract = ["retract", ID, "--action", "move-to-junk", "--yes", "--wait"];
    let out = client(VIEWER, None, &retract);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    // The viewer's own config claims admin: ignored, with a warning.
    let own = site.path().join("viewer.toml");
    std::fs::write(&own, "[access]\ndefault_role = \"admin\"\n").expect("config");
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = client(VIEWER, Some(&own), &retract);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignored"));
    let out = client(VIEWER, None, &["audit"]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit");
    let refusals = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["outcome"] == "refused" && a["actor"] == VIEWER)
        .count();
    assert_eq!(refusals, 2, "{audit}");
    // The responder's retract runs in the service; every record of the job names them.
    let out = client(RESPONDER, None, &retract);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("job");
    let job = v["job"]["id"].as_i64().expect("id");
    let out = client(RESPONDER, None, &["audit", "--job", &job.to_string()]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit");
    for record in audit["audit"].as_array().expect("audit") {
        assert_eq!(record["actor"], RESPONDER, "{record}");
        assert_eq!(record["authority"], "service", "{record}");
    }
    // The trail verifies with the service's key, through the socket, as the viewer.
    let out = client(VIEWER, None, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("verdict");
    assert!(verdict["signed"].as_u64().unwrap_or(0) > 0, "{verdict}");
    drop(service);
}

/// A job the service signed, edited in the store while the service was stopped (a new
/// initiator), is refused when the service starts: its items fail, no mailbox changes, and
/// the refusal is audited.
#[test]
fn a_job_row_edited_while_the_service_is_stopped_is_refused_when_it_starts() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(3, "");
    // Start once so the service creates its key, then queue a job signed with that key while
    // the service is down (the service account signing as the service does).
    let service = site.start();
    service.signal("-TERM");
    assert_eq!(service.wait(Duration::from_secs(60)), Some(0));
    let out = run(Command::new("runuser")
        .args(["-u", SVC, "--", BIN, "--json", "--config"])
        .arg(site.config())
        .args(["retract", ID, "--action", "move-to-junk", "--yes"])
        .env("RETRACTOR_SIGN", "1")
        .env("XDG_STATE_HOME", site.state().join("xdg")));
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let job = v["job"]["id"].as_i64().expect("job id");
    let conn = rusqlite::Connection::open(site.store()).expect("store");
    conn.execute(
        "UPDATE jobs SET initiated_by = ?1 WHERE id = ?2",
        rusqlite::params![RESPONDER, job],
    )
    .expect("edit");
    drop(conn);
    // Root touched the store: give its files back to the service account.
    run(Command::new("chown")
        .args(["-R", &format!("{SVC}:{SVC}")])
        .arg(site.state()));
    let inbox = |u: &str| site.state().join("mail/corp.test").join(u).join("new");
    let before: Vec<_> = site
        .mailboxes
        .iter()
        .map(|u| std::fs::read_dir(inbox(u)).expect("inbox").count())
        .collect();
    let service = site.start();
    let started = Instant::now();
    let j = loop {
        let j = site.job(job);
        if j["status"] != "queued" && j["status"] != "running" {
            break j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(j["status"], "failed", "{j}");
    for item in j["items"].as_array().expect("items") {
        let error = item["error"].as_str().unwrap_or_default();
        assert!(error.contains("does not match its signature"), "{item}");
    }
    let after: Vec<_> = site
        .mailboxes
        .iter()
        .map(|u| std::fs::read_dir(inbox(u)).expect("inbox").count())
        .collect();
    assert_eq!(before, after, "no mailbox changed");
    let out = site.through_service(&["--json", "audit", "--job", &job.to_string()]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit");
    assert!(
        audit["audit"]
            .as_array()
            .expect("audit")
            .iter()
            .any(|a| a["action"] == "job-refused"),
        "{audit}"
    );
    service.signal("-TERM");
    assert_eq!(service.wait(Duration::from_secs(60)), Some(0));
}
