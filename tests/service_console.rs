//! The console through `retractor --connect`: the real binary in a real terminal (a private
//! tmux server), run as an analyst's account against `retractor serve` running as its own.
//! The console never opens the store: every search, plan, job and audit record comes over the
//! socket, and the service decides who may do what. Needs root (useradd, runuser) and tmux.

mod common;
#[path = "service/pane.rs"]
mod pane;
#[path = "service/site.rs"]
mod site;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{copies_of, make_maildir};
use pane::Pane;
use site::{APPROVER, BIN, ID, REQUESTER, RESPONDER, SVC, Site, VIEWER, is_root, run};

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
    viewer.keys(&["Escape", "Escape"]);
    viewer.wait("the detail closed", |s| !s.contains("Summary Recipients"));
    viewer.keys(&["q"]);
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

/// Four-eyes in the console: the requester's job waits; the approver's console shows the badge,
/// approves in the Pending view and the job runs; the requester's own console is refused with
/// the api's words. Its own site: `[approvals]` would hold the other test's retract.
#[test]
fn a_request_held_for_approval_is_approved_in_another_accounts_console_and_runs() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(
        3,
        &format!(", {REQUESTER} = \"responder\", {APPROVER} = \"responder\""),
    );
    let quarantine = site.state().join("mail/corp.test/quarantine");
    make_maildir(&quarantine);
    let out = run(Command::new("chown")
        .args(["-R", &format!("{SVC}:{SVC}")])
        .arg(&quarantine));
    assert!(out.status.success(), "{out:?}");
    // The tenant's table is the config's last: its quarantine key, then [approvals].
    std::fs::OpenOptions::new()
        .append(true)
        .open(site.config())
        .and_then(|mut f| {
            f.write_all(
                b"quarantine_mailbox = \"quarantine@corp.test\"\n\n\
                  [approvals]\nrequired_above = 2\n",
            )
        })
        .expect("approvals config");
    let _service = site.start();

    // The requester's quarantine of 3 mailboxes is above `required_above = 2`: held.
    let out = run(Command::new("runuser")
        .args(["-u", REQUESTER, "--", BIN, "--connect"])
        .arg(site.socket())
        .args(["--json", "retract", ID, "--action", "quarantine", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let held: Value = serde_json::from_slice(&out.stdout).expect("retract json");
    assert_eq!(held["awaiting_approval"], true, "{held}");
    let request = held["approval"]["id"].as_i64().expect("request number");

    // The requester's own console: the badge, the view, and the api's refusal in the dialog.
    let own = Pane::connect(&site, REQUESTER);
    own.wait_for("4 Pending [1]");
    own.keys(&["4"]);
    own.wait_for("retract quarantine");
    own.keys(&["a"]);
    own.wait_for(&format!("Approve request {request}"));
    own.keys(&["Enter"]);
    own.wait_for(&format!(
        "{REQUESTER} made request {request}: the requester may not decide their own request"
    ));
    // Esc closes the dialog; `q` only once it is gone (right after Esc it would read as Alt-q).
    own.keys(&["Escape"]);
    own.wait("the dialog closed", |s| !s.contains("Approve request"));
    own.keys(&["q"]);
    assert_eq!(own.exit_status(), 0);
    for user in &site.mailboxes {
        let inbox = site.state().join("mail/corp.test").join(user);
        assert_eq!(
            copies_of(&inbox, ID).len(),
            1,
            "{user}: moved before approval"
        );
    }
    assert!(
        copies_of(&quarantine, ID).is_empty(),
        "quarantined before approval"
    );

    // The approver's console: the badge, the view, `a` with a reason; the job runs.
    let approver = Pane::connect(&site, APPROVER);
    approver.wait_for("4 Pending [1]");
    approver.keys(&["4"]);
    approver.wait_for("retract quarantine");
    approver.keys(&["a"]);
    approver.wait_for(&format!("Approve request {request}"));
    approver.tmux(&["send-keys", "-t", "console", "-l", "seen the headers"]);
    approver.wait_for("seen the headers");
    approver.keys(&["Enter"]);
    // The status line says the request was approved until the job's own end replaces it: a
    // job that finishes before the screen is read shows only the latter.
    let approved = format!("request {request} approved: job");
    approver.wait(&approved, |s| {
        s.contains(&approved) || s.contains("finished (done)")
    });
    let job = wait_for_the_job(&site);
    assert_eq!(job["initiated_by"], REQUESTER, "the requester's job: {job}");
    // The console follows the approved job like one it submitted: Operations shows it finish.
    approver.keys(&["2"]);
    approver.wait("the approved job finished", |s| {
        s.lines()
            .any(|l| l.contains("quarantine") && l.contains("done"))
    });
    approver.keys(&["q"]);
    assert_eq!(approver.exit_status(), 0);
    home_is_untouched_by_the_store(approver.home.path());
    for user in &site.mailboxes {
        let inbox = site.state().join("mail/corp.test").join(user);
        assert!(
            copies_of(&inbox, ID).is_empty(),
            "{user}: still in the inbox"
        );
    }
    assert_eq!(
        copies_of(&quarantine, ID).len(),
        site.mailboxes.len(),
        "every copy is in the quarantine mailbox"
    );

    // The request is decided by the approver, with the reason typed in the dialog.
    let out = site.as_service(&["--json", "audit"]);
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let records = audit["audit"].as_array().expect("records");
    assert!(
        records.iter().any(|r| r["actor"] == APPROVER
            && r["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("approve"))
            && r["reason"] == "seen the headers"),
        "the approval is audited with its reason: {audit}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["actor"] == REQUESTER && r["outcome"] == "refused"),
        "the self-approval is audited as refused: {audit}"
    );
}

/// The one job of the site, once it is done.
fn wait_for_the_job(site: &Site) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = site.as_service(&["--json", "jobs"]);
        let jobs: Value = serde_json::from_slice(&out.stdout).expect("jobs json");
        let jobs = jobs["jobs"].as_array().cloned().unwrap_or_default();
        assert!(jobs.len() <= 1, "one request, one job: {jobs:?}");
        if let Some(j) = jobs.first().filter(|j| j["status"] == "done") {
            return j.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the approved job did not finish: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
