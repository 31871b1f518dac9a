//! The console through `retractor --connect`: the real binary in a real terminal (a private
//! tmux server), run as an analyst's account against `retractor serve` running as its own.
//! The console never opens the store: every search, plan, job and audit record comes over the
//! socket, and the service decides who may do what. Needs root (useradd, runuser) and tmux.

mod common;
#[path = "service/site.rs"]
mod site;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use site::{BIN, RESPONDER, Site, VIEWER, is_root};

/// A console in a 120x40 tmux pane, run as `user` through the site's socket.
struct Pane {
    socket: String,
    home: tempfile::TempDir,
}

impl Pane {
    fn connect(site: &Site, user: &str) -> Pane {
        let home = tempfile::tempdir().expect("home");
        let out = Command::new("chown")
            .arg(format!("{user}:{user}"))
            .arg(home.path())
            .output()
            .expect("chown");
        assert!(out.status.success(), "{out:?}");
        let pane = Pane {
            socket: format!("rsvc-console-{user}-{}", std::process::id()),
            home,
        };
        let h = pane.home.path();
        let command = format!(
            "runuser -u {user} -- env HOME={h} XDG_STATE_HOME={h}/state XDG_CONFIG_HOME={h}/config \
             XDG_DATA_HOME={h}/data TERM=xterm-256color {BIN} --connect {socket}; echo $? > {h}/exit-status",
            h = h.display(),
            socket = site.socket().display(),
        );
        pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            "120",
            "-y",
            "40",
            &command,
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ]);
        pane
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "console", k]);
        }
    }

    fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.tmux(&["capture-pane", "-t", "console", "-p"]);
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }

    fn exit_status(&self) -> i32 {
        let file = self.home.path().join("exit-status");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.ends_with('\n') {
                return text.trim().parse().expect("exit status");
            }
            assert!(Instant::now() < deadline, "the console did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Open the one phish on its retract tab (the service plans it for this caller).
    fn open_retract_tab(&self) {
        self.wait_for("Messages 1 of 1");
        self.keys(&["Enter"]);
        self.wait_for("Message-ID");
        self.keys(&["r"]);
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn home_is_untouched_by_the_store(home: &Path) {
    let found: Vec<_> = walk(home)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert!(
        found.is_empty(),
        "the console made a store of its own: {found:?}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_responders_console_retracts_through_the_service_and_a_viewers_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(3, &format!(", {RESPONDER} = \"responder\""));
    let _service = site.start();

    // The viewer sees the message but the service refuses its retract; nothing is queued.
    let viewer = Pane::connect(&site, VIEWER);
    viewer.open_retract_tab();
    let s = viewer.wait_for("refused: rsvc-viewer has role viewer");
    assert!(
        !s.contains("depth 0: +"),
        "a plan was made for a viewer: {s}"
    );
    viewer.keys(&["R"]);
    std::thread::sleep(Duration::from_millis(300));
    viewer.keys(&["Escape", "Escape", "q"]);
    assert_eq!(viewer.exit_status(), 0);
    home_is_untouched_by_the_store(viewer.home.path());
    let out = site.as_service(&["--json", "audit"]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let refused = audit["audit"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["actor"] == VIEWER && r["outcome"] == "refused")
        .count();
    assert_eq!(
        refused, 1,
        "the console's refused retract is audited once: {audit}"
    );

    // The responder's retract runs in the service's worker; Operations shows it finish.
    let responder = Pane::connect(&site, RESPONDER);
    responder.open_retract_tab();
    responder.wait_for("depth 0: +");
    responder.keys(&["R"]);
    responder.wait_for("mailboxes will be acted on");
    responder.keys(&["y"]);
    responder.keys(&["2"]);
    responder.wait("the job finished", |s| {
        s.lines()
            .any(|l| l.contains("retract") && l.contains("done"))
    });
    responder.keys(&["q"]);
    assert_eq!(responder.exit_status(), 0);
    home_is_untouched_by_the_store(responder.home.path());

    // Every record of the job names the responder, on the service's authority.
    let out = site.as_service(&["--json", "jobs"]);
    let jobs: Value = serde_json::from_slice(&out.stdout).expect("jobs json");
    let jobs = jobs["jobs"].as_array().expect("jobs").clone();
    assert_eq!(jobs.len(), 1, "only the responder's job: {jobs:?}");
    assert_eq!(jobs[0]["initiated_by"], RESPONDER);
    let id = jobs[0]["id"].as_i64().expect("id");
    let out = site.as_service(&["--json", "audit", "--job", &id.to_string()]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let records = audit["audit"].as_array().expect("records");
    assert!(!records.is_empty());
    for r in records {
        assert_eq!(r["actor"], RESPONDER, "{r}");
        assert_eq!(r["authority"], "service", "{r}");
    }
}
