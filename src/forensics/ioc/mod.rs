//! Indicator feeds read into [`Indicator`]s: plain lists, CSV, STIX 2.1 bundles and MISP
//! events, one file per format. Pure: the caller brings the text and the clock.
//!
//! A feed is hostile input like a message: a value that is not what its kind says, or a file
//! that is not the format, rejects the whole file ([`ImportError`] names the line or the JSON
//! path and why), so nothing of a broken file is stored. What a format can say but retractor
//! cannot look for (a STIX pattern joining observations, a MISP attribute type with no
//! mail counterpart) is skipped and counted in [`Parsed::skipped`], never guessed at.

mod csv;
mod lines;
mod misp;
mod stix;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Indicator, IndicatorKind};

/// The formats `ioc import --format` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One value a line, `#` comments.
    Lines,
    /// Header `kind,value[,classification,expires]`.
    Csv,
    /// A STIX 2.1 bundle of indicator objects.
    Stix,
    /// A MISP event (JSON export).
    Misp,
}

impl Format {
    /// Parse `--format`'s spelling.
    pub fn parse(raw: &str) -> Result<Format, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "lines" => Ok(Format::Lines),
            "csv" => Ok(Format::Csv),
            "stix" => Ok(Format::Stix),
            "misp" => Ok(Format::Misp),
            _ => Err(format!(
                "unknown format {:?}; expected lines, csv, stix or misp",
                crate::model::text::sanitize(raw)
            )),
        }
    }
}

/// What an import is given besides the text.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The kind of every value of a plain list (`None`: inferred per line).
    pub kind: Option<IndicatorKind>,
    /// The source every indicator is stored under.
    pub source: String,
    /// Relative expiries (`30d`) count from here.
    pub now: DateTime<Utc>,
}

/// Something in the feed that was not taken, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The line (`line 4`) or JSON path (`$.objects[2]`).
    pub at: String,
    pub reason: String,
}

/// A feed read whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// In the feed's order, each (kind, value) once.
    pub indicators: Vec<Indicator>,
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    /// Keep `indicator` unless the feed already gave the same kind and value.
    fn push(&mut self, indicator: Indicator) {
        if !self
            .indicators
            .iter()
            .any(|i| i.kind == indicator.kind && i.value == indicator.value)
        {
            self.indicators.push(indicator);
        }
    }

    fn skip(&mut self, at: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            at: at.into(),
            reason: reason.into(),
        });
    }
}

/// Why a feed was rejected: where (`line 4`, `$.objects[2].pattern`) and what is wrong.
/// The caller names the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub at: String,
    pub reason: String,
}

impl ImportError {
    fn new(at: impl Into<String>, reason: impl Into<String>) -> ImportError {
        ImportError {
            at: at.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.at,
            crate::model::text::sanitize(&self.reason)
        )
    }
}

/// Read a feed of `format`.
pub fn parse(format: Format, text: &str, options: &ImportOptions) -> Result<Parsed, ImportError> {
    match format {
        Format::Lines => lines::parse(text, options),
        Format::Csv => csv::parse(text, options),
        Format::Stix => stix::parse(text, options),
        Format::Misp => misp::parse(text, options),
    }
}

/// A JSON document, or where it stops being one.
fn json(text: &str) -> Result<serde_json::Value, ImportError> {
    serde_json::from_str(text).map_err(|e| {
        ImportError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests;
