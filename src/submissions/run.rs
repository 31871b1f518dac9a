//! One pass over the abuse mailbox, and the loop `serve` and `worker --follow` run.
//!
//! Each report is handled once: its alert is handed to the intake first (stored before
//! anything else; a repeat is recognised), then the report is recorded, then moved to the
//! processed folder. A pass that dies between two steps leaves a report the next pass
//! either reads again (its alert is then a repeat) or only moves.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::extract::{Extracted, Malformed, extract, report_id};
use super::{SOURCE, reply};
use crate::backends::{Backend, HeaderSummary, MailboxRef, ScanFilter};
use crate::config::SubmissionSettings;
use crate::engine::{Engine, EngineError};
use crate::model::text::sanitize;
use crate::model::{Alert, normalize_message_id};
use crate::policy::{Decider, Intake};
use crate::store::{DecisionRecord, NewAudit, NewReport};

/// The classification of a reported message below the threshold.
pub const REPORTED: &str = "reported";
/// The classification of a reported message past the threshold.
pub const PHISH: &str = "phish";
/// The classification a hunt gives an indicator match: with one report, enough for `phish`.
const IOC_MATCH: &str = "ioc-match";
/// Log dispositions that are a malicious verdict on the message.
const MALICIOUS: [&str; 4] = ["malicious", "phish", "phishing", "malware"];
/// The folder new reports arrive in: the inbox is the queue, processed ones leave it.
const INBOX: &str = "INBOX";

/// What one report came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOutcome {
    pub report_id: String,
    pub reporter: Option<String>,
    /// `attached`, `arf`, `forward`, or `malformed`.
    pub format: String,
    pub original_message_id: Option<String>,
    /// `reported`, `phish`, `unconfirmed`, `not-found`, `malformed`.
    pub outcome: String,
    /// What was found or what is wrong, sanitised.
    pub detail: String,
    /// Whether it was moved to the processed folder in this pass.
    pub moved: bool,
}

/// What `retractor submissions` asks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionsRequest {
    /// Decide the alerts raised before answering (the decisions come back).
    #[serde(default)]
    pub wait: bool,
}

/// One pass: the reports handled, and those left in the inbox.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubmissionsRun {
    /// The abuse mailbox read.
    pub mailbox: String,
    /// Reports read for the first time.
    pub reports: Vec<ReportOutcome>,
    /// Reports recorded by an earlier pass that only needed moving.
    pub moved_earlier: usize,
    /// Malformed reports an earlier pass named, still in the inbox for an analyst.
    pub left_malformed: usize,
    /// With `wait`: the policies' decisions on the alerts reports raised.
    #[serde(default)]
    pub decisions: Vec<DecisionRecord>,
}

impl SubmissionsRun {
    /// Reports of this pass that raised their original to `phish`.
    pub fn phish(&self) -> usize {
        self.reports.iter().filter(|r| r.outcome == PHISH).count()
    }

    /// Malformed reports named in this pass.
    pub fn malformed(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.format == "malformed")
            .count()
    }
}

/// [`process`], then (with `wait`) the waiting alert revisions decided in this process, so
/// the answer carries the policies' decisions on what the reports raised.
pub async fn process_and_decide(
    engine: &Arc<Engine>,
    req: &SubmissionsRequest,
) -> Result<SubmissionsRun, EngineError> {
    let mut run = process(engine).await?;
    if req.wait {
        run.decisions = Decider::new(Arc::clone(engine))
            .decide_waiting()
            .await?
            .into_iter()
            .filter(|d| d.source == SOURCE)
            .collect();
    }
    Ok(run)
}

/// Read the abuse mailbox's inbox now and handle every new report.
pub async fn process(engine: &Arc<Engine>) -> Result<SubmissionsRun, EngineError> {
    let config = Arc::clone(engine.config());
    let Some(settings) = config.submissions.as_ref() else {
        return Err(EngineError::BadInput(
            "no [submissions] table in the config: name the abuse mailbox (tenant, mailbox)".into(),
        ));
    };
    let backend = Arc::clone(
        engine
            .backend(&settings.tenant)
            .map_err(EngineError::Backend)?,
    );
    let on_hold = config
        .tenant(&settings.tenant)
        .is_some_and(|t| t.on_hold(&settings.mailbox));
    let mailbox = MailboxRef {
        address: settings.mailbox.clone(),
        on_hold,
    };
    // Processed reports are never read again: only the inbox, where the backend can tell.
    let filter = ScanFilter {
        skip_admin_folders: true,
        inbox_only: true,
        ..ScanFilter::default()
    };
    let mut inbox: Vec<HeaderSummary> = backend
        .scan(&mailbox, &filter)
        .await
        .map_err(|e| EngineError::Backend(format!("abuse mailbox {}: {e}", mailbox.address)))?
        .into_iter()
        .filter(|h| h.location.folder.eq_ignore_ascii_case(INBOX))
        .collect();
    inbox.sort_by(|a, b| (a.date, &a.message_id).cmp(&(b.date, &b.message_id)));
    let pass = Pass {
        engine,
        settings,
        backend: backend.as_ref(),
        mailbox: &mailbox,
    };
    let mut run = SubmissionsRun {
        mailbox: mailbox.address.clone(),
        ..SubmissionsRun::default()
    };
    for copy in inbox {
        pass.one(&copy, &mut run).await?;
    }
    Ok(run)
}

/// Process the abuse mailbox every `[submissions] interval` until `stop` turns true (forever
/// without one); nothing when there is no `[submissions]`. A pass that fails is logged and
/// the next one tries again.
pub async fn run_loop(engine: Arc<Engine>, stop: Option<watch::Receiver<bool>>) {
    let Some(interval) = engine.config().submissions.as_ref().map(|s| s.interval) else {
        return;
    };
    let mut stop = stop;
    loop {
        match process(&engine).await {
            Ok(run) if !run.reports.is_empty() => tracing::info!(
                reports = run.reports.len(),
                phish = run.phish(),
                malformed = run.malformed(),
                "phish submissions processed"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("phish submissions: {e}"),
        }
        if crate::alerts::stop_wake_or_sleep(stop.as_mut(), None, interval).await {
            return;
        }
    }
}

/// What one pass works with.
struct Pass<'a> {
    engine: &'a Arc<Engine>,
    settings: &'a SubmissionSettings,
    backend: &'a dyn Backend,
    mailbox: &'a MailboxRef,
}

impl Pass<'_> {
    /// Handle one message of the inbox.
    async fn one(&self, copy: &HeaderSummary, run: &mut SubmissionsRun) -> Result<(), EngineError> {
        let store = self.engine.store();
        let tenant = &self.settings.tenant;
        // The report's id: its Message-ID, else the digest of its bytes (read only then).
        let mut raw = None;
        let id = match normalize_message_id(&copy.message_id) {
            id if id.len() > 2 => id,
            _ => {
                let Some(bytes) = self.read(copy).await else {
                    return Ok(());
                };
                let id = report_id(&bytes, None);
                raw = Some(bytes);
                id
            }
        };
        if let Some(earlier) = store.report(tenant, &self.mailbox.address, &id)? {
            if earlier.format == "malformed" {
                run.left_malformed += 1;
            } else if earlier.processed_at.is_none() && self.file(copy, earlier.id).await {
                run.moved_earlier += 1;
            }
            return Ok(());
        }
        let raw = match raw {
            Some(raw) => raw,
            None => match self.read(copy).await {
                Some(raw) => raw,
                None => return Ok(()),
            },
        };
        let outcome = match extract(&raw, &self.settings.subject_prefixes) {
            Ok(mut report) => {
                report.report_id = id;
                self.reported(copy, report).await?
            }
            Err(bad) => self.malformed(id, bad)?,
        };
        run.reports.extend(outcome);
        Ok(())
    }

    /// The report's bytes; `None` (logged) when they cannot be read now: the next pass tries
    /// again.
    async fn read(&self, copy: &HeaderSummary) -> Option<Vec<u8>> {
        match self.backend.fetch_raw(self.mailbox, &copy.location).await {
            Ok(raw) => Some(raw),
            Err(e) => {
                tracing::warn!(report = %sanitize(&copy.message_id), "report not read: {e}");
                None
            }
        }
    }

    /// A report that cannot be read: recorded (so the next pass does not name it again) and
    /// left in the inbox for an analyst.
    fn malformed(&self, id: String, bad: Malformed) -> Result<Option<ReportOutcome>, EngineError> {
        let detail = sanitize(&bad.problem);
        let reporter = bad.reporter.map(|r| sanitize(&r));
        let recorded = self.engine.store().record_report(&NewReport {
            tenant: self.settings.tenant.clone(),
            mailbox: self.mailbox.address.clone(),
            report_id: id.clone(),
            reporter: reporter.clone().unwrap_or_default(),
            original_message_id: None,
            format: "malformed".into(),
            outcome: "malformed".into(),
            detail: detail.clone(),
            alert: None,
        })?;
        if recorded.is_none() {
            // Another pass named it meanwhile.
            return Ok(None);
        }
        self.audit(
            &id,
            "malformed",
            format!("report {} skipped: {detail}", sanitize(&id)),
        )?;
        Ok(Some(ReportOutcome {
            report_id: sanitize(&id),
            reporter,
            format: "malformed".into(),
            original_message_id: None,
            outcome: "malformed".into(),
            detail,
            moved: false,
        }))
    }

    /// Whether `reporter` got `original`: an address of a configured tenant that the log
    /// names as a recipient, or whose mailbox holds a copy. A report's sender is whatever
    /// its author wrote, so only such reporters may raise an alert: forged reports from
    /// strangers never add up to a pull.
    async fn received(&self, reporter: &str, original: &str) -> Result<bool, EngineError> {
        let config = self.engine.config();
        let Some(tenant) = config.tenant_for_address(reporter) else {
            return Ok(false);
        };
        let logged = self
            .engine
            .store()
            .messages_by_message_id(original)?
            .into_iter()
            .any(|m| m.tenant == tenant.name && m.recipients.iter().any(|r| r == reporter));
        if logged {
            return Ok(true);
        }
        let Ok(backend) = self.engine.backend(&tenant.name) else {
            return Ok(false);
        };
        let mailbox = MailboxRef {
            address: reporter.to_string(),
            on_hold: tenant.on_hold(reporter),
        };
        Ok(backend
            .locate(&mailbox, original)
            .await
            .is_ok_and(|found| !found.is_empty()))
    }

    /// A report read: its original looked up, raised, recorded, and the report moved.
    async fn reported(
        &self,
        copy: &HeaderSummary,
        report: Extracted,
    ) -> Result<Option<ReportOutcome>, EngineError> {
        let store = self.engine.store();
        let original = match &report.original.message_id {
            Some(id) => Some(id.clone()),
            None => self.find_forwarded(&report).await,
        };
        let mut outcome = ReportOutcome {
            report_id: sanitize(&report.report_id),
            reporter: Some(sanitize(&report.reporter)),
            format: report.format.as_str().into(),
            original_message_id: original.as_ref().map(|o| sanitize(o)),
            outcome: String::new(),
            detail: String::new(),
            moved: false,
        };
        let mut new = NewReport {
            tenant: self.settings.tenant.clone(),
            mailbox: self.mailbox.address.clone(),
            report_id: report.report_id.clone(),
            reporter: report.reporter.clone(),
            original_message_id: original.clone(),
            format: report.format.as_str().into(),
            ..NewReport::default()
        };
        // A forward's original was found in the reporter's own mailbox; the others are
        // checked.
        let confirmed = match &original {
            Some(o) if report.original.message_id.is_some() => {
                self.received(&report.reporter, o).await?
            }
            Some(_) => true,
            None => false,
        };
        match &original {
            Some(o) if !confirmed => {
                new.outcome = "unconfirmed".into();
                new.detail = format!(
                    "{} is not known to have received {}: no alert raised",
                    sanitize(&report.reporter),
                    sanitize(o)
                );
            }
            None => {
                new.outcome = "not-found".into();
                new.detail = format!(
                    "the forwarded original (from {}, subject \"{}\") is not in {}'s mailbox",
                    sanitize(report.original.from.as_deref().unwrap_or("?")),
                    sanitize(report.original.subject.as_deref().unwrap_or("")),
                    sanitize(&report.reporter)
                );
            }
            Some(original) => {
                let (classification, why) = self.verdict(original, &report.reporter)?;
                // The report's own time, so the same report read again (a pass that died
                // before recording it) gives the same alert: a repeat.
                let at = copy.date.unwrap_or_else(Utc::now);
                let alert = self.alert(original, &report, classification, &why, at)?;
                Intake::new(self.engine)
                    .receive_all(std::slice::from_ref(&alert))
                    .map_err(|e| EngineError::BadInput(format!("the alert was not stored: {e}")))?;
                new.outcome = classification.into();
                new.alert = Some(alert.id.clone());
                new.detail = why;
            }
        }
        let Some(id) = store.record_report(&new)? else {
            // Another pass recorded it meanwhile: it handles the move.
            return Ok(None);
        };
        if new.outcome == PHISH
            && let Some(original) = &original
        {
            store.set_report_outcome(original, PHISH)?;
        }
        self.audit(
            original.as_deref().unwrap_or(&report.report_id),
            &new.outcome,
            format!(
                "{} report {} from {}: {}",
                report.format.as_str(),
                sanitize(&report.report_id),
                sanitize(&report.reporter),
                new.detail
            ),
        )?;
        self.reply(&report, &new.outcome)?;
        outcome.moved = self.file(copy, id).await;
        outcome.outcome = new.outcome;
        outcome.detail = new.detail;
        Ok(Some(outcome))
    }

    /// `phish` past the threshold (distinct reporters, or one report and an indicator match,
    /// an active phish alert or a malicious verdict in the log), else `reported`; with why.
    fn verdict(
        &self,
        original: &str,
        reporter: &str,
    ) -> Result<(&'static str, String), EngineError> {
        let store = self.engine.store();
        let mut reporters = store.reporters_of(original)?;
        if !reporters.iter().any(|r| r == reporter) {
            reporters.push(reporter.to_string());
        }
        let needed = self.settings.reporters as usize;
        if reporters.len() >= needed {
            return Ok((
                PHISH,
                format!(
                    "{} distinct reporters (threshold {needed})",
                    reporters.len()
                ),
            ));
        }
        // Never back from phish: an earlier report (or another source) already said so.
        if store.has_active_alert(original, PHISH)? {
            return Ok((
                PHISH,
                "reported, and an active alert classifies it phish".into(),
            ));
        }
        if store.has_active_alert(original, IOC_MATCH)? {
            return Ok((PHISH, "reported, and an indicator matches it".into()));
        }
        let malicious = store
            .messages_by_message_id(original)?
            .into_iter()
            .find_map(|m| {
                m.disposition
                    .filter(|d| MALICIOUS.contains(&d.to_ascii_lowercase().as_str()))
            });
        if let Some(disposition) = malicious {
            return Ok((
                PHISH,
                format!(
                    "reported, and the log's verdict is {}",
                    sanitize(&disposition)
                ),
            ));
        }
        Ok((
            REPORTED,
            format!("{} of {needed} reporters needed", reporters.len()),
        ))
    }

    /// The alert for `original`: one per message (its id the Message-ID), naming every
    /// reporter, so a later report updates it.
    fn alert(
        &self,
        original: &str,
        report: &Extracted,
        classification: &str,
        why: &str,
        detected_at: DateTime<Utc>,
    ) -> Result<Alert, EngineError> {
        let config = self.engine.config();
        let mut reporters = self.engine.store().reporters_of(original)?;
        if !reporters.contains(&report.reporter) {
            reporters.push(report.reporter.clone());
            reporters.sort();
        }
        let tenant = config
            .tenant_for_address(&report.reporter)
            .map(|t| t.name.clone());
        let mut raw = json!({
            "id": original,
            "source": SOURCE,
            "message_id": original,
            "classification": classification,
            "status": "active",
            "recipients": reporters,
            "detected_at": detected_at.to_rfc3339(),
            "details": {
                "reporters": reporters,
                "format": report.format.as_str(),
                "subject": report.subject,
                "why": why,
            },
        });
        if let Some(tenant) = tenant {
            raw["tenant"] = json!(tenant);
        }
        Alert::parse(&raw.to_string())
            .map_err(|e| EngineError::BadInput(format!("the report's alert is not valid: {e}")))
    }

    /// An inline forward without a Message-ID: its original found back in the reporter's
    /// mailbox by sender and subject (the newest copy when there are several).
    async fn find_forwarded(&self, report: &Extracted) -> Option<String> {
        let config = self.engine.config();
        let tenant = config.tenant_for_address(&report.reporter)?;
        let backend = self.engine.backend(&tenant.name).ok()?;
        let mailbox = MailboxRef {
            address: report.reporter.clone(),
            on_hold: tenant.on_hold(&report.reporter),
        };
        let filter = ScanFilter {
            from: report.original.from.clone(),
            subject: report.original.subject.clone(),
            skip_admin_folders: true,
            ..ScanFilter::default()
        };
        match backend.scan(&mailbox, &filter).await {
            Ok(hits) => hits
                .into_iter()
                .filter(|h| !h.message_id.is_empty())
                .max_by_key(|h| h.date)
                .map(|h| normalize_message_id(&h.message_id)),
            Err(e) => {
                tracing::warn!(mailbox = %sanitize(&report.reporter), "forwarded original not searched: {e}");
                None
            }
        }
    }

    /// Move a report to the processed folder and mark it so; whether it moved.
    async fn file(&self, copy: &HeaderSummary, id: i64) -> bool {
        let folder = &self.settings.processed_folder;
        match self
            .backend
            .file_to_folder(self.mailbox, &copy.location, folder)
            .await
        {
            Ok(_) => match self.engine.store().mark_report_processed(id) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("report {id} moved but not marked: {e}");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(report = id, "report not moved to {folder}: {e}");
                false
            }
        }
    }

    /// The reply to the reporter: retractor has no mail submission path, so the rendered
    /// reply is recorded in the audit (never written into the reporter's mailbox).
    fn reply(&self, report: &Extracted, verdict: &str) -> Result<(), EngineError> {
        let Some(template) = &self.settings.reply_template else {
            return Ok(());
        };
        let text = reply::render(template, &report.subject, verdict, &report.reporter);
        let from = self
            .settings
            .reply_from
            .as_deref()
            .unwrap_or(&self.mailbox.address);
        self.audit(
            &report.reporter,
            "reply-not-sent",
            format!(
                "reply from {} to {} not sent (no mail submission path); rendered: {text}",
                sanitize(from),
                sanitize(&report.reporter)
            ),
        )
    }

    fn audit(&self, target: &str, outcome: &str, detail: String) -> Result<(), EngineError> {
        let actor = self.engine.actor();
        self.engine.store().audit(&NewAudit {
            actor: actor.login.clone(),
            ssh_from: actor.ssh_from.clone(),
            role: actor.role.to_string(),
            action: "submission".into(),
            target: sanitize(target),
            outcome: outcome.into(),
            detail: Some(detail),
            ..NewAudit::default()
        })?;
        Ok(())
    }
}
