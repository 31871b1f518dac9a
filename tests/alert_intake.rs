//! Alerts in from the outside: the spool directory, the webhook, the Proofpoint TAP poller
//! against the TAP test server (`tests/tap_server`, from Proofpoint's documentation) and the
//! Defender poller against the Graph test server. Each intake hands to a sink of the test's
//! own (a real store is the policy helper's; here the sink records what it got, or fails).

mod graph_server;
#[path = "alert_intake/pollers.rs"]
mod pollers;
mod tap_server;
#[path = "common/tls.rs"]
mod tls;
#[path = "alert_intake/webhook.rs"]
mod webhook;

use webhook::{TOKEN, post};

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use retractor::alerts::poll::Poller;
use retractor::alerts::spool::{Outcome, Spool};
use retractor::alerts::tap::TapPoller;
use retractor::alerts::webhook::{Webhook, hash_token};
use retractor::config::Config;
use retractor::model::{Alert, AlertDisposition, AlertReceipt, AlertSink, AlertStatus};
use retractor::store::Store;
use serde_json::{Value, json};

/// (source, id) -> (number, revision, the alert as last stored).
type Latest = HashMap<(String, String), (i64, i64, Alert)>;

/// A sink that keeps every alert in memory and tells new, repeat and update apart by
/// (source, id), as the real one does; `failing` makes it refuse (nothing may be acked then).
#[derive(Default)]
struct MemorySink {
    stored: Mutex<Vec<(Alert, AlertReceipt)>>,
    latest: Mutex<Latest>,
    failing: AtomicBool,
}

impl AlertSink for MemorySink {
    fn receive(&self, alert: &Alert) -> anyhow::Result<AlertReceipt> {
        if self.failing.load(Ordering::SeqCst) {
            anyhow::bail!("the test sink is down");
        }
        let mut latest = self.latest.lock().unwrap();
        let next_number = latest.len() as i64 + 1;
        let key = (alert.source.clone(), alert.id.clone());
        let receipt = match latest.get_mut(&key) {
            None => {
                latest.insert(key, (next_number, 1, alert.clone()));
                AlertReceipt {
                    number: next_number,
                    revision: 1,
                    disposition: AlertDisposition::New,
                }
            }
            Some((number, revision, old)) if old == alert => AlertReceipt {
                number: *number,
                revision: *revision,
                disposition: AlertDisposition::Repeat,
            },
            Some((number, revision, old)) => {
                *revision += 1;
                *old = alert.clone();
                AlertReceipt {
                    number: *number,
                    revision: *revision,
                    disposition: AlertDisposition::Updated,
                }
            }
        };
        self.stored.lock().unwrap().push((alert.clone(), receipt));
        Ok(receipt)
    }
}

impl MemorySink {
    fn count(&self) -> usize {
        self.stored.lock().unwrap().len()
    }
    fn received(&self) -> Vec<(Alert, AlertReceipt)> {
        self.stored.lock().unwrap().clone()
    }
}

fn alert_line(id: &str, status: &str) -> String {
    json!({"id": id, "source": "soar", "message_id": format!("<{id}@evil.test>"),
           "classification": "phish", "status": status, "recipients": ["bob@corp.test"]})
    .to_string()
}

fn config(dir: &Path, text: &str) -> Config {
    let path = dir.join("config.toml");
    fs::write(&path, text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

// ---- spool ----

fn spool_in(dir: &Path) -> (Spool, std::path::PathBuf) {
    let cfg = config(
        dir,
        "[alerts]\nspool_dir = \"spool\"\nspool_max_bytes = 4096\n",
    );
    let spool = Spool::open(&cfg.alerts.spool).unwrap();
    (spool, dir.join("spool"))
}

#[test]
fn spool_stores_good_files_and_moves_them_to_done() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, path) = spool_in(dir.path());
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sink = MemorySink::default();
    fs::write(
        path.join("b.jsonl"),
        format!(
            "{}\n\n{}\n",
            alert_line("a1", "active"),
            alert_line("a2", "active")
        ),
    )
    .unwrap();
    // One object over several lines is one alert.
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<Value>(&alert_line("a3", "active")).unwrap(),
    )
    .unwrap();
    fs::write(path.join("c.json"), pretty).unwrap();
    // Files still being written are not touched.
    fs::write(path.join(".d.json"), alert_line("x", "active")).unwrap();
    fs::write(path.join("e.json.tmp"), alert_line("y", "active")).unwrap();
    let outcomes = spool.scan(&sink);
    assert_eq!(
        outcomes,
        vec![
            ("b.jsonl".to_string(), Outcome::Done(2)),
            ("c.json".to_string(), Outcome::Done(1))
        ]
    );
    let ids: Vec<String> = sink.received().into_iter().map(|(a, _)| a.id).collect();
    assert_eq!(ids, ["a1", "a2", "a3"]);
    assert!(path.join("done/b.jsonl").exists() && path.join("done/c.json").exists());
    assert!(path.join(".d.json").exists() && path.join("e.json.tmp").exists());
    // A second file of the same name never overwrites the first in done/.
    fs::write(path.join("b.jsonl"), alert_line("a1", "active")).unwrap();
    spool.scan(&sink);
    assert!(path.join("done/b.jsonl.1").exists());
}

#[test]
fn spool_rejects_a_file_with_a_bad_line_naming_it_and_stores_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, path) = spool_in(dir.path());
    let sink = MemorySink::default();
    fs::write(
        path.join("bad.jsonl"),
        format!(
            "{}\n{}\n",
            alert_line("g1", "active"),
            alert_line("g2", "gone")
        ),
    )
    .unwrap();
    fs::write(path.join("big.json"), " ".repeat(5000)).unwrap();
    let outcomes = spool.scan(&sink);
    assert_eq!(outcomes.len(), 2);
    assert_eq!(sink.count(), 0, "nothing of a rejected file is stored");
    let reason = fs::read_to_string(path.join("rejected/bad.jsonl.reason")).unwrap();
    assert!(
        reason.contains("line 2") && reason.contains("status"),
        "{reason}"
    );
    assert!(path.join("rejected/bad.jsonl").exists() && !path.join("bad.jsonl").exists());
    let reason = fs::read_to_string(path.join("rejected/big.json.reason")).unwrap();
    assert!(reason.contains("spool_max_bytes"), "{reason}");
}

#[test]
fn spool_refuses_a_symlink_and_never_reads_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, path) = spool_in(dir.path());
    let sink = MemorySink::default();
    let target = dir.path().join("secret.json");
    fs::write(&target, alert_line("s1", "active")).unwrap();
    std::os::unix::fs::symlink(&target, path.join("link.json")).unwrap();
    let outcomes = spool.scan(&sink);
    assert!(
        matches!(&outcomes[0].1, Outcome::Rejected(why) if why.contains("symbolic link")),
        "{outcomes:?}"
    );
    assert_eq!(sink.count(), 0);
    // The link itself was moved aside; its target is untouched.
    assert!(
        fs::symlink_metadata(path.join("rejected/link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        alert_line("s1", "active")
    );
}

#[test]
fn spool_keeps_a_file_while_the_sink_is_down_and_takes_it_after() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, path) = spool_in(dir.path());
    let sink = MemorySink::default();
    sink.failing.store(true, Ordering::SeqCst);
    fs::write(path.join("k.jsonl"), alert_line("k1", "active")).unwrap();
    assert!(matches!(spool.scan(&sink)[0].1, Outcome::Kept(_)));
    assert!(
        path.join("k.jsonl").exists(),
        "not acknowledged: still in the spool"
    );
    sink.failing.store(false, Ordering::SeqCst);
    assert_eq!(spool.scan(&sink)[0].1, Outcome::Done(1));
}

// ---- `retractor serve` ----

/// `retractor serve` on `config_text` (written to `dir/config.toml`), its log in
/// `dir/serve.log`.
struct Serve {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Serve {
    fn start(dir: &Path, config_text: &str) -> Serve {
        let path = dir.join("config.toml");
        fs::write(&path, config_text).unwrap();
        let log = dir.join("serve.log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
            .args(["serve", "--config"])
            .arg(&path)
            .env("XDG_STATE_HOME", dir.join("xdg"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Serve { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first post, tried until the webhook is up (at most 30 s).
    async fn first_post(&self, client: &reqwest::Client, url: &str, body: String) -> (u16, Value) {
        let started = Instant::now();
        loop {
            match client
                .post(url)
                .bearer_auth(TOKEN)
                .body(body.clone())
                .send()
                .await
            {
                Ok(r) => {
                    return (
                        r.status().as_u16(),
                        r.json::<Value>().await.unwrap_or(Value::Null),
                    );
                }
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("the webhook did not come up: {e}: {}", self.log()),
            }
        }
    }

    /// SIGTERM, then the exit code once it has stopped (at most 20 s).
    async fn stop(mut self) -> Option<i32> {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A free loopback port for a service's webhook.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The intakes run inside `retractor serve`: the webhook answers on its port with the alert
/// stored (new, then repeat), the spool is made private beside the store, a file dropped in
/// is taken and moved to `done/`, and SIGTERM drains the intakes with the rest.
#[tokio::test]
async fn serve_runs_the_intakes_and_drains_them_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let serve = Serve::start(
        dir.path(),
        &format!(
            "[store]\npath = \"r.db\"\n[service]\nsocket = \"s.sock\"\n[service.webhook]\nlisten = \"127.0.0.1:{port}\"\ntokens = {{ soar = \"{}\" }}\n",
            hash_token(TOKEN)
        ),
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/alerts");
    let (status, answer) = serve
        .first_post(&client, &url, alert_line("e1", "active"))
        .await;
    // The service's sink is the policy engine's intake: stored, then acknowledged.
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["accepted"][0]["id"], "e1", "{answer}");
    assert_eq!(answer["accepted"][0]["disposition"], "new", "{answer}");
    let (status, again) = post(&client, &url, Some(TOKEN), alert_line("e1", "active")).await;
    assert_eq!(status, 202);
    assert_eq!(again["accepted"][0]["disposition"], "repeat", "{again}");
    let (status, _) = post(&client, &url, Some("wrong"), alert_line("e2", "active")).await;
    assert_eq!(status, 401);
    let spool = dir.path().join("alert-spool");
    assert_eq!(
        fs::metadata(&spool).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fs::write(spool.join("x.jsonl"), alert_line("e3", "active")).unwrap();
    let moved = Instant::now();
    while !spool.join("done/x.jsonl").exists() {
        assert!(
            moved.elapsed() < Duration::from_secs(20),
            "the spooled alert was not taken: {}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!spool.join("x.jsonl").exists());
    let log = serve.log.clone();
    let code = serve.stop().await;
    assert_eq!(code, Some(0), "{}", fs::read_to_string(&log).unwrap());
}

/// An intake that cannot start stops the service at start, naming the key, and leaves no
/// socket behind.
#[test]
fn serve_refuses_to_start_when_the_webhook_cannot_listen() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let path = dir.path().join("config.toml");
    fs::write(
        &path,
        format!(
            "[store]\npath = \"r.db\"\n[service]\nsocket = \"s.sock\"\n[service.webhook]\nlisten = \"127.0.0.1:{port}\"\ntokens = {{ soar = \"{}\" }}\n",
            hash_token(TOKEN)
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("XDG_STATE_HOME", dir.path().join("xdg"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[service.webhook] listen"), "{stderr}");
    assert!(!dir.path().join("s.sock").exists(), "no socket left behind");
    drop(taken);
}
