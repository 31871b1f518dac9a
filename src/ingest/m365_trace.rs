//! `ingest --format m365-trace`: a Microsoft 365 message-trace CSV export (Exchange admin
//! center download, `Get-MessageTrace | Export-Csv`, or the Graph message-trace fields), one
//! row per recipient; rows with the same Message ID join into one record.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Read};
use std::rc::Rc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::decode::Decoded;
use super::lines::MAX_LINE;
use super::{IngestError, IngestReport, Loader, TenantResolver, envelope_sender};
use crate::model::{MessageRecord, normalize_message_id};
use crate::store::Store;

/// Joined records held before they are handed to the store. Exports are sorted by time, so a
/// message's rows sit together; past this many the held records go out early, and the
/// store's Message-ID merge joins any rows that come later.
const HELD: usize = 50_000;

/// Load a message-trace CSV from `input`. Columns are found by header name (any case, any
/// order, spaces or underscores); a missing required column fails the whole input before
/// anything is loaded. Rows whose Status is not `Delivered` are counted by status; bad rows
/// are reported with their line number and skipped.
pub fn ingest(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
) -> Result<IngestReport, IngestError> {
    let (input, type_line) = skip_type_line(Decoded::new(input))
        .map_err(|e| IngestError::BadInput(format!("cannot read the first line: {e}")))?;
    let marks = Rc::new(RefCell::new(Marks::default()));
    let mut lines = LineNumbers {
        marks: Rc::clone(&marks),
        passed: u64::from(type_line),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(CountNewlines {
            inner: input,
            offset: 0,
            at_line_start: true,
            marks,
        });
    let headers = reader
        .byte_headers()
        .map_err(|e| IngestError::BadInput(format!("cannot read the header row: {e}")))?
        .clone();
    let columns = Columns::find(&headers)?;
    let mut loader = Loader::new(store, resolver);
    let mut held: Vec<(u64, MessageRecord)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut row = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = lines.at(e.position());
                loader.reject(line, format!("cannot read: {e}"));
                if e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        let line = lines.at(row.position());
        match columns.parse(&row, headers.len()) {
            Ok(Row::NotDelivered(status)) => loader.not_delivered(&status),
            Ok(Row::Delivered(record)) => {
                let record = *record;
                let key = normalize_message_id(&record.message_id);
                match by_id.get(&key).and_then(|&i| held.get_mut(i)) {
                    Some((_, joined)) => join(joined, record),
                    None => {
                        by_id.insert(key, held.len());
                        held.push((line, record));
                    }
                }
                if held.len() >= HELD {
                    by_id.clear();
                    for (line, record) in held.drain(..) {
                        loader.push(line, record)?;
                    }
                }
            }
            Err(reason) => loader.reject(line, reason),
        }
    }
    for (line, record) in held {
        loader.push(line, record)?;
    }
    Ok(loader.finish()?)
}

/// Windows PowerShell 5.1's `Export-Csv` (and `ConvertTo-Csv`) writes `#TYPE <.NET type>`
/// above the header unless told `-NoTypeInformation`; `Get-MessageTrace | Export-Csv` files
/// start `#TYPE Deserialized.Microsoft.Exchange...`. The line names the object type only, so
/// it is dropped; `true` when there was one. Anything else is handed back unread.
fn skip_type_line<R: BufRead>(mut input: R) -> std::io::Result<(impl BufRead, bool)> {
    let mut first = Vec::new();
    (&mut input)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut first)?;
    let type_line = first.starts_with(b"#TYPE");
    if type_line {
        first.clear();
    }
    Ok((std::io::Cursor::new(first).chain(input), type_line))
}

/// Passes input through to csv, noting where lines break and where each non-blank line
/// starts. csv's own line count comes out one short after CRLF line ends (Windows exports use
/// them) and its record position can point at the blank lines before a record, so rows are
/// named from these marks instead.
struct CountNewlines<R> {
    inner: R,
    offset: u64,
    at_line_start: bool,
    marks: Rc<RefCell<Marks>>,
}

/// Marks read ahead of the current record: at most csv's buffer and one record.
#[derive(Default)]
struct Marks {
    newlines: VecDeque<u64>,
    line_starts: VecDeque<u64>,
}

impl<R: Read> Read for CountNewlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut marks = self.marks.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\n' => {
                    marks.newlines.push_back(at);
                    self.at_line_start = true;
                }
                b'\r' => {}
                _ if self.at_line_start => {
                    marks.line_starts.push_back(at);
                    self.at_line_start = false;
                }
                _ => {}
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Turns a record's position into the line number of its first byte.
struct LineNumbers {
    marks: Rc<RefCell<Marks>>,
    passed: u64,
}

impl LineNumbers {
    fn at(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(byte) = position.map(csv::Position::byte) else {
            return 0;
        };
        let mut marks = self.marks.borrow_mut();
        // A record begins on the first non-blank line at or after csv's position.
        while marks.line_starts.front().is_some_and(|&s| s < byte) {
            marks.line_starts.pop_front();
        }
        let start = marks.line_starts.front().copied().unwrap_or(byte);
        while marks.newlines.front().is_some_and(|&at| at < start) {
            marks.newlines.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// Add another recipient row of the same message to its record.
fn join(joined: &mut MessageRecord, row: MessageRecord) {
    for r in row.to {
        if !joined.to.contains(&r) {
            joined.to.push(r);
        }
    }
    joined.received_at = joined.received_at.min(row.received_at);
    if joined.subject.is_empty() {
        joined.subject = row.subject;
    }
    if joined.size.is_none() {
        joined.size = row.size;
    }
}

enum Row {
    Delivered(Box<MessageRecord>),
    NotDelivered(String),
}

/// A column as exports name it: a display name for messages and every accepted spelling,
/// compared lower-case with everything but letters and digits removed.
struct Column {
    name: &'static str,
    keys: &'static [&'static str],
}

const RECEIVED: Column = Column {
    name: "Received (or date_time_utc)",
    keys: &["received", "datetimeutc", "receiveddatetime", "dateutc"],
};
const SENDER: Column = Column {
    name: "Sender address (or sender_address)",
    keys: &["senderaddress", "sender"],
};
const RECIPIENT: Column = Column {
    name: "Recipient address (or recipient_address)",
    keys: &["recipientaddress", "recipient"],
};
const STATUS: Column = Column {
    name: "Status",
    keys: &["status", "deliverystatus"],
};
const MESSAGE_ID: Column = Column {
    name: "Message ID (or message_id)",
    keys: &["messageid"],
};
const SUBJECT: Column = Column {
    name: "Subject",
    keys: &["subject", "messagesubject"],
};
const SIZE: Column = Column {
    name: "Size (or message_size)",
    keys: &["size", "messagesize"],
};
const TRACE_ID: Column = Column {
    name: "Message trace ID (or message_trace_id)",
    keys: &["messagetraceid"],
};

/// Where each field is in this export.
struct Columns {
    received: usize,
    sender: usize,
    recipient: usize,
    status: usize,
    message_id: usize,
    subject: Option<usize>,
    size: Option<usize>,
    trace_id: Option<usize>,
}

fn header_key(raw: &[u8]) -> String {
    raw.iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_lowercase() as char)
        .collect()
}

impl Columns {
    fn find(headers: &csv::ByteRecord) -> Result<Columns, IngestError> {
        let keys: Vec<String> = headers.iter().map(header_key).collect();
        let optional = |c: &Column| keys.iter().position(|k| c.keys.contains(&k.as_str()));
        let required = |c: &Column| {
            optional(c).ok_or_else(|| {
                IngestError::BadInput(format!(
                    "missing column \"{}\": not a message-trace export? (header: {})",
                    c.name,
                    String::from_utf8_lossy(headers.as_slice())
                        .chars()
                        .take(200)
                        .collect::<String>()
                ))
            })
        };
        Ok(Columns {
            received: required(&RECEIVED)?,
            sender: required(&SENDER)?,
            recipient: required(&RECIPIENT)?,
            status: required(&STATUS)?,
            message_id: required(&MESSAGE_ID)?,
            subject: optional(&SUBJECT),
            size: optional(&SIZE),
            trace_id: optional(&TRACE_ID),
        })
    }

    fn parse(&self, row: &csv::ByteRecord, width: usize) -> Result<Row, String> {
        // A quote left open swallows the lines after it into one field: say so, since those
        // lines are lost with this row.
        let newlines = row
            .iter()
            .map(|f| f.iter().filter(|b| **b == b'\n').count())
            .sum::<usize>();
        // The input's own last line end, read into the open field, is not another line.
        let ends_the_input = row.iter().next_back().is_some_and(|f| f.ends_with(b"\n"));
        let swallowed = newlines - usize::from(ends_the_input && newlines > 0);
        if row.len() < width && swallowed > 0 {
            return Err(format!(
                "{} fields where the header has {width}: a quote is not closed, and the {swallowed} line(s) after it were read into this row",
                row.len()
            ));
        }
        if row.len() < width {
            return Err(format!(
                "{} fields where the header has {width} (row cut short?)",
                row.len()
            ));
        }
        // Trailing empty fields (a comma at the end of a row) are harmless; anything else
        // past the header's width means a field held an unquoted comma and the columns
        // shifted, so no column of this row can be trusted.
        if row.iter().skip(width).any(|f| !f.is_empty()) {
            return Err(format!(
                "{} fields where the header has {width} (an unquoted comma in a field?)",
                row.len()
            ));
        }
        let text = |i: usize| -> String {
            row.get(i)
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default()
        };
        let required = |i: usize, c: &Column| {
            let v = text(i);
            if v.is_empty() {
                Err(format!("empty \"{}\"", c.name))
            } else {
                Ok(v)
            }
        };
        let status = required(self.status, &STATUS)?;
        if !status.eq_ignore_ascii_case("delivered") {
            return Ok(Row::NotDelivered(status));
        }
        let received = required(self.received, &RECEIVED)?;
        let received_at = parse_time(&received)?;
        let size = match self.size.map(text).filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<u64>()
                    .map_err(|_| format!("size {s:?} is not a number"))?,
            ),
            None => None,
        };
        Ok(Row::Delivered(Box::new(MessageRecord {
            message_id: required(self.message_id, &MESSAGE_ID)?,
            from: envelope_sender(&text(self.sender)),
            to: vec![required(self.recipient, &RECIPIENT)?],
            cc: Vec::new(),
            subject: self.subject.map(text).unwrap_or_default(),
            received_at,
            disposition: None,
            in_reply_to: None,
            references: Vec::new(),
            size,
            tenant: None,
            source_id: self.trace_id.map(text).filter(|s| !s.is_empty()),
        })))
    }
}

/// Trace times are UTC; exports write them as RFC 3339, ISO without a zone, or in the
/// en-US form the admin center and PowerShell use (`11/20/2026 10:00:01 AM`). Other
/// locales' day-first dates are refused rather than guessed.
fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M",
    ];
    let naive = s.trim_end_matches('Z');
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("date {s:?} is not RFC 3339, YYYY-MM-DD HH:MM:SS or M/D/YYYY h:mm:ss AM")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::temp_store;
    use crate::store::{RefMatch, StoreError};

    use crate::ingest::test_config as config;

    fn run(csv: &str) -> Result<(IngestReport, Store, tempfile::TempDir), IngestError> {
        let (dir, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let report = ingest(&store, &resolver, csv.as_bytes())?;
        Ok((report, store, dir))
    }

    fn one(store: &Store, id: &str) -> Result<crate::model::LoggedMessage, StoreError> {
        match store.resolve_ref(id)? {
            RefMatch::One(m) => Ok(*m),
            _ => panic!("{id} not logged exactly once"),
        }
    }

    /// The admin-center download: BOM, CRLF, quoted fields, title-case headers.
    const EAC: &str = "\u{feff}\"Received\",\"Sender address\",\"Recipient address\",\"Subject\",\"Status\",\"To IP\",\"From IP\",\"Size\",\"Message ID\",\"Message trace ID\"\r\n\
\"11/20/2026 10:00:01 AM\",\"billing@bad.example\",\"alice@corp.test\",\"Invoice 4411, \"\"final\"\" notice\",\"Delivered\",\"\",\"203.0.113.5\",\"48213\",\"<inv-77@bad.example>\",\"6f1d2c3b-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 10:00:01 AM\",\"billing@bad.example\",\"Bob@Corp.test\",\"Invoice 4411, \"\"final\"\" notice\",\"Delivered\",\"\",\"203.0.113.5\",\"48213\",\"<inv-77@bad.example>\",\"6f1d2c3b-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 10:00:01 AM\",\"billing@bad.example\",\"sales@corp.test\",\"Invoice 4411, \"\"final\"\" notice\",\"Expanded\",\"\",\"203.0.113.5\",\"48213\",\"<inv-77@bad.example>\",\"6f1d2c3b-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 10:00:02 AM\",\"billing@bad.example\",\"carol@corp.test\",\"Invoice 4411, \"\"final\"\" notice\",\"Quarantined\",\"\",\"203.0.113.5\",\"48213\",\"<inv-77@bad.example>\",\"6f1d2c3b-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 10:00:02 AM\",\"billing@bad.example\",\"dan@corp.test\",\"Invoice 4411, \"\"final\"\" notice\",\"Delivered\",\"\",\"203.0.113.5\",\"48213\",\"<inv-77@bad.example>\",\"6f1d2c3b-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 10:05:00 AM\",\"ops@partner.example\",\"erin@corp.test\",\"Weekly report\",\"Failed\",\"\",\"198.51.100.7\",\"2100\",\"<w1@partner.example>\",\"6f1d2c3b-0000-4000-8000-000000000002\"\r\n\
\"yesterday\",\"ops@partner.example\",\"erin@corp.test\",\"Weekly report\",\"Delivered\",\"\",\"198.51.100.7\",\"2100\",\"<w2@partner.example>\",\"6f1d2c3b-0000-4000-8000-000000000003\"\r\n\
\"11/20/2026 10:06:00 AM\",\"ops@partner.example\",\"erin@corp.test\"\r\n\
\"11/20/2026 1:07:00 PM\",\"\",\"frank@corp.test\",\"Undeliverable: hello\",\"Delivered\",\"\",\"\",\"\",\"<ndr-1@corp.test>\",\"\"\r\n";

    #[test]
    fn rows_join_by_message_id_and_only_delivered_rows_count() -> Result<(), IngestError> {
        let (report, store, _dir) = run(EAC)?;
        assert_eq!(report.records, 2, "{report:?}");
        assert_eq!(report.inserted, 2);
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![8, 9], "{:?}", report.rejected);
        assert!(report.rejected[0].reason.contains("yesterday"));
        assert!(report.rejected[1].reason.contains("cut short"));
        let counted: Vec<(&str, u64)> = report
            .not_delivered
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            counted,
            vec![("expanded", 1), ("failed", 1), ("quarantined", 1)]
        );

        let inv = one(&store, "inv-77@bad.example")?;
        assert_eq!(
            inv.recipients,
            vec!["alice@corp.test", "bob@corp.test", "dan@corp.test"]
        );
        assert_eq!(inv.subject, "Invoice 4411, \"final\" notice");
        assert_eq!(inv.from, "billing@bad.example");
        assert_eq!(inv.size, Some(48213));
        assert_eq!(inv.received_at.to_rfc3339(), "2026-11-20T10:00:01+00:00");
        assert_eq!(
            inv.source_id.as_deref(),
            Some("6f1d2c3b-0000-4000-8000-000000000001")
        );

        let ndr = one(&store, "ndr-1@corp.test")?;
        assert_eq!(ndr.from, "mailer-daemon");
        assert_eq!(ndr.received_at.to_rfc3339(), "2026-11-20T13:07:00+00:00");
        assert_eq!(ndr.size, None);
        Ok(())
    }

    #[test]
    fn snake_case_headers_in_another_order_without_optional_columns() -> Result<(), IngestError> {
        let csv = "message_id,STATUS,recipient_address,date_time_utc,sender_address,message_size\n\
<s1@x.example>,delivered,gail@corp.test,2026-11-20T09:00:00.1234567Z,a@x.example,10\n\
<s1@x.example>,Delivered,hank@corp.test,2026-11-20 08:59:59,a@x.example,10\n\
<s1@x.example>,FilteredAsSpam,ivy@corp.test,2026-11-20 08:59:59,a@x.example,10\n";
        let (report, store, _dir) = run(csv)?;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.records, 1);
        assert_eq!(report.not_delivered.get("filteredasspam"), Some(&1));
        let m = one(&store, "s1@x.example")?;
        assert_eq!(m.recipients, vec!["gail@corp.test", "hank@corp.test"]);
        assert_eq!(m.subject, "");
        assert_eq!(m.received_at.to_rfc3339(), "2026-11-20T08:59:59+00:00");
        Ok(())
    }

    #[test]
    fn a_missing_required_column_loads_nothing() -> Result<(), StoreError> {
        let csv = "Received,Sender address,Subject,Status,Message ID\n\
11/20/2026 10:00:01 AM,a@x.example,hi,Delivered,<m1@x.example>\n";
        let (_dir, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        match ingest(&store, &resolver, csv.as_bytes()) {
            Err(IngestError::BadInput(m)) => {
                assert!(m.contains("missing column \"Recipient address"), "{m}")
            }
            other => panic!("expected a missing-column error, got {other:?}"),
        }
        assert!(matches!(store.resolve_ref("m1@x.example")?, RefMatch::None));
        let empty = ingest(&store, &resolver, &b""[..]);
        assert!(matches!(empty, Err(IngestError::BadInput(_))), "{empty:?}");
        Ok(())
    }

    #[test]
    fn shifted_columns_and_unclosed_quotes_are_refused_by_name() -> Result<(), IngestError> {
        let csv = "Received,Sender address,Recipient address,Subject,Status,Message ID\n\
11/20/2026 10:00:01 AM,a@x.example,gail@corp.test,hi, Delivered,Delivered,<m3@x.example>\n\
11/20/2026 10:00:01 AM,a@x.example,hank@corp.test,fine,Delivered,<m4@x.example>,,\n\
11/20/2026 10:00:01 AM,a@x.example,kim@corp.test,\"two\nlines\",Delivered,<m7@x.example>,\n\
11/20/2026 10:00:01 AM,a@x.example,ivy@corp.test,\"broken,Delivered,<m5@x.example>\n\
11/20/2026 10:00:02 AM,a@x.example,jon@corp.test,after,Delivered,<m6@x.example>\n";
        let (report, store, _dir) = run(csv)?;
        let rejected: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        assert_eq!(rejected[0].0, 2);
        assert!(rejected[0].1.contains("unquoted comma"), "{rejected:?}");
        assert_eq!(rejected[1].0, 6);
        assert!(
            rejected[1].1.contains("quote is not closed"),
            "{rejected:?}"
        );
        assert!(rejected[1].1.contains("1 line(s)"), "{rejected:?}");
        // No record was made from shifted columns; trailing empty fields are harmless.
        assert!(matches!(store.resolve_ref("Delivered")?, RefMatch::None));
        assert!(matches!(store.resolve_ref("m3@x.example")?, RefMatch::None));
        assert_eq!(
            one(&store, "m4@x.example")?.recipients,
            vec!["hank@corp.test"]
        );
        // A quoted line break with a trailing comma is a good row.
        assert_eq!(one(&store, "m7@x.example")?.subject, "two\nlines");
        assert_eq!(report.records, 2);
        Ok(())
    }

    #[test]
    fn bad_rows_are_named_by_their_line_with_either_line_end() -> Result<(), IngestError> {
        let lf = "Received,Sender address,Recipient address,Subject,Status,Message ID\n\
11/20/2026 10:00:01 AM,a@x.example,gail@corp.test,\"two\nlines\",Delivered,<m2@x.example>\n\
\n\
11/20/2026 10:00:01 AM,a@x.example,gail@corp.test,hi,Delivered,\n";
        for input in [lf.to_string(), lf.replace('\n', "\r\n")] {
            let (report, store, _dir) = run(&input)?;
            let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![5], "{input:?}: {:?}", report.rejected);
            assert!(report.rejected[0].reason.contains("empty \"Message ID"));
            let m = one(&store, "m2@x.example")?;
            assert!(m.subject.starts_with("two"), "{:?}", m.subject);
        }
        Ok(())
    }

    #[test]
    fn trace_times() {
        for (raw, want) in [
            ("11/20/2026 10:00:01 AM", "2026-11-20T10:00:01+00:00"),
            ("1/2/2026 12:30:00 AM", "2026-01-02T00:30:00+00:00"),
            ("11/20/2026 22:00", "2026-11-20T22:00:00+00:00"),
            ("2026-11-20T10:00:01+01:00", "2026-11-20T09:00:01+00:00"),
        ] {
            match parse_time(raw) {
                Ok(t) => assert_eq!(t.to_rfc3339(), want, "{raw}"),
                Err(e) => panic!("{raw}: {e}"),
            }
        }
        assert!(parse_time("20/11/2026 10:00:01").is_err());
    }

    #[test]
    fn a_powershell_type_line_and_utf16_keep_line_numbers() -> Result<(), IngestError> {
        let csv = "#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTrace\r\n\
\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"MessageId\"\r\n\
\"11/20/2026 10:00:01 AM\",\"a@x.example\",\"gail@corp.test\",\"Caf\u{e9} \u{1f4ce}\",\"Delivered\",\"<t1@x.example>\"\r\n\
\"someday\",\"a@x.example\",\"hank@corp.test\",\"x\",\"Delivered\",\"<t2@x.example>\"\r\n";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in csv.encode_utf16() {
            le.extend(unit.to_le_bytes());
            be.extend(unit.to_be_bytes());
        }
        for input in [csv.as_bytes().to_vec(), le, be] {
            let (dir, store) = temp_store();
            let cfg = config();
            let resolver = match TenantResolver::new(&cfg, None) {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            let report = ingest(&store, &resolver, input.as_slice())?;
            let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![4], "{:?}", report.rejected);
            assert_eq!(one(&store, "t1@x.example")?.subject, "Caf\u{e9} \u{1f4ce}");
            drop(dir);
        }
        Ok(())
    }
}
