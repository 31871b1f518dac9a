//! `kind = "imap"`: an IMAP server reached with an admin login (Dovecot master user, or SASL
//! PLAIN with an authorization id).
//!
//! Plain text (`security = "none"`) is allowed only to loopback, by the shared rule in
//! [`super::net`]; the admin password comes only from a [`SecretSource`].

use std::path::PathBuf;

use serde::Deserialize;

use super::kinds::{BackendSettings, KindContext, KindSpec};
use super::net::is_loopback_host;
use super::secret::SecretSource;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993).
    Tls,
    /// Plain connect, then `STARTTLS` before anything else is sent (port 143).
    Starttls,
    /// No TLS at all: loopback only.
    None,
}

/// How the admin logs in as each user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImapLogin {
    /// `LOGIN "user*admin" password` (Dovecot master users; the separator is configurable).
    MasterUser,
    /// `AUTHENTICATE PLAIN` with authzid = user, authcid = admin (RFC 4616).
    SaslAuthzid,
}

/// Folder names used when a mailbox does not mark its own with a special-use attribute
/// (RFC 6154), and the admin folders retractor creates.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImapFolders {
    /// Used when no folder has `\Junk`.
    pub junk: String,
    /// Used when no folder has `\Trash`.
    pub trash: String,
    /// Admin folder (never subscribed) for soft-deleted copies.
    pub soft_delete: String,
    /// Admin folder that keeps hard-deleted copies of mailboxes on legal hold.
    pub hold: String,
    /// Parent folder, in the quarantine mailbox, of the per-recipient quarantine folders.
    pub quarantine: String,
}

impl Default for ImapFolders {
    fn default() -> Self {
        ImapFolders {
            junk: "Junk".into(),
            trash: "Trash".into(),
            soft_delete: "Retractor-Deleted".into(),
            hold: "Retractor-Held".into(),
            quarantine: "Quarantine".into(),
        }
    }
}

/// Everything the IMAP backend needs besides the common tenant keys.
#[derive(Clone, Debug)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    /// A PEM file of extra trust anchors (a private CA), on top of the OS roots.
    pub ca_file: Option<PathBuf>,
    pub admin_user: String,
    pub admin_password: SecretSource,
    pub login: ImapLogin,
    /// Between user and admin in a master-user login (`alice*admin`).
    pub master_user_separator: String,
    pub folders: ImapFolders,
    /// Folders never searched nor touched (exact names, e.g. shared namespaces).
    pub exclude_folders: Vec<String>,
    /// Connections open at once to this server, across all mailboxes.
    pub max_connections: usize,
    /// Seconds to wait for a connection or for one command's answer.
    pub timeout_secs: u64,
    /// How many configured mailboxes `check` logs in to.
    pub check_sample: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImap {
    host: String,
    port: Option<u16>,
    #[serde(default = "default_security")]
    security: ImapSecurity,
    ca_file: Option<PathBuf>,
    admin_user: String,
    #[serde(default = "default_login")]
    login: ImapLogin,
    #[serde(default = "default_separator")]
    master_user_separator: String,
    #[serde(default)]
    folders: ImapFolders,
    #[serde(default)]
    exclude_folders: Vec<String>,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default = "default_check_sample")]
    check_sample: usize,
}

fn default_security() -> ImapSecurity {
    ImapSecurity::Tls
}
fn default_login() -> ImapLogin {
    ImapLogin::MasterUser
}
fn default_separator() -> String {
    "*".into()
}
fn default_max_connections() -> usize {
    8
}
fn default_timeout() -> u64 {
    60
}
fn default_check_sample() -> usize {
    3
}

/// This kind's entry in [`super::kinds::KINDS`].
pub(super) const KIND: KindSpec = KindSpec {
    name: "imap",
    keys: &IMAP_KEYS,
    parse: Some(|table, cx| parse(table, cx).map(BackendSettings::Imap)),
};

/// The keys `kind = "imap"` takes besides the common ones (for "expected one of" errors).
const IMAP_KEYS: [&str; 15] = [
    "host",
    "port",
    "security",
    "ca_file",
    "admin_user",
    "admin_password_env",
    "admin_password_file",
    "admin_password_command",
    "login",
    "master_user_separator",
    "folders",
    "exclude_folders",
    "max_connections",
    "timeout_secs",
    "check_sample",
];

/// Parse the kind-specific keys of an IMAP tenant. `at` names the table (`[tenants.corp]`).
fn parse(mut table: toml::Table, cx: &KindContext) -> Result<ImapSettings, String> {
    let (at, base) = (cx.at, cx.base);
    let admin_password = SecretSource::take_from(&mut table, "admin_password", at, base)?
        .ok_or_else(|| {
            format!(
                "{at}: kind \"imap\" needs the admin password: set admin_password_env, \
                 admin_password_file or admin_password_command"
            )
        })?;
    let raw: RawImap = cx.read(table)?;
    if raw.host.trim().is_empty() {
        return Err(format!("{at} host = \"\": must name the IMAP server"));
    }
    if raw.security == ImapSecurity::None && !is_loopback_host(&raw.host) {
        return Err(format!(
            "{at} security = \"none\": plain text is allowed only to loopback, and host \"{}\" \
             is not; use tls or starttls",
            raw.host
        ));
    }
    if raw.admin_user.trim().is_empty() {
        return Err(format!("{at} admin_user = \"\": must not be empty"));
    }
    if raw.master_user_separator.is_empty() {
        return Err(format!(
            "{at} master_user_separator = \"\": must not be empty"
        ));
    }
    if !(1..=256).contains(&raw.max_connections) {
        return Err(format!(
            "{at} max_connections = {}: must be between 1 and 256",
            raw.max_connections
        ));
    }
    if !(1..=3600).contains(&raw.timeout_secs) {
        return Err(format!(
            "{at} timeout_secs = {}: must be between 1 and 3600",
            raw.timeout_secs
        ));
    }
    // IMAP names non-ASCII folders in modified UTF-7 (RFC 3501 5.1.3), which is not encoded
    // here yet: a name written in UTF-8 would never match what LIST says, so an excluded
    // folder would be searched and acted on. Refused until it is.
    let f = &raw.folders;
    let named = [
        ("folders.junk", &f.junk),
        ("folders.trash", &f.trash),
        ("folders.soft_delete", &f.soft_delete),
        ("folders.hold", &f.hold),
        ("folders.quarantine", &f.quarantine),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(
        raw.exclude_folders
            .iter()
            .map(|v| ("exclude_folders".to_string(), v)),
    );
    let destinations = [
        ("folders.junk", &f.junk),
        ("folders.trash", &f.trash),
        ("folders.soft_delete", &f.soft_delete),
        ("folders.hold", &f.hold),
        ("folders.quarantine", &f.quarantine),
    ];
    for (key, name) in destinations {
        super::folders::check_folder_name(at, key, name)?;
    }
    super::folders::check_distinct_folders(at, &destinations)?;
    for (key, name) in named {
        // `&` too: modified UTF-7 writes it `&-`, so `R&D` is `R&-D` on the wire.
        if name.is_empty() || !name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'&') {
            return Err(format!(
                "{at} {key} = {}: a folder name must be printable ASCII without `&` (names in IMAP's modified UTF-7 are not supported yet)",
                crate::model::text::sanitize(&format!("{name:?}"))
            ));
        }
    }
    let port = raw.port.unwrap_or(match raw.security {
        ImapSecurity::Tls => 993,
        ImapSecurity::Starttls | ImapSecurity::None => 143,
    });
    Ok(ImapSettings {
        host: raw.host,
        port,
        security: raw.security,
        ca_file: raw.ca_file.map(|f| base.join(f)),
        admin_user: raw.admin_user,
        admin_password,
        login: raw.login,
        master_user_separator: raw.master_user_separator,
        folders: raw.folders,
        exclude_folders: raw.exclude_folders,
        max_connections: raw.max_connections,
        timeout_secs: raw.timeout_secs,
        check_sample: raw.check_sample,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{BackendSettings, Config};
    use std::path::Path;

    fn parse(body: &str) -> Result<Config, String> {
        let text = format!("[tenants.corp]\nkind = \"imap\"\ndomains = [\"corp.test\"]\n{body}");
        Config::parse(&text, Path::new("/etc/retractor/config.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_tenant_parses_with_defaults() {
        let cfg = parse(
            "host = \"imap.corp.test\"\nadmin_user = \"admin\"\nadmin_password_env = \"PW\"\nca_file = \"ca.pem\"\n",
        )
        .unwrap();
        let BackendSettings::Imap(s) = &cfg.tenants["corp"].backend else {
            panic!("not imap");
        };
        assert_eq!(s.port, 993);
        assert_eq!(s.security, super::ImapSecurity::Tls);
        assert_eq!(s.login, super::ImapLogin::MasterUser);
        assert_eq!(s.master_user_separator, "*");
        assert_eq!(
            s.ca_file.as_deref(),
            Some(Path::new("/etc/retractor/ca.pem"))
        );
        assert_eq!(s.folders.junk, "Junk");
    }

    #[test]
    fn plain_text_only_to_loopback() {
        let e = parse(
            "host = \"imap.corp.test\"\nsecurity = \"none\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("only to loopback") && e.contains("line 5"),
            "{e}"
        );
        let ok = parse(
            "host = \"127.0.0.1\"\nsecurity = \"none\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nlogin = \"sasl-authzid\"\n",
        )
        .unwrap();
        let BackendSettings::Imap(s) = &ok.tenants["corp"].backend else {
            panic!("not imap");
        };
        assert_eq!(s.port, 143);
        assert_eq!(s.login, super::ImapLogin::SaslAuthzid);
    }

    #[test]
    fn folder_names_must_be_ascii() {
        let e = parse(
            "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nexclude_folders = [\"Archive\", \"Geschäft\"]\n",
        )
        .unwrap_err();
        assert!(
            e.contains("exclude_folders") && e.contains("Geschäft") && e.contains("ASCII"),
            "{e}"
        );
        let e = parse(
            "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nfolders = { junk = \"\" }\n",
        )
        .unwrap_err();
        assert!(e.contains("folders.junk"), "{e}");
        let e = parse(
            "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nexclude_folders = [\"R&D\"]\n",
        )
        .unwrap_err();
        assert!(e.contains("R&D") && e.contains("without `&`"), "{e}");
        for (folders, why) in [
            ("junk = \"INBOX\"", "INBOX"),
            ("hold = \"~/x\"", "'~'"),
            ("soft_delete = \"../x\"", "'..'"),
        ] {
            let e = parse(&format!(
                "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nfolders = {{ {folders} }}\n"
            ))
            .unwrap_err();
            assert!(e.contains(why), "{folders}: {e}");
        }
    }

    #[test]
    fn unknown_keys_and_missing_password_are_named() {
        let e = parse(
            "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nmax_conections = 3\n",
        )
        .unwrap_err();
        assert!(
            e.contains("max_conections") && e.contains("line 7") && e.contains("max_connections"),
            "{e}"
        );
        let e = parse("host = \"h\"\nadmin_user = \"a\"\n").unwrap_err();
        assert!(e.contains("admin_password_env"), "{e}");
        let e = parse(
            "host = \"h\"\nadmin_user = \"a\"\nadmin_password_env = \"PW\"\nsecurity = \"ssl\"\n",
        )
        .unwrap_err();
        assert!(e.contains("ssl"), "{e}");
    }
}
