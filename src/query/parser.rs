//! Giving raw clauses their meaning: field names, value checks and word splitting.

use chrono::{DateTime, Utc};

use super::lexer::{RawClause, RawValue, error_at, lex};
use super::{Clause, MAX_CLAUSES, MAX_QUERY_BYTES, Query, QueryError, Span, Term, TextField};
use crate::model::text::sanitize;
use crate::model::{MessageStatus, normalize_message_id, when::parse_when};

/// Field names in the order error messages list them.
pub const FIELDS: [&str; 9] = [
    "from",
    "to",
    "subject",
    "msgid",
    "status",
    "disposition",
    "tenant",
    "since",
    "until",
];

/// Values `status:` accepts.
pub const STATUSES: [&str; 5] = ["delivered", "retracted", "restored", "failed", "partial"];

/// Values `disposition:` accepts.
pub const DISPOSITIONS: [&str; 6] = ["clean", "bulk", "spam", "suspicious", "malicious", "spoof"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Text(TextField),
    MessageId,
    Status,
    Disposition,
    Tenant,
    Since,
    Until,
}

impl Field {
    fn from_name(name: &str) -> Option<Self> {
        // ASCII-only folding: Unicode folding would let look-alikes such as the Kelvin sign
        // (`K`) or dotless i name a field.
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        Some(match () {
            _ if is("from") => Field::Text(TextField::From),
            _ if is("to") => Field::Text(TextField::To),
            _ if is("subject") => Field::Text(TextField::Subject),
            _ if is("msgid") => Field::MessageId,
            _ if is("status") => Field::Status,
            _ if is("disposition") => Field::Disposition,
            _ if is("tenant") => Field::Tenant,
            _ if is("since") => Field::Since,
            _ if is("until") => Field::Until,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Field::Text(TextField::Any) => "text",
            Field::Text(TextField::From) => "from",
            Field::Text(TextField::To) => "to",
            Field::Text(TextField::Subject) => "subject",
            Field::MessageId => "msgid",
            Field::Status => "status",
            Field::Disposition => "disposition",
            Field::Tenant => "tenant",
            Field::Since => "since",
            Field::Until => "until",
        }
    }
}

/// Whether `c` belongs to a word, as a full-text index would tokenise it.
///
/// Letters and digits of any script, plus combining marks so that decomposed text
/// (`U` + U+0308) stays one word instead of splitting at the accent.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c,
            '\u{0300}'..='\u{036f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}')
}

/// Split text into lower-cased words on everything that is not a word character, so
/// `Alice@Corp.test` becomes `["alice", "corp", "test"]`.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

pub(crate) fn parse(input: &str, now: DateTime<Utc>) -> Result<Query, QueryError> {
    // Bounds first, so an enormous query is refused before any work proportional to it.
    if input.len() > MAX_QUERY_BYTES {
        let mut cut = MAX_QUERY_BYTES;
        while !input.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(error_at(
            input,
            cut..input.len(),
            format!(
                "the query is too long: at most {MAX_QUERY_BYTES} bytes, this one has {}",
                input.len()
            ),
        ));
    }
    let raw = lex(input)?;
    if let Some(extra) = raw.get(MAX_CLAUSES) {
        let end = raw.last().map_or(extra.span.end, |c| c.span.end);
        return Err(error_at(
            input,
            extra.span.start..end,
            format!(
                "too many terms: at most {MAX_CLAUSES}, this query has {}",
                raw.len()
            ),
        ));
    }
    let clauses = raw
        .into_iter()
        .map(|raw| clause(input, raw, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Query { clauses })
}

/// User text quoted in an error message: escaped, and cut to a few dozen characters so a long
/// value is not repeated back whole (the rendered excerpt shows where it stands).
fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX).collect();
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("{}{more}", sanitize(&head))
}

/// A value with its `*` already checked and removed.
struct Value<'a> {
    text: &'a str,
    span: Span,
    /// Where the prefix `*` stood, when there was one.
    star: Option<Span>,
    quoted: bool,
}

fn clause(input: &str, raw: RawClause<'_>, now: DateTime<Utc>) -> Result<Clause, QueryError> {
    let err = |span: Span, message: String| error_at(input, span, message);

    let field = match &raw.field {
        None => Field::Text(TextField::Any),
        Some(("", name_span)) => {
            // Point at the colon itself: there is no name to underline.
            let colon = name_span.start..name_span.start + 1;
            return Err(err(
                colon,
                format!(
                    "missing field name before ':': expected one of {}",
                    FIELDS.join(", ")
                ),
            ));
        }
        Some((name, name_span)) => Field::from_name(name).ok_or_else(|| {
            err(
                name_span.clone(),
                format!(
                    "unknown field '{}': expected one of {}",
                    excerpt(name),
                    FIELDS.join(", ")
                ),
            )
        })?,
    };

    // Underline from the field name (not the `-`) to the end of the clause.
    let field_span = raw
        .field
        .as_ref()
        .map_or(raw.span.clone(), |(_, s)| s.start..raw.span.end);
    let value = match raw.value {
        RawValue::Empty => {
            return Err(err(
                field_span,
                format!("missing value after '{}:'", field.name()),
            ));
        }
        // A Message-ID may legitimately contain `*` (RFC 5322 atext), so it is never a
        // prefix marker there.
        RawValue::Bare { text, span } if field == Field::MessageId => Value {
            text,
            span,
            star: None,
            quoted: false,
        },
        RawValue::Bare { text, span } => split_star(input, text, span)?,
        RawValue::Quoted { text, span, prefix } => {
            // The `*` is ASCII and the last byte of a quoted span.
            let star = prefix.then(|| span.end - 1..span.end);
            if let Some(star) = &star
                && !text.chars().next_back().is_some_and(is_word_char)
            {
                return Err(err(
                    star.clone(),
                    "'*' must directly follow a letter or digit".to_string(),
                ));
            }
            Value {
                text,
                span,
                star,
                quoted: true,
            }
        }
    };

    let is_text = matches!(field, Field::Text(_));
    if let Some(star) = &value.star
        && !is_text
    {
        return Err(err(
            star.clone(),
            format!(
                "'*' (prefix search) works only on words and from:, to:, subject:, not on {}:",
                field.name()
            ),
        ));
    }
    if value.text.trim().is_empty() {
        let message = match raw.field {
            Some(_) => format!("missing value after '{}:'", field.name()),
            None => "empty quotes: put words between them".to_string(),
        };
        return Err(err(field_span, message));
    }

    let term = match field {
        Field::Text(text_field) => {
            let words = words(value.text);
            if words.is_empty() {
                // Dropping the term would silently widen the query, perhaps to every message,
                // which is dangerous in a tool that retracts what it finds.
                let shown = if value.quoted {
                    format!("\"{}\"", excerpt(value.text))
                } else {
                    excerpt(value.text)
                };
                return Err(err(
                    value.span,
                    format!("{shown} has no letters or digits to search for"),
                ));
            }
            // An unquoted word is a prefix as typed (`docu` finds "document", `東京` finds
            // "東京都庁"): search-as-you-type. Quotes ask for whole words, unless a `*` follows.
            Term::Text {
                field: text_field,
                words,
                prefix: value.star.is_some() || !value.quoted,
            }
        }
        Field::MessageId => {
            let id = normalize_message_id(value.text);
            if id == "<>" {
                return Err(err(field_span, "missing value after 'msgid:'".to_string()));
            }
            Term::MessageId(id)
        }
        Field::Status => {
            let lower = value.text.trim().to_lowercase();
            let status = MessageStatus::parse(&lower).ok_or_else(|| {
                err(
                    value.span.clone(),
                    format!(
                        "unknown status '{}': expected one of {}",
                        excerpt(value.text),
                        STATUSES.join(", ")
                    ),
                )
            })?;
            Term::Status(status)
        }
        Field::Disposition => {
            let lower = value.text.trim().to_lowercase();
            if !DISPOSITIONS.contains(&lower.as_str()) {
                return Err(err(
                    value.span,
                    format!(
                        "unknown disposition '{}': expected one of {}",
                        excerpt(value.text),
                        DISPOSITIONS.join(", ")
                    ),
                ));
            }
            Term::Disposition(lower)
        }
        Field::Tenant => Term::Tenant(value.text.trim().to_string()),
        Field::Since | Field::Until => {
            let at = parse_when(value.text, now).map_err(|msg| {
                err(
                    value.span.clone(),
                    format!("{}: {}", field.name(), sanitize(&msg)),
                )
            })?;
            if field == Field::Since {
                Term::Since(at)
            } else {
                Term::Until(at)
            }
        }
    };

    Ok(Clause {
        negated: raw.negated,
        term,
        span: raw.span,
    })
}

/// Check the `*` of a bare value: only one, only last, only right after a word character.
fn split_star<'a>(input: &str, text: &'a str, span: Span) -> Result<Value<'a>, QueryError> {
    let Some(star) = text.find('*') else {
        return Ok(Value {
            text,
            span,
            star: None,
            quoted: false,
        });
    };
    let star_span = span.start + star..span.start + star + 1;
    if star + 1 != text.len() {
        return Err(error_at(
            input,
            star_span,
            "'*' is allowed only at the end of a word (prefix search, e.g. invoi*)",
        ));
    }
    let stem = text.get(..star).unwrap_or("");
    if !stem.chars().next_back().is_some_and(is_word_char) {
        return Err(error_at(
            input,
            star_span,
            "'*' must directly follow a letter or digit",
        ));
    }
    Ok(Value {
        text: stem,
        span: span.start..star_span.start,
        star: Some(star_span),
        quoted: false,
    })
}
