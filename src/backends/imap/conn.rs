//! One IMAP connection logged in as one user: transport (plain, TLS, STARTTLS), tagged
//! commands with literals, reading responses, and mapping server refusals to `ErrorKind`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use super::proto::{self, Part, Status, StatusLine};
use super::server::{Server, refusal};
use crate::backends::{BackendError, ErrorKind};
use crate::config::imap::{ImapLogin, ImapSecurity, ImapSettings};
use crate::config::secret::Secret;
use crate::model::text::sanitize;

/// Longest response accepted (its lines and literals together); a message body is the
/// largest thing fetched.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Most untagged data one command may gather (an index's header fetch is the largest).
const MAX_COMMAND_DATA: usize = 1024 * 1024 * 1024;
/// A command must complete within this many reply timeouts, however chatty the server.
const COMMAND_TIMEOUTS: u32 = 20;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The folder currently selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub folder: String,
    pub writable: bool,
    pub uidvalidity: u32,
}

/// What a completed command returned: its untagged responses (without `* `) and the code of
/// its tagged OK.
#[derive(Debug, Default)]
pub struct Done {
    pub untagged: Vec<Vec<u8>>,
    pub code: Option<String>,
}

impl Done {
    /// Untagged responses of one kind (`LIST`, `SEARCH`), with the keyword stripped.
    pub fn data<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.untagged.iter().filter_map(move |r| {
            let upper = r.get(..keyword.len())?;
            (upper.eq_ignore_ascii_case(keyword.as_bytes())
                && matches!(r.get(keyword.len()), None | Some(b' ' | b'\r')))
            .then(|| &r[keyword.len()..])
        })
    }

    /// FETCH responses (`n FETCH (...)`), their data after `FETCH `.
    pub fn fetches(&self) -> impl Iterator<Item = &[u8]> {
        self.untagged.iter().filter_map(|r| {
            let text = r.get(..r.len().min(32))?;
            let pos = text
                .windows(7)
                .position(|w| w.eq_ignore_ascii_case(b" FETCH "))?;
            text[..pos]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| &r[pos + 7..])
        })
    }

    /// Every response code, untagged ones first, then the tagged OK's.
    pub fn codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .untagged
            .iter()
            .filter_map(|r| proto::status_line(r).and_then(|s| s.code))
            .collect();
        codes.extend(self.code.clone());
        codes
    }
}

/// A logged-in connection.
pub struct Conn {
    stream: BufReader<Box<dyn Io>>,
    next_tag: u32,
    timeout: Duration,
    commands: Arc<AtomicU64>,
    /// Capabilities after login, upper-cased.
    pub caps: Vec<String>,
    pub selected: Option<Selected>,
    /// The server software (from the greeting and capabilities): how to read its refusals.
    pub server: Server,
    /// The mailbox this connection is logged in to.
    pub user: String,
    /// The last folder list of this mailbox and when it was read.
    pub folders: Option<(std::time::Instant, super::ops::Folders)>,
    /// Set when a read or write failed or a response could not be framed: the stream is at
    /// an unknown point (a literal half read, a line cut), so the next bytes could be taken
    /// for a response. Such a connection is closed, never reused.
    pub broken: bool,
}

impl Conn {
    /// Connect, protect the connection as configured, and log in as `user` with the admin
    /// credentials.
    pub async fn open(
        settings: &ImapSettings,
        tls: Option<&TlsConnector>,
        user: &str,
        password: &Secret,
        commands: Arc<AtomicU64>,
    ) -> Result<Conn, BackendError> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let address = format!("{}:{}", settings.host, settings.port);
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(&address))
            .await
            .map_err(|_| {
                BackendError::new(
                    ErrorKind::Timeout,
                    format!("connect to {address} timed out"),
                )
            })?
            .map_err(|e| {
                BackendError::new(
                    ErrorKind::Unavailable,
                    format!("cannot connect to {address}: {e}"),
                )
            })?;
        let _ = tcp.set_nodelay(true);
        let mut greeting = None;
        let stream: Box<dyn Io> = match settings.security {
            ImapSecurity::None => Box::new(tcp),
            ImapSecurity::Tls => Box::new(handshake(tls, &settings.host, tcp, timeout).await?),
            ImapSecurity::Starttls => {
                let (tcp, said) = starttls(tcp, timeout, &commands).await?;
                greeting = Some(said);
                Box::new(handshake(tls, &settings.host, tcp, timeout).await?)
            }
        };
        let mut conn = Conn {
            stream: BufReader::new(stream),
            next_tag: 1,
            timeout,
            commands,
            caps: Vec::new(),
            selected: None,
            server: Server::Other,
            user: user.to_string(),
            folders: None,
            broken: false,
        };
        let greeting = match greeting {
            Some(said) => said,
            None => conn.greeting().await?,
        };
        conn.server = Server::identify(&greeting, &[]);
        conn.login(settings, user, password).await?;
        conn.server = Server::identify(&greeting, &conn.caps);
        Ok(conn)
    }

    /// Read the greeting; its text (which often names the server software).
    async fn greeting(&mut self) -> Result<String, BackendError> {
        let deadline = self.deadline();
        let line = self.read_response(deadline).await?;
        match line.strip_prefix(b"* ").and_then(proto::status_line) {
            Some(s) if s.status == Status::Ok => Ok(s.text),
            _ => Err(BackendError::new(
                ErrorKind::Unavailable,
                format!(
                    "unexpected IMAP greeting: {}",
                    sanitize(String::from_utf8_lossy(&line).trim())
                ),
            )),
        }
    }

    async fn login(
        &mut self,
        settings: &ImapSettings,
        user: &str,
        password: &Secret,
    ) -> Result<(), BackendError> {
        let result = match settings.login {
            ImapLogin::MasterUser => {
                let login = format!(
                    "{user}{}{}",
                    settings.master_user_separator, settings.admin_user
                );
                self.run_parts(&[
                    Part::Text("LOGIN ".into()),
                    proto::astring(&login),
                    Part::Text(" ".into()),
                    proto::astring(password.expose()),
                ])
                .await
            }
            ImapLogin::SaslAuthzid => {
                let token = format!("{user}\0{}\0{}", settings.admin_user, password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(token);
                self.authenticate_plain(encoded).await
            }
        };
        let done = result.map_err(|e| login_error(e, user, &settings.admin_user))?;
        let caps = done
            .code
            .as_deref()
            .filter(|c| proto::code_name(c) == "CAPABILITY")
            .map(str::to_string);
        match caps {
            Some(code) => self.caps = parse_caps(&code),
            None => {
                // The pre-login list is minimal: MOVE and UIDPLUS appear only after login.
                let done = self.run("CAPABILITY").await?;
                let found = done
                    .data("CAPABILITY")
                    .next()
                    .map(|d| format!("CAPABILITY{}", String::from_utf8_lossy(d).trim_end()));
                self.caps = found.as_deref().map(parse_caps).unwrap_or_default();
            }
        }
        Ok(())
    }

    /// `AUTHENTICATE PLAIN`, the response sent after the server's continuation. The token
    /// holds the password, so it is never part of an error.
    async fn authenticate_plain(&mut self, token: String) -> Result<Done, BackendError> {
        let tag = self.tag();
        self.commands.fetch_add(1, Ordering::Relaxed);
        self.write(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
            .await?;
        self.wait_continuation(&tag, "AUTHENTICATE").await?;
        self.write(format!("{token}\r\n").as_bytes()).await?;
        self.finish(&tag, "AUTHENTICATE").await
    }

    /// Whether the server advertised a capability (`MOVE`, `UIDPLUS`, `SPECIAL-USE`).
    pub fn has(&self, capability: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(capability))
    }

    /// Run a command made of plain text.
    pub async fn run(&mut self, command: &str) -> Result<Done, BackendError> {
        self.run_parts(&[Part::Text(command.to_string())]).await
    }

    /// Run a command with literals where its parts need them.
    pub async fn run_parts(&mut self, parts: &[Part]) -> Result<Done, BackendError> {
        let tag = self.tag();
        self.commands.fetch_add(1, Ordering::Relaxed);
        let name = match parts.first() {
            Some(Part::Text(t)) => t.split(' ').next().unwrap_or("").to_string(),
            _ => String::new(),
        };
        let mut pending = format!("{tag} ").into_bytes();
        for part in parts {
            match part {
                Part::Text(t) => pending.extend_from_slice(t.as_bytes()),
                Part::Literal(bytes) => {
                    pending.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                    self.write(&pending).await?;
                    pending.clear();
                    self.wait_continuation(&tag, &name).await?;
                    pending.extend_from_slice(bytes);
                }
            }
        }
        pending.extend_from_slice(b"\r\n");
        self.write(&pending).await?;
        self.finish(&tag, &name).await
    }

    fn tag(&mut self) -> String {
        let tag = format!("r{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), BackendError> {
        let stream = self.stream.get_mut();
        let io = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        let result = tokio::time::timeout(self.timeout, io)
            .await
            .map_err(|_| self.timed_out())
            .and_then(|r| r.map_err(|e| dropped(&e)));
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Wait for `+ ` (go on with the literal); a tagged answer instead is a refusal.
    async fn wait_continuation(&mut self, tag: &str, name: &str) -> Result<(), BackendError> {
        let deadline = self.deadline();
        loop {
            let response = self.read_response(deadline).await?;
            if response.starts_with(b"+") {
                return Ok(());
            }
            if let Some(rest) = response.strip_prefix(format!("{tag} ").as_bytes()) {
                let line = proto::status_line(rest).unwrap_or(StatusLine {
                    status: Status::Bad,
                    code: None,
                    text: String::from_utf8_lossy(rest).into_owned(),
                });
                return Err(refusal(self.server, name, &line));
            }
            self.note_untagged(&response);
        }
    }

    /// Read until the tagged completion of `tag`.
    async fn finish(&mut self, tag: &str, name: &str) -> Result<Done, BackendError> {
        let mut done = Done::default();
        let prefix = format!("{tag} ");
        let deadline = self.deadline();
        let mut held = 0usize;
        loop {
            let response = self.read_response(deadline).await?;
            if let Some(rest) = response.strip_prefix(prefix.as_bytes()) {
                let Some(line) = proto::status_line(rest) else {
                    self.broken = true;
                    return Err(BackendError::new(
                        ErrorKind::Invalid,
                        "malformed tagged response",
                    ));
                };
                return match line.status {
                    Status::Ok => {
                        done.code = line.code;
                        Ok(done)
                    }
                    _ => Err(refusal(self.server, name, &line)),
                };
            }
            if let Some(rest) = response.strip_prefix(b"* ") {
                if let Some(line) = proto::status_line(rest)
                    && line.status == Status::Bye
                {
                    return Err(BackendError::new(
                        ErrorKind::Unavailable,
                        format!("server closed the connection: {}", sanitize(&line.text)),
                    ));
                }
                self.note_untagged(&response);
                held += rest.len();
                if held > MAX_COMMAND_DATA {
                    self.broken = true;
                    return Err(BackendError::new(
                        ErrorKind::Invalid,
                        format!(
                            "{name}: the server sent over {} MiB without completing it",
                            MAX_COMMAND_DATA >> 20
                        ),
                    ));
                }
                done.untagged.push(rest.to_vec());
            }
        }
    }

    /// Untagged responses that change what we know about the connection.
    fn note_untagged(&mut self, response: &[u8]) {
        let Some(rest) = response.strip_prefix(b"* ") else {
            return;
        };
        if let Some(line) = proto::status_line(rest)
            && let Some(code) = line.code
            && proto::code_name(&code) == "CAPABILITY"
        {
            self.caps = parse_caps(&code);
        }
    }

    /// One response: a line, with any literals it announces and the lines that follow them.
    /// Within the reply timeout, and within the command's deadline: a server that keeps
    /// talking without ever completing the command is cut off too.
    async fn read_response(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, BackendError> {
        let until = deadline.min(tokio::time::Instant::now() + self.timeout);
        let result = match tokio::time::timeout_at(until, read_response(&mut self.stream)).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out()),
        };
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// When a command started now must have completed.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.timeout * COMMAND_TIMEOUTS
    }

    fn timed_out(&self) -> BackendError {
        BackendError::new(
            ErrorKind::Timeout,
            format!(
                "IMAP server did not answer within {}s (mailbox {})",
                self.timeout.as_secs(),
                self.user
            ),
        )
    }
}

/// One response: its lines and literals, [`MAX_RESPONSE`] bytes at most in all. Every way
/// this can fail leaves the stream at an unknown point, so the caller must not use the
/// connection again (see [`Conn::broken`]).
async fn read_response<R: AsyncRead + Unpin>(
    stream: &mut BufReader<R>,
) -> Result<Vec<u8>, BackendError> {
    let too_large = || {
        BackendError::new(
            ErrorKind::Invalid,
            format!("IMAP response larger than {} MiB", MAX_RESPONSE >> 20),
        )
    };
    let closed = || {
        BackendError::new(
            ErrorKind::Unavailable,
            "connection closed by the IMAP server",
        )
    };
    let mut out = Vec::new();
    loop {
        let start = out.len();
        let room = MAX_RESPONSE - out.len();
        let n = (&mut *stream)
            .take(room as u64)
            .read_until(b'\n', &mut out)
            .await
            .map_err(|e| dropped(&e))?;
        if n == 0 {
            return Err(closed());
        }
        if out.last() != Some(&b'\n') {
            // Out of room mid-line, or the server hung up mid-line: never a whole response.
            return Err(if n == room { too_large() } else { closed() });
        }
        let line = &out[start..];
        let Some(size) = literal_size(line) else {
            return Ok(out);
        };
        if size > MAX_RESPONSE - out.len() {
            return Err(too_large());
        }
        // Read as it arrives rather than reserving what the server announced.
        let got = (&mut *stream)
            .take(size as u64)
            .read_to_end(&mut out)
            .await
            .map_err(|e| dropped(&e))?;
        if got != size {
            return Err(closed());
        }
    }
}

/// `{n}` at the end of a line announces a literal of n bytes. A count too large for `usize`
/// is `usize::MAX` (refused as too large), never "no literal": the bytes after it must not be
/// read as responses.
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n").or(line.strip_suffix(b"\n"))?;
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(usize::MAX),
    )
}

/// Read the greeting and upgrade with `STARTTLS` before anything else is said; returns the
/// greeting's text too.
async fn starttls(
    tcp: TcpStream,
    timeout: Duration,
    commands: &AtomicU64,
) -> Result<(TcpStream, String), BackendError> {
    let mut reader = BufReader::new(tcp);
    let talk = async {
        let greeting = read_response(&mut reader).await?;
        let Some(said) = greeting
            .strip_prefix(b"* ")
            .and_then(proto::status_line)
            .filter(|s| s.status == Status::Ok)
        else {
            return Err(BackendError::new(
                ErrorKind::Unavailable,
                "unexpected IMAP greeting before STARTTLS",
            ));
        };
        commands.fetch_add(1, Ordering::Relaxed);
        reader
            .get_mut()
            .write_all(b"s0 STARTTLS\r\n")
            .await
            .map_err(|e| dropped(&e))?;
        loop {
            let response = read_response(&mut reader).await?;
            if let Some(rest) = response.strip_prefix(b"s0 ") {
                return match proto::status_line(rest) {
                    Some(line) if line.status == Status::Ok => Ok(said.text),
                    _ => Err(BackendError::new(
                        ErrorKind::PermissionDenied,
                        "the server refused STARTTLS; nothing was sent in the clear",
                    )),
                };
            }
        }
    };
    let greeting = tokio::time::timeout(timeout, talk)
        .await
        .map_err(|_| BackendError::new(ErrorKind::Timeout, "STARTTLS timed out"))??;
    if !reader.buffer().is_empty() {
        // Bytes after the OK would be injected plain text (CVE-2011-0411 style).
        return Err(BackendError::new(
            ErrorKind::Invalid,
            "the server sent data after STARTTLS before the handshake",
        ));
    }
    Ok((reader.into_inner(), greeting))
}

async fn handshake(
    tls: Option<&TlsConnector>,
    host: &str,
    tcp: TcpStream,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, BackendError> {
    let connector =
        tls.ok_or_else(|| BackendError::new(ErrorKind::Internal, "TLS is not set up"))?;
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        BackendError::new(
            ErrorKind::Invalid,
            format!("'{host}' is not a valid TLS server name"),
        )
    })?;
    tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| BackendError::new(ErrorKind::Timeout, "TLS handshake timed out"))?
        .map_err(|e| {
            BackendError::new(
                ErrorKind::PermissionDenied,
                format!("TLS handshake with {host} failed: {e}"),
            )
        })
}

fn parse_caps(code: &str) -> Vec<String> {
    code.split_ascii_whitespace()
        .skip(1)
        .map(str::to_ascii_uppercase)
        .collect()
}

fn dropped(e: &std::io::Error) -> BackendError {
    BackendError::new(
        ErrorKind::Unavailable,
        format!("IMAP connection dropped: {e}"),
    )
}

/// A refused login: a missing user is not actionable, anything else is the credentials.
fn login_error(e: BackendError, user: &str, admin: &str) -> BackendError {
    let kind = match e.kind {
        ErrorKind::NoSuchMailbox => ErrorKind::NoSuchMailbox,
        ErrorKind::Invalid | ErrorKind::AuthFailed | ErrorKind::PermissionDenied => {
            ErrorKind::AuthFailed
        }
        other => other,
    };
    let what = match kind {
        ErrorKind::NoSuchMailbox => format!("no mailbox {user} on the IMAP server"),
        ErrorKind::AuthFailed => format!("admin login as {admin} for {user} refused"),
        _ => format!("login for {user} failed"),
    };
    BackendError::new(kind, format!("{what} ({})", e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn responses_keep_their_literals_whole() {
        let wire: &[u8] = b"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 4)\r\nr1 OK done\r\n";
        let mut reader = BufReader::new(wire);
        let first = read_response(&mut reader).await.unwrap();
        assert_eq!(first, b"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 4)\r\n");
        let second = read_response(&mut reader).await.unwrap();
        assert_eq!(second, b"r1 OK done\r\n");
        let err = read_response(&mut reader).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable);
    }

    #[tokio::test]
    async fn hostile_framing_is_an_error_not_a_panic_or_a_response() {
        // A literal size past usize, one past the cap, a literal cut short, a line cut short.
        for huge in [
            b"* 1 FETCH (BODY[] {18446744073709551615}\r\nab\r\n".as_slice(),
            b"* 1 FETCH (BODY[] {99999999999999999999}\r\nr1 OK fake\r\n".as_slice(),
        ] {
            let err = read_response(&mut BufReader::new(huge)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{err:?}");
        }
        let over = format!("* 1 FETCH (BODY[] {{{}}}\r\n", MAX_RESPONSE);
        let err = read_response(&mut BufReader::new(over.as_bytes()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{err:?}");
        let cut = b"* 1 FETCH (BODY[] {10}\r\nabc".as_slice();
        let err = read_response(&mut BufReader::new(cut)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable, "{err:?}");
        let no_end = b"r1 OK [COPYUID 1 5 999]".as_slice();
        let err = read_response(&mut BufReader::new(no_end))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable, "{err:?}");
        // A line longer than the cap is refused, not returned as a response with the rest
        // left to be read as the next one.
        let mut long = vec![b'x'; MAX_RESPONSE + 10];
        long.extend_from_slice(b"\r\nr1 OK [COPYUID 1 5 999]\r\n");
        let mut reader = BufReader::new(long.as_slice());
        let err = read_response(&mut reader).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{err:?}");
    }

    #[test]
    fn refusals_map_by_code() {
        let line = |t: &[u8]| proto::status_line(t).unwrap();
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
            refusal(
                Server::Other,
                "SELECT",
                &line(b"NO [NONEXISTENT] no such folder")
            )
            .kind,
            ErrorKind::Gone
        );
        let e = login_error(
            refusal(
                Server::Other,
                "LOGIN",
                &line(b"NO [AUTHENTICATIONFAILED] Authentication failed."),
            ),
            "bob@x",
            "admin",
        );
        assert_eq!(e.kind, ErrorKind::AuthFailed);
        let e = login_error(
            refusal(
                Server::Other,
                "LOGIN",
                &line(b"NO [AUTHORIZATIONFAILED] Authorization failed"),
            ),
            "ghost@x",
            "admin",
        );
        assert_eq!(e.kind, ErrorKind::NoSuchMailbox);
        assert!(e.detail.contains("ghost@x"));
    }

    #[test]
    fn fetch_and_keyword_data_are_found() {
        let done = Done {
            untagged: vec![
                b"SEARCH 4 5".to_vec(),
                b"12 FETCH (UID 4)".to_vec(),
                b"LIST (\\Junk) \"/\" Junk".to_vec(),
            ],
            code: Some("COPYUID 1 4 9".into()),
        };
        assert_eq!(done.data("SEARCH").collect::<Vec<_>>(), vec![&b" 4 5"[..]]);
        assert_eq!(done.fetches().collect::<Vec<_>>(), vec![&b"(UID 4)"[..]]);
        assert_eq!(done.codes(), vec!["COPYUID 1 4 9".to_string()]);
        assert_eq!(literal_size(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
        assert_eq!(literal_size(b"* OK {fine}\r\n"), None);
    }
}
