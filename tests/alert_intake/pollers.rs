//! The Proofpoint TAP poller against the TAP test server and the Defender poller against
//! the Graph test server.

use super::*;

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
