//! The search query language of the search bar and `retractor search` (CONTRACT.md).
//!
//! Free words match subject, sender and recipients; `field:value` terms narrow by field;
//! quotes group words; a leading `-` negates a term. Parsing is separate from SQL: the store
//! compiles a [`Query`] into its statements.

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
    /// Words (a phrase when quoted) matched as whole words; `prefix` for a trailing `*`.
    Text { field: TextField, words: Vec<String>, prefix: bool },
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
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query error at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for QueryError {}

/// Parse a query; relative times (`since:3d`) count back from `now`.
pub fn parse(_input: &str, _now: DateTime<Utc>) -> Result<Query, QueryError> {
    Ok(Query::default())
}
