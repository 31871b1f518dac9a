//! `ingest --format postfix`: a Postfix maillog, its lines joined by queue id into records.
//!
//! One message's life under one queue id: smtpd `client=` (or pickup `uid=`), cleanup
//! `message-id=`, qmgr `from=, size=`, one delivery-agent `to=, status=` line per recipient and
//! attempt, then qmgr `removed`. Only queue ids still in the queue are held in memory, so a
//! maillog of any size streams.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::lines::{InputLine, Lines, MAX_LINE};
use super::{IngestReport, Loader, TenantResolver, decode_header_value, envelope_sender};
use crate::model::{MessageRecord, normalize_address};
use crate::store::{Store, StoreError};

/// A queue id with no line for this long (log time) has left the queue: deferred mail is
/// retried every few hours at most and expires after 5 days by default. Some queue ids end
/// without a `removed` line (milter rejects, a log rotated mid-message); they must not pile up.
const STALE: TimeDelta = TimeDelta::days(7);
/// How often, in lines, stale queue ids are looked for.
const SWEEP_EVERY: u64 = 65_536;
/// Syslog-form timestamps are host-local time without a zone or year and are read as UTC; a
/// date up to this far ahead of now is still this year rather than last year.
const FUTURE_GRACE: TimeDelta = TimeDelta::days(1);
/// The status recorded for an alias that local(8) forwarded under a new queue id.
const FORWARDED: &str = "forwarded";
/// Delivery agents whose `status=sent` does not put the message in a mailbox.
const NOT_DELIVERING: &[&str] = &["discard", "error", "retry", "bounce", "defer", "verify"];

/// Load a Postfix maillog from `input`. Syslog-form timestamps (`Nov 20 10:00:01`) have no
/// year: it is the current one, or the previous one when that would put the line in the
/// future. Unrelated lines are counted as ignored; postfix queue lines that cannot be parsed
/// are reported with their number. Only a store failure stops the run.
pub fn ingest(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
) -> Result<IngestReport, StoreError> {
    ingest_at(store, resolver, input, Utc::now())
}

/// [`ingest`] with the clock that decides syslog-form years.
pub(crate) fn ingest_at(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let mut loader = Loader::new(store, resolver);
    let mut queue = Queue::default();
    let mut latest: Option<DateTime<Utc>> = None;
    for (index, line) in Lines::new(input).enumerate() {
        let number = index as u64 + 1;
        let bytes = match line {
            Ok(InputLine::Text(b)) => b,
            Ok(InputLine::TooLong) => {
                loader.reject(number, format!("longer than {} MiB", MAX_LINE >> 20));
                continue;
            }
            Err(e) => {
                loader.reject(number, format!("cannot read: {e}"));
                break;
            }
        };
        // Postfix logs header text as it arrived; an 8-bit subject must not cost the line.
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match classify(text, now) {
            Line::Ignored => loader.report.ignored += 1,
            Line::Bad(reason) => loader.reject(number, reason),
            // One line dated far ahead (a host with a wrong clock) would make every open
            // queue id look stale and split its message: refused, and the clock kept.
            Line::Queue { at, .. } if at > now + FUTURE_GRACE => loader.reject(
                number,
                format!(
                    "timestamp {} is in the future",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            Line::Queue {
                at,
                queue_id,
                daemon,
                event,
            } => {
                latest = latest.max(Some(at));
                queue.apply(&mut loader, number, at, queue_id, daemon, event)?;
            }
        }
        if number.is_multiple_of(SWEEP_EVERY)
            && let Some(latest) = latest
        {
            queue.close_idle(&mut loader, Some(latest - STALE))?;
        }
    }
    queue.close_idle(&mut loader, None)?;
    loader.finish()
}

/// What is known so far about the message under one queue id.
struct Queued {
    first_line: u64,
    received_at: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    queue_id: String,
    /// The queue id the message arrived under (differs after an alias forward).
    origin: String,
    message_id: Option<String>,
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
        self.message_id.is_some() || self.from.is_some() || !self.recipients.is_empty()
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

    fn inherit(&mut self, origin: Origin) {
        self.first_line = self.first_line.min(origin.first_line);
        self.received_at = self.received_at.min(origin.received_at);
        self.origin = origin.queue_id;
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
}

enum Line<'a> {
    /// Not about a queued message: other programs, postfix connection noise, garbage.
    Ignored,
    /// A postfix line that should carry queue data but does not parse.
    Bad(String),
    Queue {
        at: DateTime<Utc>,
        queue_id: &'a str,
        daemon: &'a str,
        event: Event<'a>,
    },
}

enum Event<'a> {
    /// The first line of a new message under this queue id.
    Start,
    MessageId(&'a str),
    Subject(String),
    From {
        sender: &'a str,
        size: Option<u64>,
    },
    Delivery {
        recipient: &'a str,
        status: &'a str,
        /// The new queue id local(8) handed the message on under (alias or .forward).
        forwarded_as: Option<&'a str>,
    },
    Removed,
    /// A queue line with nothing the log needs (`host ... said:`, `resent-message-id=`, ...).
    Other,
}

/// The queue ids still open, which of them first carried each Message-ID, and where
/// forwarded copies not yet seen under their new queue id came from.
#[derive(Default)]
struct Queue {
    open: HashMap<String, Queued>,
    by_message_id: HashMap<String, String>,
    forwarded: HashMap<String, Origin>,
}

/// What a forwarded copy keeps of the message it was forwarded from: the log should show
/// when the message arrived and what it was called, not when the alias re-sent it.
struct Origin {
    first_line: u64,
    received_at: DateTime<Utc>,
    queue_id: String,
    from: Option<String>,
    subject: String,
    seen: DateTime<Utc>,
}

impl Queue {
    fn apply(
        &mut self,
        loader: &mut Loader<'_>,
        number: u64,
        at: DateTime<Utc>,
        queue_id: &str,
        daemon: &str,
        event: Event<'_>,
    ) -> Result<(), StoreError> {
        match event {
            Event::Removed => {
                if let Some(q) = self.open.remove(queue_id) {
                    self.close(loader, q)?;
                }
                return Ok(());
            }
            // Queue ids are reused once their message is gone: a new first line under an id
            // still open means the old message ended without a `removed` line.
            Event::Start => {
                if self.open.get(queue_id).is_some_and(Queued::has_content)
                    && let Some(old) = self.open.remove(queue_id)
                {
                    self.close(loader, old)?;
                }
            }
            // A message that starts at cleanup (a bounce, a local forward) has no `client=`
            // line: a second Message-ID under an open id is the next message, not this one.
            Event::MessageId(id) => {
                let other = self
                    .open
                    .get(queue_id)
                    .and_then(|q| q.message_id.as_deref())
                    .is_some_and(|old| old != id);
                if other && let Some(old) = self.open.remove(queue_id) {
                    self.close(loader, old)?;
                }
            }
            _ => {}
        }
        let q = self.open.entry(queue_id.to_string()).or_insert_with(|| {
            let mut q = Queued {
                first_line: number,
                received_at: at,
                last_seen: at,
                queue_id: queue_id.to_string(),
                origin: queue_id.to_string(),
                message_id: None,
                from: None,
                size: None,
                subject: String::new(),
                recipients: Vec::new(),
            };
            if let Some(origin) = self.forwarded.remove(queue_id) {
                q.inherit(origin);
            }
            q
        });
        q.last_seen = at;
        match event {
            Event::MessageId(id) => {
                if q.message_id.is_none() && !id.trim_matches(['<', '>']).trim().is_empty() {
                    q.message_id = Some(id.to_string());
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
            Event::Delivery {
                recipient,
                status,
                forwarded_as,
            } => {
                let delivered =
                    status == "sent" && forwarded_as.is_none() && !NOT_DELIVERING.contains(&daemon);
                // A forwarding alias holds no copy: the message lives on under the new queue
                // id, whose deliveries name the real mailboxes.
                let status = if forwarded_as.is_some() {
                    FORWARDED
                } else {
                    status
                };
                q.record(normalize_address(recipient), delivered, status);
                if let Some(child) = forwarded_as {
                    let origin = Origin {
                        first_line: q.first_line,
                        received_at: q.received_at,
                        queue_id: q.origin.clone(),
                        from: q.from.clone(),
                        subject: q.subject.clone(),
                        seen: at,
                    };
                    match self.open.get_mut(child) {
                        Some(c) => c.inherit(origin),
                        None => {
                            self.forwarded.insert(child.to_string(), origin);
                        }
                    }
                }
            }
            Event::Start | Event::Other | Event::Removed => {}
        }
        Ok(())
    }

    /// Close every queue id with no line since `before` (all of them for `None`), oldest
    /// first.
    fn close_idle(
        &mut self,
        loader: &mut Loader<'_>,
        before: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut closing: Vec<Queued> = self
            .open
            .extract_if(|_, q| before.is_none_or(|b| q.last_seen < b))
            .map(|(_, q)| q)
            .collect();
        closing.sort_by_key(|q| q.first_line);
        for q in closing {
            self.close(loader, q)?;
        }
        self.forwarded
            .retain(|_, o| before.is_some_and(|b| o.seen >= b));
        Ok(())
    }

    /// A queue id re-queued from one still open (alias expansion, content filter) folds into
    /// it, so the record keeps the original's arrival time and Subject whichever ends first;
    /// otherwise it becomes a record of its own and the store merges same-Message-ID records.
    fn close(&mut self, loader: &mut Loader<'_>, q: Queued) -> Result<(), StoreError> {
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
    let mut forwarded = false;
    for o in q.recipients {
        if o.delivered {
            to.push(o.address);
        } else {
            forwarded |= o.status == FORWARDED;
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
        // Forwarded elsewhere and delivered nowhere here: the new queue id logs it.
        _ if forwarded && to.is_empty() => Ok(()),
        _ => {
            loader.report.incomplete += 1;
            Ok(())
        }
    }
}

fn classify(text: &str, now: DateTime<Utc>) -> Line<'_> {
    let (at, tag, message) = match split_syslog(text, now) {
        Ok(parts) => parts,
        Err(reason) if text.contains("postfix/") => return Line::Bad(reason),
        Err(_) => return Line::Ignored,
    };
    let program = tag.split_once('[').map_or(tag, |(p, _)| p);
    // Multi-instance setups log as postfix-out/smtp, submission as postfix/submission/smtpd.
    let Some((instance, daemon)) = program.rsplit_once('/') else {
        return Line::Ignored;
    };
    if !instance.starts_with("postfix") {
        return Line::Ignored;
    }
    let (queue_id, rest) = match message.split_once(':') {
        Some((q, rest)) => (q, rest.trim()),
        None => (message.trim(), ""),
    };
    if !is_queue_id(queue_id) {
        return Line::Ignored;
    }
    if rest.is_empty() {
        return Line::Bad(format!(
            "nothing after queue id {queue_id} (line cut short?)"
        ));
    }
    match event(daemon, rest) {
        Ok(event) => Line::Queue {
            at,
            queue_id,
            daemon,
            event,
        },
        Err(reason) => Line::Bad(format!("{daemon} {queue_id}: {reason}")),
    }
}

/// Short ids are upper-case hex; long ids (`enable_long_queue_ids`) are mixed-case base-52
/// with a `z` between time and inode. Words such as `NOQUEUE` or `warning` are neither.
fn is_queue_id(s: &str) -> bool {
    let short = (5..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    let long = (10..=24).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.contains('z')
        && s.bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    short || long
}

fn event<'a>(daemon: &str, rest: &'a str) -> Result<Event<'a>, String> {
    if rest == "removed" {
        return Ok(if matches!(daemon, "qmgr" | "postsuper") {
            Event::Removed
        } else {
            Event::Other
        });
    }
    if matches!(daemon, "smtpd" | "pickup" | "qmqpd")
        && (rest.starts_with("client=") || rest.starts_with("uid=") || rest.starts_with("sender="))
    {
        return Ok(Event::Start);
    }
    if daemon == "cleanup" {
        if let Some(id) = rest.strip_prefix("message-id=") {
            let id = id.trim();
            if id.starts_with('<') && !id.ends_with('>') {
                return Err("message-id=<... is not closed (line cut short?)".into());
            }
            return Ok(Event::MessageId(id));
        }
        return Ok(header_subject(rest).map_or(Event::Other, Event::Subject));
    }
    if daemon == "qmgr"
        && let Some(after) = rest.strip_prefix("from=")
    {
        let (sender, tail) = angle("from", after)?;
        let size = match field(tail, "size") {
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| format!("size={v} is not a number"))?,
            ),
            None => None,
        };
        return Ok(Event::From { sender, size });
    }
    if let Some(after) = rest.strip_prefix("to=") {
        let (recipient, tail) = angle("to", after)?;
        let status = field(tail, "status")
            .filter(|s| !s.is_empty())
            .ok_or("to= without status= (line cut short?)")?;
        let forwarded_as = tail
            .split_once("(forwarded as ")
            .map(|(_, id)| id.trim_end_matches(')').trim())
            .filter(|id| is_queue_id(id));
        return Ok(Event::Delivery {
            recipient,
            status,
            forwarded_as,
        });
    }
    Ok(Event::Other)
}

/// `<addr>, more` → (`addr`, `, more`).
fn angle<'a>(name: &str, text: &'a str) -> Result<(&'a str, &'a str), String> {
    let inner = text
        .strip_prefix('<')
        .ok_or_else(|| format!("{name}= is not followed by <address>"))?;
    match inner.find(">,") {
        Some(end) => Ok((&inner[..end], &inner[end + 1..])),
        None => inner
            .strip_suffix('>')
            .map(|a| (a, ""))
            .ok_or_else(|| format!("{name}=<... is not closed (line cut short?)")),
    }
}

/// The value of `, key=value` in the tail of a queue line.
fn field<'a>(tail: &'a str, key: &str) -> Option<&'a str> {
    let start = tail.find(&format!(", {key}="))? + key.len() + 3;
    let value = &tail[start..];
    let end = value.find([',', ' ']).unwrap_or(value.len());
    Some(&value[..end])
}

/// The Subject from a header_checks log line:
/// `warning: header Subject: TEXT from HOST[IP]; from=<a> to=<b> proto=ESMTP helo=<h>`.
fn header_subject(rest: &str) -> Option<String> {
    let (action, header) = rest.split_once(": header ")?;
    if !action.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return None;
    }
    let (name, value) = header.split_once(':')?;
    if !name.eq_ignore_ascii_case("subject") {
        return None;
    }
    let value = match value.rfind("; from=<") {
        Some(i) => {
            let head = &value[..i];
            head.rfind(" from ").map_or(head, |j| &head[..j])
        }
        None => value,
    };
    Some(decode_header_value(value))
}

/// (time, tag, message) of a syslog line in either form rsyslog writes.
fn split_syslog(text: &str, now: DateTime<Utc>) -> Result<(DateTime<Utc>, &str, &str), String> {
    let (at, rest) = if text.starts_with(|c: char| c.is_ascii_digit()) {
        let (stamp, rest) = text.split_once(' ').ok_or("no host after the timestamp")?;
        (rfc3339(stamp)?, rest)
    } else {
        let month = text.get(..3).and_then(month_number).ok_or("no timestamp")?;
        let rest = text.get(3..).unwrap_or_default().trim_start();
        let (day, rest) = rest.split_once(' ').ok_or("no time after the date")?;
        let (time, rest) = rest.split_once(' ').ok_or("no host after the time")?;
        (syslog_time(month, day, time, now)?, rest)
    };
    let (_host, rest) = rest
        .trim_start()
        .split_once(' ')
        .ok_or("no program after the host")?;
    let (tag, message) = rest
        .split_once(": ")
        .ok_or("no message after the program (line cut short?)")?;
    Ok((at, tag, message))
}

fn rfc3339(stamp: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(stamp)
        // journalctl -o short-iso writes the offset without a colon.
        .or_else(|_| DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad timestamp {stamp:?}: {e}"))
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

fn syslog_time(
    month: u32,
    day: &str,
    time: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let day: u32 = day.parse().map_err(|_| format!("bad day {day:?}"))?;
    let time =
        NaiveTime::parse_from_str(time, "%H:%M:%S%.f").map_err(|_| format!("bad time {time:?}"))?;
    let on =
        |year: i32| NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time).and_utc());
    match on(now.year()) {
        Some(t) if t <= now + FUTURE_GRACE => Ok(t),
        _ => on(now.year() - 1).ok_or_else(|| format!("no such date: month {month} day {day}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RefMatch;
    use crate::store::testutil::temp_store;

    use crate::ingest::test_config as config;

    fn now() -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339("2026-11-21T08:00:00Z") {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("{e}"),
        }
    }

    fn run(log: &str) -> Result<(IngestReport, Store, tempfile::TempDir), StoreError> {
        let (dir, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let report = ingest_at(&store, &resolver, log.as_bytes(), now())?;
        Ok((report, store, dir))
    }

    fn one(store: &Store, id: &str) -> Result<crate::model::LoggedMessage, StoreError> {
        match store.resolve_ref(id)? {
            RefMatch::One(m) => Ok(*m),
            _ => panic!("{id} not logged exactly once"),
        }
    }

    /// Two interleaved messages, a deferral, a bounce, an alias re-queue, noise and a cut line.
    const MAILLOG: &str = "\
Nov 20 10:00:01 mx1 postfix/smtpd[1201]: connect from mail.bad.example[203.0.113.5]
Nov 20 10:00:01 mx1 postfix/smtpd[1201]: 4A1B2C3D4E: client=mail.bad.example[203.0.113.5]
Nov 20 10:00:01 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: message-id=<inv-77@bad.example>
Nov 20 10:00:01 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: warning: header Subject: Invoice 4411, overdue from mail.bad.example[203.0.113.5]; from=<billing@bad.example> to=<alice@corp.test> proto=ESMTP helo=<mail.bad.example>
Nov 20 10:00:02 mx1 postfix/smtpd[1301]: 5F00AA11BB: client=partner.example[198.51.100.7]
Nov 20 10:00:02 mx1 postfix/qmgr[900]: 4A1B2C3D4E: from=<Billing@Bad.Example>, size=48213, nrcpt=4 (queue active)
Nov 20 10:00:02 mx1 dovecot: imap-login: Login: user=<alice@corp.test>, method=PLAIN
Nov 20 10:00:02 mx1 postfix/cleanup[1202]: 5F00AA11BB: message-id=<q3@partner.example>
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<alice@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=2.0.0, status=sent (250 2.0.0 <alice@corp.test> Saved)
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=4.2.2, status=deferred (452 4.2.2 Mailbox full)
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<nobody@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=5.1.1, status=bounced (550 5.1.1 User unknown)
Nov 20 10:00:03 mx1 postfix/local[1220]: 4A1B2C3D4E: to=<sales@corp.test>, relay=local, delay=1.3, delays=0.1/0/0/1.2, dsn=2.0.0, status=sent (forwarded as 6C0FFEE123)
Nov 20 10:00:03 mx1 postfix/pickup[1230]: 6C0FFEE123: uid=0 from=<billing@bad.example>
Nov 20 10:00:03 mx1 postfix/cleanup[1202]: 6C0FFEE123: message-id=<inv-77@bad.example>
Nov 20 10:00:03 mx1 postfix/qmgr[900]: 6C0FFEE123: from=<billing@bad.example>, size=48400, nrcpt=2 (queue active)
Nov 20 10:00:04 mx1 postfix/qmgr[900]: 5F00AA11BB: from=<ops@partner.example>, size=2100, nrcpt=1 (queue active)
Nov 20 10:00:04 mx1 postfix/lmtp[1210]: 6C0FFEE123: to=<carol@corp.test>, orig_to=<sales@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=0.2, delays=0/0/0/0.2, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 20 10:00:04 mx1 postfix/smtp[1240]: 6C0FFEE123: to=<dan@partner.example>, orig_to=<sales@corp.test>, relay=mx.partner.example[198.51.100.9]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99ZZ)
Nov 20 10:00:04 mx1 postfix/qmgr[900]: 6C0FFEE123: removed
Nov 20 10:00:04 mx1 postfix/anvil[1100]: statistics: max connection rate 1/60s for (smtp:203.0.113.5) at Nov 20 09:59:01
Nov 20 10:00:05 mx1 postfix/lmtp[1210]: 5F00AA11BB: to=<erin@corp.te
this is not a log line at all
Nov 20 10:00:05 mx1 postfix/lmtp[1210]: 5F00AA11BB: to=<erin@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=0.3, delays=0/0/0/0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 20 10:00:05 mx1 postfix/qmgr[900]: 5F00AA11BB: removed
Nov 20 10:30:03 mx1 postfix/qmgr[900]: 4A1B2C3D4E: from=<billing@bad.example>, size=48213, nrcpt=4 (queue active)
Nov 20 10:30:04 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1802, delays=1801/0/0.1/0.9, dsn=2.0.0, status=sent (250 2.0.0 <bob@corp.test> Saved)
Nov 20 10:30:04 mx1 postfix/bounce[1250]: 4A1B2C3D4E: sender non-delivery notification: 7D1E2F3A4B
Nov 20 10:30:04 mx1 postfix/qmgr[900]: 4A1B2C3D4E: removed
Nov 20 10:30:05 mx1 postfix/smtpd[1201]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 <x@corp.test>: Relay access denied; from=<s@spam.example> to=<x@corp.test> proto=ESMTP helo=<x>
";

    #[test]
    fn queue_ids_join_into_records_with_only_sent_recipients() -> Result<(), StoreError> {
        let (report, store, _dir) = run(MAILLOG)?;
        // 6C0FFEE123 re-queues 4A1B2C3D4E's alias and ends first: it folds into the original.
        assert_eq!(report.records, 2, "{report:?}");
        assert_eq!(report.inserted, 2);
        assert_eq!(report.merged, 0);
        assert_eq!(report.incomplete, 0);
        // connect, dovecot, anvil, the garbage line, NOQUEUE.
        assert_eq!(report.ignored, 5, "{report:?}");
        let rejected: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, vec![21], "{:?}", report.rejected);
        assert!(report.rejected[0].reason.contains("not closed"));
        assert_eq!(report.not_delivered.get("bounced"), Some(&1));
        assert_eq!(report.not_delivered.get("forwarded"), Some(&1));
        assert_eq!(report.not_delivered.get("deferred"), None);

        let inv = one(&store, "inv-77@bad.example")?;
        assert_eq!(
            inv.recipients,
            vec![
                "alice@corp.test",
                "bob@corp.test",
                "carol@corp.test",
                "dan@partner.example"
            ]
        );
        assert_eq!(inv.actionable_count, 3);
        assert_eq!(inv.from, "billing@bad.example");
        assert_eq!(inv.subject, "Invoice 4411, overdue");
        assert_eq!(inv.size, Some(48213));
        assert_eq!(inv.source_id.as_deref(), Some("4A1B2C3D4E"));
        assert_eq!(inv.received_at.to_rfc3339(), "2026-11-20T10:00:01+00:00");

        let q3 = one(&store, "q3@partner.example")?;
        assert_eq!(q3.recipients, vec!["erin@corp.test"]);
        assert_eq!(q3.from, "ops@partner.example");
        assert_eq!(q3.subject, "");
        Ok(())
    }

    #[test]
    fn rfc3339_lines_long_queue_ids_and_an_encoded_subject() -> Result<(), StoreError> {
        let log = "\
2026-11-19T23:59:58.120431+01:00 mx2 postfix/submission/smtpd[77]: 4Tg9Dx0QGCz9sWq: client=laptop[10.0.0.8], sasl_method=PLAIN, sasl_username=alice
2026-11-19T23:59:58.300000+01:00 mx2 postfix/cleanup[78]: 4Tg9Dx0QGCz9sWq: info: header Subject: =?UTF-8?B?UsOpc3Vtw6k=?= from laptop[10.0.0.8]; from=<alice@corp.test> to=<frank@corp.test> proto=ESMTP helo=<laptop>
2026-11-19T23:59:58.310000+01:00 mx2 postfix/cleanup[78]: 4Tg9Dx0QGCz9sWq: message-id=<r1@corp.test>
2026-11-19T23:59:58.400000+01:00 mx2 postfix/qmgr[79]: 4Tg9Dx0QGCz9sWq: from=<alice@corp.test>, size=900, nrcpt=1 (queue active)
2026-11-19T23:59:59.000000+01:00 mx2 postfix/virtual[80]: 4Tg9Dx0QGCz9sWq: to=<frank@corp.test>, relay=virtual, delay=0.9, delays=0.5/0/0/0.4, dsn=2.0.0, status=sent (delivered to maildir)
2026-11-19T23:59:59.100000+01:00 mx2 postfix/qmgr[79]: 4Tg9Dx0QGCz9sWq: removed
";
        let (report, store, _dir) = run(log)?;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.inserted, 1);
        let m = one(&store, "r1@corp.test")?;
        assert_eq!(m.recipients, vec!["frank@corp.test"]);
        assert_eq!(m.subject, "Résumé");
        assert_eq!(m.received_at.to_rfc3339(), "2026-11-19T22:59:58+00:00");
        Ok(())
    }

    #[test]
    fn incomplete_queue_ids_make_no_record() -> Result<(), StoreError> {
        let log = "\
Nov 20 11:00:00 mx1 postfix/smtpd[1]: 1AAAAAAAAA: client=a[192.0.2.1]
Nov 20 11:00:00 mx1 postfix/cleanup[2]: 1AAAAAAAAA: message-id=<gone@x.example>
Nov 20 11:00:00 mx1 postfix/qmgr[3]: 1AAAAAAAAA: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:01 mx1 postfix/smtp[4]: 1AAAAAAAAA: to=<b@corp.test>, relay=none, delay=1, delays=1/0/0/0, dsn=5.4.4, status=bounced (Host not found)
Nov 20 11:00:01 mx1 postfix/qmgr[3]: 1AAAAAAAAA: removed
Nov 20 11:00:02 mx1 postfix/lmtp[4]: 2BBBBBBBBB: to=<c@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 11:00:03 mx1 postfix/qmgr[3]: 3CCCCCCCCC: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:03 mx1 postfix/lmtp[4]: 3CCCCCCCCC: to=<c@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=4.0.0, status=deferred (try later)
Nov 20 11:00:04 mx1 postfix/qmgr[3]: 4DDDDDDDDD: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:04 mx1 postfix/qmgr[3]: 4DDDDDDDDD
Nov 20 11:00:05 mx1 postfix/qmgr[3]: 4DDDDDDDDD: from=<a@x.example>, size=1x, nrcpt=1 (queue active)
Nov 20 11:00:05 mx1 postfix/lmtp[4]: 4DDDDDDDDD: to=<c@corp.test>, relay=lmt
Nov 20 11:00:05 mx1 postfix/qm
Nov 20 11:00:05 mx1 post
";
        let (report, _store, _dir) = run(log)?;
        assert_eq!(report.records, 0);
        // 1AAAAAAAAA bounced; 2BBBBBBBBB has no message-id or sender; 3CCCCCCCCC still
        // deferred at EOF; 4DDDDDDDDD has no message-id.
        assert_eq!(report.incomplete, 4, "{report:?}");
        assert_eq!(report.not_delivered.get("bounced"), Some(&1));
        assert_eq!(report.not_delivered.get("deferred"), Some(&1));
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![10, 11, 12, 13], "{:?}", report.rejected);
        assert!(report.rejected[1].reason.contains("size=1x"));
        assert!(report.rejected[2].reason.contains("status="));
        // Cut before it says which program wrote it: nothing to tell it from noise.
        assert_eq!(report.ignored, 1);
        Ok(())
    }

    #[test]
    fn a_reused_queue_id_starts_a_new_message() -> Result<(), StoreError> {
        let log = "\
Nov 20 12:00:00 mx1 postfix/smtpd[1]: 5EEEEEEEEE: client=a[192.0.2.1]
Nov 20 12:00:00 mx1 postfix/cleanup[2]: 5EEEEEEEEE: message-id=<first@x.example>
Nov 20 12:00:00 mx1 postfix/qmgr[3]: 5EEEEEEEEE: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 12:00:01 mx1 postfix/lmtp[4]: 5EEEEEEEEE: to=<gail@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 12:05:00 mx1 postfix/smtpd[1]: 5EEEEEEEEE: client=b[192.0.2.2]
Nov 20 12:05:00 mx1 postfix/cleanup[2]: 5EEEEEEEEE: message-id=<second@x.example>
Nov 20 12:05:00 mx1 postfix/qmgr[3]: 5EEEEEEEEE: from=<>, size=10, nrcpt=1 (queue active)
Nov 20 12:05:01 mx1 postfix/lmtp[4]: 5EEEEEEEEE: to=<hank@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
";
        let (report, store, _dir) = run(log)?;
        assert_eq!(report.inserted, 2, "{report:?}");
        assert_eq!(
            one(&store, "first@x.example")?.recipients,
            vec!["gail@corp.test"]
        );
        let second = one(&store, "second@x.example")?;
        assert_eq!(second.recipients, vec!["hank@corp.test"]);
        assert_eq!(second.from, "mailer-daemon");
        Ok(())
    }

    #[test]
    fn a_forward_ending_after_its_original_merges_in_the_store() -> Result<(), StoreError> {
        // local(8) writes the forwarded copy through cleanup before it logs "forwarded as",
        // and the original leaves the queue before the copy is delivered.
        let log = "\
Nov 20 13:00:00 mx1 postfix/smtpd[1]: 7AAAAAAAAA: client=a[192.0.2.1]
Nov 20 13:00:00 mx1 postfix/cleanup[2]: 7AAAAAAAAA: warning: header subject: Payroll from a[192.0.2.1]; from=<hr@bad.example> to=<team@corp.test> proto=ESMTP helo=<a>
Nov 20 13:00:00 mx1 postfix/cleanup[2]: 7AAAAAAAAA: message-id=<pay@bad.example>
Nov 20 13:00:00 mx1 postfix/qmgr[3]: 7AAAAAAAAA: from=<hr@bad.example>, size=10, nrcpt=2 (queue active)
Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<kim@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Nov 20 13:00:01 mx1 postfix/cleanup[2]: 8BBBBBBBBB: message-id=<pay@bad.example>
Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<team@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (forwarded as 8BBBBBBBBB)
Nov 20 13:00:01 mx1 postfix/qmgr[3]: 7AAAAAAAAA: removed
Nov 20 13:00:01 mx1 postfix/qmgr[3]: 8BBBBBBBBB: from=<hr@bad.example>, size=12, nrcpt=2 (queue active)
Nov 20 13:00:02 mx1 postfix/lmtp[4]: 8BBBBBBBBB: to=<ivy@corp.test>, orig_to=<team@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 13:00:02 mx1 postfix/lmtp[4]: 8BBBBBBBBB: to=<jon@corp.test>, orig_to=<team@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 13:00:02 mx1 postfix/qmgr[3]: 8BBBBBBBBB: removed
";
        let (report, store, _dir) = run(log)?;
        assert_eq!(report.incomplete, 0, "{report:?}");
        assert_eq!(report.records, 2);
        assert_eq!(report.inserted, 1);
        assert_eq!(report.merged, 1);
        let m = one(&store, "pay@bad.example")?;
        assert_eq!(
            m.recipients,
            vec!["ivy@corp.test", "jon@corp.test", "kim@corp.test"]
        );
        assert_eq!(m.subject, "Payroll");
        assert_eq!(m.source_id.as_deref(), Some("7AAAAAAAAA"));

        // The alias alone: the copy carries the original's arrival, Subject and queue id.
        let alone = log.replace(
            "Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<kim@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)\n",
            "",
        );
        let (report, store, _dir) = run(&alone)?;
        assert_eq!(report.incomplete, 0, "{report:?}");
        assert_eq!(report.records, 1);
        assert_eq!(report.not_delivered.get("forwarded"), Some(&1));
        let m = one(&store, "pay@bad.example")?;
        assert_eq!(m.recipients, vec!["ivy@corp.test", "jon@corp.test"]);
        assert_eq!(m.subject, "Payroll");
        assert_eq!(m.source_id.as_deref(), Some("7AAAAAAAAA"));
        assert_eq!(m.received_at.to_rfc3339(), "2026-11-20T13:00:00+00:00");
        Ok(())
    }

    #[test]
    fn a_reused_queue_id_starting_at_cleanup_is_a_new_message() -> Result<(), StoreError> {
        // The first message under 9CCCCCCCCC ends without `removed` (a milter's reject after
        // delivery to one recipient); a bounce reuses the id and starts at cleanup. A line
        // from a host whose clock says 2099 is refused and does not close anything early.
        let log = "\
Nov 20 14:00:00 mx1 postfix/smtpd[1]: 9CCCCCCCCC: client=a[192.0.2.1]
Nov 20 14:00:00 mx1 postfix/cleanup[2]: 9CCCCCCCCC: message-id=<evil@bad.example>
Nov 20 14:00:00 mx1 postfix/qmgr[3]: 9CCCCCCCCC: from=<x@bad.example>, size=10, nrcpt=1 (queue active)
Nov 20 14:00:01 mx1 postfix/lmtp[4]: 9CCCCCCCCC: to=<alice@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
2099-01-01T00:00:00+00:00 mx2 postfix/qmgr[3]: 1DDDDDDDDD: from=<y@bad.example>, size=10, nrcpt=1 (queue active)
Nov 20 14:05:00 mx1 postfix/cleanup[2]: 9CCCCCCCCC: message-id=<bounce-1@corp.test>
Nov 20 14:05:00 mx1 postfix/qmgr[3]: 9CCCCCCCCC: from=<>, size=10, nrcpt=1 (queue active)
Nov 20 14:05:01 mx1 postfix/lmtp[4]: 9CCCCCCCCC: to=<bob@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 14:05:01 mx1 postfix/qmgr[3]: 9CCCCCCCCC: removed
";
        let (report, store, _dir) = run(log)?;
        assert_eq!(report.records, 2, "{report:?}");
        assert_eq!(
            one(&store, "evil@bad.example")?.recipients,
            vec!["alice@corp.test"]
        );
        assert_eq!(
            one(&store, "bounce-1@corp.test")?.recipients,
            vec!["bob@corp.test"]
        );
        let rejected: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].0, 5);
        assert!(rejected[0].1.contains("in the future"), "{rejected:?}");
        Ok(())
    }

    #[test]
    fn syslog_years_never_land_in_the_future() {
        let now = now();
        let year = |line: &str| match split_syslog(line, now) {
            Ok((t, _, _)) => t.year(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(year("Nov 21 07:00:00 h postfix/qmgr[1]: x"), 2026);
        assert_eq!(year("Nov 22 06:00:00 h postfix/qmgr[1]: x"), 2026);
        assert_eq!(year("Dec 31 23:59:59 h postfix/qmgr[1]: x"), 2025);
        assert_eq!(year("Jan  2 00:00:00 h postfix/qmgr[1]: x"), 2026);
        assert!(split_syslog("Feb 30 00:00:00 h postfix/qmgr[1]: x", now).is_err());
        assert!(matches!(
            classify(
                "Feb 30 00:00:00 h postfix/qmgr[1]: 4DDDDDDDDD: removed",
                now
            ),
            Line::Bad(_)
        ));
    }

    #[test]
    fn queue_id_shapes() {
        for id in ["4A1B2C3D4E", "6C0FFEE123", "4Tg9Dx0QGCz9sWq"] {
            assert!(is_queue_id(id), "{id}");
        }
        for id in [
            "NOQUEUE",
            "warning",
            "statistics",
            "connect",
            "DEAD",
            "authorized",
        ] {
            assert!(!is_queue_id(id), "{id}");
        }
    }
}
