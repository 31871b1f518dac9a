//! Domain types shared by every layer. Nothing here does I/O.

mod action;
mod alert;
pub mod indicator;
mod job;
mod message;
pub mod text;
pub mod when;

pub use action::{Action, Role};
pub use alert::{
    Alert, AlertDisposition, AlertError, AlertReceipt, AlertSink, AlertStatus, MAX_FIELD_CHARS,
    MAX_RECIPIENTS,
};
pub use indicator::{Indicator, IndicatorKind, IndicatorRecord};
pub use job::{
    FailReason, ItemOutcome, ItemState, Job, JobCounts, JobItem, JobKind, JobStatus, Location,
    Placement,
};
pub use message::{Delivery, DeliveryState, LoggedMessage, MessageRecord, MessageStatus};

/// Normalise a Message-ID for comparison and storage: trimmed, with angle brackets.
///
/// Message-IDs are compared exactly (case-sensitive local part, as RFC 5322 says), but users
/// type them with or without the brackets, so both forms map to `<...>`.
pub fn normalize_message_id(raw: &str) -> String {
    let trimmed = raw.trim();
    let inner = trimmed
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(trimmed);
    format!("<{}>", inner.trim())
}

/// The message a reply or forward directly answers: its In-Reply-To, else the last entry of
/// References (RFC 5322 §3.6.4). References lists every ancestor, so matching any entry would
/// put a reply-to-a-reply at depth 1; conversation depth follows this one parent instead.
pub fn direct_parent(in_reply_to: Option<&str>, references: &[String]) -> Option<String> {
    in_reply_to
        .map(normalize_message_id)
        .or_else(|| references.last().map(|r| normalize_message_id(r)))
}

/// Lower-case an e-mail address for use as a mailbox key.
pub fn normalize_address(raw: &str) -> String {
    raw.trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_ascii_lowercase()
}

/// The domain part of an address (`""` when there is none).
pub fn address_domain(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_gain_brackets_once() {
        assert_eq!(normalize_message_id("abc@x"), "<abc@x>");
        assert_eq!(normalize_message_id(" <abc@x> "), "<abc@x>");
    }

    #[test]
    fn the_direct_parent_is_in_reply_to_else_the_last_reference() {
        let refs = vec!["<root@x>".to_string(), "<fwd@x>".to_string()];
        assert_eq!(
            direct_parent(Some("<fwd@x>"), &refs).as_deref(),
            Some("<fwd@x>")
        );
        assert_eq!(direct_parent(None, &refs).as_deref(), Some("<fwd@x>"));
        assert_eq!(direct_parent(None, &[]), None);
    }

    #[test]
    fn addresses_fold_case() {
        assert_eq!(normalize_address(" <Alice@Corp.Test>"), "alice@corp.test");
        assert_eq!(address_domain("alice@corp.test"), "corp.test");
        assert_eq!(address_domain("nobody"), "");
    }
}
