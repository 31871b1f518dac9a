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
//! repeat, not handed on again. Resumable without a mark of its own: a hunt cut short is run
//! again whole, and what the first one raised is a repeat.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;
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
        let hunt = MailboxHunt {
            tenant: tenant.clone(),
            mailboxes: mailboxes
                .into_iter()
                .map(|address| MailboxRef {
                    on_hold: config.on_hold(&address),
                    address,
                })
                .collect(),
            since,
            wanted: wanted.clone(),
        };
        let found = engine.hunt_mailboxes(&hunt).await?;
        searched_any |= found.searched > 0;
        report.mailboxes += found.searched;
        report.copies_read += found.read;
        report.unsearched.extend(
            found
                .unsearched
                .iter()
                .map(|(m, why)| format!("{}: {}", sanitize(&m.address), sanitize(why))),
        );
        // One alert per indicator and message, naming every mailbox that holds a copy.
        let mut matches: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
        for hit in &found.hits {
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
    }
    if searched_any {
        let hunted = wanted.len() as u64;
        report.indicators += hunted;
        report.not_hunted = report.not_hunted.saturating_sub(hunted);
    }
    Ok(())
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
