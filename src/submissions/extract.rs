//! The original inside a phish report, pure: raw report bytes in, what the reporter reported
//! out. Three shapes are read, the way report buttons and feedback generators write them:
//!
//! - a message attached whole (`message/rfc822`, or an `.eml` attachment): Microsoft's
//!   user-reported-message format, whose subject carries a prefix such as `3|` or `[Phish]`;
//! - an ARF report (RFC 5965): `multipart/report; report-type=feedback-report`, whose third
//!   part is the original (`message/rfc822`, or only its headers as `text/rfc822-headers`);
//! - an inline forward: the original's headers quoted in the text (`From:`, `Subject:`,
//!   `Message-ID:` after a forward marker), found back in the reporter's mailbox when the
//!   Message-ID is missing.
//!
//! Nothing here renders or opens an attachment; every text taken out is sanitised before it
//! is shown.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::model::text::sanitize;
use crate::model::{normalize_address, normalize_message_id};

/// How the original came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Attached whole (Microsoft's user-reported-message format).
    Attached,
    /// An RFC 5965 feedback report.
    Arf,
    /// Forwarded inline.
    Forward,
}

impl Format {
    /// The spelling stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Attached => "attached",
            Format::Arf => "arf",
            Format::Forward => "forward",
        }
    }
}

/// What is known of the reported message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Original {
    /// Its Message-ID, normalised (`<...>`).
    pub message_id: Option<String>,
    /// Its sender's address, normalised.
    pub from: Option<String>,
    /// Its subject, as written (not yet sanitised).
    pub subject: Option<String>,
}

/// One report, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// The report's Message-ID, or `sha256:HEX` of its bytes when it has none.
    pub report_id: String,
    /// Who reported, normalised.
    pub reporter: String,
    pub format: Format,
    pub original: Original,
    /// The report's subject with the configured prefix stripped, sanitised.
    pub subject: String,
}

/// A report that cannot be read: its id (for the record) and what is wrong, safe to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub report_id: String,
    pub reporter: Option<String>,
    pub problem: String,
}

/// The id a report is recorded under: its Message-ID, else the digest of its bytes.
pub fn report_id(raw: &[u8], message_id: Option<&str>) -> String {
    match message_id.map(normalize_message_id) {
        Some(id) if id.len() > 2 => id,
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// Read one report. `prefixes` are `[submissions] subject_prefixes` (longest first).
pub fn extract(raw: &[u8], prefixes: &[String]) -> Result<Extracted, Malformed> {
    let Some(report) = MessageParser::default().parse(raw) else {
        return Err(Malformed {
            report_id: report_id(raw, None),
            reporter: None,
            problem: "not a mail message (no header could be read)".into(),
        });
    };
    let id = report_id(raw, report.message_id());
    let from = first_address(&report);
    let fail = |problem: String| Malformed {
        report_id: id.clone(),
        reporter: from.clone(),
        problem,
    };
    let subject = strip_prefix(report.subject().unwrap_or_default(), prefixes);
    let (format, original, reporter) = if let Some(arf) = feedback_report(&report) {
        let arf = arf.map_err(fail)?;
        (
            Format::Arf,
            arf.original,
            arf.reporter.or_else(|| from.clone()),
        )
    } else if let Some(original) = attached_original(&report) {
        (Format::Attached, original, from.clone())
    } else {
        let text = report.body_text(0).unwrap_or_default();
        let original = forwarded(&text, &subject);
        if original.message_id.is_none() && (original.from.is_none() || original.subject.is_none())
        {
            return Err(fail(
                "no original in it: no attached message, no feedback report, and no forwarded \
                 Message-ID or sender and subject in the text"
                    .into(),
            ));
        }
        (Format::Forward, original, from.clone())
    };
    let Some(reporter) = reporter.filter(|r| r.contains('@')) else {
        return Err(fail(
            "the report names no reporter (no From address)".into(),
        ));
    };
    if format != Format::Forward && original.message_id.is_none() {
        return Err(fail(format!(
            "the {} original has no Message-ID",
            format.as_str()
        )));
    }
    Ok(Extracted {
        report_id: id,
        reporter,
        format,
        original,
        subject: sanitize(&subject),
    })
}

fn first_address(message: &Message<'_>) -> Option<String> {
    message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(normalize_address)
}

fn original_of(message: &Message<'_>) -> Original {
    Original {
        message_id: message
            .message_id()
            .map(normalize_message_id)
            .filter(|id| id.len() > 2),
        from: first_address(message),
        subject: message.subject().map(str::to_string),
    }
}

/// The subject without a report button's prefix (and the `Fwd:`/`FW:` a forward adds).
pub fn strip_prefix(subject: &str, prefixes: &[String]) -> String {
    let mut rest = subject.trim();
    loop {
        let before = rest;
        for prefix in prefixes
            .iter()
            .map(String::as_str)
            .chain(["Fwd:", "FW:", "Fw:"])
        {
            if rest.len() >= prefix.len()
                && rest.is_char_boundary(prefix.len())
                && rest[..prefix.len()].eq_ignore_ascii_case(prefix)
            {
                rest = rest[prefix.len()..].trim_start();
                break;
            }
        }
        if rest == before {
            return rest.to_string();
        }
    }
}

/// The original attached whole: the first `message/rfc822` part, else an `.eml` attachment.
fn attached_original(report: &Message<'_>) -> Option<Original> {
    for part in report.attachments() {
        if let PartType::Message(nested) = &part.body {
            return Some(original_of(nested));
        }
        let is_eml = part
            .attachment_name()
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".eml"));
        if is_eml && let Some(nested) = MessageParser::default().parse(part.contents()) {
            return Some(original_of(&nested));
        }
    }
    None
}

struct Feedback {
    original: Original,
    reporter: Option<String>,
}

/// An RFC 5965 report: `None` when the report is not one, else what its parts say.
fn feedback_report(report: &Message<'_>) -> Option<Result<Feedback, String>> {
    let root = report.root_part();
    let ct = root.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("feedback-report"));
    if !is_report {
        return None;
    }
    let PartType::Multipart(children) = &root.body else {
        return Some(Err("a feedback report that is not multipart".into()));
    };
    let part = |n: usize| {
        children
            .get(n)
            .and_then(|id| report.parts.get(*id as usize))
    };
    // The second part is the machine-readable report: who the message was delivered to.
    let reporter = part(1).and_then(|p| {
        field(&String::from_utf8_lossy(p.contents()), "Original-Rcpt-To")
            .map(|v| normalize_address(&v))
    });
    let Some(third) = part(2) else {
        return Some(Err(
            "a feedback report without its third part (the original message)".into(),
        ));
    };
    let original = match &third.body {
        PartType::Message(nested) => original_of(nested),
        // `text/rfc822-headers`: only the header block.
        _ => match MessageParser::default().parse(third.contents()) {
            Some(headers) => original_of(&headers),
            None => {
                return Some(Err(
                    "the feedback report's third part is neither a message nor its headers".into(),
                ));
            }
        },
    };
    Some(Ok(Feedback { original, reporter }))
}

/// The value of the first `name:` line of a header-like block (case-insensitive).
fn field(block: &str, name: &str) -> Option<String> {
    block.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// Lines that start a forwarded message in the text mail clients write.
const FORWARD_MARKERS: [&str; 4] = [
    "forwarded message",
    "original message",
    "begin forwarded message",
    "weitergeleitete nachricht",
];

/// The original's headers as a forward quotes them: after the first forward marker (or from
/// the top when there is none), the first block of `Name: value` lines.
fn forwarded(text: &str, report_subject: &str) -> Original {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ']).trim_end())
        .collect();
    let start = lines
        .iter()
        .position(|l| {
            let l = l.to_ascii_lowercase();
            FORWARD_MARKERS.iter().any(|m| l.contains(m))
        })
        .map_or(0, |i| i + 1);
    let mut original = Original::default();
    let mut seen_any = false;
    for line in &lines[start..] {
        if line.is_empty() {
            if seen_any {
                break;
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            if seen_any {
                break;
            }
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "from" => {
                seen_any = true;
                original.from = address_in(value);
            }
            "subject" => {
                seen_any = true;
                original.subject = Some(value.to_string()).filter(|s| !s.is_empty());
            }
            "message-id" => {
                seen_any = true;
                original.message_id = Some(normalize_message_id(value)).filter(|id| id.len() > 2);
            }
            "date" | "sent" | "to" | "cc" => seen_any = true,
            _ if seen_any => break,
            _ => {}
        }
    }
    if original.subject.is_none() && original.from.is_some() && !report_subject.is_empty() {
        // The forward kept the subject only in its own subject line.
        original.subject = Some(report_subject.to_string());
    }
    original
}

/// The address in `Name <addr>` or a bare `addr` (Outlook writes `Name [mailto:addr]`).
fn address_in(value: &str) -> Option<String> {
    let inner = match (value.rfind(['<', '[']), value.rfind(['>', ']'])) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    let inner = inner.trim().trim_start_matches("mailto:");
    inner
        .split_whitespace()
        .find(|w| w.contains('@'))
        .map(normalize_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        crate::config::submissions::DEFAULT_PREFIXES
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn prefixes_and_forward_markers_are_stripped() {
        let mut p = prefixes();
        p.sort_by_key(|p| std::cmp::Reverse(p.len()));
        assert_eq!(strip_prefix("3|Invoice due", &p), "Invoice due");
        assert_eq!(strip_prefix("[Phish] FW: Invoice due", &p), "Invoice due");
        assert_eq!(strip_prefix("Phishing report: Invoice", &p), "Invoice");
        assert_eq!(strip_prefix("Invoice", &p), "Invoice");
    }

    #[test]
    fn a_forward_names_the_original_after_its_marker() {
        let text = "Looks fishy.\n\n---------- Forwarded message ---------\nFrom: Payroll <payroll@evil.test>\nDate: Tue, 1 Dec 2026 09:00:00 +0000\nSubject: Your salary\nTo: alice@corp.test\n\nClick here\n";
        let o = forwarded(text, "Fwd: Your salary");
        assert_eq!(o.from.as_deref(), Some("payroll@evil.test"));
        assert_eq!(o.subject.as_deref(), Some("Your salary"));
        assert_eq!(o.message_id, None);
        let outlook = "From: Payroll [mailto:payroll@evil.test]\nSent: Tuesday\nSubject: x\nMessage-ID: <a@b>\n";
        let o = forwarded(outlook, "");
        assert_eq!(o.message_id.as_deref(), Some("<a@b>"));
        assert_eq!(o.from.as_deref(), Some("payroll@evil.test"));
    }

    #[test]
    fn a_report_without_an_original_is_malformed_and_named() {
        let raw = b"From: bob@corp.test\r\nMessage-ID: <r@corp.test>\r\nSubject: help\r\n\r\nI got something weird.\r\n";
        let err = extract(raw, &prefixes()).unwrap_err();
        assert_eq!(err.report_id, "<r@corp.test>");
        assert!(err.problem.contains("no original"), "{}", err.problem);
    }
}
