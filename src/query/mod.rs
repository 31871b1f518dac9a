//! The search query language of the search bar and `retractor search` (CONTRACT.md).
//!
//! Free words match subject, sender and recipients; `field:value` terms narrow by field;
//! quotes group words; a leading `-` negates a term. Parsing is separate from SQL: the store
//! compiles a [`Query`] into its statements.
//!
//! # Grammar
//!
//! A query is clauses separated by whitespace, all of which must hold:
//!
//! ```text
//! clause := ['-'] ( value | field ':' value )
//! value  := word ['*'] | '"' any text but '"' '"' ['*']
//! field  := from | to | subject | msgid | status | disposition | tenant | since | until
//! ```
//!
//! - Field names are case-insensitive (ASCII only). The *first* colon of an unquoted word ends
//!   the field name, so values keep their own colons (`since:2026-11-20T10:00:00Z`,
//!   `msgid:<a:b@x>`). Any unquoted word with a colon is therefore a field term, and an unknown
//!   name is an error even when the word only looks like a URL (`http://x`): quote text that
//!   contains a colon (`"http://x"`). An error is preferred to guessing because a query that
//!   silently means something else can pull the wrong mail.
//! - Text values (free words, `from:`, `to:`, `subject:`) are split into lower-cased words the
//!   way the full-text index splits them (letters and digits of any script), so
//!   `from:alice@corp.test` is the phrase `alice corp test`. A value with no letters or digits
//!   at all is an error rather than being dropped, since dropping it would widen the query.
//! - An unquoted value's last word is a prefix (`docu` finds "document", `from:ali` finds
//!   alice): words are matched as they are typed, and a CJK word (the index keeps a run of
//!   ideographs as one word) is found by its first characters. Quotes group words into a
//!   phrase of whole words and are literal inside: no escapes, and `*` between quotes is
//!   ordinary punctuation. A `*` after the closing quote makes the phrase's last word a
//!   prefix; after a word it is accepted and changes nothing; `*` anywhere else is an error. `msgid:` values are taken
//!   verbatim (a Message-ID may contain `*`), other non-text fields reject `*`.
//! - `-` negates the clause it starts; elsewhere it is ordinary text (`e-mail`).
//! - `status:` and `disposition:` are case-insensitive; `tenant:` and `msgid:` keep case.
//!
//! Errors carry the byte span of the offending text and the 1-based *character* column; the
//! first problem found is reported. User text quoted in messages is passed through
//! [`crate::model::text::sanitize`] so it cannot steer the terminal.

mod explain;
mod lexer;
mod parser;

use chrono::{DateTime, Utc};

use crate::model::MessageStatus;

/// Byte range of a clause in the query text, for inline error marking.
pub type Span = std::ops::Range<usize>;

/// Which text the words of a text term are matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// Subject, sender and recipients.
    Any,
    From,
    To,
    Subject,
}

/// One condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// Words (a phrase when quoted) matched as whole words, the last as a prefix when
    /// `prefix` (an unquoted value, or a trailing `*`).
    Text {
        field: TextField,
        words: Vec<String>,
        prefix: bool,
    },
    /// Exact Message-ID, normalised to `<...>`.
    MessageId(String),
    Status(MessageStatus),
    Disposition(String),
    Tenant(String),
    Since(DateTime<Utc>),
    Until(DateTime<Utc>),
}

/// A term, possibly negated, with where it stood in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub term: Term,
    pub span: Span,
}

/// All clauses must hold (AND); an empty query matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

/// A malformed query: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// Byte range of the offending text.
    pub span: Span,
    /// 1-based character column where the problem starts, as shown to users.
    pub column: usize,
    /// What is wrong, naming the expected alternatives where there is a fixed set.
    pub message: String,
}

impl QueryError {
    /// The error message, then an excerpt of `input` around the problem and a line of
    /// carets under the offending text, each indented by two spaces.
    ///
    /// Only a window of the query is echoed ([`EXCERPT_BEFORE`] characters before the problem,
    /// [`EXCERPT_CHARS`] in all, `…` where it is cut), so a huge query is not repeated back.
    /// Control and bidi characters in `input` are shown as `?` (tabs and newlines as spaces)
    /// so the echo cannot steer the terminal and the carets stay aligned; wide CJK characters
    /// count as two cells, combining marks as none (an approximation of terminal widths).
    pub fn render(&self, input: &str) -> String {
        let first = self.column.saturating_sub(1).saturating_sub(EXCERPT_BEFORE);
        let last = first + EXCERPT_CHARS;
        let mut shown = String::new();
        let mut carets = String::new();
        if first > 0 {
            shown.push('…');
            carets.push(' ');
        }
        let mut cut_at_end = false;
        for (n, (at, c)) in input.char_indices().enumerate() {
            if n < first {
                continue;
            }
            if n >= last {
                cut_at_end = true;
                break;
            }
            let (c, width) = display_char(c);
            shown.push(c);
            let mark = if self.span.contains(&at) { '^' } else { ' ' };
            if at < self.span.end {
                carets.extend(std::iter::repeat_n(mark, width));
            }
        }
        if cut_at_end {
            shown.push('…');
        }
        if !carets.contains('^') {
            // An empty span (or one of zero-width characters) still needs a visible mark.
            carets.push('^');
        }
        format!("{self}\n  {shown}\n  {}", carets.trim_end())
    }
}

/// Characters of the query echoed before the start of the problem in [`QueryError::render`].
pub const EXCERPT_BEFORE: usize = 24;

/// Characters of the query echoed in all by [`QueryError::render`].
pub const EXCERPT_CHARS: usize = 72;

/// The longest query accepted, in bytes. Longer text is an error at the position where the
/// limit is crossed, rather than a statement the store cannot run.
pub const MAX_QUERY_BYTES: usize = 4096;

/// The most clauses a query may have; each becomes a condition of the store's statement.
pub const MAX_CLAUSES: usize = 64;

/// How a character of the query is echoed and how many terminal cells it takes.
fn display_char(c: char) -> (char, usize) {
    if c == '\t' || c == '\n' || c == '\r' {
        return (' ', 1);
    }
    if c.is_control() || crate::model::text::is_format_char(c) {
        return ('?', 1);
    }
    let wide = matches!(c as u32,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd);
    let combining = !c.is_alphanumeric() && parser::is_word_char(c);
    (
        c,
        if wide {
            2
        } else if combining {
            0
        } else {
            1
        },
    )
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query error at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for QueryError {}

pub use explain::why_empty;
pub use parser::{DISPOSITIONS, FIELDS, STATUSES};

/// Parse a query; relative times (`since:3d`) count back from `now`.
///
/// Never panics: any input gives a [`Query`] or a [`QueryError`] whose span lies within
/// `input` on character boundaries. Blank input is the empty query (matches everything).
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<Query, QueryError> {
    parser::parse(input, now)
}

#[cfg(test)]
mod tests;
