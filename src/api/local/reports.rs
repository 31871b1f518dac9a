//! `report` in [`super::Local`]: an analyst's false negative / false positive sets the
//! message's disposition in the log, is audited, and reaches the policies as an alert through
//! the same intake as every other alert.

use std::sync::Arc;

use crate::api::reports::{ReportAlert, ReportRequest, ReportView};
use crate::api::types::ApiError;
use crate::engine::{Engine, resolve_ref};
use crate::model::Alert;
use crate::model::text::sanitize;
use crate::policy::Intake;

use super::policy::{audit_of, refuse_below};

/// The alert source of analysts' reports, for `[policy.rules.NAME] sources`.
pub const REPORT_SOURCE: &str = "analyst";

/// The classification a report carries: what the analyst says the message is (a false
/// positive keeps it, with a status that withdraws the threat, so the same alert can
/// move from one to the other).
const REPORT_CLASSIFICATION: &str = "phish";

pub(super) fn report(engine: &Arc<Engine>, req: &ReportRequest) -> Result<ReportView, ApiError> {
    refuse_below(engine, "report", &req.message)?;
    let store = engine.store();
    let message = resolve_ref(store, &req.message)?;
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let alert = Alert {
        id: format!("report:{}", message.id),
        source: REPORT_SOURCE.into(),
        message_id: message.message_id.clone(),
        classification: REPORT_CLASSIFICATION.into(),
        status: req.kind.alert_status(),
        tenant: Some(message.tenant.clone()),
        recipients: Vec::new(),
        detected_at: None,
        threat_url: None,
        details: Some(serde_json::json!({
            "reported_by": engine.actor().login,
            "reason": reason,
        })),
    };
    let disposition = req.kind.disposition();
    store.set_disposition(message.id, disposition)?;
    let receipt = Intake::new(engine)
        .receive_all(std::slice::from_ref(&alert))
        .map_err(|e| ApiError {
            kind: crate::api::ApiErrorKind::Failed,
            message: format!("report: the disposition is set, the alert not stored: {e}"),
        })?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError {
            kind: crate::api::ApiErrorKind::Failed,
            message: "report: the intake stored no alert".into(),
        })?;
    let mut audit = audit_of(
        engine,
        "report",
        &message.id.to_string(),
        "ok",
        format!(
            "{}: disposition {} (was {}); alert {} {}",
            req.kind.name(),
            disposition,
            message
                .disposition
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "none".into()),
            REPORT_SOURCE,
            alert.id
        ),
    );
    audit.reason = reason;
    store.audit(&audit)?;
    Ok(ReportView {
        message: message.id,
        message_id: message.message_id,
        tenant: message.tenant,
        kind: req.kind,
        previous_disposition: message.disposition,
        disposition: disposition.into(),
        alert: ReportAlert {
            id: alert.id,
            source: alert.source,
            number: receipt.number,
            revision: receipt.revision,
            disposition: receipt.disposition,
        },
    })
}
