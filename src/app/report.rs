//! `f` / `F` on an open message: report it as a false negative / false positive (as
//! Proofpoint's "Report as False Negative"), behind a dialog with an optional reason.

use super::update::ask_with_reason;
use super::{App, Pending, View};
use crate::api::ReportKind;

/// `f` / `F` on an open message: ask before reporting it (with an optional reason), since a
/// report changes its disposition and reaches the policies, which may pull or restore.
pub(super) fn ask(app: &mut App, kind: ReportKind) {
    let Some(detail) = app.detail.as_ref().filter(|_| app.view == View::Messages) else {
        app.flash = Some("open a message first (Enter on a row)".into());
        return;
    };
    let Some(loaded) = detail.loaded.as_ref() else {
        return;
    };
    let (what, effect) = match kind {
        ReportKind::FalseNegative => (
            "false negative",
            "It becomes malicious in the log and an alert for the policies (they may pull it).",
        ),
        ReportKind::FalsePositive => (
            "false positive",
            "It becomes clean in the log; the policies restore what a rule pulled for it.",
        ),
    };
    let lines = vec![
        format!("Report {} '{}' as a {what}.", detail.id, loaded.row.subject),
        format!(
            "from {}, disposition now {}",
            loaded.row.from, loaded.row.verdict
        ),
        effect.to_string(),
    ];
    let pending = Pending::Report {
        message: detail.id,
        kind,
        reason: None,
    };
    ask_with_reason(
        app,
        &format!("Report {what}"),
        lines,
        pending,
        None,
        "Report",
    );
}
