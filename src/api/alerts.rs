//! The API's alert and approval types: alerts submitted as JSON lines, the report of what
//! became of each line, and the decision on an approval request.

use serde::{Deserialize, Serialize};

use crate::model::{Alert, AlertDisposition, AlertError};

/// A stored approval request, as `pending`, `approve` and `reject` answer it.
pub use crate::store::ApprovalRecord;

/// The most bytes one submission of alerts may carry.
pub const ALERTS_LIMIT: usize = 16 * 1024 * 1024;

/// Alerts as JSON lines, as the file held them; the side that stores them parses them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlertSubmission {
    /// What the lines came from (a file name, `-`), for the report.
    pub name: String,
    pub body: String,
}

/// One stored line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    pub line: u64,
    pub id: String,
    pub source: String,
    pub number: i64,
    pub revision: i64,
    pub disposition: AlertDisposition,
}

/// One refused line: its number and why (`field: problem`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectedLine {
    pub line: u64,
    pub field: String,
    pub problem: String,
}

/// What became of a submission. The good lines are stored together (all or none); the bad
/// ones are named and skipped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    pub stored: Vec<AlertLine>,
    pub rejected: Vec<RejectedLine>,
}

impl AlertReport {
    fn count(&self, d: AlertDisposition) -> usize {
        self.stored.iter().filter(|l| l.disposition == d).count()
    }
    pub fn new_count(&self) -> usize {
        self.count(AlertDisposition::New)
    }
    pub fn repeat_count(&self) -> usize {
        self.count(AlertDisposition::Repeat)
    }
    pub fn updated_count(&self) -> usize {
        self.count(AlertDisposition::Updated)
    }
}

/// The lines of a submission parsed: (line number, alert) and the refusals. Blank lines are
/// skipped; each other line must be one alert.
pub fn parse_lines(body: &str) -> (Vec<(u64, Alert)>, Vec<RejectedLine>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let n = n as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        match Alert::parse(line) {
            Ok(alert) => good.push((n, alert)),
            Err(AlertError { field, problem }) => bad.push(RejectedLine {
                line: n,
                field: field.to_string(),
                problem,
            }),
        }
    }
    (good, bad)
}

/// Approve or reject a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalAnswer {
    pub id: i64,
    pub approve: bool,
    pub reason: Option<String>,
}
