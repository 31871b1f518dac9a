//! The keys of the alert intakes: `[alerts]` (the spool directory), `[alerts.tap]` (the
//! Proofpoint TAP poller), `[alerts.defender]` (the Defender poller) and `[service.webhook]`
//! (the HTTPS webhook of `retractor serve`). Every wrong value is refused with the key named.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::net::checked_base_url;
use super::secret::SecretSource;

/// Proofpoint's TAP API host, when `[alerts.tap] endpoint` does not say.
pub const DEFAULT_TAP_ENDPOINT: &str = "https://tap-api-v2.proofpoint.com";
/// The largest webhook body accepted when `body_limit` does not say (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The largest spool file read when `max_file_bytes` does not say (16 MiB).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// The spool's directory name beside the store when `spool_dir` does not say.
pub const DEFAULT_SPOOL_DIR: &str = "alert-spool";
/// How often a poller asks its source when `interval` does not say.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// How far back a poller reads on its first start (no cursor stored yet).
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(3600);
/// TAP keeps seven days; a longer look back is refused by the server.
const MAX_TAP_LOOKBACK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Every intake's settings.
#[derive(Clone, Debug)]
pub struct AlertsSettings {
    /// The spool directory the service watches.
    pub spool: SpoolSettings,
    /// The Proofpoint TAP poller, when `[alerts.tap]` is present.
    pub tap: Option<TapSettings>,
    /// The Defender poller, when `[alerts.defender]` is present.
    pub defender: Option<DefenderSettings>,
}

/// `[alerts] spool_dir`, `spool_max_bytes`.
#[derive(Clone, Debug)]
pub struct SpoolSettings {
    /// Watched for `*.json` / `*.jsonl`; `done/` and `rejected/` are made inside it.
    pub dir: PathBuf,
    /// A larger file is rejected unread.
    pub max_file_bytes: u64,
}

/// `[alerts.tap]`.
#[derive(Clone, Debug)]
pub struct TapSettings {
    /// The TAP API base URL (https, or http on loopback only).
    pub endpoint: String,
    /// The service principal (Basic auth user).
    pub principal: String,
    /// Where the principal's secret comes from.
    pub secret: SecretSource,
    /// How often to ask.
    pub interval: Duration,
    /// How far back the first poll reads (at most seven days).
    pub lookback: Duration,
    /// The tenant the alerts are delivered in (the `tenant` of each alert).
    pub tenant: Option<String>,
}

/// `[alerts.defender]`.
#[derive(Clone, Debug)]
pub struct DefenderSettings {
    /// The Graph tenant (a `[tenants.NAME]` of kind `graph`) whose client is used.
    pub tenant: String,
    /// How often to ask.
    pub interval: Duration,
    /// How far back the first poll reads.
    pub lookback: Duration,
}

/// `[service.webhook]`, checked.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Certificate chain and private key (PEM); `None` only on a loopback address.
    pub tls: Option<WebhookTls>,
    /// The accepted bearer tokens, by label, as SHA-256 hashes.
    pub tokens: Vec<WebhookToken>,
    /// The largest request body accepted.
    pub body_limit: usize,
}

/// The webhook's certificate and key files.
#[derive(Clone, Debug)]
pub struct WebhookTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// One accepted bearer token: its label (logged with each accept) and its SHA-256.
#[derive(Clone, Debug)]
pub struct WebhookToken {
    pub label: String,
    pub sha256: [u8; 32],
}

/// `[service.webhook]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    listen: String,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    tokens: std::collections::BTreeMap<String, String>,
    body_limit: Option<usize>,
}

impl RawWebhook {
    /// Check every key; relative files are relative to the config file's directory.
    pub(super) fn resolve(self, base: &Path) -> Result<WebhookSettings, String> {
        let at = "[service.webhook]";
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            format!(
                "{at} listen = \"{}\": not an address and port (e.g. 0.0.0.0:8443)",
                self.listen
            )
        })?;
        let tls = match (self.cert_file, self.key_file) {
            (Some(cert), Some(key)) => Some(WebhookTls {
                cert_file: base.join(cert),
                key_file: base.join(key),
            }),
            (None, None) if listen.ip().is_loopback() => None,
            (None, None) => {
                return Err(format!(
                    "{at} listen = \"{listen}\": plain http is allowed only on loopback; give cert_file and key_file"
                ));
            }
            (Some(_), None) => return Err(format!("{at} cert_file is given without key_file")),
            (None, Some(_)) => return Err(format!("{at} key_file is given without cert_file")),
        };
        if self.tokens.is_empty() {
            return Err(format!(
                "{at} tokens: name at least one token (label = \"sha256:HEX\", from `retractor webhook hash-token`)"
            ));
        }
        let mut tokens = Vec::new();
        for (label, hash) in self.tokens {
            let sha256 = parse_token_hash(&hash)
                .map_err(|problem| format!("{at} tokens.{label}: {problem}"))?;
            tokens.push(WebhookToken { label, sha256 });
        }
        let body_limit = self.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
        if !(1024..=64 * 1024 * 1024).contains(&body_limit) {
            return Err(format!(
                "{at} body_limit = {body_limit}: must be between 1024 and 67108864 bytes"
            ));
        }
        Ok(WebhookSettings {
            listen,
            tls,
            tokens,
            body_limit,
        })
    }
}

/// `sha256:` and 64 hex digits; a token written in clear is refused (the config is not a
/// place for secrets, and a hash proves nothing about a token someone read from it).
fn parse_token_hash(text: &str) -> Result<[u8; 32], String> {
    let hex_part = text
        .strip_prefix("sha256:")
        .ok_or("must be \"sha256:HEX\" (the token's hash from `retractor webhook hash-token`), never the token itself")?;
    let bytes = hex::decode(hex_part).map_err(|_| "the hash is not hexadecimal".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "the hash must be 64 hex digits (SHA-256)".to_string())
}

/// Parse the `[alerts]` table. `store_dir` anchors the default spool.
pub(super) fn parse(
    mut table: toml::Table,
    base: &Path,
    store_dir: &Path,
) -> Result<AlertsSettings, String> {
    let tap = match table.remove("tap") {
        None => None,
        Some(toml::Value::Table(t)) => Some(parse_tap(t, base)?),
        Some(_) => return Err("[alerts] tap: expected a table [alerts.tap]".into()),
    };
    let defender = match table.remove("defender") {
        None => None,
        Some(toml::Value::Table(t)) => Some(parse_defender(t)?),
        Some(_) => return Err("[alerts] defender: expected a table [alerts.defender]".into()),
    };
    let dir = match table.remove("spool_dir") {
        None => store_dir.join(DEFAULT_SPOOL_DIR),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => base.join(s),
        Some(_) => return Err("[alerts] spool_dir: expected a non-empty path".into()),
    };
    let max_file_bytes = match table.remove("spool_max_bytes") {
        None => DEFAULT_SPOOL_MAX_BYTES,
        Some(toml::Value::Integer(n)) if (1024..=1 << 30).contains(&n) => n as u64,
        Some(other) => {
            return Err(format!(
                "[alerts] spool_max_bytes = {other}: must be between 1024 and 1073741824"
            ));
        }
    };
    no_other_keys(
        "[alerts]",
        &table,
        "spool_dir, spool_max_bytes, [alerts.tap], [alerts.defender]",
    )?;
    Ok(AlertsSettings {
        spool: SpoolSettings {
            dir,
            max_file_bytes,
        },
        tap,
        defender,
    })
}

fn parse_tap(mut t: toml::Table, base: &Path) -> Result<TapSettings, String> {
    let at = "[alerts.tap]";
    let secret = SecretSource::take_from(&mut t, "secret", at, base)?.ok_or_else(|| {
        format!(
            "{at}: give the service principal's secret as secret_env, secret_file or secret_command"
        )
    })?;
    let endpoint = match take_string(&mut t, at, "endpoint")? {
        None => DEFAULT_TAP_ENDPOINT.to_string(),
        Some(url) => checked_base_url(&url, &format!("{at} endpoint"))?,
    };
    let principal = take_string(&mut t, at, "principal")?
        .ok_or_else(|| format!("{at} principal: missing (the TAP service principal)"))?;
    let interval = take_duration(&mut t, at, "interval")?.unwrap_or(DEFAULT_POLL_INTERVAL);
    let lookback = take_duration(&mut t, at, "lookback")?.unwrap_or(DEFAULT_LOOKBACK);
    if lookback > MAX_TAP_LOOKBACK {
        return Err(format!(
            "{at} lookback: TAP keeps seven days; ask for at most 7d"
        ));
    }
    let tenant = take_string(&mut t, at, "tenant")?;
    no_other_keys(
        at,
        &t,
        "endpoint, principal, secret_env, secret_file, secret_command, interval, lookback, tenant",
    )?;
    Ok(TapSettings {
        endpoint,
        principal,
        secret,
        interval,
        lookback,
        tenant,
    })
}

fn parse_defender(mut t: toml::Table) -> Result<DefenderSettings, String> {
    let at = "[alerts.defender]";
    let tenant = take_string(&mut t, at, "tenant")?
        .ok_or_else(|| format!("{at} tenant: missing (the [tenants.NAME] of kind graph to ask)"))?;
    let interval = take_duration(&mut t, at, "interval")?.unwrap_or(DEFAULT_POLL_INTERVAL);
    let lookback = take_duration(&mut t, at, "lookback")?.unwrap_or(DEFAULT_LOOKBACK);
    no_other_keys(at, &t, "tenant, interval, lookback")?;
    Ok(DefenderSettings {
        tenant,
        interval,
        lookback,
    })
}

fn take_string(t: &mut toml::Table, at: &str, key: &str) -> Result<Option<String>, String> {
    match t.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
        Some(_) => Err(format!("{at} {key}: expected a non-empty string")),
    }
}

/// A duration: whole seconds, or a string `30s`, `5m`, `1h`, `7d`. Between 1 s and 7 days.
fn take_duration(t: &mut toml::Table, at: &str, key: &str) -> Result<Option<Duration>, String> {
    let Some(value) = t.remove(key) else {
        return Ok(None);
    };
    let secs = match &value {
        toml::Value::Integer(n) => u64::try_from(*n).ok(),
        toml::Value::String(s) => parse_duration_secs(s),
        _ => None,
    };
    match secs {
        Some(secs @ 1..=604_800) => Ok(Some(Duration::from_secs(secs))),
        _ => Err(format!(
            "{at} {key} = {value}: expected a duration between 1s and 7d (seconds, or \"30s\", \"5m\", \"1h\", \"7d\")"
        )),
    }
}

fn parse_duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    number.checked_mul(scale)
}

fn no_other_keys(at: &str, t: &toml::Table, expected: &str) -> Result<(), String> {
    match t.keys().next() {
        None => Ok(()),
        Some(key) => Err(format!("{at}: unknown key `{key}`; expected {expected}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(text: &str) -> Result<AlertsSettings, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        parse(table, Path::new("/etc/r"), Path::new("/var/lib/r"))
    }

    fn webhook(text: &str) -> Result<WebhookSettings, String> {
        let raw: RawWebhook = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.resolve(Path::new("/etc/r"))
    }

    const HASH: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn defaults_and_the_spool_beside_the_store() {
        let a = alerts("").unwrap();
        assert_eq!(a.spool.dir, PathBuf::from("/var/lib/r/alert-spool"));
        assert!(a.tap.is_none() && a.defender.is_none());
        let a = alerts(
            "spool_dir = \"in\"\n[tap]\nprincipal = \"p\"\nsecret_env = \"S\"\ninterval = \"5m\"\n[defender]\ntenant = \"m365\"\n",
        )
        .unwrap();
        assert_eq!(a.spool.dir, PathBuf::from("/etc/r/in"));
        let tap = a.tap.unwrap();
        assert_eq!(tap.endpoint, DEFAULT_TAP_ENDPOINT);
        assert_eq!(tap.interval, Duration::from_secs(300));
        assert_eq!(a.defender.unwrap().tenant, "m365");
    }

    #[test]
    fn wrong_keys_are_named() {
        for (text, named) in [
            ("spool_dri = \"x\"\n", "spool_dri"),
            ("[tap]\nprincipal = \"p\"\n", "secret_env"),
            ("[tap]\nsecret_env = \"S\"\n", "principal"),
            (
                "[tap]\nprincipal = \"p\"\nsecret_env = \"S\"\nendpoint = \"http://tap.example\"\n",
                "only to loopback",
            ),
            (
                "[tap]\nprincipal = \"p\"\nsecret_env = \"S\"\ninterval = \"soon\"\n",
                "interval",
            ),
            (
                "[tap]\nprincipal = \"p\"\nsecret_env = \"S\"\nlookback = \"30d\"\n",
                "lookback",
            ),
            ("[defender]\ninterval = 5\n", "tenant"),
            ("[defender]\ntenant = \"m\"\ntenat = 1\n", "tenat"),
        ] {
            let err = alerts(text).unwrap_err();
            assert!(err.contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn the_webhook_needs_tls_off_loopback_and_hashed_tokens() {
        let ok = webhook(&format!(
            "listen = \"127.0.0.1:8080\"\ntokens = {{ soar = \"{HASH}\" }}\n"
        ))
        .unwrap();
        assert!(ok.tls.is_none());
        assert_eq!(ok.body_limit, DEFAULT_BODY_LIMIT);
        assert_eq!(ok.tokens[0].label, "soar");
        for (text, named) in [
            (
                format!("listen = \"0.0.0.0:8443\"\ntokens = {{ soar = \"{HASH}\" }}\n"),
                "only on loopback",
            ),
            (
                "listen = \"127.0.0.1:1\"\ntokens = { soar = \"hunter2\" }\n".to_string(),
                "tokens.soar",
            ),
            (
                "listen = \"127.0.0.1:1\"\ntokens = { soar = \"sha256:abcd\" }\n".to_string(),
                "64 hex",
            ),
            ("listen = \"127.0.0.1:1\"\n".to_string(), "tokens"),
            (
                "listen = \"here\"\ntokens = { a = \"x\" }\n".to_string(),
                "listen",
            ),
            (
                format!(
                    "listen = \"127.0.0.1:1\"\nbody_limit = 1\ntokens = {{ a = \"{HASH}\" }}\n"
                ),
                "body_limit",
            ),
            (
                format!(
                    "listen = \"0.0.0.0:1\"\ncert_file = \"c\"\ntokens = {{ a = \"{HASH}\" }}\n"
                ),
                "key_file",
            ),
        ] {
            let err = webhook(&text).unwrap_err();
            assert!(err.contains(named), "{text}: {err}");
        }
        let tls = webhook(&format!(
            "listen = \"0.0.0.0:8443\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\ntokens = {{ a = \"{HASH}\" }}\n"
        ))
        .unwrap();
        assert_eq!(tls.tls.unwrap().cert_file, PathBuf::from("/etc/r/c.pem"));
    }
}
