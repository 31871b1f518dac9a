//! The exact test of a scan filter on parsed headers, for backends that fetch header blocks
//! and filter them themselves (Maildir reads files, IMAP narrows by SEARCH first).

use chrono::{DateTime, Utc};

use super::headers::{Headers, contains_bytes};
use crate::backends::ScanFilter;
use crate::model::normalize_message_id;

/// A scan filter's Message-IDs, normalised once per scan (every backend that filters headers itself).
pub(crate) struct WantedIds {
    ids: Vec<String>,
    replies_to: Vec<String>,
}

impl WantedIds {
    pub(crate) fn of(filter: &ScanFilter) -> Self {
        let normalise = |ids: &[String]| ids.iter().map(|id| normalize_message_id(id)).collect();
        WantedIds {
            ids: normalise(&filter.message_ids),
            replies_to: normalise(&filter.replies_to),
        }
    }

    /// A cheap test on the raw header block: a message matching by id mentions the id.
    pub(crate) fn may_match(&self, block: &[u8]) -> bool {
        let mentions = |ids: &[String]| {
            ids.is_empty()
                || ids
                    .iter()
                    .any(|id| contains_bytes(block, id.trim_matches(['<', '>']).as_bytes()))
        };
        mentions(&self.ids) && mentions(&self.replies_to)
    }
}

/// Whether parsed headers match every part of a scan filter (`mtime`: the received time).
pub(crate) fn matches_filter(
    filter: &ScanFilter,
    wanted: &WantedIds,
    h: &Headers,
    mtime: Option<DateTime<Utc>>,
) -> bool {
    let id_ok = wanted.ids.is_empty()
        || h.message_id
            .as_ref()
            .is_some_and(|id| wanted.ids.contains(id));
    let reply_ok = wanted.replies_to.is_empty()
        || h.in_reply_to
            .iter()
            .chain(&h.references)
            .any(|id| wanted.replies_to.contains(id));
    let from_ok = filter.from.as_deref().is_none_or(|needle| {
        contains_ignoring_case(&h.from_text, needle)
            || contains_ignoring_case(&h.from_address, needle)
    });
    let subject_ok = filter
        .subject
        .as_deref()
        .is_none_or(|needle| contains_ignoring_case(&h.subject, needle));
    // When the copy arrived, as its server says (IMAP's INTERNALDATE, Gmail's internalDate,
    // the Maildir file's time), not its `Date` header: the sender writes that, and a backdated
    // phish would slip past every `since` (a sweep's, a hunt's window). The header only when
    // the server gives no time.
    let since_ok = filter
        .since
        .is_none_or(|since| mtime.or(h.date).is_some_and(|when| when >= since));
    id_ok && reply_ok && from_ok && subject_ok && since_ok
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::backends::common::headers::parse;

    /// Every backend that filters headers itself (Maildir, IMAP, Gmail) passes the server's
    /// arrival time: that decides `since`, whatever the sender wrote in `Date`.
    #[test]
    fn since_is_decided_by_arrival_and_by_the_date_header_only_without_one() {
        let h = parse(b"Message-ID: <m@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n");
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single();
        let filter = ScanFilter {
            since: at(2026, 12, 1),
            ..ScanFilter::default()
        };
        let wanted = WantedIds::of(&filter);
        // Backdated by its sender, it arrived after `since`.
        assert!(matches_filter(&filter, &wanted, &h, at(2026, 12, 2)));
        // It arrived before, whatever Date says.
        let h_new = parse(b"Message-ID: <m@x>\r\nDate: Wed, 2 Dec 2026 00:00:00 +0000\r\n\r\n");
        assert!(!matches_filter(&filter, &wanted, &h_new, at(2026, 11, 1)));
        // No arrival time known: the header is all there is.
        assert!(matches_filter(&filter, &wanted, &h_new, None));
        assert!(!matches_filter(&filter, &wanted, &h, None));
    }
}
