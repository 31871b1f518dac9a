//! Auto-pull's records: alerts stored once with their revisions, each revision decided once
//! by the decider holding its claim; approval requests decided once or expired; poller
//! cursors kept per source.

use std::time::Duration;

use super::{LEASE, Subject, mailboxes, remediated, retract_job, start};
use crate::model::{Alert, AlertDisposition, AlertStatus};
use crate::store::{
    AlertCounts, AlertLog, ApprovalRecord, Approvals, AuditFilter, AuditTrail, DecisionEffect,
    ItemClaims, JobQueue, NewApproval, NewAudit, NewDecision, PollerCursors, Settlement,
    StoreError,
};

fn alert(id: &str, status: AlertStatus) -> Alert {
    Alert {
        id: id.into(),
        source: "tap".into(),
        message_id: "<phish@evil.test>".into(),
        classification: "phish".into(),
        status,
        tenant: Some("corp".into()),
        recipients: vec!["alice@corp.test".into()],
        detected_at: None,
        threat_url: None,
        details: None,
    }
}

fn decision(outcome: &str) -> NewDecision {
    NewDecision {
        rule: Some("phish-pull".into()),
        outcome: outcome.into(),
        rail: None,
        detail: format!("{outcome} by contract"),
        audit: NewAudit {
            actor: "policy".into(),
            role: "engine".into(),
            action: "decide".into(),
            target: "<phish@evil.test>".into(),
            outcome: outcome.into(),
            ..NewAudit::default()
        },
    }
}

fn request(by: &str, expires_in: Duration) -> NewApproval {
    NewApproval {
        alert: None,
        rule: None,
        kind: "retract".into(),
        action: "trash".into(),
        target: "<phish@evil.test>".into(),
        reason: Some("contract".into()),
        request: r#"{"message":"<phish@evil.test>"}"#.into(),
        plan_hash: "c0ffee".into(),
        by_depth: serde_json::json!([{"depth": 0, "messages": 1, "mailboxes": 2}]),
        mailboxes: 2,
        requested_by: by.into(),
        expires_in,
    }
}

fn approval_audit(action: &str) -> NewAudit {
    NewAudit {
        actor: "tester".into(),
        role: "approver".into(),
        action: action.into(),
        target: "<phish@evil.test>".into(),
        outcome: action.into(),
        ..NewAudit::default()
    }
}

fn expiry_audit(r: &ApprovalRecord) -> NewAudit {
    NewAudit {
        detail: Some(format!("approval request {} is {}", r.id, r.state)),
        ..approval_audit("approval expired")
    }
}

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

pub(super) fn an_alert_is_stored_once_and_each_revision_decided_once<S: Subject>() {
    let s = S::open();
    let store = s.store();
    let other = s.another_handle();
    let new = store
        .receive_alerts(&[alert("a1", AlertStatus::Active)])
        .expect("receive");
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].revision, new[0].disposition),
        (1, AlertDisposition::New)
    );
    let number = new[0].number;
    // The same alert again is a repeat, through another handle too: nothing is written.
    let repeat = other
        .receive_alerts(&[alert("a1", AlertStatus::Active)])
        .expect("repeat");
    assert_eq!(
        (repeat[0].number, repeat[0].revision, repeat[0].disposition),
        (number, 1, AlertDisposition::Repeat)
    );
    s.advance(Duration::from_secs(1));
    let updated = store
        .receive_alerts(&[
            alert("a1", AlertStatus::Cleared),
            alert("a2", AlertStatus::Active),
        ])
        .expect("update");
    assert_eq!(
        (
            updated[0].number,
            updated[0].revision,
            updated[0].disposition
        ),
        (number, 2, AlertDisposition::Updated)
    );
    assert_eq!(updated[1].disposition, AlertDisposition::New);
    assert_ne!(updated[1].number, number);
    assert_eq!(
        store.alert_number("tap", "a1").expect("number"),
        Some(number)
    );
    assert_eq!(store.alert_number("tap", "nope").expect("number"), None);
    assert_eq!(
        store.alert_counts().expect("counts"),
        AlertCounts {
            alerts: 2,
            revisions: 3,
            undecided: 3,
            decisions: 0
        }
    );

    // The oldest revision first; a1's second waits for its first to be decided.
    let a = store
        .claim_alert_revision("decider-a", LEASE)
        .expect("claim")
        .expect("a revision to decide");
    assert_eq!((a.number, a.revision), (number, 1));
    assert_eq!(a.alert.status, AlertStatus::Active);
    assert_eq!(a.received_at, start());
    let b2 = other
        .claim_alert_revision("decider-b", LEASE)
        .expect("claim")
        .expect("a2 is free");
    assert_eq!((b2.number, b2.revision), (updated[1].number, 1));
    other
        .decide_alert(&b2, &decision("no-action"), DecisionEffect::Nothing)
        .expect("decide")
        .expect("the claim holds");
    assert!(
        other
            .claim_alert_revision("decider-b", LEASE)
            .expect("claim")
            .is_none(),
        "a1's first revision is claimed, its second waits for it, a2's is decided"
    );
    // A claim past its lease is taken over, and the first claimant's decision is fenced off.
    s.advance(LEASE + Duration::from_secs(1));
    let b = other
        .claim_alert_revision("decider-b", LEASE)
        .expect("claim")
        .expect("the stale claim");
    assert_eq!(
        (b.number, b.revision, b.claimed_by.as_str()),
        (number, 1, "decider-b")
    );
    assert!(
        store
            .decide_alert(&a, &decision("no-action"), DecisionEffect::Nothing)
            .expect("fenced")
            .is_none()
    );
    let (job, items) = retract_job(&mailboxes(2));
    let pulled = other
        .decide_alert(&b, &decision("pulled"), DecisionEffect::Job(&job, &items))
        .expect("decide")
        .expect("the claim holds");
    let job_id = pulled.job.expect("the decision's job");
    assert_eq!(pulled.at, start() + seconds(12));
    assert_eq!(other.job_items(job_id).expect("items").len(), 2);
    assert!(
        other
            .decide_alert(&b, &decision("pulled"), DecisionEffect::Nothing)
            .expect("again")
            .is_none(),
        "a revision is decided once"
    );
    assert_eq!(store.jobs_of_alert(number).expect("jobs"), vec![job_id]);
    assert_eq!(store.first_pulled_at(job_id).expect("first"), None);
    store.register_worker("w", "host", 1).expect("register");
    let claimed = store
        .claim_items("w", 1, Some(&[job_id]))
        .expect("claim item");
    s.advance(Duration::from_secs(3));
    assert!(
        store
            .finish_item(&remediated(claimed[0].item.id, "w"))
            .expect("finish")
    );
    assert_eq!(
        store.first_pulled_at(job_id).expect("first"),
        Some(start() + seconds(15))
    );

    // A dead decider's claim is given back; a live one's is not.
    let dead = store
        .claim_alert_revision("dead-c", LEASE)
        .expect("claim")
        .expect("a1's second revision");
    assert_eq!((dead.number, dead.revision), (number, 2));
    assert_eq!(
        store
            .release_dead_alert_claims(&|d| d.starts_with("dead"))
            .expect("release"),
        1
    );
    let d = other
        .claim_alert_revision("decider-d", LEASE)
        .expect("claim")
        .expect("released");
    assert_eq!((d.number, d.revision), (number, 2));
    assert_eq!(
        store
            .release_dead_alert_claims(&|d| d.starts_with("dead"))
            .expect("release"),
        0
    );
    let held = request("policy", Duration::from_secs(600));
    let requested = other
        .decide_alert(&d, &decision("requested"), DecisionEffect::Approval(&held))
        .expect("decide")
        .expect("the claim holds");
    let approval = store
        .approval(requested.approval.expect("the request"))
        .expect("stored request");
    assert_eq!(approval.state, "pending");

    let since_start = store.decisions_since(start()).expect("decisions");
    assert_eq!(
        since_start
            .iter()
            .map(|r| (r.alert, r.revision, r.outcome.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (updated[1].number, 1, "no-action"),
            (number, 1, "pulled"),
            (number, 2, "requested")
        ]
    );
    assert_eq!(since_start[2].received_at, start() + seconds(1));
    assert!(
        store
            .decisions_since(start() + seconds(60))
            .expect("none")
            .is_empty()
    );
    let counts = store.alert_counts().expect("counts");
    assert_eq!((counts.undecided, counts.decisions), (0, 3), "{counts:?}");
    let verdict = store.verify_audit().expect("verify");
    assert!(verdict.ok, "{verdict:?}");
}

pub(super) fn an_approval_is_decided_once_or_expires<S: Subject>() {
    let s = S::open();
    let store = s.store();
    let other = s.another_handle();
    let first = store
        .request_approval(
            &request("alice", Duration::from_secs(60)),
            &approval_audit("request"),
        )
        .expect("request");
    let second = store
        .request_approval(
            &request("alice", Duration::from_secs(60)),
            &approval_audit("request"),
        )
        .expect("request");
    let pending = other.approvals(Some("pending")).expect("pending");
    assert_eq!(
        pending.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![first, second]
    );
    assert_eq!(pending[0].created_at, start());
    assert_eq!(pending[0].expires_at, start() + seconds(60));
    assert_eq!(pending[0].by_depth, request("alice", LEASE).by_depth);
    assert_eq!(pending[0].mailboxes, 2);
    assert!(matches!(
        other.approval(first + second),
        Err(StoreError::NotFound(_))
    ));

    // Nobody decides their own request.
    let own = other.settle_approval(
        first,
        "alice",
        None,
        Settlement::Reject,
        &approval_audit("reject"),
    );
    assert!(
        matches!(&own, Err(StoreError::Invalid(why)) if why.contains("requester")),
        "{own:?}"
    );
    s.advance(Duration::from_secs(5));
    let (job, items) = retract_job(&mailboxes(3));
    let approved = other
        .settle_approval(
            first,
            "bob",
            Some("looks right"),
            Settlement::Approve(&job, &items),
            &approval_audit("approve"),
        )
        .expect("approve");
    assert_eq!(approved.state, "approved");
    assert_eq!(approved.decided_by.as_deref(), Some("bob"));
    assert_eq!(approved.decided_at, Some(start() + seconds(5)));
    assert_eq!(approved.decision_reason.as_deref(), Some("looks right"));
    let job_id = approved.job.expect("the approved job");
    assert_eq!(store.job_items(job_id).expect("items").len(), 3);
    // Decided once: a second decision is refused and changes nothing.
    let again = store.settle_approval(
        first,
        "carol",
        None,
        Settlement::Reject,
        &approval_audit("reject"),
    );
    assert!(
        matches!(&again, Err(StoreError::Invalid(why)) if why.contains("already")),
        "{again:?}"
    );
    assert_eq!(store.approval(first).expect("read"), approved);

    // Past its time: refused, then expired (once) with its audit record.
    s.advance(Duration::from_secs(60));
    let late = store.settle_approval(
        second,
        "bob",
        None,
        Settlement::Reject,
        &approval_audit("reject"),
    );
    assert!(
        matches!(&late, Err(StoreError::Invalid(why)) if why.contains("expired")),
        "{late:?}"
    );
    let expired = other.expire_approvals(&expiry_audit).expect("expire");
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].id, expired[0].state.as_str()),
        (second, "expired")
    );
    assert_eq!(expired[0].decided_at, Some(start() + seconds(65)));
    assert!(
        store
            .expire_approvals(&expiry_audit)
            .expect("again")
            .is_empty()
    );
    assert_eq!(store.approvals(Some("expired")).expect("expired").len(), 1);
    assert_eq!(store.approvals(None).expect("all").len(), 2);
    let audited = store
        .audit_entries(&AuditFilter {
            action: Some("approval expired".into()),
            ..AuditFilter::default()
        })
        .expect("audit");
    assert_eq!(audited.len(), 1);
    assert_eq!(
        audited[0].detail.as_deref(),
        Some(format!("approval request {second} is expired").as_str())
    );
    let verdict = store.verify_audit().expect("verify");
    assert!(verdict.ok, "{verdict:?}");
}

pub(super) fn a_poller_cursor_is_kept_per_source<S: Subject>() {
    let s = S::open();
    let store = s.store();
    assert_eq!(store.poller_cursor("tap").expect("read"), None);
    store
        .set_poller_cursor("tap", "2026-12-01T10:00:00Z")
        .expect("save");
    store
        .set_poller_cursor("defender:corp", "d1")
        .expect("save");
    s.another_handle()
        .set_poller_cursor("tap", "2026-12-01T11:00:00Z")
        .expect("replace");
    assert_eq!(
        store.poller_cursor("tap").expect("read").as_deref(),
        Some("2026-12-01T11:00:00Z")
    );
    assert_eq!(
        store
            .poller_cursor("defender:corp")
            .expect("read")
            .as_deref(),
        Some("d1")
    );
}
