//! `policy report`: what the policies did since a time, and how fast.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Milliseconds from an alert's receipt to its job's first pulled copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub samples: usize,
    pub median_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

impl Latency {
    /// Nearest-rank median and 95th percentile of `samples`.
    pub fn of(mut samples: Vec<i64>) -> Latency {
        samples.sort_unstable();
        let rank = |p: f64| -> Option<i64> {
            if samples.is_empty() {
                return None;
            }
            let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            Some(samples[i])
        };
        Latency {
            samples: samples.len(),
            median_ms: rank(0.5),
            p95_ms: rank(0.95),
        }
    }
}

/// The report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub since: DateTime<Utc>,
    pub decisions: usize,
    /// Jobs the policies started at once.
    pub pulls: usize,
    /// Approval requests the policies made.
    pub requests: usize,
    pub approvals: usize,
    pub rejections: usize,
    pub expired: usize,
    pub voided: usize,
    /// Restores of what an alert pulled, after it was cleared or found a false positive.
    pub restores_after_false_positives: usize,
    pub passive: usize,
    pub no_action: usize,
    pub failed: usize,
    /// Alert received -> first copy pulled, over automatic and approved pulls.
    pub alert_to_first_pull: Latency,
}

/// Gather the report from the store.
pub fn report(store: &Store, since: DateTime<Utc>) -> Result<PolicyReport, StoreError> {
    let mut r = PolicyReport {
        since,
        ..PolicyReport::default()
    };
    let mut latencies = Vec::new();
    for d in store.decisions_since(since)? {
        r.decisions += 1;
        match d.outcome.as_str() {
            "pulled" => r.pulls += 1,
            "restored" => r.restores_after_false_positives += 1,
            "requested" => r.requests += 1,
            "passive" => r.passive += 1,
            "failed" => r.failed += 1,
            _ => r.no_action += 1,
        }
        if d.outcome == "pulled"
            && let Some(job) = d.job
            && let Some(first) = store.first_pulled_at(job)?
        {
            latencies.push((first - d.received_at).num_milliseconds());
        }
    }
    for a in store.approvals(None)? {
        let decided_since = a.decided_at.is_some_and(|at| at >= since);
        if !decided_since {
            continue;
        }
        match a.state.as_str() {
            "approved" => {
                r.approvals += 1;
                if a.kind == "restore" && a.alert.is_some() {
                    r.restores_after_false_positives += 1;
                }
            }
            "rejected" => r.rejections += 1,
            "expired" => r.expired += 1,
            "void" => r.voided += 1,
            _ => {}
        }
    }
    r.alert_to_first_pull = Latency::of(latencies);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latency::of((1..=100).rev().collect());
        assert_eq!(
            (l.samples, l.median_ms, l.p95_ms),
            (100, Some(50), Some(95))
        );
        assert_eq!(Latency::of(vec![]).median_ms, None);
        assert_eq!(Latency::of(vec![7]).p95_ms, Some(7));
    }
}
