//! The header line that makes each quarantined copy unique.
//!
//! Cyrus with `conversations: yes` refuses an eleventh byte-identical copy in one folder ("Too
//! many identical emails"), and one campaign sends the same bytes to many recipients, who
//! may share one quarantine folder. So the copy APPENDed to quarantine starts with one line
//! naming its recipient, where it came from and when; restore and evidence strip exactly
//! that line again, so the user gets back the bytes the server delivered.

use chrono::{SecondsFormat, Utc};

/// The field name of the line (with its colon and space).
const FIELD: &[u8] = b"X-Retractor-Quarantined: ";

/// `raw` with the quarantine line prepended: `recipient; folder uidvalidity:uid; time`.
pub fn mark(raw: &[u8], recipient: &str, folder: &str, provider_id: &str) -> Vec<u8> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let value = format!(
        "{}; {} {}; {now}",
        header_safe(recipient),
        header_safe(folder),
        header_safe(provider_id)
    );
    let mut out = Vec::with_capacity(FIELD.len() + value.len() + 2 + raw.len());
    out.extend_from_slice(FIELD);
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(raw);
    out
}

/// `raw` without the line [`mark`] added, when its first line is one: for `recipient` when
/// given (restore knows whose copy it is), any recipient otherwise. A message that does not
/// start with the line is returned as it is: its bytes are the original ones.
pub fn unmark(raw: Vec<u8>, recipient: Option<&str>) -> Vec<u8> {
    let Some(rest) = raw.strip_prefix(FIELD) else {
        return raw;
    };
    if let Some(recipient) = recipient {
        let owner = format!("{}; ", header_safe(recipient));
        if !rest.starts_with(owner.as_bytes()) {
            return raw;
        }
    }
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(end) => rest[end + 2..].to_vec(),
        None => raw,
    }
}

/// Printable ASCII only, without the `;` that separates the parts: names and addresses come
/// from mailboxes and logs, and a line break would end the header.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (' '..='~').contains(&c) && c != ';' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"Message-ID: <a@x>\r\nSubject: s\r\n\r\nHello.\r\n";

    #[test]
    fn marked_copies_differ_and_unmark_gives_back_the_original_bytes() {
        let a = mark(RAW, "alice@corp.test", "INBOX", "7:1");
        let b = mark(RAW, "bob@corp.test", "INBOX", "7:1");
        assert_ne!(a, b);
        assert!(a.ends_with(RAW));
        assert_eq!(unmark(a.clone(), Some("alice@corp.test")), RAW);
        assert_eq!(unmark(a.clone(), None), RAW);
        // Not this recipient's line: left whole.
        assert_eq!(unmark(a.clone(), Some("bob@corp.test")), a);
        assert_eq!(unmark(RAW.to_vec(), None), RAW);
    }

    #[test]
    fn hostile_names_cannot_break_the_header() {
        let m = mark(RAW, "eve\r\nBcc: x@y", "IN;BOX\n", "1:2");
        let first = m.split(|&b| b == b'\n').next().unwrap_or_default();
        assert!(!first[..first.len() - 1].contains(&b'\r'));
        assert!(String::from_utf8_lossy(first).contains("eve??Bcc: x@y; IN?BOX? 1:2"));
        assert_eq!(unmark(m, Some("eve\r\nBcc: x@y")), RAW);
    }
}
