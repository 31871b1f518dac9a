//! The conversation search, remembered a short while.
//!
//! A retraction at depth 1 or more asks every mailbox of every tenant for replies to the
//! messages of the level above, and the console re-plans on each change of its form. The
//! answer depends only on the message, the depth and the messages searched for (the
//! frontier), so it is kept per (tenant, Message-ID, depth, frontier), bounded in number and
//! age, and dropped whenever a job is submitted: any job may move the copies a search saw.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Engine, EngineError};
use crate::backends::{HeaderSummary, MailboxRef, ScanFilter};
use crate::model::LoggedMessage;

/// Most searches remembered; the oldest goes first.
const MAX_REMEMBERED: usize = 64;
/// How long a remembered search stands for the mailboxes: a job of another process (a CLI
/// run, a worker) may move copies without this engine hearing of it.
const MAX_AGE: Duration = Duration::from_secs(60);

/// Which search an answer belongs to. The frontier is part of it: an exclusion can change
/// which replies a level follows, and a different frontier is a different search.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SearchKey {
    tenant: String,
    message_id: String,
    depth: u32,
    frontier: Vec<String>,
}

/// One copy a conversation search found.
#[derive(Clone, Debug)]
pub(super) struct ConversationHit {
    pub(super) tenant: String,
    pub(super) mailbox: MailboxRef,
    pub(super) copy: HeaderSummary,
}

/// What one search answered.
#[derive(Clone)]
struct Answer {
    hits: Vec<ConversationHit>,
    notes: Vec<String>,
}

struct Remembered {
    key: SearchKey,
    at: Instant,
    answer: Answer,
}

/// The remembered conversation searches of one engine.
#[derive(Default)]
pub(super) struct ConversationSearches {
    remembered: Mutex<VecDeque<Remembered>>,
    /// Searches that went to the mailboxes (a remembered answer does not count).
    made: AtomicU64,
}

impl ConversationSearches {
    fn find(&self, key: &SearchKey, now: Instant) -> Option<Answer> {
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        remembered.retain(|r| now.duration_since(r.at) < MAX_AGE);
        remembered
            .iter()
            .find(|r| &r.key == key)
            .map(|r| r.answer.clone())
    }

    fn keep(&self, key: SearchKey, answer: Answer, now: Instant) {
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        remembered.retain(|r| r.key != key);
        while remembered.len() >= MAX_REMEMBERED {
            remembered.pop_front();
        }
        remembered.push_back(Remembered {
            key,
            at: now,
            answer,
        });
    }

    /// Forget every search: a job was submitted and may move what they saw.
    pub(super) fn forget_all(&self) {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Engine {
    /// The copies of replies to `frontier` (level `depth` of `root`'s conversation) in every
    /// mailbox of every reachable tenant, from memory when the same search ran lately; the
    /// notes name the mailboxes that could not be searched.
    pub(super) async fn conversation_search(
        &self,
        root: &LoggedMessage,
        depth: u32,
        frontier: &[String],
        notes: &mut Vec<String>,
    ) -> Result<Vec<ConversationHit>, EngineError> {
        let mut sorted_frontier = frontier.to_vec();
        sorted_frontier.sort();
        let key = SearchKey {
            tenant: root.tenant.clone(),
            message_id: root.message_id.clone(),
            depth,
            frontier: sorted_frontier,
        };
        if let Some(answer) = self.conversation_searches.find(&key, Instant::now()) {
            notes.extend(answer.notes);
            return Ok(answer.hits);
        }
        self.conversation_searches
            .made
            .fetch_add(1, Ordering::SeqCst);
        let filter = ScanFilter {
            replies_to: frontier.to_vec(),
            skip_admin_folders: true,
            ..ScanFilter::default()
        };
        let mut found_notes = Vec::new();
        let hits: Vec<ConversationHit> = self
            .scan_everywhere(&filter, &mut found_notes)
            .await?
            .into_iter()
            .map(|(tenant, mailbox, copy)| ConversationHit {
                tenant,
                mailbox,
                copy,
            })
            .collect();
        notes.extend(found_notes.iter().cloned());
        self.conversation_searches.keep(
            key,
            Answer {
                hits: hits.clone(),
                notes: found_notes,
            },
            Instant::now(),
        );
        Ok(hits)
    }

    /// Forget the conversation searches remembered: a job ran, and the copies they saw moved.
    pub fn forget_conversation_searches(&self) {
        self.conversation_searches.forget_all();
    }

    /// How many conversation searches went to the mailboxes; a plan answered from memory
    /// does not count.
    pub fn conversation_searches_made(&self) -> u64 {
        self.conversation_searches.made.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(depth: u32) -> SearchKey {
        SearchKey {
            tenant: "corp".into(),
            message_id: "<m@x>".into(),
            depth,
            frontier: vec!["<m@x>".into()],
        }
    }

    fn answer(note: &str) -> Answer {
        Answer {
            hits: Vec::new(),
            notes: vec![note.into()],
        }
    }

    #[test]
    fn an_answer_stands_until_it_is_old_or_forgotten() {
        let searches = ConversationSearches::default();
        let now = Instant::now();
        searches.keep(key(1), answer("one"), now);
        assert_eq!(
            searches.find(&key(1), now).map(|a| a.notes),
            Some(vec!["one".to_string()])
        );
        assert!(searches.find(&key(2), now).is_none(), "another depth");
        assert!(
            searches.find(&key(1), now + MAX_AGE).is_none(),
            "too old to stand for the mailboxes"
        );
        searches.keep(key(1), answer("one"), now);
        searches.forget_all();
        assert!(searches.find(&key(1), now).is_none());
    }

    #[test]
    fn the_oldest_answer_goes_first_when_full() {
        let searches = ConversationSearches::default();
        let now = Instant::now();
        for depth in 0..=MAX_REMEMBERED as u32 {
            searches.keep(key(depth), answer("n"), now);
        }
        assert!(searches.find(&key(0), now).is_none(), "the oldest went");
        assert!(searches.find(&key(1), now).is_some());
        assert!(searches.find(&key(MAX_REMEMBERED as u32), now).is_some());
    }
}
