//! The rails of every request kind, against a real store and a real Maildir tenant.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::Config;
use crate::engine::{Actor, Engine};
use crate::model::{MessageRecord, Role};
use crate::store::NewMessage;

struct World {
    dir: tempfile::TempDir,
    engine: Engine,
}

impl World {
    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("mail")
    }

    /// A copy of a message in `user`'s INBOX (`cur/`).
    fn deliver(&self, user: &str, name: &str, headers: &str) {
        let cur = self.root().join("t.test").join(user).join("cur");
        std::fs::write(cur.join(name), format!("{headers}\r\n\r\nbody\r\n")).unwrap();
    }

    fn jobs(&self) -> usize {
        self.engine.store().jobs(100).unwrap().len()
    }
}

fn mailbox(root: &Path, user: &str) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join("t.test").join(user).join(sub)).unwrap();
    }
}

/// Tenant `t` (Maildir, mailboxes u0 and u1), and `<m@x>` logged as delivered to `to`.
fn world(to: &[&str]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mail");
    for user in ["u0", "u1"] {
        mailbox(&root, user);
    }
    let text = format!(
        "[tenants.t]\nkind = \"maildir\"\nroot = {:?}\ndomains = [\"t.test\"]\n",
        root.display().to_string()
    );
    let config = Arc::new(Config::parse(&text, &dir.path().join("c.toml")).unwrap());
    let store = Arc::new(Store::open(&dir.path().join("s.db")).unwrap());
    let to: Vec<String> = to.iter().map(|u| format!("{u}@t.test")).collect();
    let record = MessageRecord {
        message_id: "<m@x>".into(),
        from: "evil@x.test".into(),
        to: to.clone(),
        cc: vec![],
        subject: "invoice".into(),
        received_at: chrono::Utc::now(),
        disposition: None,
        in_reply_to: None,
        references: vec![],
        size: None,
        tenant: Some("t".into()),
        source_id: None,
    };
    store
        .insert_messages(&[NewMessage {
            record: &record,
            tenant: "t",
            recipients: to.iter().map(|r| (r.clone(), false)).collect(),
        }])
        .unwrap();
    let actor = Actor {
        login: "tester".into(),
        ssh_from: None,
        role: Role::Admin,
    };
    World {
        dir,
        engine: Engine::new(config, store, actor),
    }
}

fn retract(depth: u32, action: Action) -> RetractRequest {
    RetractRequest {
        message: "<m@x>".into(),
        recipients: vec![],
        exclude: vec![],
        depth,
        action,
        reason: None,
        max_items: None,
    }
}

fn bad_input<T: std::fmt::Debug>(result: Result<T, EngineError>) -> String {
    match result {
        Err(EngineError::BadInput(m)) => m,
        other => panic!("not refused as bad input: {other:?}"),
    }
}

#[test]
fn hard_delete_alone_needs_the_typed_word_and_only_that_word_confirms() {
    for action in [
        Action::MoveToJunk,
        Action::Trash,
        Action::SoftDelete,
        Action::Quarantine,
    ] {
        let plain = Confirmation::for_action(action, "go?".into());
        assert_eq!(plain.word, None, "{action}");
        assert!(plain.accepts("y") && plain.accepts(" YES\n") && !plain.accepts("delete"));
        assert!(plain.prompt().contains("'y'"));
    }
    let hard = Confirmation::for_action(Action::HardDelete, "go?".into());
    assert_eq!(hard.word, Some(HARD_DELETE_WORD));
    assert_eq!(confirmation_word(Action::HardDelete), Some("delete"));
    assert!(hard.accepts("delete\n"));
    for wrong in ["y", "yes", "Delete", "DELETE", ""] {
        assert!(!hard.accepts(wrong), "{wrong:?}");
    }
    assert!(hard.prompt().contains("'delete'"));
}

#[tokio::test]
async fn a_sweep_without_an_action_is_refused_before_any_mailbox_is_read() {
    let w = world(&["u0"]);
    // What `:sweep` without ACTION builds, and what `sweep` without --action would.
    let request = SweepRequest {
        tenant: "t".into(),
        message_ids: vec!["<m@x>".into()],
        ..SweepRequest::default()
    };
    let m = bad_input(w.engine.plan_sweep(&request).await);
    assert!(m.contains("--action") && m.contains(":sweep ACTION"), "{m}");
    assert!(
        bad_input(request.validated_action()).contains("--action"),
        "the console asks the same rule"
    );
    let restore = SweepRequest {
        action: Some(Action::Restore),
        ..request
    };
    assert!(bad_input(w.engine.plan_sweep(&restore).await).contains("restore"));
    assert!(
        w.engine
            .store()
            .audit_entries(&crate::store::AuditFilter::default())
            .unwrap()
            .is_empty(),
        "no refusal by role, nothing audited: the request itself was wrong"
    );
}

#[tokio::test]
async fn an_empty_retraction_or_restore_is_refused_by_submit_and_writes_no_job() {
    let w = world(&[]);
    let plan = w
        .engine
        .plan_retract(&retract(0, Action::Trash))
        .await
        .unwrap();
    let empty = plan.empty_plan().expect("no copy planned");
    assert_eq!(empty.outcome, EmptyOutcome::Refused);
    assert!(
        empty.message.contains("nothing to retract for <m@x>"),
        "{empty:?}"
    );
    assert_eq!(bad_input(w.engine.submit(&plan)), empty.message);
    let restore = RestoreRequest {
        message: Some("<m@x>".into()),
        ..RestoreRequest::default()
    };
    let plan = w.engine.plan_restore(&restore).unwrap();
    let m = bad_input(w.engine.submit(&plan));
    assert!(m.starts_with("nothing to restore for <m@x>"), "{m}");
    assert_eq!(w.jobs(), 0, "nothing was written");
}

#[tokio::test]
async fn a_sweep_that_finds_nothing_says_so_and_may_still_be_recorded() {
    let w = world(&["u0"]);
    let request = SweepRequest {
        tenant: "t".into(),
        message_ids: vec!["<absent@x>".into()],
        action: Some(Action::Trash),
        ..SweepRequest::default()
    };
    let plan = w.engine.plan_sweep(&request).await.unwrap();
    let empty = plan.empty_plan().expect("nothing found");
    assert_eq!(empty.outcome, EmptyOutcome::NothingFound);
    assert!(empty.message.contains("found nothing"), "{empty:?}");
    w.engine
        .submit(&plan)
        .expect("the CLI records an empty sweep");
    assert_eq!(w.jobs(), 1);
}

#[tokio::test]
async fn requests_name_what_they_refuse_and_resolve_their_ref() {
    let w = world(&["u0"]);
    let m = bad_input(w.engine.plan_retract(&retract(0, Action::Restore)).await);
    assert!(m.contains("--action restore"), "{m}");
    let m = bad_input(
        w.engine
            .plan_retract(&RetractRequest {
                max_items: Some(0),
                ..retract(0, Action::Trash)
            })
            .await,
    );
    assert!(m.contains("at least 1"), "{m}");
    let m = bad_input(
        w.engine
            .plan_retract(&RetractRequest {
                message: "<nobody@x>".into(),
                ..retract(0, Action::Trash)
            })
            .await,
    );
    assert!(
        m.contains("no logged message matches REF '<nobody@x>'"),
        "{m}"
    );
    let m = bad_input(w.engine.cancel(&CancelRequest { job: 41 }));
    assert!(m.contains("41"), "{m}");
    let m = bad_input(
        w.engine
            .index(&IndexRequest {
                tenant: " ".into(),
                since: None,
            })
            .await,
    );
    assert!(m.contains("--tenant"), "{m}");
    // The log id works as a REF too, and the confirmation names the subject and counts.
    let by_id = RetractRequest {
        message: "1".into(),
        ..retract(0, Action::HardDelete)
    };
    let plan = w.engine.plan_retract(&by_id).await.unwrap();
    let confirm = w.engine.retract_confirmation(&by_id, &plan).unwrap();
    assert!(confirm.question.contains("'invoice'"), "{confirm:?}");
    assert_eq!(confirm.word, Some(HARD_DELETE_WORD));
}

#[test]
fn requests_are_plain_data_that_survive_a_round_trip() {
    let retract = retract(2, Action::Quarantine);
    let text = serde_json::to_string(&retract).unwrap();
    assert_eq!(
        serde_json::from_str::<RetractRequest>(&text).unwrap(),
        retract
    );
    let sweep: SweepRequest =
        serde_json::from_str(r#"{"tenant":"t","message_ids":["a@b"],"from":null,"subject":null,"since":null,"all":false,"max_items":null,"action":"hard-delete","reason":null}"#)
            .unwrap();
    assert_eq!(sweep.action, Some(Action::HardDelete));
    let restore: RestoreRequest = serde_json::from_str(r#"{"job":3}"#).unwrap();
    assert_eq!(restore.job, Some(3));
    let cancel: CancelRequest = serde_json::from_str(r#"{"job":3}"#).unwrap();
    assert_eq!(cancel, CancelRequest { job: 3 });
}

#[tokio::test]
async fn the_conversation_search_is_remembered_per_message_and_depth_until_a_submit() {
    let w = world(&["u0"]);
    w.deliver(
        "u1",
        "1.M1.host:2,",
        "Message-ID: <r@x>\r\nIn-Reply-To: <m@x>\r\nReferences: <m@x>\r\nFrom: u0@t.test\r\nTo: u1@t.test\r\nSubject: Re: invoice",
    );
    let searches = |w: &World| w.engine.conversation_searches_made();
    let plan = w
        .engine
        .plan_retract(&retract(1, Action::Trash))
        .await
        .unwrap();
    assert!(
        plan.items.iter().any(|i| i.message_id == "<r@x>"),
        "the reply is found: {:?}",
        plan.items
    );
    assert_eq!(searches(&w), 1);
    // Another action, an exclusion: the same search, from memory; the exclusion still holds.
    let spared = w
        .engine
        .plan_retract(&RetractRequest {
            exclude: vec!["u1@t.test".into()],
            ..retract(1, Action::Quarantine)
        })
        .await
        .unwrap();
    assert!(spared.items.iter().all(|i| i.mailbox != "u1@t.test"));
    assert_eq!(searches(&w), 1, "answered from memory");
    // Depth 0 searches nothing; depth 2 searches one level more (level 1 from memory).
    w.engine
        .plan_retract(&retract(0, Action::Trash))
        .await
        .unwrap();
    w.engine
        .plan_retract(&retract(2, Action::Trash))
        .await
        .unwrap();
    assert_eq!(searches(&w), 2);
    // A submitted job may move what the searches saw: they are asked again.
    w.engine.submit(&plan).unwrap();
    w.engine
        .plan_retract(&retract(1, Action::Trash))
        .await
        .unwrap();
    assert_eq!(searches(&w), 3);
}
