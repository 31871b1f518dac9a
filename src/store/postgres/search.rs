//! The CONTRACT's query language on PostgreSQL full-text search, with the SQLite store's
//! results for its terms.
//!
//! FTS5 (`unicode61 remove_diacritics 2`) splits text into runs of letters and digits, folds
//! case and drops accents; a term is a phrase (its words adjacent, in order, in one column)
//! and `*` makes the last word a prefix. Here each column is folded the same way by
//! `rtx_fold` (unaccent, lower, every other character a separator) into a stored `tsvector`
//! with the `simple` configuration (no stemming, no stop words), and a term becomes a
//! `tsquery` of its folded words joined by `<->` (followed by), the last with `:*` for a
//! prefix. Folding before PostgreSQL's parser sees the text matters: it would otherwise keep
//! `alice@corp.test` as one e-mail token where FTS5 has three words.
//!
//! Known differences (README, "Team mode"): accents are removed by `unaccent`'s rules rather
//! than Unicode decomposition (the same for Latin scripts; `unaccent` also maps a few
//! ligatures, `æ` to `ae`, which FTS5 keeps); letters and digits are told apart by the
//! database's `LC_CTYPE` (a `C` locale would split every non-ASCII letter).

use postgres::Row;
use postgres::types::ToSql;

use super::messages::MESSAGE_COLUMNS;
use super::statements::Tx;
use crate::model::MessageStatus;
use crate::query::{Query, Term, TextField};
use crate::store::{PageAnchor, Result};

/// One bound value of a compiled query.
#[derive(Clone, Debug)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
}

/// Run `sql` with `args` bound as `$1..`.
pub(super) fn query(tx: &mut Tx<'_>, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
    let bound: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|a| match a {
            Arg::Int(i) => i as &(dyn ToSql + Sync),
            Arg::Text(t) => t as &(dyn ToSql + Sync),
        })
        .collect();
    Ok(tx.query(sql, &bound)?)
}

/// A query's matches, newest first.
pub(super) fn search_sql(query: &Query, limit: usize, offset: usize) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    let filter = compile(query, &mut args);
    let limit = push(&mut args, Arg::Int(clamp(limit)));
    let offset = push(&mut args, Arg::Int(clamp(offset)));
    (
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE {filter}
             ORDER BY m.received_at DESC, m.id DESC LIMIT {limit} OFFSET {offset}"
        ),
        args,
    )
}

/// How many messages match.
pub(super) fn count_sql(query: &Query) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    let filter = compile(query, &mut args);
    (
        format!("SELECT count(*) FROM messages m WHERE {filter}"),
        args,
    )
}

/// One page from `anchor` (keyset paging, as the SQLite store's `search_page`); `true` when
/// the rows come oldest first and must be reversed.
pub(super) fn page_sql(
    query: &Query,
    anchor: PageAnchor,
    limit: usize,
) -> (String, Vec<Arg>, bool) {
    let mut args = Vec::new();
    let filter = compile(query, &mut args);
    let (extra, order, offset) = match anchor {
        PageAnchor::Offset(n) => ("true".to_string(), "DESC", n),
        PageAnchor::FromEnd(n) => ("true".to_string(), "ASC", n),
        PageAnchor::After(at, id) | PageAnchor::Before(at, id) => {
            let older = matches!(anchor, PageAnchor::After(..));
            let at = push(&mut args, Arg::Int(at));
            let id = push(&mut args, Arg::Int(id));
            let (outer, inner) = if older { ("<=", "<") } else { (">=", ">") };
            (
                format!(
                    "m.received_at {outer} {at} AND (m.received_at {inner} {at} OR m.id {inner} {id})"
                ),
                if older { "DESC" } else { "ASC" },
                0,
            )
        }
    };
    let limit = push(&mut args, Arg::Int(clamp(limit)));
    let offset = push(&mut args, Arg::Int(clamp(offset)));
    (
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE ({filter}) AND {extra}
             ORDER BY m.received_at {order}, m.id {order} LIMIT {limit} OFFSET {offset}"
        ),
        args,
        order == "ASC",
    )
}

fn clamp(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

/// Bind `arg`; its placeholder.
fn push(args: &mut Vec<Arg>, arg: Arg) -> String {
    args.push(arg);
    format!("${}", args.len())
}

/// A WHERE clause over `messages m`, binding into `args`.
fn compile(query: &Query, args: &mut Vec<Arg>) -> String {
    let mut conditions: Vec<String> = Vec::new();
    for clause in &query.clauses {
        let condition = match &clause.term {
            Term::Text {
                field,
                words,
                prefix,
            } => {
                // Words with no letter or digit fold to nothing, as FTS5 drops them.
                if words.is_empty() {
                    continue;
                }
                text_condition(*field, words, *prefix, args)
            }
            other => scalar_condition(other, args),
        };
        conditions.push(if clause.negated {
            format!("NOT coalesce({condition}, false)")
        } else {
            condition
        });
    }
    if conditions.is_empty() {
        "true".into()
    } else {
        conditions.join(" AND ")
    }
}

/// The term's words as one phrase in one of `field`'s columns. The words are folded by the
/// database (`rtx_fold`, as the columns were) and joined into a `tsquery` there, so no word
/// is ever read as `tsquery` syntax.
fn text_condition(field: TextField, words: &[String], prefix: bool, args: &mut Vec<Arg>) -> String {
    let phrase = push(args, Arg::Text(words.join(" ")));
    let star = if prefix { ":*" } else { "" };
    // Every folded word quoted as a lexeme ('' escapes nothing: folding leaves only letters,
    // digits and spaces), joined by <->; an empty fold matches nothing, as in FTS5.
    let tsquery = format!(
        "(SELECT CASE WHEN count(*) = 0 THEN NULL ELSE to_tsquery('simple', string_agg('''' || w || '''', ' <-> ' ORDER BY n) || '{star}') END
          FROM unnest(string_to_array(btrim(rtx_fold({phrase}::text)), ' ')) WITH ORDINALITY AS t(w, n) WHERE w <> '')"
    );
    let columns: &[&str] = match field {
        TextField::Any => &["subject_words", "sender_words", "recipients_words"],
        TextField::From => &["sender_words"],
        TextField::To => &["recipients_words"],
        TextField::Subject => &["subject_words"],
    };
    let tests: Vec<String> = columns
        .iter()
        .map(|c| format!("m.{c} @@ {tsquery}"))
        .collect();
    // A bare OR of `@@` tests, so the planner can answer it from the GIN indexes (a
    // BitmapOr); wrapped in a function (`coalesce`) it reads every row. An empty fold's NULL
    // excludes the row here, and `compile` coalesces a negated term itself.
    format!("({})", tests.join(" OR "))
}

fn scalar_condition(term: &Term, args: &mut Vec<Arg>) -> String {
    match term {
        Term::MessageId(id) => format!("m.message_id = {}", push(args, Arg::Text(id.clone()))),
        // "retracted" means at least one copy pulled, so partial retractions count too.
        Term::Status(MessageStatus::Retracted) => "m.status IN ('retracted', 'partial')".into(),
        Term::Status(s) => format!("m.status = {}", push(args, Arg::Text(s.as_str().into()))),
        Term::Disposition(d) => format!("m.disposition = {}", push(args, Arg::Text(d.clone()))),
        Term::Tenant(t) => format!("m.tenant = {}", push(args, Arg::Text(t.clone()))),
        Term::Since(t) => format!("m.received_at >= {}", push(args, Arg::Int(t.timestamp()))),
        Term::Until(t) => format!("m.received_at < {}", push(args, Arg::Int(t.timestamp()))),
        Term::Text { .. } => "true".into(),
    }
}
