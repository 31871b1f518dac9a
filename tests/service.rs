//! `retractor serve` for real: the binary running as its own account (`retractor-svc`), its
//! store and mail in a 0700 state directory, its config root-owned 0640, and clients as other
//! uids (`runuser`) on its 0660 socket. Needs root (useradd, runuser); skipped otherwise.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "service/site.rs"]
mod site;

use site::*;

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
        streams[0].last().expect("a")["progress"]["job"],
        streams[1].last().expect("b")["progress"]["job"],
        "both watchers end on the same state"
    );
    // Both watch one feed: each stream is a part of the one published sequence, so neither
    // repeats a state, and the states both saw come in the same order in both.
    let states: Vec<Vec<&Value>> = streams
        .iter()
        .map(|events| events.iter().map(|e| &e["progress"]["job"]).collect())
        .collect();
    for seen in &states {
        for (i, state) in seen.iter().enumerate() {
            assert!(
                !seen[i + 1..].contains(state),
                "a watcher was sent one state twice: {state}"
            );
        }
    }
    let shared: Vec<&&Value> = states[0].iter().filter(|s| states[1].contains(s)).collect();
    let in_second: Vec<&&Value> = states[1].iter().filter(|s| states[0].contains(s)).collect();
    assert_eq!(
        shared, in_second,
        "the watchers saw their common states in another order"
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

/// `serve` reads the abuse mailbox by itself (`[submissions]`): the report is handled and
/// moved without anyone asking; `submissions` through the socket then runs a pass in the
/// service that finds nothing new, and a viewer may not ask for one.
#[test]
fn the_service_reads_the_abuse_mailbox_and_submissions_answers_through_the_socket() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let roles = format!(", {RESPONDER} = \"responder\"");
    let site = Site::new(2, &roles);
    site.write_config_with(
        &roles,
        "\n[submissions]\ntenant = \"corp\"\nmailbox = \"abuse@corp.test\"\ninterval = \"1h\"\n",
    );
    let abuse = site.state().join("mail/corp.test/abuse");
    common::make_maildir(&abuse);
    let report = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/submissions/microsoft-user-reported.eml"),
    )
    .expect("fixture");
    std::fs::write(abuse.join("new/1796119200.M1.report"), report).expect("report");
    let out = run(Command::new("chown")
        .args(["-R", &format!("{SVC}:{SVC}")])
        .arg(&abuse));
    assert!(out.status.success());
    let service = site.start();
    let processed = abuse.join(".Retractor.Processed/new");
    let start = Instant::now();
    while std::fs::read_dir(&processed).map_or(0, |d| d.count()) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the service never moved the report: {}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let client = |user: &str| {
        run(Command::new("runuser")
            .args(["-u", user, "--", BIN, "--json", "--connect"])
            .arg(site.socket())
            .arg("submissions")
            .env("XDG_STATE_HOME", "/tmp"))
    };
    let out = client(RESPONDER);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("submissions");
    assert_eq!(v["submissions"]["reports"], serde_json::json!([]), "{v}");
    assert_eq!(v["submissions"]["mailbox"], "abuse@corp.test");
    let out = client(VIEWER);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    drop(service);
}
