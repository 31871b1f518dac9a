//! Secrets named by config (passwords, client secrets, key passwords): where they come from,
//! and a wrapper that never prints them.
//!
//! Config files hold only the *name* of a secret's source: an environment variable, a file,
//! or a command that prints it. Secret files (and private-key files) readable by group or
//! others are refused, so a world-readable password file is found before it is used.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    Command(String),
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
                    _ => SecretSource::Command(text.to_string()),
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
            SecretSource::Command(_) => "the configured command".to_string(),
        }
    }

    /// Read the secret. Trailing newlines (from `echo` or an editor) are dropped.
    pub fn resolve(&self) -> Result<Secret, String> {
        let raw = match self {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                format!("the environment variable {var} is not set (or not valid UTF-8)")
            })?,
            SecretSource::File(path) => {
                let bytes = read_private_file(path)?;
                String::from_utf8(bytes)
                    .map_err(|_| format!("{}: the secret is not valid UTF-8", path.display()))?
            }
            SecretSource::Command(command) => run_secret_command(command)?,
        };
        let value = raw.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            return Err(format!("{} gave an empty secret", self.describe()));
        }
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

fn run_secret_command(command: &str) -> Result<String, String> {
    // stderr is discarded rather than shown: a failing password manager may echo what it
    // was given. The exit status is enough to say what went wrong.
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the secret command: {e}"))?;
    if !output.status.success() {
        return Err(format!("the secret command failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|_| "the secret command printed non-UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
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
        let ok = SecretSource::Command("printf 'abc\\n'".into())
            .resolve()
            .unwrap();
        assert_eq!(ok.expose(), "abc");
        let err = SecretSource::Command("echo leaked >&2; echo leaked; exit 3".into())
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
