//! The webhook: 202, 400 with line and field, 401, 413, 503, TLS, and its sustained rate.

use super::*;

pub(crate) const TOKEN: &str = "soar-token-1234";

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

pub(crate) async fn post(
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
    crate::tls::make_certificates(dir.path());
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

/// Clients posting at once in the rate measurement through `retractor serve`.
const RATE_CLIENTS: usize = 8;
/// How long each batch size is posted for.
const RATE_FOR: Duration = Duration::from_secs(20);
/// Fresh services measured; the median is the figure.
const RATE_RUNS: usize = 3;

/// What one batch size reached in one run.
struct Rate {
    per_request: usize,
    accepted: u64,
    secs: f64,
}

impl Rate {
    fn per_minute(&self) -> f64 {
        self.accepted as f64 / self.secs * 60.0
    }
}

/// `RATE_CLIENTS` clients posting `per_request` alerts a request for `RATE_FOR`; every answer
/// must be a 202 whose alerts are all new.
async fn post_for(client: &reqwest::Client, url: &str, per_request: usize, run: usize) -> Rate {
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..RATE_CLIENTS {
        let (client, url) = (client.clone(), url.to_string());
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < RATE_FOR {
                let body: Vec<String> = (0..per_request)
                    .map(|k| alert_line(&format!("s{run}-{per_request}-{c}-{n}-{k}"), "active"))
                    .collect();
                let (status, answer) = post(&client, &url, Some(TOKEN), body.join("\n")).await;
                assert_eq!(status, 202, "{answer}");
                let accepted = answer["accepted"].as_array().expect("accepted");
                assert_eq!(accepted.len(), per_request, "{answer}");
                assert!(
                    accepted.iter().all(|a| a["disposition"] == "new"),
                    "{answer}"
                );
                n += per_request as u64;
            }
            n
        }));
    }
    let mut accepted = 0;
    for c in clients {
        accepted += c.await.unwrap();
    }
    Rate {
        per_request,
        accepted,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// The sustained rate through `retractor serve` itself: its TLS webhook (the test
/// certificate), its real SQLite store and its decider deciding each alert as it comes
/// (no rule matches: "no action"). Per run, a fresh service; 8 clients post one alert a
/// request for 20 s, then 100 a request for 20 s; the service is stopped and the store's own
/// count must equal what was acknowledged (none lost, none twice). Prints alerts/minute per
/// run and the median of the runs, and how long the decider took to catch up.
/// `cargo test --test alert_intake -- --ignored --nocapture webhook_rate_through_serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
async fn webhook_rate_through_serve() {
    let mut rates: Vec<Vec<Rate>> = Vec::new();
    for run in 0..RATE_RUNS {
        let dir = tempfile::tempdir().unwrap();
        crate::tls::make_certificates(dir.path());
        fs::set_permissions(
            dir.path().join("key.pem"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let port = free_port();
        let serve = Serve::start(
            dir.path(),
            &format!(
                "[store]\npath = \"r.db\"\n[service]\nsocket = \"s.sock\"\n[service.webhook]\n\
                 listen = \"127.0.0.1:{port}\"\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n\
                 tokens = {{ soar = \"{}\" }}\n",
                hash_token(TOKEN)
            ),
        );
        let ca =
            reqwest::Certificate::from_pem(&fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let url = format!("https://localhost:{port}/v1/alerts");
        let (status, answer) = serve
            .first_post(&client, &url, alert_line(&format!("warm-{run}"), "active"))
            .await;
        assert_eq!(status, 202, "{answer}");
        let mut this_run = Vec::new();
        for per_request in [1usize, 100] {
            this_run.push(post_for(&client, &url, per_request, run).await);
        }
        let acknowledged: u64 = 1 + this_run.iter().map(|r| r.accepted).sum::<u64>();
        // The decider works beside the intake; how long it takes to decide what is left.
        let store = Store::open(&dir.path().join("r.db")).unwrap();
        let posted = Instant::now();
        loop {
            let counts = store.alert_counts().unwrap();
            if counts.undecided == 0 || posted.elapsed() > Duration::from_secs(300) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let catch_up = posted.elapsed().as_secs_f64();
        let log = serve.log.clone();
        assert_eq!(
            serve.stop().await,
            Some(0),
            "{}",
            fs::read_to_string(&log).unwrap()
        );
        let counts = store.alert_counts().unwrap();
        assert_eq!(
            counts.alerts, acknowledged,
            "every acknowledged alert stored, once"
        );
        assert_eq!(counts.revisions, acknowledged, "{counts:?}");
        for r in &this_run {
            println!(
                "run {}: {} alerts in {:.1} s, {} per request, {RATE_CLIENTS} clients over TLS: {:.0} alerts/minute",
                run + 1,
                r.accepted,
                r.secs,
                r.per_request,
                r.per_minute()
            );
        }
        println!(
            "run {}: {acknowledged} acknowledged = {} stored; {} decided, the decider {catch_up:.1} s behind at the end",
            run + 1,
            counts.alerts,
            counts.decisions
        );
        rates.push(this_run);
    }
    for (i, per_request) in [1usize, 100].iter().enumerate() {
        let mut per_minute: Vec<f64> = rates.iter().map(|r| r[i].per_minute()).collect();
        per_minute.sort_by(f64::total_cmp);
        println!(
            "median of {RATE_RUNS} runs, {per_request} per request: {:.0} alerts/minute (runs: {per_minute:.0?})",
            per_minute[per_minute.len() / 2]
        );
    }
}
