//! The `[reevaluation]` table: how often the service hunts the log for the live indicators
//! and how far back a hunt looks.

use std::time::Duration;

use serde::Deserialize;

/// How often the service hunts when the config does not say: hourly.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
/// How far back a hunt looks when the config does not say: 14 days.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(14 * 86_400);

/// `[reevaluation]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReevaluationSettings {
    /// `None`: the service does not hunt on its own (`interval = 0`).
    pub interval: Option<Duration>,
    pub window: Duration,
}

impl Default for ReevaluationSettings {
    fn default() -> Self {
        ReevaluationSettings {
            interval: Some(DEFAULT_INTERVAL),
            window: DEFAULT_WINDOW,
        }
    }
}

/// `[reevaluation]` as written: durations as `"90m"`, `"1h"`, `"14d"` or seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReevaluation {
    #[serde(default)]
    interval: Option<toml::Value>,
    #[serde(default)]
    window: Option<toml::Value>,
}

impl RawReevaluation {
    pub(super) fn resolve(self) -> Result<ReevaluationSettings, String> {
        let interval = match self.interval {
            None => Some(DEFAULT_INTERVAL),
            Some(v) => match seconds("interval", &v)? {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
        };
        let window = match self.window {
            None => DEFAULT_WINDOW,
            Some(v) => match seconds("window", &v)? {
                0 => {
                    return Err(
                        "[reevaluation] window = 0: a hunt needs a window (like \"14d\")".into(),
                    );
                }
                s => Duration::from_secs(s),
            },
        };
        Ok(ReevaluationSettings { interval, window })
    }
}

/// A duration in seconds: an integer, or a number with `s`, `m`, `h`, `d` or `w`.
fn seconds(key: &str, value: &toml::Value) -> Result<u64, String> {
    let parsed = match value {
        toml::Value::Integer(n) => u64::try_from(*n).ok(),
        toml::Value::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (number, unit) = s.split_at(split);
            let scale = match unit {
                "" | "s" => Some(1),
                "m" => Some(60),
                "h" => Some(3600),
                "d" => Some(86_400),
                "w" => Some(7 * 86_400),
                _ => None,
            };
            number
                .parse::<u64>()
                .ok()
                .zip(scale)
                .and_then(|(n, k)| n.checked_mul(k))
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!(
            "[reevaluation] {key} = {value}: expected a duration (seconds, or \"30m\", \"1h\", \"14d\", \"2w\")"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<ReevaluationSettings, String> {
        toml::from_str::<RawReevaluation>(text)
            .map_err(|e| e.to_string())?
            .resolve()
    }

    #[test]
    fn defaults_off_and_bad_values() {
        assert_eq!(resolve(""), Ok(ReevaluationSettings::default()));
        assert_eq!(
            resolve("interval = 0\nwindow = \"2d\""),
            Ok(ReevaluationSettings {
                interval: None,
                window: Duration::from_secs(2 * 86_400)
            })
        );
        assert!(resolve("interval = \"soon\"").is_err_and(|e| e.contains("interval")));
        assert!(resolve("window = 0").is_err());
    }
}
