//! The indicator requests of [`super::Local`]: feeds and single indicators added, listed and
//! removed, each change audited (`ioc-add`, `ioc-import`, `ioc-remove`).

use std::sync::Arc;

use super::policy::{audit_of, refuse_below};
use crate::api::indicators::{
    IndicatorRemoval, IndicatorReport, IndicatorSubmission, IndicatorsRemoved,
};
use crate::api::types::ApiError;
use crate::engine::Engine;
use crate::forensics::ioc::{ImportOptions, Parsed, parse};
use crate::model::indicator::parse_expiry;
use crate::model::text::sanitize;
use crate::model::{Indicator, IndicatorRecord};
use crate::policy::hunt::HuntReport;

/// Parse the submission whole, store it in one transaction, audit it. A bad feed stores
/// nothing and names the file, the line or JSON path, and why.
pub(super) fn add(
    engine: &Arc<Engine>,
    req: &IndicatorSubmission,
) -> Result<IndicatorReport, ApiError> {
    let action = if req.format.is_some() {
        "ioc-import"
    } else {
        "ioc-add"
    };
    refuse_below(engine, action, &req.name)?;
    let now = chrono::Utc::now();
    let parsed = match req.format {
        Some(format) => parse(
            format,
            &req.body,
            &ImportOptions {
                kind: req.kind,
                source: req.source.clone(),
                now,
            },
        )
        .map_err(|e| ApiError::bad_input(format!("{}: {e}", sanitize(&req.name))))?,
        None => {
            let kind = req
                .kind
                .ok_or_else(|| ApiError::bad_input("an indicator needs its kind"))?;
            let expires = req
                .expires
                .as_deref()
                .map(|e| parse_expiry(e, now))
                .transpose()
                .map_err(|why| ApiError::bad_input(format!("--expires: {why}")))?;
            let one = Indicator::new(
                kind,
                &req.body,
                &req.source,
                req.classification.as_deref(),
                expires,
            )
            .map_err(|why| ApiError::bad_input(format!("{}: {}", kind.as_str(), sanitize(&why))))?;
            Parsed {
                indicators: vec![one],
                skipped: Vec::new(),
            }
        }
    };
    if parsed.indicators.iter().any(|i| i.source.is_empty()) {
        return Err(ApiError::bad_input(
            "an indicator needs a source (--source)",
        ));
    }
    let done = engine
        .store()
        .add_indicators(&parsed.indicators, &engine.actor().login)?;
    engine.store().audit(&audit_of(
        engine,
        action,
        &req.name,
        "stored",
        format!(
            "{} added, {} refreshed, {} skipped (source {})",
            done.added,
            done.refreshed,
            parsed.skipped.len(),
            sanitize(&req.source)
        ),
    ))?;
    if done.added + done.refreshed > 0 {
        engine.indicators_arrived().notify_one();
    }
    Ok(IndicatorReport {
        added: done.added,
        refreshed: done.refreshed,
        skipped: parsed.skipped,
    })
}

/// Every stored indicator.
pub(super) fn list(engine: &Arc<Engine>) -> Result<Vec<IndicatorRecord>, ApiError> {
    Ok(engine.store().indicators()?)
}

/// Remove one (named in the audit) or all of them.
pub(super) fn remove(
    engine: &Arc<Engine>,
    req: &IndicatorRemoval,
) -> Result<IndicatorsRemoved, ApiError> {
    let target = req
        .id
        .map_or_else(|| "all".to_string(), |id| format!("indicator {id}"));
    refuse_below(engine, "ioc-remove", &target)?;
    let (removed, detail) = match req.id {
        Some(id) => {
            let gone = engine.store().remove_indicator(id)?;
            let i = &gone.indicator;
            (
                1,
                format!("{} {} (source {})", i.kind.as_str(), i.value, i.source),
            )
        }
        None => {
            let n = engine.store().remove_all_indicators()?;
            (n, format!("{n} indicators"))
        }
    };
    engine.store().audit(&audit_of(
        engine,
        "ioc-remove",
        &target,
        "removed",
        sanitize(&detail),
    ))?;
    Ok(IndicatorsRemoved { removed })
}

/// One hunt now over `[reevaluation] window`, audited.
pub(super) async fn hunt(
    engine: &Arc<Engine>,
    req: &crate::policy::hunt::HuntRequest,
) -> Result<HuntReport, ApiError> {
    refuse_below(engine, "hunt", "indicators")?;
    let window = engine.config().reevaluation.window;
    let report = crate::policy::hunt::hunt_and_decide(engine, window, req)
        .await
        .map_err(|e| ApiError {
            kind: crate::api::ApiErrorKind::Failed,
            message: sanitize(&format!("hunt failed: {e}")),
        })?;
    engine.store().audit(&audit_of(
        engine,
        "hunt",
        "indicators",
        "done",
        format!(
            "{} indicators, {} log rows read, {} mailboxes searched ({} copies read, {} not searched), {} matches ({} new alerts)",
            report.indicators,
            report.examined,
            report.mailboxes,
            report.copies_read,
            report.unsearched.len(),
            report.matches,
            report.new_alerts
        ),
    ))?;
    Ok(report)
}
