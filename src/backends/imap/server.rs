//! What kind of IMAP server is on the other end, and what its refusals mean.
//!
//! RFC 5530 response codes say why a command was refused, and Dovecot sends them. Cyrus 3.6
//! sends most refusals as bare text from its error table (`imap/imap_err.et`): `NO Over
//! quota`, `NO Permission denied`, `NO Mailbox does not exist`. A code, when there is one,
//! always decides; otherwise the text is read against the table of the server it came from
//! ([`TEXT_TABLES`]), and nowhere else: a phrase means something only from the server that
//! wrote it.

use super::proto::{self, StatusLine};
use crate::backends::{BackendError, ErrorKind};
use crate::model::text::sanitize;

/// The server software, learnt from the greeting and the capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Server {
    Cyrus,
    Dovecot,
    #[default]
    Other,
}

impl Server {
    /// From the greeting text (`Cyrus IMAP 3.6.1 server ready`, `Dovecot ready.`) or, when the
    /// banner is hidden (Cyrus `serverinfo: off`), from capabilities only Cyrus advertises.
    pub fn identify(greeting: &str, caps: &[String]) -> Server {
        let greeting = greeting.to_ascii_lowercase();
        let cyrus_only = ["XCONVERSATIONS", "X-CREATEDMODSEQ", "X-REPLICATION"];
        if greeting.contains("cyrus imap") || caps.iter().any(|c| cyrus_only.contains(&c.as_str()))
        {
            Server::Cyrus
        } else if greeting.contains("dovecot") {
            Server::Dovecot
        } else {
            Server::Other
        }
    }

    /// A name for `check`.
    pub fn name(self) -> &'static str {
        match self {
            Server::Cyrus => "Cyrus",
            Server::Dovecot => "Dovecot",
            Server::Other => "unidentified server",
        }
    }
}

/// Refusal texts without a response code, per server: (start of the text, what it means).
/// Compared case-insensitively with the start of the text after `NO`.
const TEXT_TABLES: &[(Server, &[(&str, ErrorKind)])] = &[(
    Server::Cyrus,
    &[
        ("Over quota", ErrorKind::OverQuota),
        ("Permission denied", ErrorKind::PermissionDenied),
        // A folder deleted since LIST was selected or appended to: locate again.
        ("Mailbox does not exist", ErrorKind::Gone),
        ("Message does not exist", ErrorKind::Gone),
        ("Invalid user", ErrorKind::NoSuchMailbox),
        ("Mailbox is locked", ErrorKind::Unavailable),
        ("Mailbox is busy", ErrorKind::Unavailable),
        ("System I/O error", ErrorKind::Unavailable),
        ("Server(s) unavailable", ErrorKind::Unavailable),
        // The conversations limit on byte-identical copies: retrying cannot help.
        ("Too many identical emails", ErrorKind::Invalid),
    ],
)];

/// A tagged NO or BAD as an error: by its response code (RFC 5530), else by the server's own
/// words.
pub fn refusal(server: Server, command: &str, line: &StatusLine) -> BackendError {
    let code = line
        .code
        .as_deref()
        .map(proto::code_name)
        .unwrap_or_default();
    let kind = if code.is_empty() {
        by_text(server, &line.text)
    } else {
        by_code(&code)
    };
    let code = if code.is_empty() {
        String::new()
    } else {
        format!("[{code}] ")
    };
    BackendError::new(
        kind,
        format!("{command} refused: {code}{}", sanitize(&line.text)),
    )
}

fn by_code(code: &str) -> ErrorKind {
    match code {
        "OVERQUOTA" => ErrorKind::OverQuota,
        "AUTHENTICATIONFAILED" => ErrorKind::AuthFailed,
        "AUTHORIZATIONFAILED" => ErrorKind::NoSuchMailbox,
        "NOPERM" | "PRIVACYACL" => ErrorKind::PermissionDenied,
        // TRYCREATE: a folder listed a moment ago was deleted; locate again (lists afresh).
        "NONEXISTENT" | "EXPUNGEISSUED" | "TRYCREATE" => ErrorKind::Gone,
        "UNAVAILABLE" | "INUSE" | "SERVERBUG" => ErrorKind::Unavailable,
        "LIMIT" => ErrorKind::Throttled,
        _ => ErrorKind::Invalid,
    }
}

fn by_text(server: Server, text: &str) -> ErrorKind {
    let text = text.trim_start();
    TEXT_TABLES
        .iter()
        .filter(|(s, _)| *s == server)
        .flat_map(|(_, table)| table.iter())
        .find(|(start, _)| {
            text.get(..start.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(start))
        })
        .map(|(_, kind)| *kind)
        .unwrap_or(ErrorKind::Invalid)
}

/// The personal namespace (RFC 2342): where a user's own folders are created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// `INBOX.` on Cyrus' Debian layout, empty on its upstream default and on Dovecot.
    pub prefix: String,
    pub delimiter: Option<String>,
}

impl Namespace {
    /// The full name of the personal folder `name`, unless `name` already is one (it starts
    /// with the prefix, or is INBOX or under it when the prefix is INBOX's).
    pub fn personal(&self, name: &str) -> String {
        let under_prefix = name
            .get(..self.prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(&self.prefix));
        if self.prefix.is_empty() || under_prefix || name.eq_ignore_ascii_case("INBOX") {
            name.to_string()
        } else {
            format!("{}{name}", self.prefix)
        }
    }
}

/// What `* NAMESPACE` says of the personal namespace: `Some(None)` for `NIL` (Cyrus says so
/// for a user who has no mailbox), `None` when the response is not a NAMESPACE response.
pub fn personal_namespace(data: &[u8]) -> Option<Option<Namespace>> {
    let values = proto::parse_values(data).ok()?;
    match values.into_iter().next()? {
        proto::Value::List(spaces) => {
            let proto::Value::List(first) = spaces.into_iter().next()? else {
                return None;
            };
            let mut it = first.into_iter();
            let prefix = it.next()?.as_text().unwrap_or_default();
            let delimiter = it.next().and_then(|d| d.as_text());
            Some(Some(Namespace { prefix, delimiter }))
        }
        proto::Value::Atom(a) if a.eq_ignore_ascii_case("NIL") => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &[u8]) -> StatusLine {
        proto::status_line(t).expect("status line")
    }

    #[test]
    fn a_code_decides_and_bare_text_is_read_by_the_server_that_wrote_it() {
        assert_eq!(
            refusal(
                Server::Other,
                "APPEND",
                &line(b"NO [OVERQUOTA] Quota exceeded")
            )
            .kind,
            ErrorKind::OverQuota
        );
        assert_eq!(
            refusal(Server::Cyrus, "APPEND", &line(b"NO Over quota")).kind,
            ErrorKind::OverQuota
        );
        assert_eq!(
            refusal(Server::Cyrus, "APPEND", &line(b"NO Permission denied")).kind,
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            refusal(
                Server::Cyrus,
                "EXAMINE",
                &line(b"NO Mailbox does not exist")
            )
            .kind,
            ErrorKind::Gone
        );
        // The same words from a server we did not identify mean nothing certain.
        assert_eq!(
            refusal(Server::Other, "APPEND", &line(b"NO Over quota")).kind,
            ErrorKind::Invalid
        );
        let e = refusal(
            Server::Cyrus,
            "APPEND",
            &line(b"NO Too many identical emails"),
        );
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(e.detail.contains("Too many identical"), "{}", e.detail);
    }

    #[test]
    fn servers_are_known_by_greeting_or_capabilities() {
        let none: Vec<String> = Vec::new();
        assert_eq!(
            Server::identify(
                "test-cyrus-1 Cyrus IMAP 3.6.1-Debian-3.6.1-4+deb12u5 server ready",
                &none
            ),
            Server::Cyrus
        );
        assert_eq!(
            Server::identify("imap.example ready", &["XCONVERSATIONS".into()]),
            Server::Cyrus
        );
        assert_eq!(
            Server::identify("Dovecot (Debian) ready.", &none),
            Server::Dovecot
        );
        assert_eq!(Server::identify("ready", &none), Server::Other);
    }

    #[test]
    fn namespaces_parse_and_place_personal_folders() {
        let debian = personal_namespace(br#" (("INBOX." ".")) (("user." ".")) (("" "."))"#)
            .expect("namespace")
            .expect("personal");
        assert_eq!(debian.prefix, "INBOX.");
        assert_eq!(debian.delimiter.as_deref(), Some("."));
        assert_eq!(
            debian.personal("Retractor-Deleted"),
            "INBOX.Retractor-Deleted"
        );
        assert_eq!(debian.personal("INBOX.Quarantine"), "INBOX.Quarantine");
        assert_eq!(debian.personal("inbox"), "inbox");
        let upstream = personal_namespace(br#" (("" "/")) (("Other Users/" "/")) NIL"#)
            .expect("namespace")
            .expect("personal");
        assert_eq!(upstream.personal("Quarantine"), "Quarantine");
        assert_eq!(
            personal_namespace(br#" NIL (("Other Users/" "/")) (("Shared Folders/" "/"))"#),
            Some(None)
        );
        assert_eq!(personal_namespace(b" garbage("), None);
    }
}
