//! `kind = "graph"`: Microsoft 365 mailboxes through Microsoft Graph (app-only, client
//! credentials). Parsed from a tenant's kind-specific keys; unknown keys are refused.

use std::path::PathBuf;

use serde::Deserialize;

use super::kinds::{BackendSettings, KindContext, KindSpec};
use super::net::checked_base_url;
use super::secret::SecretSource;

/// How the app proves who it is to the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphCredential {
    /// `client_secret_env|_file|_command`.
    Secret(SecretSource),
    /// `client_certificate_file` (PEM: certificate and unencrypted private key; or PFX/PKCS#12)
    /// with an optional `client_certificate_password_env|_file|_command` for the PFX.
    Certificate {
        file: PathBuf,
        password: Option<SecretSource>,
    },
}

/// Settings of one Microsoft 365 tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphSettings {
    /// Directory (tenant) id or a verified domain (`contoso.onmicrosoft.com`).
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    pub credential: GraphCredential,
    /// Token authority, without a trailing slash (national clouds differ).
    pub authority_host: String,
    /// Graph root, without a trailing slash and without `/v1.0`.
    pub graph_endpoint: String,
    /// Display name of the hidden folder `quarantine` moves copies to (created if missing).
    pub quarantine_folder: String,
    /// Requests in flight at once against one mailbox (Exchange Online allows 4).
    pub mailbox_concurrency: usize,
    /// Attempts of one request answered 503/504 or not answered at all.
    pub max_retries: u32,
    /// First back-off delay for 503/504; doubles per attempt.
    pub retry_backoff_ms: u64,
    /// How long one request may take.
    pub request_timeout_secs: u64,
}

/// This kind's entry in [`super::kinds::KINDS`].
pub(super) const KIND: KindSpec = KindSpec {
    name: "graph",
    keys: &GRAPH_KEYS,
    parse: Some(|table, cx| parse(table, cx).map(BackendSettings::Graph)),
};

/// Keys this kind takes besides the common ones (for the unknown-key message).
const GRAPH_KEYS: [&str; 16] = [
    "tenant_id",
    "client_id",
    "client_secret_env",
    "client_secret_file",
    "client_secret_command",
    "client_certificate_file",
    "client_certificate_password_env",
    "client_certificate_password_file",
    "client_certificate_password_command",
    "authority_host",
    "graph_endpoint",
    "quarantine_folder",
    "mailbox_concurrency",
    "max_retries",
    "retry_backoff_ms",
    "request_timeout_secs",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGraph {
    tenant_id: String,
    client_id: String,
    #[serde(default)]
    client_certificate_file: Option<PathBuf>,
    #[serde(default = "default_authority")]
    authority_host: String,
    #[serde(default = "default_graph")]
    graph_endpoint: String,
    #[serde(default = "default_quarantine")]
    quarantine_folder: String,
    #[serde(default = "default_mailbox_concurrency")]
    mailbox_concurrency: usize,
    #[serde(default = "default_max_retries")]
    max_retries: u32,
    #[serde(default = "default_backoff")]
    retry_backoff_ms: u64,
    #[serde(default = "default_timeout")]
    request_timeout_secs: u64,
}

fn default_authority() -> String {
    "https://login.microsoftonline.com".into()
}
fn default_graph() -> String {
    "https://graph.microsoft.com".into()
}
fn default_quarantine() -> String {
    "Retractor Quarantine".into()
}
fn default_mailbox_concurrency() -> usize {
    4
}
fn default_max_retries() -> u32 {
    4
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    60
}

/// Parse the kind-specific keys of a graph tenant. Errors start with the table's name
/// (`[tenants.m365]`) so the caller can add the line number.
fn parse(mut table: toml::Table, cx: &KindContext) -> Result<GraphSettings, String> {
    let (at, base) = (cx.at, cx.base);
    let secret = SecretSource::take_from(&mut table, "client_secret", at, base)?;
    let password = SecretSource::take_from(&mut table, "client_certificate_password", at, base)?;
    let raw: RawGraph = cx.read(table)?;
    for (key, value) in [("tenant_id", &raw.tenant_id), ("client_id", &raw.client_id)] {
        if value.trim().is_empty() || value.contains(['/', '?', '#', ' ']) {
            return Err(format!(
                "{at} {key} = \"{value}\": expected an id or a domain name"
            ));
        }
    }
    let credential = match (secret, raw.client_certificate_file) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{at} client_secret_*: give either a client secret or client_certificate_file, not both"
            ));
        }
        (Some(s), None) => {
            if password.is_some() {
                return Err(format!(
                    "{at} client_certificate_password_*: only meaningful with client_certificate_file"
                ));
            }
            GraphCredential::Secret(s)
        }
        (None, Some(file)) => GraphCredential::Certificate {
            file: base.join(file),
            password,
        },
        (None, None) => {
            return Err(format!(
                "{at} client_secret_env: missing; give client_secret_env|_file|_command or client_certificate_file"
            ));
        }
    };
    let authority_host =
        checked_base_url(&raw.authority_host, "authority_host").map_err(|m| format!("{at} {m}"))?;
    let graph_endpoint =
        checked_base_url(&raw.graph_endpoint, "graph_endpoint").map_err(|m| format!("{at} {m}"))?;
    if raw.quarantine_folder.trim().is_empty() {
        return Err(format!("{at} quarantine_folder = \"\": must not be empty"));
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
    // More than 4 would only earn ApplicationThrottled answers from Exchange Online.
    bounded("mailbox_concurrency", raw.mailbox_concurrency as u64, 1, 4)?;
    bounded("max_retries", u64::from(raw.max_retries), 1, 20)?;
    bounded("retry_backoff_ms", raw.retry_backoff_ms, 1, 60_000)?;
    bounded("request_timeout_secs", raw.request_timeout_secs, 1, 600)?;
    Ok(GraphSettings {
        tenant_id: raw.tenant_id,
        client_id: raw.client_id,
        credential,
        authority_host,
        graph_endpoint,
        quarantine_folder: raw.quarantine_folder,
        mailbox_concurrency: raw.mailbox_concurrency,
        max_retries: raw.max_retries,
        retry_backoff_ms: raw.retry_backoff_ms,
        request_timeout_secs: raw.request_timeout_secs,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_text(text: &str) -> Result<GraphSettings, String> {
        let table: toml::Table = text.parse().unwrap();
        parse(
            table,
            &KindContext::new("[tenants.m365]", Path::new("/etc/r"), &KIND),
        )
    }

    #[test]
    fn secret_tenant_with_defaults() {
        let s = parse_text("tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\n")
            .unwrap();
        assert_eq!(
            s.credential,
            GraphCredential::Secret(SecretSource::Env("S".into()))
        );
        assert_eq!(s.graph_endpoint, "https://graph.microsoft.com");
        assert_eq!(s.mailbox_concurrency, 4);
    }

    #[test]
    fn certificate_paths_resolve_and_plain_http_is_loopback_only() {
        let s = parse_text(
            "tenant_id = \"t\"\nclient_id = \"c\"\nclient_certificate_file = \"app.pem\"\n\
             graph_endpoint = \"http://127.0.0.1:9000/\"\n",
        )
        .unwrap();
        assert_eq!(
            s.credential,
            GraphCredential::Certificate {
                file: PathBuf::from("/etc/r/app.pem"),
                password: None
            }
        );
        assert_eq!(s.graph_endpoint, "http://127.0.0.1:9000");
        let e = parse_text(
            "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\n\
             authority_host = \"http://login.example.com\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("authority_host") && e.contains("loopback"),
            "{e}"
        );
    }

    #[test]
    fn missing_or_doubled_credentials_and_bad_limits_are_named() {
        let e = parse_text("tenant_id = \"t\"\nclient_id = \"c\"\n").unwrap_err();
        assert!(e.contains("client_secret_env: missing"), "{e}");
        let e = parse_text(
            "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\nclient_certificate_file = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = parse_text(
            "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\nmailbox_concurrency = 5\n",
        )
        .unwrap_err();
        assert!(e.contains("mailbox_concurrency = 5"), "{e}");
        let e = parse_text(
            "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\nclient_secrt = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("client_secrt"), "{e}");
    }
}
