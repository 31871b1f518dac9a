//! An indicator of compromise (IOC): one value of one kind a hunt looks for in the message
//! log, with where it came from, when it stops counting and what a match implies.
//!
//! Values are normalised here, once, with the rules the sweeps use
//! ([`crate::forensics::Indicators::normalized`]), so an indicator imported from a feed and a
//! `sweep --url-domain` given by hand compare the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::forensics::Indicators;

/// The classification an indicator implies when its feed names none.
pub const DEFAULT_CLASSIFICATION: &str = "phish";

/// What an indicator's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorKind {
    /// A From address (`billing@evil.example`).
    Sender,
    /// The From address's domain, or a name below it.
    SenderDomain,
    /// A whole URL in the body.
    Url,
    /// A URL whose host is this domain or below it.
    UrlDomain,
    /// SHA-256 of an attachment or a member of one.
    AttachmentSha256,
    /// Filename of an attachment or a member of one.
    AttachmentName,
    /// The exact subject (compared ignoring case and runs of white space).
    Subject,
}

impl IndicatorKind {
    /// Every kind, in the CONTRACT's order.
    pub const ALL: [IndicatorKind; 7] = [
        IndicatorKind::Sender,
        IndicatorKind::SenderDomain,
        IndicatorKind::Url,
        IndicatorKind::UrlDomain,
        IndicatorKind::AttachmentSha256,
        IndicatorKind::AttachmentName,
        IndicatorKind::Subject,
    ];

    /// The CONTRACT's spelling (`sender-domain`).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Sender => "sender",
            IndicatorKind::SenderDomain => "sender-domain",
            IndicatorKind::Url => "url",
            IndicatorKind::UrlDomain => "url-domain",
            IndicatorKind::AttachmentSha256 => "attachment-sha256",
            IndicatorKind::AttachmentName => "attachment-name",
            IndicatorKind::Subject => "subject",
        }
    }

    /// Parse the CONTRACT's spelling; the error lists the kinds there are.
    pub fn parse(raw: &str) -> Result<IndicatorKind, String> {
        let raw = raw.trim().to_ascii_lowercase();
        IndicatorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = IndicatorKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown indicator kind {:?}; expected one of {}",
                    super::text::sanitize(&raw.chars().take(64).collect::<String>()),
                    names.join(", ")
                )
            })
    }

    /// The kind a bare value most plausibly is, for lists imported without `--kind`: a
    /// SHA-256, a URL, an address or a domain. Anything else is not guessed.
    pub fn infer(value: &str) -> Option<IndicatorKind> {
        let v = value.trim();
        let lower = v.to_ascii_lowercase();
        if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(IndicatorKind::AttachmentSha256)
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Some(IndicatorKind::Url)
        } else if v.contains('@') && !v.starts_with('@') && !v.contains(char::is_whitespace) {
            Some(IndicatorKind::Sender)
        } else if v.contains('.') && !v.contains(char::is_whitespace) && !v.contains('/') {
            Some(IndicatorKind::UrlDomain)
        } else {
            None
        }
    }

    /// `value` in the form it is stored and compared in, or why it is not one of this kind.
    pub fn normalize(self, value: &str) -> Result<String, String> {
        let v = value.trim();
        let one = |pick: fn(&mut Indicators) -> &mut Vec<String>| {
            let mut wanted = Indicators::default();
            pick(&mut wanted).push(v.to_string());
            let mut normal = wanted.normalized().map_err(|(_, why)| why)?;
            Ok(pick(&mut normal).pop().unwrap_or_default())
        };
        match self {
            IndicatorKind::Sender => {
                let address = super::normalize_address(v);
                match address.split_once('@') {
                    Some((local, domain))
                        if !local.is_empty()
                            && domain.contains('.')
                            && !address.contains(char::is_whitespace) =>
                    {
                        Ok(address)
                    }
                    _ => Err(format!(
                        "{:?} is not an e-mail address (like billing@evil.example)",
                        super::text::sanitize(v)
                    )),
                }
            }
            IndicatorKind::SenderDomain => one(|i| &mut i.sender_domains),
            IndicatorKind::Url => one(|i| &mut i.urls),
            IndicatorKind::UrlDomain => one(|i| &mut i.url_domains),
            IndicatorKind::AttachmentSha256 => one(|i| &mut i.attachment_sha256),
            IndicatorKind::AttachmentName => one(|i| &mut i.attachment_names),
            IndicatorKind::Subject => {
                let subject = normalize_subject(v);
                if subject.is_empty() {
                    return Err("is empty: an empty subject matches nothing you meant".into());
                }
                Ok(subject)
            }
        }
    }
}

/// A subject as compared: lower-case, white space runs folded to one space.
pub fn normalize_subject(subject: &str) -> String {
    subject
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// An indicator to add: normalised, not yet stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Normalised by [`IndicatorKind::normalize`].
    pub value: String,
    /// Where it came from (a feed's name, a file, `manual`).
    pub source: String,
    /// What a match implies for the policy engine (`phish` unless the feed says).
    pub classification: String,
    /// After this it no longer counts; `None`: until removed.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Indicator {
    /// A checked indicator: the value normalised for `kind`, a blank classification made
    /// the default. The error says what is wrong with the value.
    pub fn new(
        kind: IndicatorKind,
        value: &str,
        source: &str,
        classification: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Indicator, String> {
        let value = kind.normalize(value)?;
        let classification = classification
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(DEFAULT_CLASSIFICATION);
        if classification.chars().any(char::is_control) || classification.len() > 64 {
            return Err(format!(
                "classification {:?} is not a short name",
                super::text::sanitize(classification)
            ));
        }
        Ok(Indicator {
            kind,
            value,
            source: source.trim().to_string(),
            classification: classification.to_string(),
            expires_at,
        })
    }
}

/// A stored indicator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    pub id: i64,
    #[serde(flatten)]
    pub indicator: Indicator,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

/// When an indicator given `--expires` stops counting: a relative span (`30d`) counts
/// forward from `now`, a date or RFC 3339 time is taken as written.
pub fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let at = super::when::parse_when(t, now)?;
    let relative = t.starts_with(|c: char| c.is_ascii_digit())
        && t.ends_with(|c: char| c.is_ascii_alphabetic())
        && !t.contains(['-', ':']);
    if relative {
        now.checked_add_signed(now - at)
            .ok_or_else(|| format!("expiry {t:?} is too far ahead"))
    } else {
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_per_kind() {
        let n = |k: IndicatorKind, v: &str| k.normalize(v);
        assert_eq!(
            n(IndicatorKind::Sender, " <Billing@Evil.Example>").as_deref(),
            Ok("billing@evil.example")
        );
        assert_eq!(
            n(IndicatorKind::SenderDomain, "@Evil.Example.").as_deref(),
            Ok("evil.example")
        );
        assert_eq!(
            n(IndicatorKind::Url, "HTTPS://Evil.Example/").as_deref(),
            Ok("https://evil.example")
        );
        assert_eq!(
            n(IndicatorKind::Subject, "  Invoice   DUE ").as_deref(),
            Ok("invoice due")
        );
        assert!(n(IndicatorKind::Sender, "nobody").is_err());
        assert!(n(IndicatorKind::AttachmentSha256, "abc").is_err());
        assert!(n(IndicatorKind::UrlDomain, "not a domain").is_err());
    }

    #[test]
    fn kinds_round_trip_and_are_inferred_only_when_clear() {
        for k in IndicatorKind::ALL {
            assert_eq!(IndicatorKind::parse(k.as_str()), Ok(k));
        }
        assert!(IndicatorKind::parse("ip").is_err());
        assert_eq!(
            IndicatorKind::infer(&"a".repeat(64)),
            Some(IndicatorKind::AttachmentSha256)
        );
        assert_eq!(
            IndicatorKind::infer("https://x.example/a"),
            Some(IndicatorKind::Url)
        );
        assert_eq!(
            IndicatorKind::infer("a@x.example"),
            Some(IndicatorKind::Sender)
        );
        assert_eq!(
            IndicatorKind::infer("x.example"),
            Some(IndicatorKind::UrlDomain)
        );
        assert_eq!(IndicatorKind::infer("Invoice due"), None);
    }

    #[test]
    fn a_relative_expiry_counts_forward() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            parse_expiry("30d", now).map(|d| d.to_rfc3339()).as_deref(),
            Ok("2026-12-31T00:00:00+00:00")
        );
        assert_eq!(
            parse_expiry("2027-01-02", now)
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Ok("2027-01-02T00:00:00+00:00")
        );
    }
}
