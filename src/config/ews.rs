//! `kind = "ews"`: on-premises Exchange (2016, 2019, Subscription Edition) through Exchange
//! Web Services. Parsed from a tenant's kind-specific keys; unknown keys are refused.

use std::path::PathBuf;

use serde::Deserialize;

use super::kinds::{BackendSettings, KindContext, KindSpec};
use super::net::checked_base_url;
use super::secret::SecretSource;

/// How the service account proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EwsAuth {
    /// NTLM (the on-premises default): `username` is `DOMAIN\user` or `user@domain`.
    Ntlm,
    /// HTTP Basic: over https only (plain http is refused off loopback, as everywhere).
    Basic,
    /// A bearer access token (Exchange 2019 CU13+ / SE modern auth through ADFS), read from
    /// `password_*`: obtained outside retractor.
    Oauth,
}

/// Whose rights open a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EwsAccess {
    /// The `ExchangeImpersonation` header (the ApplicationImpersonation role).
    Impersonation,
    /// The mailbox named in every folder id (Full Access on each mailbox).
    Delegate,
}

/// A header written onto a copy as it is quarantined or restored (`Name: value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampHeader {
    pub name: String,
    pub value: String,
}

/// Settings of one on-premises Exchange organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EwsSettings {
    /// `https://host/EWS/Exchange.asmx` (http only to loopback).
    pub url: String,
    pub auth: EwsAuth,
    /// The service account (`CORP\svc` or `svc@corp.example`); empty for `oauth`.
    pub username: String,
    /// The password (or, for `oauth`, the access token).
    pub password: SecretSource,
    pub access: EwsAccess,
    /// The parent folder of quarantined copies in the quarantine mailbox.
    pub quarantine_folder: String,
    /// Also locate (and act on) copies in Recoverable Items\Deletions.
    pub scan_recoverable_items: bool,
    /// Also locate copies in the mailbox's online archive.
    pub scan_archive: bool,
    /// Extra roots of trust for the server's certificate (a private CA), PEM.
    pub ca_file: Option<PathBuf>,
    /// `RequestServerVersion` sent with every request.
    pub server_version: String,
    /// Stamped on the quarantined copy (TRAP's quarantine header); `None`: none.
    pub quarantine_header: Option<StampHeader>,
    /// Stamped on a copy restored from quarantine (TRAP's undo-quarantine header).
    pub undo_quarantine_header: Option<StampHeader>,
    /// Requests in flight at once against one mailbox.
    pub mailbox_concurrency: usize,
    /// Requests in flight at once for the service account (EWSMaxConcurrency, 27 by default).
    pub account_concurrency: usize,
    /// Attempts of one request answered ErrorServerBusy, 503, or not at all.
    pub max_retries: u32,
    /// First back-off delay when the server gives no BackOffMilliseconds; doubles per attempt.
    pub retry_backoff_ms: u64,
    /// How long one request may take.
    pub request_timeout_secs: u64,
}

/// This kind's entry in [`super::kinds::KINDS`].
pub(super) const KIND: KindSpec = KindSpec {
    name: "ews",
    keys: &EWS_KEYS,
    parse: Some(|table, cx| parse(table, cx).map(BackendSettings::Ews)),
};

/// Keys this kind takes besides the common ones (for the unknown-key message).
const EWS_KEYS: [&str; 19] = [
    "url",
    "auth",
    "username",
    "password_env",
    "password_file",
    "password_command",
    "access",
    "quarantine_folder",
    "scan_recoverable_items",
    "scan_archive",
    "ca_file",
    "server_version",
    "quarantine_header",
    "undo_quarantine_header",
    "mailbox_concurrency",
    "account_concurrency",
    "max_retries",
    "retry_backoff_ms",
    "request_timeout_secs",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEws {
    url: String,
    #[serde(default = "default_auth")]
    auth: EwsAuth,
    #[serde(default)]
    username: String,
    #[serde(default = "default_access")]
    access: EwsAccess,
    #[serde(default = "default_quarantine")]
    quarantine_folder: String,
    #[serde(default = "yes")]
    scan_recoverable_items: bool,
    #[serde(default)]
    scan_archive: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default = "default_version")]
    server_version: String,
    #[serde(default = "default_quarantine_header")]
    quarantine_header: String,
    #[serde(default = "default_undo_header")]
    undo_quarantine_header: String,
    #[serde(default = "default_mailbox_concurrency")]
    mailbox_concurrency: usize,
    #[serde(default = "default_account_concurrency")]
    account_concurrency: usize,
    #[serde(default = "default_max_retries")]
    max_retries: u32,
    #[serde(default = "default_backoff")]
    retry_backoff_ms: u64,
    #[serde(default = "default_timeout")]
    request_timeout_secs: u64,
}

fn default_auth() -> EwsAuth {
    EwsAuth::Ntlm
}
fn default_access() -> EwsAccess {
    EwsAccess::Impersonation
}
fn default_quarantine() -> String {
    "Quarantine".into()
}
fn yes() -> bool {
    true
}
fn default_version() -> String {
    "Exchange2016".into()
}
fn default_quarantine_header() -> String {
    "X-Retractor-Quarantined: removed from a mailbox by the security team as a threat".into()
}
fn default_undo_header() -> String {
    "X-Retractor-Released: restored from quarantine by the security team".into()
}
fn default_mailbox_concurrency() -> usize {
    4
}
fn default_account_concurrency() -> usize {
    // Exchange's default throttling policy: EWSMaxConcurrency 27 per account.
    27
}
fn default_max_retries() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    120
}

/// Server versions this backend speaks (the schema names of Exchange 2010 SP2 onwards).
const VERSIONS: [&str; 6] = [
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2016",
    "Exchange2019",
];

/// `Name: value`, an X- header; empty: none. Attacker text never goes here, but a typo must
/// not put a line break or a non-header name into every quarantined copy.
fn stamp(key: &str, text: &str, at: &str) -> Result<Option<StampHeader>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let bad = || {
        format!(
            "{at} {key} = \"{text}\": expected \"X-Name: value\" on one line (or \"\" for none)"
        )
    };
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let (name, value) = (name.trim(), value.trim());
    let name_ok = name.len() > 2
        && name[..2].eq_ignore_ascii_case("x-")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !name_ok || value.is_empty() || value.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok(Some(StampHeader {
        name: name.to_string(),
        value: value.to_string(),
    }))
}

/// Parse the kind-specific keys of an ews tenant. Errors start with the table's name.
fn parse(mut table: toml::Table, cx: &KindContext) -> Result<EwsSettings, String> {
    let (at, base) = (cx.at, cx.base);
    let password = SecretSource::take_from(&mut table, "password", at, base)?;
    let raw: RawEws = cx.read(table)?;
    let url = checked_base_url(&raw.url, "url").map_err(|m| format!("{at} {m}"))?;
    let password = password
        .ok_or_else(|| format!("{at} password_env: missing; give password_env|_file|_command"))?;
    if raw.auth != EwsAuth::Oauth {
        let user = raw.username.trim();
        if user.is_empty() || user.chars().any(|c| c.is_control() || c == ':') {
            return Err(format!(
                "{at} username = \"{}\": expected DOMAIN\\user or user@domain",
                raw.username
            ));
        }
    }
    if raw.quarantine_folder.trim().is_empty() || raw.quarantine_folder.contains('/') {
        return Err(format!(
            "{at} quarantine_folder = \"{}\": expected one folder name (no '/')",
            raw.quarantine_folder
        ));
    }
    if !VERSIONS.contains(&raw.server_version.as_str()) {
        return Err(format!(
            "{at} server_version = \"{}\": expected one of {}",
            raw.server_version,
            VERSIONS.join(", ")
        ));
    }
    let bounded = |key: &str, value: u64, low: u64, high: u64| {
        if (low..=high).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{at} {key} = {value}: must be between {low} and {high}"
            ))
        }
    };
    bounded("mailbox_concurrency", raw.mailbox_concurrency as u64, 1, 27)?;
    // Above 27 only where the admin lifted EWSMaxConcurrency (TRAP asks for that).
    bounded(
        "account_concurrency",
        raw.account_concurrency as u64,
        1,
        1000,
    )?;
    bounded("max_retries", u64::from(raw.max_retries), 1, 20)?;
    bounded("retry_backoff_ms", raw.retry_backoff_ms, 1, 60_000)?;
    bounded("request_timeout_secs", raw.request_timeout_secs, 1, 600)?;
    Ok(EwsSettings {
        url,
        auth: raw.auth,
        username: raw.username.trim().to_string(),
        password,
        access: raw.access,
        quarantine_folder: raw.quarantine_folder,
        scan_recoverable_items: raw.scan_recoverable_items,
        scan_archive: raw.scan_archive,
        ca_file: raw.ca_file.map(|f| base.join(f)),
        server_version: raw.server_version,
        quarantine_header: stamp("quarantine_header", &raw.quarantine_header, at)?,
        undo_quarantine_header: stamp("undo_quarantine_header", &raw.undo_quarantine_header, at)?,
        mailbox_concurrency: raw.mailbox_concurrency,
        account_concurrency: raw.account_concurrency,
        max_retries: raw.max_retries,
        retry_backoff_ms: raw.retry_backoff_ms,
        request_timeout_secs: raw.request_timeout_secs,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_text(text: &str) -> Result<EwsSettings, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        parse(
            table,
            &KindContext::new("[tenants.exch]", Path::new("/etc/r"), &KIND),
        )
    }

    const BASE: &str = "url = \"https://mail.corp.example/EWS/Exchange.asmx\"\n\
                        username = 'CORP\\svc'\npassword_env = \"P\"\n";

    #[test]
    fn defaults_are_ntlm_impersonation_and_trap_headers() {
        let s = parse_text(BASE).unwrap();
        assert_eq!(s.auth, EwsAuth::Ntlm);
        assert_eq!(s.access, EwsAccess::Impersonation);
        assert_eq!(s.username, "CORP\\svc");
        assert_eq!(s.password, SecretSource::Env("P".into()));
        assert!(s.scan_recoverable_items && !s.scan_archive);
        assert_eq!(
            s.quarantine_header.as_ref().map(|h| h.name.as_str()),
            Some("X-Retractor-Quarantined")
        );
        assert_eq!(s.account_concurrency, 27);
    }

    #[test]
    fn plain_http_off_loopback_missing_password_and_bad_headers_are_named() {
        let e = parse_text(
            "url = \"http://mail.corp.example/EWS/Exchange.asmx\"\nusername = \"u\"\npassword_env = \"P\"\n",
        )
        .unwrap_err();
        assert!(e.contains("url") && e.contains("loopback"), "{e}");
        let e = parse_text("url = \"https://x/EWS\"\nusername = \"u\"\n").unwrap_err();
        assert!(e.contains("password_env: missing"), "{e}");
        let e = parse_text(&format!("{BASE}quarantine_header = \"Subject: hi\"\n")).unwrap_err();
        assert!(e.contains("quarantine_header"), "{e}");
        let s = parse_text(&format!("{BASE}undo_quarantine_header = \"\"\n")).unwrap();
        assert_eq!(s.undo_quarantine_header, None);
        let e = parse_text(&format!("{BASE}access = \"fullaccess\"\n")).unwrap_err();
        assert!(e.contains("fullaccess"), "{e}");
        let e = parse_text(&format!("{BASE}server_version = \"Exchange2007\"\n")).unwrap_err();
        assert!(e.contains("server_version"), "{e}");
        let e = parse_text(&format!("{BASE}scan_arhive = true\n")).unwrap_err();
        assert!(
            e.contains("scan_arhive") && e.contains("scan_archive"),
            "{e}"
        );
        let e = parse_text("url = \"https://x/EWS\"\npassword_env = \"P\"\n").unwrap_err();
        assert!(e.contains("username"), "{e}");
        assert!(
            parse_text("url = \"https://x/EWS\"\nauth = \"oauth\"\npassword_env = \"T\"\n").is_ok()
        );
    }
}
