//! The PostgreSQL store from outside the library, on a real server: claim throughput with one
//! worker beside the SQLite store's (printed; `cargo test --test store_postgres -- --nocapture`
//! shows the figures), every item claimed and finished exactly once on both.

#[path = "common/postgres.rs"]
mod postgres;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use retractor::model::{Action, ItemOutcome, ItemState, JobKind, JobStatus};
use retractor::store::{
    ItemClaims, ItemFinish, JobQueue, NewAudit, NewItem, NewJob, PgStore, Store, StoreRoles,
};

const ITEMS: usize = 3_000;
/// Items claimed at once, as a worker with free slots claims them.
const BATCH: usize = 16;

fn job(store: &dyn StoreRolesDyn) -> i64 {
    let items: Vec<NewItem> = (0..ITEMS)
        .map(|i| NewItem {
            tenant: "t".into(),
            mailbox: format!("u{i}@t.test"),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        })
        .collect();
    store.create(
        &NewJob {
            kind: JobKind::Retract,
            action: Action::Trash,
            initiated_by: "bench".into(),
            ssh_from: None,
            reason: None,
            target: "<m@x>".into(),
            restores_job: None,
            audit: NewAudit {
                actor: "bench".into(),
                role: "analyst".into(),
                action: "retract".into(),
                target: "<m@x>".into(),
                outcome: "queued".into(),
                ..NewAudit::default()
            },
        },
        &items,
    )
}

/// The one call the measurement needs, object-safe over both stores.
trait StoreRolesDyn {
    fn create(&self, job: &NewJob, items: &[NewItem]) -> i64;
}

impl<T: StoreRoles> StoreRolesDyn for T {
    fn create(&self, job: &NewJob, items: &[NewItem]) -> i64 {
        self.create_job(job, items).expect("create job")
    }
}

/// Claim and finish items of `job` as `worker` until none is left; the items it finished.
fn work(store: &impl StoreRoles, worker: &str, job: i64) -> Vec<i64> {
    store.register_worker(worker, "bench", 1).expect("register");
    let mut seen = Vec::new();
    loop {
        let batch = store
            .claim_items(worker, BATCH, Some(&[job]))
            .expect("claim");
        if batch.is_empty() {
            return seen;
        }
        for claimed in batch {
            seen.push(claimed.item.id);
            let finished = store
                .finish_item(&ItemFinish {
                    item: claimed.item.id,
                    worker: claimed.worker.clone(),
                    state: ItemState::Done,
                    outcome: ItemOutcome::Remediated,
                    error: None,
                    placements: Vec::new(),
                    delivery: None,
                    audit: NewAudit {
                        actor: "bench".into(),
                        role: "engine".into(),
                        action: "trash".into(),
                        target: claimed.item.mailbox.clone(),
                        outcome: "remediated".into(),
                        ..NewAudit::default()
                    },
                    acted: true,
                })
                .expect("finish");
            assert!(finished, "the claim held");
        }
    }
}

/// Claim and finish every item with one worker; items per second and the items seen.
fn drain(store: &impl StoreRoles) -> (f64, Vec<i64>) {
    let job = job(store);
    let started = Instant::now();
    let seen = work(store, "bench:1:w", job);
    let rate = seen.len() as f64 / started.elapsed().as_secs_f64();
    assert_eq!(store.job(job).expect("job").status, JobStatus::Done);
    (rate, seen)
}

/// Claimed-and-finished items per second of one job with `workers` threads at once, each
/// with a handle of its own (as separate processes or hosts hold); every item exactly once.
fn rate_with_workers<S: StoreRoles + Send + 'static>(open: impl Fn() -> S, workers: usize) -> f64 {
    let first = open();
    let job = job(&first);
    let start = Arc::new(Barrier::new(workers + 1));
    let threads: Vec<_> = (0..workers)
        .map(|n| {
            let store = open();
            let start = start.clone();
            std::thread::spawn(move || {
                let worker = format!("bench:{n}:w");
                start.wait();
                work(&store, &worker, job)
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    let seen: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("worker thread"))
        .collect();
    let rate = seen.len() as f64 / started.elapsed().as_secs_f64();
    exactly_once(seen);
    assert_eq!(first.job(job).expect("job").status, JobStatus::Done);
    rate
}

/// The middle of three.
fn median_of_three(mut runs: [f64; 3]) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[1]
}

fn exactly_once(mut seen: Vec<i64>) {
    assert_eq!(seen.len(), ITEMS, "every item claimed");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), ITEMS, "no item claimed twice");
}

#[test]
fn one_worker_claims_and_finishes_every_item_once_on_both_stores() {
    let db = postgres::fresh_database();
    let pg = PgStore::open(&db.url.parse().expect("url"), &db.name).expect("open postgres");
    let (pg_rate, pg_seen) = drain(&pg);
    exactly_once(pg_seen);
    assert!(
        retractor::store::AuditTrail::verify_audit(&pg)
            .expect("verify")
            .ok
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(&dir.path().join("r.db")).expect("open sqlite");
    let (sqlite_rate, sqlite_seen) = drain(&sqlite);
    exactly_once(sqlite_seen);

    eprintln!(
        "claimed and finished, 1 worker, batches of {BATCH}, {ITEMS} items: \
         PostgreSQL {pg_rate:.0}/s, SQLite {sqlite_rate:.0}/s"
    );
}

/// The figures: claimed-and-finished items per second with 1, 2 and 3 workers on
/// PostgreSQL (a fresh database each run) and 1 on SQLite, the median of three runs each.
/// `cargo test --test store_postgres -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement of a few minutes; run it by name"]
fn claim_throughput_with_one_two_and_three_workers() {
    let mut line = Vec::new();
    for workers in 1..=3 {
        let runs = [(); 3].map(|_| {
            let db = postgres::fresh_database();
            let config: ::postgres::Config = db.url.parse().expect("url");
            let rate = rate_with_workers(
                || PgStore::open(&config, &db.name).expect("open postgres"),
                workers,
            );
            eprintln!("PostgreSQL, {workers} worker(s): {rate:.0} items/s");
            rate
        });
        line.push(format!(
            "PostgreSQL {workers} worker(s) {:.0}/s",
            median_of_three(runs)
        ));
    }
    let runs = [(); 3].map(|_| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.db");
        let rate = rate_with_workers(|| Store::open(&path).expect("open sqlite"), 1);
        eprintln!("SQLite, 1 worker: {rate:.0} items/s");
        rate
    });
    line.push(format!("SQLite 1 worker {:.0}/s", median_of_three(runs)));
    eprintln!(
        "claimed and finished, batches of {BATCH}, {ITEMS} items, median of 3: {}",
        line.join(", ")
    );
}

/// `[store] sslmode` on the real server (which offers TLS with a `localhost` certificate
/// signed by its test CA): each mode connects when it should, encrypted, and a certificate
/// it must not trust is refused naming the settings.
#[test]
fn tls_connects_as_sslmode_asks_and_refuses_a_certificate_it_cannot_trust() {
    let server = postgres::server();
    let db = postgres::fresh_database();
    let ca = server.ca_file();
    let other = tempfile::tempdir().expect("tempdir");
    postgres::make_certificates(other.path());
    let wrong_ca = other.path().join("ca.pem");
    let open = |host: &str, sslmode: &str, ca_file: Option<&std::path::Path>| {
        let mut store = format!(
            "[store]\nurl = \"postgresql://postgres@{host}:{}/{}\"\nsslmode = \"{sslmode}\"\n",
            server.port, db.name
        );
        if let Some(ca) = ca_file {
            store.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
        }
        let config = retractor::config::Config::parse(&store, &other.path().join("config.toml"))
            .expect("config parses");
        let team = config.team_store.expect("a team store");
        Store::open_team(&team).map_err(|e| e.to_string())
    };
    let encrypted_sessions = || {
        server
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
                     WHERE ssl AND datname = '{}'",
                    db.name
                ),
            )
            .trim()
            .to_string()
    };

    // verify-full with the CA that signed it, by the name the certificate holds.
    let store = open("localhost", "verify-full", Some(&ca)).expect("verify-full connects");
    assert_eq!(encrypted_sessions(), "1", "the session is encrypted");
    // The LISTEN sessions are opened as the store's own was: encrypted too, never in clear.
    assert!(
        store
            .watch_for_work(std::sync::Arc::new(|| {}))
            .expect("listen")
    );
    assert!(
        store
            .watch_progress(std::sync::Arc::new(|_| {}))
            .expect("listen")
    );
    let sessions_of = |query: &str| {
        server
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FILTER (WHERE ssl), count(*) FROM pg_stat_ssl \
                     JOIN pg_stat_activity USING (pid) \
                     WHERE datname = '{}' AND query LIKE '{query}'",
                    db.name
                ),
            )
            .trim()
            .to_string()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sessions_of("LISTEN%") != "2|2" {
        assert!(
            std::time::Instant::now() < deadline,
            "the LISTEN sessions (encrypted|all): {}",
            sessions_of("LISTEN%")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(store);
    // Dropping the handle ends its LISTEN sessions too (each looks at its stop flag twice a
    // second).
    while sessions_of("LISTEN%") != "0|0" {
        assert!(
            std::time::Instant::now() < deadline,
            "LISTEN sessions outlive their store: {}",
            sessions_of("LISTEN%")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // require: encrypted, the certificate not checked (no CA given).
    let store = open("127.0.0.1", "require", None).expect("require connects");
    assert_eq!(encrypted_sessions(), "1", "the session is encrypted");
    drop(store);
    // verify-ca checks the CA, not the name: 127.0.0.1 is not in the certificate.
    open("127.0.0.1", "verify-ca", Some(&ca)).expect("verify-ca connects");

    for (host, sslmode, ca_file, says) in [
        (
            "localhost",
            "verify-full",
            Some(&wrong_ca),
            "invalid peer certificate",
        ),
        (
            "localhost",
            "verify-ca",
            Some(&wrong_ca),
            "invalid peer certificate",
        ),
        (
            "localhost",
            "require",
            Some(&wrong_ca),
            "invalid peer certificate",
        ),
        ("127.0.0.1", "verify-full", Some(&ca), "not valid for name"),
        // The system's roots do not know the test CA (or there are none).
        ("localhost", "verify-full", None, "certificate"),
    ] {
        let err = match open(host, sslmode, ca_file.map(|p| p.as_path())) {
            Ok(_) => panic!("{host} {sslmode} {ca_file:?}: connected"),
            Err(e) => e,
        };
        assert!(err.contains(says), "{host} {sslmode}: {err}");
        assert!(
            err.contains(&format!("[store] sslmode = \"{sslmode}\"")),
            "names the setting: {err}"
        );
        match ca_file {
            Some(file) => assert!(
                err.contains(&format!("[store] ca_file = {}", file.display())),
                "names the CA file: {err}"
            ),
            None => assert!(err.contains("system's trusted CAs"), "{err}"),
        }
    }
}

/// The database's roles as the README sets them up (`contrib/postgres-roles.sql`): the owner
/// migrates the schema; the service's login role runs a job to its end (claims, finishes,
/// the audit chain, a dead worker's row removed) with rows only, and can neither rewrite the
/// audit trail nor change a table.
#[test]
fn the_service_role_runs_on_its_grants_and_cannot_touch_the_audit_trail() {
    let server = postgres::server();
    let db = postgres::fresh_database();
    // Roles are the cluster's, not the database's: named after the database to stay apart.
    let (owner, service) = (format!("{}_owner", db.name), format!("{}_service", db.name));
    server.psql(
        "postgres",
        &format!("CREATE ROLE {owner} LOGIN; CREATE ROLE {service} LOGIN"),
    );
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/postgres-roles.sql");
    server.psql_file(
        &db.name,
        &script,
        &[("owner", &owner), ("service", &service)],
    );
    let url = |role: &str| -> ::postgres::Config {
        format!("postgresql://{role}@127.0.0.1:{}/{}", server.port, db.name)
            .parse()
            .expect("url")
    };

    // Before the owner has migrated, the service cannot create the schema, and says who can.
    let early = PgStore::open(&url(&service), &db.name)
        .err()
        .map(|e| e.to_string());
    assert!(
        early
            .as_deref()
            .is_some_and(|e| e.contains("the role that owns it")),
        "{early:?}"
    );
    drop(PgStore::open(&url(&owner), &db.name).expect("the owner migrates"));
    let store = PgStore::open(&url(&service), &db.name).expect("the service opens");
    let items: Vec<NewItem> = (0..5)
        .map(|i| NewItem {
            tenant: "t".into(),
            mailbox: format!("u{i}@t.test"),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        })
        .collect();
    let created = store
        .create_job(
            &NewJob {
                kind: JobKind::Retract,
                action: Action::Trash,
                initiated_by: "svc".into(),
                ssh_from: None,
                reason: None,
                target: "<m@x>".into(),
                restores_job: None,
                audit: NewAudit {
                    actor: "svc".into(),
                    role: "analyst".into(),
                    action: "retract".into(),
                    target: "<m@x>".into(),
                    outcome: "queued".into(),
                    ..NewAudit::default()
                },
            },
            &items,
        )
        .expect("the service creates a job");
    assert_eq!(work(&store, "svc:1:w", created).len(), 5);
    assert_eq!(store.job(created).expect("job").status, JobStatus::Done);
    store
        .unregister_worker("svc:1:w")
        .expect("a worker's row removed");
    assert!(
        retractor::store::AuditTrail::verify_audit(&store)
            .expect("verify")
            .ok
    );

    for (sql, says) in [
        ("UPDATE audit SET actor = 'mallory'", "append-only"),
        ("DELETE FROM audit", "append-only"),
        ("TRUNCATE audit", "permission denied"),
        ("DROP TABLE audit", "must be owner"),
        (
            "ALTER TABLE audit DISABLE TRIGGER audit_no_update",
            "must be owner",
        ),
        ("CREATE TABLE mine (x int)", "permission denied"),
    ] {
        let refused = server.psql_as(&service, &db.name, sql);
        assert!(
            refused.as_ref().is_err_and(|e| e.contains(says)),
            "{sql}: {refused:?}"
        );
    }
}
