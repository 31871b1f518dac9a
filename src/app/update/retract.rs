//! The retract tab's form: its recipients, depth, action and reason, the live plan it asks
//! for on every change, and the confirmation a run asks for.

use super::dialogs::ask_with_word;
use crate::app::rows::{RecipientRow, shown};
use crate::app::{App, Command, Pending, RetractForm, RetractSpec, Tab, View, input_text};
use crate::engine::confirmation_word;
use crate::model::Action;

/// The actions `A` cycles through, mildest first.
pub(super) const ACTIONS: [Action; 5] = [
    Action::MoveToJunk,
    Action::Trash,
    Action::SoftDelete,
    Action::Quarantine,
    Action::HardDelete,
];

/// Deepest conversation depth the selector offers.
pub(super) const MAX_DEPTH: u32 = 5;

pub(super) fn form_mut(app: &mut App) -> Option<&mut RetractForm> {
    app.detail.as_mut().and_then(|d| d.form.as_mut())
}

/// Carry the analyst's choices (included recipients, action, depth, reason, cursor) from a
/// form into its refreshed successor.
pub(super) fn keep_choices(form: &mut RetractForm, kept: RetractForm) {
    let included: std::collections::HashMap<&str, bool> = kept
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.included))
        .collect();
    for r in form.recipients.iter_mut().filter(|r| !r.external) {
        if let Some(choice) = included.get(r.address.as_str()) {
            r.included = *choice;
        }
    }
    form.action = kept.action;
    form.depth = kept.depth;
    form.reason = kept.reason;
    form.cursor = kept.cursor.min(form.recipients.len().saturating_sub(1));
    form.top = kept.top;
}

/// Change the retract form (when a message is open) and refresh the preview.
pub(super) fn with_form(app: &mut App, change: impl FnOnce(&mut RetractForm)) -> Vec<Command> {
    match form_mut(app) {
        Some(form) => {
            change(form);
            preview(app)
        }
        None => {
            app.flash = Some("open a message first (Enter on a row)".into());
            Vec::new()
        }
    }
}

/// Ask the planner for the live counts of the retract tab.
pub(super) fn preview(app: &mut App) -> Vec<Command> {
    let Some(spec) = retract_spec(app) else {
        return Vec::new();
    };
    let req = app.req();
    if let Some(form) = form_mut(app) {
        form.preview_req = req;
    }
    vec![Command::Preview { req, spec }]
}

pub(super) fn retract_spec(app: &App) -> Option<RetractSpec> {
    let detail = app.detail.as_ref()?;
    let form = detail.form.as_ref()?;
    let actionable = |r: &&RecipientRow| !r.external;
    let recipients: Vec<String> = form
        .recipients
        .iter()
        .filter(actionable)
        .filter(|r| r.included)
        .map(|r| r.address.clone())
        .collect();
    let exclude: Vec<String> = form
        .recipients
        .iter()
        .filter(actionable)
        .filter(|r| !r.included)
        .map(|r| r.address.clone())
        .collect();
    let reason = input_text(&form.reason);
    Some(RetractSpec {
        message: detail.id,
        recipients,
        exclude,
        depth: form.depth,
        action: form.action,
        reason: (!reason.trim().is_empty()).then(|| reason.trim().to_string()),
    })
}

pub(super) fn recipients_open(app: &App) -> bool {
    app.view == View::Messages
        && app
            .detail
            .as_ref()
            .is_some_and(|d| d.tab == Tab::Recipients && d.form.is_some())
}

/// Change the retract form when the Recipients tab is open, then refresh the counts.
pub(super) fn on_recipients(app: &mut App, change: impl FnOnce(&mut RetractForm)) -> Vec<Command> {
    if !recipients_open(app) {
        return Vec::new();
    }
    if let Some(form) = form_mut(app) {
        change(form);
    }
    preview(app)
}

pub(super) fn ask_retract(app: &mut App) {
    let Some(spec) = retract_spec(app) else {
        return;
    };
    let Some(detail) = app.detail.as_ref() else {
        return;
    };
    let subject = detail
        .loaded
        .as_ref()
        .map(|l| l.row.subject.clone())
        .unwrap_or_default();
    let preview = detail
        .form
        .as_ref()
        .and_then(|f| f.preview.clone())
        .and_then(Result::ok);
    if spec.recipients.is_empty() {
        app.flash = Some("no recipient is included (Space / a)".into());
        return;
    }
    let mut lines = vec![
        format!("{} '{}'", spec.action, subject),
        format!(
            "{} recipient(s) included, {} excluded, depth {}",
            spec.recipients.len(),
            spec.exclude.len(),
            spec.depth
        ),
    ];
    match &preview {
        Some(p) => lines.push(format!(
            "{} copies in {} mailboxes will be acted on",
            p.actionable, p.mailboxes
        )),
        None => lines.push("counts not known yet (the preview is still running)".into()),
    }
    lines.push(match &spec.reason {
        Some(r) => format!("reason: {}", shown(r)),
        None => "no reason given (e to add one)".into(),
    });
    let title = format!("Retract ({})", spec.action);
    let word = confirmation_word(spec.action);
    ask_with_word(app, &title, lines, Pending::Retract(spec), word);
}
