//! Microsoft Defender alerts in the Graph test server: `GET /security/alerts_v2` (v1.0) with
//! `$filter` on `lastUpdateDateTime` (`ge`, `gt`, `le`, `lt`, joined by `and`) and paging
//! through `@odata.nextLink` (`$skiptoken`), as Graph documents for the alerts_v2 listing. An
//! alert is stored as the test gives it (its `evidence[]` with `@odata.type`
//! `#microsoft.graph.security.analyzedMessageEvidence` and the rest).
use super::*;

/// Alerts per page, small so that tests see paging.
pub const SECURITY_PAGE: usize = 2;

impl GraphServer {
    /// Add (or, with the same `id`, replace: Defender updates an alert in place) an alert.
    pub fn put_security_alert(&self, alert: Value) {
        let mut d = self.data();
        let id = alert["id"].clone();
        d.security_alerts.retain(|a| a["id"] != id);
        d.security_alerts.push(alert);
    }
}

fn time(v: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(v.trim().trim_matches('\''))
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// One `lastUpdateDateTime OP VALUE` condition.
fn condition(text: &str) -> Result<(String, chrono::DateTime<chrono::Utc>), String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [
            "lastUpdateDateTime",
            op @ ("ge" | "gt" | "le" | "lt"),
            value,
        ] => time(value)
            .map(|t| (op.to_string(), t))
            .ok_or_else(|| format!("bad time {value}")),
        _ => Err(format!("unsupported filter clause {text:?}")),
    }
}

pub(super) fn alerts_v2(shared: &Shared, query: &str) -> Answer {
    let pairs = form_pairs(query);
    let mut conditions = Vec::new();
    if let Some(filter) = pairs.get("$filter") {
        for clause in filter.split(" and ") {
            match condition(clause) {
                Ok(c) => conditions.push(c),
                Err(e) => return error(400, "BadRequest", &e),
            }
        }
    }
    let skip: usize = pairs
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let d = shared.data.lock().unwrap();
    let matching: Vec<&Value> = d
        .security_alerts
        .iter()
        .filter(|a| {
            let Some(updated) = a["lastUpdateDateTime"].as_str().and_then(time) else {
                return false;
            };
            conditions.iter().all(|(op, t)| match op.as_str() {
                "ge" => updated >= *t,
                "gt" => updated > *t,
                "le" => updated <= *t,
                _ => updated < *t,
            })
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(SECURITY_PAGE)
        .map(|a| (*a).clone())
        .collect();
    let mut body = json!({ "value": page });
    if skip + SECURITY_PAGE < matching.len() {
        let mut next = format!(
            "{}/v1.0/security/alerts_v2?$skiptoken={}",
            shared.base,
            skip + SECURITY_PAGE
        );
        if let Some(filter) = pairs.get("$filter") {
            next.push_str("&$filter=");
            next.push_str(
                &percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        body["@odata.nextLink"] = json!(next);
    }
    answer(200, body)
}
