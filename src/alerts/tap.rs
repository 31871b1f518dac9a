//! The Proofpoint TAP poller: the SIEM API's delivered messages, window by window.
//!
//! `GET /v2/siem/messages/delivered?format=json&interval=START/END` with Basic auth (the
//! service principal and its secret), every `threatStatus` asked for (TAP leaves
//! `falsePositive` out unless asked). A window is at most one hour (TAP refuses more); each
//! starts where the last answer's `queryEndTime` ended, stored in the store after the
//! window's alerts were handed to the sink, so a restart resumes there.
//!
//! Each entry of `threatsInfoMap[]` is one alert (a message may carry several threats):
//! id `GUID:threatID`, so the same threat reclassified later (`cleared`, `falsePositive`)
//! arrives as an update of the alert it first raised.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::deliver;
use super::poll::{self, PollError, Poller, Step};
use crate::backends::common::http::{Auth, HttpClient, Request};
use crate::config::alerts::TapSettings;
use crate::config::secret::Secret;
use crate::model::text::sanitize;
use crate::model::{Alert, AlertSink};
use crate::store::Store;

/// The source every TAP alert carries.
pub const SOURCE: &str = "proofpoint-tap";
/// TAP's longest window.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// The largest answer read (an hour of a large tenant's delivered threats).
const MAX_ANSWER: usize = 64 * 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The poller of one TAP principal.
pub struct TapPoller {
    settings: TapSettings,
    store: Arc<Store>,
    http: HttpClient,
    secret: Secret,
    cursor_key: String,
}

/// The part of TAP's answer read here.
#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "queryEndTime")]
    query_end_time: Option<String>,
    #[serde(rename = "messagesDelivered", default)]
    messages_delivered: Vec<Value>,
}

impl TapPoller {
    /// Resolve the secret now: a missing one stops the service at start.
    pub fn new(settings: &TapSettings, store: Arc<Store>) -> Result<TapPoller, String> {
        let secret = settings
            .secret
            .resolve()
            .map_err(|e| format!("[alerts.tap] secret: {e}"))?;
        Ok(TapPoller {
            cursor_key: format!("{SOURCE}:{}", settings.principal),
            settings: settings.clone(),
            store,
            http: HttpClient::new(REQUEST_TIMEOUT)?,
            secret,
        })
    }

    /// Poll until `stopping`.
    pub async fn run(self, sink: Arc<dyn AlertSink>, stopping: watch::Receiver<bool>) {
        tracing::info!(endpoint = %self.settings.endpoint, "Proofpoint TAP poller started");
        poll::run(&self, sink, stopping).await;
    }

    /// Where the next window starts: the stored `queryEndTime`, else `lookback` ago.
    fn window_start(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, PollError> {
        super::poll::window_start(
            &self.store,
            &self.cursor_key,
            "TAP",
            now,
            self.settings.lookback,
        )
    }
}

#[async_trait]
impl Poller for TapPoller {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn interval(&self) -> Duration {
        self.settings.interval
    }

    async fn poll_once(&self, sink: &Arc<dyn AlertSink>) -> Result<Step, PollError> {
        // Whole seconds, as TAP's times are: a window is never asked twice for one second.
        let now = Utc::now().trunc_subsecs(0);
        let start = self.window_start(now)?;
        let window = chrono::Duration::from_std(MAX_WINDOW).unwrap_or_default();
        let end = (start + window).min(now);
        if end <= start {
            return Ok(Step {
                alerts: 0,
                caught_up: true,
            });
        }
        let url = format!(
            "{}/v2/siem/messages/delivered?format=json&interval={}/{}&threatStatus=active&threatStatus=cleared&threatStatus=falsePositive",
            self.settings.endpoint,
            tap_time(start),
            tap_time(end)
        );
        let request = Request::new("GET", &url, MAX_ANSWER).auth(Auth::Basic {
            user: &self.settings.principal,
            password: &self.secret,
        });
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| PollError::Failed(format!("TAP: {}", e.detail)))?;
        match response.status {
            200 => {}
            // TAP answers an empty window with 204 in some versions.
            204 => {
                self.store_cursor(&tap_time(end))?;
                return Ok(Step {
                    alerts: 0,
                    caught_up: end >= now,
                });
            }
            429 => return Err(PollError::Throttled(response.retry_after())),
            401 | 403 => {
                return Err(PollError::Failed(format!(
                    "TAP refused the principal {} ({}): check [alerts.tap] principal and secret",
                    self.settings.principal, response.status
                )));
            }
            status => {
                return Err(PollError::Failed(format!(
                    "TAP answered {status}: {}",
                    sanitize(&String::from_utf8_lossy(
                        &response.body[..response.body.len().min(300)]
                    ))
                )));
            }
        }
        let answer: Answer = serde_json::from_slice(&response.body).map_err(|e| {
            PollError::Failed(format!("TAP's answer is not the documented JSON: {e}"))
        })?;
        let mut alerts = Vec::new();
        for message in &answer.messages_delivered {
            alerts.extend(alerts_of(message, self.settings.tenant.as_deref()));
        }
        let count = alerts.len();
        deliver(sink, alerts)
            .await
            .map_err(|(_, why)| PollError::Failed(format!("TAP alerts not stored: {why}")))?;
        // TAP's own end of the window is the cursor (it may round); ours when it gave none.
        // One outside the window asked (TAP's or a proxy's bug) would skip or repeat time.
        let cursor = match answer
            .query_end_time
            .as_deref()
            .map(DateTime::parse_from_rfc3339)
        {
            Some(Ok(t)) if t > start && t <= end => tap_time(t.with_timezone(&Utc)),
            Some(Ok(_)) => tap_time(end),
            Some(Err(_)) => {
                return Err(PollError::Failed("TAP's queryEndTime is not a time".into()));
            }
            None => tap_time(end),
        };
        self.store_cursor(&cursor)?;
        Ok(Step {
            alerts: count,
            caught_up: end >= now,
        })
    }
}

impl TapPoller {
    fn store_cursor(&self, cursor: &str) -> Result<(), PollError> {
        self.store
            .set_poller_cursor(&self.cursor_key, cursor)
            .map_err(|e| PollError::Failed(e.to_string()))
    }
}

/// TAP's time format: ISO 8601, UTC, whole seconds.
fn tap_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// TAP's `threatStatus` in the CONTRACT's spelling.
fn status_of(threat_status: &str) -> Option<&'static str> {
    match threat_status {
        "active" => Some("active"),
        "cleared" => Some("cleared"),
        "falsePositive" => Some("false_positive"),
        _ => None,
    }
}

/// One alert per threat of a delivered message. A threat the alert format cannot hold (no
/// Message-ID, an unknown status) is logged and left out: one odd entry must not hold the
/// cursor, and with it every later alert, forever.
pub fn alerts_of(message: &Value, tenant: Option<&str>) -> Vec<Alert> {
    let guid = message["GUID"].as_str().unwrap_or("");
    let mut alerts = Vec::new();
    let Some(threats) = message["threatsInfoMap"].as_array() else {
        return alerts;
    };
    for threat in threats {
        let threat_id = threat["threatID"].as_str().unwrap_or("");
        let Some(status) = threat["threatStatus"].as_str().and_then(status_of) else {
            tracing::warn!(guid = %sanitize(guid), "TAP threat with an unknown threatStatus left out");
            continue;
        };
        let mut raw = json!({
            "id": format!("{guid}:{threat_id}"),
            "source": SOURCE,
            "message_id": message["messageID"],
            "classification": threat["classification"],
            "status": status,
            "recipients": message["recipient"],
            "details": {
                "guid": guid,
                "threat_id": threat_id,
                "threat_type": threat["threatType"],
                "threat": threat["threat"],
                "campaign_id": threat["campaignID"],
            },
        });
        if let Some(tenant) = tenant {
            raw["tenant"] = json!(tenant);
        }
        if let Some(url) = threat["threatUrl"].as_str() {
            raw["threat_url"] = json!(url);
        }
        if let Some(when) = threat["threatTime"].as_str() {
            raw["detected_at"] = json!(when);
        }
        match Alert::parse(&raw.to_string()) {
            Ok(alert) => alerts.push(alert),
            Err(e) => {
                tracing::warn!(guid = %sanitize(guid), "TAP threat left out: {e}");
            }
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_threat_of_a_message_is_an_alert() {
        let message = json!({
            "GUID": "g1", "messageID": "<m1@evil.test>", "recipient": ["Bob@corp.test"],
            "threatsInfoMap": [
                {"threatID": "t1", "classification": "PHISH", "threatStatus": "active",
                 "threatUrl": "https://threatinsight.proofpoint.com/t1", "threatTime": "2026-12-01T10:00:00.000Z",
                 "threatType": "url", "threat": "http://evil.test/x"},
                {"threatID": "t2", "classification": "MALWARE", "threatStatus": "falsePositive"},
                {"threatID": "t3", "classification": "SPAM", "threatStatus": "sideways"},
            ]
        });
        let alerts = alerts_of(&message, Some("corp"));
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].id, "g1:t1");
        assert_eq!(alerts[0].classification, "phish");
        assert_eq!(alerts[0].recipients, vec!["bob@corp.test".to_string()]);
        assert_eq!(alerts[0].tenant.as_deref(), Some("corp"));
        assert_eq!(alerts[1].status, crate::model::AlertStatus::FalsePositive);
        let no_id = json!({"GUID": "g2", "threatsInfoMap": [{"threatID": "t", "classification": "phish", "threatStatus": "active"}]});
        assert!(alerts_of(&no_id, None).is_empty());
    }
}
