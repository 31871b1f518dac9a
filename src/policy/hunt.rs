//! Re-evaluation: the live indicators matched against the message log and the mailboxes
//! over a window, each match handed to the policy intake as an alert, so the rules and rails
//! decide as for any alert and a repeat (same source and id) is recognised and never acted
//! on twice.
//!
//! The log knows each message's sender and subject, so `sender`, `sender-domain` and
//! `subject` indicators are hunted there; URLs and attachments are in no log row and are
//! hunted in the mailboxes ([`super::mailbox_hunt`]: which mailboxes, and why).
//!
//! Resumable: after each page of the log the page's alerts are stored first, then each
//! indicator's mark ([`crate::store::IndicatorStore::set_hunted_to`]) moves past the page.
//! A hunt killed between the two reads the page again, and its alerts are repeats. The
//! mailbox hunt keeps a mark per mailbox, moved after its alerts are stored (see there).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::Intake;
use crate::engine::Engine;
use crate::forensics::{Evidence, Indicators};
use crate::model::indicator::normalize_subject;
use crate::model::{Alert, AlertDisposition, IndicatorKind, IndicatorRecord, LoggedMessage};

/// The alerts' source; with `ioc:<indicator id>:<log id>` as their id for a log match,
/// `ioc:<indicator id>:<tenant>:<Message-ID>` for a mailbox match.
pub const HUNT_SOURCE: &str = "ioc";

/// How many log rows one page reads.
const PAGE: usize = 1000;

/// What `retractor hunt` asks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntRequest {
    /// Decide the alerts the hunt raised before answering (the decisions come back).
    #[serde(default)]
    pub wait: bool,
}

/// What one hunt did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HuntReport {
    /// Live indicators hunted (in the log, or in at least one mailbox).
    pub indicators: u64,
    /// Live URL and attachment indicators no mailbox was searched for (none in the window's
    /// log and none listed, or none could be searched).
    pub not_hunted: u64,
    /// Log rows read (summed over indicators).
    pub examined: u64,
    /// Mailboxes searched for the URL and attachment indicators.
    #[serde(default)]
    pub mailboxes: u64,
    /// Copies fetched and parsed to confirm a mailbox match (the mailbox hunt's cost).
    #[serde(default)]
    pub copies_read: u64,
    /// Mailboxes read only since their mark for the indicators an earlier hunt matched there
    /// (the copies received since that hunt), not over the whole window.
    #[serde(default)]
    pub mailboxes_resumed: u64,
    /// Mailboxes (or tenants) that could not be searched, with why, sanitised.
    #[serde(default)]
    pub unsearched: Vec<String>,
    /// Matches: log rows, and (indicator, message) pairs found in the mailboxes.
    pub matches: u64,
    /// Of those, alerts the intake had not seen.
    pub new_alerts: u64,
    /// Matches the intake recognised as already raised.
    pub repeats: u64,
    /// Mailbox matches no alert can name (a copy without a usable Message-ID): a sweep by
    /// indicator pulls those.
    #[serde(default)]
    pub not_raised: u64,
    /// With `wait`: the policies' decisions on the alerts hunts raised, made in this process
    /// before the answer (other deciders' claims are left to them).
    #[serde(default)]
    pub decisions: Vec<crate::store::DecisionRecord>,
}

/// Whether a logged message matches an indicator (look-alikes never: `evil.example` is not
/// `notevil.example` nor `evil.example.org`, as for sweeps).
pub fn matches(indicator: &IndicatorRecord, message: &LoggedMessage) -> bool {
    let value = &indicator.indicator.value;
    match indicator.indicator.kind {
        IndicatorKind::Sender => crate::model::normalize_address(&message.from) == *value,
        IndicatorKind::SenderDomain => {
            let wanted = Indicators {
                sender_domains: vec![value.clone()],
                ..Indicators::default()
            };
            let seen = Evidence {
                from: crate::model::normalize_address(&message.from),
                ..Evidence::default()
            };
            wanted.matches(&seen)
        }
        IndicatorKind::Subject => normalize_subject(&message.subject) == *value,
        IndicatorKind::Url
        | IndicatorKind::UrlDomain
        | IndicatorKind::AttachmentSha256
        | IndicatorKind::AttachmentName => false,
    }
}

/// The kinds a hunt reads the log for.
fn in_log(kind: IndicatorKind) -> bool {
    matches!(
        kind,
        IndicatorKind::Sender | IndicatorKind::SenderDomain | IndicatorKind::Subject
    )
}

/// The alert a match becomes, checked by the one alert parser every intake uses.
fn alert_of(indicator: &IndicatorRecord, message: &LoggedMessage) -> Option<Alert> {
    let i = &indicator.indicator;
    let raw = json!({
        "id": format!("ioc:{}:{}", indicator.id, message.id),
        "source": HUNT_SOURCE,
        "message_id": message.message_id,
        "classification": i.classification,
        "status": "active",
        "tenant": message.tenant,
        "recipients": message.recipients,
        "details": {
            "indicator": indicator.id,
            "kind": i.kind.as_str(),
            "value": i.value,
            "indicator_source": i.source,
        },
    });
    // A log row the alert rules refuse (an over-long recipient list) is not raised: the
    // sweep by indicator is the tool for a whole domain.
    Alert::parse(&raw.to_string()).ok()
}

/// [`hunt`], then (with `wait`) the waiting alert revisions decided in this process, so the
/// answer carries the policies' decisions on what the hunt raised (`hunt --wait`).
pub async fn hunt_and_decide(
    engine: &Arc<Engine>,
    window: Duration,
    req: &HuntRequest,
) -> anyhow::Result<HuntReport> {
    let mut report = hunt(engine, window).await?;
    if req.wait {
        report.decisions = super::Decider::new(Arc::clone(engine))
            .decide_waiting()
            .await?
            .into_iter()
            .filter(|d| d.source == HUNT_SOURCE)
            .collect();
    }
    Ok(report)
}

/// Hunt every live indicator over the last `window`: the log's kinds in the log (off the
/// async threads: a big log is a long read), then the URL and attachment kinds in the
/// mailboxes.
pub async fn hunt(engine: &Arc<Engine>, window: Duration) -> anyhow::Result<HuntReport> {
    let reader = Arc::clone(engine);
    let mut report = tokio::task::spawn_blocking(move || hunt_log(&reader, window))
        .await
        .map_err(|e| anyhow::anyhow!("the log hunt stopped: {e}"))??;
    let live = engine.store().live_indicators()?;
    super::mailbox_hunt::hunt_mailboxes(engine, window, &live, &mut report).await?;
    Ok(report)
}

/// Hunt the log for every live indicator of its kinds over the log's last `window`, from
/// where each one stopped; the other kinds are counted as `not_hunted` (the mailbox hunt
/// counts those it searched for). One pass over the log serves every indicator (a feed brings
/// hundreds; a pass each would read a big log hundreds of times): it starts at the lowest
/// mark, and each indicator looks only at the rows past its own.
pub fn hunt_log(engine: &Engine, window: Duration) -> anyhow::Result<HuntReport> {
    let store = engine.store();
    let intake = Intake::new(engine);
    let mut report = HuntReport::default();
    let mut hunted: Vec<(IndicatorRecord, i64)> = Vec::new();
    for indicator in store.live_indicators()? {
        if !in_log(indicator.indicator.kind) {
            report.not_hunted += 1;
            continue;
        }
        report.indicators += 1;
        let mark = store.hunted_to(indicator.id)?;
        hunted.push((indicator, mark));
    }
    let Some(mut mark) = hunted.iter().map(|(_, m)| *m).min() else {
        return Ok(report);
    };
    loop {
        let page = store.messages_after(mark, window, PAGE)?;
        let Some(last) = page.last().map(|m| m.id) else {
            break;
        };
        let mut alerts: Vec<Alert> = Vec::new();
        for (indicator, from) in &hunted {
            let fresh = page.iter().filter(|m| m.id > *from);
            report.examined += fresh.clone().count() as u64;
            alerts.extend(
                fresh
                    .filter(|m| matches(indicator, m))
                    .filter_map(|m| alert_of(indicator, m)),
            );
        }
        if !alerts.is_empty() {
            report.matches += alerts.len() as u64;
            for receipt in intake.receive_all(&alerts)? {
                if receipt.disposition == AlertDisposition::Repeat {
                    report.repeats += 1;
                } else {
                    report.new_alerts += 1;
                }
            }
        }
        // The page's alerts are stored: only now may the marks move past it.
        for (indicator, from) in hunted.iter_mut() {
            if *from < last {
                store.set_hunted_to(indicator.id, last)?;
                *from = last;
            }
        }
        mark = last;
        if page.len() < PAGE {
            break;
        }
    }
    Ok(report)
}

/// Hunt every `[reevaluation] interval` and right after this process stores indicators,
/// until `stop` turns true (forever without one); nothing when the interval is 0. A hunt that
/// fails is logged and tried again at the next turn.
pub async fn run_hunter(engine: Arc<Engine>, mut stop: Option<watch::Receiver<bool>>) {
    let settings = engine.config().reevaluation.clone();
    let Some(interval) = settings.interval else {
        return;
    };
    let wake = engine.indicators_arrived();
    loop {
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            return;
        }
        match hunt(&engine, settings.window).await {
            Ok(r) if r.matches > 0 => tracing::info!(
                matches = r.matches,
                new = r.new_alerts,
                examined = r.examined,
                mailboxes = r.mailboxes,
                "hunt"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("hunt failed: {e}"),
        }
        if crate::alerts::stop_wake_or_sleep(stop.as_mut(), Some(&wake), interval).await {
            return;
        }
    }
}
