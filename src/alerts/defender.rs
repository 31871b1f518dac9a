//! The Microsoft Defender poller: `/security/alerts_v2` through the Graph tenant's own client
//! (its token, throttling and paging rules), window by window on `lastUpdateDateTime`.
//!
//! Each Defender alert names its messages as evidence of type
//! `#microsoft.graph.security.analyzedMessageEvidence`; every distinct `internetMessageId`
//! becomes one alert (id `ALERT-ID:MESSAGE-ID`), its recipients gathered from the evidence.
//! A Defender alert updated later (classified `falsePositive`) arrives as an update of the
//! same ids. The window's end is stored as the cursor once its alerts are in the sink.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::deliver;
use super::poll::{self, PollError, Poller, Step};
use crate::backends::ErrorKind;
use crate::backends::graph::reader::{GraphReader, path_with_query};
use crate::config::alerts::DefenderSettings;
use crate::config::{BackendSettings, Config};
use crate::model::text::sanitize;
use crate::model::{Alert, AlertSink};
use crate::store::Store;

/// The source every Defender alert carries.
pub const SOURCE: &str = "defender";
/// The evidence type that names a delivered message.
const MESSAGE_EVIDENCE: &str = "#microsoft.graph.security.analyzedMessageEvidence";
/// The longest window asked at once, so a long catch-up goes in steps with a cursor each.
const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// Defender alerts read from one window at most.
const MAX_ALERTS_PER_WINDOW: usize = 50_000;

/// The poller of one Graph tenant's Defender alerts.
pub struct DefenderPoller {
    settings: DefenderSettings,
    reader: GraphReader,
    store: Arc<Store>,
    cursor_key: String,
}

impl DefenderPoller {
    /// A poller using the Graph client of `[tenants.<settings.tenant>]`.
    pub fn new(
        config: &Config,
        settings: &DefenderSettings,
        store: Arc<Store>,
    ) -> Result<DefenderPoller, String> {
        let graph = match config.tenant(&settings.tenant).map(|t| &t.backend) {
            Some(BackendSettings::Graph(graph)) => graph.clone(),
            _ => {
                return Err(format!(
                    "[alerts.defender] tenant = \"{}\": not a Graph tenant",
                    settings.tenant
                ));
            }
        };
        let reader = GraphReader::new(graph)
            .map_err(|e| format!("[alerts.defender] tenant {}: {e}", settings.tenant))?;
        Ok(DefenderPoller {
            cursor_key: format!("{SOURCE}:{}", settings.tenant),
            settings: settings.clone(),
            reader,
            store,
        })
    }

    /// Poll until `stopping`.
    pub async fn run(self, sink: Arc<dyn AlertSink>, stopping: watch::Receiver<bool>) {
        tracing::info!(tenant = %self.settings.tenant, "Defender alert poller started");
        poll::run(&self, sink, stopping).await;
    }

    fn window_start(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, PollError> {
        super::poll::window_start(
            &self.store,
            &self.cursor_key,
            "Defender",
            now,
            self.settings.lookback,
        )
    }
}

#[async_trait]
impl Poller for DefenderPoller {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn interval(&self) -> Duration {
        self.settings.interval
    }

    async fn poll_once(&self, sink: &Arc<dyn AlertSink>) -> Result<Step, PollError> {
        let now = Utc::now().trunc_subsecs(0);
        let start = self.window_start(now)?;
        let end = (start + chrono::Duration::from_std(MAX_WINDOW).unwrap_or_default()).min(now);
        if end <= start {
            return Ok(Step {
                alerts: 0,
                caught_up: true,
            });
        }
        let filter = format!(
            "lastUpdateDateTime ge {} and lastUpdateDateTime lt {}",
            graph_time(start),
            graph_time(end)
        );
        let path = path_with_query("/security/alerts_v2", &[("$filter", filter)]);
        let items = self
            .reader
            .list(&path, MAX_ALERTS_PER_WINDOW)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::Throttled => PollError::Throttled(e.retry_after),
                _ => PollError::Failed(format!("Defender alerts: {}", e.detail)),
            })?;
        let tenant = Some(self.settings.tenant.as_str());
        let alerts: Vec<Alert> = items.iter().flat_map(|a| alerts_of(a, tenant)).collect();
        let count = alerts.len();
        deliver(sink, alerts)
            .await
            .map_err(|(_, why)| PollError::Failed(format!("Defender alerts not stored: {why}")))?;
        self.store
            .set_poller_cursor(&self.cursor_key, &graph_time(end))
            .map_err(|e| PollError::Failed(e.to_string()))?;
        Ok(Step {
            alerts: count,
            caught_up: end >= now,
        })
    }
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Defender's `determination` (or `category`) as the alert's classification.
fn classification_of(alert: &Value) -> String {
    match alert["determination"].as_str() {
        Some("phishing") => "phish".into(),
        Some("malware") | Some("unwantedSoftware") => "malware".into(),
        Some("spam") => "spam".into(),
        Some(other) if !other.is_empty() && other != "unknown" => other.to_ascii_lowercase(),
        _ => alert["category"]
            .as_str()
            .filter(|c| !c.is_empty())
            .unwrap_or("defender-alert")
            .to_ascii_lowercase(),
    }
}

/// Defender's `classification` as the alert's status: a false positive undoes, expected
/// activity clears, anything else (true positive, not yet classified) stands.
fn status_of(alert: &Value) -> &'static str {
    match alert["classification"].as_str() {
        Some("falsePositive") => "false_positive",
        Some("informationalExpectedActivity") => "cleared",
        _ => "active",
    }
}

/// One alert per message the Defender alert names as evidence. A message the alert format
/// cannot hold is logged and left out, so it never holds the cursor.
pub fn alerts_of(alert: &Value, tenant: Option<&str>) -> Vec<Alert> {
    let alert_id = alert["id"].as_str().unwrap_or("");
    let mut by_message: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for evidence in alert["evidence"].as_array().into_iter().flatten() {
        if evidence["@odata.type"].as_str() != Some(MESSAGE_EVIDENCE) {
            continue;
        }
        let Some(message_id) = evidence["internetMessageId"].as_str() else {
            continue;
        };
        let key = crate::model::normalize_message_id(message_id);
        let recipients = by_message.entry(key).or_default();
        if let Some(r) = evidence["recipientEmailAddress"].as_str() {
            recipients.push(json!(r));
        }
    }
    let mut alerts = Vec::new();
    for (message_id, recipients) in by_message {
        let mut raw = json!({
            "id": format!("{alert_id}:{message_id}"),
            "source": SOURCE,
            "message_id": message_id,
            "classification": classification_of(alert),
            "status": status_of(alert),
            "recipients": recipients,
            "details": {
                "alert_id": alert_id,
                "title": alert["title"],
                "severity": alert["severity"],
                "defender_status": alert["status"],
                "defender_classification": alert["classification"],
                "service_source": alert["serviceSource"],
            },
        });
        if let Some(tenant) = tenant {
            raw["tenant"] = json!(tenant);
        }
        if let Some(url) = alert["alertWebUrl"].as_str() {
            raw["threat_url"] = json!(url);
        }
        if let Some(when) = alert["createdDateTime"].as_str() {
            raw["detected_at"] = json!(when);
        }
        match Alert::parse(&raw.to_string()) {
            Ok(a) => alerts.push(a),
            Err(e) => {
                tracing::warn!(alert = %sanitize(alert_id), "Defender evidence left out: {e}")
            }
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_of_the_evidence_is_an_alert_with_its_recipients() {
        let alert = json!({
            "id": "da1", "title": "Email messages containing malicious URL removed after delivery",
            "classification": "falsePositive", "determination": "phishing", "status": "resolved",
            "createdDateTime": "2026-12-01T10:00:00Z",
            "evidence": [
                {"@odata.type": MESSAGE_EVIDENCE, "internetMessageId": "<m1@evil.test>", "recipientEmailAddress": "a@corp.test"},
                {"@odata.type": MESSAGE_EVIDENCE, "internetMessageId": "<m1@evil.test>", "recipientEmailAddress": "b@corp.test"},
                {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {}},
                {"@odata.type": MESSAGE_EVIDENCE, "internetMessageId": "m2@evil.test", "recipientEmailAddress": "c@corp.test"},
            ]
        });
        let alerts = alerts_of(&alert, Some("m365"));
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].id, "da1:<m1@evil.test>");
        assert_eq!(alerts[0].recipients.len(), 2);
        assert_eq!(alerts[0].classification, "phish");
        assert_eq!(alerts[0].status, crate::model::AlertStatus::FalsePositive);
        assert_eq!(alerts[1].message_id, "<m2@evil.test>");
    }
}
