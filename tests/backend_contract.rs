//! The backend contract suite: one table of scenarios (`backend_contract/scenarios.rs`) run
//! through the real binary against every backend on its real mail system: Maildir trees,
//! Dovecot, Cyrus in both layouts (skipped only with `RETRACTOR_SKIP_CYRUS=1` when Cyrus is
//! missing), the Graph test server, the EWS test server (NTLM with impersonation, Basic
//! with Full Access) and the Gmail test server.
//!
//! Each backend is one test: it starts its system once, runs every scenario on it in
//! parallel (each with mailboxes and a config of its own), prints the named skips and
//! known failures, and fails naming each scenario that failed. A new backend joins by
//! implementing `Fixture` and `Tenant` (`backend_contract/fixture.rs`) and adding a test
//! below.

mod common;
#[path = "common/cyrus.rs"]
mod cyrus;
#[path = "common/dovecot.rs"]
mod dovecot;
mod ews_server;
mod gmail_server;
mod graph_server;
#[path = "common/tls.rs"]
mod tls;

#[path = "backend_contract/ews.rs"]
mod ews;
#[path = "backend_contract/fixture.rs"]
mod fixture;
#[path = "backend_contract/gmail.rs"]
mod gmail;
#[path = "backend_contract/graph.rs"]
mod graph;
#[path = "backend_contract/imap.rs"]
mod imap;
#[path = "backend_contract/maildir.rs"]
mod maildir;
#[path = "backend_contract/scenarios.rs"]
mod scenarios;

use fixture::Fixture;
use scenarios::{KNOWN_FAILURES, SCENARIOS, SKIPS};

/// Run every scenario on one backend; panics naming the scenarios that failed (their own
/// panic messages are printed above it).
fn run_contract(fixture: &dyn Fixture) {
    let backend = fixture.name();
    let applies = |b: &str| b == "*" || b == backend;
    for skip in SKIPS.iter().filter(|s| applies(s.backend)) {
        match skip.aspect {
            Some(aspect) => eprintln!(
                "SKIP {backend} / {} / {aspect}: {}",
                skip.scenario, skip.reason
            ),
            None => eprintln!("SKIP {backend} / {}: {}", skip.scenario, skip.reason),
        }
    }
    let runnable = SCENARIOS.iter().filter(|s| {
        !SKIPS
            .iter()
            .any(|k| applies(k.backend) && k.scenario == s.name && k.aspect.is_none())
    });
    let outcomes: Vec<(&str, bool)> = std::thread::scope(|scope| {
        let running: Vec<_> = runnable
            .map(|s| {
                let run = move || {
                    let started = std::time::Instant::now();
                    (s.run)(fixture, s);
                    eprintln!("{backend} / {}: {:.1?}", s.name, started.elapsed());
                };
                (s.name, scope.spawn(run))
            })
            .collect();
        running
            .into_iter()
            .map(|(name, handle)| (name, handle.join().is_ok()))
            .collect()
    });
    let mut unexpected = Vec::new();
    for (name, passed) in outcomes {
        let known = KNOWN_FAILURES
            .iter()
            .find(|k| applies(k.backend) && k.scenario == name);
        match (passed, known) {
            (true, None) => {}
            (false, None) => unexpected.push(format!("{name} failed")),
            (false, Some(k)) => eprintln!("KNOWN FAILURE {backend} / {name}: {}", k.bug),
            (true, Some(k)) => unexpected.push(format!(
                "{name} passes: remove its known failure ({})",
                k.bug
            )),
        }
    }
    assert!(unexpected.is_empty(), "{backend}: {unexpected:?}");
}

/// Every mailbox address the scenarios use on an IMAP server, for a server whose users must
/// exist before it starts.
fn imap_users() -> Vec<String> {
    SCENARIOS
        .iter()
        .flat_map(|s| s.users.iter().map(|u| imap::address(s.tag, u)))
        .collect()
}

#[test]
fn maildir_keeps_the_contract() {
    run_contract(&maildir::MaildirFixture);
}

#[test]
fn dovecot_keeps_the_contract() {
    run_contract(&imap::DovecotFixture::start(&imap_users()));
}

#[test]
fn cyrus_upstream_layout_keeps_the_contract() {
    let Some(fixture) = imap::CyrusFixture::start(cyrus::Layout::Upstream) else {
        return;
    };
    run_contract(&fixture);
}

#[test]
fn cyrus_debian_layout_keeps_the_contract() {
    let Some(fixture) = imap::CyrusFixture::start(cyrus::Layout::Debian) else {
        return;
    };
    run_contract(&fixture);
}

#[test]
fn ews_with_ntlm_and_impersonation_keeps_the_contract() {
    let fixture = ews::EwsFixture::start("ntlm", "impersonation");
    run_contract(&fixture);
    assert_eq!(fixture.violations(), Vec::<String>::new());
}

#[test]
fn ews_with_basic_and_full_access_keeps_the_contract() {
    let fixture = ews::EwsFixture::start("basic", "delegate");
    run_contract(&fixture);
    assert_eq!(fixture.violations(), Vec::<String>::new());
}

#[test]
fn graph_keeps_the_contract() {
    let fixture = graph::GraphFixture::start();
    run_contract(&fixture);
    assert_eq!(fixture.violations(), Vec::<String>::new());
}

#[test]
fn gmail_keeps_the_contract() {
    let fixture = gmail::GmailFixture::start();
    run_contract(&fixture);
    assert_eq!(fixture.violations(), Vec::<String>::new());
}
