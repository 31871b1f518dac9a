//! The one [`AlertSink`]: store the alert, then wake the decider.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::engine::Engine;
use crate::model::{Alert, AlertDisposition, AlertReceipt, AlertSink};
use crate::store::Store;

/// Where every intake hands alerts: stored first (one transaction), then the decider of this
/// process is woken (deciders of other processes see the revision at their next look).
#[derive(Clone)]
pub struct Intake {
    store: Arc<Store>,
    wake: Arc<Notify>,
}

impl Intake {
    /// The intake of `engine`'s store, waking `engine`'s decider.
    pub fn new(engine: &Engine) -> Intake {
        Intake {
            store: Arc::clone(engine.store()),
            wake: engine.alerts_arrived(),
        }
    }

    /// Store a batch in one transaction (all or none), then wake the decider if any was
    /// new or changed.
    pub fn receive_all(&self, alerts: &[Alert]) -> anyhow::Result<Vec<AlertReceipt>> {
        let receipts = self.store.receive_alerts(alerts)?;
        if receipts
            .iter()
            .any(|r| r.disposition != AlertDisposition::Repeat)
        {
            self.wake.notify_one();
        }
        Ok(receipts)
    }
}

impl AlertSink for Intake {
    fn receive(&self, alert: &Alert) -> anyhow::Result<AlertReceipt> {
        let mut receipts = self.receive_all(std::slice::from_ref(alert))?;
        receipts
            .pop()
            .ok_or_else(|| anyhow::anyhow!("the store returned no receipt"))
    }
}
