//! The `?` help of the place the analyst is in: its keys (from the keymap's per-place tables,
//! so the help never lists a key that does nothing there), then what that place needs
//! explained (the query language, the `:sweep` grammar, the column legends). Built here as
//! plain lines cut to the overlay's width, so drawing and scrolling count the same lines.

use super::keymap::{HelpRow, Place};
use super::{App, Tab, cmdline, layout};

/// The widest the help overlay gets, borders included.
pub const HELP_WIDTH: u16 = 80;

/// One line of the help overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpLine {
    pub text: String,
    /// A section heading (drawn in the title style).
    pub heading: bool,
}

/// The help overlay's title and lines for where `app` is, cut to the overlay's inner width.
pub fn help_lines(app: &App) -> (String, Vec<HelpLine>) {
    let place = Place::of(app);
    let inner = overlay_width(app).saturating_sub(2);
    let mut lines = Vec::new();
    let rows = app.keymap.help_rows_in(place);
    let entry = |r: &HelpRow| format!("{:>10}  {:<24}", r.keys, r.what);
    if inner >= 76 {
        let half = rows.len().div_ceil(2);
        for i in 0..half {
            let left = rows.get(i).map(entry).unwrap_or_default();
            let right = rows.get(i + half).map(entry).unwrap_or_default();
            push(&mut lines, format!("{left}  {right}").trim_end(), inner);
        }
    } else {
        for r in &rows {
            push(&mut lines, entry(r).trim_end(), inner);
        }
    }
    for (heading, body) in sections(place) {
        lines.push(HelpLine {
            text: heading.to_string(),
            heading: true,
        });
        for text in body {
            push(&mut lines, &text, inner);
        }
    }
    lines.push(HelpLine {
        text: "Commands".into(),
        heading: true,
    });
    push(
        &mut lines,
        &format!(":{}", cmdline::COMMANDS.join("  :")),
        inner,
    );
    let title = format!(
        " Help: {} (j/k scroll, any other key closes) ",
        place.title()
    );
    (title, lines)
}

/// How far the help can scroll: its lines less what the overlay shows at once.
pub fn help_scroll_max(app: &App) -> usize {
    let (_, lines) = help_lines(app);
    lines
        .len()
        .saturating_sub(usize::from(app.height.saturating_sub(2)))
}

/// The overlay's width on this screen.
pub fn overlay_width(app: &App) -> u16 {
    HELP_WIDTH.min(app.width)
}

/// Push `text` cut into rows of `width` columns where the detail tabs cut theirs.
fn push(lines: &mut Vec<HelpLine>, text: &str, width: u16) {
    for r in layout::wrap_ranges(text, width) {
        lines.push(HelpLine {
            text: text[r].trim_end().to_string(),
            heading: false,
        });
    }
}

/// What `place` needs explained besides its keys: (heading, lines).
fn sections(place: Place) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    match place {
        Place::Messages | Place::Message(_) => {
            out.push(("Search (/): the query language", query_language()));
            out.push(("Columns", vec![
                "ID the log id, the CLI's REF  RECEIVED when delivered  DISPOSITION the verdict of the log (coloured)  STATUS delivered, retracted (every copy pulled), partial, restored, failed".into(),
            ]));
        }
        Place::Operations | Place::JobItems => out.push(("Columns", vec![
            "M/R/F/S copies matched / remediated (acted on) / failed / skipped (not acted on; each item's RESULT says why)".into(),
            "RATE copies per second  ETA time left  THROTTLE the mail system's last back-off  BY who started the job".into(),
            "Items (Enter): MAILBOX  MESSAGE  SUBJECT  DEPTH of the copy  RESULT per copy  FOLDERS from -> to; / filters them".into(),
        ])),
        Place::Audit | Place::AuditRecord => out.push(("Audit", vec![
            "/ filters: since:WHEN until:WHEN actor:WHO action:PREFIX target:TEXT (asked of the store); other words match any column".into(),
            "# the record's number in the chain  Enter shows a record in full, Esc goes back".into(),
            "chain: verified, or BROKEN at record N and why (its hash, its link to the record before, or its signature)".into(),
            "TIME  ACTOR who acted  ACTION  TARGET message or job  REASON the ticket given  OUTCOME".into(),
        ])),
        Place::Pending | Place::Facts => out.push(("Columns", vec![
            "REQ the request's number (`retractor approve N`)  ACTION  TARGET  MBX mailboxes it reaches  BY who asked  RULE the policy rule  ALERT  EXPIRES".into(),
            "Approving needs another person of the approver role; rejecting needs a reason.".into(),
        ])),
    }
    match place {
        Place::Message(Tab::Recipients) => out.push(("Retract tab", vec![
            "[x] included  [ ] excluded  [-] external (never acted on)  HOLD on legal hold".into(),
            "columns: recipient, STATE of the copy, READ had the user opened it, WAS IN the folder before anything was done (- never touched), FOLDER it is in; depth N: what each depth adds".into(),
            "R asks before anything moves; hard-delete asks for the word to be typed".into(),
        ])),
        Place::Message(Tab::Conversation) => out.push(("Conversation tab", vec![
            "0 the message; N a reply or forward N steps from it (the depth the retract tab reaches)".into(),
            "log: found in the message log  mailbox: found in the mailboxes by the retract tab's plan (depth 1 or more)".into(),
        ])),
        _ => {}
    }
    if matches!(place, Place::Messages | Place::Message(_)) {
        out.push((
            ":sweep: every mailbox of a tenant, not only the log",
            sweep_grammar(),
        ));
    }
    out
}

fn query_language() -> Vec<String> {
    vec![
        "words match subject, sender and recipients by their start (docu finds document); \"a phrase\" whole words; -term negates"
            .into(),
        format!(
            "fields: {}",
            crate::query::FIELDS.map(|f| format!("{f}:")).join(" ")
        ),
        format!("status: {}", crate::query::STATUSES.join(" ")),
        format!("disposition: {}", crate::query::DISPOSITIONS.join(" ")),
        "since:/until: 90m 2h 3d 1w, a date (2026-11-20) or RFC 3339".into(),
        "e.g. from:ceo@evil.test since:1d -status:retracted".into(),
    ]
}

fn sweep_grammar() -> Vec<String> {
    vec![
        ":sweep [ACTION] [from:ADDR] [subject:TEXT] [msgid:ID] [since:WHEN] [tenant:NAME] [all] [max:N] [reason:TEXT]".into(),
        format!("ACTION: {}", cmdline::ACTIONS.join(" ")),
        "no terms: the open or selected message; all: since: alone; values with spaces in \"quotes\"".into(),
        "it reads the mailboxes first and lists what it will pull before asking".into(),
    ]
}
