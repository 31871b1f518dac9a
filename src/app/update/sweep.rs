//! `:sweep`: the request a line asks for, and the confirmation its planned counts fill in.

use super::dialogs::ask_with_word;
use crate::app::cmdline;
use crate::app::rows::shown;
use crate::app::{App, Pending, Preview, input_text};
use crate::engine::{SweepRequest, confirmation_word};

/// The sweep a `:sweep` line asks for. Bare, it sweeps the open message's Message-ID in its
/// tenant; the reason is `reason:`'s, else the retract tab's. The action is never defaulted: the
/// engine refuses a sweep without one, as it refuses `sweep` without `--action`.
pub(super) fn sweep_request(app: &App, terms: cmdline::SweepTerms) -> Result<SweepRequest, String> {
    let open = app.detail.as_ref().and_then(|d| d.loaded.as_ref());
    let form = app.detail.as_ref().and_then(|d| d.form.as_ref());
    let mut message_ids: Vec<String> = terms.message_id.iter().cloned().collect();
    let mut tenant = terms.tenant.clone().or_else(|| app.tenant.clone());
    if terms.names_no_mail() {
        let Some(open) = open else {
            return Err(
                ":sweep needs a message open (Enter), or terms: from: subject: msgid: since:"
                    .into(),
            );
        };
        message_ids.push(open.message_id.clone());
        tenant = tenant.or_else(|| Some(open.tenant.clone()));
    }
    let tenant = match tenant {
        Some(t) => t,
        None => match app.tenants.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(format!(
                    ":sweep needs tenant:NAME (tenants: {})",
                    app.tenants.join(" ")
                ));
            }
        },
    };
    if !app.tenants.is_empty() && !app.tenants.contains(&tenant) {
        return Err(format!(
            "no tenant '{tenant}' (tenants: {})",
            app.tenants.join(" ")
        ));
    }
    let since = match &terms.since {
        Some(text) => Some(
            crate::model::when::parse_when(text, app.now)
                .map_err(|e| format!(":sweep since:{text}: {e}"))?,
        ),
        None => None,
    };
    // `reason:` on the line wins; without it, the retract tab's reason (if a message is open).
    let reason = terms.reason.clone().or_else(|| {
        form.map(|f| input_text(&f.reason))
            .filter(|r| !r.trim().is_empty())
    });
    let request = SweepRequest {
        tenant,
        message_ids,
        from: terms.from,
        subject: terms.subject,
        since,
        all: terms.all,
        max_items: terms.max_items,
        action: terms.action,
        reason,
        indicators: Default::default(),
    };
    request.validated_action().map_err(|e| e.to_string())?;
    Ok(request)
}

/// The sweep's counts are in: ask before acting, as for a retraction.
pub(super) fn ask_sweep(app: &mut App, request: SweepRequest, found: Preview) {
    let action = match request.validated_action() {
        Ok(action) => action,
        Err(e) => {
            app.flash = Some(shown(&e.to_string()));
            return;
        }
    };
    // The engine's empty-plan rule: say what it says, ask nothing.
    if let Some(empty) = &found.empty {
        app.flash = Some(shown(empty));
        return;
    }
    let mut looked_for: Vec<String> = request
        .message_ids
        .iter()
        .map(|m| format!("Message-ID {m}"))
        .collect();
    looked_for.extend(request.from.iter().map(|f| format!("from {f}")));
    looked_for.extend(request.subject.iter().map(|s| format!("subject '{s}'")));
    looked_for.extend(request.since.iter().map(|s| format!("since {s}")));
    let mut lines = vec![
        format!(
            "{action} in every mailbox of tenant {}",
            shown(&request.tenant)
        ),
        format!("matching {}", shown(&looked_for.join(", "))),
        format!(
            "{} copies in {} mailboxes will be acted on",
            found.actionable, found.mailboxes
        ),
    ];
    lines.extend(sweep_copy_lines(&found.copies));
    lines.extend(found.notes.iter().map(|n| shown(n)));
    lines.push(match &request.reason {
        Some(r) => format!("reason: {}", shown(r)),
        None => "no reason given (add reason:TEXT to the :sweep line)".into(),
    });
    ask_with_word(
        app,
        &format!("Sweep ({action})"),
        lines,
        Pending::Sweep(request),
        confirmation_word(action),
    );
}

/// Copies a sweep's dialog lists by name before the rest is counted ("and N more").
pub(super) const SWEEP_COPIES_LISTED: usize = 8;
/// Widest a listed copy may be: one line of the 70-column dialog.
pub(super) const SWEEP_COPY_WIDTH: usize = 66;

/// The first copies a sweep would act on, one line each (mailbox, folder, Message-ID), so
/// the analyst sees what matched, not only how much.
pub(super) fn sweep_copy_lines(copies: &[crate::app::PlannedCopy]) -> Vec<String> {
    let mut lines: Vec<String> = copies
        .iter()
        .take(SWEEP_COPIES_LISTED)
        .map(|c| {
            let line = shown(&format!(
                "  {}  {}  {}",
                c.mailbox,
                c.folder.as_deref().unwrap_or("?"),
                c.message_id
            ));
            if line.chars().count() > SWEEP_COPY_WIDTH {
                let cut: String = line.chars().take(SWEEP_COPY_WIDTH - 1).collect();
                format!("{cut}…")
            } else {
                line
            }
        })
        .collect();
    if copies.len() > SWEEP_COPIES_LISTED {
        lines.push(format!("  and {} more", copies.len() - SWEEP_COPIES_LISTED));
    }
    lines
}
