//! Scans (sweep, index, conversation depth) of one mailbox. Message-ID filters are Gmail
//! searches (`rfc822msgid:`); anything else lists the mailbox (after the `since` date) and
//! fetches each message's header fields (`format=metadata`, 5 units each). Every hit is
//! confirmed on its parsed headers by the shared filter test.
//!
//! Conversation depth: Gmail's search has no In-Reply-To or References operator. Replies and
//! forwards are found from the threads of the mailboxes that hold the parent (the sender's
//! Sent copy of a forward sits in the parent's thread), confirmed on their headers, then
//! located by their own Message-ID in their recipients' mailboxes. The tenant-wide part is
//! done once per frontier and shared by the per-mailbox scans the engine makes of it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;

use super::GmailBackend;
use super::client::{encode, with_query};
use super::quota::Method;
use crate::backends::common::headers::{self, Headers};
use crate::backends::common::scan_match::{WantedIds, matches_filter};
use crate::backends::{BackendError, HeaderSummary, ScanFilter};
use crate::model::{Location, normalize_message_id};

/// Header fields a scan reads.
const SCAN_HEADERS: [&str; 8] = [
    "Message-ID",
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "In-Reply-To",
    "References",
];
/// How long a tenant-wide conversation search stands for the per-mailbox scans of it.
const THREAD_SEARCH_AGE: Duration = Duration::from_secs(120);
/// Mailboxes searched at once for a conversation.
const THREAD_SEARCH_WIDTH: usize = 16;

/// A descendant found in some mailbox's thread: its Message-ID and who it went to.
#[derive(Clone, Debug)]
struct Descendant {
    message_id: String,
    recipients: Vec<String>,
}

type Shared = Arc<tokio::sync::OnceCell<Result<Vec<Descendant>, BackendError>>>;

/// Conversation searches in progress or recent, by frontier.
#[derive(Default)]
pub struct ThreadSearches {
    searches: Mutex<HashMap<BTreeSet<String>, (Instant, Shared)>>,
}

impl ThreadSearches {
    fn for_frontier(&self, frontier: BTreeSet<String>) -> Shared {
        let mut all = self.searches.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, (at, _)| at.elapsed() < THREAD_SEARCH_AGE);
        Arc::clone(
            &all.entry(frontier)
                .or_insert_with(|| (Instant::now(), Arc::new(tokio::sync::OnceCell::new())))
                .1,
        )
    }
}

/// The value of header `name` in a `format=metadata` (or `full`) resource.
pub fn header(m: &Value, name: &str) -> Option<String> {
    m["payload"]["headers"]
        .as_array()?
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|h| h["value"].as_str())
        .map(str::to_string)
}

/// The header fields of a resource as a header block, parsed by the program's one parser.
fn parsed(m: &Value) -> Headers {
    let mut block = String::new();
    for h in m["payload"]["headers"].as_array().into_iter().flatten() {
        if let (Some(n), Some(v)) = (h["name"].as_str(), h["value"].as_str()) {
            // A value cannot start a new field: folding and stray line breaks are flattened.
            let v: String = v
                .chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                .collect();
            block.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    block.push_str("\r\n");
    headers::parse(block.as_bytes())
}

impl GmailBackend {
    pub(super) async fn scan_mailbox(
        &self,
        user: &str,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let mut candidates: Vec<Value> = Vec::new();
        if !filter.replies_to.is_empty() {
            candidates = self.descendants_in(user, &filter.replies_to).await?;
        } else if !filter.message_ids.is_empty() {
            for id in &filter.message_ids {
                for (mid, _) in self
                    .search(user, &format!("rfc822msgid:{}", normalize_message_id(id)))
                    .await?
                {
                    candidates.extend(self.metadata(user, &mid, &SCAN_HEADERS).await?);
                }
            }
        } else {
            let mut terms: Vec<String> = filter
                .since
                .map(|s| format!("after:{}", s.timestamp()))
                .into_iter()
                .collect();
            // Only the inbox: asked of Gmail, so the rest of the mailbox is never listed.
            if filter.inbox_only {
                terms.push("in:inbox".into());
            }
            for (mid, _) in self.search(user, &terms.join(" ")).await? {
                candidates.extend(self.metadata(user, &mid, &SCAN_HEADERS).await?);
            }
        }
        let wanted = WantedIds::of(filter);
        let mut hits = Vec::new();
        let mut seen = BTreeSet::new();
        for m in candidates {
            let location = self.location_of(user, &m).await?;
            if !seen.insert(location.provider_id.clone()) {
                continue;
            }
            if filter.skip_admin_folders && self.is_admin_place(&location) {
                continue;
            }
            let h = parsed(&m);
            if !matches_filter(filter, &wanted, &h, location.internal_date) {
                continue;
            }
            let size = m["sizeEstimate"].as_u64().unwrap_or(0);
            hits.push(h.into_summary(location, size));
        }
        Ok(hits)
    }

    /// The soft-delete label and the quarantine labels are retractor's own places.
    fn is_admin_place(&self, location: &Location) -> bool {
        let settings = self.client.settings();
        location.folder == settings.soft_delete_label
            || location
                .folder
                .starts_with(&format!("{}/", settings.quarantine_label))
    }

    /// Messages of `user`'s mailbox that may answer a frontier id: those in the threads of
    /// the parents this mailbox holds, and those found in any mailbox's threads that went
    /// to this user, located here by their own Message-ID.
    async fn descendants_in(
        &self,
        user: &str,
        frontier: &[String],
    ) -> Result<Vec<Value>, BackendError> {
        let mut found = self.thread_messages(user, frontier).await?;
        let shared = self
            .threads
            .for_frontier(frontier.iter().map(|id| normalize_message_id(id)).collect());
        let all = shared
            .get_or_init(|| self.search_tenant_threads(frontier.to_vec()))
            .await
            .clone()?;
        let mine: Vec<String> = found
            .iter()
            .filter_map(|m| header(m, "Message-ID"))
            .map(|h| normalize_message_id(&h))
            .collect();
        for d in all
            .iter()
            .filter(|d| d.recipients.iter().any(|r| r == user) && !mine.contains(&d.message_id))
        {
            for (mid, _) in self
                .search(user, &format!("rfc822msgid:{}", d.message_id))
                .await?
            {
                found.extend(self.metadata(user, &mid, &SCAN_HEADERS).await?);
            }
        }
        Ok(found)
    }

    /// Every message in the threads of `user`'s copies of the frontier ids (`threads.get`,
    /// 10 units a thread), the parents themselves left out.
    async fn thread_messages(
        &self,
        user: &str,
        frontier: &[String],
    ) -> Result<Vec<Value>, BackendError> {
        let mut threads = BTreeSet::new();
        let mut parents = BTreeSet::new();
        for id in frontier {
            for (mid, thread) in self
                .search(user, &format!("rfc822msgid:{}", normalize_message_id(id)))
                .await?
            {
                threads.insert(thread);
                parents.insert(mid);
            }
        }
        let mut out = Vec::new();
        for thread in threads {
            let mut query = vec![("format", "metadata".to_string())];
            for h in SCAN_HEADERS {
                query.push(("metadataHeaders", h.to_string()));
            }
            let path = with_query(&format!("/threads/{}", encode(&thread)), &query);
            let v = match self
                .client
                .json(Self::as_user(user), Method::ThreadsGet, "GET", &path, None)
                .await
            {
                Ok(v) => v,
                Err(e) if e.kind == crate::backends::ErrorKind::Gone => continue,
                Err(e) => return Err(e),
            };
            for m in v["messages"].as_array().into_iter().flatten() {
                if m["id"].as_str().is_some_and(|id| !parents.contains(id)) {
                    out.push(m.clone());
                }
            }
        }
        Ok(out)
    }

    /// The descendants of the frontier found in the threads of every mailbox of the
    /// directory, each confirmed on its headers, with its recipients.
    async fn search_tenant_threads(
        &self,
        frontier: Vec<String>,
    ) -> Result<Vec<Descendant>, BackendError> {
        let users = self.directory_users(None).await?;
        let filter = ScanFilter {
            replies_to: frontier.clone(),
            ..ScanFilter::default()
        };
        let wanted = WantedIds::of(&filter);
        let searches: Vec<_> = users
            .iter()
            .map(|u| self.thread_messages(u, &frontier))
            .collect();
        let answers: Vec<Result<Vec<Value>, BackendError>> = futures_util::stream::iter(searches)
            .buffer_unordered(THREAD_SEARCH_WIDTH)
            .collect()
            .await;
        let mut out: Vec<Descendant> = Vec::new();
        for answer in answers {
            for m in answer? {
                let h = parsed(&m);
                if !matches_filter(&filter, &wanted, &h, None) {
                    continue;
                }
                let Some(message_id) = h.message_id.clone() else {
                    continue;
                };
                let mut recipients: Vec<String> = h.to.iter().chain(&h.cc).cloned().collect();
                recipients.push(h.from_address.clone());
                match out.iter_mut().find(|d| d.message_id == message_id) {
                    Some(d) => d.recipients.extend(recipients),
                    None => out.push(Descendant {
                        message_id,
                        recipients,
                    }),
                }
            }
        }
        Ok(out)
    }
}
