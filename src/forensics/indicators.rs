//! Indicators a sweep looks for, matched on the parsed message: a server's substring search
//! only narrows where to look, the decision is made here on the [`Evidence`] of the copy.

use serde::{Deserialize, Serialize};

use super::Evidence;
use super::urls::domain_of;

/// What to look for. Within one kind any value matches; every kind given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicators {
    /// Whole URLs (scheme and host compared ignoring case).
    #[serde(default)]
    pub urls: Vec<String>,
    /// A URL whose host is this domain or below it (`evil.example` matches
    /// `login.evil.example`, never `notevil.example`).
    #[serde(default)]
    pub url_domains: Vec<String>,
    /// The From address's domain is this one or below it.
    #[serde(default)]
    pub sender_domains: Vec<String>,
    /// SHA-256 (hex) of an attachment or of a member of an attached archive or message.
    #[serde(default)]
    pub attachment_sha256: Vec<String>,
    /// Filename of an attachment or member (ignoring case; a member by its path or its base).
    #[serde(default)]
    pub attachment_names: Vec<String>,
}

impl Indicators {
    /// Nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
            && self.url_domains.is_empty()
            && self.sender_domains.is_empty()
            && self.attachment_sha256.is_empty()
            && self.attachment_names.is_empty()
    }

    /// Only the kinds whose match needs the whole message (URLs, attachments); the sender
    /// domain is in the header every scan reads.
    pub fn needs_body(&self) -> bool {
        !(self.urls.is_empty()
            && self.url_domains.is_empty()
            && self.attachment_sha256.is_empty()
            && self.attachment_names.is_empty())
    }

    /// The values in the form they are compared in, or the first bad one: `(flag, why)`.
    pub fn normalized(&self) -> Result<Indicators, (&'static str, String)> {
        let each =
            |flag: &'static str, values: &[String], check: fn(&str) -> Result<String, String>| {
                values
                    .iter()
                    .map(|v| check(v.trim()).map_err(|why| (flag, why)))
                    .collect::<Result<Vec<_>, _>>()
            };
        Ok(Indicators {
            urls: each("--url", &self.urls, |v| {
                nonblank(v)?;
                let lower = v.to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://"))
                    || domain_of(v).is_none()
                {
                    return Err(format!("{v:?} is not an http(s) URL with a host"));
                }
                Ok(normalize_url(v))
            })?,
            url_domains: each("--url-domain", &self.url_domains, domain)?,
            sender_domains: each("--sender-domain", &self.sender_domains, |v| {
                domain(v.strip_prefix('@').unwrap_or(v))
            })?,
            attachment_sha256: each("--attachment-sha256", &self.attachment_sha256, |v| {
                nonblank(v)?;
                if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("{v:?} is not a SHA-256 (64 hex digits)"));
                }
                Ok(v.to_ascii_lowercase())
            })?,
            attachment_names: each("--attachment-name", &self.attachment_names, |v| {
                nonblank(v)?;
                Ok(v.to_lowercase())
            })?,
        })
    }

    /// Whether the copy's evidence matches (call on [`Indicators::normalized`] values).
    pub fn matches(&self, evidence: &Evidence) -> bool {
        let kind = |values: &[String], hit: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| hit(v))
        };
        let sender_domain = evidence
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_default();
        let mut members = Vec::new();
        for a in &evidence.attachments {
            flatten(a, &mut members);
        }
        kind(&self.urls, &|u| {
            evidence.urls.iter().any(|f| normalize_url(&f.url) == u)
        }) && kind(&self.url_domains, &|d| {
            evidence.urls.iter().any(|f| within(&f.domain, d))
        }) && kind(&self.sender_domains, &|d| within(&sender_domain, d))
            && kind(&self.attachment_sha256, &|h| {
                members.iter().any(|a| a.sha256.as_deref() == Some(h))
            })
            && kind(&self.attachment_names, &|n| {
                members.iter().any(|a| {
                    let name = a.name.to_lowercase();
                    let base = name.rsplit(['/', '\\']).next().unwrap_or(&name);
                    name == n || base == n
                })
            })
    }

    /// What the sweep is about, for job lists and the audit.
    pub fn describe(&self) -> Vec<String> {
        let mut parts = Vec::new();
        parts.extend(
            self.urls
                .iter()
                .map(|u| format!("url {}", super::defang(u))),
        );
        parts.extend(
            self.url_domains
                .iter()
                .map(|d| format!("url-domain {}", d.replace('.', "[.]"))),
        );
        parts.extend(
            self.sender_domains
                .iter()
                .map(|d| format!("sender-domain {d}")),
        );
        parts.extend(
            self.attachment_sha256
                .iter()
                .map(|h| format!("attachment-sha256 {h}")),
        );
        parts.extend(
            self.attachment_names
                .iter()
                .map(|n| format!("attachment-name {n:?}")),
        );
        parts
    }

    /// Text a matching message's body must contain, for servers that search bodies by
    /// substring (IMAP `BODY`): groups that must all match, any text of a group doing (the
    /// hosts of the URLs; the URL domains). A superset, confirmed afterwards.
    pub fn body_hints(&self) -> Vec<Vec<String>> {
        let mut groups = Vec::new();
        let mut hosts: Vec<String> = self.urls.iter().filter_map(|u| domain_of(u)).collect();
        hosts.sort();
        hosts.dedup();
        if !hosts.is_empty() {
            groups.push(hosts);
        }
        if !self.url_domains.is_empty() {
            groups.push(self.url_domains.clone());
        }
        groups
    }
}

fn flatten<'a>(a: &'a super::Attachment, out: &mut Vec<&'a super::Attachment>) {
    out.push(a);
    for n in &a.nested {
        flatten(n, out);
    }
}

/// `host` is `domain` or a name below it.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

fn nonblank(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err(
            "is empty: an empty indicator matches nothing you meant; give the value".into(),
        );
    }
    Ok(())
}

fn domain(v: &str) -> Result<String, String> {
    nonblank(v)?;
    let d = v.trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty()
        || !d.contains('.')
        || d.chars()
            .any(|c| c.is_whitespace() || "/:@?#[]".contains(c))
    {
        return Err(format!("{v:?} is not a domain name (like evil.example)"));
    }
    Ok(d)
}

/// Scheme and host ignoring case, a bare `/` path dropped; the rest exactly as written.
pub fn normalize_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let tail = if tail == "/" { "" } else { tail };
    format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase(),
        tail
    )
}
