//! The scenario table: what every backend must do, checked through the real binary on the
//! backend's own mail system, and the named exceptions.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::fixture::{Copy, Fixture, Seed, Tenant};

/// One contract scenario. `tag` names its mailboxes on a shared server (`alice-<tag>@...`),
/// `users` are every mailbox it creates (a server that needs its users up front gets these).
pub struct Scenario {
    pub name: &'static str,
    pub tag: &'static str,
    pub users: &'static [&'static str],
    pub run: fn(&dyn Fixture, &Scenario),
}

/// A scenario (or one aspect of it) a backend cannot be held to, with the reason. The
/// runner prints each; a skipped scenario does not run.
pub struct Skip {
    pub backend: &'static str,
    pub scenario: &'static str,
    /// `None`: the whole scenario is skipped; `Some`: it runs, minus this aspect.
    pub aspect: Option<&'static str>,
    pub reason: &'static str,
}

/// A scenario that fails on a backend because of a bug in the product, named here until it
/// is fixed: it still runs, its failure is reported but does not fail the suite, and a pass
/// fails the suite (remove the entry).
pub struct KnownFailure {
    pub backend: &'static str,
    pub scenario: &'static str,
    pub bug: &'static str,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "exact_locate_ignores_decoys_containing_the_id",
        tag: "loc",
        users: &["alice", "quarantine"],
        run: exact_locate,
    },
    Scenario {
        name: "every_action_and_its_restore_keep_folder_flags_and_date",
        tag: "act",
        users: &["alice", "bob", "quarantine"],
        run: every_action_and_restore,
    },
    Scenario {
        name: "depth_two_is_found_by_header_search_across_mailboxes",
        tag: "depth",
        users: &["alice", "bob", "carol", "quarantine"],
        run: depth_two,
    },
    Scenario {
        name: "a_crash_between_act_and_record_acts_once_and_restores",
        tag: "crash",
        users: &["alice", "bob", "quarantine"],
        run: crash_between_act_and_record,
    },
    Scenario {
        name: "a_message_not_in_the_mailbox_is_not_found",
        tag: "nf",
        users: &["alice", "quarantine"],
        run: not_found,
    },
    Scenario {
        name: "a_mailbox_the_system_does_not_have_is_not_actionable",
        tag: "na",
        users: &["alice", "quarantine"],
        run: not_actionable,
    },
    Scenario {
        name: "hard_delete_on_a_held_mailbox_is_retained_by_hold",
        tag: "hold",
        users: &["alice", "held", "quarantine"],
        run: hold,
    },
    Scenario {
        name: "a_processed_report_is_filed_into_its_folder_once",
        tag: "file",
        users: &["alice", "abuse", "quarantine"],
        run: report_filed_once,
    },
];

pub const SKIPS: &[Skip] = &[
    Skip {
        backend: "*",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("hard-delete restore"),
        reason: "a hard-deleted copy is destroyed (its evidence kept); there is nothing to put \
                 back. Hard-delete itself is checked by the hold scenario",
    },
    Skip {
        backend: "graph",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("\\Flagged"),
        reason: "the Graph test server models isRead only (no followup flag)",
    },
    Skip {
        backend: "graph",
        scenario: "hard_delete_on_a_held_mailbox_is_retained_by_hold",
        aspect: Some("held copy readable"),
        reason: "Exchange keeps a held mailbox's permanently deleted item in Recoverable \
                 Items/Purges, out of Graph's reach (and the test server does not model it)",
    },
    Skip {
        backend: "ews",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("\\Flagged"),
        reason: "the EWS test server models IsRead only (no followup flag)",
    },
    Skip {
        backend: "ews-delegate",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("\\Flagged"),
        reason: "the EWS test server models IsRead only (no followup flag)",
    },
    Skip {
        backend: "gmail",
        scenario: "hard_delete_on_a_held_mailbox_is_retained_by_hold",
        aspect: Some("held copy readable"),
        reason: "a Vault hold keeps a deleted message in Vault, out of the Gmail API's reach \
                 (the test server does not model Vault)",
    },
    Skip {
        backend: "gmail",
        scenario: "depth_two_is_found_by_header_search_across_mailboxes",
        aspect: None,
        reason: "Gmail's search has no In-Reply-To or References operator: a reply is found \
                 from the threads of the mailboxes holding its parent, and this scenario's \
                 forward has no parent copy in any mailbox (gmail_backend.rs tests depth with \
                 the sender's copy in the thread, as Gmail keeps it)",
    },
    Skip {
        backend: "cyrus-upstream",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("flags while quarantined"),
        reason: "Cyrus limits identical copies, so each quarantined copy is appended changed \
                 (and unflagged); restore still puts the flags back",
    },
    Skip {
        backend: "cyrus-debian",
        scenario: "every_action_and_its_restore_keep_folder_flags_and_date",
        aspect: Some("flags while quarantined"),
        reason: "Cyrus limits identical copies, so each quarantined copy is appended changed \
                 (and unflagged); restore still puts the flags back",
    },
];

pub const KNOWN_FAILURES: &[KnownFailure] = &[];

/// Whether this backend is excused from `aspect` of scenario `s` by [`SKIPS`]: the
/// scenario leaves that check (or that seed) out.
fn excused(f: &dyn Fixture, s: &Scenario, aspect: &str) -> bool {
    SKIPS.iter().any(|k| {
        (k.backend == "*" || k.backend == f.name())
            && k.scenario == s.name
            && k.aspect == Some(aspect)
    })
}

/// The actions that have a restore, in the order the scenario runs them.
const REVERSIBLE: [&str; 4] = ["move-to-junk", "trash", "soft-delete", "quarantine"];

fn msg(s: &Scenario) -> String {
    format!("<phish-{}@evil.test>", s.tag)
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn item_for<'a>(items: &'a [Value], mailbox: &str, message_id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["mailbox"] == mailbox && i["message_id"] == message_id)
        .unwrap_or_else(|| panic!("no item for {mailbox} {message_id} in {items:?}"))
}

/// Every copy in these mailboxes, per mailbox.
fn snapshot(t: &dyn Tenant, addresses: &[String]) -> Vec<(String, Vec<Copy>)> {
    addresses.iter().map(|a| (a.clone(), t.read(a))).collect()
}

fn addresses(t: &dyn Tenant, users: &[&str]) -> Vec<String> {
    users.iter().map(|u| t.addr(u)).collect()
}

fn retract(t: &dyn Tenant, id: &str, action: &str, more: &[&str]) -> Value {
    let mut args = vec!["retract", id, "--action", action];
    args.extend_from_slice(more);
    args.extend(["--yes", "--wait"]);
    let (code, job) = t.json(&args);
    assert_eq!(code, 0, "{action}: {job}");
    job
}

fn restore_job(t: &dyn Tenant, job: &Value) -> Value {
    let id = job["job"]["id"].to_string();
    let (code, restored) = t.json(&["restore", "--job", &id, "--yes", "--wait"]);
    assert_eq!(code, 0, "restore: {restored}");
    restored
}

/// A wanted message, and two decoys whose Message-IDs contain the wanted one (IMAP SEARCH
/// HEADER and Graph `contains` are substring matches): only the wanted copy moves.
fn exact_locate(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let wanted = msg(s);
    let decoys = [
        format!("<xphish-{}@evil.test>", s.tag),
        format!("<phish-{}@evil.test.evil>", s.tag),
    ];
    let alice = t.addr("alice");
    t.seed(&alice, &Seed::inbox(&wanted));
    for d in &decoys {
        t.seed(&alice, &Seed::inbox(d));
    }
    t.ingest(&wanted, &["alice"]);
    let before = t.read(&alice);
    let (code, plan) = t.json(&["retract", &wanted, "--action", "trash", "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let planned = plan["plan"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(planned.len(), 1, "{plan}");
    assert_eq!(planned[0]["message_id"], wanted.as_str(), "{plan}");
    let job = retract(t, &wanted, "trash", &[]);
    let all = items(&job);
    assert_eq!(all.len(), 1, "{job}");
    assert_eq!(item_for(&all, &alice, &wanted)["result"], "remediated");
    let after = t.read(&alice);
    for d in &decoys {
        let was: Vec<&Copy> = before.iter().filter(|c| &c.message_id == d).collect();
        let now: Vec<&Copy> = after.iter().filter(|c| &c.message_id == d).collect();
        assert_eq!(was, now, "decoy {d} untouched");
    }
    let moved = t.copies(&alice, &wanted);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        t.is_destination("trash", &alice, &moved[0].folder),
        "{moved:?}"
    );
    restore_job(t, &job);
    assert_eq!(t.read(&alice), before, "restored exactly");
}

/// Each reversible action pulls both recipients' copies (one from INBOX, read and flagged;
/// one from a personal folder, unread) to where it should, keeping flags and date; each
/// restore puts every mailbox back exactly as it was.
fn every_action_and_restore(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let id = msg(s);
    let (alice, bob) = (t.addr("alice"), t.addr("bob"));
    t.seed(
        &alice,
        &Seed {
            seen: true,
            flagged: !excused(f, s, "\\Flagged"),
            ..Seed::inbox(&id)
        },
    );
    t.seed(
        &alice,
        &Seed::inbox(&format!("<xphish-{}@evil.test>", s.tag)),
    );
    t.seed(
        &bob,
        &Seed {
            folder: "Projects",
            ..Seed::inbox(&id)
        },
    );
    t.ingest(&id, &["alice", "bob"]);
    let everyone = addresses(t, s.users);
    let before = snapshot(t, &everyone);
    let original = |address: &str| -> Copy {
        let (_, copies) = before.iter().find(|(a, _)| a == address).expect("seeded");
        copies
            .iter()
            .find(|c| c.message_id == id)
            .cloned()
            .expect("seeded copy")
    };
    for action in REVERSIBLE {
        let job = retract(t, &id, action, &[]);
        let all = items(&job);
        assert_eq!(all.len(), 2, "{action}: {job}");
        for recipient in [&alice, &bob] {
            assert_eq!(
                item_for(&all, recipient, &id)["result"],
                "remediated",
                "{action}: {job}"
            );
            let holder = t.holder(action, recipient);
            let placed: Vec<Copy> = t
                .copies(&holder, &id)
                .into_iter()
                .filter(|c| t.is_destination(action, recipient, &c.folder))
                .collect();
            assert_eq!(placed.len(), 1, "{action} {recipient}: {placed:?}");
            let was = original(recipient);
            assert_eq!(placed[0].date, was.date, "{action} {recipient}: date kept");
            if action != "quarantine" || !excused(f, s, "flags while quarantined") {
                assert_eq!(placed[0].flags, was.flags, "{action} {recipient}: flags");
            }
            if holder != *recipient {
                assert!(
                    t.copies(recipient, &id).is_empty(),
                    "{action}: {recipient} keeps no copy"
                );
            } else {
                assert_eq!(t.copies(recipient, &id).len(), 1, "{action} {recipient}");
            }
        }
        let restored = restore_job(t, &job);
        for i in items(&restored) {
            assert_eq!(i["result"], "restored", "{action}: {restored}");
        }
        assert_eq!(snapshot(t, &everyone), before, "{action}: restored exactly");
    }
}

/// The logged message in alice's mailbox; bob's forward of it and carol's reply to the
/// forward never passed the gateway: only a header search finds them (depth 1 and 2). A
/// message whose References merely contain the id as a substring is no descendant.
fn depth_two(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let id = msg(s);
    let fwd = format!("<fwd-{}@corp.test>", s.tag);
    let reply = format!("<reply-{}@corp.test>", s.tag);
    let other = format!("<other-{}@corp.test>", s.tag);
    let decoy = format!("<xphish-{}@evil.test>", s.tag);
    let (alice, bob, carol) = (t.addr("alice"), t.addr("bob"), t.addr("carol"));
    t.seed(&alice, &Seed::inbox(&id));
    let fwd_refs = [id.as_str()];
    t.seed(
        &bob,
        &Seed {
            in_reply_to: Some(&id),
            references: &fwd_refs,
            ..Seed::inbox(&fwd)
        },
    );
    let reply_refs = [id.as_str(), fwd.as_str()];
    t.seed(
        &carol,
        &Seed {
            seen: true,
            in_reply_to: Some(&fwd),
            references: &reply_refs,
            ..Seed::inbox(&reply)
        },
    );
    let other_refs = [decoy.as_str()];
    t.seed(
        &carol,
        &Seed {
            references: &other_refs,
            ..Seed::inbox(&other)
        },
    );
    t.ingest(&id, &["alice"]);
    let everyone = addresses(t, s.users);
    let before = snapshot(t, &everyone);
    let (code, plan) = t.json(&[
        "retract",
        &id,
        "--action",
        "move-to-junk",
        "--depth",
        "2",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    let by_depth: Vec<(u64, u64, u64)> = plan["plan"]["by_depth"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["depth"].as_u64().unwrap_or(99),
                d["messages"].as_u64().unwrap_or(0),
                d["mailboxes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(by_depth, [(0, 1, 1), (1, 1, 1), (2, 1, 1)], "{plan}");
    let job = retract(t, &id, "move-to-junk", &["--depth", "2"]);
    let all = items(&job);
    assert_eq!(all.len(), 3, "{job}");
    for (address, message_id, depth) in [(&alice, &id, 0), (&bob, &fwd, 1), (&carol, &reply, 2)] {
        let item = item_for(&all, address, message_id);
        assert_eq!(item["depth"], depth, "{item}");
        assert_eq!(item["result"], "remediated", "{item}");
        let now = t.copies(address, message_id);
        assert_eq!(now.len(), 1, "{now:?}");
        assert!(
            t.is_destination("move-to-junk", address, &now[0].folder),
            "{now:?}"
        );
    }
    assert_eq!(
        t.copies(&carol, &other),
        before[2]
            .1
            .iter()
            .filter(|c| c.message_id == other)
            .cloned()
            .collect::<Vec<_>>(),
        "the look-alike stays"
    );
    restore_job(t, &job);
    assert_eq!(snapshot(t, &everyone), before, "restored exactly");
}

/// A worker stops itself right after its first quarantine (a move across mailboxes on IMAP
/// and Maildir), before recording it, and is killed (`RETRACTOR_TEST_STOP_AT=after-act`, as
/// `crash_resume.rs`). The next worker takes the dead worker's claim over (same host, no such
/// process) and finishes the job: the acted copy is found in the quarantine, not acted again,
/// and restore still puts it back.
fn crash_between_act_and_record(f: &dyn Fixture, s: &Scenario) {
    // One item at a time: the stop comes after exactly one act.
    let t = f.tenant(s.tag, s.users, &[], "concurrency = 1");
    let t = t.as_ref();
    let id = msg(s);
    let recipients = ["alice", "bob"];
    for u in recipients {
        t.seed(&t.addr(u), &Seed::inbox(&id));
    }
    t.ingest(&id, &recipients);
    let everyone = addresses(t, s.users);
    let before = snapshot(t, &everyone);
    let (code, queued) = t.json(&["retract", &id, "--action", "trash", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    let job_id = queued["job"]["id"].to_string();
    let mut worker = spawn_stopped_at(t, &["worker"], "after-act");
    worker.kill().expect("SIGKILL");
    worker.wait().expect("reap");
    let (code, out) = t.json(&["worker"]);
    assert_eq!(code, 0, "{out}");
    let (_, job) = t.json(&["jobs", &job_id]);
    assert_eq!(job["job"]["status"], "done", "{job}");
    let mut results: Vec<String> = items(&job)
        .iter()
        .map(|i| i["result"].as_str().unwrap_or("").to_string())
        .collect();
    results.sort();
    assert_eq!(results, ["already-in-destination", "remediated"], "{job}");
    for u in recipients {
        let address = t.addr(u);
        let now = t.copies(&address, &id);
        assert_eq!(now.len(), 1, "{address}: acted exactly once: {now:?}");
        assert!(
            t.is_destination("trash", &address, &now[0].folder),
            "{now:?}"
        );
    }
    restore_job(t, &job);
    assert_eq!(snapshot(t, &everyone), before, "restored exactly");
}

/// Start the binary so that it stops itself (SIGSTOP) at `point` of its first act, and wait
/// until it has. The caller kills and reaps it.
#[allow(clippy::zombie_processes)]
fn spawn_stopped_at(t: &dyn Tenant, args: &[&str], point: &str) -> std::process::Child {
    let home = t.dir();
    let child = Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("RETRACTOR_TEST_STOP_AT", point)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    crate::common::wait_until_stopped(child, point)
}

/// Logged to alice, but her mailbox has only a look-alike: not found, nothing moves.
fn not_found(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let id = msg(s);
    let alice = t.addr("alice");
    t.seed(
        &alice,
        &Seed::inbox(&format!("<xphish-{}@evil.test>", s.tag)),
    );
    t.ingest(&id, &["alice"]);
    let before = t.read(&alice);
    let job = retract(t, &id, "trash", &[]);
    let all = items(&job);
    assert_eq!(all.len(), 1, "{job}");
    assert_eq!(item_for(&all, &alice, &id)["result"], "not-found", "{job}");
    assert_eq!(t.read(&alice), before);
}

/// Logged to alice, to a mailbox of the tenant's domain the system does not have, and to an
/// outside address: the two are not actionable, alice's copy is pulled, the job succeeds.
fn not_actionable(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let id = msg(s);
    let alice = t.addr("alice");
    t.seed(&alice, &Seed::inbox(&id));
    let ghost = t.addr("ghost");
    let outside = "partner@outside.example";
    let to = [alice.as_str(), ghost.as_str(), outside];
    let line = crate::common::log_line(&id, "mallory@evil.test", &to, "Invoice", None);
    let file = t.dir().join("ghost.jsonl");
    std::fs::write(&file, line).expect("log");
    let (code, loaded) = t.json(&["ingest", "--format", "jsonl", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{loaded}");
    let job = retract(t, &id, "trash", &[]);
    let all = items(&job);
    assert_eq!(item_for(&all, &alice, &id)["result"], "remediated", "{job}");
    for m in [ghost.as_str(), outside] {
        assert_eq!(
            item_for(&all, m, &id)["result"],
            "not-actionable",
            "{m}: {job}"
        );
    }
}

/// Hard-delete: the copy of a mailbox on hold is kept (flags and date too), the job says
/// "retained by hold"; the other copy is destroyed.
fn hold(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &["held"], "");
    let t = t.as_ref();
    let id = msg(s);
    let (alice, held) = (t.addr("alice"), t.addr("held"));
    t.seed(&alice, &Seed::inbox(&id));
    t.seed(
        &held,
        &Seed {
            seen: true,
            ..Seed::inbox(&id)
        },
    );
    t.ingest(&id, &["alice", "held"]);
    let held_before = t.copies(&held, &id);
    let job = retract(t, &id, "hard-delete", &[]);
    let all = items(&job);
    assert_eq!(item_for(&all, &alice, &id)["result"], "remediated", "{job}");
    assert!(t.copies(&alice, &id).is_empty(), "alice's copy destroyed");
    let kept = item_for(&all, &held, &id);
    assert!(
        kept["error"]
            .as_str()
            .unwrap_or("")
            .contains("retained by hold"),
        "{kept}"
    );
    let held_now = t.copies(&held, &id);
    if excused(f, s, "held copy readable") {
        assert!(held_now.is_empty(), "out of the user's view: {held_now:?}");
        return;
    }
    assert_eq!(held_now.len(), 1, "{held_now:?}");
    assert_ne!(
        held_now[0].folder, held_before[0].folder,
        "out of the user's view"
    );
    assert_eq!(
        (&held_now[0].flags, &held_now[0].date),
        (&held_before[0].flags, &held_before[0].date),
        "kept as it was"
    );
}

/// Phish submissions on this backend's abuse mailbox: a report with the original attached
/// whole (Microsoft's user-reported-message format) is read from the INBOX, raised, and
/// filed into `Retractor/Processed` (however the system names it) exactly once; a second run
/// reads nothing new and moves nothing.
fn report_filed_once(f: &dyn Fixture, s: &Scenario) {
    let t = f.tenant(s.tag, s.users, &[], "");
    let t = t.as_ref();
    let id = msg(s);
    let (alice, abuse) = (t.addr("alice"), t.addr("abuse"));
    let report_id = format!("<report-{}@corp.test>", s.tag);
    let original = Seed::inbox(&id).raw(&alice);
    let report = format!(
        "Message-ID: {report_id}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\
         From: Alice <{alice}>\r\nTo: {abuse}\r\nSubject: 3|Invoice\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"report\"\r\n\r\n--report\r\n\
         Content-Type: text/plain\r\n\r\nReported as phishing.\r\n--report\r\n\
         Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"Invoice.eml\"\r\n\r\n\
         {original}\r\n--report--\r\n"
    );
    t.seed_raw(&abuse, &report);
    t.ingest(&id, &["alice"]);
    let config = t.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[submissions]\ntenant = \"corp\"\nmailbox = \"{abuse}\"\n"
    ));
    std::fs::write(&config, text).expect("config");

    let (code, run) = t.json(&["submissions"]);
    assert_eq!(code, 0, "{run}");
    let reports = run["submissions"]["reports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(reports.len(), 1, "{run}");
    assert_eq!(reports[0]["reporter"], alice.as_str(), "{run}");
    assert_eq!(reports[0]["original_message_id"], id.as_str(), "{run}");
    assert_eq!(reports[0]["moved"], true, "{run}");
    let filed = t.copies(&abuse, &report_id);
    assert_eq!(filed.len(), 1, "one copy: {filed:?}");
    assert!(
        filed[0].folder.contains("Processed")
            && !filed[0]
                .folder
                .split(',')
                .any(|place| place.eq_ignore_ascii_case("INBOX")),
        "{filed:?}"
    );

    let (code, again) = t.json(&["submissions"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        again["submissions"]["reports"],
        serde_json::json!([]),
        "{again}"
    );
    assert_eq!(again["submissions"]["moved_earlier"], 0, "{again}");
    assert_eq!(t.copies(&abuse, &report_id), filed, "not moved again");
}
