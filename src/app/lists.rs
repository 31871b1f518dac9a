//! The Audit view's and the open job's list state, and their filters. The Audit view's
//! `since:`, `until:`, `actor:`, `action:` and `target:` narrow what the store lists, so a
//! time window reaches records older than the newest loaded; other words narrow the records
//! loaded, in any column. The open job's items are narrowed by words in any column.

use chrono::{DateTime, Utc};

use super::rows::{AuditRow, ItemRow, shown};
use super::{QueryError, ReqId};
use crate::api::AuditQuery;
use crate::trust::verify::AnchoredVerdict;

/// The most records the view loads at once (the newest of the selection).
pub const AUDIT_LIMIT: usize = 500;

/// The filter's field names, for its error message.
const FIELDS: [&str; 5] = ["since", "until", "actor", "action", "target"];

/// A parsed filter: what the store is asked for, and the free words the loaded records must
/// contain (lower-cased).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub query: AuditQuery,
    pub words: Vec<String>,
}

impl AuditFilter {
    /// Parse the filter bar's text; the error names the term and its column.
    pub fn parse(text: &str, now: DateTime<Utc>) -> Result<AuditFilter, QueryError> {
        let mut filter = AuditFilter::default();
        for term in text.split_whitespace() {
            // `term` is a slice of `text`: its offset is where it starts.
            let start = term.as_ptr() as usize - text.as_ptr() as usize;
            let column = text[..start].chars().count() + 1;
            let Some((field, value)) = term.split_once(':') else {
                filter.words.push(term.to_lowercase());
                continue;
            };
            let bad = |message: String| QueryError {
                column,
                message: shown(&message),
            };
            let field = field.to_ascii_lowercase();
            if !FIELDS.contains(&field.as_str()) {
                return Err(bad(format!(
                    "unknown filter '{field}:': expected one of {}: (other words match any column)",
                    FIELDS.join(":, ")
                )));
            }
            if value.is_empty() {
                return Err(bad(format!("missing value after '{field}:'")));
            }
            let when = || crate::model::when::parse_when(value, now).map_err(&bad);
            let q = &mut filter.query;
            match field.as_str() {
                "since" => q.since = Some(when()?),
                "until" => q.until = Some(when()?),
                "actor" => q.actor = Some(value.to_string()),
                "action" => q.action = Some(value.to_string()),
                _ => q.target = Some(value.to_string()),
            }
        }
        Ok(filter)
    }

    /// The store's query for this filter: one more than [`AUDIT_LIMIT`], so the view knows
    /// whether older records were left out.
    pub fn request(&self) -> AuditQuery {
        AuditQuery {
            limit: Some(AUDIT_LIMIT + 1),
            ..self.query.clone()
        }
    }

    /// Whether the filter narrows what the store lists (not only the loaded records).
    pub fn narrows_the_store(&self) -> bool {
        self.query != AuditQuery::default()
    }
}

impl AuditRow {
    /// Whether every word appears in some column (case-insensitive).
    pub fn has_words(&self, words: &[String]) -> bool {
        let columns = [
            &self.actor,
            &self.action,
            &self.target,
            &self.reason,
            &self.outcome,
            &self.detail,
        ];
        words
            .iter()
            .all(|w| columns.iter().any(|c| c.to_lowercase().contains(w)))
    }
}

impl ItemRow {
    /// Whether every word (lower-cased) appears in some column (case-insensitive).
    pub fn has_words(&self, words: &[String]) -> bool {
        let columns = [
            &self.mailbox,
            &self.message,
            &self.subject,
            &self.result,
            &self.from_folder,
            &self.to_folder,
            &self.error,
        ];
        words
            .iter()
            .all(|w| columns.iter().any(|c| c.to_lowercase().contains(w)))
    }
}

/// The job whose items the Operations view shows, and the request for them awaited.
#[derive(Debug)]
pub struct OpenJob {
    pub job: i64,
    pub req: ReqId,
    pub items: Vec<ItemRow>,
    /// `/` narrows the items to those holding every word typed, in any column.
    pub filter: String,
    /// Index of the selected item among those the filter shows.
    pub cursor: usize,
    /// Index of the first item on screen (of those the filter shows).
    pub top: usize,
}

impl OpenJob {
    /// The job's items, as `job` opens them (nothing loaded yet).
    pub fn new(job: i64, req: ReqId) -> OpenJob {
        OpenJob {
            job,
            req,
            items: Vec::new(),
            filter: String::new(),
            cursor: 0,
            top: 0,
        }
    }

    /// The items the filter shows, in the job's order.
    pub fn visible_items(&self) -> impl Iterator<Item = &ItemRow> {
        let words: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        self.items.iter().filter(move |i| i.has_words(&words))
    }
}

/// The Audit view.
#[derive(Debug, Default)]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    pub selected: usize,
    /// The filter as typed.
    pub filter: String,
    /// The filter as parsed: what the store was asked for, and the words rows must contain.
    pub applied: AuditFilter,
    /// Older records of the selection exist than the [`AUDIT_LIMIT`] loaded.
    pub more: bool,
    /// The selected record is shown in full (`Enter`; `Esc` goes back to the list).
    pub open: bool,
    pub verdict: Option<AnchoredVerdict>,
    pub req: ReqId,
    /// Index of the first record on screen (of those the filter shows).
    pub top: usize,
}

impl AuditView {
    /// The loaded records the filter's words show, newest first.
    pub fn visible_rows(&self) -> impl Iterator<Item = &AuditRow> {
        self.rows
            .iter()
            .filter(|r| r.has_words(&self.applied.words))
    }

    /// How many records the filter shows.
    pub fn shown(&self) -> usize {
        self.visible_rows().count()
    }

    /// The selected record, if any is shown.
    pub fn selected_row(&self) -> Option<&AuditRow> {
        self.visible_rows().nth(self.selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
    }

    #[test]
    fn fields_go_to_the_store_and_words_stay_here() {
        let f = AuditFilter::parse(
            "since:1d action:quarantine alice target:<m@x> Ticket",
            now(),
        )
        .unwrap();
        assert_eq!(f.query.since, Some(now() - chrono::Duration::days(1)));
        assert_eq!(f.query.action.as_deref(), Some("quarantine"));
        assert_eq!(f.query.target.as_deref(), Some("<m@x>"));
        assert_eq!(f.words, ["alice", "ticket"]);
        assert!(f.narrows_the_store());
        assert_eq!(f.request().limit, Some(AUDIT_LIMIT + 1));
        assert!(
            !AuditFilter::parse("alice", now())
                .unwrap()
                .narrows_the_store()
        );
    }

    #[test]
    fn a_bad_term_is_named_at_its_column() {
        let e = AuditFilter::parse("alice whom:bob", now()).unwrap_err();
        assert_eq!(e.column, 7);
        assert!(
            e.message.contains("unknown filter 'whom:'"),
            "{}",
            e.message
        );
        let e = AuditFilter::parse("until:yesterday", now()).unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("bad time 'yesterday'"), "{}", e.message);
        let e = AuditFilter::parse("actor:", now()).unwrap_err();
        assert!(e.message.contains("missing value"), "{}", e.message);
    }

    /// "Yesterday's pulls found in the audit" (benches/README.md, Keystrokes): `3` `/`, the
    /// 29 characters below, `Enter`: 32 keys, and only the retractions of that day are listed.
    #[test]
    fn yesterdays_pulls_are_one_filter() {
        let typed = "since:2d until:1d action:retr";
        assert_eq!(typed.chars().count(), 29);
        let f = AuditFilter::parse(typed, now()).unwrap();
        assert_eq!(f.query.since, Some(now() - chrono::Duration::days(2)));
        assert_eq!(f.query.until, Some(now() - chrono::Duration::days(1)));
        // A prefix: the requests are audited as `retract ACTION`.
        assert_eq!(f.query.action.as_deref(), Some("retr"));
        assert!(f.words.is_empty());
    }
}
