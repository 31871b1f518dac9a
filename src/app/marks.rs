//! Marks in the message log (`Space` on the list, as in k9s) and retracting the marked
//! messages together. The engine's retract request names one message, so `r` with marks plans
//! one retraction per marked message, one dialog names each message (subject, sender,
//! recipients) and the totals per depth, and confirming submits one job per message.

use std::collections::BTreeMap;

use super::rows::shown;
use super::update::ask_with_word;
use super::{App, Command, Focus, MessageRow, Pending, Preview, ReqId, RetractSpec, View};
use crate::engine::confirmation_word;
use crate::model::Action;

/// Messages the dialog names one by one before the rest are counted ("and N more").
const LISTED: usize = 6;

/// The marked messages and what a retraction of them does. `action`, `depth` and `reason`
/// start as the retract tab's defaults and are set with `:action`, `:depth`, `:reason` while
/// no message is open.
#[derive(Debug)]
pub struct Marks {
    /// By log id, as each row was when marked (sanitised), so a mark outlives its page.
    pub rows: BTreeMap<i64, MessageRow>,
    pub action: Action,
    pub depth: u32,
    pub reason: Option<String>,
    /// The plans asked for by `r`, awaited.
    pub planning: Option<(ReqId, Vec<RetractSpec>)>,
}

impl Default for Marks {
    fn default() -> Marks {
        Marks {
            rows: BTreeMap::new(),
            action: Action::MoveToJunk,
            depth: 0,
            reason: None,
            planning: None,
        }
    }
}

impl Marks {
    pub fn is_marked(&self, id: i64) -> bool {
        self.rows.contains_key(&id)
    }
}

/// Marks are what `Space`, `Esc` and `r` act on: the log has focus and something is marked
/// (for `Space`: the log has focus).
pub(super) fn on_list(app: &App) -> bool {
    app.view == View::Messages && app.focus == Focus::List && app.detail.is_none()
}

/// `Space` on the log: mark or unmark the selected message.
pub(super) fn toggle(app: &mut App) {
    let Some(row) = app.selected_message().cloned() else {
        return;
    };
    if app.marks.rows.remove(&row.id).is_none() {
        app.marks.rows.insert(row.id, row);
    }
    app.dirty = true;
}

/// `Esc` on the log: forget every mark. `false` when there was none.
pub(super) fn clear(app: &mut App) -> bool {
    if app.marks.rows.is_empty() {
        return false;
    }
    app.marks = super::Marks::default();
    app.flash = Some("marks cleared".into());
    true
}

/// `r` with marks: plan each marked message's retraction (every recipient).
pub(super) fn plan(app: &mut App) -> Vec<Command> {
    let specs: Vec<RetractSpec> = app
        .marks
        .rows
        .keys()
        .map(|&message| RetractSpec {
            message,
            recipients: Vec::new(),
            exclude: Vec::new(),
            depth: app.marks.depth,
            action: app.marks.action,
            reason: app.marks.reason.clone(),
        })
        .collect();
    let req = app.req();
    app.marks.planning = Some((req, specs.clone()));
    app.flash = Some(format!("planning {} marked messages...", specs.len()));
    vec![Command::PlanMarked { req, specs }]
}

/// The plans are in: one dialog for them all, or why there is nothing to ask.
pub(super) fn planned(app: &mut App, req: ReqId, results: Vec<Result<Preview, String>>) {
    let specs = match app.marks.planning.take() {
        Some((awaited, specs)) if awaited == req => specs,
        other => {
            app.marks.planning = other; // stale: a newer `r` was pressed
            return;
        }
    };
    app.dirty = true;
    app.flash = None;
    let mut lines = Vec::new();
    let mut acting = Vec::new();
    let mut totals: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let (mut copies, mut mailboxes) = (0, 0);
    for (spec, result) in specs.into_iter().zip(results) {
        let Some(row) = app.marks.rows.get(&spec.message) else {
            continue;
        };
        let preview = match result {
            Ok(p) => p,
            Err(e) => {
                app.flash = Some(format!("message {}: {}", spec.message, shown(&e)));
                return;
            }
        };
        let what = match &preview.empty {
            Some(empty) => format!("nothing to do: {}", shown(empty)),
            None => format!("{} copies", preview.actionable),
        };
        if acting.len() < LISTED {
            lines.push(format!("{} '{}'", row.id, row.subject));
            lines.push(format!(
                "    from {} to {} recipient(s): {what}",
                row.from, row.recipient_count
            ));
        }
        if preview.empty.is_some() {
            continue;
        }
        for d in &preview.by_depth {
            let t = totals.entry(d.depth).or_default();
            t.0 += d.messages;
            t.1 += d.mailboxes;
        }
        copies += preview.actionable;
        mailboxes += preview.mailboxes;
        acting.push(spec);
    }
    if app.marks.rows.len() > LISTED {
        lines.push(format!("and {} more", app.marks.rows.len() - LISTED));
    }
    if acting.is_empty() {
        app.flash = Some("no marked message has a copy to act on".into());
        return;
    }
    let (action, depth) = (app.marks.action, app.marks.depth);
    lines.insert(
        0,
        format!(
            "{action} {} marked message(s) at depth {depth}, one job each:",
            acting.len()
        ),
    );
    lines.extend(totals.iter().map(|(depth, (messages, boxes))| {
        format!("depth {depth}: +{messages} messages, +{boxes} mailboxes")
    }));
    lines.push(format!(
        "total: {copies} copies in {mailboxes} mailboxes (summed per message)"
    ));
    lines.push(match &app.marks.reason {
        Some(r) => format!("reason: {}", shown(r)),
        None => "no reason given (:reason TEXT)".into(),
    });
    let title = format!("Retract {} marked ({action})", acting.len());
    ask_with_word(
        app,
        &title,
        lines,
        Pending::RetractMarked(acting),
        confirmation_word(action),
    );
}
