//! The program's one header parser: reading and decoding a message's header block, for every
//! backend, the engine's header view and the log formats that copy header values. Header text
//! is attacker-controlled: it is returned as decoded, never trusted for anything but comparison.

use std::io::{self, Read};

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser};

use super::sender::logged_sender;
use crate::backends::HeaderSummary;
use crate::model::{Location, normalize_message_id};

/// Stop reading a header block here: real ones are a few KiB, and this runs over every
/// message of thousands of mailboxes.
pub(crate) const HEADER_CAP: usize = 256 * 1024;

const READ_CHUNK: usize = 8 * 1024;

/// The header fields the backend uses, decoded. Message-IDs are in `<...>` form.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Headers {
    pub message_id: Option<String>,
    /// The first From address, lower-case (`""` when there is none).
    pub from_address: String,
    /// The whole From field as `Name <address>` pairs, for substring matching.
    pub from_text: String,
    /// The first From entry's display name (`""` when it has none).
    pub from_name: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Decoded (RFC 2047) subject.
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
}

impl Headers {
    /// The sender as the message log records it ([`logged_sender`]).
    pub(crate) fn sender(&self) -> String {
        logged_sender(&self.from_address, &self.from_name)
    }

    /// What a scan reports for these headers, for the copy at `location`. Without a usable
    /// Date header, the received time is the best date there is.
    pub(crate) fn into_summary(self, location: Location, size: u64) -> HeaderSummary {
        let received = location.internal_date;
        HeaderSummary {
            from: self.sender(),
            message_id: self.message_id.unwrap_or_default(),
            to: self.to,
            cc: self.cc,
            subject: self.subject,
            date: self.date.or(received),
            in_reply_to: self.in_reply_to.into_iter().next(),
            references: self.references,
            location,
            size,
        }
    }
}

/// The header block of an open message file: up to and including the blank line, at most
/// [`HEADER_CAP`] bytes.
pub(crate) fn read_header_block(file: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut block = Vec::with_capacity(READ_CHUNK);
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            return Ok(block);
        }
        let searched_from = block.len().saturating_sub(3);
        block.extend_from_slice(&chunk[..read]);
        if let Some(end) = header_end(&block, searched_from) {
            block.truncate(end);
            return Ok(block);
        }
        if block.len() >= HEADER_CAP {
            block.truncate(HEADER_CAP);
            return Ok(block);
        }
    }
}

/// Where the header block ends (after its blank line), looking from `from` on.
fn header_end(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.windows(2)
        .enumerate()
        .find_map(|(at, pair)| match pair {
            [b'\n', b'\n'] => Some(at + 2),
            [b'\n', b'\r'] if tail.get(at + 2) == Some(&b'\n') => Some(at + 3),
            _ => None,
        })
        .map(|end| from + end)
}

/// Whether `haystack` contains `needle` (cheap pre-filter before a full parse).
pub(crate) fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Decode a header block. Never fails: what cannot be parsed is left empty.
pub(crate) fn parse(block: &[u8]) -> Headers {
    let Some(message) = MessageParser::default().parse_headers(block) else {
        return Headers::default();
    };
    let from = message.from();
    Headers {
        message_id: first_message_id(&message),
        from_address: from
            .and_then(Address::first)
            .and_then(|a| a.address())
            .map(str::to_lowercase)
            .unwrap_or_default(),
        from_text: from.map(address_text).unwrap_or_default(),
        from_name: from
            .and_then(Address::first)
            .and_then(|a| a.name())
            .map(|n| n.trim().to_string())
            .unwrap_or_default(),
        to: addresses(message.all_to()),
        cc: addresses(message.all_cc()),
        subject: message.subject().unwrap_or_default().to_string(),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
    }
}

/// Every field of a header block in order, as `(name, value)` with the value's raw text and
/// its folding whitespace collapsed (the header view shows what the message says, undecoded).
pub(crate) fn raw_fields(block: &[u8]) -> Vec<(String, String)> {
    let Some(parsed) = MessageParser::default().parse_headers(block) else {
        return Vec::new();
    };
    parsed
        .headers()
        .iter()
        .map(|h| {
            let value = block
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(|v| {
                    String::from_utf8_lossy(v)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            (h.name().to_string(), value)
        })
        .collect()
}

/// A header value with RFC 2047 encoded words (`=?UTF-8?B?...?=`) decoded, as mail logs copy
/// headers raw; the value itself when it has none or does not decode.
pub(crate) fn decode_value(raw: &str) -> String {
    let raw = raw.trim();
    if !raw.contains("=?") {
        return raw.to_string();
    }
    let block = format!("Subject: {raw}\r\n\r\n");
    MessageParser::default()
        .parse_headers(block.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| raw.to_string())
}

/// The first Message-ID field, as a server indexes it (mail-parser's own accessor returns
/// the last, which a forged second field would control).
fn first_message_id(message: &Message<'_>) -> Option<String> {
    message
        .header_values(HeaderName::MessageId)
        .next()
        .and_then(|value| ids(value).into_iter().next())
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .filter(|id| !id.trim().is_empty())
        .map(|id| normalize_message_id(id))
        .collect()
}

fn addresses<'a>(fields: impl Iterator<Item = &'a Address<'a>>) -> Vec<String> {
    fields
        .flat_map(|field| field.iter())
        .filter_map(|addr| addr.address())
        .map(str::to_lowercase)
        .collect()
}

fn address_text(field: &Address<'_>) -> String {
    field
        .iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (Some(name), None) => name.to_string(),
            (None, Some(address)) => address.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_fields_a_scan_needs() {
        let block = b"Message-ID: <a1@x.test>\r\n\
            From: \"Pay Pal\" <Billing@Evil.Test>\r\n\
            To: Bob <Bob@Demo.Test>, carol@demo.test\r\n\
            Cc: <Dave@Demo.Test>\r\n\
            Subject: =?UTF-8?B?UmVjaG51bmcgZsOkbGxpZw==?=\r\n\
            Date: Thu, 20 Nov 2026 10:00:00 +0100\r\n\
            In-Reply-To: <p0@x.test>\r\n\
            References: <r1@x.test> <p0@x.test>\r\n\r\n";
        let h = parse(block);
        assert_eq!(h.message_id.as_deref(), Some("<a1@x.test>"));
        assert_eq!(h.from_address, "billing@evil.test");
        assert_eq!(h.from_text, "Pay Pal <Billing@Evil.Test>");
        assert_eq!(h.to, vec!["bob@demo.test", "carol@demo.test"]);
        assert_eq!(h.cc, vec!["dave@demo.test"]);
        assert_eq!(h.subject, "Rechnung fällig");
        assert_eq!(
            h.date,
            DateTime::parse_from_rfc3339("2026-11-20T09:00:00Z")
                .ok()
                .map(|d| d.with_timezone(&Utc))
        );
        assert_eq!(h.in_reply_to, vec!["<p0@x.test>"]);
        assert_eq!(h.references, vec!["<r1@x.test>", "<p0@x.test>"]);
    }

    #[test]
    fn a_from_without_an_address_is_named_by_its_display_name() {
        for (from, want) in [
            ("From: \"PayPal Security\"\r\n", "\"PayPal Security\""),
            ("From: Microsoft\r\n", "\"Microsoft\""),
            ("From: \"Bob\" <Bob@Demo.Test>\r\n", "bob@demo.test"),
            ("", "\"\""),
        ] {
            let block = format!("Message-ID: <n@x.test>\r\n{from}Subject: hi\r\n\r\n");
            assert_eq!(parse(block.as_bytes()).sender(), want, "{from:?}");
        }
    }

    #[test]
    fn raw_fields_keep_order_and_raw_text_with_folding_collapsed() {
        let block = b"Subject: =?UTF-8?B?aGk=?=\r\nX-Long: a\r\n  b\r\nSubject: two\r\n\r\nbody";
        assert_eq!(
            raw_fields(block),
            vec![
                ("Subject".to_string(), "=?UTF-8?B?aGk=?=".to_string()),
                ("X-Long".to_string(), "a b".to_string()),
                ("Subject".to_string(), "two".to_string()),
            ]
        );
    }

    #[test]
    fn a_logged_value_is_decoded_only_when_it_has_encoded_words() {
        assert_eq!(
            decode_value(" =?UTF-8?B?UmVjaG51bmcgZsOkbGxpZw==?= "),
            "Rechnung fällig"
        );
        assert_eq!(decode_value("plain =? text"), "plain =? text");
        assert_eq!(decode_value("  no words "), "no words");
    }

    #[test]
    fn the_first_message_id_field_wins() {
        let h = parse(b"Message-ID: <first@x>\nMessage-ID: <second@x>\n\n");
        assert_eq!(h.message_id.as_deref(), Some("<first@x>"));
    }

    #[test]
    fn broken_headers_do_not_panic() {
        let h = parse(b"Subject: \xff\xfe\x00bad\nFrom: <<<\nDate: yesterday\n\n");
        assert_eq!(h.message_id, None);
        assert_eq!(h.date, None);
        assert_eq!(parse(b""), Headers::default());
        assert_eq!(parse(b"\n\nbody only").message_id, None);
    }

    #[test]
    fn header_block_stops_at_the_blank_line() {
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n\r\nbody", 0), Some(14));
        assert_eq!(header_end(b"A: 1\nB: 2\n\nbody", 0), Some(11));
        assert_eq!(header_end(b"A: 1\nB: 2\n", 0), None);
        assert_eq!(header_end(b"A: 1\n\nX", 3), Some(6));
    }

    #[test]
    fn reads_only_the_header_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let body = "x".repeat(3 * READ_CHUNK);
        std::fs::write(&path, format!("Subject: hi\r\n\r\n{body}")).unwrap();
        assert_eq!(
            read_header_block(&mut std::fs::File::open(&path).unwrap()).unwrap(),
            b"Subject: hi\r\n\r\n"
        );
    }

    #[test]
    fn header_block_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        std::fs::write(&path, "X: y\n".repeat(HEADER_CAP)).unwrap();
        assert_eq!(
            read_header_block(&mut std::fs::File::open(&path).unwrap())
                .unwrap()
                .len(),
            HEADER_CAP
        );
    }

    #[test]
    fn byte_search_finds_substrings() {
        assert!(contains_bytes(b"Message-ID: <abc@x>", b"abc@x"));
        assert!(!contains_bytes(b"Message-ID: <ab@x>", b"abc@x"));
    }
}
