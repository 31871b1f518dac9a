//! Several `retractor serve` processes on one PostgreSQL store, each with its own state
//! directory, config, socket and copy of the service key, standing in for the services of
//! several jump hosts (issue 18): one job spread over three services, one of them killed -9
//! mid-job; three services keeping to one Graph mailbox's limit together (the Graph test
//! server, `tests/graph_server`, counts what all three send); a console on one service
//! following a job started through another; and the claim throughput with one, two and three
//! services (ignored: a measurement). Needs root (useradd, runuser), tmux and Debian's
//! PostgreSQL.

mod common;
mod graph_server;
#[path = "service/pane.rs"]
mod pane;
#[path = "service/site.rs"]
mod site;
#[path = "service/team.rs"]
mod team;
#[path = "common/postgres.rs"]
mod testpg;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pane::Pane;
use site::{VIEWER, is_root};
use team::{Team, worker_pid};

/// The mailboxes of the kill test in CI: big enough that every service works and the kill
/// lands mid-job, small enough to take seconds (the 30,000 of the issue is the ignored twin).
const CI_MAILBOXES: usize = 1_000;

#[test]
fn three_services_share_a_job_one_is_killed_and_every_copy_moves_once() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    spread_over_three_services_with_one_killed(CI_MAILBOXES);
}

/// The size: `cargo test --test team_services thirty_thousand -- --ignored --nocapture`.
#[test]
#[ignore = "a 30,000-mailbox run of minutes; the CI version has 1,000"]
fn thirty_thousand_mailboxes_over_three_services_one_killed() {
    assert!(is_root(), "needs root (useradd, runuser)");
    spread_over_three_services_with_one_killed(30_000);
}

/// Engine records of `job` written by the worker in process `pid`, read from the database
/// itself (cheap, and the service under test is not asked to observe itself).
fn finished_by(db: &mut ::postgres::Client, job: i64, pid: &str) -> i64 {
    let pattern = format!("%(worker %:{pid}:%");
    db.query_one(
        "SELECT count(*) FROM audit WHERE job = $1 AND role = 'engine' AND detail LIKE $2",
        &[&job, &pattern],
    )
    .map(|row| row.get::<_, i64>(0))
    .expect("count the records")
}

fn spread_over_three_services_with_one_killed(mailboxes: usize) {
    let set_up = Instant::now();
    let team = Team::new(3, mailboxes, "");
    let services = team.start_all();
    let pids: Vec<String> = services.iter().map(|s| s.pid()).collect();
    let logs = || {
        services
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    eprintln!(
        "{mailboxes} mailboxes, 3 services up in {:.1} s",
        set_up.elapsed().as_secs_f64()
    );
    let mut db = ::postgres::Client::connect(&team.db.url, ::postgres::NoTls).expect("database");

    let started = Instant::now();
    let job = team.queue_retract(0);
    // Kill the second service once it has finished some items, well before the end.
    let enough = (mailboxes / 100).max(20) as i64;
    loop {
        let by_b = finished_by(&mut db, job, &pids[1]);
        if by_b >= enough {
            let all = finished_by(&mut db, job, "%");
            assert!(
                all < mailboxes as i64 * 3 / 4,
                "the job is nearly done ({all} of {mailboxes}): not a mid-job kill"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the second service finished no items (all: {}; job: {}): {}",
            finished_by(&mut db, job, "%"),
            team.hosts[0].job_summary(job),
            logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    services[1].signal("-KILL");
    let mut services = services;
    let killed = services.remove(1);
    assert_eq!(
        killed.wait(Duration::from_secs(10)),
        Some(137), // runuser: 128 + SIGKILL
        "killed by a signal"
    );
    let limit = Duration::from_secs(120 + mailboxes as u64 / 20);
    team.wait_done(0, job, limit, &|| {
        services
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    });
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "job of {mailboxes} items over 3 services (one killed -9): {took:.1} s, {:.0} items/s",
        mailboxes as f64 / took
    );

    let checked = Instant::now();
    team.assert_every_copy_moved_once();
    // One engine record per item, each naming the worker that finished it: all three did
    // work, and nobody else did.
    let records = team.engine_records(2, job);
    assert_eq!(records.len(), mailboxes, "one engine record per item");
    let mut by_pid: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        *by_pid
            .entry(worker_pid(r).unwrap_or_else(|| panic!("no worker in {r}")))
            .or_default() += 1;
    }
    eprintln!(
        "items finished by each service (pid: items): {by_pid:?}; copies and records checked in {:.1} s",
        checked.elapsed().as_secs_f64()
    );
    for pid in &pids {
        assert!(
            by_pid.get(pid).is_some_and(|n| *n > 0),
            "service {pid} finished nothing: {by_pid:?}"
        );
    }
    assert_eq!(by_pid.len(), 3, "only the three services acted: {by_pid:?}");
    let summary = team.hosts[2].job_summary(job);
    assert_eq!(
        summary["counts"]["remediated"].as_u64(),
        Some(mailboxes as u64),
        "{summary}"
    );

    // The trail verifies through a surviving service with its own key, and through the
    // other with the key the killed service held (one key copied to every host: each of the
    // three signed records of this job).
    let checked = Instant::now();
    let own = team.hosts[2].json(&["audit", "verify"]);
    assert_eq!(own["ok"], true, "{}: {own}", team.hosts[2].name);
    assert!(
        own["signed"].as_u64().unwrap_or(0) >= mailboxes as u64,
        "{own}"
    );
    let b_key = team.hosts[1].state().join("service.pub");
    let verdict = team.hosts[0].json(&["audit", "verify", "--key", b_key.to_str().expect("utf-8")]);
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["key"], own["key"], "one key for the team");
    eprintln!(
        "audit verified twice in {:.1} s",
        checked.elapsed().as_secs_f64()
    );
}

/// Messages in each Graph mailbox of [`three_services_keep_to_one_graph_mailboxs_limit_together`].
const GRAPH_MESSAGES: usize = 30;

#[test]
fn three_services_keep_to_one_graph_mailboxs_limit_together() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    use graph_server::{GraphServer, NewMessage, Settings, UserKind};
    // Every request answered after 25 ms, and one sweep of 120 items: each service claims
    // dozens at once, several in each mailbox, and the three, each keeping to 4 requests per
    // mailbox alone, would send up to 12 to one mailbox together.
    let server = GraphServer::start(Settings {
        latency: Duration::from_millis(25),
        ..Settings::default()
    });
    let team = Team::new(3, 1, "");
    let secrets = team.shared_dir("graph");
    let tenant = format!(
        "\n[tenants.m365]\n{}domains = [\"m365.test\"]\n",
        server.tenant_config(&secrets)
    );
    team.give_to_service(&secrets);
    team.append_config(&tenant);
    let users = [
        "ann@m365.test",
        "bob@m365.test",
        "cy@m365.test",
        "di@m365.test",
    ];
    for user in users {
        server.add_user(user, UserKind::Member);
    }
    let mids: Vec<String> = (0..GRAPH_MESSAGES)
        .map(|i| format!("<limit-{i}@bad.example>"))
        .collect();
    for mid in &mids {
        for user in users {
            server.deliver(
                user,
                "inbox",
                NewMessage {
                    internet_message_id: mid.clone(),
                    from: "hr@bad.example".into(),
                    to: users.iter().map(|u| u.to_string()).collect(),
                    subject: "Payroll".into(),
                    ..NewMessage::default()
                },
            );
        }
    }
    let services = team.start_all();
    let logs = || {
        services
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let started = Instant::now();
    let sweep = team.hosts[0].json(&[
        "sweep",
        "--tenant",
        "m365",
        "--subject",
        "Payroll",
        "--action",
        "move-to-junk",
        "--yes",
    ]);
    let job = sweep["job"]["id"].as_i64().expect("job id");
    team.wait_done(0, job, Duration::from_secs(180), &logs);
    let mut by_pid: BTreeMap<String, usize> = BTreeMap::new();
    for r in team.engine_records(0, job) {
        *by_pid
            .entry(worker_pid(&r).unwrap_or_default())
            .or_default() += 1;
    }
    eprintln!("items finished by each service (pid: items): {by_pid:?}");
    assert!(by_pid.len() >= 2, "one service did it all: {by_pid:?}");
    let stats = server.stats();
    eprintln!(
        "{} items over 3 services in {:.1} s; most requests in flight to one mailbox: {}",
        GRAPH_MESSAGES * users.len(),
        started.elapsed().as_secs_f64(),
        stats.max_in_flight
    );
    assert_eq!(server.violations(), Vec::<String>::new(), "{}", logs());
    assert!(
        (1..=4).contains(&stats.max_in_flight),
        "{} requests in flight to one mailbox",
        stats.max_in_flight
    );
    for user in users {
        let copies = server.copies(user);
        assert_eq!(copies.len(), GRAPH_MESSAGES, "{user}: {copies:?}");
        assert!(
            copies.iter().all(|(folder, ..)| folder == "junkemail"),
            "{user}: {copies:?}"
        );
    }
}

#[test]
fn a_console_on_one_service_shows_live_a_job_started_through_another() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let team = Team::new(2, 300, "");
    let services = team.start_all();
    let console = Pane::connect_to(&team.hosts[0].socket(), VIEWER);
    console.wait_for("Messages 1 of 1");
    console.keys(&["2"]);
    console.wait_for("Operations: 0 jobs");

    // Started through the other host's service; no key is pressed in this console from here.
    let job = team.queue_retract(1);
    let screen = console.wait("the job on the other service", |s| {
        s.contains("Operations: 1 jobs") && s.lines().any(|l| l.contains("retract"))
    });
    eprintln!("first seen:\n{screen}");
    console.wait("the job done", |s| {
        s.lines()
            .any(|l| l.contains("retract") && l.contains("done"))
    });
    team.wait_done(0, job, Duration::from_secs(60), &|| {
        services
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    });
    console.keys(&["q"]);
    assert_eq!(console.exit_status(), 0);
}

/// Claimed (and finished) items per second with 1, 2 and 3 services on one job:
/// `cargo test --test team_services claim_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: nine 1,000-mailbox jobs"]
fn claim_throughput_with_one_two_and_three_services() {
    assert!(is_root(), "needs root (useradd, runuser)");
    const ITEMS: usize = 1_000;
    const ROUNDS: usize = 3;
    let mut report = Vec::new();
    for services in 1..=3 {
        let mut rates = Vec::new();
        for _ in 0..ROUNDS {
            let team = Team::new(services, ITEMS, "");
            let running = team.start_all();
            let started = Instant::now();
            let job = team.queue_retract(0);
            team.wait_done(0, job, Duration::from_secs(600), &|| {
                running
                    .iter()
                    .map(|s| s.log())
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            });
            rates.push(ITEMS as f64 / started.elapsed().as_secs_f64());
            team.assert_every_copy_moved_once();
        }
        rates.sort_by(f64::total_cmp);
        // The machine's load, for the report: the figures mean little without it.
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let line = format!(
            "{services} service(s): median {:.0} items/s (runs {:?}; load {})",
            rates[rates.len() / 2],
            rates.iter().map(|r| r.round() as i64).collect::<Vec<_>>(),
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        eprintln!("{line}");
        report.push(line);
    }
    eprintln!("{}", report.join("\n"));
}
