//! Throttling on the Graph test server, end to end: `Retry-After` obeyed and shown in the
//! job's progress, a throttle that never ends failing the item as throttled out, and a
//! tenant that throttles above a level the engine does not know met at that level.

use super::*;

#[test]
fn throttling_is_obeyed_and_shown_in_the_job_progress() {
    let server = GraphServer::start(Settings::default());
    let to = ["alice@m365.test", "bob@m365.test", "carol@m365.test"];
    for u in to {
        server.add_user(u, UserKind::Member);
        server.deliver(u, "inbox", msg(ROOT, &to, false));
    }
    // alice's move is throttled for 2 s; bob's locate meets two 503s; carol's a 504.
    server.fail(Fault {
        user: Some("alice@m365.test".into()),
        path_contains: Some("/move".into()),
        status: 429,
        code: "ApplicationThrottled".into(),
        retry_after: Some(2),
        times: 1,
    });
    server.fail(Fault {
        user: Some("bob@m365.test".into()),
        path_contains: Some("messages".into()),
        status: 503,
        code: "serviceNotAvailable".into(),
        retry_after: None,
        times: 2,
    });
    server.fail(Fault {
        user: Some("carol@m365.test".into()),
        path_contains: None,
        status: 504,
        code: "UnknownError".into(),
        retry_after: None,
        times: 1,
    });
    // bob's copy vanishes under the first move (ErrorItemNotFound): located again, then moved.
    server.fail(Fault {
        user: Some("bob@m365.test".into()),
        path_contains: Some("/move".into()),
        status: 404,
        code: "ErrorItemNotFound".into(),
        retry_after: None,
        times: 1,
    });
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, queued) = w.json(&["retract", ROOT, "--action", "move-to-junk", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    let job = queued["job"]["id"].as_i64().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .arg("worker")
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut note = None;
    while worker.try_wait().unwrap().is_none() {
        let (_, j) = w.json(&["jobs", &job]);
        if let Some(n) = j["job"]["throttle"].as_str() {
            note = Some(n.to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(worker.wait().unwrap().success());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let note = note.expect("the throttle showed in the job's progress");
    assert!(note.contains("m365 throttled"), "{note}");
    let (_, done) = w.json(&["jobs", &job]);
    for i in items(&done) {
        assert_eq!(i["result"], "remediated", "{i}");
    }
    assert!(folder_of(&server, "alice@m365.test", ROOT)[0].0 == "junkemail");
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn throttling_that_never_ends_fails_the_item_as_throttled_out() {
    let server = GraphServer::start(Settings::default());
    server.add_user("alice@m365.test", UserKind::Member);
    server.deliver(
        "alice@m365.test",
        "inbox",
        msg(ROOT, &["alice@m365.test"], false),
    );
    server.fail(Fault {
        user: Some("alice@m365.test".into()),
        path_contains: None,
        status: 429,
        code: "ApplicationThrottled".into(),
        retry_after: Some(1),
        times: 100,
    });
    let w = world(&server, "");
    let config = fs::read_to_string(w.config()).unwrap();
    fs::write(
        w.config(),
        config.replacen("backoff_ms = 20", "backoff_ms = 20\nmax_attempts = 2", 1),
    )
    .unwrap();
    w.ingest_lines(&[line(ROOT, &["alice@m365.test"])]);
    let started = std::time::Instant::now();
    let (code, job) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    let item = item_for(&items(&job), "alice@m365.test", ROOT).clone();
    assert!(
        item["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("throttled-out"),
        "{item}"
    );
    // The second attempt waited out the first one's Retry-After.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.stats().throttled, 2);
    assert_eq!(folder_of(&server, "alice@m365.test", ROOT)[0].0, "inbox");
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// A `$batch` answer that leaves a sub-request out: asked again, and when it is always left
/// out the call ends with an error naming it instead of asking forever.
#[test]
fn a_server_that_throttles_above_n_in_flight_is_met_at_its_level_without_violations() {
    // The tenant takes 8 requests at once; the engine starts at 16 and does not know that.
    const N: usize = 8;
    const LATENCY: Duration = Duration::from_millis(20);
    let server = GraphServer::start(Settings {
        throttle_above: Some(graph_server::ServerLimit {
            max: N,
            retry_after_secs: 1,
        }),
        ..Settings::default()
    });
    let to: Vec<String> = (0..300).map(|i| format!("user{i:03}@m365.test")).collect();
    let to_refs: Vec<&str> = to.iter().map(String::as_str).collect();
    for u in &to {
        server.add_user(u, UserKind::Member);
        server.deliver(u, "inbox", msg(ROOT, &[u], false));
    }
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &to_refs)]);
    server.set_latency(LATENCY);
    let before = server.stats();
    let started = std::time::Instant::now();
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    let wall = started.elapsed();
    assert_eq!(code, 0, "{job}");
    assert_eq!(
        job["job"]["remediated"].as_u64(),
        Some(300),
        "{}",
        job["job"]
    );
    let moved = to
        .iter()
        .filter(|u| {
            folder_of(&server, u, ROOT)
                .iter()
                .all(|c| c.0 == "junkemail")
        })
        .count();
    assert_eq!(moved, 300);
    assert_eq!(server.violations(), Vec::<String>::new());
    let stats = server.stats();
    assert!(
        stats.over_server_limit > 0,
        "the engine never reached the server's limit: the test tests nothing"
    );
    // N in flight at LATENCY each is the most the server can serve.
    let allowance = N as f64 / LATENCY.as_secs_f64();
    let served = (stats.served - before.served) as f64;
    let share = served / wall.as_secs_f64() / allowance;
    eprintln!(
        "{served} requests in {:.2} s: {:.0}% of {allowance:.0}/s; {} throttled",
        wall.as_secs_f64(),
        share * 100.0,
        stats.over_server_limit
    );
    assert!(
        share > 0.3,
        "throughput {:.0}% of the allowance",
        share * 100.0
    );
}
