//! `u`: restore exactly what is shown. On the Messages view that is the recipients ticked on
//! the open message's retract tab (or, with the tab not open, every pulled copy of the
//! message, which the dialog then says); the engine plans it first, so the dialog names the
//! count of copies and their recipients, and confirming restores those copies and no others.
//! On Operations it is the selected finished job.

use super::rows::shown;
use super::update::ask_with_reason;
use super::{App, Awaited, Command, Pending, ReqId, RestoreAsk, RestorePreview, View, input_text};

/// Recipients named in the dialog before the rest are counted ("and N more").
const NAMED: usize = 6;

/// `u` pressed: ask the planner what the restore would put back (Messages), or ask at once
/// (Operations).
pub(super) fn ask_restore(app: &mut App) -> Vec<Command> {
    match app.view {
        View::Messages => plan_message_restore(app),
        View::Operations => {
            ask_job_restore(app);
            Vec::new()
        }
        View::Audit | View::Pending => Vec::new(),
    }
}

fn plan_message_restore(app: &mut App) -> Vec<Command> {
    let target = app
        .detail
        .as_ref()
        .map(|d| (d.id, d.loaded.as_ref().map(|l| l.row.subject.clone())))
        .or_else(|| {
            app.selected_message()
                .map(|r| (r.id, Some(r.subject.clone())))
        });
    let Some((message, subject)) = target else {
        return Vec::new();
    };
    let form = app.detail.as_ref().and_then(|d| d.form.as_ref());
    let reason = form
        .map(|f| input_text(&f.reason))
        .filter(|r| !r.trim().is_empty());
    let (recipients, whole) = match form {
        Some(f) => {
            let ticked: Vec<String> = f
                .recipients
                .iter()
                .filter(|r| r.included)
                .map(|r| r.address.clone())
                .collect();
            if ticked.is_empty() {
                app.flash = Some(
                    "no recipient is ticked: tick the ones whose copies to restore (Space / a)"
                        .into(),
                );
                app.dirty = true;
                return Vec::new();
            }
            (ticked, false)
        }
        None => (Vec::new(), true),
    };
    let req = app.req();
    app.restore = Some(Awaited {
        req,
        request: RestoreAsk {
            message,
            recipients: recipients.clone(),
            whole,
            reason,
            subject: subject.unwrap_or_default(),
        },
    });
    app.flash = Some("finding the pulled copies...".into());
    app.dirty = true;
    vec![Command::PlanRestore {
        req,
        message,
        recipients,
    }]
}

/// The plan of a restore asked for with `u`: the dialog, or why there is nothing to ask.
pub(super) fn restore_planned(
    app: &mut App,
    req: ReqId,
    result: Result<RestorePreview, String>,
) -> Vec<Command> {
    let ask_for = match app.restore.take() {
        Some(Awaited {
            req: awaited,
            request,
        }) if awaited == req => request,
        other => {
            app.restore = other; // stale: a newer restore was asked for
            return Vec::new();
        }
    };
    app.dirty = true;
    app.flash = None;
    let preview = match result {
        Ok(p) => p,
        Err(e) => {
            app.flash = Some(format!("restore: {}", shown(&e)));
            return Vec::new();
        }
    };
    let mut mailboxes: Vec<&str> = preview.mailboxes.iter().map(String::as_str).collect();
    mailboxes.dedup();
    let mut named: Vec<String> = mailboxes.iter().take(NAMED).map(|m| shown(m)).collect();
    if mailboxes.len() > NAMED {
        named.push(format!("and {} more", mailboxes.len() - NAMED));
    }
    let whom = if ask_for.whole {
        "every recipient (the retract tab is not open)"
    } else {
        "the ticked recipients only"
    };
    let lines = vec![
        format!(
            "Restore {} pulled copies of '{}' for {whom}:",
            preview.items.len(),
            ask_for.subject
        ),
        named.join(", "),
        "Each copy goes back to the folder it was taken from.".into(),
    ];
    let reason = ask_for.reason.clone();
    ask_with_reason(
        app,
        &format!("Restore {} copies", preview.items.len()),
        lines,
        Pending::RestoreMessage {
            message: ask_for.message,
            recipients: ask_for.recipients,
            items: preview.items,
            reason: None,
        },
        reason.as_deref(),
        "Restore",
    );
    Vec::new()
}

fn ask_job_restore(app: &mut App) {
    let Some(job) = app.ops.jobs.get(app.ops.selected) else {
        return;
    };
    if !job.finished {
        app.flash = Some(format!("job {} is still running", job.id));
        return;
    }
    let lines = vec![
        format!(
            "Restore the {} copies job {} ({} {}) pulled.",
            job.remediated, job.id, job.kind, job.action
        ),
        "Each copy goes back to the folder it was taken from.".into(),
    ];
    let pending = Pending::RestoreJob {
        job: job.id,
        reason: None,
    };
    let title = format!("Restore {} copies", job.remediated);
    ask_with_reason(app, &title, lines, pending, None, "Restore");
}
