//! The `[store]` table: a SQLite file (`path`), or a PostgreSQL database for team mode
//! (`url`, its password's source and TLS settings).
//!
//! The URL holds no password: `password_env`, `password_file` or `password_command` name
//! where it comes from (see [`super::secret`]), so a config file can be shared and shown.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::secret::{Secret, SecretSource};

/// The `[store]` table as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub path: Option<PathBuf>,
    url: Option<String>,
    password_env: Option<String>,
    password_file: Option<String>,
    password_command: Option<String>,
    sslmode: Option<String>,
    ca_file: Option<PathBuf>,
}

/// How the session to PostgreSQL is protected (libpq's names and meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP: only for a database on this host or a private network.
    Disable,
    /// Encrypted, the server's certificate not checked.
    Require,
    /// Encrypted, the certificate checked against the CA, not its name.
    VerifyCa,
    /// Encrypted, the certificate checked against the CA and the host's name.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A PostgreSQL store (team mode), checked: the URL parsed, its password's source named.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    /// The URL as written (it holds no password), for messages.
    pub url: String,
    /// The URL's parameters (host, port, user, database).
    pub connect: postgres::Config,
    pub password: Option<SecretSource>,
    /// `verify-full` unless written otherwise: a team database is reached over a network.
    pub sslmode: SslMode,
    /// The CA that signs the server's certificate (default: the system's roots).
    pub ca_file: Option<PathBuf>,
}

impl PostgresStore {
    /// The connection's parameters with the password resolved (run the command, read the
    /// file or the variable): when the store is opened, not when config is parsed.
    pub fn resolve(&self) -> Result<postgres::Config, String> {
        let mut config = self.connect.clone();
        if let Some(source) = &self.password {
            let secret: Secret = source.resolve()?;
            config.password(secret.expose());
        }
        Ok(config)
    }
}

/// A team store's `[store]` keys given another way (`store copy --to URL` takes them as
/// flags): the same checks as in a config file.
#[derive(Debug, Default)]
pub struct TeamStoreKeys {
    pub url: String,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    pub sslmode: Option<String>,
    pub ca_file: Option<PathBuf>,
}

impl PostgresStore {
    /// The team store `keys` describe, relative files from `base` (a directory); errors name
    /// the key as `[store]` spells it.
    pub fn from_keys(keys: TeamStoreKeys, base: &Path) -> Result<PostgresStore, String> {
        let raw = RawStore {
            path: None,
            url: Some(keys.url),
            password_env: keys.password_env,
            password_file: keys.password_file,
            password_command: keys.password_command,
            sslmode: keys.sslmode,
            ca_file: keys.ca_file,
        };
        raw.postgres(base)?
            .ok_or_else(|| "no PostgreSQL URL".to_string())
    }
}

impl RawStore {
    /// The team store, when `url` is given; errors name the key and what is wrong.
    pub(super) fn postgres(&self, base: &Path) -> Result<Option<PostgresStore>, String> {
        let Some(url) = &self.url else {
            for (key, given) in [
                ("password_env", self.password_env.is_some()),
                ("password_file", self.password_file.is_some()),
                ("password_command", self.password_command.is_some()),
                ("sslmode", self.sslmode.is_some()),
                ("ca_file", self.ca_file.is_some()),
            ] {
                if given {
                    return Err(format!(
                        "[store] {key} is for a PostgreSQL store: it needs url = \"postgresql://...\""
                    ));
                }
            }
            return Ok(None);
        };
        if self.path.is_some() {
            return Err(
                "[store] path and url both given: a store is a SQLite file (path) or a PostgreSQL database (url), not both"
                    .into(),
            );
        }
        if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
            // Not echoed: a URL of another kind may hold a password.
            return Err(
                "[store] url: is not a PostgreSQL URL (postgresql://user@host:port/database)"
                    .into(),
            );
        }
        let connect = postgres::Config::from_str(url)
            .map_err(|e| format!("[store] url: {e} (postgresql://user@host:port/database)"))?;
        if connect.get_password().is_some() {
            return Err("[store] url: holds a password; name its source with password_env, password_file or password_command instead, so the config file holds no secret".into());
        }
        if connect.get_user().is_none() {
            return Err("[store] url: names no user (postgresql://user@host:port/database)".into());
        }
        if connect.get_dbname().is_none() {
            return Err(
                "[store] url: names no database (postgresql://user@host:port/database)".into(),
            );
        }
        if connect.get_hosts().is_empty() {
            return Err("[store] url: names no host (postgresql://user@host:port/database)".into());
        }
        // The URL's own `sslmode=` would silently compete with the key; one place only.
        if url.contains("sslmode=") {
            return Err("[store] url: give sslmode as its own key ([store] sslmode = \"verify-full\"), not in the url".into());
        }
        let mut table = toml::Table::new();
        for (key, value) in [
            ("password_env", &self.password_env),
            ("password_file", &self.password_file),
            ("password_command", &self.password_command),
        ] {
            if let Some(v) = value {
                table.insert(key.into(), toml::Value::String(v.clone()));
            }
        }
        let password = SecretSource::take_from(&mut table, "password", "[store]", base)?;
        let sslmode = match &self.sslmode {
            None => SslMode::VerifyFull,
            Some(text) => SslMode::parse(text).ok_or_else(|| {
                format!(
                    "[store] sslmode: {:?} is not one of disable, require, verify-ca, verify-full",
                    shown(text)
                )
            })?,
        };
        let ca_file = self.ca_file.as_ref().map(|f| base.join(f));
        if let Some(ca) = &ca_file {
            if sslmode == SslMode::Disable {
                return Err("[store] ca_file is given but sslmode = \"disable\": the CA would never be used".into());
            }
            if !ca.is_file() {
                return Err(format!(
                    "[store] ca_file: {} is not a readable file",
                    ca.display()
                ));
            }
        }
        Ok(Some(PostgresStore {
            url: url.clone(),
            connect,
            password,
            sslmode,
            ca_file,
        }))
    }
}

/// Config text in a message, with control characters escaped (it may reach a terminal).
fn shown(text: &str) -> String {
    text.chars().flat_map(char::escape_default).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::SslMode;
    use crate::config::Config;

    fn parse(store: &str) -> Result<Config, String> {
        Config::parse(store, Path::new("/etc/retractor/config.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_postgresql_url_with_its_password_source_and_tls_parses() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "not checked here").expect("ca");
        let cfg = Config::parse(
            "[store]\nurl = \"postgresql://retractor@db.corp.test:5433/retractor\"\n\
             password_env = \"RTX_DB_PASSWORD\"\nsslmode = \"verify-ca\"\nca_file = \"ca.pem\"\n",
            &dir.path().join("config.toml"),
        )
        .expect("parses");
        let team = cfg.team_store.expect("a team store");
        assert_eq!(team.connect.get_user(), Some("retractor"));
        assert_eq!(team.connect.get_dbname(), Some("retractor"));
        assert_eq!(team.connect.get_ports(), [5433]);
        assert_eq!(team.sslmode, SslMode::VerifyCa);
        assert_eq!(team.ca_file, Some(dir.path().join("ca.pem")));
        // SAFETY: this test alone reads this variable.
        unsafe { std::env::set_var("RTX_DB_PASSWORD", "s3cret") };
        let resolved = team.resolve().expect("password resolved");
        assert_eq!(resolved.get_password(), Some(&b"s3cret"[..]));
        assert!(!format!("{team:?}").contains("s3cret"));
        // Without sslmode, the certificate and the host's name are checked.
        let cfg = parse("[store]\nurl = \"postgresql://r@db:5432/r\"\n").expect("parses");
        assert_eq!(cfg.team_store.expect("team").sslmode, SslMode::VerifyFull);
    }

    #[test]
    fn a_wrong_store_table_is_refused_naming_what_is_wrong() {
        for (store, says) in [
            ("url = \"postgresql://r:pw@db/r\"", "holds a password"),
            ("url = \"mysql://r@db/r\"", "not a PostgreSQL URL"),
            ("url = \"postgresql://r@db/r\"\npath = \"r.db\"", "not both"),
            ("url = \"postgresql://db/r\"", "names no user"),
            ("url = \"postgresql://r@db\"", "names no database"),
            (
                "url = \"postgresql://r@db/r?sslmode=disable\"",
                "its own key",
            ),
            (
                "url = \"postgresql://r@db/r\"\nsslmode = \"prefer\"",
                "is not one of",
            ),
            (
                "url = \"postgresql://r@db/r\"\nca_file = \"/nonexistent/ca.pem\"",
                "not a readable file",
            ),
            (
                "url = \"postgresql://r@db/r\"\nsslmode = \"disable\"\nca_file = \"x\"",
                "never be used",
            ),
            (
                "url = \"postgresql://r@db/r\"\npassword_env = \"A\"\npassword_file = \"b\"",
                "password",
            ),
            (
                "url = \"postgresql://r@db/r\"\npassword_env = \"\"",
                "must not be empty",
            ),
            ("password_env = \"A\"", "needs url"),
            (
                "url = \"postgresql://r@db/r\"\npasword_env = \"A\"",
                "pasword_env",
            ),
        ] {
            let err = parse(&format!("[store]\n{store}\n"))
                .err()
                .unwrap_or_default();
            assert!(err.contains(says), "{store}: {err}");
            assert!(
                !err.contains("pw@"),
                "{store}: the password is not shown: {err}"
            );
        }
    }

    #[test]
    fn a_team_store_loads_and_names_its_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[store]\nurl = \"postgresql://r@db:5432/r\"\nsslmode = \"disable\"\n",
        )
        .expect("write");
        let config = Config::load(&path).map_err(|e| e.to_string());
        let team = config.ok().and_then(|c| c.team_store);
        assert_eq!(
            team.map(|t| t.url),
            Some("postgresql://r@db:5432/r".to_string())
        );
    }
}
