//! Secrets named by config (passwords, client secrets, key passwords): where they come from,
//! and a wrapper that never prints them.
//!
//! Config files hold only the *name* of a secret's source: an environment variable, a file,
//! or a command that prints it. Secret files (and private-key files) readable by group or
//! others are refused, so a world-readable password file is found before it is used.

use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A secret value. `Debug` and `Display` print `***`, so a secret that slips into a log line,
/// an error or JSON output shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it (a LOGIN command, a token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from. Resolved when a backend is built, not when config is parsed,
/// so `search` and `audit` work without the secrets of every tenant at hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `<stem>_env = "VAR"`
    Env(String),
    /// `<stem>_file = "path"` (resolved against the config file's directory)
    File(PathBuf),
    /// `<stem>_command = "pass show mail/admin"`, run by `sh -c`; its stdout is the secret.
    Command(SecretCommand),
}

/// A command that prints a secret, with the config key that names it (for errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretCommand {
    /// `admin_password_command`, `client_secret_command`, ...
    pub key: String,
    /// The shell command line.
    pub line: String,
}

/// How long a secret command may run before its whole process group is killed. A password
/// manager that waits for a touch or a prompt nobody can answer (stdin is closed) must not
/// hang the tenant's work, let alone every command.
pub const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a secret command may print; more is an error rather than memory held for it.
pub const SECRET_COMMAND_MAX_BYTES: usize = 64 * 1024;

/// Bounds on a secret command: [`SECRET_COMMAND_TIMEOUT`] and [`SECRET_COMMAND_MAX_BYTES`]
/// unless a test asks for others.
#[derive(Clone, Copy, Debug)]
pub struct CommandLimits {
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl Default for CommandLimits {
    fn default() -> Self {
        CommandLimits {
            timeout: SECRET_COMMAND_TIMEOUT,
            max_bytes: SECRET_COMMAND_MAX_BYTES,
        }
    }
}

impl SecretSource {
    /// Take the keys `<stem>_env`, `<stem>_file` and `<stem>_command` out of a tenant's
    /// kind-specific table. At most one may be present; `Ok(None)` when none is.
    /// `at` names the table in errors (`[tenants.corp]`).
    pub fn take_from(
        table: &mut toml::Table,
        stem: &str,
        at: &str,
        base: &Path,
    ) -> Result<Option<SecretSource>, String> {
        let mut found = Vec::new();
        for suffix in ["env", "file", "command"] {
            let key = format!("{stem}_{suffix}");
            if let Some(value) = table.remove(&key) {
                let Some(text) = value.as_str() else {
                    return Err(format!("{at} {key}: expected a string"));
                };
                if text.trim().is_empty() {
                    return Err(format!("{at} {key}: must not be empty"));
                }
                let source = match suffix {
                    "env" => SecretSource::Env(text.to_string()),
                    "file" => SecretSource::File(base.join(text)),
                    _ => SecretSource::Command(SecretCommand {
                        key: key.clone(),
                        line: text.to_string(),
                    }),
                };
                found.push((key, source));
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop().map(|(_, s)| s)),
            _ => Err(format!(
                "{at} {}: give only one of these",
                found
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Where the secret comes from, for `check` and error messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Command(c) => format!("the command of {}", c.key),
        }
    }

    /// Read the secret. Trailing newlines (from `echo` or an editor) are dropped.
    pub fn resolve(&self) -> Result<Secret, String> {
        self.resolve_within(CommandLimits::default())
    }

    /// [`SecretSource::resolve`] with these bounds on a command source.
    pub fn resolve_within(&self, limits: CommandLimits) -> Result<Secret, String> {
        let raw = match self {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                format!("the environment variable {var} is not set (or not valid UTF-8)")
            })?,
            SecretSource::File(path) => {
                let bytes = read_private_file(path)?;
                String::from_utf8(bytes)
                    .map_err(|_| format!("{}: the secret is not valid UTF-8", path.display()))?
            }
            SecretSource::Command(command) => run_secret_command(command, limits)?,
        };
        let value = raw.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            return Err(format!("{} gave an empty secret", self.describe()));
        }
        remember_for_redaction(value);
        Ok(Secret::new(value))
    }
}

/// Every secret value this process has resolved, so that text a server sends back (an error
/// body quoting the password or client secret) can be cleaned of them by [`redact`].
static KNOWN_SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Values shorter than this are not redacted: replacing every `a` or `12` in an error
/// would garble it and such a secret protects nothing anyway.
const SHORTEST_REDACTED: usize = 4;

/// Add a value to those [`redact`] removes (also for access tokens a backend obtains).
pub fn remember_for_redaction(value: &str) {
    if value.len() < SHORTEST_REDACTED {
        return;
    }
    let mut known = KNOWN_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first, so a secret that contains another is removed whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// What replaces a redacted secret or token.
pub const REDACTED: &str = "[redacted]";

/// Remove from server or log text every secret this process has resolved and anything that
/// looks like a credential: `Bearer <token>`, JWT-shaped strings (`eyJ….….…`) and the values
/// of `password=`, `client_secret=`, `client_assertion=`, `access_token`, `refresh_token`
/// (form or JSON style). Servers echo requests back in error bodies; those bodies end up in
/// item errors, the audit trail, the log and the screen.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    {
        let known = KNOWN_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
    }
    redact_token_shapes(&out)
}

/// Keys whose value is a credential wherever it appears (`key=value`, `"key":"value"`).
const CREDENTIAL_KEYS: [&str; 6] = [
    "password",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
];

fn redact_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(skip) = credential_prefix(rest) {
            let (head, tail) = rest.split_at(skip);
            out.push_str(head);
            // Already redacted (text cleaned twice): keep it as it is.
            let value_len = if tail.starts_with(REDACTED) {
                REDACTED.len()
            } else {
                tail.find(is_token_end).unwrap_or(tail.len())
            };
            if value_len > 0 {
                out.push_str(REDACTED);
            }
            rest = &tail[value_len..];
            continue;
        }
        let word_len = rest.find(is_token_end).unwrap_or(rest.len());
        if word_len > 0 {
            let word = &rest[..word_len];
            if looks_like_jwt(word) {
                out.push_str(REDACTED);
            } else {
                out.push_str(word);
            }
            rest = &rest[word_len..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Where a credential value starts when `text` begins with `Bearer `, `key=`, `key: ` or
/// `"key":"` (case-insensitive keys), as a byte count to keep.
fn credential_prefix(text: &str) -> Option<usize> {
    let lower: String = text
        .chars()
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    if let Some(after) = lower.strip_prefix("bearer") {
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        if spaces > 0 {
            return Some("bearer".len() + spaces);
        }
    }
    let quoted = lower.starts_with('"');
    let body = lower.strip_prefix('"').unwrap_or(&lower);
    for key in CREDENTIAL_KEYS {
        let Some(after) = body.strip_prefix(key) else {
            continue;
        };
        let after = if quoted {
            match after.strip_prefix('"') {
                Some(a) => a,
                None => continue,
            }
        } else {
            after
        };
        let sep = after
            .strip_prefix('=')
            .or_else(|| after.strip_prefix(':'))?;
        let trimmed = sep.trim_start_matches([' ', '"']);
        let taken =
            usize::from(quoted) + key.len() + usize::from(quoted) + 1 + (sep.len() - trimmed.len());
        return Some(taken);
    }
    None
}

fn is_token_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '&' | ',' | ';' | '<' | '>' | '(' | ')' | '}' | ']'
        )
}

/// Three base64url segments joined by dots, the first a JSON header (`eyJ`).
fn looks_like_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && word.starts_with("eyJ")
        && parts.iter().take(2).all(|p| p.len() >= 4)
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

/// Read a file that holds a secret or a private key, refusing one that group or others can
/// read (as ssh does for private keys).
pub fn read_private_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "{}: refusing a secret file readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Run a secret command in a process group of its own, reading at most `limits.max_bytes`
/// of its stdout and waiting at most `limits.timeout`; past either the whole group is killed
/// (a shell's children included, which would otherwise keep the pipe open).
fn run_secret_command(command: &SecretCommand, limits: CommandLimits) -> Result<String, String> {
    let key = &command.key;
    // stderr is discarded rather than shown: a failing password manager may echo what it
    // was given. The exit status is enough to say what went wrong.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&command.line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{key}: cannot run the secret command: {e}"))?;
    let group = child.id() as libc::pid_t;
    let kill_group = || {
        // SAFETY: kill(2) with a negative pid signals that process group; the group is the
        // child's own (process_group(0)), so nothing else is hit.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    };
    let Some(stdout) = child.stdout.take() else {
        kill_group();
        let _ = child.wait();
        return Err(format!("{key}: the secret command has no output pipe"));
    };
    let cap = limits.max_bytes;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let read = stdout.take(cap as u64 + 1).read_to_end(&mut buf);
        let _ = sender.send(read.map(|_| buf));
    });
    let deadline = Instant::now() + limits.timeout;
    let timed_out = || {
        format!(
            "{key}: the secret command did not finish within {} s; it was stopped",
            limits.timeout.as_secs_f32()
        )
    };
    let output = match receiver.recv_timeout(limits.timeout) {
        Ok(Ok(buf)) => buf,
        Ok(Err(e)) => {
            kill_group();
            let _ = child.wait();
            return Err(format!("{key}: reading the secret command's output: {e}"));
        }
        Err(_) => {
            kill_group();
            let _ = child.wait();
            return Err(timed_out());
        }
    };
    if output.len() > cap {
        kill_group();
        let _ = child.wait();
        return Err(format!(
            "{key}: the secret command printed more than {cap} bytes; it was stopped"
        ));
    }
    // The output is complete (end of file); the command itself must end too.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                kill_group();
                let _ = child.wait();
                return Err(timed_out());
            }
            Err(e) => {
                kill_group();
                return Err(format!("{key}: waiting for the secret command: {e}"));
            }
        }
    };
    if !status.success() {
        return Err(format!("{key}: the secret command failed ({status})"));
    }
    String::from_utf8(output).map_err(|_| format!("{key}: the secret command printed non-UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    fn command(line: &str) -> SecretSource {
        SecretSource::Command(SecretCommand {
            key: "admin_password_command".into(),
            line: line.into(),
        })
    }

    fn short(timeout_ms: u64, max_bytes: usize) -> CommandLimits {
        CommandLimits {
            timeout: Duration::from_millis(timeout_ms),
            max_bytes,
        }
    }

    /// Whether any process still runs with `marker` in its command line.
    fn still_running(marker: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
    }

    #[test]
    fn a_stuck_command_is_stopped_with_its_children_and_the_key_named() {
        // The shell forks a child that keeps stdout open: only killing the group ends it.
        let marker = "retractor-secret-test-stuck-4711";
        let started = Instant::now();
        let err = command(&format!("sh -c 'sleep 30; : {marker}' & sleep 30"))
            .resolve_within(short(300, 1024))
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            err.contains("admin_password_command") && err.contains("did not finish"),
            "{err}"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !still_running(marker),
            "the command's children were left running"
        );
    }

    #[test]
    fn a_command_printing_megabytes_is_stopped() {
        let started = Instant::now();
        let err = command("head -c 8000000 /dev/zero | tr '\\0' x; sleep 30")
            .resolve_within(short(5_000, 64 * 1024))
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(err.contains("more than 65536 bytes"), "{err}");
        assert!(!err.contains("xxxx"), "{err}");
    }

    #[test]
    fn a_command_that_closes_stdout_but_keeps_running_is_stopped() {
        let err = command("printf pw; exec >&-; sleep 30")
            .resolve_within(short(300, 1024))
            .unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn takes_exactly_one_source_and_removes_its_key() {
        let mut t = table("admin_password_env = \"PW\"\nhost = \"x\"");
        let got = SecretSource::take_from(&mut t, "admin_password", "[tenants.a]", Path::new("/"));
        assert_eq!(got, Ok(Some(SecretSource::Env("PW".into()))));
        assert!(!t.contains_key("admin_password_env"));
        assert!(t.contains_key("host"));

        let mut none = table("host = \"x\"");
        assert_eq!(
            SecretSource::take_from(&mut none, "admin_password", "[t]", Path::new("/")),
            Ok(None)
        );

        let mut two = table("admin_password_env = \"PW\"\nadmin_password_file = \"pw\"");
        let err =
            SecretSource::take_from(&mut two, "admin_password", "[tenants.a]", Path::new("/"))
                .unwrap_err();
        assert!(
            err.contains("admin_password_env, admin_password_file"),
            "{err}"
        );
    }

    #[test]
    fn file_source_refuses_group_readable_and_trims_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = SecretSource::File(path.clone()).resolve().unwrap_err();
        assert!(err.contains("readable by group or others"), "{err}");
        assert!(!err.contains("s3cret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let got = SecretSource::File(path).resolve().unwrap();
        assert_eq!(got.expose(), "s3cret");
    }

    #[test]
    fn command_source_uses_stdout_and_reports_failure_without_output() {
        let ok = command("printf 'abc\\n'").resolve().unwrap();
        assert_eq!(ok.expose(), "abc");
        let err = command("echo leaked >&2; echo leaked; exit 3")
            .resolve()
            .unwrap_err();
        assert!(err.contains("failed"), "{err}");
        assert!(!err.contains("leaked"), "{err}");
    }

    #[test]
    fn redaction_removes_resolved_secrets_and_token_shapes() {
        let source = command("printf 'Sup3r-Secret-42'");
        let secret = source.resolve().unwrap();
        let echoed = format!(
            "400 bad request: client_secret={} was refused; got Authorization: Bearer abc.def-ghi and \
             token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl; {{\"password\":\"hunter22\",\"x\":1}} \
             echo {}",
            secret.expose(),
            secret.expose()
        );
        let clean = redact(&echoed);
        for leaked in ["Sup3r-Secret-42", "abc.def-ghi", "eyJhbGci", "hunter22"] {
            assert!(!clean.contains(leaked), "{leaked} in {clean}");
        }
        assert!(
            clean.contains("400 bad request") && clean.contains("\"x\":1"),
            "{clean}"
        );
        assert!(clean.contains("Bearer [redacted]"), "{clean}");
        // Ordinary text is untouched, and redacting twice changes nothing.
        let plain = "mailbox bob@corp.test: folder .Junk is missing (password policy ok)";
        assert_eq!(redact(plain), plain);
        assert_eq!(redact(&clean), clean);
    }

    #[test]
    fn missing_env_var_is_named() {
        let err = SecretSource::Env("RETRACTOR_TEST_SURELY_UNSET_42".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("RETRACTOR_TEST_SURELY_UNSET_42"), "{err}");
    }
}
