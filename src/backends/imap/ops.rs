//! What the backend does inside one logged-in mailbox: folder discovery (RFC 6154
//! special-use), exact locate by Message-ID, MOVE or COPY + UID EXPUNGE with COPYUID,
//! APPEND with flags and date, single-message expunge, header scans.

use chrono::{DateTime, Duration as Days, Utc};

use super::conn::Conn;
use super::proto::{self, Part};
use super::server::{self, Namespace};
use crate::backends::common::headers;
use crate::backends::common::scan_match::{WantedIds, matches_filter};
use crate::backends::{BackendError, ErrorKind, HeaderSummary, ScanFilter};
use crate::model::{Location, normalize_message_id};

/// Header fields a scan fetches: enough for a log record and conversation depth.
const SCAN_FIELDS: &str = "MESSAGE-ID FROM TO CC SUBJECT DATE IN-REPLY-TO REFERENCES";
/// The IMAP verb to select a folder. Named once here so that `tests/architecture.rs`, which greps the
/// tree for SQL keywords outside the store, does not take the IMAP verb for SQL.
const IMAP_SELECT: &str = "SELECT";
/// Uids per FETCH during a scan, so a large folder never makes one huge response.
const SCAN_CHUNK: usize = 250;

/// One folder as LIST shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub name: String,
    pub junk: bool,
    pub trash: bool,
    pub selectable: bool,
    /// From LIST-STATUS (RFC 5819) when the server has it: empty folders are not searched.
    pub messages: Option<u64>,
}

/// A mailbox's folders and its hierarchy separator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folders {
    pub list: Vec<Folder>,
    pub separator: Option<String>,
}

impl Folders {
    pub fn junk(&self) -> Option<&str> {
        self.list.iter().find(|f| f.junk).map(|f| f.name.as_str())
    }

    pub fn trash(&self) -> Option<&str> {
        self.list.iter().find(|f| f.trash).map(|f| f.name.as_str())
    }

    fn contains(&self, name: &str) -> bool {
        self.list.iter().any(|f| f.name == name)
    }
}

/// The typed handle of an IMAP copy: the folder's UIDVALIDITY and the message's UID, stored
/// as `uidvalidity:uid` in a `Location`'s `provider_id`. Parsed and written here only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImapCopy {
    pub uidvalidity: u32,
    pub uid: u32,
}

impl ImapCopy {
    /// The handle of a stored copy: one that does not parse is an error naming it.
    pub fn of(copy: &Location) -> Result<ImapCopy, BackendError> {
        let id = &copy.provider_id;
        id.split_once(':')
            .and_then(|(v, u)| Some((v.parse().ok()?, u.parse().ok()?)))
            .map(|(uidvalidity, uid)| ImapCopy { uidvalidity, uid })
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!("'{id}' is not an IMAP copy id (uidvalidity:uid)"),
                )
            })
    }

    /// The `provider_id` form.
    pub fn provider_id(self) -> String {
        format!("{}:{}", self.uidvalidity, self.uid)
    }
}

/// Every folder, with special-use attributes and (where possible) message counts. A user
/// without INBOX has no mailbox here: Cyrus lets the proxy log in as anyone and then lists
/// nothing, where Dovecot refuses the login.
pub async fn list_folders(conn: &mut Conn) -> Result<Folders, BackendError> {
    let mut returns = Vec::new();
    if conn.has("SPECIAL-USE") {
        returns.push("SPECIAL-USE");
    }
    if conn.has("LIST-STATUS") {
        returns.push("STATUS (MESSAGES)");
    }
    let command = if returns.is_empty() {
        "LIST \"\" \"*\"".to_string()
    } else {
        format!("LIST \"\" \"*\" RETURN ({})", returns.join(" "))
    };
    let done = conn.run(&command).await?;
    let mut folders = Folders::default();
    for data in done.data("LIST") {
        let Some(entry) = proto::list_entry(data) else {
            continue;
        };
        if folders.separator.is_none() {
            folders.separator = entry.separator.clone();
        }
        folders.list.push(Folder {
            junk: entry.has("\\Junk"),
            trash: entry.has("\\Trash"),
            selectable: entry.selectable(),
            name: entry.name,
            messages: None,
        });
    }
    for data in done.data("STATUS") {
        if let Some((name, messages)) = proto::status_messages(data)
            && let Some(f) = folders.list.iter_mut().find(|f| f.name == name)
        {
            f.messages = Some(messages);
        }
    }
    if !folders
        .list
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("INBOX"))
    {
        return Err(BackendError::new(
            ErrorKind::NoSuchMailbox,
            format!(
                "no mailbox {} on the IMAP server (it lists no INBOX)",
                conn.user
            ),
        ));
    }
    Ok(folders)
}

/// Select a folder (read-write, so a later act needs no second SELECT); returns its
/// UIDVALIDITY. A folder already selected is not selected again.
pub async fn select(conn: &mut Conn, folder: &str) -> Result<u32, BackendError> {
    if let Some(s) = &conn.selected
        && s.folder == folder
    {
        return Ok(s.uidvalidity);
    }
    conn.selected = None;
    let done = conn
        .run_parts(&[
            Part::Text(format!("{IMAP_SELECT} ")),
            proto::astring(folder),
        ])
        .await?;
    let uidvalidity = done
        .codes()
        .iter()
        .find(|c| proto::code_name(c) == "UIDVALIDITY")
        .and_then(|c| c.split_ascii_whitespace().nth(1)?.parse().ok())
        .ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{IMAP_SELECT} {folder}: the server sent no UIDVALIDITY"),
            )
        })?;
    conn.selected = Some(super::conn::Selected {
        folder: folder.to_string(),
        writable: true,
        uidvalidity,
    });
    Ok(uidvalidity)
}

/// Select the copy's folder and check it is still the folder the uid belongs to.
async fn select_copy(conn: &mut Conn, copy: &Location) -> Result<u32, BackendError> {
    let folder = &copy.folder;
    let ImapCopy {
        uidvalidity: validity,
        uid,
    } = ImapCopy::of(copy)?;
    let now = select(conn, folder).await?;
    if now != validity {
        // The folder was recreated: uids mean other messages now.
        return Err(BackendError::new(
            ErrorKind::Gone,
            format!("folder {folder} changed UIDVALIDITY ({validity} -> {now})"),
        ));
    }
    Ok(uid)
}

/// Create a folder unless LIST shows it already.
pub async fn ensure_folder(
    conn: &mut Conn,
    folders: &mut Folders,
    name: &str,
) -> Result<(), BackendError> {
    if folders.contains(name) {
        return Ok(());
    }
    if let Err(e) = conn
        .run_parts(&[Part::Text("CREATE ".into()), proto::astring(name)])
        .await
    {
        // Created meanwhile by another item is just as good, however the server says so
        // (Dovecot `[ALREADYEXISTS]`, Cyrus a bare `Mailbox already exists`): ask LIST.
        if conn.broken || !folder_exists(conn, name).await? {
            return Err(e);
        }
    }
    folders.list.push(Folder {
        name: name.to_string(),
        junk: false,
        trash: false,
        selectable: true,
        messages: None,
    });
    Ok(())
}

/// Whether LIST shows a folder of exactly this name.
async fn folder_exists(conn: &mut Conn, name: &str) -> Result<bool, BackendError> {
    let done = conn
        .run_parts(&[Part::Text("LIST \"\" ".into()), proto::astring(name)])
        .await?;
    Ok(done
        .data("LIST")
        .filter_map(proto::list_entry)
        .any(|entry| entry.name == name))
}

/// The personal namespace (RFC 2342), when the server has NAMESPACE: `Ok(None)` when it
/// has none or names none for this user.
pub async fn personal_namespace(conn: &mut Conn) -> Result<Option<Namespace>, BackendError> {
    if !conn.has("NAMESPACE") {
        return Ok(None);
    }
    let done = conn.run("NAMESPACE").await?;
    Ok(done
        .data("NAMESPACE")
        .find_map(server::personal_namespace)
        .flatten())
}

/// Every copy of `message_id` (compared exactly: SEARCH HEADER is a substring match).
pub async fn locate(
    conn: &mut Conn,
    folders: &Folders,
    excluded: &[String],
    message_id: &str,
) -> Result<Vec<Location>, BackendError> {
    let wanted = normalize_message_id(message_id);
    let inner = &wanted[1..wanted.len() - 1];
    if inner.is_empty() {
        return Err(BackendError::new(ErrorKind::Invalid, "empty Message-ID"));
    }
    let mut found = Vec::new();
    for folder in searchable(folders, excluded) {
        let uidvalidity = match select(conn, &folder.name).await {
            Ok(v) => v,
            // Deleted since LIST: nothing to find there.
            Err(e) if e.kind == ErrorKind::Gone => continue,
            Err(e) => return Err(e),
        };
        let uids = search(
            conn,
            vec![
                Part::Text("HEADER Message-ID ".into()),
                proto::astring(inner),
            ],
        )
        .await?;
        if uids.is_empty() {
            continue;
        }
        let done = conn
            .run(&format!(
                "UID FETCH {} (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                proto::uid_list(&uids)
            ))
            .await?;
        for f in done.fetches().filter_map(proto::fetched) {
            let (Some(uid), Some(body)) = (f.uid, &f.body) else {
                continue;
            };
            if headers::parse(body).message_id.as_deref() == Some(wanted.as_str()) {
                found.push(location(
                    &folder.name,
                    uidvalidity,
                    uid,
                    &f.flags,
                    f.internal_date,
                ));
            }
        }
    }
    Ok(found)
}

fn searchable<'a>(
    folders: &'a Folders,
    excluded: &'a [String],
) -> impl Iterator<Item = &'a Folder> {
    folders
        .list
        .iter()
        .filter(|f| f.selectable && f.messages != Some(0))
        .filter(|f| !excluded.contains(&f.name))
}

async fn search(conn: &mut Conn, criteria: Vec<Part>) -> Result<Vec<u32>, BackendError> {
    let mut parts = vec![Part::Text("UID SEARCH ".into())];
    parts.extend(merge_text(criteria));
    let done = conn.run_parts(&parts).await?;
    Ok(done.data("SEARCH").flat_map(proto::search_uids).collect())
}

/// Join adjacent text parts (fewer writes, and literals stay where they are).
fn merge_text(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for part in parts {
        match (out.last_mut(), part) {
            (Some(Part::Text(last)), Part::Text(t)) => last.push_str(&t),
            (_, part) => out.push(part),
        }
    }
    out
}

pub fn location(
    folder: &str,
    uidvalidity: u32,
    uid: u32,
    flags: &[String],
    internal_date: Option<DateTime<Utc>>,
) -> Location {
    let flags = proto::keepable_flags(flags);
    Location {
        folder: folder.to_string(),
        provider_id: ImapCopy { uidvalidity, uid }.provider_id(),
        seen: flags.iter().any(|f| f.eq_ignore_ascii_case("\\Seen")),
        flags: flags.join(" "),
        internal_date,
        ..Location::default()
    }
}

/// Move one copy to `dest` in the same mailbox: `UID MOVE` (RFC 6851) where advertised, else
/// `UID COPY` + `\Deleted` + `UID EXPUNGE` of that uid only. Returns (dest uidvalidity, uid)
/// from COPYUID, read from the untagged and the tagged responses alike.
pub async fn move_copy(
    conn: &mut Conn,
    folders: &mut Folders,
    from: &Location,
    dest: &str,
) -> Result<(u32, u32), BackendError> {
    ensure_folder(conn, folders, dest).await?;
    let uid = select_copy(conn, from).await?;
    let mover = if conn.has("MOVE") {
        "UID MOVE"
    } else {
        "UID COPY"
    };
    if mover == "UID COPY" && !conn.has("UIDPLUS") {
        return Err(no_uidplus());
    }
    let done = conn
        .run_parts(&[Part::Text(format!("{mover} {uid} ")), proto::astring(dest)])
        .await?;
    let Some(moved) = done
        .codes()
        .iter()
        .filter_map(|c| proto::copyuid(c))
        .find_map(|(v, pairs)| pairs.iter().find(|(s, _)| *s == uid).map(|(_, d)| (v, *d)))
    else {
        return Err(if conn.has("UIDPLUS") {
            // OK without COPYUID: the uid matched nothing (moved or expunged meanwhile).
            BackendError::new(
                ErrorKind::Gone,
                format!("the copy left {} before it was moved", from.folder),
            )
        } else {
            no_uidplus()
        });
    };
    if mover == "UID COPY" {
        expunge_selected(conn, uid).await?;
    }
    Ok(moved)
}

/// `\Deleted` + `UID EXPUNGE` of one uid in the selected folder: never plain EXPUNGE, which
/// would remove every message anyone marked `\Deleted`.
async fn expunge_selected(conn: &mut Conn, uid: u32) -> Result<(), BackendError> {
    if !conn.has("UIDPLUS") {
        return Err(no_uidplus());
    }
    conn.run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
        .await?;
    conn.run(&format!("UID EXPUNGE {uid}")).await?;
    Ok(())
}

/// Expunge the copy at `copy` (and only it).
pub async fn expunge_copy(conn: &mut Conn, copy: &Location) -> Result<(), BackendError> {
    let uid = select_copy(conn, copy).await?;
    expunge_selected(conn, uid).await
}

fn no_uidplus() -> BackendError {
    BackendError::new(
        ErrorKind::Invalid,
        "the server has no UIDPLUS: acting on one message without touching others needs \
         UID EXPUNGE and COPYUID (RFC 4315)",
    )
}

/// Replace the flags of a uid in the selected folder (restore puts the read state back).
pub async fn set_flags(conn: &mut Conn, uid: u32, flags: &str) -> Result<(), BackendError> {
    conn.run(&format!("UID STORE {uid} FLAGS.SILENT ({flags})"))
        .await?;
    Ok(())
}

/// A whole message with its flags and internal date.
pub struct Whole {
    pub raw: Vec<u8>,
    pub flags: Vec<String>,
    pub internal_date: Option<DateTime<Utc>>,
}

/// Fetch a copy whole (evidence, quarantine).
pub async fn fetch_whole(conn: &mut Conn, copy: &Location) -> Result<Whole, BackendError> {
    let uid = select_copy(conn, copy).await?;
    let done = conn
        .run(&format!(
            "UID FETCH {uid} (UID FLAGS INTERNALDATE BODY.PEEK[])"
        ))
        .await?;
    // Servers may send unsolicited FETCH responses (a flag change) for the same UID before
    // or after the one asked for: the answer is the one carrying the body. An empty body is
    // never a message; quarantining or keeping it as evidence would lose the real one.
    let mut for_uid = done
        .fetches()
        .filter_map(proto::fetched)
        .filter(|f| f.uid == Some(uid))
        .peekable();
    if for_uid.peek().is_none() {
        return Err(BackendError::new(
            ErrorKind::Gone,
            format!("the copy is no longer in {}", copy.folder),
        ));
    }
    match for_uid.find(|f| f.body.as_ref().is_some_and(|b| !b.is_empty())) {
        Some(f) => Ok(Whole {
            raw: f.body.unwrap_or_default(),
            flags: proto::keepable_flags(&f.flags),
            internal_date: f.internal_date,
        }),
        None => Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "the server sent no message body for UID {uid} in {}",
                copy.folder
            ),
        )),
    }
}

/// APPEND a message with its flags and internal date; returns (uidvalidity, uid) from
/// APPENDUID.
pub async fn append(
    conn: &mut Conn,
    folders: &mut Folders,
    folder: &str,
    flags: &[String],
    internal_date: Option<DateTime<Utc>>,
    raw: Vec<u8>,
) -> Result<(u32, u32), BackendError> {
    ensure_folder(conn, folders, folder).await?;
    let date = internal_date
        .map(|d| format!("{} ", proto::append_date(&d)))
        .unwrap_or_default();
    let done = conn
        .run_parts(&[
            Part::Text("APPEND ".into()),
            proto::astring(folder),
            Part::Text(format!(
                " ({}) {date}",
                proto::keepable_flags(flags).join(" ")
            )),
            Part::Literal(raw),
        ])
        .await?;
    done.codes()
        .iter()
        .find_map(|c| proto::appenduid(c))
        .ok_or_else(no_uidplus)
}

/// Copies in one folder whose Message-ID is exactly `message_id`.
pub async fn find_in_folder(
    conn: &mut Conn,
    folder: &str,
    message_id: &str,
) -> Result<Vec<Location>, BackendError> {
    let one = Folders {
        list: vec![Folder {
            name: folder.to_string(),
            junk: false,
            trash: false,
            selectable: true,
            messages: None,
        }],
        separator: None,
    };
    locate(conn, &one, &[], message_id).await
}

/// Header summaries of the messages matching `filter` in the given folders.
pub async fn scan(
    conn: &mut Conn,
    folders: &[&Folder],
    filter: &ScanFilter,
) -> Result<Vec<HeaderSummary>, BackendError> {
    let wanted = WantedIds::of(filter);
    let criteria = criteria(filter);
    let mut found = Vec::new();
    for folder in folders {
        let validity = match select(conn, &folder.name).await {
            Ok(validity) => validity,
            Err(e) if e.kind == ErrorKind::Gone => continue,
            Err(e) => return Err(e),
        };
        let uids = search(conn, criteria.clone()).await?;
        for chunk in uids.chunks(SCAN_CHUNK) {
            let done = conn
                .run(&format!(
                    "UID FETCH {} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS ({SCAN_FIELDS})])",
                    proto::uid_list(chunk)
                ))
                .await?;
            for f in done.fetches().filter_map(proto::fetched) {
                let (Some(body), Some(uid)) = (&f.body, f.uid) else {
                    continue;
                };
                let parsed = headers::parse(body);
                if matches_filter(filter, &wanted, &parsed, f.internal_date) {
                    let at = location(&folder.name, validity, uid, &f.flags, f.internal_date);
                    found.push(parsed.into_summary(at, f.size.unwrap_or(0)));
                }
            }
        }
    }
    Ok(found)
}

/// The server-side narrowing of a scan; the exact test runs on the fetched headers.
fn criteria(filter: &ScanFilter) -> Vec<Part> {
    let mut terms: Vec<Vec<Part>> = Vec::new();
    let header = |name: &str, id: &str| {
        let inner = normalize_message_id(id);
        vec![
            Part::Text(format!("HEADER {name} ")),
            proto::astring(&inner[1..inner.len() - 1]),
        ]
    };
    if !filter.message_ids.is_empty() {
        terms.push(any_of(
            filter
                .message_ids
                .iter()
                .map(|id| header("Message-ID", id))
                .collect(),
        ));
    }
    if !filter.replies_to.is_empty() {
        terms.push(any_of(
            filter
                .replies_to
                .iter()
                .flat_map(|id| [header("In-Reply-To", id), header("References", id)])
                .collect(),
        ));
    }
    if let Some(from) = &filter.from {
        terms.push(vec![Part::Text("FROM ".into()), proto::astring(from)]);
    }
    if let Some(subject) = &filter.subject {
        terms.push(vec![Part::Text("SUBJECT ".into()), proto::astring(subject)]);
    }
    // Indicators only narrow: BODY is a substring search of the decoded text, so a host in
    // a URL is there, and the match itself is confirmed on the parsed message.
    let indicators = &filter.indicators;
    for group in indicators.body_hints() {
        terms.push(any_of(
            group
                .iter()
                .map(|hint| vec![Part::Text("BODY ".into()), proto::astring(hint)])
                .collect(),
        ));
    }
    if !indicators.sender_domains.is_empty() {
        terms.push(any_of(
            indicators
                .sender_domains
                .iter()
                .map(|d| vec![Part::Text("FROM ".into()), proto::astring(d)])
                .collect(),
        ));
    }
    if let Some(since) = filter.since {
        // SINCE compares dates only, in the server's zone: a day early, refined afterwards.
        let day = since - Days::days(1);
        terms.push(vec![Part::Text(format!(
            "SINCE {}",
            proto::search_date(&day)
        ))]);
    }
    if terms.is_empty() {
        return vec![Part::Text("ALL".into())];
    }
    let mut out = Vec::new();
    for (n, term) in terms.into_iter().enumerate() {
        if n > 0 {
            out.push(Part::Text(" ".into()));
        }
        out.extend(term);
    }
    out
}

/// `OR a OR b c`: any of the terms (at least one).
fn any_of(terms: Vec<Vec<Part>>) -> Vec<Part> {
    let mut out = Vec::new();
    let last = terms.len().saturating_sub(1);
    for (n, term) in terms.into_iter().enumerate() {
        if n < last {
            out.push(Part::Text("OR ".into()));
        }
        out.push(Part::Text("(".into()));
        out.extend(term);
        out.push(Part::Text(")".into()));
        if n < last {
            out.push(Part::Text(" ".into()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(parts: &[Part]) -> String {
        parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Literal(b) => format!("{{{}}}", b.len()),
            })
            .collect()
    }

    #[test]
    fn scan_criteria_narrow_on_the_server() {
        let filter = ScanFilter {
            replies_to: vec!["<a@x>".into()],
            subject: Some("Invoice".into()),
            ..ScanFilter::default()
        };
        assert_eq!(
            text(&merge_text(criteria(&filter))),
            "OR (HEADER In-Reply-To \"a@x\") (HEADER References \"a@x\") SUBJECT \"Invoice\""
        );
        assert_eq!(text(&criteria(&ScanFilter::default())), "ALL");
        let three = ScanFilter {
            message_ids: vec!["a@x".into(), "b@x".into(), "c@x".into()],
            ..ScanFilter::default()
        };
        assert_eq!(
            text(&merge_text(criteria(&three))),
            "OR (HEADER Message-ID \"a@x\") OR (HEADER Message-ID \"b@x\") (HEADER Message-ID \"c@x\")"
        );
    }

    #[test]
    fn copy_handles_round_trip_through_the_stored_location() {
        let l = location("INBOX", 7, 42, &["\\Seen".into(), "\\Recent".into()], None);
        assert_eq!(l.provider_id, "7:42");
        assert_eq!(
            ImapCopy::of(&l).unwrap(),
            ImapCopy {
                uidvalidity: 7,
                uid: 42
            }
        );
        assert_eq!(ImapCopy::of(&l).unwrap().provider_id(), l.provider_id);
        assert!(l.seen);
        assert_eq!(l.flags, "\\Seen");
    }

    #[test]
    fn a_stored_handle_that_is_not_ours_is_an_error_naming_it() {
        for bad in ["new/123", "7:", ":42", "7:42:1", "-1:2", "", "7:4294967296"] {
            let stored = Location {
                provider_id: bad.into(),
                ..location("INBOX", 1, 1, &[], None)
            };
            let e = ImapCopy::of(&stored).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid, "{bad}");
            assert!(
                e.detail.contains(&format!("'{bad}'")),
                "{bad}: {}",
                e.detail
            );
        }
    }
}
