//! The alert of CONTRACT.md: what a detection tool, a SOAR playbook, a poller (Proofpoint TAP,
//! Microsoft Defender) or a hunt tells retractor about one delivered message.
//!
//! Every intake (the `alert` command, the spool directory, the webhook, the pollers) parses
//! through [`Alert::parse`], so an alert is checked the same way wherever it came from; the
//! policy engine then decides on the parsed value only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::text::{is_format_char, sanitize};
use super::{normalize_address, normalize_message_id};

/// The longest text accepted in any one field of an alert: alerts are hostile input and end
/// up in the store, the audit and the terminal.
pub const MAX_FIELD_CHARS: usize = 1024;

/// The most recipients one alert may name (more is a malformed or hostile alert: a sweep is the
/// tool for a whole domain).
pub const MAX_RECIPIENTS: usize = 10_000;

/// What the source says of the message now. A later alert with the same source and id updates
/// the earlier one: `cleared` and `false_positive` undo what an `active` one caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The threat stands: policies may pull.
    Active,
    /// The source withdrew the alert (no longer a threat).
    Cleared,
    /// The source reclassified the message as clean: what was pulled for it is restored.
    FalsePositive,
}

impl AlertStatus {
    /// The CONTRACT's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Active => "active",
            AlertStatus::Cleared => "cleared",
            AlertStatus::FalsePositive => "false_positive",
        }
    }

    /// Parse the CONTRACT's spelling.
    pub fn parse(raw: &str) -> Option<AlertStatus> {
        match raw {
            "active" => Some(AlertStatus::Active),
            "cleared" => Some(AlertStatus::Cleared),
            "false_positive" => Some(AlertStatus::FalsePositive),
            _ => None,
        }
    }
}

/// One alert, validated and normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The source's own id for the alert; (source, id) identifies it across repeats.
    pub id: String,
    /// Who raised it (`proofpoint-tap`, `defender`, `soar`, `ioc`, `submissions`, ...).
    pub source: String,
    /// The message, normalised to `<...>`.
    pub message_id: String,
    /// The source's verdict, lower-cased (`phish`, `malware`, `spam`, `ioc-match`, ...).
    pub classification: String,
    /// Whether the threat stands.
    pub status: AlertStatus,
    /// The tenant the message was delivered in, when the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The mailboxes the source saw it delivered to, normalised; empty when it did not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// When the source detected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<DateTime<Utc>>,
    /// A link to the source's page for the threat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_url: Option<String>,
    /// Anything else the source sent, kept as it came (bounded in size) for the analyst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Why an alert was refused: the field and the problem, for the CLI's line-numbered report
/// and the webhook's 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct AlertError {
    /// The JSON field at fault (`-` for the object as a whole).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// The wire shape before validation: every field optional so that a missing one is reported
/// by name rather than as serde's generic error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    id: Option<String>,
    source: Option<String>,
    message_id: Option<String>,
    classification: Option<String>,
    status: Option<String>,
    tenant: Option<String>,
    recipients: Option<Vec<String>>,
    detected_at: Option<String>,
    threat_url: Option<String>,
    details: Option<serde_json::Value>,
}

/// The largest `details` accepted, serialised.
const MAX_DETAILS_BYTES: usize = 64 * 1024;

fn fail(field: &'static str, problem: impl Into<String>) -> AlertError {
    AlertError {
        field,
        problem: problem.into(),
    }
}

/// A required or optional text field: present, non-empty, bounded, free of control characters.
fn text(field: &'static str, value: Option<String>) -> Result<Option<String>, AlertError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(fail(field, "is empty"));
    }
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(fail(
            field,
            format!("is longer than {MAX_FIELD_CHARS} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() || is_format_char(c)) {
        return Err(fail(
            field,
            "contains control or invisible format characters",
        ));
    }
    Ok(Some(value))
}

fn required(field: &'static str, value: Option<String>) -> Result<String, AlertError> {
    text(field, value)?.ok_or_else(|| fail(field, "is missing"))
}

impl Alert {
    /// Parse and validate one alert from its JSON text.
    pub fn parse(json: &str) -> Result<Alert, AlertError> {
        let raw: RawAlert = serde_json::from_str(json).map_err(|e| {
            fail(
                "-",
                format!("not an alert object: {}", sanitize(&e.to_string())),
            )
        })?;
        Alert::from_raw(raw)
    }

    fn from_raw(raw: RawAlert) -> Result<Alert, AlertError> {
        let id = required("id", raw.id)?;
        let source = required("source", raw.source)?.to_ascii_lowercase();
        let message_id = required("message_id", raw.message_id)?;
        let message_id = normalize_message_id(&message_id);
        if message_id.len() <= 2 || message_id[1..message_id.len() - 1].contains(['<', '>', ' ']) {
            return Err(fail("message_id", "is not a Message-ID"));
        }
        let classification = required("classification", raw.classification)?.to_ascii_lowercase();
        let status_text = required("status", raw.status)?;
        let status = AlertStatus::parse(&status_text).ok_or_else(|| {
            fail(
                "status",
                "must be one of active, cleared, false_positive".to_string(),
            )
        })?;
        let tenant = text("tenant", raw.tenant)?;
        let recipients = raw.recipients.unwrap_or_default();
        if recipients.len() > MAX_RECIPIENTS {
            return Err(fail(
                "recipients",
                format!("names more than {MAX_RECIPIENTS} mailboxes"),
            ));
        }
        let mut normalised = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let recipient = required("recipients", Some(recipient))?;
            let address = normalize_address(&recipient);
            if !address.contains('@') || address.contains(char::is_whitespace) {
                return Err(fail("recipients", "has an entry that is not an address"));
            }
            if !normalised.contains(&address) {
                normalised.push(address);
            }
        }
        let detected_at = match text("detected_at", raw.detected_at)? {
            None => None,
            Some(when) => Some(
                DateTime::parse_from_rfc3339(&when)
                    .map_err(|_| fail("detected_at", "is not an RFC 3339 time"))?
                    .with_timezone(&Utc),
            ),
        };
        let threat_url = text("threat_url", raw.threat_url)?;
        if let Some(details) = &raw.details
            && serde_json::to_vec(details).map_or(true, |bytes| bytes.len() > MAX_DETAILS_BYTES)
        {
            return Err(fail(
                "details",
                format!("is larger than {} KiB", MAX_DETAILS_BYTES / 1024),
            ));
        }
        Ok(Alert {
            id,
            source,
            message_id,
            classification,
            status,
            tenant,
            recipients: normalised,
            detected_at,
            threat_url,
            details: raw.details,
        })
    }
}

/// What became of an alert handed in: the answer an intake gives its sender (the webhook's
/// 202, the CLI's summary line) once the alert is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertDisposition {
    /// First time this (source, id) was seen.
    New,
    /// The same (source, id) with nothing changed: recognised, not stored twice.
    Repeat,
    /// The same (source, id) with a change (a reclassification, a false positive): a new
    /// revision the policies decide on again.
    Updated,
}

/// The receipt of a stored alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertReceipt {
    /// The store's number for the alert (the same for every revision of one (source, id)).
    pub number: i64,
    /// The revision now stored (1 for a new alert).
    pub revision: i64,
    /// New, repeat or update.
    pub disposition: AlertDisposition,
}

/// Where every intake (the `alert` command, the spool, the webhook, the pollers, hunts,
/// phish reports) hands a parsed alert. `receive` returns only once the alert is durably
/// stored, so an intake may acknowledge it to its sender then and never before.
pub trait AlertSink: Send + Sync {
    /// Store the alert (or recognise a repeat) and wake whatever decides on alerts.
    fn receive(&self, alert: &Alert) -> anyhow::Result<AlertReceipt>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_alert_is_normalised() {
        let alert = Alert::parse(
            r#"{"id":"a1","source":"SOAR","message_id":"x@y","classification":"Phish",
                "status":"active","recipients":["Bob@Example.com","bob@example.com"],
                "detected_at":"2026-12-01T10:00:00+01:00"}"#,
        )
        .unwrap();
        assert_eq!(alert.message_id, "<x@y>");
        assert_eq!(alert.source, "soar");
        assert_eq!(alert.classification, "phish");
        assert_eq!(alert.recipients, vec!["bob@example.com".to_string()]);
        assert_eq!(
            alert.detected_at.unwrap().to_rfc3339(),
            "2026-12-01T09:00:00+00:00"
        );
    }

    #[test]
    fn each_problem_names_its_field() {
        let cases = [
            (
                r#"{"source":"s","message_id":"<a@b>","classification":"phish","status":"active"}"#,
                "id",
            ),
            (
                r#"{"id":"1","source":"s","message_id":"<>","classification":"phish","status":"active"}"#,
                "message_id",
            ),
            (
                r#"{"id":"1","source":"s","message_id":"a@b","classification":"phish","status":"gone"}"#,
                "status",
            ),
            (
                r#"{"id":"1","source":"s","message_id":"a@b","classification":"phish","status":"active","recipients":["nobody"]}"#,
                "recipients",
            ),
            (
                r#"{"id":"1","source":"s","message_id":"a@b","classification":"phish","status":"active","detected_at":"yesterday"}"#,
                "detected_at",
            ),
            (
                r#"{"id":"1\u001b[2J","source":"s","message_id":"a@b","classification":"phish","status":"active"}"#,
                "id",
            ),
            (
                r#"{"id":"1","source":"s","message_id":"a@b","classification":"phish","status":"active","extra":1}"#,
                "-",
            ),
            ("[1,2]", "-"),
        ];
        for (json, field) in cases {
            let err = Alert::parse(json).unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
        }
    }
}
