//! Alerts in from the outside: the spool directory, the webhook, the Proofpoint TAP poller
//! against the TAP test server (`tests/tap_server`, from Proofpoint's documentation) and the
//! Defender poller against the Graph test server. Each intake hands to a sink of the test's
//! own (a real store is the policy helper's; here the sink records what it got, or fails).

mod graph_server;
mod tap_server;

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

// ---- webhook ----

const TOKEN: &str = "soar-token-1234";

struct Hook {
    url: String,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn webhook(dir: &Path, sink: Arc<MemorySink>, extra: &str) -> Hook {
    let cfg = config(
        dir,
        &format!(
            "[service.webhook]\nlisten = \"127.0.0.1:0\"\nbody_limit = 2048\ntokens = {{ soar = \"{}\" }}\n{extra}",
            hash_token(TOKEN)
        ),
    );
    let settings = cfg.service.webhook.clone().unwrap();
    let hook = Webhook::bind(&settings).await.unwrap();
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!(
        "{scheme}://localhost:{}/v1/alerts",
        hook.local_addr().unwrap().port()
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(hook.run(sink as Arc<dyn AlertSink>, stopping));
    Hook { url, stop, task }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: String,
) -> (u16, Value) {
    let mut request = client.post(url).body(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn webhook_accepts_with_202_and_refuses_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::default());
    let hook = webhook(dir.path(), Arc::clone(&sink), "").await;
    let client = reqwest::Client::new();

    let body = format!(
        "{}\n{}\n",
        alert_line("w1", "active"),
        alert_line("w2", "active")
    );
    let (status, answer) = post(&client, &hook.url, Some(TOKEN), body.clone()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": [{"id": "w1", "number": 1, "disposition": "new"}, {"id": "w2", "number": 2, "disposition": "new"}]})
    );
    // The same again is recognised; a reclassification is an update.
    let (_, answer) = post(
        &client,
        &hook.url,
        Some(TOKEN),
        alert_line("w1", "false_positive"),
    )
    .await;
    assert_eq!(answer["accepted"][0]["disposition"], "updated");

    // 400 names the line and field; nothing of the request is stored, the good line included.
    let before = sink.count();
    let bad = format!(
        "{}\n{}\n",
        alert_line("w3", "active"),
        alert_line("w4", "sideways")
    );
    let (status, answer) = post(&client, &hook.url, Some(TOKEN), bad).await;
    assert_eq!(status, 400);
    assert_eq!(
        (answer["line"].as_u64(), answer["field"].as_str()),
        (Some(2), Some("status")),
        "{answer}"
    );
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("active, cleared, false_positive")
    );
    let (status, answer) = post(&client, &hook.url, Some(TOKEN), "not json".into()).await;
    assert_eq!((status, answer["line"].as_u64()), (400, Some(1)));
    assert_eq!(sink.count(), before);

    // 401 without a token or with a wrong one; 413 over the limit; nothing stored.
    for token in [None, Some("wrong"), Some("")] {
        let (status, _) = post(&client, &hook.url, token, alert_line("w5", "active")).await;
        assert_eq!(status, 401, "{token:?}");
    }
    let (status, answer) = post(
        &client,
        &hook.url,
        Some(TOKEN),
        format!("{}\n{}", alert_line("w6", "active"), " ".repeat(3000)),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(sink.count(), before);

    // A sink that cannot store: no 202.
    sink.failing.store(true, Ordering::SeqCst);
    let (status, answer) = post(&client, &hook.url, Some(TOKEN), alert_line("w7", "active")).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["accepted"], json!([]));

    let _ = hook.stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), hook.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn webhook_speaks_tls_off_loopback_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    fs::set_permissions(
        dir.path().join("key.pem"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let hook = webhook(
        dir.path(),
        Arc::clone(&sink),
        "cert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n",
    )
    .await;
    assert!(hook.url.starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(&fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let (status, answer) = post(&client, &hook.url, Some(TOKEN), alert_line("t1", "active")).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(sink.count(), 1);
    let _ = hook.stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), hook.task)
        .await
        .unwrap()
        .unwrap();
}

/// A test CA and a `localhost` certificate it signed (EC keys: fast to make).
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed for the TLS test");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=webhook test CA",
    ]);
    openssl(&ca);
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(&req);
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// The sustained rate through the webhook: 8 clients posting one alert per request for a
/// few seconds, to a sink that appends each alert to a file and fsyncs it (as durable a
/// receipt as a store's commit). `cargo test --release --test alert_intake -- --ignored
/// --nocapture webhook_rate`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn webhook_rate() {
    struct FileSink(Mutex<fs::File>);
    impl AlertSink for FileSink {
        fn receive(&self, alert: &Alert) -> anyhow::Result<AlertReceipt> {
            use std::io::Write;
            let mut f = self.0.lock().unwrap();
            writeln!(f, "{}", serde_json::to_string(alert)?)?;
            f.sync_data()?;
            Ok(AlertReceipt {
                number: 1,
                revision: 1,
                disposition: AlertDisposition::New,
            })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "[service.webhook]\nlisten = \"127.0.0.1:0\"\ntokens = {{ soar = \"{}\" }}\n",
            hash_token(TOKEN)
        ),
    );
    let hook = Webhook::bind(cfg.service.webhook.as_ref().unwrap())
        .await
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/v1/alerts",
        hook.local_addr().unwrap().port()
    );
    let sink: Arc<dyn AlertSink> = Arc::new(FileSink(Mutex::new(
        fs::File::create(dir.path().join("sink")).unwrap(),
    )));
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(hook.run(sink, stopping));
    let client = reqwest::Client::new();
    let run_for = Duration::from_secs(5);
    // One alert per request (a SOAR playbook per alert), then JSON lines of 100.
    for per_request in [1usize, 100] {
        let started = Instant::now();
        let mut clients = Vec::new();
        for c in 0..8 {
            let (client, url) = (client.clone(), url.clone());
            clients.push(tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < run_for {
                    let body: Vec<String> = (0..per_request)
                        .map(|k| alert_line(&format!("r{per_request}-{c}-{n}-{k}"), "active"))
                        .collect();
                    let (status, _) = post(&client, &url, Some(TOKEN), body.join("\n")).await;
                    assert_eq!(status, 202);
                    n += per_request as u64;
                }
                n
            }));
        }
        let mut total = 0;
        for c in clients {
            total += c.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "webhook: {total} alerts in {secs:.1} s, {per_request} per request, 8 clients, fsync per alert: {:.0} alerts/minute",
            total as f64 / secs * 60.0
        );
    }
}

// ---- Proofpoint TAP ----

fn tap_config(dir: &Path, server: &tap_server::TapServer, lookback: &str) -> Config {
    let secret = dir.join("tap-secret");
    fs::write(&secret, tap_server::SECRET).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    config(
        dir,
        &format!(
            "[alerts.tap]\nendpoint = \"{}\"\nprincipal = \"{}\"\nsecret_file = \"tap-secret\"\ninterval = 1\nlookback = \"{lookback}\"\ntenant = \"corp\"\n",
            server.url,
            tap_server::PRINCIPAL
        ),
    )
}

#[tokio::test]
async fn the_tap_server_refuses_what_tap_refuses() {
    let server = tap_server::TapServer::start();
    let client = reqwest::Client::new();
    let now = Utc::now();
    let interval = format!(
        "{}/{}",
        (now - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ"),
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let url = format!(
        "{}/v2/siem/messages/delivered?format=json&interval={interval}",
        server.url
    );
    let status = client
        .get(&url)
        .basic_auth(tap_server::PRINCIPAL, Some(tap_server::SECRET))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400, "a window over an hour");
    let status = client
        .get(&url)
        .basic_auth(tap_server::PRINCIPAL, Some("nope"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn tap_windows_resume_from_the_stored_cursor_after_a_restart_and_reclassify() {
    let dir = tempfile::tempdir().unwrap();
    let server = tap_server::TapServer::start();
    let now = Utc::now();
    for (guid, hours_ago) in [("g1", 150), ("g2", 90), ("g3", 30)] {
        server.deliver(
            now - chrono::Duration::minutes(hours_ago),
            tap_server::delivered(
                guid,
                &format!("<{guid}@evil.test>"),
                &["bob@corp.test"],
                "active",
            ),
        );
    }
    let cfg = tap_config(dir.path(), &server, "3h");
    let store = Arc::new(Store::open(&dir.path().join("r.db")).unwrap());
    let sink = Arc::new(MemorySink::default());
    let as_sink: Arc<dyn AlertSink> = Arc::clone(&sink) as Arc<dyn AlertSink>;

    // Two windows, then the service "restarts": a new poller on the same store.
    let first = TapPoller::new(cfg.alerts.tap.as_ref().unwrap(), Arc::clone(&store)).unwrap();
    for _ in 0..2 {
        let step = first.poll_once(&as_sink).await.unwrap();
        assert!(!step.caught_up);
    }
    drop(first);
    let store = Arc::new(Store::open(&dir.path().join("r.db")).unwrap());
    let second = TapPoller::new(cfg.alerts.tap.as_ref().unwrap(), Arc::clone(&store)).unwrap();
    let step = second.poll_once(&as_sink).await.unwrap();
    assert!(step.caught_up, "{step:?}");

    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    for pair in seen.windows(2) {
        assert_eq!(
            pair[1].start, pair[0].end,
            "each window starts where the last ended"
        );
    }
    for s in &seen {
        assert!(s.end.unwrap() - s.start.unwrap() <= chrono::Duration::hours(1));
        assert!(
            s.statuses.contains(&"falsePositive".to_string()),
            "falsePositive asked for"
        );
    }
    let got: Vec<(String, AlertDisposition)> = sink
        .received()
        .into_iter()
        .map(|(a, r)| (a.id, r.disposition))
        .collect();
    assert_eq!(
        got,
        [
            ("g1:threat-g1".into(), AlertDisposition::New),
            ("g2:threat-g2".into(), AlertDisposition::New),
            ("g3:threat-g3".into(), AlertDisposition::New)
        ]
    );
    let first_alert = &sink.received()[0].0;
    assert_eq!(first_alert.source, "proofpoint-tap");
    assert_eq!(first_alert.message_id, "<g1@evil.test>");
    assert_eq!(first_alert.tenant.as_deref(), Some("corp"));

    // TAP reclassifies g2 as a false positive: the same GUID, reported again.
    server.deliver(
        Utc::now(),
        tap_server::delivered("g2", "<g2@evil.test>", &["bob@corp.test"], "falsePositive"),
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    second.poll_once(&as_sink).await.unwrap();
    let (last, receipt) = sink.received().pop().unwrap();
    assert_eq!(
        (last.id.as_str(), last.status),
        ("g2:threat-g2", AlertStatus::FalsePositive)
    );
    assert_eq!(
        (receipt.disposition, receipt.number),
        (AlertDisposition::Updated, 2)
    );
}

#[tokio::test]
async fn tap_throttling_is_obeyed_and_no_cursor_moves_without_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let server = tap_server::TapServer::start();
    server.deliver(
        Utc::now() - chrono::Duration::minutes(10),
        tap_server::delivered("h1", "<h1@evil.test>", &["bob@corp.test"], "active"),
    );
    let cfg = tap_config(dir.path(), &server, "30m");
    let store = Arc::new(Store::open(&dir.path().join("r.db")).unwrap());

    // A failing sink: the window is asked again, the cursor stays.
    let down = Arc::new(MemorySink::default());
    down.failing.store(true, Ordering::SeqCst);
    let poller = TapPoller::new(cfg.alerts.tap.as_ref().unwrap(), Arc::clone(&store)).unwrap();
    assert!(
        poller
            .poll_once(&(down as Arc<dyn AlertSink>))
            .await
            .is_err()
    );
    assert_eq!(
        store
            .poller_cursor("proofpoint-tap:tap-principal-1")
            .unwrap(),
        None
    );

    server.throttle(1, Some(2));
    let sink = Arc::new(MemorySink::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(poller.run(Arc::clone(&sink) as Arc<dyn AlertSink>, stopping));
    let deadline = Instant::now() + Duration::from_secs(15);
    while sink.count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    task.await.unwrap();
    assert_eq!(sink.count(), 1);
    let seen = server.seen();
    let throttled = seen.iter().position(|s| s.status == 429).unwrap();
    let waited = seen[throttled + 1].at - seen[throttled].at;
    assert!(
        waited >= Duration::from_secs(2),
        "Retry-After obeyed: waited {waited:?}"
    );
}

// ---- Defender ----

#[tokio::test]
async fn defender_alerts_with_message_evidence_are_mapped_across_pages() {
    use graph_server::{CLIENT_SECRET, GraphServer, Settings};
    let dir = tempfile::tempdir().unwrap();
    let server = GraphServer::start(Settings::default());
    let secret = dir.path().join("graph-secret");
    fs::write(&secret, CLIENT_SECRET).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let recent = |mins: i64| {
        (Utc::now() - chrono::Duration::minutes(mins))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let evidence = |mid: &str, rcpt: &str| {
        json!({"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence",
               "internetMessageId": mid, "recipientEmailAddress": rcpt, "verdict": "malicious"})
    };
    for (id, mins, mids) in [
        ("da1", 50, vec!["<d1@evil.test>"]),
        ("da2", 40, vec!["<d2@evil.test>"]),
        ("da3", 30, vec!["<d3@evil.test>", "<d4@evil.test>"]),
    ] {
        let mut ev: Vec<Value> = mids.iter().map(|m| evidence(m, "ann@m365.test")).collect();
        ev.push(evidence(mids[0], "bob@m365.test"));
        ev.push(json!({"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "ann@m365.test"}));
        server.put_security_alert(json!({
            "id": id, "title": "Email messages containing malicious URL removed after delivery",
            "category": "InitialAccess", "determination": "phishing", "classification": "truePositive",
            "status": "new", "severity": "high", "serviceSource": "microsoftDefenderForOffice365",
            "createdDateTime": recent(mins), "lastUpdateDateTime": recent(mins),
            "alertWebUrl": format!("https://security.microsoft.com/alerts/{id}"),
            "evidence": ev,
        }));
    }
    // Outside the first window's look back.
    server.put_security_alert(
        json!({"id": "old", "classification": "truePositive", "lastUpdateDateTime": recent(600),
        "evidence": [evidence("<old@evil.test>", "ann@m365.test")]}),
    );
    let cfg = config(
        dir.path(),
        &format!(
            "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"graph-secret\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\nretry_backoff_ms = 20\ndomains = [\"m365.test\"]\n[alerts.defender]\ntenant = \"m365\"\nlookback = \"1h\"\n",
            graph_server::TENANT,
            graph_server::CLIENT_ID,
            url = server.url
        ),
    );
    let store = Arc::new(Store::open(&dir.path().join("r.db")).unwrap());
    let poller = retractor::alerts::defender::DefenderPoller::new(
        &cfg,
        cfg.alerts.defender.as_ref().unwrap(),
        Arc::clone(&store),
    )
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let as_sink: Arc<dyn AlertSink> = Arc::clone(&sink) as Arc<dyn AlertSink>;
    let step = poller.poll_once(&as_sink).await.unwrap();
    assert!(step.caught_up);
    let got = sink.received();
    let ids: Vec<&str> = got.iter().map(|(a, _)| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "da1:<d1@evil.test>",
            "da2:<d2@evil.test>",
            "da3:<d3@evil.test>",
            "da3:<d4@evil.test>"
        ]
    );
    let first = &got[0].0;
    assert_eq!(
        (
            first.source.as_str(),
            first.classification.as_str(),
            first.status
        ),
        ("defender", "phish", AlertStatus::Active)
    );
    assert_eq!(first.recipients, ["ann@m365.test", "bob@m365.test"]);
    assert_eq!(first.tenant.as_deref(), Some("m365"));
    assert!(store.poller_cursor("defender:m365").unwrap().is_some());

    // Defender classifies da2 a false positive: an update of the same alert.
    let mut updated = json!({"id": "da2", "determination": "phishing", "classification": "falsePositive", "status": "resolved",
        "lastUpdateDateTime": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "createdDateTime": recent(40), "title": "Email messages containing malicious URL removed after delivery",
        "category": "InitialAccess", "severity": "high", "serviceSource": "microsoftDefenderForOffice365",
        "alertWebUrl": "https://security.microsoft.com/alerts/da2"});
    updated["evidence"] = json!([
        evidence("<d2@evil.test>", "ann@m365.test"),
        evidence("<d2@evil.test>", "bob@m365.test")
    ]);
    server.put_security_alert(updated);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    poller.poll_once(&as_sink).await.unwrap();
    let (last, receipt) = sink.received().pop().unwrap();
    assert_eq!(
        (last.id.as_str(), last.status),
        ("da2:<d2@evil.test>", AlertStatus::FalsePositive)
    );
    assert_eq!(receipt.disposition, AlertDisposition::Updated);
}

// ---- `retractor serve` ----

/// The intakes run inside `retractor serve`: the webhook answers on its port (this branch's
/// service has no alert store yet, so its sink refuses and the webhook says 503 rather than
/// acknowledge), the spool is made private beside the store, a file dropped in stays there
/// unacknowledged, and SIGTERM drains the intakes with the rest.
#[tokio::test]
async fn serve_runs_the_intakes_and_drains_them_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("config.toml");
    fs::write(
        &path,
        format!(
            "[store]\npath = \"r.db\"\n[service]\nsocket = \"s.sock\"\n[service.webhook]\nlisten = \"127.0.0.1:{port}\"\ntokens = {{ soar = \"{}\" }}\n",
            hash_token(TOKEN)
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("XDG_STATE_HOME", dir.path().join("xdg"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/alerts");
    let started = Instant::now();
    let (status, answer) = loop {
        match client
            .post(&url)
            .bearer_auth(TOKEN)
            .body(alert_line("e1", "active"))
            .send()
            .await
        {
            Ok(r) => {
                break (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                );
            }
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!(
                "the webhook did not come up: {e}: {}",
                fs::read_to_string(&log).unwrap()
            ),
        }
    };
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("no alert store"),
        "{answer}"
    );
    let (status, _) = post(&client, &url, Some("wrong"), alert_line("e2", "active")).await;
    assert_eq!(status, 401);
    let spool = dir.path().join("alert-spool");
    assert_eq!(
        fs::metadata(&spool).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fs::write(spool.join("x.jsonl"), alert_line("e3", "active")).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        spool.join("x.jsonl").exists(),
        "nothing stored, nothing acknowledged"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop: {}",
            fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code, Some(0), "{}", fs::read_to_string(&log).unwrap());
}
