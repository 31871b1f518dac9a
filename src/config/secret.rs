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
        super::redact::remember_for_redaction(value);
        Ok(Secret::new(value))
    }
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
    fn missing_env_var_is_named() {
        let err = SecretSource::Env("RETRACTOR_TEST_SURELY_UNSET_42".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("RETRACTOR_TEST_SURELY_UNSET_42"), "{err}");
    }
}
