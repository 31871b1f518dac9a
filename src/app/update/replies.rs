//! Replies from tasks (pages, details, plans, job samples, audit, submissions): each is
//! applied only when it answers the request still awaited; older ones are stale and dropped.

use super::navigation::{ensure_page, follow_selection, open_detail, refresh_page};
use super::retract::{form_mut, keep_choices, preview};
use super::sweep::ask_sweep;
use crate::app::layout;
use crate::app::rows::{AuditRow, ItemRow, JobRow, MessageRow, RecipientRow, shown};
use crate::app::{
    AUDIT_LIMIT, App, Awaited, Command, ConversationLine, DetailData, Event, Focus, HeaderLine,
    RetractForm, Tab, View, single_line,
};
use crate::model::Action;

/// Apply a reply from a task (or a notice); terminal input never reaches here.
pub(super) fn reply(app: &mut App, event: Event) -> Vec<Command> {
    match event {
        Event::Page {
            req,
            offset,
            total,
            rows,
            empty_because,
        } => {
            if req != app.messages.req {
                return Vec::new(); // stale: a newer search or page was asked for
            }
            let m = &mut app.messages;
            m.loading = false;
            if let Some(total) = total {
                m.total = total;
            }
            m.page_offset = offset;
            m.rows = rows.iter().map(MessageRow::of).collect();
            if offset == 0 {
                m.empty_because = empty_because.as_deref().map(shown);
            }
            if m.selected >= m.total as usize {
                m.selected = (m.total as usize).saturating_sub(1);
            }
            app.dirty = true;
            let mut out = ensure_page(app);
            if let Some(tab) = app.messages.follow.filter(|_| app.detail.is_some()) {
                out.extend(follow_selection(app, tab));
            }
            out
        }
        Event::SearchFailed { req, error } => {
            if req == app.messages.req {
                app.messages.loading = false;
                app.flash = Some(format!("search failed: {}", shown(&error)));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Detail { req, result } => {
            let Some(detail) = app.detail.as_mut().filter(|d| d.req == req) else {
                return Vec::new();
            };
            app.dirty = true;
            match result {
                Ok(reply) => {
                    let recipients: Vec<RecipientRow> = reply
                        .detail
                        .deliveries
                        .iter()
                        .map(RecipientRow::of)
                        .collect();
                    let m = &reply.detail.message;
                    detail.loaded = Some(DetailData {
                        row: MessageRow::of(m),
                        message_id: shown(&m.message_id),
                        tenant: shown(&m.tenant),
                        size: m.size,
                        conversation: reply
                            .conversation
                            .iter()
                            .map(|c| ConversationLine {
                                depth: c.depth,
                                from: shown(&c.message.from),
                                subject: shown(&c.message.subject),
                                message_id: c.message.message_id.clone(),
                            })
                            .collect(),
                        headers: reply
                            .headers
                            .iter()
                            .map(|h| HeaderLine {
                                name: shown(&h.name),
                                value: shown(&h.value),
                            })
                            .collect(),
                        headers_from: match (&reply.headers_source, &reply.headers_problem) {
                            (Some(source), _) => shown(&format!("from {}", source.describe())),
                            (None, Some(why)) => shown(&format!("none could be read: {why}")),
                            (None, None) => "none could be read".to_string(),
                        },
                        // A reload keeps what the last plan found until the next one answers.
                        found_in_mailboxes: detail
                            .loaded
                            .take()
                            .and_then(|old| old.found_in_mailboxes),
                    });
                    let mut reason = single_line("");
                    reason.set_placeholder_text("reason or ticket (e to edit)");
                    let mut form = RetractForm {
                        recipients,
                        cursor: 0,
                        top: 0,
                        action: Action::MoveToJunk,
                        depth: 0,
                        reason,
                        preview: None,
                        preview_req: 0,
                    };
                    // A reload of the same message (a job finished) refreshes states and
                    // folders but keeps what the analyst chose.
                    if let Some(kept) = detail.form.take() {
                        keep_choices(&mut form, kept);
                    }
                    detail.form = Some(form);
                    if detail.tab == Tab::Recipients {
                        return preview(app);
                    }
                }
                Err(e) => {
                    app.flash = Some(shown(&e));
                    app.detail = None;
                    app.focus = Focus::List;
                }
            }
            Vec::new()
        }
        Event::Preview { req, result } => {
            if let Some(form) = form_mut(app).filter(|f| f.preview_req == req) {
                form.preview = Some(result.map_err(|e| shown(&e)).map(|mut p| {
                    p.notes = p.notes.iter().map(|n| shown(n)).collect();
                    p
                }));
                app.dirty = true;
            }
            // The Conversation tab shows what this plan found in the mailboxes.
            if let Some(detail) = app.detail.as_mut()
                && let (Some(form), Some(data)) = (&detail.form, detail.loaded.as_mut())
                && form.preview_req == req
                && let Some(Ok(p)) = &form.preview
            {
                data.note_plan(form.depth, p);
            }
            Vec::new()
        }
        Event::MarkedPlanned { req, results } => {
            crate::app::marks::planned(app, req, results);
            Vec::new()
        }
        Event::SweepPlanned { req, result } => {
            match app.sweep.take() {
                Some(Awaited {
                    req: awaited,
                    request,
                }) if awaited == req => {
                    app.dirty = true;
                    app.flash = None;
                    match result {
                        Ok(found) => ask_sweep(app, request, found),
                        Err(e) => app.flash = Some(format!("sweep: {}", shown(&e))),
                    }
                }
                other => app.sweep = other, // stale: a newer sweep was asked for
            }
            Vec::new()
        }
        Event::Jobs { jobs, at } => {
            let new: Vec<JobRow> = jobs.iter().map(JobRow::of).collect();
            // Another process (a CLI, a worker) acting shows here first: a job that appeared,
            // changed state or made progress may have moved the open message's copies.
            let moved = app.ops.jobs.len() != new.len()
                || app
                    .ops
                    .jobs
                    .iter()
                    .zip(&new)
                    .any(|(a, b)| a.id != b.id || a.status != b.status || a.done() != b.done());
            app.ops.jobs = new;
            app.ops.sampled_at = Some(at);
            app.ops.selected = app.ops.selected.min(app.ops.jobs.len().saturating_sub(1));
            app.ops.top = layout::list_offset(
                app.ops.top,
                app.ops.selected,
                app.jobs_visible(),
                app.ops.jobs.len(),
            );
            app.dirty = true;
            // The log table's statuses and the audit change as jobs progress; only the view
            // on screen is re-read (switching views reads the other).
            let mut out = Vec::new();
            match app.view {
                View::Messages => out.extend(refresh_page(app)),
                View::Audit => out.push(app.load_audit()),
                View::Operations | View::Pending => {}
            }
            if let Some(job) = app.ops.open.as_ref().map(|o| o.job) {
                let req = app.req();
                if let Some(open) = app.ops.open.as_mut() {
                    open.req = req;
                }
                out.push(Command::LoadJobItems { req, job });
            }
            out.extend(refresh_open_message(app, moved, at));
            out
        }
        Event::JobItems {
            req,
            job,
            items,
            subjects,
        } => {
            if let Some(open) = app
                .ops
                .open
                .as_mut()
                .filter(|o| o.job == job && o.req == req)
            {
                open.items = items
                    .iter()
                    .map(|i| ItemRow::of(i, subjects.get(&i.message_id)))
                    .collect();
                // The items may have changed: keep the cursor on one shown.
                let len = open.visible_items().count();
                open.cursor = open.cursor.min(len.saturating_sub(1));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Audit {
            req,
            entries,
            verdict,
        } => {
            if req == app.audit.req {
                // One more than the view holds was asked for: its presence says older
                // records of the selection were left out. Newest first: the analyst looks
                // for what just happened.
                app.audit.more = entries.len() > AUDIT_LIMIT;
                app.audit.rows = entries
                    .iter()
                    .rev()
                    .take(AUDIT_LIMIT)
                    .map(AuditRow::of)
                    .collect();
                app.audit.verdict = Some(verdict);
                // The window of records moved: keep the selection on a record shown.
                let shown = app.audit.shown();
                app.audit.selected = app.audit.selected.min(shown.saturating_sub(1));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Submitted(result) => {
            app.dirty = true;
            app.submitting = app.submitting.saturating_sub(1);
            match result {
                Ok(job) => {
                    app.running.insert(job);
                    app.flash = Some(format!("job {job} submitted; running"));
                }
                Err(e) => app.flash = Some(shown(&e)),
            }
            Vec::new()
        }
        Event::RestorePlanned { req, result } => {
            super::super::restore::restore_planned(app, req, result)
        }
        Event::Resumed(jobs) => {
            let list: Vec<String> = jobs.iter().map(i64::to_string).collect();
            app.running.extend(jobs);
            app.flash = Some(format!(
                "resuming job(s) {} left unfinished by an engine that stopped",
                list.join(", ")
            ));
            app.dirty = true;
            Vec::new()
        }
        Event::JobFinished { job, outcome } => {
            app.running.remove(&job);
            app.flash = Some(super::lists::finished_flash(job, outcome.as_ref()));
            app.dirty = true;
            // The open message's recipients changed state.
            let mut out = refresh_page(app);
            if let Some(id) = app.detail.as_ref().map(|d| d.id) {
                out.extend(open_detail(app, id, true));
            }
            out
        }
        // Fatal stops the runtime before `update`; input is handled by `update` itself.
        Event::Fatal(_)
        | Event::Key(_)
        | Event::Scroll(_)
        | Event::Click(_)
        | Event::Resize(..) => Vec::new(),
        Event::Approvals(records) => super::pending::approvals_arrived(app, records),
        Event::ApprovalAnswered { req, result } => super::pending::answered(app, req, result),
        Event::Evidence { req, result } => super::pending::evidence_arrived(app, req, result),
        Event::Notice(text) => {
            app.flash = Some(shown(&text));
            app.dirty = true;
            Vec::new()
        }
    }
}

/// Re-read the open message after jobs moved, at most every [`DETAIL_REFRESH_SECS`] of sample
/// time while a job runs (a reload reads a copy's headers from a mailbox).
fn refresh_open_message(
    app: &mut App,
    moved: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Command> {
    let Some((id, last)) = app.detail.as_ref().map(|d| (d.id, d.refreshed_at)) else {
        return Vec::new();
    };
    let due = last.is_none_or(|t| (at - t).num_seconds() >= DETAIL_REFRESH_SECS);
    if !moved || !due || app.view != View::Messages {
        return Vec::new();
    }
    let out = open_detail(app, id, true);
    if let Some(d) = app.detail.as_mut() {
        d.refreshed_at = Some(at);
    }
    out
}

/// See [`refresh_open_message`].
const DETAIL_REFRESH_SECS: i64 = 2;

#[cfg(test)]
#[path = "detail_tests.rs"]
mod tests;
