//! A Proofpoint TAP SIEM API test server, written from Proofpoint's documentation of
//! `GET /v2/siem/messages/delivered`: HTTP Basic auth with the service principal and secret
//! (401 otherwise); exactly one of `interval=START/END` (ISO 8601), `sinceSeconds` or
//! `sinceTime`; a window longer than one hour, or starting more than seven days back, is
//! refused with 400 as TAP does; `format=json`; `threatStatus` repeatable (absent: `active`
//! and `cleared`, so `falsePositive` comes only when asked); the answer carries
//! `queryEndTime` and `messagesDelivered[]` with `GUID`, `messageID`, `recipient[]` and
//! `threatsInfoMap[]` (`threatID`, `classification`, `threatStatus`, `threatUrl`,
//! `threatTime`, `threatType`, `threat`). Throttling (429, optionally with `Retry-After`) is
//! injected per test. A reclassification is, as on TAP, the same `GUID` reported again with
//! the new `threatStatus` at the time it changed.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const PRINCIPAL: &str = "tap-principal-1";
pub const SECRET: &str = "tap-secret-1";

/// One request the server answered.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub status: u16,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub statuses: Vec<String>,
}

#[derive(Default)]
struct Data {
    /// (when TAP recorded it, the messagesDelivered entry)
    events: Vec<(DateTime<Utc>, Value)>,
    throttle_next: usize,
    retry_after: Option<u64>,
    seen: Vec<Seen>,
}

pub struct TapServer {
    pub url: String,
    data: Arc<Mutex<Data>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TapServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl TapServer {
    pub fn start() -> TapServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let data = Arc::new(Mutex::new(Data::default()));
        let for_thread = Arc::clone(&data);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
                    let data = Arc::clone(&for_thread);
                    async move { handle(&data, &uri, &headers) }
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        TapServer {
            url,
            data,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Record a delivered message (one `messagesDelivered[]` entry) at `at`.
    pub fn deliver(&self, at: DateTime<Utc>, message: Value) {
        self.data.lock().unwrap().events.push((at, message));
    }

    /// The next `times` requests get 429, with `Retry-After: secs` when given.
    pub fn throttle(&self, times: usize, retry_after: Option<u64>) {
        let mut d = self.data.lock().unwrap();
        d.throttle_next = times;
        d.retry_after = retry_after;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.data.lock().unwrap().seen.clone()
    }
}

/// A delivered message with one threat, as TAP documents the entry.
pub fn delivered(guid: &str, message_id: &str, recipients: &[&str], threat_status: &str) -> Value {
    json!({
        "GUID": guid,
        "messageID": message_id,
        "recipient": recipients,
        "sender": "attacker@evil.test",
        "subject": "Invoice",
        "messageTime": tap_time(Utc::now()),
        "threatsInfoMap": [{
            "threatID": format!("threat-{guid}"),
            "threat": "http://evil.test/login",
            "threatStatus": threat_status,
            "classification": "PHISH",
            "threatType": "url",
            "threatUrl": format!("https://threatinsight.proofpoint.com/t/{guid}"),
            "threatTime": tap_time(Utc::now()),
            "campaignID": null,
        }],
    })
}

fn tap_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn answer(status: StatusCode, text: &str) -> Response {
    (status, text.to_string()).into_response()
}

fn handle(data: &Mutex<Data>, uri: &Uri, headers: &HeaderMap) -> Response {
    let mut d = data.lock().unwrap();
    let mut seen = Seen {
        at: Instant::now(),
        status: 200,
        start: None,
        end: None,
        statuses: Vec::new(),
    };
    let response = respond(&mut d, uri, headers, &mut seen);
    seen.status = response.status().as_u16();
    d.seen.push(seen);
    response
}

fn respond(d: &mut Data, uri: &Uri, headers: &HeaderMap, seen: &mut Seen) -> Response {
    if uri.path() != "/v2/siem/messages/delivered" {
        return answer(StatusCode::NOT_FOUND, "Not found");
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{PRINCIPAL}:{SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return answer(
            StatusCode::UNAUTHORIZED,
            "The credentials are invalid or the user does not have access to the API.",
        );
    }
    if d.throttle_next > 0 {
        d.throttle_next -= 1;
        let mut r = answer(
            StatusCode::TOO_MANY_REQUESTS,
            "The user has made too many requests over the past 24 hours and has been throttled.",
        );
        if let Some(secs) = d.retry_after {
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return r;
    }
    let mut query: HashMap<String, String> = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8_lossy()
            .to_string();
        if k == "threatStatus" {
            seen.statuses.push(v);
        } else {
            query.insert(k.to_string(), v);
        }
    }
    if query.get("format").map(String::as_str) != Some("json") {
        return answer(
            StatusCode::BAD_REQUEST,
            "This test server answers format=json only.",
        );
    }
    let now = Utc::now();
    let given = ["interval", "sinceSeconds", "sinceTime"]
        .iter()
        .filter(|k| query.contains_key(**k))
        .count();
    if given != 1 {
        return answer(
            StatusCode::BAD_REQUEST,
            "Exactly one of interval, sinceSeconds or sinceTime is required.",
        );
    }
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc));
    let (start, end) = if let Some(interval) = query.get("interval") {
        let Some((a, b)) = interval.split_once('/') else {
            return answer(StatusCode::BAD_REQUEST, "The interval is not start/end.");
        };
        match (parse(a), parse(b)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return answer(StatusCode::BAD_REQUEST, "The interval is not ISO 8601."),
        }
    } else if let Some(secs) = query.get("sinceSeconds") {
        let Ok(secs) = secs.parse::<i64>() else {
            return answer(StatusCode::BAD_REQUEST, "sinceSeconds is not a number.");
        };
        (now - Duration::seconds(secs), now)
    } else {
        match parse(&query["sinceTime"]) {
            Ok(a) => (a, now),
            Err(_) => return answer(StatusCode::BAD_REQUEST, "sinceTime is not ISO 8601."),
        }
    };
    seen.start = Some(start);
    seen.end = Some(end);
    if end <= start {
        return answer(
            StatusCode::BAD_REQUEST,
            "The interval ends before it starts.",
        );
    }
    if end - start > Duration::hours(1) {
        return answer(
            StatusCode::BAD_REQUEST,
            "The requested interval is too long.",
        );
    }
    if start < now - Duration::days(7) {
        return answer(
            StatusCode::BAD_REQUEST,
            "The requested start time is too far into the past.",
        );
    }
    let wanted: Vec<String> = if seen.statuses.is_empty() {
        vec!["active".into(), "cleared".into()]
    } else {
        seen.statuses.clone()
    };
    let mut messages = Vec::new();
    for (at, message) in &d.events {
        if *at < start || *at >= end {
            continue;
        }
        let mut message = message.clone();
        let threats: Vec<Value> = message["threatsInfoMap"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| wanted.iter().any(|w| t["threatStatus"] == w.as_str()))
            .collect();
        if threats.is_empty() {
            continue;
        }
        message["threatsInfoMap"] = Value::Array(threats);
        messages.push(message);
    }
    axum::Json(json!({
        "queryEndTime": tap_time(end),
        "messagesDelivered": messages,
        "messagesBlocked": [],
        "clicksPermitted": [],
        "clicksBlocked": [],
    }))
    .into_response()
}
