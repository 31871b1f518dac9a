//! The policies on a real Maildir tenant and a real SQLite store: decisions, rails, approvals,
//! false positives and exactly-once claims. The hunts' matches are in `tests/hunts.rs`.

mod hunts;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Decider;
use crate::config::Config;
use crate::engine::{Actor, Engine, RunOptions};
use crate::model::{Alert, AlertDisposition, MessageRecord, Role};
use crate::store::{ManualClock, NewApproval, NewAudit, NewMessage, Store};

const MID: &str = "<phish-1@bad.example>";

struct World {
    dir: tempfile::TempDir,
    engine: Arc<Engine>,
}

fn maildir(dir: &Path, user: &str) -> PathBuf {
    let base = dir.join("mail/corp.test").join(user);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(base.join(sub)).unwrap();
    }
    base
}

impl World {
    fn new(policy: &str) -> World {
        World::with_clock(policy, None)
    }

    fn with_clock(policy: &str, clock: Option<Arc<ManualClock>>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"r.db\"\n[access]\ndefault_role = \"admin\"\n\
             [tenants.corp]\nkind = \"maildir\"\nroot = \"mail\"\ndomains = [\"corp.test\"]\n\
             quarantine_mailbox = \"quarantine@corp.test\"\n{policy}\n"
        );
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Arc::new(Config::parse(&text, &path).unwrap());
        for user in ["alice", "bob", "quarantine"] {
            maildir(dir.path(), user);
        }
        let store = match clock {
            Some(c) => Store::open_with_clock(&config.store_path, c).unwrap(),
            None => Store::open(&config.store_path).unwrap(),
        };
        let engine = Arc::new(Engine::new(config, Arc::new(store), actor("root")));
        World { dir, engine }
    }

    /// Deliver the phish to these users and log it as delivered `hours_ago`.
    fn deliver(&self, users: &[&str], hours_ago: i64) {
        let to: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
        for user in users {
            let file = maildir(self.dir.path(), user).join("new/100.M1.host");
            std::fs::write(
                &file,
                format!(
                    "Message-ID: {MID}\r\nFrom: hr@bad.example\r\nTo: {}\r\nSubject: Payroll\r\n\r\nclick\r\n",
                    to.join(", ")
                ),
            )
            .unwrap();
        }
        let record = MessageRecord {
            message_id: MID.into(),
            from: "hr@bad.example".into(),
            to: to.clone(),
            cc: vec![],
            subject: "Payroll".into(),
            received_at: Utc::now() - chrono::Duration::hours(hours_ago),
            disposition: None,
            in_reply_to: None,
            references: vec![],
            size: None,
            tenant: Some("corp".into()),
            source_id: None,
        };
        self.engine
            .store()
            .insert_messages(&[NewMessage {
                record: &record,
                tenant: "corp",
                recipients: to.iter().map(|r| (r.clone(), false)).collect(),
            }])
            .unwrap();
    }

    fn in_inbox(&self, user: &str) -> bool {
        std::fs::read_dir(maildir(self.dir.path(), user).join("new"))
            .unwrap()
            .next()
            .is_some()
    }

    fn receive(&self, id: &str, status: &str, recipients: &[&str]) -> AlertDisposition {
        let recipients: Vec<String> = recipients.iter().map(|r| format!("\"{r}\"")).collect();
        let alert = Alert::parse(&format!(
            r#"{{"id":"{id}","source":"soar","message_id":"{MID}","classification":"phish","status":"{status}","recipients":[{}]}}"#,
            recipients.join(",")
        ))
        .unwrap();
        super::Intake::new(&self.engine)
            .receive_all(&[alert])
            .unwrap()[0]
            .disposition
    }

    /// Claim and decide the next revision: its outcome, rail, job and approval.
    async fn decide(&self) -> crate::store::DecisionRecord {
        let claim = self
            .engine
            .store()
            .claim_alert_revision("decider-1", Duration::from_secs(60))
            .unwrap()
            .expect("a revision to decide");
        Decider::new(Arc::clone(&self.engine))
            .decide(&claim)
            .await
            .unwrap()
            .expect("the claim held")
    }

    async fn run(&self, job: i64) {
        self.engine
            .run(RunOptions {
                job: Some(job),
                follow: false,
            })
            .await
            .unwrap();
    }

    fn as_person(&self, login: &str, role: Role) -> Engine {
        self.engine.acting_for(Actor {
            role,
            ..actor(login)
        })
    }
}

fn actor(login: &str) -> Actor {
    Actor {
        login: login.into(),
        ssh_from: None,
        role: Role::Admin,
    }
}

const AUTOMATIC: &str =
    "[policy.rules.phish]\nwhen = [\"phish\"]\naction = \"quarantine\"\nmode = \"automatic\"\n";
const CONFIRM: &str =
    "[policy.rules.phish]\nwhen = [\"phish\"]\naction = \"quarantine\"\nmode = \"confirmation\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_rule_pulls_and_a_false_positive_restores() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice", "bob"], 1);
    assert_eq!(w.receive("a1", "active", &[]), AlertDisposition::New);
    assert_eq!(w.receive("a1", "active", &[]), AlertDisposition::Repeat);
    let pulled = w.decide().await;
    assert_eq!(
        (pulled.outcome.as_str(), pulled.rule.as_deref()),
        ("pulled", Some("phish"))
    );
    let job = pulled.job.expect("a job");
    let made = w.engine.store().job(job).unwrap();
    assert_eq!(made.initiated_by, "policy:phish");
    assert_eq!(made.reason.as_deref(), Some("soar:a1"));
    // A repeat is not decided again.
    assert!(
        w.engine
            .store()
            .claim_alert_revision("d", Duration::from_secs(60))
            .unwrap()
            .is_none()
    );
    w.run(job).await;
    assert!(
        !w.in_inbox("alice") && !w.in_inbox("bob"),
        "both copies pulled"
    );
    assert_eq!(
        w.receive("a1", "false_positive", &[]),
        AlertDisposition::Updated
    );
    let restored = w.decide().await;
    assert_eq!(restored.outcome, "restored", "{}", restored.detail);
    w.run(restored.job.expect("a restore job")).await;
    assert!(w.in_inbox("alice") && w.in_inbox("bob"), "both copies back");
    let audit = w.engine.store().audit_entries(&Default::default()).unwrap();
    assert!(
        audit
            .iter()
            .filter(|a| a.action == "policy decision")
            .count()
            == 2,
        "each decision audited"
    );
}

/// `policy test` with a false positive for an alert that was received and acted on finds the
/// job it pulled and says it would restore it (it used to say nothing was left to restore).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsed_false_positive_names_what_it_would_restore() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let pulled = w.decide().await;
    w.run(pulled.job.expect("a job")).await;
    let revised = Alert::parse(&format!(
        r#"{{"id":"a1","source":"soar","message_id":"{MID}","classification":"phish","status":"false_positive"}}"#
    ))
    .unwrap();
    let decider = Decider::new(Arc::clone(&w.engine));
    let rehearsal = decider.rehearse(&revised).await.unwrap();
    assert_eq!(rehearsal.outcome, "would-restore", "{}", rehearsal.detail);
    assert!(
        rehearsal.detail.contains("restore 2 copies"),
        "{}",
        rehearsal.detail
    );
    // Rehearsing wrote nothing: the copies are still pulled and no decision was added.
    assert!(!w.in_inbox("alice") && !w.in_inbox("bob"));
    // An alert never received has nothing to restore.
    let unknown = Alert::parse(&format!(
        r#"{{"id":"zz","source":"soar","message_id":"{MID}","classification":"phish","status":"false_positive"}}"#
    ))
    .unwrap();
    let nothing = decider.rehearse(&unknown).await.unwrap();
    assert_eq!(nothing.outcome, "no-action", "{}", nothing.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_waits_for_a_second_person_never_the_requester() {
    let w = World::new(CONFIRM);
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let asked = w.decide().await;
    assert_eq!(asked.outcome, "requested");
    assert_eq!(asked.job, None, "nothing runs before approval");
    let id = asked.approval.expect("a request");
    let pending = w.engine.pending_approvals().unwrap();
    assert_eq!((pending.len(), pending[0].mailboxes), (1, 2));
    // A viewer may not approve; the request stays pending.
    let viewer = w.as_person("val", Role::Viewer);
    assert!(viewer.decide_approval(id, true, None).await.is_err());
    let carol = w.as_person("carol", Role::Responder);
    let approved = carol
        .decide_approval(id, true, Some("seen it"))
        .await
        .unwrap();
    assert_eq!(approved.state, "approved");
    assert_eq!(approved.decided_by.as_deref(), Some("carol"));
    w.run(approved.job.expect("the job")).await;
    assert!(!w.in_inbox("alice") && !w.in_inbox("bob"));
    // A request made by hand is never its maker's to approve.
    let alice = w.as_person("alice", Role::Admin);
    let own = w
        .engine
        .store()
        .request_approval(
            &NewApproval {
                requested_by: "alice".into(),
                ..approval_like(&pending[0])
            },
            &NewAudit::default(),
        )
        .unwrap();
    let err = alice.decide_approval(own, true, None).await.unwrap_err();
    assert!(err.to_string().contains("their own"), "{err}");
    assert_eq!(w.engine.store().approval(own).unwrap().state, "pending");
}

fn approval_like(r: &crate::store::ApprovalRecord) -> NewApproval {
    NewApproval {
        alert: None,
        rule: None,
        kind: r.kind.clone(),
        action: r.action.clone(),
        target: r.target.clone(),
        reason: None,
        request: r.request.clone(),
        plan_hash: r.plan_hash.clone(),
        by_depth: r.by_depth.clone(),
        mailboxes: r.mailboxes,
        requested_by: r.requested_by.clone(),
        expires_in: Duration::from_secs(3600),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_plan_voids_the_approval() {
    let w = World::new(CONFIRM);
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let id = w.decide().await.approval.unwrap();
    // A later log names a third recipient: the plan is no longer the one asked about.
    w.deliver(&["alice", "bob", "carol"], 1);
    let carol = w.as_person("carol", Role::Responder);
    let err = carol.decide_approval(id, true, None).await.unwrap_err();
    assert!(err.to_string().contains("plan changed"), "{err}");
    let record = w.engine.store().approval(id).unwrap();
    assert_eq!((record.state.as_str(), record.job), ("void", None));
    assert!(w.in_inbox("alice"), "nothing pulled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_expires() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let w = World::with_clock(
        &format!("{CONFIRM}[approvals]\nexpire = \"1h\"\n"),
        Some(Arc::clone(&clock)),
    );
    w.deliver(&["alice"], 0);
    w.receive("a1", "active", &[]);
    let id = w.decide().await.approval.unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    assert!(w.engine.pending_approvals().unwrap().is_empty());
    assert_eq!(w.engine.store().approval(id).unwrap().state, "expired");
    let carol = w.as_person("carol", Role::Responder);
    assert!(carol.decide_approval(id, true, None).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rail_wins_over_an_automatic_rule() {
    // Window: delivered three days ago.
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice"], 72);
    w.receive("a1", "active", &[]);
    let d = w.decide().await;
    assert_eq!(
        (d.outcome.as_str(), d.rail.as_deref()),
        ("requested", Some("window"))
    );
    // Blast radius.
    let w = World::new(&format!("[policy]\nmax_mailboxes = 1\n{AUTOMATIC}"));
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let d = w.decide().await;
    assert_eq!(
        (d.outcome.as_str(), d.rail.as_deref()),
        ("requested", Some("max_mailboxes"))
    );
    // Protected mailboxes are left out; all of them protected: no action.
    let w = World::new(&format!(
        "[policy]\nprotect = [\"alice@corp.test\", \"group:vip\"]\ngroups = {{ vip = [\"bob@corp.test\"] }}\n{AUTOMATIC}"
    ));
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let d = w.decide().await;
    assert_eq!(
        (d.outcome.as_str(), d.rail.as_deref()),
        ("no-action", Some("protect"))
    );
    assert!(w.in_inbox("alice") && w.in_inbox("bob"));
    // Already acted on: a second alert for the same message repeats nothing.
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice"], 1);
    w.receive("a1", "active", &[]);
    let first = w.decide().await;
    w.run(first.job.unwrap()).await;
    w.receive("other-tool-9", "active", &[]);
    let d = w.decide().await;
    assert_eq!(
        (d.outcome.as_str(), d.rail.as_deref()),
        ("no-action", Some("already-acted")),
        "{}",
        d.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_missing_from_the_log_is_found_by_message_id() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice"], 1);
    // Forget the log: only the mailboxes know of it now.
    let w2 = World::new(AUTOMATIC);
    std::fs::create_dir_all(maildir(w2.dir.path(), "alice").join("new")).unwrap();
    std::fs::copy(
        maildir(w.dir.path(), "alice").join("new/100.M1.host"),
        maildir(w2.dir.path(), "alice").join("new/100.M1.host"),
    )
    .unwrap();
    w2.receive("a1", "active", &["alice@corp.test"]);
    let d = w2.decide().await;
    assert_eq!(d.outcome, "pulled", "{}", d.detail);
    w2.run(d.job.unwrap()).await;
    assert!(!w2.in_inbox("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_is_decided_once_even_when_its_decider_dies() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice"], 1);
    w.receive("a1", "active", &[]);
    let store = w.engine.store();
    let lease = Duration::from_secs(60);
    let first = store
        .claim_alert_revision("dead:1:1", lease)
        .unwrap()
        .unwrap();
    assert!(
        store.claim_alert_revision("live", lease).unwrap().is_none(),
        "claimed once"
    );
    // The first decider is gone: its claim is given back and the next decider acts.
    assert_eq!(
        store
            .release_dead_alert_claims(&|id| id.starts_with("dead"))
            .unwrap(),
        1
    );
    let second = store.claim_alert_revision("live", lease).unwrap().unwrap();
    let decider = Decider::new(Arc::clone(&w.engine));
    let acted = decider.decide(&second).await.unwrap().unwrap();
    assert!(acted.job.is_some());
    // Had the first one woken up after all, its decision is fenced off: nothing written.
    assert!(decider.decide(&first).await.unwrap().is_none());
    assert_eq!(store.jobs(10).unwrap().len(), 1);
    assert_eq!(store.alert_counts().unwrap().decisions, 1);
}

/// The quarantine mailbox is never a target, even when the alert names it and it holds a copy:
/// the recipient's copy is pulled, the quarantine's own stays where it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarantine_mailbox_is_never_pulled() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice", "quarantine"], 1);
    w.receive("q1", "active", &["alice@corp.test", "quarantine@corp.test"]);
    let d = w.decide().await;
    assert_eq!(d.outcome, "pulled", "{}", d.detail);
    w.run(d.job.expect("a job")).await;
    assert!(!w.in_inbox("alice"), "alice's copy is quarantined");
    // Its own delivered file, by name: the copy quarantined from alice lands elsewhere.
    let own = maildir(w.dir.path(), "quarantine").join("new/100.M1.host");
    assert!(own.exists(), "the quarantine mailbox was acted on");
}

/// A `false_positive` under a confirmation rule asks before restoring: the restore waits for a
/// second person like the pull did, then puts the copies back; `policy report` counts both
/// requests, both approvals and the restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_positive_under_confirmation_asks_before_restoring() {
    let w = World::new(CONFIRM);
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let carol = w.as_person("carol", Role::Responder);
    let pull = w.decide().await.approval.expect("a pull request");
    let pulled = carol.decide_approval(pull, true, None).await.unwrap();
    w.run(pulled.job.expect("the pull")).await;
    assert!(!w.in_inbox("alice") && !w.in_inbox("bob"));

    w.receive("a1", "false_positive", &[]);
    let asked = w.decide().await;
    assert_eq!(asked.outcome, "requested", "{}", asked.detail);
    assert_eq!(asked.job, None, "nothing restored before approval");
    let id = asked.approval.expect("a restore request");
    assert_eq!(w.engine.store().approval(id).unwrap().kind, "restore");
    assert!(!w.in_inbox("alice"), "still pulled while the request waits");
    let restored = carol.decide_approval(id, true, None).await.unwrap();
    w.run(restored.job.expect("the restore")).await;
    assert!(w.in_inbox("alice") && w.in_inbox("bob"), "both copies back");

    let report =
        super::report::report(w.engine.store(), Utc::now() - chrono::Duration::hours(1)).unwrap();
    assert_eq!(
        (
            report.decisions,
            report.requests,
            report.approvals,
            report.restores_after_false_positives,
            report.pulls
        ),
        (2, 2, 2, 1, 0),
        "{report:?}"
    );
    assert_eq!(
        report.alert_to_first_pull.samples, 0,
        "only automatic pulls are timed"
    );
}

/// An alert of another classification, for a rule with a weaker action.
fn receive_classified(w: &World, id: &str, classification: &str) {
    let alert = Alert::parse(&format!(
        r#"{{"id":"{id}","source":"soar","message_id":"{MID}","classification":"{classification}","status":"active"}}"#
    ))
    .unwrap();
    super::Intake::new(&w.engine).receive_all(&[alert]).unwrap();
}

/// Never a weaker action on a copy already acted on: once quarantined, a spam rule's
/// move-to-junk finds nothing to do and names the rail; the decision is audited with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weaker_action_never_follows_a_stronger_one() {
    let w = World::new(&format!(
        "{AUTOMATIC}[policy.rules.spam]\nwhen = [\"spam\"]\naction = \"move-to-junk\"\nmode = \"automatic\"\n"
    ));
    w.deliver(&["alice", "bob"], 1);
    w.receive("a1", "active", &[]);
    let first = w.decide().await;
    w.run(first.job.expect("the quarantine")).await;
    receive_classified(&w, "s1", "spam");
    let d = w.decide().await;
    assert_eq!(
        (d.outcome.as_str(), d.rule.as_deref(), d.rail.as_deref()),
        ("no-action", Some("spam"), Some("already-acted")),
        "{}",
        d.detail
    );
    assert_eq!(d.job, None);
    let audit = w.engine.store().audit_entries(&Default::default()).unwrap();
    let record = audit
        .iter()
        .find(|a| a.action == "policy decision" && a.reason.as_deref() == Some("soar:s1"))
        .expect("the no-action decision is audited");
    assert_eq!(
        (record.actor.as_str(), record.outcome.as_str()),
        ("policy:spam", "no-action")
    );
    assert!(
        record
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("rail: already-acted")),
        "{record:?}"
    );
}

/// `notify_command` hears of every decision with its JSON on stdin; one that hangs runs in the
/// background (until `notify_timeout`) and never holds up the pull.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_command_hears_each_decision_and_never_holds_a_pull() {
    let out = tempfile::tempdir().unwrap();
    let heard = out.path().join("heard.json");
    let w = World::new(&format!(
        "[policy]\nnotify_command = [\"/bin/sh\", \"-c\", \"cat > {}\"]\n{AUTOMATIC}",
        heard.display()
    ));
    w.deliver(&["alice"], 1);
    w.receive("a1", "active", &[]);
    let d = w.decide().await;
    assert_eq!(d.outcome, "pulled", "{}", d.detail);
    let started = std::time::Instant::now();
    let told: serde_json::Value = loop {
        // The command writes while it runs: read until the whole object is there.
        let text = std::fs::read_to_string(&heard).unwrap_or_default();
        if let Ok(v) = serde_json::from_str(&text) {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "notify_command not run: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(told["decision"]["outcome"], "pulled", "{told}");
    assert_eq!(told["decision"]["job"], d.job.expect("a job"), "{told}");
    assert_eq!(told["alert"]["id"], "a1", "{told}");
    assert!(told["by_depth"].is_array(), "{told}");

    let w = World::new(&format!(
        "[policy]\nnotify_command = [\"/bin/sh\", \"-c\", \"exec sleep 30\"]\nnotify_timeout = \"20s\"\n{AUTOMATIC}"
    ));
    w.deliver(&["alice"], 1);
    w.receive("a1", "active", &[]);
    let started = std::time::Instant::now();
    let d = w.decide().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the decision waited for notify_command"
    );
    w.run(d.job.expect("a job")).await;
    assert!(!w.in_inbox("alice"), "pulled whatever notify_command does");
}

/// `passive` records what it would have done and acts on nothing; `disabled` says so and acts
/// on nothing; a rejected request pulls nothing. `policy report` counts each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_and_disabled_rules_and_a_rejection_pull_nothing() {
    for (mode, outcome) in [("passive", "passive"), ("disabled", "disabled")] {
        let w = World::new(&AUTOMATIC.replace("automatic", mode));
        w.deliver(&["alice"], 1);
        w.receive("a1", "active", &[]);
        let d = w.decide().await;
        assert_eq!(
            (d.outcome.as_str(), d.job, d.approval),
            (outcome, None, None),
            "{}",
            d.detail
        );
        assert!(w.in_inbox("alice"), "{mode}: acted on");
        let audit = w.engine.store().audit_entries(&Default::default()).unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "policy decision" && a.outcome == outcome),
            "{mode}: not audited"
        );
        let report =
            super::report::report(w.engine.store(), Utc::now() - chrono::Duration::hours(1))
                .unwrap();
        let counted = if mode == "passive" {
            report.passive
        } else {
            report.no_action
        };
        assert_eq!(
            (report.decisions, counted, report.pulls),
            (1, 1, 0),
            "{report:?}"
        );
    }
    let w = World::new(CONFIRM);
    w.deliver(&["alice"], 1);
    w.receive("a1", "active", &[]);
    let id = w.decide().await.approval.expect("a request");
    let carol = w.as_person("carol", Role::Responder);
    let rejected = carol
        .decide_approval(id, false, Some("a newsletter"))
        .await
        .unwrap();
    assert_eq!((rejected.state.as_str(), rejected.job), ("rejected", None));
    assert!(w.in_inbox("alice"), "pulled after a rejection");
    let report =
        super::report::report(w.engine.store(), Utc::now() - chrono::Duration::hours(1)).unwrap();
    assert_eq!(
        (report.requests, report.rejections, report.approvals),
        (1, 1, 0),
        "{report:?}"
    );
}
