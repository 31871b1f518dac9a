//! Joining a maillog's lines by queue id, and following a message from queue to queue.
//!
//! A message can live under several queue ids on one host: amavis takes it from the first
//! (`relay=127.0.0.1[127.0.0.1]:10024 ... status=sent (250 ... queued as B)`) and re-injects
//! it as B, local(8) re-queues an alias's copy (`forwarded as C`). Only the last queue's
//! deliveries put the message in a mailbox; the hops before are hand-offs, not deliveries.
//! The next queue's lines can come before the hand-off line (amavis re-injects before it
//! answers) or after it (syslog does not order lines of different processes), so each link
//! is kept until the next queue appears, or reported as unresolved when it never does.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::line::{Event, Fate};
use super::{FORWARDED, HANDED_OFF};
use crate::ingest::{Loader, Rejected, envelope_sender};
use crate::model::{MessageRecord, normalize_address};
use crate::store::StoreError;

/// How long (log time) a hand-off waits for its next queue id, either way round. Re-injection
/// is synchronous (amavis answers the first queue only once the next has accepted the
/// message), so the two are seconds apart; a queue id seen outside this window is a reuse.
pub(super) const HANDOFF_WAIT: TimeDelta = TimeDelta::minutes(30);

/// What is known so far about the message under one queue id.
struct Queued {
    first_line: u64,
    received_at: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    queue_id: String,
    /// The queue id the message arrived under (differs after a hand-off or alias forward).
    origin: String,
    /// The Message-ID the message is logged under: the first queue's, whatever a later hop
    /// logs.
    message_id: Option<String>,
    /// The Message-ID this queue id's own cleanup line gave.
    logged_id: Option<String>,
    from: Option<String>,
    size: Option<u64>,
    subject: String,
    recipients: Vec<Outcome>,
}

/// One recipient's fate: delivered once any attempt was, else the last status logged.
struct Outcome {
    address: String,
    delivered: bool,
    status: String,
}

impl Queued {
    fn has_content(&self) -> bool {
        self.logged_id.is_some() || self.from.is_some() || !self.recipients.is_empty()
    }

    fn record(&mut self, address: String, delivered: bool, status: &str) {
        match self.recipients.iter_mut().find(|o| o.address == address) {
            Some(o) => {
                o.delivered |= delivered;
                o.status = status.to_string();
            }
            None => self.recipients.push(Outcome {
                address,
                delivered,
                status: status.to_string(),
            }),
        }
    }

    /// A hand-off replaces a retry (`deferred` while the filter was down) but never the
    /// recipient's fate in the next queue, which may have been folded in first.
    fn record_handoff(&mut self, address: String) {
        match self.recipients.iter_mut().find(|o| o.address == address) {
            Some(o) if !o.delivered && o.status == "deferred" => o.status = HANDED_OFF.into(),
            Some(_) => {}
            None => self.recipients.push(Outcome {
                address,
                delivered: false,
                status: HANDED_OFF.into(),
            }),
        }
    }

    fn inherit(&mut self, origin: Origin) {
        self.first_line = self.first_line.min(origin.first_line);
        self.received_at = self.received_at.min(origin.received_at);
        self.origin = origin.queue_id;
        if origin.message_id.is_some() {
            self.message_id = origin.message_id;
        }
        if self.from.is_none() {
            self.from = origin.from;
        }
        if self.subject.is_empty() {
            self.subject = origin.subject;
        }
    }

    fn absorb(&mut self, other: Queued) {
        if self.from.is_none() {
            self.from = other.from;
        }
        if self.subject.is_empty() {
            self.subject = other.subject;
        }
        for o in other.recipients {
            self.record(o.address, o.delivered, &o.status);
        }
    }

    fn origin(&self, seen: DateTime<Utc>, handoffs: Vec<Handoff>) -> Origin {
        Origin {
            first_line: self.first_line,
            received_at: self.received_at,
            queue_id: self.origin.clone(),
            message_id: self.message_id.clone(),
            from: self.from.clone(),
            subject: self.subject.clone(),
            seen,
            handoffs,
        }
    }
}

/// The queue ids still open, which of them first carried each Message-ID, and the links to
/// next queue ids not seen yet.
#[derive(Default)]
pub(super) struct Queue {
    open: HashMap<String, Queued>,
    by_message_id: HashMap<String, String>,
    /// Next queue id → the message it continues, for hand-offs and forwards whose next queue
    /// has not logged a line yet.
    pending: HashMap<String, Origin>,
    /// Queue ids closed within [`HANDOFF_WAIT`], and when: a hand-off line can come after
    /// its next queue has already delivered and left.
    recently_closed: HashMap<String, DateTime<Utc>>,
    /// Hand-offs whose next queue never appeared, counted and (the first ones) named.
    pub(super) unresolved: Vec<Rejected>,
    pub(super) unresolved_total: u64,
}

/// What a copy under a later queue id keeps of the message it continues: the log should show
/// when the message arrived and what it was called, not when a filter or alias re-sent it.
struct Origin {
    first_line: u64,
    received_at: DateTime<Utc>,
    queue_id: String,
    message_id: Option<String>,
    from: Option<String>,
    subject: String,
    seen: DateTime<Utc>,
    /// The hand-offs to the next queue (one per recipient), so that a next queue that never
    /// appears is reported; empty for an alias forward.
    handoffs: Vec<Handoff>,
}

/// Where a hand-off was logged, to name it if its next queue never appears.
struct Handoff {
    line: u64,
    queue_id: String,
    recipient: String,
    next: String,
}

impl Queue {
    /// Apply one queue line (line `number`, logged `at`) to the message under `queue_id`.
    pub(super) fn apply(
        &mut self,
        loader: &mut Loader<'_>,
        number: u64,
        at: DateTime<Utc>,
        queue_id: &str,
        event: Event<'_>,
    ) -> Result<(), StoreError> {
        match event {
            Event::Removed => {
                if let Some(q) = self.open.remove(queue_id) {
                    self.close(loader, q, at)?;
                }
                return Ok(());
            }
            // Queue ids are reused once their message is gone: a new first line under an id
            // still open means the old message ended without a `removed` line.
            Event::Start => {
                if self.open.get(queue_id).is_some_and(Queued::has_content)
                    && let Some(old) = self.open.remove(queue_id)
                {
                    self.close(loader, old, at)?;
                }
            }
            // A message that starts at cleanup (a bounce, a local forward) has no `client=`
            // line: a second Message-ID under an open id is the next message, not this one.
            Event::MessageId(id) => {
                let other = self
                    .open
                    .get(queue_id)
                    .and_then(|q| q.logged_id.as_deref())
                    .is_some_and(|old| old != id);
                if other && let Some(old) = self.open.remove(queue_id) {
                    self.close(loader, old, at)?;
                }
            }
            _ => {}
        }
        if !self.open.contains_key(queue_id) {
            let mut q = Queued {
                first_line: number,
                received_at: at,
                last_seen: at,
                queue_id: queue_id.to_string(),
                origin: queue_id.to_string(),
                message_id: None,
                logged_id: None,
                from: None,
                size: None,
                subject: String::new(),
                recipients: Vec::new(),
            };
            if let Some(origin) = self.pending.remove(queue_id) {
                if at - origin.seen <= HANDOFF_WAIT {
                    q.inherit(origin);
                } else {
                    // The id came back much later for another message.
                    self.unresolved(origin);
                }
            }
            self.open.insert(queue_id.to_string(), q);
        }
        let next_seen = match &event {
            Event::Delivery {
                fate:
                    Fate::Delivered {
                        remote_queue: Some(next),
                    }
                    | Fate::HandedOff(next),
                ..
            } => *next != queue_id && self.seen_lately(next, at),
            _ => false,
        };
        let Some(q) = self.open.get_mut(queue_id) else {
            return Ok(());
        };
        q.last_seen = at;
        match event {
            Event::MessageId(id) => {
                if q.logged_id.is_none() && !id.trim_matches(['<', '>']).trim().is_empty() {
                    q.logged_id = Some(id.to_string());
                    if q.message_id.is_none() {
                        q.message_id = Some(id.to_string());
                    }
                    self.by_message_id
                        .entry(id.to_string())
                        .or_insert_with(|| queue_id.to_string());
                }
            }
            Event::Subject(s) => {
                if q.subject.is_empty() {
                    q.subject = s;
                }
            }
            Event::From { sender, size } => {
                // qmgr logs `from=` again each time a deferred message re-enters the queue.
                if q.from.is_none() {
                    q.from = Some(envelope_sender(sender));
                    q.size = size;
                }
            }
            Event::Delivery { recipient, fate } => {
                let recipient = normalize_address(recipient);
                match fate {
                    // Another Postfix on this host logging to this file: its queue is the
                    // next hop, whatever the relay's address.
                    Fate::Delivered {
                        remote_queue: Some(next),
                    } if next_seen => {
                        self.hand_off(number, at, queue_id, recipient, next, true);
                    }
                    Fate::Delivered { .. } => q.record(recipient, true, "sent"),
                    Fate::NotDelivered(status) => q.record(recipient, false, status),
                    // A forwarding alias holds no copy: the message lives on under the new
                    // queue id, whose deliveries name the real mailboxes.
                    Fate::Forwarded(next) => {
                        q.record(recipient, false, FORWARDED);
                        let origin = q.origin(at, Vec::new());
                        self.link(next, origin);
                    }
                    Fate::HandedOff(next) if next == queue_id => {
                        q.record(recipient, false, HANDED_OFF);
                    }
                    Fate::HandedOff(next) => {
                        self.hand_off(number, at, queue_id, recipient, next, next_seen);
                    }
                }
            }
            Event::Start | Event::Other | Event::Removed => {}
        }
        Ok(())
    }

    /// Whether `queue_id` is in the queue or left it within [`HANDOFF_WAIT`].
    fn seen_lately(&self, queue_id: &str, at: DateTime<Utc>) -> bool {
        self.open.contains_key(queue_id)
            || self
                .recently_closed
                .get(queue_id)
                .is_some_and(|&closed| at - closed <= HANDOFF_WAIT)
    }

    /// Record `recipient` of `queue_id` as handed to `next`. When `next` already left the
    /// queue its deliveries are logged (or folded into this queue) already.
    fn hand_off(
        &mut self,
        line: u64,
        at: DateTime<Utc>,
        queue_id: &str,
        recipient: String,
        next: &str,
        seen: bool,
    ) {
        let Some(q) = self.open.get_mut(queue_id) else {
            return;
        };
        q.record_handoff(recipient.clone());
        let handoff = Handoff {
            line,
            queue_id: queue_id.to_string(),
            recipient,
            next: next.to_string(),
        };
        let origin = q.origin(at, vec![handoff]);
        if self.open.contains_key(next) || !seen {
            self.link(next, origin);
        }
    }

    /// Make `next` continue the message `origin` describes, now or when it appears.
    fn link(&mut self, next: &str, origin: Origin) {
        if let Some(child) = self.open.get_mut(next) {
            child.inherit(origin);
            return;
        }
        match self.pending.get_mut(next) {
            // More recipients of the same queue handed to the same next queue.
            Some(waiting) if waiting.queue_id == origin.queue_id => {
                waiting.handoffs.extend(origin.handoffs);
            }
            _ => {
                // Another message handed to an id still awaited: the earlier can no longer
                // be told apart from it, so it is the one left unresolved.
                if let Some(earlier) = self.pending.insert(next.to_string(), origin) {
                    self.unresolved(earlier);
                }
            }
        }
    }

    /// Count and name the hand-offs of a link whose next queue will not be seen.
    fn unresolved(&mut self, origin: Origin) {
        for h in origin.handoffs {
            self.unresolved_total += 1;
            if self.unresolved.len() < crate::ingest::MAX_REJECTED_KEPT {
                self.unresolved.push(Rejected {
                    line: h.line,
                    reason: format!(
                        "queue {}: <{}> was handed to queue {} (a content filter or another local queue), which this log does not show: its fate is unknown",
                        h.queue_id, h.recipient, h.next
                    ),
                });
            }
        }
    }

    /// Close every queue id with no line since `before` (all of them for `None`), oldest
    /// first; links to next queues older than that are dropped, hand-offs among them reported
    /// as unresolved. `now` is the latest log time, for forgetting closed ids.
    pub(super) fn close_idle(
        &mut self,
        loader: &mut Loader<'_>,
        before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut closing: Vec<Queued> = self
            .open
            .extract_if(|_, q| before.is_none_or(|b| q.last_seen < b))
            .map(|(_, q)| q)
            .collect();
        closing.sort_by_key(|q| q.first_line);
        for q in closing {
            self.close(loader, q, now)?;
        }
        let mut expired: Vec<Origin> = self
            .pending
            .extract_if(|_, o| before.is_none_or(|b| o.seen < b))
            .map(|(_, o)| o)
            .collect();
        expired.sort_by_key(|o| o.handoffs.first().map_or(0, |h| h.line));
        for origin in expired {
            self.unresolved(origin);
        }
        self.recently_closed
            .retain(|_, &mut closed| now - closed <= HANDOFF_WAIT);
        Ok(())
    }

    /// A queue id re-queued from one still open (alias expansion, content filter) folds into
    /// it, so the record keeps the original's arrival time and Subject whichever ends first;
    /// otherwise it becomes a record of its own and the store merges same-Message-ID records.
    fn close(
        &mut self,
        loader: &mut Loader<'_>,
        q: Queued,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recently_closed.insert(q.queue_id.clone(), at);
        if let Some(own) = &q.logged_id
            && q.message_id.as_ref() != Some(own)
            && self.by_message_id.get(own) == Some(&q.queue_id)
        {
            self.by_message_id.remove(own);
        }
        if let Some(id) = &q.message_id
            && let Some(owner) = self.by_message_id.get(id)
        {
            if *owner == q.queue_id {
                self.by_message_id.remove(id);
            } else if let Some(original) = self.open.get_mut(owner) {
                original.absorb(q);
                return Ok(());
            }
        }
        finish(loader, q)
    }
}

/// Turn a closed queue id into a record, or count why it cannot be one.
fn finish(loader: &mut Loader<'_>, q: Queued) -> Result<(), StoreError> {
    let mut to = Vec::new();
    let mut moved_on = false;
    for o in q.recipients {
        if o.delivered {
            to.push(o.address);
        } else if o.status == HANDED_OFF {
            // Not a fate: the next queue's lines say what became of this recipient.
            moved_on = true;
        } else {
            moved_on |= o.status == FORWARDED;
            loader.not_delivered(&o.status);
        }
    }
    match (q.message_id, q.from) {
        (Some(message_id), Some(from)) if !to.is_empty() => loader.push(
            q.first_line,
            MessageRecord {
                message_id,
                from,
                to,
                cc: Vec::new(),
                subject: q.subject,
                received_at: q.received_at,
                disposition: None,
                in_reply_to: None,
                references: Vec::new(),
                size: q.size,
                tenant: None,
                source_id: Some(q.origin),
            },
        ),
        // Handed on and delivered nowhere here: the next queue id logs it.
        _ if moved_on && to.is_empty() => Ok(()),
        _ => {
            loader.report.incomplete += 1;
            Ok(())
        }
    }
}
