//! IMAP4rev1 wire format: building command arguments and parsing the responses this client
//! needs (status responses with their codes, CAPABILITY, LIST, STATUS, SEARCH, FETCH).
//!
//! A response arrives as one byte buffer with its literals inline (`{n}\r\n` + n bytes), as
//! read by `conn.rs`; everything here is pure and unit-tested.

use chrono::{DateTime, Utc};

/// One piece of a command: text sent as is, or a literal (sent as `{n}` + the bytes after
/// the server's continuation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Literal(Vec<u8>),
}

/// A string argument: quoted when it is plain printable ASCII, else a literal (quoted
/// strings may not carry CR, LF, NUL or 8-bit bytes).
pub fn astring(value: &str) -> Part {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if plain {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        Part::Text(format!("\"{escaped}\""))
    } else {
        Part::Literal(value.as_bytes().to_vec())
    }
}

/// A parsed data item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An atom, number or NIL (`\Seen`, `BODY[HEADER.FIELDS (MESSAGE-ID)]`, `42`).
    Atom(String),
    /// A quoted string or a literal.
    Str(Vec<u8>),
    List(Vec<Value>),
}

impl Value {
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Atom(a) if a.eq_ignore_ascii_case("NIL") => None,
            Value::Atom(a) => Some(a.clone()),
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            Value::List(_) => None,
        }
    }

    pub fn as_number(&self) -> Option<u64> {
        match self {
            Value::Atom(a) => a.parse().ok(),
            _ => None,
        }
    }
}

/// Parse a sequence of data items (space-separated values, lists, strings, literals).
pub fn parse_values(buf: &[u8]) -> Result<Vec<Value>, String> {
    let mut p = Parser { buf, pos: 0 };
    let values = p.sequence(0)?;
    Ok(values)
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Deepest list nesting parsed.
const MAX_NESTING: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The values up to the end of the list opened `depth` levels down (0: the whole input).
    /// The depth is bounded: real responses nest a few levels (BODYSTRUCTURE the most), and a
    /// server's thousand `(` must be an error, not a stack overflow.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Value>, String> {
        if depth > MAX_NESTING {
            return Err(format!("lists nested over {MAX_NESTING} deep"));
        }
        let in_list = depth > 0;
        let mut out = Vec::new();
        loop {
            while matches!(self.peek(), Some(b' ' | b'\r' | b'\n')) {
                self.pos += 1;
            }
            match self.peek() {
                None if in_list => return Err("unterminated list".into()),
                None => return Ok(out),
                Some(b')') if in_list => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b')') => return Err(format!("unexpected ')' at {}", self.pos)),
                Some(b'(') => {
                    self.pos += 1;
                    out.push(Value::List(self.sequence(depth + 1)?));
                }
                Some(b'"') => out.push(Value::Str(self.quoted()?)),
                Some(b'{') => out.push(Value::Str(self.literal()?)),
                Some(_) => out.push(Value::Atom(self.atom())),
            }
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".into()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or("unterminated quoted string")?;
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Vec<u8>, String> {
        let close = self.buf[self.pos..]
            .iter()
            .position(|&b| b == b'}')
            .ok_or("unterminated literal size")?;
        let size_text = String::from_utf8_lossy(&self.buf[self.pos + 1..self.pos + close]);
        let size: usize = size_text
            .trim_end_matches('+')
            .parse()
            .map_err(|_| format!("bad literal size {{{size_text}}}"))?;
        let start = self.pos + close + 1;
        let start = if self.buf[start..].starts_with(b"\r\n") {
            start + 2
        } else {
            return Err("literal size not followed by CRLF".into());
        };
        let end = start
            .checked_add(size)
            .filter(|&e| e <= self.buf.len())
            .ok_or("literal shorter than announced")?;
        self.pos = end;
        Ok(self.buf[start..end].to_vec())
    }

    /// An atom; a `[` section (`BODY[HEADER.FIELDS (A B)]`) may hold spaces and parentheses.
    fn atom(&mut self) -> String {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b' ' | b'(' | b')' | b'\r' | b'\n' if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned()
    }
}

/// The status of a tagged or untagged status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

/// `OK [CODE args] text` split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub status: Status,
    /// The response code, upper-cased name first (`COPYUID 7 3 12`).
    pub code: Option<String>,
    pub text: String,
}

/// Parse `OK [..] text` (the part after the tag or `* `); `None` when it is not a status.
pub fn status_line(rest: &[u8]) -> Option<StatusLine> {
    let text = String::from_utf8_lossy(rest);
    let text = text.trim_end_matches(['\r', '\n']);
    let (word, tail) = text.split_once(' ').unwrap_or((text, ""));
    let status = match word.to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        "BAD" => Status::Bad,
        "BYE" => Status::Bye,
        "PREAUTH" => Status::Preauth,
        _ => return None,
    };
    let (code, text) = match tail.strip_prefix('[').and_then(|t| t.split_once(']')) {
        Some((code, text)) => (Some(code.to_string()), text.trim().to_string()),
        None => (None, tail.to_string()),
    };
    Some(StatusLine { status, code, text })
}

/// The upper-cased name of a response code (`COPYUID` of `COPYUID 7 3 12`).
pub fn code_name(code: &str) -> String {
    code.split(' ').next().unwrap_or("").to_ascii_uppercase()
}

/// `[COPYUID dst-uidvalidity src-uids dst-uids]` (RFC 4315): the destination validity and
/// the (source uid, destination uid) pairs.
pub fn copyuid(code: &str) -> Option<(u32, Vec<(u32, u32)>)> {
    let mut parts = code.split_ascii_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("COPYUID") {
        return None;
    }
    let validity = parts.next()?.parse().ok()?;
    let src = uid_set(parts.next()?)?;
    let dst = uid_set(parts.next()?)?;
    (src.len() == dst.len()).then(|| (validity, src.into_iter().zip(dst).collect()))
}

/// `[APPENDUID uidvalidity uid]` (RFC 4315).
pub fn appenduid(code: &str) -> Option<(u32, u32)> {
    let mut parts = code.split_ascii_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("APPENDUID") {
        return None;
    }
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Most uids one set may expand to; a hostile `1:4294967295` must not allocate gigabytes.
const MAX_SET: usize = 100_000;

/// A uid set (`3`, `1:4,9`) expanded in order.
pub fn uid_set(text: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for piece in text.split(',') {
        match piece.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                let (lo, hi) = (a.min(b), a.max(b));
                if (hi - lo) as usize + out.len() >= MAX_SET {
                    return None;
                }
                out.extend(lo..=hi);
            }
            None => out.push(piece.parse().ok()?),
        }
    }
    Some(out)
}

/// A compact uid set for a command (`3,5,9`).
pub fn uid_list(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One folder from `* LIST (attributes) "sep" name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// Attributes as sent (`\Junk`, `\HasNoChildren`).
    pub attributes: Vec<String>,
    pub separator: Option<String>,
    pub name: String,
}

impl ListEntry {
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }

    /// Whether the folder can be selected (not `\Noselect` / `\NonExistent`).
    pub fn selectable(&self) -> bool {
        !self.has("\\Noselect") && !self.has("\\NonExistent")
    }
}

/// Parse the data of an untagged `LIST` response (after `LIST `).
pub fn list_entry(data: &[u8]) -> Option<ListEntry> {
    let values = parse_values(data).ok()?;
    let mut it = values.into_iter();
    let Some(Value::List(attrs)) = it.next() else {
        return None;
    };
    let separator = it.next()?.as_text();
    let name = it.next()?.as_text()?;
    Some(ListEntry {
        attributes: attrs.iter().filter_map(Value::as_text).collect(),
        separator,
        name,
    })
}

/// Parse `* STATUS name (MESSAGES n ...)` data (after `STATUS `): (name, messages).
pub fn status_messages(data: &[u8]) -> Option<(String, u64)> {
    let values = parse_values(data).ok()?;
    let name = values.first()?.as_text()?;
    let Some(Value::List(items)) = values.get(1) else {
        return None;
    };
    let messages = items
        .chunks(2)
        .find(|kv| {
            kv.first()
                .and_then(Value::as_text)
                .is_some_and(|k| k.eq_ignore_ascii_case("MESSAGES"))
        })
        .and_then(|kv| kv.get(1))
        .and_then(Value::as_number)?;
    Some((name, messages))
}

/// What one `* n FETCH (...)` response says about a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    pub uid: Option<u32>,
    pub flags: Vec<String>,
    pub internal_date: Option<DateTime<Utc>>,
    pub size: Option<u64>,
    /// The body section that was asked for (`BODY[...]`), if any.
    pub body: Option<Vec<u8>>,
}

/// Parse the data of a FETCH response (after `n FETCH `).
pub fn fetched(data: &[u8]) -> Option<Fetched> {
    let values = parse_values(data).ok()?;
    let Some(Value::List(items)) = values.into_iter().next() else {
        return None;
    };
    let mut out = Fetched::default();
    let mut it = items.into_iter();
    while let (Some(key), Some(value)) = (it.next(), it.next()) {
        let Some(key) = key.as_text() else { continue };
        let key = key.to_ascii_uppercase();
        match key.as_str() {
            "UID" => out.uid = value.as_number().and_then(|n| u32::try_from(n).ok()),
            "FLAGS" => {
                if let Value::List(flags) = value {
                    out.flags = flags.iter().filter_map(Value::as_text).collect();
                }
            }
            "INTERNALDATE" => out.internal_date = value.as_text().and_then(|t| internal_date(&t)),
            "RFC822.SIZE" => out.size = value.as_number(),
            k if k.starts_with("BODY[") => {
                if let Value::Str(bytes) = value {
                    out.body = Some(bytes);
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// Parse an INTERNALDATE (`22-Nov-2026 07:00:00 +0000`; the day may be space-padded).
pub fn internal_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Format a date for APPEND (`"22-Nov-2026 07:00:00 +0000"`, quotes included).
pub fn append_date(when: &DateTime<Utc>) -> String {
    format!("\"{}\"", when.format("%d-%b-%Y %H:%M:%S +0000"))
}

/// The uids of an untagged `SEARCH` response (after `SEARCH`).
pub fn search_uids(data: &[u8]) -> Vec<u32> {
    String::from_utf8_lossy(data)
        .split_ascii_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// A SEARCH date (`SINCE 22-Nov-2026`): the day only, so the caller refines by time.
pub fn search_date(when: &DateTime<Utc>) -> String {
    when.format("%d-%b-%Y").to_string()
}

/// Flags to carry over to a new copy: `\Recent` is the server's to set, never a client's.
/// Only well-formed flags (an atom, or `\` and an atom: RFC 3501 `flag`) are kept, because
/// they are written back into commands: a server's "flag" with a space, a quote or a line
/// break must not become part of the next command.
pub fn keepable_flags(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent") && !f.eq_ignore_ascii_case("\\Deleted"))
        .filter(|f| is_flag(f))
        .cloned()
        .collect()
}

/// RFC 3501 `flag`: an atom, optionally after one leading `\`.
fn is_flag(flag: &str) -> bool {
    let atom = flag.strip_prefix('\\').unwrap_or(flag);
    !atom.is_empty()
        && atom
            .bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

/// Parse a Location's `flags` field back into flags.
pub fn split_flags(flags: &str) -> Vec<String> {
    flags.split_ascii_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|d| d.and_utc())
    }

    #[test]
    fn only_well_formed_flags_are_written_back() {
        let from_server: Vec<String> = [
            "\\Seen",
            "\\Recent",
            "$Forwarded",
            "x)\r\nr9 DELETE INBOX",
            "a[\r\n]",
            "\"quoted\"",
            "",
            "\\",
            "Junk",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            keepable_flags(&from_server),
            vec!["\\Seen", "$Forwarded", "Junk"]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut hostile = b"1 FETCH ".to_vec();
        hostile.extend(std::iter::repeat_n(b'(', 100_000));
        let e = parse_values(&hostile).unwrap_err();
        assert!(e.contains("nested"), "{e}");
        let fine = b"(BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)))";
        assert!(parse_values(fine).is_ok());
    }

    #[test]
    fn astrings_quote_or_go_literal() {
        assert_eq!(astring("a\"b\\c"), Part::Text("\"a\\\"b\\\\c\"".into()));
        assert_eq!(astring("ä"), Part::Literal("ä".as_bytes().to_vec()));
        assert_eq!(astring("a\r\nb"), Part::Literal(b"a\r\nb".to_vec()));
    }

    #[test]
    fn fetch_with_a_literal_header_and_a_bracketed_section() {
        let data = b"(UID 12 FLAGS (\\Seen $Label1) INTERNALDATE \" 2-Nov-2026 07:05:09 +0100\" RFC822.SIZE 345 BODY[HEADER.FIELDS (MESSAGE-ID)] {24}\r\nMessage-ID: <a(b)@x>\r\n\r\n)";
        let f = fetched(data).unwrap();
        assert_eq!(f.uid, Some(12));
        assert_eq!(f.flags, vec!["\\Seen", "$Label1"]);
        assert_eq!(f.internal_date, utc("2026-11-02 06:05:09"));
        assert_eq!(f.size, Some(345));
        assert_eq!(
            f.body.as_deref(),
            Some(&b"Message-ID: <a(b)@x>\r\n\r\n"[..])
        );
    }

    #[test]
    fn status_lines_and_their_codes() {
        let s = status_line(b"OK [COPYUID 1795320650 1:2 7,9] Moved UIDs.").unwrap();
        assert_eq!(s.status, Status::Ok);
        let code = s.code.unwrap();
        assert_eq!(code_name(&code), "COPYUID");
        assert_eq!(copyuid(&code), Some((1795320650, vec![(1, 7), (2, 9)])));
        let s = status_line(b"NO [AUTHORIZATIONFAILED] Authorization failed").unwrap();
        assert_eq!(s.status, Status::No);
        assert_eq!(s.code.as_deref(), Some("AUTHORIZATIONFAILED"));
        assert_eq!(appenduid("APPENDUID 5 42"), Some((5, 42)));
        assert!(status_line(b"3 EXISTS").is_none());
        assert_eq!(uid_set("1:1000000"), None);
    }

    #[test]
    fn list_and_status_entries() {
        let e = list_entry(b"(\\HasNoChildren \\Junk) \"/\" Junk").unwrap();
        assert!(e.has("\\junk") && e.selectable());
        assert_eq!(e.separator.as_deref(), Some("/"));
        let e = list_entry(b"(\\Noselect) \".\" {5}\r\nA \"b\"").unwrap();
        assert_eq!(e.name, "A \"b\"");
        assert!(!e.selectable());
        assert_eq!(
            status_messages(b"\"Sent Items\" (MESSAGES 4 UIDNEXT 9)"),
            Some(("Sent Items".into(), 4))
        );
        assert_eq!(search_uids(b" 3 5 8"), vec![3, 5, 8]);
    }

    #[test]
    fn dates_round_trip_and_flags_filter() {
        let when = utc("2026-01-05 10:11:12").unwrap();
        assert_eq!(append_date(&when), "\"05-Jan-2026 10:11:12 +0000\"");
        assert_eq!(internal_date("05-Jan-2026 10:11:12 +0000"), Some(when));
        let flags = vec!["\\Seen".to_string(), "\\Recent".into(), "$X".into()];
        assert_eq!(keepable_flags(&flags), vec!["\\Seen", "$X"]);
    }
}
