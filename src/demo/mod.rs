//! The built-in demo tenant: `retractor demo` writes a config, a Maildir tree of a small
//! company's mailboxes and the gateway's message log, all made up and self-contained (the
//! data files in `assets/demo/` are compiled in; nothing is downloaded).
//!
//! The content is everyday mail of the two weeks before `now` plus one incident worth
//! retracting: a DocuSign-themed payroll phish to 24 staff and a partner, with forwards and
//! replies three levels deep, some of which never crossed the gateway (see [`campaign`]).
//! Everything derives from `now` through a PRNG of our own, so the same `now` always gives
//! the same tenant, byte for byte.

mod assets;
mod campaign;
mod maildir;
mod mailgen;
mod people;
mod plan;
mod reports;
mod rng;
mod traffic;

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use maildir::{Written, io_error};
use people::DOMAIN;
use plan::Ctx;
use reports::ABUSE;

/// The quarantine mailbox of the demo tenant.
const QUARANTINE: &str = "quarantine@demo.test";

/// The file that marks a directory as the demo's own: `demo --reset` deletes no other.
pub const MARKER: &str = ".retractor-demo";
/// The marker's whole content; anything else in a file of that name is not the demo's.
const MARKER_TEXT: &str =
    "This directory was created by `retractor demo`; `retractor demo --reset` deletes it whole.\n";

/// What [`generate`] made, for the CLI to print and to open the console on.
#[derive(Clone, Debug)]
pub struct DemoSummary {
    /// `DIR/config.toml`.
    pub config_path: PathBuf,
    /// `DIR/log.jsonl`, the gateway log to ingest.
    pub log_path: PathBuf,
    /// `DIR/mail`, the Maildir root of the tenant.
    pub mail_root: PathBuf,
    /// Mailboxes created, the quarantine and abuse mailboxes included.
    pub mailboxes: usize,
    /// Distinct messages (Message-IDs) written, logged or not.
    pub messages: usize,
    /// The phishing campaign's Message-ID, with angle brackets.
    pub campaign_message_id: String,
    /// The message whose subject carries terminal escape sequences.
    pub hostile_message_id: String,
    /// The mailbox on legal hold (also a recipient of the campaign).
    pub hold_mailbox: String,
}

/// Why the demo could not be written; the message names the path that failed.
#[derive(Debug)]
pub struct DemoError(pub String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

/// Write a demo tenant into `dir` (created if missing): `config.toml`, `mail/` and
/// `log.jsonl`. Refuses when `dir` already holds a demo, so that nothing is overwritten or
/// mixed; the CLI's `--reset` removes the old one first.
pub fn generate(dir: &Path, now: DateTime<Utc>) -> Result<DemoSummary, DemoError> {
    generate_with_files(dir, now).map(|(summary, _)| summary)
}

fn generate_with_files(
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<(DemoSummary, Vec<Written>), DemoError> {
    let config_path = dir.join("config.toml");
    let log_path = dir.join("log.jsonl");
    let mail_root = dir.join("mail");
    for existing in [&config_path, &mail_root] {
        if existing.exists() {
            return Err(DemoError(format!(
                "{} already exists: a demo is already there; remove {} or use `retractor demo --reset`",
                existing.display(),
                dir.display()
            )));
        }
    }
    check_target(dir).map_err(DemoError)?;
    fs::create_dir_all(dir).map_err(|e| io_error(dir, "create directory", e))?;
    // The demo holds a store, its evidence and mail: private like every store directory.
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(dir, "make private", e))?;
    }
    // First, so that even a half-written demo can be reset; never into a directory that held
    // anything before (check_target), so the marker never claims someone else's files.
    if check_marker(dir).is_err() {
        let marker = dir.join(MARKER);
        fs::File::create_new(&marker)
            .and_then(|mut f| f.write_all(MARKER_TEXT.as_bytes()))
            .map_err(|e| io_error(&marker, "create", e))?;
    }

    let mut ctx = Ctx::new(now);
    traffic::generate(&mut ctx);
    let incident = campaign::generate(&mut ctx);
    // The log is in arrival order, as a gateway writes it; the sort is stable so ties keep
    // their (deterministic) generation order.
    ctx.out.sort_by_key(|p| p.received_at);

    let staff: Vec<String> = ctx
        .roster
        .people
        .iter()
        .map(|p| p.address.clone())
        .collect();
    maildir::create_mailboxes(&mail_root, &staff, QUARANTINE)?;
    let mut written = maildir::write_messages(&mail_root, &ctx.out, &mut ctx.rng)?;
    // The reports come in the morning after the campaign, one after another.
    let reported_at = incident.campaign.date + chrono::Duration::minutes(30);
    let reports = reports::write(
        &mail_root,
        &incident.campaign,
        &incident.reporters,
        reported_at,
    )?;
    let report_count = reports.len();
    written.extend(reports);

    let mut log = Vec::new();
    for record in ctx.out.iter().filter_map(plan::Planned::record) {
        let line = serde_json::to_string(&record).map_err(|e| {
            DemoError(format!(
                "{}: cannot encode {}: {e}",
                log_path.display(),
                record.message_id
            ))
        })?;
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }
    fs::write(&log_path, &log).map_err(|e| io_error(&log_path, "write", e))?;

    // Written last: its presence is what marks a complete demo.
    let mut file =
        fs::File::create_new(&config_path).map_err(|e| io_error(&config_path, "create", e))?;
    file.write_all(config_text(campaign::HOLD_MAILBOX).as_bytes())
        .map_err(|e| io_error(&config_path, "write", e))?;

    let summary = DemoSummary {
        config_path,
        log_path,
        mail_root,
        // Staff, the quarantine mailbox and the abuse mailbox.
        mailboxes: staff.len() + 2,
        messages: ctx.out.len() + report_count,
        campaign_message_id: incident.campaign_message_id,
        hostile_message_id: incident.hostile_message_id,
        hold_mailbox: campaign::HOLD_MAILBOX.to_string(),
    };
    Ok((summary, written))
}

/// Whether the demo may write into `dir`: it does not exist yet, is empty, or is a demo's own
/// (carries the marker). A directory holding anything else is refused, naming it and why, so
/// that neither the demo nor a later `--reset` mixes with or deletes files it did not make.
pub fn check_target(dir: &Path) -> Result<(), String> {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let empty = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .next()
        .is_none();
    if empty || check_marker(dir).is_ok() {
        return Ok(());
    }
    Err(format!(
        "{} already holds files and was not made by `retractor demo` (no {MARKER} marker): \
         the demo only writes into a new or empty directory",
        dir.display()
    ))
}

/// `Ok` when `dir` carries the demo's marker: a regular file (never followed through a
/// link) holding exactly the demo's text; otherwise why not.
pub fn check_marker(dir: &Path) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(MARKER);
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "it carries no {MARKER} marker, so `retractor demo` did not create it"
            ));
        }
        Err(e) => return Err(format!("its {MARKER} marker cannot be read ({e})")),
    };
    let is_file = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    let mut text = String::new();
    let read = file
        .take(MARKER_TEXT.len() as u64 + 1)
        .read_to_string(&mut text);
    if !is_file || read.is_err() || text != MARKER_TEXT {
        return Err(format!("its {MARKER} is not the demo's marker"));
    }
    Ok(())
}

fn config_text(hold: &str) -> String {
    format!(
        r#"# retractor demo configuration, written by `retractor demo`.
#
# Everything here is made up: a small company at {DOMAIN} whose mail sits in a local Maildir
# tree, a message log from its mail gateway (log.jsonl), and one phishing campaign to pull
# back. Relative paths are resolved against the directory of this file.

# Where retractor keeps its state: the ingested message log, jobs and their items, the
# hash-chained audit trail (SQLite).
[store]
path = "retractor.db"

# Which role each OS login gets: viewer, analyst, responder or admin.
# The demo lets its user do everything short of admin: retract, restore, soft- and
# hard-delete (on a throw-away tenant, so nothing real is at stake).
[access]
default_role = "responder"

# The demo tenant.
[tenants.demo]
# A Dovecot-style Maildir++ tree: <root>/<domain>/<user>/, folders as .Name/ subdirectories.
kind = "maildir"
root = "mail"
# Recipients outside these domains (such as the partner at partner.example on the phishing
# campaign) are external: retractor shows them but cannot act on their mailboxes.
domains = ["{DOMAIN}"]
# Where the `quarantine` action moves messages, in one folder per recipient.
quarantine_mailbox = "{QUARANTINE}"
# Mailboxes under legal hold: the general counsel's. A hard-delete there is reported as
# "retained by hold", never as destroyed.
holds = ["{hold}"]

# The abuse mailbox staff report phish to: `retractor submissions` reads its reports (one
# attached whole, one feedback report, one inline forward), raises the reported message as an
# alert and moves each report to Retractor/Processed. It is never the target of a pull.
[submissions]
tenant = "demo"
mailbox = "{ABUSE}"
"#
    )
}

#[cfg(test)]
mod tests;
