//! The API's report types: an analyst reporting a logged message as a false negative (it is
//! malicious: pull it) or a false positive (it is clean: put back what was pulled), as
//! Proofpoint's "Report as False Negative".

use serde::{Deserialize, Serialize};

use crate::model::{AlertDisposition, AlertStatus};

/// What the analyst says about the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The gateway let a malicious message through.
    FalseNegative,
    /// The gateway (or an alert) called a clean message malicious.
    FalsePositive,
}

impl ReportKind {
    /// The disposition the log takes on.
    pub fn disposition(self) -> &'static str {
        match self {
            ReportKind::FalseNegative => "malicious",
            ReportKind::FalsePositive => "clean",
        }
    }

    /// The alert status fed to the policies: a false positive withdraws the threat, so a job
    /// that pulled the message restores under the rules.
    pub fn alert_status(self) -> AlertStatus {
        match self {
            ReportKind::FalseNegative => AlertStatus::Active,
            ReportKind::FalsePositive => AlertStatus::FalsePositive,
        }
    }

    /// The word used in JSON and the audit (`false_negative`, `false_positive`).
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::FalseNegative => "false_negative",
            ReportKind::FalsePositive => "false_positive",
        }
    }
}

/// `POST /v1/reports`: report one logged message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// REF: a log id or a Message-ID.
    pub message: String,
    pub kind: ReportKind,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The alert a report became (source `analyst`, id `report:<log id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportAlert {
    pub id: String,
    pub source: String,
    pub number: i64,
    pub revision: i64,
    pub disposition: AlertDisposition,
}

/// What a report did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    /// The log id.
    pub message: i64,
    pub message_id: String,
    pub tenant: String,
    pub kind: ReportKind,
    /// The disposition before the report (`None`: the log had none).
    pub previous_disposition: Option<String>,
    pub disposition: String,
    pub alert: ReportAlert,
}
