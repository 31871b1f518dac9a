//! The executor against an instrumented backend: retries with back-off, `Retry-After`,
//! the per-mailbox limit, final failures, the credentials circuit breaker, and cancel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Actor, CancelRequest, Engine, RetractRequest, RunOptions};
use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::Config;
use crate::model::{Action, Location, MessageRecord, Role};
use crate::store::{NewItem, NewJob, NewMessage, Store};

/// A mailbox system in memory whose failures are scripted per mailbox.
#[derive(Default)]
struct Scripted {
    /// mailbox -> failures to return, in order, before succeeding.
    failures: Mutex<HashMap<String, Vec<BackendError>>>,
    /// mailbox -> folder the copy is in.
    folders: Mutex<HashMap<String, String>>,
    in_flight: Mutex<HashMap<String, usize>>,
    max_in_flight: AtomicUsize,
    calls: Mutex<Vec<(String, Instant)>>,
    delay: Duration,
    /// mailbox -> the copy's id when not `<mailbox>/1`.
    ids: Mutex<HashMap<String, String>>,
    /// A move gives the copy a new id (EWS, IMAP, Maildir); else ids survive (Graph).
    ids_change_on_move: bool,
    /// mailbox -> the id its copy has after a move whose answer is lost (the server moved
    /// it, the connection dropped before we heard).
    lost_answers: Mutex<HashMap<String, String>>,
    /// The server limits each mailbox's requests in flight (Graph's 4): on a shared store,
    /// one engine at a time works on a mailbox.
    request_limit: bool,
}

impl Scripted {
    fn enter(&self, mailbox: &str) {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(mailbox.to_string()).or_default();
        *n += 1;
        self.max_in_flight.fetch_max(*n, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((mailbox.to_string(), Instant::now()));
    }

    fn leave(&self, mailbox: &str) {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(mailbox) {
            *n -= 1;
        }
    }

    fn id_of(&self, mailbox: &str) -> String {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(mailbox)
            .cloned()
            .unwrap_or_else(|| format!("{mailbox}/1"))
    }

    fn next_failure(&self, mailbox: &str) -> Option<BackendError> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get_mut(mailbox)
            .filter(|v| !v.is_empty())
            .map(|v| v.remove(0))
    }
}

#[async_trait]
impl Backend for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        Ok(vec![])
    }
    async fn locate(&self, mailbox: &MailboxRef, _id: &str) -> Result<Vec<Location>, BackendError> {
        self.enter(&mailbox.address);
        tokio::time::sleep(self.delay).await;
        self.leave(&mailbox.address);
        if let Some(e) = self.next_failure(&mailbox.address) {
            return Err(e);
        }
        let folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        Ok(folders
            .get(&mailbox.address)
            .map(|f| Location {
                folder: f.clone(),
                provider_id: self.id_of(&mailbox.address),
                seen: false,
                flags: String::new(),
                internal_date: None,
                ..Location::default()
            })
            .into_iter()
            .collect())
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ids_survive_move: !self.ids_change_on_move,
            mailbox_request_limit: self.request_limit,
            ..Capabilities::default()
        }
    }
    async fn destination(
        &self,
        _m: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        Ok(match action {
            Action::MoveToJunk => Destination::Folder("Junk".into()),
            _ => Destination::Gone,
        })
    }
    async fn standing(
        &self,
        m: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        let destination = self.destination(m, action).await?;
        Ok(Standing::by_folder(
            &copy.folder,
            action,
            &destination,
            None,
            None,
        ))
    }
    async fn fetch_raw(&self, _m: &MailboxRef, _c: &Location) -> Result<Vec<u8>, BackendError> {
        Ok(b"raw".to_vec())
    }
    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        _a: Action,
    ) -> Result<Applied, BackendError> {
        let mut to = copy.clone();
        to.folder = "Junk".into();
        self.folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(mailbox.address.clone(), "Junk".into());
        let lost = self
            .lost_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&mailbox.address);
        let new_id = match &lost {
            Some(id) => Some(id.clone()),
            None if self.ids_change_on_move => Some(format!("{}-moved", copy.provider_id)),
            None => None,
        };
        if let Some(id) = new_id {
            to.provider_id = id.clone();
            let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            ids.insert(mailbox.address.clone(), id);
        }
        if lost.is_some() {
            return Err(transient(ErrorKind::Unavailable, None));
        }
        Ok(Applied::moved(to, Action::MoveToJunk))
    }
    async fn put_back(
        &self,
        _m: &MailboxRef,
        _cm: &str,
        _c: &Location,
        o: &Location,
    ) -> Result<Location, BackendError> {
        Ok(o.clone())
    }
    async fn scan(
        &self,
        _m: &MailboxRef,
        _f: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        Ok(vec![])
    }
    async fn check(&self) -> CheckReport {
        CheckReport {
            ok: true,
            detail: "scripted".into(),
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    backend: Arc<Scripted>,
}

fn setup(mailboxes: usize, per_mailbox: usize, backend: Scripted) -> Setup {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let store = match Store::open(&dir.path().join("s.db")) {
        Ok(s) => Arc::new(s),
        Err(e) => panic!("{e}"),
    };
    log_message(&store, mailboxes);
    let backend = Arc::new(backend);
    let engine = engine_on(store, dir.path(), (mailboxes, per_mailbox), &backend);
    Setup {
        _dir: dir,
        engine,
        backend,
    }
}

/// Log `<m@x>` as delivered to `mailboxes` mailboxes `u0@t.test`, ...
fn log_message(store: &Store, mailboxes: usize) {
    let to: Vec<String> = (0..mailboxes).map(|n| format!("u{n}@t.test")).collect();
    let record = MessageRecord {
        message_id: "<m@x>".into(),
        from: "evil@x".into(),
        to: to.clone(),
        cc: vec![],
        subject: "s".into(),
        received_at: chrono::Utc::now(),
        disposition: None,
        in_reply_to: None,
        references: vec![],
        size: None,
        tenant: Some("t".into()),
        source_id: None,
    };
    let recipients = to.iter().map(|r| (r.clone(), false)).collect();
    if let Err(e) = store.insert_messages(&[NewMessage {
        record: &record,
        tenant: "t",
        recipients,
    }]) {
        panic!("{e}");
    }
}

/// An engine on `store` whose tenant `t` is `backend`, every copy of `mailboxes` mailboxes in
/// its INBOX (a second engine on the same store stands in for another host's).
fn engine_on(
    store: Arc<Store>,
    dir: &std::path::Path,
    (mailboxes, per_mailbox): (usize, usize),
    backend: &Arc<Scripted>,
) -> Arc<Engine> {
    let text = format!(
        "[engine]\nbackoff_ms = 10\nmax_attempts = 3\nper_mailbox = {per_mailbox}\n\
         [tenants.t]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"t.test\"]\n"
    );
    let config = match Config::parse(&text, &dir.join("c.toml")) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("{e}"),
    };
    for n in 0..mailboxes {
        backend
            .folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(format!("u{n}@t.test"))
            .or_insert_with(|| "INBOX".into());
    }
    let actor = Actor {
        login: "tester".into(),
        ssh_from: None,
        role: Role::Admin,
    };
    let mut engine = Engine::new(config, store, actor);
    engine.set_backend("t", backend.clone());
    Arc::new(engine)
}

async fn submit(s: &Setup) -> i64 {
    let plan = s
        .engine
        .plan_retract(&RetractRequest {
            message: "<m@x>".into(),
            recipients: vec![],
            exclude: vec![],
            depth: 0,
            action: Action::MoveToJunk,
            reason: None,
            max_items: None,
        })
        .await;
    match plan.and_then(|p| s.engine.submit(&p)) {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    }
}

fn transient(kind: ErrorKind, retry_after: Option<Duration>) -> BackendError {
    BackendError {
        kind,
        detail: "scripted".into(),
        retry_after,
    }
}

#[tokio::test]
async fn transient_failures_are_retried_after_their_retry_after() {
    let backend = Scripted::default();
    backend
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![
                transient(ErrorKind::Throttled, Some(Duration::from_millis(300))),
                transient(ErrorKind::Unavailable, None),
            ],
        );
    let s = setup(3, 4, backend);
    let job = submit(&s).await;
    let summary = s
        .engine
        .run(RunOptions {
            job: Some(job),
            follow: false,
        })
        .await;
    let summary = match summary {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(summary.retried, 2);
    let items = s.engine.store().job_items(job).unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|i| i.outcome == Some(crate::model::ItemOutcome::Remediated)),
        "{items:?}"
    );
    let u0 = items
        .iter()
        .find(|i| i.mailbox == "u0@t.test")
        .map(|i| i.attempts);
    assert_eq!(u0, Some(3));
    // The second attempt came no sooner than the provider's Retry-After.
    let calls = s
        .backend
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let u0_calls: Vec<Instant> = calls
        .iter()
        .filter(|(m, _)| m == "u0@t.test")
        .map(|(_, t)| *t)
        .collect();
    assert!(u0_calls.len() >= 2);
    assert!(u0_calls[1].duration_since(u0_calls[0]) >= Duration::from_millis(300));
}

async fn run_to_end(s: &Setup, job: i64) -> (crate::model::Job, Vec<crate::model::JobItem>) {
    run_job(s, job).await;
    match (s.engine.store().job(job), s.engine.store().job_items(job)) {
        (Ok(j), Ok(items)) => (j, items),
        _ => panic!("job {job} unreadable"),
    }
}

async fn run_job(s: &Setup, job: i64) {
    if let Err(e) = s
        .engine
        .run(RunOptions {
            job: Some(job),
            follow: false,
        })
        .await
    {
        panic!("{e}");
    }
}

#[tokio::test]
async fn exhausted_retries_fail_the_item_and_say_why() {
    let backend = Scripted::default();
    backend
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![transient(ErrorKind::Timeout, None); 5],
        );
    let s = setup(2, 1, backend);
    let job = submit(&s).await;
    let (j, items) = run_to_end(&s, job).await;
    assert_eq!((j.counts.failed, j.counts.remediated), (1, 1));
    assert_eq!(j.status, crate::model::JobStatus::Partial);
    let error = items
        .iter()
        .find(|i| i.mailbox == "u0@t.test")
        .and_then(|i| i.error.clone())
        .unwrap_or_default();
    assert!(
        error.starts_with("timeout:") && error.contains("after 3 attempts"),
        "{error}"
    );
}

#[tokio::test]
async fn refused_credentials_stop_the_tenant_instead_of_retrying() {
    let backend = Scripted {
        delay: Duration::from_millis(20),
        ..Scripted::default()
    };
    backend
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![transient(ErrorKind::AuthFailed, None)],
        );
    let s = setup(30, 1, backend);
    let job = submit(&s).await;
    let (j, items) = run_to_end(&s, job).await;
    assert!(
        items
            .iter()
            .filter(|i| i.state == crate::model::ItemState::Failed)
            .all(|i| i
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("auth-failed:")))
    );
    // Items claimed after the refusal never reached the server.
    let calls = s
        .backend
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    assert!(
        calls < 30,
        "{calls} calls: the breaker did not stop the tenant"
    );
    assert_eq!(j.counts.failed as usize + j.counts.remediated as usize, 30);
}

#[tokio::test]
async fn cancel_leaves_done_items_done_and_queued_ones_cancelled() {
    let s = setup(5, 4, Scripted::default());
    let job = submit(&s).await;
    let cancelled = match s.engine.cancel(&CancelRequest { job }) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(cancelled, 5);
    let summary = s
        .engine
        .run(RunOptions {
            job: None,
            follow: false,
        })
        .await
        .map(|x| x.finished)
        .unwrap_or(99);
    assert_eq!(summary, 0, "nothing runs after a cancel");
    let j = match s.engine.store().job(job) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(j.status, crate::model::JobStatus::Cancelled);
    assert_eq!(j.counts.skipped, 5);
    assert!(
        s.engine.cancel(&CancelRequest { job }).is_err(),
        "a finished job cannot be cancelled again"
    );
}

fn locate_calls(s: &Setup, mailbox: &str) -> usize {
    s.backend
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(m, _)| m == mailbox)
        .count()
}

fn item_of(s: &Setup, job: i64, mailbox: &str) -> crate::model::JobItem {
    let items = s.engine.store().job_items(job).unwrap_or_default();
    match items.into_iter().find(|i| i.mailbox == mailbox) {
        Some(i) => i,
        None => panic!("no item for {mailbox}"),
    }
}

#[tokio::test]
async fn cancel_is_final_for_items_waiting_to_retry() {
    let s = setup(2, 4, Scripted::default());
    let job = submit(&s).await;
    // u0 had one attempt that failed and waits to retry in 300 ms.
    let store = s.engine.store();
    let claimed = match store.claim_items("host:1:a", 1, Some(&[job])) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(claimed.len(), 1);
    let waiting = claimed[0].item.id;
    let due = Duration::from_millis(300);
    assert_eq!(
        store
            .requeue_item(waiting, "host:1:a", due, "attempt 1: timeout")
            .ok(),
        Some(crate::store::Requeued::Queued)
    );
    assert_eq!(
        s.engine.cancel(&CancelRequest { job }).ok(),
        Some(2),
        "both queued items end"
    );
    let summary = s
        .engine
        .run(RunOptions {
            job: None,
            follow: false,
        })
        .await
        .map(|x| x.finished)
        .unwrap_or(99);
    assert_eq!(summary, 0, "nothing of a cancelled job runs");
    assert_eq!(locate_calls(&s, &claimed[0].item.mailbox), 0);
    let items = store.job_items(job).unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|i| i.state == crate::model::ItemState::Cancelled),
        "{items:?}"
    );
    let j = store.job(job).ok();
    assert_eq!(
        j.map(|j| (j.status, j.finished_at.is_some())),
        Some((crate::model::JobStatus::Cancelled, true))
    );
}

#[tokio::test]
async fn an_item_in_flight_at_the_cancel_that_then_fails_ends_cancelled_not_retried() {
    let backend = Scripted {
        delay: Duration::from_millis(300),
        ..Scripted::default()
    };
    backend
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![transient(ErrorKind::Timeout, None)],
        );
    let s = setup(1, 4, backend);
    let job = submit(&s).await;
    let engine = Arc::clone(&s.engine);
    let run = tokio::spawn(async move {
        engine
            .run(RunOptions {
                job: Some(job),
                follow: false,
            })
            .await
    });
    // Cancel while u0's first attempt is in flight (the backend takes 300 ms to answer).
    let started = Instant::now();
    while locate_calls(&s, "u0@t.test") == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        s.engine.cancel(&CancelRequest { job }).ok(),
        Some(0),
        "nothing was queued"
    );
    match run.await {
        Ok(Ok(_)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(locate_calls(&s, "u0@t.test"), 1, "not tried again");
    let item = item_of(&s, job, "u0@t.test");
    assert_eq!(
        (item.state, item.outcome),
        (
            crate::model::ItemState::Cancelled,
            Some(crate::model::ItemOutcome::Cancelled)
        )
    );
    let audit = s
        .engine
        .store()
        .audit_entries(&crate::store::AuditFilter {
            job: Some(job),
            ..Default::default()
        })
        .unwrap_or_default();
    assert!(
        audit
            .iter()
            .any(|a| a.outcome == "cancelled" && a.target.starts_with("u0@t.test")),
        "the item's end is audited: {audit:?}"
    );
}

#[tokio::test]
async fn a_worker_whose_lease_may_have_lapsed_does_not_act() {
    let s = setup(1, 4, Scripted::default());
    let job = submit(&s).await;
    let store = s.engine.store();
    let worker = "host:1:paused";
    if let Err(e) = store.register_worker(worker, "host", 1) {
        panic!("{e}");
    }
    let claimed = match store.claim_items(worker, 1, Some(&[job])) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(claimed.len(), 1);
    // The store still sees a fresh heartbeat, but by the worker's own monotonic clock its
    // last renewal was 9 s ago out of a 10 s lease: it may have lapsed, so no act.
    let Some(long_ago) = Instant::now().checked_sub(Duration::from_secs(9)) else {
        return;
    };
    let lease = super::executor::Lease::new(worker, Duration::from_secs(10), long_ago);
    let step = s.engine.process(&claimed[0], &lease).await;
    assert!(matches!(step, Ok(super::item::Step::Retried)));
    let folder = s
        .backend
        .folders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get("u0@t.test")
        .cloned();
    assert_eq!(folder.as_deref(), Some("INBOX"), "not moved");
    // Still its claim: given back to the queue, not lost.
    let item = item_of(&s, job, "u0@t.test");
    assert_eq!(item.state, crate::model::ItemState::Queued);

    // A fresh lease but a claim another worker has taken over: no act either.
    let claimed = match store.claim_items(worker, 1, Some(&[job])) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = store.reclaim_orphans(0, &|_, _| true) {
        panic!("{e}");
    }
    if let Err(e) = store.claim_items("host:2:other", 1, Some(&[job])) {
        panic!("{e}");
    }
    let lease = super::executor::Lease::new(worker, Duration::from_secs(10), Instant::now());
    let step = s.engine.process(&claimed[0], &lease).await;
    assert!(matches!(step, Ok(super::item::Step::Retried)));
    let item = item_of(&s, job, "u0@t.test");
    assert_eq!(
        (item.state, item.outcome),
        (crate::model::ItemState::Claimed, None),
        "the other worker's claim is untouched"
    );
    let folder = s
        .backend
        .folders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get("u0@t.test")
        .cloned();
    assert_eq!(folder.as_deref(), Some("INBOX"), "not moved");
}

#[tokio::test]
async fn a_job_whose_stored_action_is_unknown_acts_on_no_mailbox() {
    let s = setup(2, 1, Scripted::default());
    let job = submit(&s).await;
    // What a newer version or a damaged store might hold; once read as move-to-junk.
    crate::store::testutil::overwrite(s.engine.store(), "jobs", "action", job, "shred");
    run_job(&s, job).await;
    for mailbox in ["u0@t.test", "u1@t.test"] {
        assert_eq!(locate_calls(&s, mailbox), 0, "{mailbox} was touched");
        let folder = s
            .backend
            .folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mailbox)
            .cloned();
        assert_eq!(folder.as_deref(), Some("INBOX"));
    }
    let items = s.engine.store().job_items(job).unwrap_or_default();
    assert_eq!(items.len(), 2);
    for i in &items {
        assert_eq!(i.state, crate::model::ItemState::Failed);
        let error = i.error.as_deref().unwrap_or_default();
        assert!(error.contains("jobs.action of row"), "{error}");
    }
}

/// The server moved the copy but its answer was lost: the next attempt finds the copy at the
/// destination and completes the placement, by the pre-act handle's id where ids survive a
/// move, and whatever its new id where they do not (EWS). A copy at the destination with
/// another id, on a system whose ids survive moves, is not this placement's copy.
#[tokio::test]
async fn a_lost_answer_completes_the_placement_by_what_the_backend_says_of_ids() {
    for (ids_change_on_move, id_after, completed) in [
        (true, "u0@t.test/new", true),
        (false, "u0@t.test/1", true),
        (false, "u0@t.test/someone-else", false),
    ] {
        let backend = Scripted {
            ids_change_on_move,
            ..Scripted::default()
        };
        backend
            .lost_answers
            .lock()
            .unwrap()
            .insert("u0@t.test".into(), id_after.into());
        let s = setup(1, 1, backend);
        let job = submit(&s).await;
        let (_, items) = run_to_end(&s, job).await;
        let item = &items[0];
        assert_eq!(
            item.outcome,
            Some(crate::model::ItemOutcome::AlreadyInDestination),
            "{item:?}"
        );
        assert_eq!(item.placements.len(), 1, "{item:?}");
        let p = &item.placements[0];
        assert_eq!(p.from.provider_id, "u0@t.test/1");
        let to =
            p.to.as_ref()
                .map(|l| (l.folder.as_str(), l.provider_id.as_str()));
        let expected = completed.then_some(("Junk", id_after));
        assert_eq!(to, expected, "ids change on move: {ids_change_on_move}");
    }
}

/// A sweep job of `per_mailbox_items` items in each of the setup's first three mailboxes.
fn load_job(store: &Store, tag: &str, per_mailbox_items: usize) -> i64 {
    let items: Vec<NewItem> = (0..per_mailbox_items * 3)
        .map(|n| NewItem {
            tenant: "t".into(),
            mailbox: format!("u{}@t.test", n % 3),
            message_id: format!("<{tag}{n}@x>"),
            ..NewItem::default()
        })
        .collect();
    write_job(
        store,
        crate::model::JobKind::Sweep,
        Action::Trash,
        tag,
        &items,
    )
}

/// Write a job of `items` as the tester, past the planner; its id.
fn write_job(
    store: &Store,
    kind: crate::model::JobKind,
    action: Action,
    target: &str,
    items: &[NewItem],
) -> i64 {
    let job = NewJob {
        kind,
        action,
        initiated_by: "tester".into(),
        ssh_from: None,
        reason: None,
        target: target.into(),
        restores_job: None,
        audit: crate::store::NewAudit::default(),
    };
    match store.create_job(&job, items) {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    }
}

mod shared_limits;
