//! The API's indicator types: a feed or one indicator handed in, what became of it, and a
//! removal. The side that stores indicators parses them, as it does alerts.

use serde::{Deserialize, Serialize};

use crate::forensics::ioc::{Format, Skipped};
use crate::model::IndicatorKind;

/// The most bytes one feed may carry.
pub const INDICATORS_LIMIT: usize = 16 * 1024 * 1024;

/// Indicators to add: a feed (`format` given, `body` its text) or one indicator (`format`
/// `None`, `kind` given, `body` its value).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndicatorSubmission {
    /// What the feed came from (a file name, `-`), for errors and the audit.
    pub name: String,
    pub format: Option<Format>,
    /// A plain list's kind, or the one indicator's; `None` in a list: inferred per line.
    pub kind: Option<IndicatorKind>,
    pub source: String,
    pub body: String,
    /// One indicator's classification (feeds carry their own).
    pub classification: Option<String>,
    /// One indicator's expiry as given (`30d`, a date, RFC 3339).
    pub expires: Option<String>,
}

/// What became of a submission: stored whole, or not at all (an error).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorReport {
    pub added: u64,
    /// Already stored for the same kind, value and source: classification and expiry renewed.
    pub refreshed: u64,
    /// What the feed said that retractor cannot look for.
    pub skipped: Vec<Skipped>,
}

/// Remove one indicator, or every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorRemoval {
    /// `None`: all of them.
    pub id: Option<i64>,
}

/// How many a removal removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorsRemoved {
    pub removed: u64,
}
