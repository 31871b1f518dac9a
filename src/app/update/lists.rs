//! The Audit view's filter and the open job's items filter (both typed after `/`), and the
//! flash that reports a finished job's counts and failures.

use crate::app::rows::shown;
use crate::app::{App, AuditFilter, Command, Focus, JobOutcome};

/// `Enter` in the Audit filter: a bad term keeps the filter open with the error under its
/// column; a good one reloads the trail when it narrows what the store lists.
pub(super) fn apply_audit_filter(app: &mut App, text: String) -> Vec<Command> {
    let filter = match AuditFilter::parse(&text, app.now) {
        Ok(f) => f,
        Err(e) => {
            app.search_error = Some(e);
            app.focus = Focus::Search;
            return Vec::new();
        }
    };
    app.search_error = None;
    let reload = filter.query != app.audit.applied.query;
    app.audit.filter = text;
    app.audit.applied = filter;
    app.audit.selected = 0;
    app.audit.top = 0;
    app.audit.open = false;
    app.dirty = true;
    if reload {
        vec![app.load_audit()]
    } else {
        Vec::new()
    }
}

/// `Enter` in the open job's items filter: words in any column, from the first item.
pub(super) fn filter_items(app: &mut App, text: String) -> Vec<Command> {
    if let Some(open) = app.ops.open.as_mut() {
        open.filter = text;
        open.cursor = 0;
        open.top = 0;
        app.dirty = true;
    }
    Vec::new()
}

/// The most failures a finished job's flash names (the items list has them all).
const FAILURES_NAMED: usize = 2;

/// The flash for a job this console ran: its status and counts, and its first failures.
pub(super) fn finished_flash(job: i64, outcome: Option<&JobOutcome>) -> String {
    let Some(o) = outcome else {
        return format!("job {job} finished");
    };
    let mut text = format!(
        "job {job} finished ({}): {} matched, {} remediated, {} failed, {} skipped",
        shown(&o.status),
        o.counts.matched,
        o.counts.remediated,
        o.counts.failed,
        o.counts.skipped
    );
    let failures: Vec<String> = o
        .failures
        .iter()
        .take(FAILURES_NAMED)
        .map(|(mailbox, error)| format!("{}: {}", shown(mailbox), shown(error)))
        .collect();
    if !failures.is_empty() {
        text.push_str("; failed: ");
        text.push_str(&failures.join(", "));
        if o.failures.len() > FAILURES_NAMED {
            text.push_str(&format!(
                "; {} more (Enter on the job lists them)",
                o.failures.len() - FAILURES_NAMED
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobCounts;

    #[test]
    fn a_finished_job_names_its_counts_and_failures() {
        assert_eq!(finished_flash(3, None), "job 3 finished");
        let outcome = JobOutcome {
            status: "partial".into(),
            counts: JobCounts {
                matched: 4,
                remediated: 1,
                failed: 3,
                skipped: 0,
                ..JobCounts::default()
            },
            failures: vec![
                ("a@t.test".into(), "timeout".into()),
                ("b@t.test".into(), "gone\u{1b}[2J".into()),
                ("c@t.test".into(), "denied".into()),
            ],
        };
        assert_eq!(
            finished_flash(7, Some(&outcome)),
            "job 7 finished (partial): 4 matched, 1 remediated, 3 failed, 0 skipped; failed: a@t.test: \
             timeout, b@t.test: gone\\x1b[2J; 1 more (Enter on the job lists them)"
        );
    }
}
