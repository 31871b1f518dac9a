//! The hunt in the mailboxes: the live URL, URL-domain and attachment indicators (in no log
//! row) looked for in the copies themselves, through the engine's mailbox hunt (the sweep by
//! indicator's search, confirmed on each parsed message), each match handed to the intake.
//!
//! Which mailboxes: every mailbox the log names as an internal recipient of a message
//! received within the window, plus the tenant's listed mailboxes when that list costs
//! nothing to know: the `mailboxes` of its config, or the directory of a backend that lists
//! its mailboxes from local storage (Maildir). A server directory (Graph users, an IMAP
//! server's accounts) is not walked: that would read every mailbox of the tenant at every
//! interval; a sweep by indicator reaches those on demand. The quarantine and abuse mailboxes
//! are never hunted (no plan acts on them).
//!
//! Never twice: a match's alert id is stable per indicator, tenant and Message-ID
//! (`ioc:<indicator>:<tenant>:<Message-ID>`), and a match whose alert was raised before is a
//! repeat, not handed on again.
//!
//! Each mailbox keeps a mark ([`MailboxHuntMark`]): which indicators were matched against the
//! copies received there before when. A repeat hunt (every `[reevaluation] interval`) reads
//! a mailbox only since its mark for the indicators it covers, and over the whole window for
//! the others: without it, every interval would fetch every copy of the window from every
//! mailbox again. The mark moves only after the tenant's alerts are stored, so a hunt cut
//! short reads again what it had not finished, and what it raised before is a repeat. A
//! mailbox that could not be searched keeps its old mark.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Intake;
use super::hunt::{HUNT_SOURCE, HuntReport};
use crate::backends::MailboxRef;
use crate::engine::{Engine, MailboxHunt, WantedIndicator};
use crate::forensics::Indicators;
use crate::model::text::sanitize;
use crate::model::{
    Alert, AlertDisposition, IndicatorKind, IndicatorRecord, normalize_address,
    normalize_message_id,
};
use crate::store::MailboxHuntMark;

/// The indicator as a one-kind sweep filter, normalised; `None` for the log's kinds and for
/// a stored value the sweep would refuse (logged: a value no filter can hold matches nothing).
fn wanted_of(record: &IndicatorRecord) -> Option<WantedIndicator> {
    let value = vec![record.indicator.value.clone()];
    let raw = match record.indicator.kind {
        IndicatorKind::Url => Indicators {
            urls: value,
            ..Indicators::default()
        },
        IndicatorKind::UrlDomain => Indicators {
            url_domains: value,
            ..Indicators::default()
        },
        IndicatorKind::AttachmentSha256 => Indicators {
            attachment_sha256: value,
            ..Indicators::default()
        },
        IndicatorKind::AttachmentName => Indicators {
            attachment_names: value,
            ..Indicators::default()
        },
        IndicatorKind::Sender | IndicatorKind::SenderDomain | IndicatorKind::Subject => {
            return None;
        }
    };
    match raw.normalized() {
        Ok(indicators) => Some(WantedIndicator {
            id: record.id,
            indicators,
        }),
        Err((flag, why)) => {
            tracing::warn!(
                indicator = record.id,
                "not hunted: {flag} {}",
                sanitize(&why)
            );
            None
        }
    }
}

/// Per tenant, the mailboxes a hunt over `window` reads (see the module's doc), by address.
async fn mailboxes_to_hunt(
    engine: &Engine,
    window: Duration,
) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let config = engine.config();
    let mut by_tenant: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (tenant, mailbox) in engine.store().mailboxes_within(window)? {
        if config.tenant(&tenant).is_some() {
            by_tenant
                .entry(tenant)
                .or_default()
                .insert(normalize_address(&mailbox));
        }
    }
    for (name, tenant) in &config.tenants {
        let cheap = !tenant.mailboxes.is_empty()
            || engine
                .backend(name)
                .is_ok_and(|b| b.capabilities().local_directory);
        if !cheap {
            continue;
        }
        match engine.tenant_mailboxes(name).await {
            Ok(listed) => by_tenant
                .entry(name.clone())
                .or_default()
                .extend(listed.into_iter().map(|m| normalize_address(&m.address))),
            Err(e) => tracing::warn!(tenant = %name, "hunt: mailboxes not listed: {e}"),
        }
    }
    for (tenant, mailboxes) in by_tenant.iter_mut() {
        mailboxes.retain(|m| engine.reserved_mailbox(tenant, m).is_none());
    }
    Ok(by_tenant)
}

/// Hunt the live mailbox-kind `indicators` over `window`, adding to `report`.
pub(super) async fn hunt_mailboxes(
    engine: &Engine,
    window: Duration,
    indicators: &[IndicatorRecord],
    report: &mut HuntReport,
) -> anyhow::Result<()> {
    let wanted: Vec<WantedIndicator> = indicators.iter().filter_map(wanted_of).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let by_id: BTreeMap<i64, &IndicatorRecord> = indicators.iter().map(|r| (r.id, r)).collect();
    let since = chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| Utc::now().checked_sub_signed(w))
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let intake = Intake::new(engine);
    let mut searched_any = false;
    let wanted_ids: Vec<i64> = wanted.iter().map(|w| w.id).collect();
    for (tenant, mailboxes) in mailboxes_to_hunt(engine, window).await? {
        let Some(config) = engine.config().tenant(&tenant) else {
            continue;
        };
        if let Err(why) = engine.backend(&tenant) {
            report
                .unsearched
                .push(format!("tenant {}: {}", sanitize(&tenant), sanitize(&why)));
            continue;
        }
        // Taken before the first search: a copy received after it may not have been seen.
        let started = Utc::now();
        let marks: BTreeMap<String, MailboxHuntMark> = engine
            .store()
            .mailbox_hunt_marks(&tenant)?
            .into_iter()
            .map(|m| (m.mailbox.clone(), m))
            .collect();
        let mut passes: BTreeMap<(DateTime<Utc>, Vec<i64>), Vec<MailboxRef>> = BTreeMap::new();
        for address in &mailboxes {
            let mailbox = MailboxRef {
                on_hold: config.on_hold(address),
                address: address.clone(),
            };
            for (from, ids) in reads_needed(marks.get(address), since, &wanted_ids) {
                report.mailboxes_resumed += u64::from(from > since);
                passes.entry((from, ids)).or_default().push(mailbox.clone());
            }
        }
        let mut hits = Vec::new();
        let mut unsearched: BTreeSet<String> = BTreeSet::new();
        for ((from, ids), boxes) in passes {
            let hunt = MailboxHunt {
                tenant: tenant.clone(),
                mailboxes: boxes,
                since: from,
                wanted: wanted
                    .iter()
                    .filter(|w| ids.contains(&w.id))
                    .cloned()
                    .collect(),
            };
            let found = engine.hunt_mailboxes(&hunt).await?;
            searched_any |= found.searched > 0;
            report.copies_read += found.read;
            for (m, why) in &found.unsearched {
                if unsearched.insert(m.address.clone()) {
                    report
                        .unsearched
                        .push(format!("{}: {}", sanitize(&m.address), sanitize(why)));
                }
            }
            hits.extend(found.hits);
        }
        let hunted: Vec<String> = mailboxes
            .iter()
            .filter(|m| !unsearched.contains(*m))
            .cloned()
            .collect();
        report.mailboxes += hunted.len() as u64;
        // One alert per indicator and message, naming every mailbox that holds a copy.
        let mut matches: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
        for hit in &hits {
            for id in &hit.indicators {
                matches
                    .entry((*id, normalize_message_id(&hit.copy.message_id)))
                    .or_default()
                    .insert(hit.mailbox.address.clone());
            }
        }
        let mut alerts = Vec::new();
        for ((id, message_id), recipients) in matches {
            report.matches += 1;
            let Some(indicator) = by_id.get(&id) else {
                continue;
            };
            let alert_id = format!("ioc:{id}:{tenant}:{message_id}");
            if engine
                .store()
                .alert_number(HUNT_SOURCE, &alert_id)?
                .is_some()
            {
                report.repeats += 1;
                continue;
            }
            match alert_of(indicator, &alert_id, &tenant, &message_id, recipients) {
                Some(alert) => alerts.push(alert),
                None => report.not_raised += 1,
            }
        }
        if !alerts.is_empty() {
            for receipt in intake.receive_all(&alerts)? {
                if receipt.disposition == AlertDisposition::Repeat {
                    report.repeats += 1;
                } else {
                    report.new_alerts += 1;
                }
            }
        }
        // The alerts are stored: only now may the marks move past what was read.
        engine
            .store()
            .set_mailbox_hunt_marks(&tenant, &hunted, started, &wanted_ids)?;
    }
    if searched_any {
        let hunted = wanted.len() as u64;
        report.indicators += hunted;
        report.not_hunted = report.not_hunted.saturating_sub(hunted);
    }
    Ok(())
}

/// How much of what the last hunt read a repeat hunt reads again: a copy its server dates a
/// little before it could be seen (a delivery under way, clocks apart) is still read.
const MARK_SLACK: chrono::Duration = chrono::Duration::minutes(10);

/// What one mailbox still needs read, given its mark: each `(from, indicator ids)`. The
/// indicators its mark covers are matched only against copies received since the mark (less
/// [`MARK_SLACK`]); the others (new, or revived after they expired) against the whole window
/// from `since`. No mark: the whole window, for every indicator.
fn reads_needed(
    mark: Option<&MailboxHuntMark>,
    since: DateTime<Utc>,
    wanted: &[i64],
) -> Vec<(DateTime<Utc>, Vec<i64>)> {
    let (covered, fresh): (Vec<i64>, Vec<i64>) = wanted
        .iter()
        .partition(|id| mark.is_some_and(|m| m.indicators.binary_search(id).is_ok()));
    let mut reads = Vec::new();
    if !fresh.is_empty() {
        reads.push((since, fresh));
    }
    if let Some(mark) = mark.filter(|_| !covered.is_empty()) {
        let from = mark
            .hunted_until
            .checked_sub_signed(MARK_SLACK)
            .unwrap_or(since)
            .max(since);
        reads.push((from, covered));
    }
    reads
}

/// The alert a mailbox match becomes, checked by the one alert parser every intake uses;
/// `None` when it refuses it (a copy without a usable Message-ID: a sweep is the tool).
fn alert_of(
    indicator: &IndicatorRecord,
    id: &str,
    tenant: &str,
    message_id: &str,
    recipients: BTreeSet<String>,
) -> Option<Alert> {
    let i = &indicator.indicator;
    let raw = json!({
        "id": id,
        "source": HUNT_SOURCE,
        "message_id": message_id,
        "classification": i.classification,
        "status": "active",
        "tenant": tenant,
        "recipients": recipients,
        "details": {
            "indicator": indicator.id,
            "kind": i.kind.as_str(),
            "value": i.value,
            "indicator_source": i.source,
            "found_in": "mailboxes",
        },
    });
    Alert::parse(&raw.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_mark_narrows_only_the_indicators_it_covers_and_never_before_the_window() {
        let at = |h| Utc.with_ymd_and_hms(2026, 12, 3, h, 0, 0).single().unwrap();
        let since = at(1);
        assert_eq!(
            reads_needed(None, since, &[1, 2]),
            vec![(since, vec![1, 2])]
        );
        let mark = MailboxHuntMark {
            mailbox: "a@t.test".into(),
            hunted_until: at(12),
            indicators: vec![1, 3],
        };
        let resumed = at(12) - MARK_SLACK;
        assert_eq!(
            reads_needed(Some(&mark), since, &[1, 2, 3]),
            vec![(since, vec![2]), (resumed, vec![1, 3])]
        );
        assert_eq!(
            reads_needed(Some(&mark), since, &[3]),
            vec![(resumed, vec![3])]
        );
        // A mark older than the window reads the window.
        assert_eq!(
            reads_needed(Some(&mark), at(13), &[1]),
            vec![(at(13), vec![1])]
        );
    }
}
