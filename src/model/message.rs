use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One delivered message as a log source describes it (the JSONL ingest record of CONTRACT.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub subject: String,
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub disposition: Option<String>,
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
}

impl MessageRecord {
    /// Every recipient, `to` then `cc`, each once.
    /// A set, not a scan of the list, keeps an all-staff message (tens of thousands of
    /// recipients) linear.
    pub fn recipients(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::with_capacity(self.to.len() + self.cc.len());
        let mut out: Vec<String> = Vec::with_capacity(self.to.len() + self.cc.len());
        for r in self.to.iter().chain(&self.cc) {
            let r = crate::model::normalize_address(r);
            if !r.is_empty() && seen.insert(r.clone()) {
                out.push(r);
            }
        }
        out
    }
}

/// Where a message stands across its recipients, as the log table shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Delivered,
    /// Every actionable recipient's copy was pulled.
    Retracted,
    /// Some, not all, actionable copies were pulled.
    Partial,
    Restored,
    /// The last remediation of this message failed for some recipients.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Delivered => "delivered",
            MessageStatus::Retracted => "retracted",
            MessageStatus::Partial => "partial",
            MessageStatus::Restored => "restored",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delivered" => Some(MessageStatus::Delivered),
            "retracted" => Some(MessageStatus::Retracted),
            "partial" => Some(MessageStatus::Partial),
            "restored" => Some(MessageStatus::Restored),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }
}

/// Per-recipient state of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    Delivered,
    Retracted,
    Restored,
    Failed,
    NotFound,
    External,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Retracted => "retracted",
            DeliveryState::Restored => "restored",
            DeliveryState::Failed => "failed",
            DeliveryState::NotFound => "not-found",
            DeliveryState::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delivered" => Some(DeliveryState::Delivered),
            "retracted" => Some(DeliveryState::Retracted),
            "restored" => Some(DeliveryState::Restored),
            "failed" => Some(DeliveryState::Failed),
            "not-found" => Some(DeliveryState::NotFound),
            "external" => Some(DeliveryState::External),
            _ => None,
        }
    }
}

/// One recipient of a logged message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub recipient: String,
    /// The mailbox the copy lives in (the recipient for internal mail, empty for external).
    pub mailbox: String,
    pub status: DeliveryState,
    /// The folder the copy is in now, when the engine has seen it.
    pub folder: Option<String>,
    pub on_hold: bool,
    pub external: bool,
    /// Whether the user had opened the copy before anything was done to it: from the first
    /// placement a retract or sweep recorded for this mailbox (`None`: never touched).
    #[serde(default)]
    pub read: Option<bool>,
    /// The folder the copy sat in before anything was done (the same first placement): a
    /// copy the user had trashed shows `Trash` here though the log says it was delivered.
    #[serde(default)]
    pub original_folder: Option<String>,
}

impl Delivery {
    /// The read state as lists show it: `yes`, `no`, or `-` when no job ever touched the copy.
    pub fn read_label(&self) -> &'static str {
        match self.read {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        }
    }
}

/// A message as the log holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedMessage {
    pub id: i64,
    pub message_id: String,
    pub from: String,
    pub subject: String,
    pub received_at: DateTime<Utc>,
    pub recipients: Vec<String>,
    pub status: MessageStatus,
    /// Copies pulled / actionable copies, for "Retracted 18/20".
    pub retracted_count: u32,
    pub actionable_count: u32,
    pub disposition: Option<String>,
    pub tenant: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub size: Option<u64>,
    pub source_id: Option<String>,
}

impl LoggedMessage {
    /// The status as the console and table output show it.
    pub fn status_label(&self) -> String {
        match self.status {
            MessageStatus::Delivered => "Delivered".into(),
            MessageStatus::Retracted => "Delivered (Mail Retracted)".into(),
            MessageStatus::Partial => format!(
                "Retracted {}/{}",
                self.retracted_count, self.actionable_count
            ),
            MessageStatus::Restored => "Restored".into(),
            MessageStatus::Failed => "Failed".into(),
        }
    }
}
