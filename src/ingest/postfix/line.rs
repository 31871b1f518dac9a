//! Reading one maillog line: its time, program and queue id, and what it says about the
//! message (the event).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};

use super::FUTURE_GRACE;
use crate::backends::common::headers::decode_value;

pub(super) enum Line<'a> {
    /// Not about a queued message: other programs, postfix connection noise, garbage.
    Ignored,
    /// A postfix line that should carry queue data but does not parse.
    Bad(String),
    Queue {
        at: DateTime<Utc>,
        queue_id: &'a str,
        event: Event<'a>,
    },
}

pub(super) enum Event<'a> {
    /// The first line of a new message under this queue id.
    Start,
    MessageId(&'a str),
    Subject(String),
    From {
        sender: &'a str,
        size: Option<u64>,
    },
    /// A delivery agent's `to=<...>, status=...` line: one attempt for one recipient.
    Delivery {
        recipient: &'a str,
        fate: Fate<'a>,
    },
    Removed,
    /// A queue line with nothing the log needs (`host ... said:`, `resent-message-id=`, ...).
    Other,
}

/// What one delivery attempt did with the message for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate<'a> {
    /// In a mailbox here, or accepted by another server; `remote_queue` is the queue id that
    /// server said it queued the message as, if it said.
    Delivered { remote_queue: Option<&'a str> },
    /// Not delivered, by Postfix's status word (`deferred`, `bounced`) or the filter's verdict
    /// (`discarded`).
    NotDelivered(&'a str),
    /// local(8) expanded an alias or `.forward` and re-queued the message under this id.
    Forwarded(&'a str),
    /// A content filter (amavis on 127.0.0.1:10024) or another Postfix instance on this host
    /// accepted the message and queued it as this id: the message's fate is that queue's.
    HandedOff(&'a str),
}

pub(super) fn classify(text: &str, now: DateTime<Utc>) -> Line<'_> {
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
            event,
        },
        Err(reason) => Line::Bad(format!("{daemon} {queue_id}: {reason}")),
    }
}

/// Short ids are upper-case hex; long ids (`enable_long_queue_ids`) are mixed-case base-52
/// with a `z` between time and inode. Words such as `NOQUEUE` or `warning` are neither.
pub(super) fn is_queue_id(s: &str) -> bool {
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

fn event<'a>(daemon: &'a str, rest: &'a str) -> Result<Event<'a>, String> {
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
        return Ok(Event::Delivery {
            recipient,
            fate: fate(daemon, status, tail),
        });
    }
    Ok(Event::Other)
}

/// Delivery agents whose `status=sent` does not put the message in a mailbox.
const NOT_DELIVERING: &[&str] = &["discard", "error", "retry", "bounce", "defer", "verify"];

/// Read one attempt's outcome from its status word, relay and the server's reply.
fn fate<'a>(daemon: &'a str, status: &'a str, tail: &'a str) -> Fate<'a> {
    let reply = tail
        .split_once(", status=")
        .and_then(|(_, s)| s.split_once(' '))
        .map_or("", |(_, reply)| reply);
    if let Some(id) = reply
        .split_once("(forwarded as ")
        .map(|(_, id)| id.trim_end_matches(')').trim())
        .filter(|id| is_queue_id(id))
    {
        return Fate::Forwarded(id);
    }
    if status != "sent" {
        return Fate::NotDelivered(status);
    }
    if NOT_DELIVERING.contains(&daemon) {
        return Fate::NotDelivered(daemon);
    }
    let queued_as = queued_as(reply);
    if !field(tail, "relay").is_some_and(is_local_relay) {
        return Fate::Delivered {
            remote_queue: queued_as,
        };
    }
    match queued_as {
        Some(id) => Fate::HandedOff(id),
        // amavis answers 250 for what it keeps from the mailbox: "250 2.7.0 Ok, discarded,
        // id=... - BANNED" and "250 2.5.0 Ok, id=..., BOUNCE" (it sends the bounce itself).
        None if reply.contains(", discarded") => Fate::NotDelivered("discarded"),
        None if reply.contains(", BOUNCE") => Fate::NotDelivered("bounced"),
        // A local LMTP server (Dovecot on 127.0.0.1:24) puts it in the mailbox.
        None => Fate::Delivered { remote_queue: None },
    }
}

/// The last `queued as ID` in a reply (amavis quotes the next MTA's answer inside its own).
fn queued_as(reply: &str) -> Option<&str> {
    let (_, after) = reply.rsplit_once("queued as ")?;
    let end = after
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(after.len());
    Some(&after[..end]).filter(|id| is_queue_id(id))
}

/// A relay on this host: a loopback address, a UNIX socket, or `localhost`. `relay=local`,
/// `virtual` and pipe transports name no address and are final deliveries.
fn is_local_relay(relay: &str) -> bool {
    let (host, rest) = relay.split_once('[').unwrap_or((relay, ""));
    let address = rest.split(']').next().unwrap_or("");
    address.starts_with("127.")
        || address == "::1"
        || address.eq_ignore_ascii_case("ipv6:::1")
        || address.starts_with("private/")
        || address.starts_with("public/")
        || address.starts_with('/')
        || (host.eq_ignore_ascii_case("localhost") && !relay.contains('['))
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
    Some(decode_value(value))
}

/// (time, tag, message) of a syslog line in either form rsyslog writes.
pub(super) fn split_syslog(
    text: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, &str, &str), String> {
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
