//! The alert and policy requests of [`super::Local`]: submitting alerts and rehearsing them.

use std::sync::Arc;

use crate::api::alerts::{AlertLine, AlertReport, AlertSubmission, parse_lines};
use crate::api::types::ApiError;
use crate::engine::Engine;
use crate::model::Role;
use crate::model::text::sanitize;
use crate::policy::act::RehearsalReport;
use crate::policy::{Decider, Intake};
use crate::store::NewAudit;

/// The least role that may hand in alerts: an alert can make the policies pull, so it is a
/// request to act, not to read.
const SUBMIT_ROLE: Role = Role::Analyst;

pub(super) fn audit_of(
    engine: &Engine,
    action: &str,
    name: &str,
    outcome: &str,
    detail: String,
) -> NewAudit {
    let actor = engine.actor();
    NewAudit {
        actor: actor.login.clone(),
        ssh_from: actor.ssh_from.clone(),
        role: actor.role.to_string(),
        action: action.into(),
        target: sanitize(name),
        outcome: outcome.into(),
        detail: Some(detail),
        ..NewAudit::default()
    }
}

pub(super) fn refuse_below(engine: &Engine, action: &str, name: &str) -> Result<(), ApiError> {
    let actor = engine.actor();
    if actor.role >= SUBMIT_ROLE {
        return Ok(());
    }
    let why = format!(
        "{} has role {}, which may not {action} (needs {SUBMIT_ROLE} or above)",
        actor.login, actor.role
    );
    engine
        .store()
        .audit(&audit_of(engine, action, name, "refused", why.clone()))?;
    Err(ApiError::refused(why))
}

/// Check every line, store the good ones in one transaction, audit the submission.
pub(super) fn submit_alerts(
    engine: &Arc<Engine>,
    req: &AlertSubmission,
) -> Result<AlertReport, ApiError> {
    refuse_below(engine, "alert", &req.name)?;
    let (good, rejected) = parse_lines(&req.body);
    let alerts: Vec<_> = good.iter().map(|(_, a)| a.clone()).collect();
    let receipts = Intake::new(engine)
        .receive_all(&alerts)
        .map_err(|e| ApiError {
            kind: crate::api::ApiErrorKind::Failed,
            message: format!("alerts not stored: {e}"),
        })?;
    let stored: Vec<AlertLine> = good
        .iter()
        .zip(receipts)
        .map(|((line, alert), r)| AlertLine {
            line: *line,
            id: alert.id.clone(),
            source: alert.source.clone(),
            number: r.number,
            revision: r.revision,
            disposition: r.disposition,
        })
        .collect();
    let report = AlertReport { stored, rejected };
    if !report.stored.is_empty() || !report.rejected.is_empty() {
        engine.store().audit(&audit_of(
            engine,
            "alert",
            &req.name,
            if report.rejected.is_empty() {
                "stored"
            } else {
                "partial"
            },
            format!(
                "{} new, {} repeated, {} updated, {} bad lines skipped",
                report.new_count(),
                report.repeat_count(),
                report.updated_count(),
                report.rejected.len()
            ),
        ))?;
    }
    Ok(report)
}

/// What each good line would do now; acts on nothing.
pub(super) async fn rehearse(
    engine: &Arc<Engine>,
    req: &AlertSubmission,
) -> Result<RehearsalReport, ApiError> {
    refuse_below(engine, "policy test", &req.name)?;
    let (good, rejected) = parse_lines(&req.body);
    let decider = Decider::new(Arc::clone(engine));
    let mut alerts = Vec::with_capacity(good.len());
    for (_, alert) in &good {
        alerts.push(decider.rehearse(alert).await?);
    }
    Ok(RehearsalReport { alerts, rejected })
}
