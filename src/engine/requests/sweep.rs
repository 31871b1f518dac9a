//! The sweep: search every mailbox of a tenant and act on what matches. A request that asks
//! for less than it would do (an empty filter that matches every message, a date range with no
//! content filter, more copies than the caller allowed, no action) is refused before it
//! reaches a mailbox.

use chrono::{DateTime, Utc};

use super::Confirmation;
use crate::backends::ScanFilter;
use crate::engine::{Engine, EngineError, Plan};
use crate::model::text::sanitize;
use crate::model::{Action, normalize_message_id};
use crate::store::NewAudit;

/// Most copies a sweep acts on unless its caller raises the cap on purpose (`--max-items`).
pub const DEFAULT_SWEEP_MAX_ITEMS: u64 = 1_000;

/// Search every mailbox of a tenant and act on what matches.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepRequest {
    pub tenant: String,
    /// Message-IDs as typed (with or without brackets); the engine normalises them.
    pub message_ids: Vec<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// URLs, URL and sender domains, attachment hashes and names (as typed); every match is
    /// confirmed on the parsed message.
    #[serde(default)]
    pub indicators: crate::forensics::Indicators,
    /// The caller means a sweep with no content filter (`--since` alone): every message.
    pub all: bool,
    /// Most copies the sweep may act on; `None` is [`DEFAULT_SWEEP_MAX_ITEMS`].
    pub max_items: Option<u64>,
    /// Required: a sweep reaches every mailbox, so no client may pick an action for the user.
    pub action: Option<Action>,
    pub reason: Option<String>,
}

/// How a filter is spelt in each client, so an error names what the user typed.
struct FilterName {
    flag: &'static str,
    term: &'static str,
}

const MESSAGE_ID: FilterName = FilterName {
    flag: "--message-id",
    term: "msgid:",
};
const FROM: FilterName = FilterName {
    flag: "--from",
    term: "from:",
};
const SUBJECT: FilterName = FilterName {
    flag: "--subject",
    term: "subject:",
};

/// A filter value that names nothing: every backend matches "contains ''" on every message.
fn blank(name: &FilterName, value: &str) -> Result<(), EngineError> {
    if value.trim().is_empty() {
        return Err(EngineError::BadInput(format!(
            "{} (:sweep {}) is empty: an empty filter matches every message; give the text to look for",
            name.flag, name.term
        )));
    }
    Ok(())
}

impl SweepRequest {
    /// The cap this request runs under.
    pub fn max_items(&self) -> u64 {
        self.max_items.unwrap_or(DEFAULT_SWEEP_MAX_ITEMS)
    }

    /// The action asked for, or why there is none (bad input, exit 2): both clients refuse
    /// a sweep without one, the console included.
    pub fn validated_action(&self) -> Result<Action, EngineError> {
        match self.action {
            Some(Action::Restore) => Err(EngineError::BadInput(
                "--action restore (:sweep restore): a sweep pulls copies; put them back with restore"
                    .into(),
            )),
            Some(action) => Ok(action),
            None => Err(EngineError::BadInput(
                "sweep needs --action (:sweep ACTION in the console): one of move-to-junk, trash, \
                 soft-delete, quarantine, hard-delete"
                    .into(),
            )),
        }
    }

    /// The scan this request asks for, or why it may not run (bad input, exit 2). Checked
    /// before the role and before any mailbox is read.
    pub fn validated_filter(&self) -> Result<ScanFilter, EngineError> {
        if self.tenant.trim().is_empty() {
            return Err(EngineError::BadInput(
                "--tenant (:sweep tenant:) is empty: name the tenant to sweep".into(),
            ));
        }
        let mut message_ids = Vec::with_capacity(self.message_ids.len());
        for raw in &self.message_ids {
            let id = normalize_message_id(raw);
            // `<>` and `< >` are as empty as "": they name no message.
            blank(
                &MESSAGE_ID,
                id.trim_start_matches('<').trim_end_matches('>'),
            )?;
            message_ids.push(id);
        }
        if let Some(from) = &self.from {
            blank(&FROM, from)?;
        }
        if let Some(subject) = &self.subject {
            blank(&SUBJECT, subject)?;
        }
        if self.max_items == Some(0) {
            return Err(EngineError::BadInput(
                "--max-items (:sweep max:) must be at least 1".into(),
            ));
        }
        let indicators = self
            .indicators
            .normalized()
            .map_err(|(flag, why)| EngineError::BadInput(format!("{flag} {why}")))?;
        let content = !message_ids.is_empty()
            || self.from.is_some()
            || self.subject.is_some()
            || !indicators.is_empty();
        if !content {
            let why = match (self.since.is_some(), self.all) {
                (true, false) => {
                    "--since alone would sweep every message received since then: add a \
                     content filter (--message-id, --from, --subject, an indicator), or pass --all \
                     (:sweep all) if that is what you mean"
                }
                (false, true) => "--all still needs --since (or a content filter) to bound it",
                (false, false) => {
                    "sweep needs a content filter: --message-id, --from, --subject, --url, \
                     --url-domain, --sender-domain, --attachment-sha256 or --attachment-name \
                     (--since with --all for every message since then)"
                }
                (true, true) => "",
            };
            if !why.is_empty() {
                return Err(EngineError::BadInput(why.into()));
            }
        }
        Ok(ScanFilter {
            message_ids,
            from: self.from.clone(),
            subject: self.subject.clone(),
            since: self.since,
            skip_admin_folders: true,
            indicators,
            ..ScanFilter::default()
        })
    }

    /// What the sweep is about, for job lists and the audit.
    pub fn description(&self) -> String {
        let mut parts = vec![format!("tenant {}", self.tenant)];
        parts.extend(
            self.message_ids
                .iter()
                .map(|m| format!("message-id {}", normalize_message_id(m))),
        );
        parts.extend(self.from.iter().map(|f| format!("from {f}")));
        parts.extend(self.subject.iter().map(|s| format!("subject {s:?}")));
        parts.extend(self.indicators.describe());
        parts.extend(
            self.since
                .iter()
                .map(|s| format!("since {}", s.to_rfc3339())),
        );
        if self.all {
            parts.push("all".into());
        }
        parts.join(", ")
    }

    /// What to ask before submitting `plan`; hard-delete needs its word.
    pub fn confirmation(&self, plan: &Plan) -> Confirmation {
        Confirmation::for_action(
            plan.action,
            format!(
                "{} {} copies found by the sweep ({})?",
                plan.action,
                plan.actionable(),
                sanitize(&plan.target)
            ),
        )
    }
}

impl Engine {
    /// Refuse (exit 4, audited) a plan that would act on more copies than its caller allowed,
    /// naming the count and how to raise the cap. `what` is "sweep" or "retraction".
    pub(in crate::engine) fn within_max_items(
        &self,
        what: &str,
        target: &str,
        copies: usize,
        max: u64,
        defaulted: bool,
    ) -> Result<(), EngineError> {
        if copies as u64 <= max {
            return Ok(());
        }
        let cap = if defaulted {
            format!("--max-items {max} (the default)")
        } else {
            format!("--max-items {max}")
        };
        let detail = format!(
            "the {what} would act on {copies} copies, more than {cap}; check them with --dry-run \
             --max-items {copies}, then pass --max-items {copies} to go ahead (:sweep max:{copies} \
             in the console)"
        );
        self.store.audit(&NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: what.to_string(),
            target: target.to_string(),
            outcome: "refused".into(),
            detail: Some(detail.clone()),
            ..NewAudit::default()
        })?;
        Err(EngineError::Refused(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SweepRequest {
        SweepRequest {
            tenant: "corp".into(),
            action: Some(Action::Trash),
            ..SweepRequest::default()
        }
    }

    fn refused(req: SweepRequest) -> String {
        match req.validated_filter() {
            Err(EngineError::BadInput(m)) => m,
            other => panic!("not refused as bad input: {other:?}"),
        }
    }

    #[test]
    fn every_blank_filter_is_refused_naming_its_flag() {
        for (raw, flag) in [
            ("", "--message-id"),
            ("<>", "--message-id"),
            ("< >", "--message-id"),
        ] {
            let m = refused(SweepRequest {
                message_ids: vec![raw.into()],
                ..request()
            });
            assert!(m.contains(flag) && m.contains("empty"), "{raw:?}: {m}");
        }
        for blank in ["", " ", "\t\n"] {
            let m = refused(SweepRequest {
                from: Some(blank.into()),
                ..request()
            });
            assert!(m.contains("--from"), "{m}");
            let m = refused(SweepRequest {
                subject: Some(blank.into()),
                message_ids: vec!["<a@b>".into()],
                ..request()
            });
            assert!(m.contains("--subject"), "{m}");
        }
    }

    #[test]
    fn since_alone_needs_all_and_all_alone_needs_since() {
        let since = Some(Utc::now());
        assert!(refused(SweepRequest { since, ..request() }).contains("--all"));
        assert!(
            refused(SweepRequest {
                all: true,
                ..request()
            })
            .contains("--since")
        );
        assert!(refused(request()).contains("content filter"));
        let f = SweepRequest {
            since,
            all: true,
            ..request()
        }
        .validated_filter()
        .expect("--since with --all");
        assert_eq!(f.since, since);
        assert!(f.skip_admin_folders);
    }

    #[test]
    fn an_indicator_is_a_content_filter_and_a_bad_one_is_named() {
        let f = SweepRequest {
            indicators: crate::forensics::Indicators {
                url_domains: vec!["Evil.Example.".into()],
                ..Default::default()
            },
            ..request()
        }
        .validated_filter()
        .expect("an indicator alone is enough");
        assert_eq!(f.indicators.url_domains, vec!["evil.example".to_string()]);
        let m = refused(SweepRequest {
            indicators: crate::forensics::Indicators {
                attachment_sha256: vec!["".into()],
                ..Default::default()
            },
            ..request()
        });
        assert!(
            m.contains("--attachment-sha256") && m.contains("empty"),
            "{m}"
        );
    }

    #[test]
    fn message_ids_are_normalised_and_the_cap_defaults() {
        let req = SweepRequest {
            message_ids: vec![" a@b ".into()],
            ..request()
        };
        assert_eq!(
            req.validated_filter().expect("valid").message_ids,
            vec!["<a@b>".to_string()]
        );
        assert_eq!(req.max_items(), DEFAULT_SWEEP_MAX_ITEMS);
        assert!(
            refused(SweepRequest {
                max_items: Some(0),
                ..req
            })
            .contains("at least 1")
        );
    }
}
