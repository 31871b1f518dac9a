//! `kind = "gmail"`: Google Workspace mailboxes through the Gmail API, as a service account
//! with domain-wide delegation. Parsed from a tenant's kind-specific keys; unknown keys are
//! refused. The service-account key file itself is read when the backend is built.

use std::path::PathBuf;

use serde::Deserialize;

use super::kinds::{BackendSettings, KindContext, KindSpec};
use super::net::checked_base_url;

/// Settings of one Google Workspace tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GmailSettings {
    /// Google's service-account JSON key (`client_email`, `private_key`, `token_uri`), mode 600.
    pub service_account_file: PathBuf,
    /// The admin the Directory API is called as (users.list needs an administrator).
    pub admin_subject: String,
    /// Gmail API root, without a trailing slash and without `/gmail/v1`.
    pub gmail_endpoint: String,
    /// Admin SDK root, without a trailing slash and without `/admin/directory/v1`.
    pub directory_endpoint: String,
    /// The hidden label soft-deleted (trashed) copies carry, so retractor knows them again.
    pub soft_delete_label: String,
    /// The parent of the per-recipient labels in the quarantine mailbox.
    pub quarantine_label: String,
    /// Requests in flight at once for one user (Gmail answers 429 past its own limit).
    pub user_concurrency: usize,
    /// Quota units spent per user per minute at most (Google allows 15,000).
    pub user_quota_per_minute: u32,
    /// Quota units spent per minute by the whole tenant at most (Google allows 1,200,000 per
    /// project).
    pub project_quota_per_minute: u32,
    /// Attempts of one request answered 5xx, a rate-limit 403/429 without a hint, or not at all.
    pub max_retries: u32,
    /// First back-off delay; doubles per attempt, with jitter.
    pub retry_backoff_ms: u64,
    /// How long one request may take.
    pub request_timeout_secs: u64,
}

/// This kind's entry in [`super::kinds::KINDS`].
pub(super) const KIND: KindSpec = KindSpec {
    name: "gmail",
    keys: &GMAIL_KEYS,
    parse: Some(|table, cx| parse(table, cx).map(BackendSettings::Gmail)),
};

/// Keys this kind takes besides the common ones (for the unknown-key message).
const GMAIL_KEYS: [&str; 12] = [
    "service_account_file",
    "admin_subject",
    "gmail_endpoint",
    "directory_endpoint",
    "soft_delete_label",
    "quarantine_label",
    "user_concurrency",
    "user_quota_per_minute",
    "project_quota_per_minute",
    "max_retries",
    "retry_backoff_ms",
    "request_timeout_secs",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGmail {
    service_account_file: PathBuf,
    admin_subject: String,
    #[serde(default = "default_gmail")]
    gmail_endpoint: String,
    #[serde(default = "default_directory")]
    directory_endpoint: String,
    #[serde(default = "default_soft_delete")]
    soft_delete_label: String,
    #[serde(default = "default_quarantine")]
    quarantine_label: String,
    #[serde(default = "default_user_concurrency")]
    user_concurrency: usize,
    #[serde(default = "default_user_quota")]
    user_quota_per_minute: u32,
    #[serde(default = "default_project_quota")]
    project_quota_per_minute: u32,
    #[serde(default = "default_max_retries")]
    max_retries: u32,
    #[serde(default = "default_backoff")]
    retry_backoff_ms: u64,
    #[serde(default = "default_timeout")]
    request_timeout_secs: u64,
}

fn default_gmail() -> String {
    "https://gmail.googleapis.com".into()
}
fn default_directory() -> String {
    "https://admin.googleapis.com".into()
}
fn default_soft_delete() -> String {
    "Retractor/Soft-deleted".into()
}
fn default_quarantine() -> String {
    "Retractor/Quarantine".into()
}
fn default_user_concurrency() -> usize {
    4
}
fn default_user_quota() -> u32 {
    15_000
}
fn default_project_quota() -> u32 {
    1_200_000
}
fn default_max_retries() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    60
}

/// Parse the kind-specific keys of a gmail tenant. Errors start with the table's name.
fn parse(table: toml::Table, cx: &KindContext) -> Result<GmailSettings, String> {
    let at = cx.at;
    let raw: RawGmail = cx.read(table)?;
    let subject = raw.admin_subject.trim();
    if subject.is_empty()
        || !subject.contains('@')
        || subject.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{at} admin_subject = \"{}\": expected an administrator's address",
            crate::model::text::sanitize(&raw.admin_subject)
        ));
    }
    let gmail_endpoint =
        checked_base_url(&raw.gmail_endpoint, "gmail_endpoint").map_err(|m| format!("{at} {m}"))?;
    let directory_endpoint = checked_base_url(&raw.directory_endpoint, "directory_endpoint")
        .map_err(|m| format!("{at} {m}"))?;
    for (key, label) in [
        ("soft_delete_label", &raw.soft_delete_label),
        ("quarantine_label", &raw.quarantine_label),
    ] {
        // Gmail's system label ids are upper-case words; a user label must not be one.
        if label.trim().is_empty() || label.chars().any(char::is_control) {
            return Err(format!("{at} {key} = \"{label}\": must be a label name"));
        }
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
    bounded("user_concurrency", raw.user_concurrency as u64, 1, 16)?;
    // More than Google's own limits would only earn 403/429 answers.
    bounded(
        "user_quota_per_minute",
        u64::from(raw.user_quota_per_minute),
        100,
        15_000,
    )?;
    bounded(
        "project_quota_per_minute",
        u64::from(raw.project_quota_per_minute),
        1_000,
        1_200_000,
    )?;
    bounded("max_retries", u64::from(raw.max_retries), 1, 20)?;
    bounded("retry_backoff_ms", raw.retry_backoff_ms, 1, 60_000)?;
    bounded("request_timeout_secs", raw.request_timeout_secs, 1, 600)?;
    Ok(GmailSettings {
        service_account_file: cx.base.join(raw.service_account_file),
        admin_subject: subject.to_ascii_lowercase(),
        gmail_endpoint,
        directory_endpoint,
        soft_delete_label: raw.soft_delete_label,
        quarantine_label: raw.quarantine_label,
        user_concurrency: raw.user_concurrency,
        user_quota_per_minute: raw.user_quota_per_minute,
        project_quota_per_minute: raw.project_quota_per_minute,
        max_retries: raw.max_retries,
        retry_backoff_ms: raw.retry_backoff_ms,
        request_timeout_secs: raw.request_timeout_secs,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_text(text: &str) -> Result<GmailSettings, String> {
        let table: toml::Table = text.parse().unwrap();
        parse(
            table,
            &KindContext::new("[tenants.gws]", Path::new("/etc/r"), &KIND),
        )
    }

    #[test]
    fn defaults_and_relative_key_file() {
        let s = parse_text(
            "service_account_file = \"sa.json\"\nadmin_subject = \"Admin@Example.com\"\n",
        )
        .unwrap();
        assert_eq!(s.service_account_file, PathBuf::from("/etc/r/sa.json"));
        assert_eq!(s.admin_subject, "admin@example.com");
        assert_eq!(s.gmail_endpoint, "https://gmail.googleapis.com");
        assert_eq!(s.directory_endpoint, "https://admin.googleapis.com");
        assert_eq!(s.user_quota_per_minute, 15_000);
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse_text("service_account_file = \"sa.json\"\n").unwrap_err();
        assert!(e.contains("admin_subject"), "{e}");
        let e =
            parse_text("service_account_file = \"a\"\nadmin_subject = \"nobody\"\n").unwrap_err();
        assert!(e.contains("admin_subject = \"nobody\""), "{e}");
        let e = parse_text(
            "service_account_file = \"a\"\nadmin_subject = \"a@x\"\ngmail_endpoint = \"http://gmail.example\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("gmail_endpoint") && e.contains("loopback"),
            "{e}"
        );
        let e = parse_text(
            "service_account_file = \"a\"\nadmin_subject = \"a@x\"\nuser_quota_per_minute = 20000\n",
        )
        .unwrap_err();
        assert!(e.contains("user_quota_per_minute = 20000"), "{e}");
        let e = parse_text("service_account_file = \"a\"\nadmin_subject = \"a@x\"\nlabel = 1\n")
            .unwrap_err();
        assert!(
            e.contains("unknown key `label`") && e.contains("admin_subject"),
            "{e}"
        );
    }
}
