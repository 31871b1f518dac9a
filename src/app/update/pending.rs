//! The Pending view and the Forensics tab: approval requests arriving and being answered,
//! the approve / reject dialog's keys, and the open message's evidence loaded on first look.
//!
//! Who may approve is decided by the api where the answer is acted on (the engine's
//! `decide_approval`: never the requester, the approver role, a plan that changed, a request
//! past its time); this module only asks and shows the answer, a refusal verbatim.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::api::{ApprovalAnswer, EvidenceView};
use crate::app::forensics::{EvidenceState, lines_of};
use crate::app::layout;
use crate::app::pending::{ApprovalDialog, ApprovalRow};
use crate::app::rows::shown;
use crate::app::{App, Command, Overlay, ReqId, Tab, View, input_text, single_line};
use crate::store::ApprovalRecord;

impl App {
    /// Requests the Pending view's table shows at once.
    pub fn pending_visible(&self) -> usize {
        let areas = layout::operations_areas(self.body(), self.pending.facts_open);
        layout::table_rows(areas.jobs.height)
    }
}

/// A new list of waiting requests (the sampler's, or one asked for): the selection stays on
/// the same request when it is still waiting.
pub(super) fn approvals_arrived(app: &mut App, records: Vec<ApprovalRecord>) -> Vec<Command> {
    let p = &mut app.pending;
    let was = p.selected_row().map(|r| r.id);
    p.rows = records.iter().map(ApprovalRow::of).collect();
    p.loaded = true;
    p.selected = was
        .and_then(|id| p.rows.iter().position(|r| r.id == id))
        .unwrap_or(p.selected)
        .min(p.rows.len().saturating_sub(1));
    if p.rows.is_empty() {
        p.facts_open = false;
    }
    if app.view == View::Pending {
        app.pending.mark_seen();
    }
    let visible = app.pending_visible();
    let p = &mut app.pending;
    p.top = layout::list_offset(p.top, p.selected, visible, p.rows.len());
    app.dirty = true;
    Vec::new()
}

/// `a` / `x` on the Pending view: the dialog naming the request, its action and its mailbox
/// count, with a reason field (required to reject).
pub(super) fn ask_answer(app: &mut App, approve: bool) -> Vec<Command> {
    if app.view != View::Pending {
        return Vec::new();
    }
    let Some(r) = app.pending.selected_row() else {
        app.flash = Some("no request is waiting for approval".into());
        return Vec::new();
    };
    let verb = if approve { "Approve" } else { "Reject" };
    let mut lines = vec![
        format!("{verb} request {}: {} of {}", r.id, r.what, r.target),
        format!(
            "{} mailboxes; requested by {} (rule {}{})",
            r.mailboxes,
            r.requested_by,
            r.rule,
            r.alert.map(|a| format!(", alert #{a}")).unwrap_or_default()
        ),
    ];
    lines.extend(
        r.by_depth
            .iter()
            .map(|(d, m, b)| format!("  depth {d}: {m} messages, {b} mailboxes")),
    );
    lines.push(if approve {
        "Approving writes the job from a fresh plan of the same hash; it runs at once.".into()
    } else {
        "Rejecting ends the request: nothing runs. Say why.".into()
    });
    app.overlay = Overlay::Approval(Box::new(ApprovalDialog {
        id: r.id,
        approve,
        lines,
        reason: single_line(""),
        answering: None,
        error: None,
    }));
    Vec::new()
}

/// Keys in the approve / reject dialog: text goes to the reason; `Enter` answers; `Esc`
/// closes (the request stays waiting).
pub(super) fn dialog_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Overlay::Approval(d) = &mut app.overlay else {
        return Vec::new();
    };
    if d.answering.is_some() {
        // The answer is on its way: only Esc (stop waiting here) does anything.
        if key.code == KeyCode::Esc {
            app.overlay = Overlay::None;
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Esc => {
            app.overlay = Overlay::None;
            Vec::new()
        }
        KeyCode::Enter => confirm(app),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            if let Overlay::Approval(d) = &mut app.overlay {
                d.reason = single_line("");
            }
            Vec::new()
        }
        _ => {
            if let Overlay::Approval(d) = &mut app.overlay {
                d.reason.input(key);
                d.error = None;
            }
            Vec::new()
        }
    }
}

fn confirm(app: &mut App) -> Vec<Command> {
    let req = app.req();
    let Overlay::Approval(d) = &mut app.overlay else {
        return Vec::new();
    };
    let typed = input_text(&d.reason);
    let reason = Some(typed.trim().to_string()).filter(|r| !r.is_empty());
    if !d.approve && reason.is_none() {
        d.error = Some("a rejection needs a reason: type it, then Enter".into());
        return Vec::new();
    }
    d.answering = Some(req);
    d.error = None;
    vec![Command::AnswerApproval {
        req,
        answer: ApprovalAnswer {
            id: d.id,
            approve: d.approve,
            reason,
        },
    }]
}

/// The api's answer: settled (the dialog closes; an approved job is followed like a
/// submitted one), or refused (the dialog stays and shows why, verbatim).
pub(super) fn answered(
    app: &mut App,
    req: ReqId,
    result: Result<Box<ApprovalRecord>, String>,
) -> Vec<Command> {
    let awaited = matches!(&app.overlay, Overlay::Approval(d) if d.answering == Some(req));
    app.dirty = true;
    match result {
        Ok(record) => {
            if awaited {
                app.overlay = Overlay::None;
            }
            app.flash = Some(match record.job {
                Some(job) => {
                    app.running.insert(job);
                    format!("request {} approved: job {job} queued; running", record.id)
                }
                None => format!("request {} {}", record.id, shown(&record.state)),
            });
            vec![Command::LoadApprovals]
        }
        Err(e) => {
            let why = shown(&e);
            match &mut app.overlay {
                Overlay::Approval(d) if awaited => {
                    d.answering = None;
                    d.error = Some(why.clone());
                }
                _ => {}
            }
            app.flash = Some(why);
            // The refusal may be that the request expired or was answered by someone else.
            vec![Command::LoadApprovals]
        }
    }
}

/// The Forensics tab was opened on a message: ask for its evidence once per message.
pub(super) fn load_evidence(app: &mut App) -> Vec<Command> {
    let req = app.req();
    let Some(d) = app.detail.as_mut() else {
        return Vec::new();
    };
    if d.tab != Tab::Forensics || d.evidence.is_some() {
        return Vec::new();
    }
    d.evidence = Some(EvidenceState::Loading(req));
    vec![Command::LoadEvidence { req, id: d.id }]
}

/// The evidence asked for by [`load_evidence`], unless another message was opened since.
pub(super) fn evidence_arrived(
    app: &mut App,
    req: ReqId,
    result: Result<Box<EvidenceView>, String>,
) -> Vec<Command> {
    let Some(d) = app
        .detail
        .as_mut()
        .filter(|d| d.evidence == Some(EvidenceState::Loading(req)))
    else {
        return Vec::new();
    };
    d.evidence = Some(match result {
        Ok(view) => EvidenceState::Loaded(lines_of(&view)),
        Err(e) => EvidenceState::Failed(shown(&e)),
    });
    app.dirty = true;
    Vec::new()
}

#[cfg(test)]
#[path = "pending_tests.rs"]
mod tests;
