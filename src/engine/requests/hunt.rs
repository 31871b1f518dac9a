//! The hunt in the mailboxes: copies of a tenant's mailboxes matched against indicators of
//! the kinds only the message itself shows (URLs, URL domains, attachment hashes and names).
//!
//! The same search as the sweep by indicator: each backend's `scan` narrows with what its
//! server can search (IMAP `BODY` on the hosts; every message received in the window where
//! it cannot, Maildir reading files), and every candidate is confirmed on its parsed message
//! with [`Indicators::matches`]. Unlike [`crate::backends::Backend::scan_confirmed`], one
//! scan, one fetch and one parse per copy serve every indicator at once, and each match names
//! the indicators it met: a hunt carries many indicators where a sweep carries one request.

use chrono::{DateTime, Utc};

use crate::backends::{Backend, BackendError, ErrorKind, HeaderSummary, MailboxRef, ScanFilter};
use crate::engine::{Engine, EngineError};
use crate::forensics::Indicators;

/// One indicator a hunt looks for, by its store id.
#[derive(Clone, Debug, PartialEq)]
pub struct WantedIndicator {
    pub id: i64,
    /// Its value as a sweep filter of one kind, normalised ([`Indicators::normalized`]).
    pub indicators: Indicators,
}

/// Search `mailboxes` of `tenant` for copies received since `since` matching any of `wanted`.
#[derive(Clone, Debug, PartialEq)]
pub struct MailboxHunt {
    pub tenant: String,
    pub mailboxes: Vec<MailboxRef>,
    pub since: DateTime<Utc>,
    pub wanted: Vec<WantedIndicator>,
}

/// One copy that matched, and the ids of the indicators it matched.
#[derive(Clone, Debug)]
pub struct HuntHit {
    pub mailbox: MailboxRef,
    pub copy: HeaderSummary,
    pub indicators: Vec<i64>,
}

/// What a mailbox hunt found.
#[derive(Clone, Debug, Default)]
pub struct MailboxHuntFound {
    /// Matches, by mailbox then Message-ID.
    pub hits: Vec<HuntHit>,
    /// Mailboxes that could not be searched, with why.
    pub unsearched: Vec<(MailboxRef, String)>,
    /// Mailboxes searched.
    pub searched: u64,
    /// Copies fetched and parsed to confirm (the hunt's cost).
    pub read: u64,
}

impl MailboxHunt {
    /// The scan that narrows on the server: a superset of every wanted indicator's matches.
    /// Attachments are in no server's substring index, so with one of those wanted every
    /// message of the window is a candidate; URLs and URL domains narrow by their hosts
    /// (any of them: the kinds are one group here, where a sweep's kinds must all match).
    fn narrowing(&self) -> ScanFilter {
        let attachments = self.wanted.iter().any(|w| {
            !w.indicators.attachment_sha256.is_empty() || !w.indicators.attachment_names.is_empty()
        });
        let mut hosts: Vec<String> = if attachments {
            Vec::new()
        } else {
            self.wanted
                .iter()
                .flat_map(|w| w.indicators.body_hints().into_iter().flatten())
                .collect()
        };
        hosts.sort();
        hosts.dedup();
        ScanFilter {
            since: Some(self.since),
            skip_admin_folders: true,
            indicators: Indicators {
                url_domains: hosts,
                ..Indicators::default()
            },
            ..ScanFilter::default()
        }
    }
}

impl Engine {
    /// Hunt `hunt.mailboxes` (through the engine's limits, like a sweep); a mailbox that
    /// could not be searched is named, never skipped silently. Reads only: no role is
    /// checked here, the caller (`hunt`, the service's hunter) has checked its own.
    pub async fn hunt_mailboxes(
        &self,
        hunt: &MailboxHunt,
    ) -> Result<MailboxHuntFound, EngineError> {
        if hunt.wanted.is_empty() || hunt.mailboxes.is_empty() {
            return Ok(MailboxHuntFound::default());
        }
        let filter = std::sync::Arc::new(hunt.narrowing());
        let wanted = std::sync::Arc::new(hunt.wanted.clone());
        let each = self
            .each_mailbox(&hunt.tenant, hunt.mailboxes.clone(), |backend, mailbox| {
                let filter = std::sync::Arc::clone(&filter);
                let wanted = std::sync::Arc::clone(&wanted);
                async move { confirm(backend.as_ref(), &mailbox, &filter, &wanted).await }
            })
            .await?;
        let mut found = MailboxHuntFound {
            searched: each.done.len() as u64,
            unsearched: each.unsearched,
            ..MailboxHuntFound::default()
        };
        for (mailbox, (read, hits)) in each.done {
            found.read += read;
            found
                .hits
                .extend(hits.into_iter().map(|(copy, indicators)| HuntHit {
                    mailbox: mailbox.clone(),
                    copy,
                    indicators,
                }));
        }
        found.hits.sort_by(|a, b| {
            (&a.mailbox.address, &a.copy.message_id).cmp(&(&b.mailbox.address, &b.copy.message_id))
        });
        Ok(found)
    }
}

/// One mailbox: the candidates `filter` narrows to, each fetched and parsed once and matched
/// against every wanted indicator; (copies read, matches with their indicator ids).
async fn confirm(
    backend: &dyn Backend,
    mailbox: &MailboxRef,
    filter: &ScanFilter,
    wanted: &[WantedIndicator],
) -> Result<(u64, Vec<(HeaderSummary, Vec<i64>)>), BackendError> {
    let candidates = backend.scan(mailbox, filter).await?;
    let mut read = 0;
    let mut hits = Vec::new();
    for candidate in candidates {
        let raw = match backend.fetch_raw(mailbox, &candidate.location).await {
            Ok(raw) => raw,
            // Moved or deleted since the scan: not a match any more.
            Err(e) if e.kind == ErrorKind::Gone => continue,
            Err(e) => return Err(e),
        };
        read += 1;
        let evidence = crate::forensics::extract(&raw);
        let matched: Vec<i64> = wanted
            .iter()
            .filter(|w| w.indicators.matches(&evidence))
            .map(|w| w.id)
            .collect();
        if !matched.is_empty() {
            hits.push((candidate, matched));
        }
    }
    Ok((read, hits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(id: i64, indicators: Indicators) -> WantedIndicator {
        WantedIndicator { id, indicators }
    }

    #[test]
    fn the_narrowing_is_a_superset_of_every_indicator() {
        let mut hunt = MailboxHunt {
            tenant: "corp".into(),
            mailboxes: Vec::new(),
            since: Utc::now(),
            wanted: vec![
                wanted(
                    1,
                    Indicators {
                        urls: vec!["https://login.evil.example/x".into()],
                        ..Indicators::default()
                    },
                ),
                wanted(
                    2,
                    Indicators {
                        url_domains: vec!["bad.example".into()],
                        ..Indicators::default()
                    },
                ),
            ],
        };
        let f = hunt.narrowing();
        // One group, any host doing: a copy with only one of the two is still a candidate.
        assert_eq!(
            f.indicators.body_hints(),
            vec![vec![
                "bad.example".to_string(),
                "login.evil.example".to_string()
            ]]
        );
        assert!(f.skip_admin_folders && f.since.is_some());
        hunt.wanted.push(wanted(
            3,
            Indicators {
                attachment_sha256: vec!["ab".repeat(32)],
                ..Indicators::default()
            },
        ));
        assert!(
            hunt.narrowing().indicators.is_empty(),
            "every copy of the window"
        );
    }
}
