//! Alerts in from the outside: the spool directory, the HTTPS webhook, and the Proofpoint TAP
//! and Microsoft Defender pollers. Each intake parses through [`Alert::parse`] (or maps its
//! source's shape onto [`Alert`]) and hands every alert to the one [`AlertSink`]; it
//! acknowledges its sender (a 202, a file moved to `done/`, a cursor stored) only after the
//! sink said the alert is stored.

pub mod defender;
pub mod poll;
pub mod spool;
pub mod tap;
pub mod webhook;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::model::{Alert, AlertReceipt, AlertSink};
use crate::store::Store;

/// One bad line of a batch: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line of the batch (1 for a single object).
    pub line: usize,
    /// The alert field at fault (`-`: the line as a whole).
    pub field: &'static str,
    /// What is wrong, safe to show (no control characters).
    pub problem: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.problem)
    }
}

/// Parse a batch: one JSON object (possibly spread over lines), or JSON lines (blank lines
/// skipped). All of it is checked before anything is handed on, so a bad line stores nothing.
pub fn parse_batch(text: &str) -> Result<Vec<Alert>, LineError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(LineError {
            line: 1,
            field: "-",
            problem: "no alert in it".into(),
        });
    }
    // One object over several lines is a single alert; anything else is read line by line.
    if trimmed.contains('\n')
        && let Ok(alert) = Alert::parse(trimmed)
    {
        return Ok(vec![alert]);
    }
    let mut alerts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let alert = Alert::parse(line).map_err(|e| LineError {
            line: n + 1,
            field: e.field,
            problem: e.problem,
        })?;
        alerts.push(alert);
    }
    Ok(alerts)
}

/// Hand `alerts` to the sink in order, off the async threads (the sink writes SQLite). Stops
/// at the first failure: the receipts so far are returned with the error, so an intake can
/// tell its sender exactly what was stored.
pub async fn deliver(
    sink: &Arc<dyn AlertSink>,
    alerts: Vec<Alert>,
) -> Result<Vec<(Alert, AlertReceipt)>, (Vec<(Alert, AlertReceipt)>, String)> {
    let sink = Arc::clone(sink);
    let joined = tokio::task::spawn_blocking(move || {
        let mut done = Vec::with_capacity(alerts.len());
        for alert in alerts {
            match sink.receive(&alert) {
                Ok(receipt) => done.push((alert, receipt)),
                Err(e) => return Err((done, format!("{e:#}"))),
            }
        }
        Ok(done)
    })
    .await;
    match joined {
        Ok(result) => result,
        Err(e) => Err((Vec::new(), format!("the alert sink stopped: {e}"))),
    }
}

/// The running intakes of one service.
pub struct Intakes {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    stop: watch::Sender<bool>,
}

impl Intakes {
    /// Start every intake `config` asks for (the spool always; the webhook, TAP and Defender
    /// when configured). An intake that cannot start (a port taken, a certificate unreadable,
    /// a secret missing) is an error now rather than a silent gap later.
    pub async fn start(
        config: &Config,
        store: Arc<Store>,
        sink: Arc<dyn AlertSink>,
    ) -> Result<Intakes, String> {
        let (stop, stopping) = watch::channel(false);
        let mut tasks = Vec::new();
        let spool = spool::Spool::open(&config.alerts.spool)?;
        tasks.push((
            "spool",
            tokio::spawn(spool.run(Arc::clone(&sink), stopping.clone())),
        ));
        if let Some(settings) = &config.service.webhook {
            let server = webhook::Webhook::bind(settings).await?;
            tasks.push((
                "webhook",
                tokio::spawn(server.run(Arc::clone(&sink), stopping.clone())),
            ));
        }
        if let Some(settings) = &config.alerts.tap {
            let poller = tap::TapPoller::new(settings, Arc::clone(&store))?;
            tasks.push((
                "tap",
                tokio::spawn(poller.run(Arc::clone(&sink), stopping.clone())),
            ));
        }
        if let Some(settings) = &config.alerts.defender {
            let poller = defender::DefenderPoller::new(config, settings, Arc::clone(&store))?;
            tasks.push((
                "defender",
                tokio::spawn(poller.run(Arc::clone(&sink), stopping.clone())),
            ));
        }
        Ok(Intakes { tasks, stop })
    }

    /// Stop taking alerts in and wait for each intake to finish the batch in hand.
    pub async fn drain(self) {
        let _ = self.stop.send(true);
        for (name, task) in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(intake = name, "alert intake ended badly: {e}");
            }
        }
    }
}

/// Wait until `stopping` turns true or `wait` passes; true when asked to stop.
pub(crate) async fn stop_or_sleep(
    stopping: &mut watch::Receiver<bool>,
    wait: std::time::Duration,
) -> bool {
    stop_wake_or_sleep(Some(stopping), None, wait).await
}

/// The one wait of every loop of the service: until `stopping` turns true (or its sender is
/// gone), `wake` is told, or `wait` passes; true when asked to stop. Without a receiver the
/// loop runs for ever and only `wake` or the time end a wait; without `wake`, only the time.
pub(crate) async fn stop_wake_or_sleep(
    stopping: Option<&mut watch::Receiver<bool>>,
    wake: Option<&tokio::sync::Notify>,
    wait: std::time::Duration,
) -> bool {
    let woken = async {
        match wake {
            Some(w) => w.notified().await,
            None => std::future::pending::<()>().await,
        }
    };
    let Some(stopping) = stopping else {
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(wait) => {}
        }
        return false;
    };
    if *stopping.borrow() {
        return true;
    }
    tokio::select! {
        changed = stopping.changed() => changed.is_err() || *stopping.borrow(),
        _ = woken => false,
        _ = tokio::time::sleep(wait) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"1","source":"soar","message_id":"a@b","classification":"phish","status":"active"}"#;

    #[test]
    fn a_batch_is_one_object_or_lines_and_a_bad_line_is_named() {
        let pretty = "{\n \"id\": \"1\", \"source\": \"soar\", \"message_id\": \"a@b\",\n \"classification\": \"phish\", \"status\": \"active\"\n}\n";
        assert_eq!(parse_batch(pretty).unwrap().len(), 1);
        let lines = format!("{GOOD}\n\n{}\n", GOOD.replace("\"1\"", "\"2\""));
        assert_eq!(parse_batch(&lines).unwrap().len(), 2);
        let bad = format!("{GOOD}\n{}\n", GOOD.replace("active", "maybe"));
        let err = parse_batch(&bad).unwrap_err();
        assert_eq!((err.line, err.field), (2, "status"));
        assert!(parse_batch("  \n").is_err());
    }
}
