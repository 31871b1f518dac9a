//! The `[submissions]` table: the abuse mailbox users report phish to, where processed
//! reports go, how many reporters make a phish, and the optional reply to the reporter.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::policy::parse_span;
use crate::model::normalize_address;

/// Where processed reports go when `processed_folder` does not say (levels split by `/`).
pub const DEFAULT_PROCESSED_FOLDER: &str = "Retractor/Processed";
/// Distinct reporters that make a reported message `phish` when `reporters` does not say.
pub const DEFAULT_REPORTERS: u32 = 3;
/// How often the service reads the abuse mailbox when `interval` does not say.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The subject prefixes of report buttons when `subject_prefixes` does not say: Microsoft's
/// user-reported-message format (`3|` phishing, as its third-party tool format writes it)
/// and the words its add-in and common gateways put before the original's subject.
pub const DEFAULT_PREFIXES: [&str; 5] = [
    "3|",
    "[Phish]",
    "Phishing report:",
    "Phishing report",
    "Phish:",
];
/// The largest reply template read.
const MAX_TEMPLATE_BYTES: u64 = 64 * 1024;

/// `[submissions]`, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmissionSettings {
    /// The tenant (a `[tenants.NAME]`) holding the abuse mailbox.
    pub tenant: String,
    /// The abuse mailbox, normalised.
    pub mailbox: String,
    /// Where processed reports are moved in the abuse mailbox (levels split by `/`).
    pub processed_folder: String,
    /// Subject prefixes stripped from a report's subject (case-insensitive), longest first.
    pub subject_prefixes: Vec<String>,
    /// Distinct reporters that raise a reported message to `phish`.
    pub reporters: u32,
    /// The reply template's text (`{subject}`, `{verdict}`, `{reporter}` placeholders).
    pub reply_template: Option<String>,
    /// The address a reply is written from.
    pub reply_from: Option<String>,
    /// How often `serve` and `worker --follow` read the abuse mailbox.
    pub interval: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubmissions {
    tenant: String,
    mailbox: String,
    processed_folder: Option<String>,
    subject_prefixes: Option<Vec<String>>,
    reporters: Option<u32>,
    reply_template: Option<std::path::PathBuf>,
    reply_from: Option<String>,
    interval: Option<String>,
}

impl RawSubmissions {
    /// Check every key; `tenants` are the configured tenant names, `base` anchors a
    /// relative `reply_template`.
    pub(super) fn resolve(
        self,
        tenants: &[&str],
        base: &Path,
    ) -> Result<SubmissionSettings, String> {
        if !tenants.contains(&self.tenant.as_str()) {
            return Err(format!(
                "[submissions] tenant = \"{}\": no such [tenants.{}]",
                self.tenant, self.tenant
            ));
        }
        let mailbox = normalize_address(&self.mailbox);
        if !mailbox.contains('@') {
            return Err(format!(
                "[submissions] mailbox = \"{}\": not an address",
                self.mailbox.escape_default()
            ));
        }
        let processed_folder = self
            .processed_folder
            .unwrap_or_else(|| DEFAULT_PROCESSED_FOLDER.into());
        let levels_ok = processed_folder
            .split('/')
            .all(|l| !l.trim().is_empty() && l != "." && l != ".." && !l.contains('\0'));
        if !levels_ok || processed_folder.eq_ignore_ascii_case("INBOX") {
            return Err(format!(
                "[submissions] processed_folder = \"{}\": a folder other than INBOX, levels split \
                 by / and none empty",
                processed_folder.escape_default()
            ));
        }
        let mut subject_prefixes: Vec<String> = match self.subject_prefixes {
            Some(p) => p,
            None => DEFAULT_PREFIXES.iter().map(|p| p.to_string()).collect(),
        }
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
        // Longest first, so `Phishing report:` is stripped whole before `Phishing report`.
        subject_prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let reporters = self.reporters.unwrap_or(DEFAULT_REPORTERS);
        if reporters == 0 {
            return Err("[submissions] reporters = 0: must be at least 1".into());
        }
        let reply_template = match &self.reply_template {
            Some(file) => Some(read_template(&base.join(file))?),
            None => None,
        };
        let reply_from = self.reply_from.map(|a| normalize_address(&a));
        if reply_from.as_ref().is_some_and(|a| !a.contains('@')) {
            return Err("[submissions] reply_from: not an address".into());
        }
        let interval = match &self.interval {
            Some(i) => parse_span("[submissions] interval", i)?,
            None => DEFAULT_INTERVAL,
        };
        Ok(SubmissionSettings {
            tenant: self.tenant,
            mailbox,
            processed_folder,
            subject_prefixes,
            reporters,
            reply_template,
            reply_from,
            interval,
        })
    }
}

fn read_template(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("[submissions] reply_template = \"{shown}\": {e}"))?
        .len();
    if size > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "[submissions] reply_template = \"{shown}\": {size} bytes, more than {MAX_TEMPLATE_BYTES}"
        ));
    }
    std::fs::read_to_string(path)
        .map_err(|e| format!("[submissions] reply_template = \"{shown}\": {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(extra: &str) -> RawSubmissions {
        toml::from_str(&format!(
            "tenant = \"corp\"\nmailbox = \"Abuse@Corp.test\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn defaults_and_checks() {
        let s = raw("").resolve(&["corp"], Path::new(".")).unwrap();
        assert_eq!(s.mailbox, "abuse@corp.test");
        assert_eq!(s.processed_folder, DEFAULT_PROCESSED_FOLDER);
        assert_eq!(s.reporters, 3);
        assert_eq!(s.subject_prefixes[0], "Phishing report:");
        let err = raw("").resolve(&["other"], Path::new(".")).unwrap_err();
        assert!(err.contains("no such [tenants.corp]"), "{err}");
        let err = raw("reporters = 0")
            .resolve(&["corp"], Path::new("."))
            .unwrap_err();
        assert!(err.contains("reporters = 0"), "{err}");
        let err = raw("processed_folder = \"a//b\"")
            .resolve(&["corp"], Path::new("."))
            .unwrap_err();
        assert!(err.contains("processed_folder"), "{err}");
        let err = raw("reply_template = \"/nonexistent/t.txt\"")
            .resolve(&["corp"], Path::new("."))
            .unwrap_err();
        assert!(err.contains("reply_template"), "{err}");
    }
}
