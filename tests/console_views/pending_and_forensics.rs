//! The Pending view (requests held by `[approvals]`, answered in the console by another
//! person, refused to the requester) and the Forensics tab (the evidence of a phish with a
//! link and an attachment, delivered into a demo mailbox), on the real engine.

use super::*;

use retractor::api::{PlanRequest, RetractRequest, Submission};
use retractor::model::Action;

const PHISH_ID: &str = "<phish-2026-12-01@evil-bank.example>";

/// The demo mailbox the phish goes to: the first member of staff (by name) in the demo tree.
fn phish_recipient(summary: &retractor::demo::DemoSummary) -> (String, std::path::PathBuf) {
    let domain = summary.mail_root.join("demo.test");
    let mut locals: Vec<String> = std::fs::read_dir(&domain)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.contains("quarantine") && !summary.hold_mailbox.starts_with(n.as_str()))
        .collect();
    locals.sort();
    let local = locals.first().expect("a demo mailbox").clone();
    (format!("{local}@demo.test"), domain.join(local))
}

/// The demo with tests/fixtures/forensics/phish.eml delivered to one mailbox and logged, and
/// `[approvals]` holding every hard-delete and every job above 2 mailboxes.
fn phish_demo() -> Demo {
    demo_with(|config, summary| {
        config.approvals.required_above = Some(2);
        config.approvals.hard_delete = true;
        let (address, mailbox) = phish_recipient(summary);
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/forensics/phish.eml"
        ))
        .unwrap();
        std::fs::write(mailbox.join("new").join("1796119207.M1P1.demo"), raw).unwrap();
        vec![
            serde_json::json!({
                "message_id": PHISH_ID, "from": "support@evil-bank.example", "to": [address],
                "subject": "Your mailbox is full", "received_at": "2026-11-20T10:00:00Z",
                "disposition": "malicious",
            })
            .to_string(),
        ]
    })
}

impl Harness {
    /// Ask for a retraction through the api as the harness's actor: planned, confirmed and
    /// submitted, as `retract --yes` does. Returns the approval request it was held as.
    fn request(&self, message: &str, action: Action) -> i64 {
        let api = self.tasks.api();
        let plan = self
            .rt
            .block_on(api.plan(&PlanRequest::Retract(RetractRequest {
                message: message.to_string(),
                recipients: Vec::new(),
                exclude: Vec::new(),
                depth: 0,
                action,
                reason: Some("INC-7".into()),
                max_items: None,
            })))
            .unwrap();
        let answer = plan.confirmation.word.clone().unwrap_or_else(|| "y".into());
        let submitted = self
            .rt
            .block_on(api.submit(&Submission {
                plan: plan.id,
                answer,
                wait: false,
            }))
            .unwrap();
        assert!(submitted.job.is_none(), "held for approval");
        submitted.approval.expect("an approval request").id
    }

    /// Read the waiting requests as the runtime's sampler does.
    fn sample_approvals(&mut self) {
        let records = self.rt.block_on(self.tasks.sample_approvals()).unwrap();
        let commands = app::update(&mut self.app, Event::Approvals(records));
        self.settle(commands);
    }
}

/// A harness over the same store and config as `d`'s, as another person.
fn as_person(d: &Demo, login: &str, role: Role, w: u16, hh: u16) -> Harness {
    let engine = Engine::new(
        Arc::clone(d.engine.config()),
        Arc::clone(d.engine.store()),
        Actor {
            login: login.into(),
            ssh_from: None,
            role,
        },
    );
    let other = Demo {
        _dir: tempfile::tempdir().unwrap(),
        engine: Arc::new(engine),
        campaign: d.campaign.clone(),
    };
    let mut h = Harness::new(&other, w, hh);
    // The harness keeps the engine; the demo's directory stays with `d`.
    h.engine = Arc::clone(&other.engine);
    h
}

#[test]
fn snapshots_of_the_pending_view_with_two_requests() {
    let d = phish_demo();
    for (w, hh) in SIZES {
        let mut h = Harness::new(&d, w, hh);
        if w == SIZES[0].0 {
            h.request(&d.campaign, Action::MoveToJunk);
            h.request(PHISH_ID, Action::HardDelete);
        }
        h.sample_approvals();
        // The badge in the view bar before the analyst looks.
        assert!(
            h.screen().lines().next().unwrap().contains("4 Pending [2]"),
            "{}",
            h.screen()
        );
        h.press("4");
        snap_screen(&format!("pending_{w}x{hh}"), redact_times(&h.screen()));
        h.press("j Enter");
        snap_screen(
            &format!("pending_facts_{w}x{hh}"),
            redact_times(&h.screen()),
        );
        h.press("Esc x");
        snap_screen(
            &format!("pending_reject_dialog_{w}x{hh}"),
            redact_times(&h.screen()),
        );
        h.press("Esc");
    }
}

#[test]
fn another_person_approves_in_the_console_and_the_requester_is_refused() {
    let d = phish_demo();
    let mut requester = Harness::new(&d, 120, 40);
    let request = requester.request(&d.campaign, Action::MoveToJunk);
    let mailboxes = d.engine.store().approval(request).unwrap().mailboxes;
    assert!(
        mailboxes > 2,
        "held because it reaches {mailboxes} mailboxes"
    );

    // The requester's own console: `a`, Enter: refused by the api, the reason in the dialog.
    requester.press("4 a Enter");
    let Overlay::Approval(dialog) = &requester.app.overlay else {
        panic!("the dialog stays open: {}", requester.screen());
    };
    let why = dialog.error.clone().expect("the refusal");
    assert!(why.contains("may not decide their own"), "{why}");
    assert!(requester.screen().contains("may not decide their own"));
    requester.press("Esc");
    assert_eq!(d.engine.store().approval(request).unwrap().state, "pending");

    // A viewer is refused by role, whatever the console offers.
    let mut viewer = as_person(&d, "vic", Role::Viewer, 120, 40);
    viewer.press("4 a Enter");
    assert!(
        viewer.flash().contains("needs responder or above"),
        "{}",
        viewer.flash()
    );

    // Another responder: approved, the job written and run by this console.
    let mut bob = as_person(&d, "bob", Role::Responder, 120, 40);
    bob.press("4");
    assert!(
        bob.screen().contains("retract move-to-junk"),
        "{}",
        bob.screen()
    );
    bob.press("a");
    bob.type_text("seen it");
    let commands = app::update(&mut bob.app, Event::Key(key("Enter")));
    let mut job = None;
    for c in commands {
        for e in bob.rt.block_on(bob.tasks.perform(c)) {
            if let Event::ApprovalAnswered { result: Ok(r), .. } = &e {
                job = r.job;
            }
            let next = app::update(&mut bob.app, e);
            bob.settle(next);
        }
    }
    let job = job.expect("approved: a job");
    assert!(matches!(bob.app.overlay, Overlay::None));
    assert!(bob.flash().contains("approved: job"), "{}", bob.flash());
    let done = bob.rt.block_on(bob.tasks.run_job(job));
    app::update(&mut bob.app, done);
    let settled = d.engine.store().approval(request).unwrap();
    assert_eq!(settled.state, "approved");
    assert_eq!(settled.decided_by.as_deref(), Some("bob"));
    let ran = d.engine.store().job(job).unwrap();
    assert_eq!(ran.initiated_by, "analyst", "the requester's job");
    assert_eq!(
        ran.counts.remediated, mailboxes,
        "every mailbox pulled: {ran:?}"
    );
    bob.sample_approvals();
    assert!(bob.app.pending.rows.iter().all(|r| r.id != request));
}

#[test]
fn snapshots_of_the_forensics_tab_of_a_phish_with_a_link_and_an_attachment() {
    let d = phish_demo();
    for (w, hh) in SIZES {
        let mut h = Harness::new(&d, w, hh);
        h.press("/");
        h.type_text("from:support@evil-bank.example");
        h.press("Enter Enter");
        // From the Summary, `h` wraps to the last tab.
        let asked = app::update(&mut h.app, Event::Key(key("h")));
        assert!(
            matches!(asked.as_slice(), [Command::LoadEvidence { .. }]),
            "opening the tab asks for the evidence once: {asked:?}"
        );
        assert!(h.screen().contains("loading..."));
        h.settle(asked);
        let screen = h.screen();
        assert!(
            screen.contains("hxxps://login[.]evil-bank[.]example"),
            "{screen}"
        );
        assert!(!screen.contains("https://login.evil-bank"), "{screen}");
        assert!(!screen.contains('\u{1b}'), "{screen}");
        snap(&h, "forensics_tab");
        // Scrolls like the Headers tab: to the attachments at the end.
        h.press("G");
        assert!(h.screen().contains("invoice.pdf.exe"), "{}", h.screen());
        snap(&h, "forensics_tab_end");
        // Back and forth between tabs: not read again.
        let again = app::update(&mut h.app, Event::Key(key("l")));
        h.settle(again);
        assert!(app::update(&mut h.app, Event::Key(key("h"))).is_empty());
    }
}
