//! The Received chain as a routing path. Each relay prepends its Received field, so the top
//! one is our own last hop and the bottom one the origin; the path is given origin first.
//! Hops below our own boundary were written by whoever sent the message and prove nothing:
//! they are listed as the message says, for the analyst to judge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::HeaderLine;

/// One relay of the message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The sending host as it named itself (HELO), or `""`.
    pub from: String,
    /// The receiving host, or `""`.
    pub by: String,
    /// The sender's IP address as the receiver saw it (`[...]` in the from clause), or `""`.
    pub address: String,
    /// The sender's reverse DNS name as the receiver looked it up, or `""`.
    pub reverse_dns: String,
    /// Protocol (`ESMTPS`, `LMTP`, ...), or `""`.
    pub with: String,
    /// When the receiver took the message (the date after `;`), when it parses.
    pub at: Option<DateTime<Utc>>,
    /// Seconds since the previous hop received it; `None` for the first hop or an unknown
    /// time. Negative when clocks disagree (shown as is: a sign of a forged or skewed hop).
    pub delay_secs: Option<i64>,
}

/// The routing path of a message from its header fields (origin first).
pub fn path(headers: &[HeaderLine]) -> Vec<Hop> {
    let mut hops: Vec<Hop> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Received"))
        .map(|h| hop(&h.value))
        .collect();
    hops.reverse();
    let mut previous: Option<DateTime<Utc>> = None;
    for hop in &mut hops {
        hop.delay_secs = match (previous, hop.at) {
            (Some(before), Some(at)) => Some((at - before).num_seconds()),
            _ => None,
        };
        if hop.at.is_some() {
            previous = hop.at;
        }
    }
    hops
}

/// One Received value: `from A (B [1.2.3.4]) by C with P id I for <x>; DATE`.
fn hop(value: &str) -> Hop {
    let (clauses, date) = match value.rfind(';') {
        Some(at) => (&value[..at], Some(&value[at + 1..])),
        None => (value, None),
    };
    let mut hop = Hop {
        at: date.and_then(parse_date),
        ..Hop::default()
    };
    let words = words(clauses);
    let mut i = 0;
    while i < words.len() {
        let keyword = words[i].to_ascii_lowercase();
        let next = words.get(i + 1).map(|w| w.as_str()).unwrap_or("");
        let takes = !next.starts_with('(');
        match keyword.as_str() {
            "from" if takes => {
                hop.from = next.trim_matches(|c| c == '[' || c == ']').to_string();
                if looks_like_ip(&hop.from) {
                    hop.address = hop.from.clone();
                }
                // The comment right after the name holds what the receiver saw.
                if let Some(comment) = words.get(i + 2).filter(|w| w.starts_with('(')) {
                    let (rdns, ip) = comment_parts(comment);
                    if let Some(ip) = ip {
                        hop.address = ip;
                    }
                    hop.reverse_dns = rdns;
                }
                i += 1;
            }
            "by" if takes => {
                hop.by = next.to_string();
                i += 1;
            }
            "with" if takes => {
                hop.with = next.to_string();
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    hop
}

/// Words of a Received value, a parenthesised comment (nested ones included) being one word.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                if depth == 0 && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                depth += 1;
                current.push(c);
            }
            ')' if depth > 0 => {
                depth -= 1;
                current.push(c);
                if depth == 0 {
                    out.push(std::mem::take(&mut current));
                }
            }
            c if c.is_whitespace() && depth == 0 => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `(mail.example [192.0.2.1])`, `([192.0.2.1])`, `(unknown [IPv6:2001:db8::1])`: the reverse
/// name (`""` for `unknown` or none) and the address.
fn comment_parts(comment: &str) -> (String, Option<String>) {
    let inner = comment.trim_start_matches('(').trim_end_matches(')');
    let ip = inner.find('[').and_then(|open| {
        let rest = &inner[open + 1..];
        rest.find(']').map(|close| {
            let ip = &rest[..close];
            ip.strip_prefix("IPv6:").unwrap_or(ip).to_string()
        })
    });
    let name = inner
        .split_whitespace()
        .next()
        .filter(|w| !w.starts_with('[') && !w.eq_ignore_ascii_case("unknown"))
        .filter(|w| w.contains('.') && !w.contains('='))
        .unwrap_or("")
        .to_string();
    (name, ip.filter(|ip| looks_like_ip(ip)))
}

fn looks_like_ip(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
}

/// RFC 5322 dates as relays write them, with or without a trailing `(UTC)` comment.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let text = match text.find('(') {
        Some(at) => text[..at].trim(),
        None => text,
    };
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}
