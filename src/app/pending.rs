//! The Pending view's state: requests waiting for a second person's approval, as
//! `retractor pending` lists them (rule, alert, requester, blast radius per depth, expiry), and
//! the dialog that approves or rejects one. Rows are sanitised as they enter the state.

use std::collections::BTreeSet;

use ratatui_textarea::TextArea;

use super::ReqId;
use super::rows::{short_time, shown};
use crate::store::ApprovalRecord;

/// One request of the Pending view (every string sanitised).
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalRow {
    pub id: i64,
    /// `retract trash`, `sweep quarantine`...
    pub what: String,
    pub target: String,
    pub mailboxes: u64,
    pub requested_by: String,
    /// The policy rule that asked (`-` for a job by hand).
    pub rule: String,
    /// The stored alert the request answers, when a policy asked.
    pub alert: Option<i64>,
    /// The request's reason (a policy's: the alert's source and id).
    pub reason: String,
    pub requested_at: String,
    pub expires_at: String,
    /// Per depth: (depth, messages, mailboxes), as the plan counted them.
    pub by_depth: Vec<(u64, u64, u64)>,
    pub plan_hash: String,
    /// What the request asked for, field by field, from the engine's JSON of it.
    pub asked: Vec<(String, String)>,
}

impl ApprovalRow {
    pub fn of(a: &ApprovalRecord) -> ApprovalRow {
        let by_depth = a
            .by_depth
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let n = |k: &str| d[k].as_u64().unwrap_or(0);
                (n("depth"), n("messages"), n("mailboxes"))
            })
            .collect();
        ApprovalRow {
            id: a.id,
            what: shown(&format!("{} {}", a.kind, a.action)),
            target: shown(&a.target),
            mailboxes: a.mailboxes,
            requested_by: shown(&a.requested_by),
            rule: shown(a.rule.as_deref().unwrap_or("-")),
            alert: a.alert,
            reason: shown(a.reason.as_deref().unwrap_or("-")),
            requested_at: short_time(a.created_at),
            expires_at: short_time(a.expires_at),
            by_depth,
            plan_hash: shown(&a.plan_hash),
            asked: asked_fields(&a.request)
                .into_iter()
                // The message is the target already.
                .filter(|(k, v)| !(k == "message" && *v == shown(&a.target)))
                .collect(),
        }
    }
}

/// The fields of the engine's request JSON worth naming (recipients, exclusions, depth...),
/// sanitised; a request that is not JSON is shown as one line.
fn asked_fields(request: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(request) else {
        return vec![("request".into(), shown(request))];
    };
    fields
        .iter()
        // The row names these already (its action, reason and counts per depth).
        .filter(|(k, _)| !matches!(k.as_str(), "kind" | "action" | "reason" | "depth"))
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) if s.is_empty() => return None,
                serde_json::Value::Array(a) if a.is_empty() => return None,
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            Some((shown(k), shown(&text)))
        })
        .collect()
}

/// The Pending view.
#[derive(Debug, Default)]
pub struct PendingView {
    pub rows: Vec<ApprovalRow>,
    pub selected: usize,
    /// Index of the first request on screen.
    pub top: usize,
    /// `Enter` shows the selected request's full facts under the list.
    pub facts_open: bool,
    /// Requests the analyst has had on screen: the badge is highlighted while others wait.
    pub seen: BTreeSet<i64>,
    /// A first answer has come (before it, the view says "reading...").
    pub loaded: bool,
}

impl PendingView {
    /// Requests waiting that the analyst has not had on screen yet.
    pub fn unseen(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !self.seen.contains(&r.id))
            .count()
    }

    /// The analyst is looking: every request shown counts as seen.
    pub fn mark_seen(&mut self) {
        self.seen.extend(self.rows.iter().map(|r| r.id));
    }

    pub fn selected_row(&self) -> Option<&ApprovalRow> {
        self.rows.get(self.selected)
    }
}

/// Approving or rejecting one request: the dialog names the request, the action and the
/// mailbox count, and takes a reason (required to reject). It stays open until the api
/// answers, and shows a refusal there verbatim (sanitised).
#[derive(Debug)]
pub struct ApprovalDialog {
    pub id: i64,
    pub approve: bool,
    /// Sanitised lines naming what is decided.
    pub lines: Vec<String>,
    pub reason: TextArea<'static>,
    /// The answer awaited, once confirmed.
    pub answering: Option<ReqId>,
    /// Why the last attempt did not go through (a refusal from the api, an empty reason).
    pub error: Option<String>,
}

impl ApprovalDialog {
    pub fn title(&self) -> String {
        if self.approve {
            format!("Approve request {}", self.id)
        } else {
            format!("Reject request {}", self.id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_json_is_named_field_by_field_and_inert() {
        let fields = asked_fields(
            r#"{"kind":"retract","action":"trash","message":"<a@b>","recipients":["x@corp.test","y\u001b[2J@corp.test"],"exclude":[],"depth":1,"reason":null}"#,
        );
        assert_eq!(
            fields,
            vec![
                ("message".to_string(), "<a@b>".to_string()),
                (
                    "recipients".to_string(),
                    shown("x@corp.test, y\u{1b}[2J@corp.test")
                ),
            ]
        );
        assert!(!fields[1].1.contains('\u{1b}'));
        assert_eq!(
            asked_fields("not json"),
            vec![("request".to_string(), "not json".to_string())]
        );
    }
}
