//! The plan book's rules, directly and through [`Local`] over a real store and a real
//! Maildir tenant: a plan is only its maker's, only for a while, and only with the answer
//! its confirmation asks for.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::model::{Action, JobKind, Role};
use crate::store::Store;

fn plan(action: Action) -> Plan {
    Plan {
        kind: JobKind::Retract,
        action,
        target: "<m@x>".into(),
        reason: None,
        items: Vec::new(),
        by_depth: Vec::new(),
        notes: Vec::new(),
        restores_job: None,
        already_there: Default::default(),
    }
}

fn confirmation(action: Action) -> Confirmation {
    Confirmation::for_action(action, "Retract?".into())
}

#[test]
fn another_caller_cannot_submit_my_plan_and_it_stays_mine() {
    let book = PlanBook::default();
    let id = book.keep("alice", plan(Action::Trash), confirmation(Action::Trash));
    let err = book.take(&id, "mallory", "y").expect_err("refused");
    assert_eq!(err.exit_code(), crate::cli::exit::REFUSED, "{err:?}");
    assert!(err.message.contains("another user"), "{}", err.message);
    assert!(
        !err.message.contains("alice"),
        "names no owner: {}",
        err.message
    );
    assert!(
        book.take(&id, "alice", "y").is_ok(),
        "still alice's to submit"
    );
    let again = book.take(&id, "alice", "y").expect_err("taken once");
    assert_eq!(again.exit_code(), crate::cli::exit::BAD_INPUT);
}

#[test]
fn an_expired_plan_is_refused() {
    let book = PlanBook::new(Duration::from_millis(20), 8);
    let id = book.keep("alice", plan(Action::Trash), confirmation(Action::Trash));
    std::thread::sleep(Duration::from_millis(40));
    let err = book.take(&id, "alice", "y").expect_err("expired");
    assert_eq!(err.exit_code(), crate::cli::exit::BAD_INPUT, "{err:?}");
    assert!(err.message.contains("expired"), "{}", err.message);
}

#[test]
fn a_wrong_confirmation_word_is_refused_and_the_right_one_accepted() {
    let book = PlanBook::default();
    let action = Action::HardDelete;
    let id = book.keep("alice", plan(action), confirmation(action));
    for wrong in ["y", "yes", "Delete", ""] {
        let err = book.take(&id, "alice", wrong).expect_err("refused");
        assert_eq!(
            err.exit_code(),
            crate::cli::exit::REFUSED,
            "{wrong:?}: {err:?}"
        );
        assert_eq!(err.message, "refused: not confirmed");
    }
    assert!(book.take(&id, "alice", "delete\n").is_ok());
}

#[test]
fn an_unknown_id_is_bad_input_and_the_book_is_bounded() {
    let book = PlanBook::new(PLAN_TTL, 2);
    let first = book.keep("alice", plan(Action::Trash), confirmation(Action::Trash));
    let ids: Vec<String> = (0..2)
        .map(|_| book.keep("alice", plan(Action::Trash), confirmation(Action::Trash)))
        .collect();
    assert_ne!(ids[0], ids[1], "ids are random");
    let err = book.take(&first, "alice", "y").expect_err("evicted");
    assert_eq!(err.exit_code(), crate::cli::exit::BAD_INPUT);
    assert!(book.take(&ids[0], "alice", "y").is_ok());
    assert!(book.take(&ids[1], "alice", "y").is_ok());
    let err = book
        .take("nope\u{1b}[2J", "alice", "y")
        .expect_err("unknown");
    assert!(
        !err.message.contains('\u{1b}'),
        "sanitised: {:?}",
        err.message
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("m")).expect("maildir root");
    let text = "[tenants.t]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"t.test\"]\n\
                mailboxes = [\"u@t.test\"]\n";
    let config = Arc::new(Config::parse(text, &dir.path().join("c.toml")).expect("config"));
    let store = Arc::new(Store::open(&dir.path().join("s.db")).expect("store"));
    let nobody = Actor {
        login: "process-owner".into(),
        ssh_from: None,
        role: Role::Viewer,
    };
    Fixture {
        engine: Arc::new(Engine::new(config, store, nobody)),
        _dir: dir,
    }
}

fn caller(login: &str, role: Role) -> Identity {
    Identity {
        login: login.into(),
        uid: None,
        role,
        ssh_from: None,
        ssh_from_reported_by_client: false,
        authority: Authority::Service,
    }
}

fn sweep() -> PlanRequest {
    PlanRequest::Sweep(crate::engine::SweepRequest {
        tenant: "t".into(),
        message_ids: vec!["<m@x>".into()],
        from: None,
        subject: None,
        since: None,
        all: false,
        max_items: None,
        action: Some(Action::HardDelete),
        reason: Some("phish".into()),
        indicators: Default::default(),
    })
}

#[tokio::test]
async fn through_local_a_plan_is_its_makers_and_the_job_names_the_caller() {
    let f = fixture();
    let book = Arc::new(PlanBook::default());
    let alice = Local::with_book(
        Arc::clone(&f.engine),
        caller("alice", Role::Admin),
        Arc::clone(&book),
    );
    let bob = Local::with_book(
        Arc::clone(&f.engine),
        caller("bob", Role::Admin),
        Arc::clone(&book),
    );
    let plan = alice.plan(&sweep()).await.expect("plan");
    assert_eq!(plan.confirmation.word.as_deref(), Some("delete"));
    let submission = |answer: &str| Submission {
        plan: plan.id.clone(),
        answer: answer.into(),
        wait: false,
    };
    let err = bob.submit(&submission("delete")).await.expect_err("bob");
    assert_eq!(err.kind, ApiErrorKind::Refused, "{err:?}");
    let err = alice.submit(&submission("y")).await.expect_err("word");
    assert_eq!(err.kind, ApiErrorKind::Refused, "{err:?}");
    assert!(f.engine.store().jobs(10).expect("jobs").is_empty());

    let submitted = alice.submit(&submission("delete")).await.expect("submit");
    assert_eq!(submitted.job.expect("a job").initiated_by, "alice");
    assert!(submitted.no_engine_running);
    let audit = alice.audit(&AuditQuery::default()).await.expect("audit");
    assert!(
        audit.iter().any(|e| e.actor == "alice"),
        "the request is audited as the caller: {audit:?}"
    );
    assert!(
        audit.iter().all(|e| e.actor != "process-owner"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn the_callers_role_not_the_engines_decides() {
    let f = fixture();
    let viewer = Local::new(Arc::clone(&f.engine), caller("vera", Role::Viewer));
    let err = viewer.plan(&sweep()).await.expect_err("refused");
    assert_eq!(err.exit_code(), crate::cli::exit::REFUSED, "{err:?}");
    assert!(
        err.message.starts_with("refused: vera has role viewer"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn watch_streams_a_finished_job_once_and_ends() {
    use futures_util::StreamExt;
    let f = fixture();
    let alice = Local::new(Arc::clone(&f.engine), caller("alice", Role::Admin));
    let plan = alice.plan(&sweep()).await.expect("plan");
    let submitted = alice
        .submit(&Submission {
            plan: plan.id.clone(),
            answer: "delete".into(),
            wait: true,
        })
        .await
        .expect("submit");
    let events: Vec<_> = alice
        .watch(submitted.job.expect("a job").id)
        .await
        .expect("watch")
        .collect()
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let last = events[0].as_ref().expect("event");
    assert!(last.finished && last.job.status.is_finished(), "{last:?}");
    match alice.watch(9999).await {
        Err(err) => assert_eq!(err.kind, ApiErrorKind::BadInput, "{err:?}"),
        Ok(_) => panic!("a job that does not exist is watched"),
    }
}

/// The console verifies the trail on every visit: the second verification continues from
/// where the first ended (so the record it ended at is checked again, and a change to it is
/// named as a change after verification), while a caller's own anchors start from scratch.
#[tokio::test]
async fn audit_verification_continues_from_the_last_intact_record() {
    let f = fixture();
    let local = Local::new(Arc::clone(&f.engine), caller("alice", Role::Viewer));
    let record = |n: usize| crate::store::NewAudit {
        actor: "alice".into(),
        role: "viewer".into(),
        action: "search".into(),
        target: format!("query {n}"),
        outcome: "ok".into(),
        ..crate::store::NewAudit::default()
    };
    for n in 0..3 {
        f.engine.store().audit(&record(n)).expect("append");
    }
    let first = local
        .verify_audit(&VerifyRequest::default())
        .await
        .expect("verified");
    assert!(first.ok && first.records == 3, "{first:?}");
    f.engine.store().audit(&record(3)).expect("append");
    let second = local
        .verify_audit(&VerifyRequest::default())
        .await
        .expect("verified");
    assert!(second.ok, "{second:?}");
    crate::store::testutil::rewrite_audit(f.engine.store(), 4, "hash", "feed");
    let third = local
        .verify_audit(&VerifyRequest::default())
        .await
        .expect("verified");
    assert!(!third.ok, "{third:?}");
    assert_eq!(third.first_bad, Some(4), "{third:?}");
    assert!(
        third
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("after it was verified")),
        "continued from the checkpoint: {third:?}"
    );
}
