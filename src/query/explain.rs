//! Why a query found nothing: the term that matches no message, or the time window and
//! filters that leave out what the words found. The console and `retractor search` say it
//! instead of an empty table with no reason.

use super::{Clause, Query, Term};
use crate::model::text::sanitize;

/// Explain an empty result of `query` (typed as `input`). `count` answers how many messages
/// a smaller query matches (the store's count); it is asked once per clause and once for
/// the words without the filters, so a query of N clauses costs at most N + 1 counts.
pub fn why_empty<E>(
    query: &Query,
    input: &str,
    mut count: impl FnMut(&Query) -> Result<u64, E>,
) -> Result<String, E> {
    if query.clauses.is_empty() {
        return Ok("the log is empty".into());
    }
    let quoted = |c: &Clause| format!("'{}'", sanitize(input.get(c.span.clone()).unwrap_or("")));
    let mut alone_empty = Vec::new();
    for clause in &query.clauses {
        let alone = Query {
            clauses: vec![clause.clone()],
        };
        if count(&alone)? == 0 {
            alone_empty.push(clause);
        }
    }
    if !alone_empty.is_empty() {
        let named: Vec<String> = alone_empty.iter().map(|c| quoted(c)).collect();
        return Ok(format!("no message matches {}", named.join(" or ")));
    }
    if query.clauses.len() == 1 {
        // Matched alone but not now: the log changed between the two reads.
        return Ok("no message matches any more".into());
    }
    let (words, filters): (Vec<&Clause>, Vec<&Clause>) =
        query.clauses.iter().partition(|c| is_words(c));
    if !words.is_empty() && !filters.is_empty() {
        let found = count(&Query {
            clauses: words.iter().map(|c| (*c).clone()).collect(),
        })?;
        let named: Vec<String> = words.iter().map(|c| quoted(c)).collect();
        let limits: Vec<String> = filters.iter().map(|c| quoted(c)).collect();
        let window = if filters.iter().any(|c| is_time(c)) {
            "the time window and filters"
        } else {
            "the filters"
        };
        if found > 0 {
            return Ok(format!(
                "{found} message(s) match {}, none within {window} {}",
                named.join(" "),
                limits.join(" ")
            ));
        }
    }
    Ok("each term matches some message, but no message matches them all".into())
}

/// A text term (words or a phrase), as opposed to a filter on a field's value or a time.
fn is_words(c: &Clause) -> bool {
    matches!(c.term, Term::Text { .. }) && !c.negated
}

fn is_time(c: &Clause) -> bool {
    matches!(c.term, Term::Since(_) | Term::Until(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A count by a fixed table: each clause text's own count, and the words together.
    fn explain(input: &str, counts: &[(&str, u64)]) -> String {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let query = super::super::parse(input, now).unwrap();
        why_empty(&query, input, |q: &Query| {
            let text: Vec<&str> = q
                .clauses
                .iter()
                .map(|c| input.get(c.span.clone()).unwrap_or(""))
                .collect();
            let key = text.join(" ");
            Ok::<_, ()>(
                counts
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(0, |(_, n)| *n),
            )
        })
        .unwrap()
    }

    #[test]
    fn names_the_term_that_matches_nothing() {
        assert_eq!(
            explain("docux from:alice", &[("from:alice", 3)]),
            "no message matches 'docux'"
        );
        assert_eq!(
            explain("docux zzz", &[]),
            "no message matches 'docux' or 'zzz'"
        );
    }

    #[test]
    fn names_the_window_that_leaves_the_words_out() {
        assert_eq!(
            explain(
                "invoice since:1h",
                &[("invoice", 4), ("since:1h", 2), ("invoice", 4)]
            ),
            "4 message(s) match 'invoice', none within the time window and filters 'since:1h'"
        );
        assert_eq!(
            explain(
                "invoice status:retracted",
                &[("invoice", 4), ("status:retracted", 1)]
            ),
            "4 message(s) match 'invoice', none within the filters 'status:retracted'"
        );
    }

    #[test]
    fn says_when_every_term_matches_but_not_together() {
        assert_eq!(
            explain("invoice menu", &[("invoice", 4), ("menu", 1)]),
            "each term matches some message, but no message matches them all"
        );
        assert_eq!(explain("", &[]), "the log is empty");
    }
}
