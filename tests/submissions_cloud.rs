//! Phish submissions with the abuse mailbox on Microsoft 365 (Graph), on-premises Exchange
//! (EWS) and Google Workspace (Gmail), through the real binary and a real SQLite store, each
//! against its test server (written from the vendor's documentation). On each: a report
//! with the original attached whole (`tests/fixtures/submissions/microsoft-user-reported.eml`,
//! delivered as it is) is read from the inbox only, becomes an alert naming the reporter, is
//! filed into `Retractor/Processed` exactly once (one move on the server), and a second run
//! acts on nothing new. On Graph another client creates the folder's first level at the same
//! moment (409 `ErrorFolderExists`, read back).

mod common;
mod ews_server;
mod gmail_server;
mod graph_server;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::Value;

const PHISH: &str = "<invoice-7731@evil.test>";
const REPORT: &str = "<report-ms-1@corp.test>";
const PROCESSED: &str = "Retractor/Processed";

/// The abuse mailbox on one mail system, as the test sees it through that system's server.
trait AbuseMailbox {
    /// The tenant's domain (`abuse@<domain>` is the abuse mailbox).
    fn domain(&self) -> &'static str;
    /// The `[tenants.cloud]` keys of the tenant on this server.
    fn tenant_keys(&self, dir: &Path) -> String;
    /// Put a whole MIME message (CRLF) into the abuse mailbox's inbox.
    fn deliver(&self, raw: &str);
    /// Put a whole MIME message somewhere else in the abuse mailbox (Deleted Items, or
    /// archived on Gmail): an analyst's, never read as a new report.
    fn deliver_elsewhere(&self, raw: &str);
    /// Each copy in the abuse mailbox: (Message-ID, the places it shows in).
    fn places(&self) -> Vec<(String, Vec<String>)>;
    /// Moves (or label changes that file) the server carried out so far.
    fn moves(&self) -> u64;
}

/// The report as the fixture has it, in `domain` (the reporter alice, the abuse mailbox),
/// with CRLF line ends as mail systems keep messages.
fn report_in(domain: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions/microsoft-user-reported.eml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.replace("corp.test", domain)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

/// A world whose tenant `cloud` is `abuse`'s server, `[submissions]` naming its abuse mailbox,
/// and the phish logged as delivered to alice (so her report is confirmed).
fn world(abuse: &dyn AbuseMailbox) -> World {
    let domain = abuse.domain();
    let w = World::new(&format!(
        "\n[submissions]\ntenant = \"cloud\"\nmailbox = \"abuse@{domain}\"\n\n\
         [policy]\nwindow = \"52w\"\n"
    ));
    let config = fs::read_to_string(w.config()).expect("config");
    let tenant = format!(
        "\n[tenants.cloud]\n{}domains = [\"{domain}\"]\n",
        abuse.tenant_keys(w.path())
    );
    fs::write(w.config(), config + &tenant).expect("config");
    let line = serde_json::json!({
        "message_id": PHISH, "from": "billing@evil.test", "to": [format!("alice@{domain}")],
        "subject": "Invoice overdue", "received_at": "2026-12-01T09:00:00Z",
        "disposition": "clean",
    });
    let out = w.ingest_lines(&[line.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

fn submissions(w: &World) -> (i32, Value) {
    let (code, v) = w.json(&["submissions", "--wait"]);
    (code, v["submissions"].clone())
}

/// The places of the report's copies in the abuse mailbox.
fn report_places(abuse: &dyn AbuseMailbox, domain: &str) -> Vec<Vec<String>> {
    let id = REPORT.replace("corp.test", domain);
    abuse
        .places()
        .into_iter()
        .filter(|(m, _)| *m == id)
        .map(|(_, p)| p)
        .collect()
}

/// The scenario every system is held to.
fn a_report_is_read_raised_and_filed_once(abuse: &dyn AbuseMailbox) {
    let domain = abuse.domain();
    let w = world(abuse);
    abuse.deliver(&report_in(domain));
    // Only the inbox is read: a report an analyst put elsewhere stays unread where it is.
    let elsewhere = report_in(domain).replace("report-ms-1", "report-ms-2");
    abuse.deliver_elsewhere(&elsewhere);
    let other = format!("<report-ms-2@{domain}>");
    let other_before: Vec<_> = abuse
        .places()
        .into_iter()
        .filter(|(m, _)| *m == other)
        .collect();
    assert_eq!(other_before.len(), 1, "{other_before:?}");
    let reporter = format!("alice@{domain}");
    let in_inbox = report_places(abuse, domain);
    assert_eq!(in_inbox.len(), 1, "{in_inbox:?}");
    assert!(
        in_inbox[0].iter().any(|p| p.eq_ignore_ascii_case("inbox")),
        "{in_inbox:?}"
    );

    let (code, run) = submissions(&w);
    assert_eq!(code, 0, "{run}");
    let reports = run["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 1, "{run}");
    let r = &reports[0];
    assert_eq!(r["format"], "attached", "{r}");
    assert_eq!(r["reporter"], reporter.as_str(), "{r}");
    assert_eq!(r["original_message_id"], PHISH, "{r}");
    assert_eq!(r["outcome"], "reported", "one reporter of three: {r}");
    assert_eq!(r["moved"], true, "{r}");
    // The alert: the original, from the submission source, decided by the policies.
    let decisions = run["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "{run}");
    assert_eq!(decisions[0]["source"], "submission", "{run}");
    assert_eq!(decisions[0]["source_id"], PHISH, "{run}");
    // The audit names the reporter of the recorded report.
    let (_, audit) = w.json(&["audit"]);
    let named = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["action"] == "submission" && a["outcome"] == "reported")
        .filter(|a| a["detail"].as_str().is_some_and(|d| d.contains(&reporter)))
        .count();
    assert_eq!(named, 1, "{audit}");

    // Filed: one copy, in the processed folder only, moved once.
    let filed = report_places(abuse, domain);
    assert_eq!(filed.len(), 1, "{filed:?}");
    assert!(filed[0].iter().any(|p| p == PROCESSED), "{filed:?}");
    assert!(
        !filed[0].iter().any(|p| p.eq_ignore_ascii_case("inbox")),
        "{filed:?}"
    );
    assert_eq!(abuse.moves(), 1);

    // A second run: nothing new read, nothing moved, nothing decided.
    let (code, again) = submissions(&w);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["reports"], serde_json::json!([]), "{again}");
    assert_eq!(again["moved_earlier"], 0, "{again}");
    assert_eq!(again["left_malformed"], 0, "{again}");
    assert_eq!(again["decisions"], serde_json::json!([]), "{again}");
    assert_eq!(report_places(abuse, domain), filed);
    assert_eq!(abuse.moves(), 1);
    let other_after: Vec<_> = abuse
        .places()
        .into_iter()
        .filter(|(m, _)| *m == other)
        .collect();
    assert_eq!(other_after, other_before);
}

struct Graph(graph_server::GraphServer);

impl AbuseMailbox for Graph {
    fn domain(&self) -> &'static str {
        "m365.test"
    }

    fn tenant_keys(&self, dir: &Path) -> String {
        self.0.tenant_config(dir)
    }

    fn deliver(&self, raw: &str) {
        self.0
            .deliver_mime("abuse@m365.test", "inbox", raw.as_bytes());
    }

    fn deliver_elsewhere(&self, raw: &str) {
        self.0
            .deliver_mime("abuse@m365.test", "deleteditems", raw.as_bytes());
    }

    fn places(&self) -> Vec<(String, Vec<String>)> {
        self.0
            .copies("abuse@m365.test")
            .into_iter()
            .map(|(_, message_id, _, id)| {
                let path = self
                    .0
                    .folder_path("abuse@m365.test", &id)
                    .unwrap_or_default();
                (message_id, vec![path])
            })
            .collect()
    }

    fn moves(&self) -> u64 {
        self.0
            .events()
            .iter()
            .filter(|e| e.starts_with("move "))
            .count() as u64
    }
}

#[test]
fn on_graph_a_report_is_filed_into_a_folder_made_under_the_message_root() {
    let server = graph_server::GraphServer::start(graph_server::Settings::default());
    for user in ["abuse", "alice"] {
        server.add_user(&format!("{user}@m365.test"), graph_server::UserKind::Member);
    }
    // Another client makes the first level just as the pass looks for it: the listing
    // misses it, the create meets 409 ErrorFolderExists, the pass reads it back.
    server.add_folder("abuse@m365.test", "Retractor");
    server.lag_child_listings(1);
    let graph = Graph(server);
    a_report_is_read_raised_and_filed_once(&graph);
    assert_eq!(graph.0.violations(), Vec::<String>::new());
}

struct Ews(ews_server::EwsServer);

impl AbuseMailbox for Ews {
    fn domain(&self) -> &'static str {
        "exch.test"
    }

    fn tenant_keys(&self, dir: &Path) -> String {
        let secret = dir.join("ews-password");
        fs::write(&secret, ews_server::PASSWORD).expect("password");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
        format!(
            "kind = \"ews\"\nurl = \"{}\"\nusername = '{}'\npassword_file = \"ews-password\"\n\
             retry_backoff_ms = 20\nmailboxes = [\"abuse@exch.test\", \"alice@exch.test\"]\n",
            self.0.url,
            ews_server::USER
        )
    }

    fn deliver(&self, raw: &str) {
        self.0
            .deliver_mime("abuse@exch.test", "inbox", raw.as_bytes());
    }

    fn deliver_elsewhere(&self, raw: &str) {
        self.0
            .deliver_mime("abuse@exch.test", "deleteditems", raw.as_bytes());
    }

    fn places(&self) -> Vec<(String, Vec<String>)> {
        self.0
            .copies("abuse@exch.test")
            .into_iter()
            .map(|(folder, message_id, _, _)| (message_id, vec![folder]))
            .collect()
    }

    fn moves(&self) -> u64 {
        self.0
            .stats()
            .by_operation
            .get("MoveItem")
            .copied()
            .unwrap_or(0)
    }
}

#[test]
fn on_ews_a_report_is_filed_into_a_folder_path_made_with_create_folder() {
    let server = ews_server::EwsServer::start(27);
    for user in ["abuse", "alice"] {
        server.add_mailbox(&format!("{user}@exch.test"), ews_server::Rights::ALL);
    }
    let ews = Ews(server);
    a_report_is_read_raised_and_filed_once(&ews);
    assert_eq!(ews.0.violations(), Vec::<String>::new());
}

struct Gmail(gmail_server::GmailServer);

impl AbuseMailbox for Gmail {
    fn domain(&self) -> &'static str {
        "gws.test"
    }

    fn tenant_keys(&self, dir: &Path) -> String {
        self.0.tenant_config(dir)
    }

    fn deliver(&self, raw: &str) {
        self.0.deliver("abuse@gws.test", raw, &["INBOX", "UNREAD"]);
    }

    fn deliver_elsewhere(&self, raw: &str) {
        self.0.deliver("abuse@gws.test", raw, &[]);
    }

    fn places(&self) -> Vec<(String, Vec<String>)> {
        self.0
            .copies("abuse@gws.test")
            .into_iter()
            .map(|(message_id, labels, _)| (message_id, labels))
            .collect()
    }

    fn moves(&self) -> u64 {
        self.0
            .stats()
            .by_method
            .get("messages.modify")
            .copied()
            .unwrap_or(0)
    }
}

#[test]
fn on_gmail_a_report_is_filed_under_a_user_label_and_leaves_the_inbox() {
    let server = gmail_server::GmailServer::start(gmail_server::Settings::default());
    for user in ["abuse", "alice", "admin"] {
        server.add_user(&format!("{user}@gws.test"), gmail_server::UserState::Active);
    }
    let gmail = Gmail(server);
    a_report_is_read_raised_and_filed_once(&gmail);
    // The label is one an analyst sees in the label list, nested under its parent.
    assert_eq!(
        gmail.0.label_hidden("abuse@gws.test", PROCESSED),
        Some(false)
    );
    assert_eq!(
        gmail.0.label_hidden("abuse@gws.test", "Retractor"),
        Some(false)
    );
    assert_eq!(gmail.0.violations(), Vec::<String>::new());
}
