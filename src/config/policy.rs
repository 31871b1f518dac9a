//! The `[policy]` (rails, rules, the notify command) and `[approvals]` tables: what the
//! policies may do on their own, and what waits for a second person.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::model::{Action, Role, normalize_address};

/// The delivery window of the rails when the config does not say: 48 hours.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// How long an approval request waits when the config does not say: 72 hours.
pub const DEFAULT_EXPIRE: Duration = Duration::from_secs(72 * 3600);
/// How long `notify_command` may run when the config does not say.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// The deepest conversation depth a rule may ask for.
pub const MAX_RULE_DEPTH: u32 = 10;

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Pull at once (rails permitting).
    Automatic,
    /// Ask a second person: an approval request bound to the plan.
    Confirmation,
    /// Record what it would have done; act on nothing.
    Passive,
    /// Matches, and does nothing (recorded as such).
    Disabled,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Automatic => "automatic",
            Mode::Confirmation => "confirmation",
            Mode::Passive => "passive",
            Mode::Disabled => "disabled",
        }
    }
}

/// One `[policy.rules.NAME]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    /// Classifications it matches, lower-cased.
    pub when: Vec<String>,
    /// Only alerts for these tenants (empty: any).
    pub tenants: Vec<String>,
    /// Only alerts from these sources, lower-cased (empty: any).
    pub sources: Vec<String>,
    pub action: Action,
    pub depth: u32,
    pub mode: Mode,
}

/// The `[policy]` table, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySettings {
    /// Only messages delivered within this are pulled automatically.
    pub window: Duration,
    /// A decision reaching more mailboxes waits for confirmation (`None`: no limit).
    pub max_mailboxes: Option<u64>,
    /// Mailboxes never pulled automatically, groups expanded, normalised.
    pub protect: Vec<String>,
    /// Rules in name order (the first that matches decides).
    pub rules: Vec<Rule>,
    /// Run for each decision with its JSON on stdin (argv; no shell).
    pub notify_command: Vec<String>,
    pub notify_timeout: Duration,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            window: DEFAULT_WINDOW,
            max_mailboxes: None,
            protect: Vec::new(),
            rules: Vec::new(),
            notify_command: Vec::new(),
            notify_timeout: DEFAULT_NOTIFY_TIMEOUT,
        }
    }
}

/// The `[approvals]` table, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalSettings {
    /// Manual jobs reaching more mailboxes need a second person (`None`: never).
    pub required_above: Option<u64>,
    /// Every hard-delete needs a second person.
    pub hard_delete: bool,
    /// The least role that may approve or reject.
    pub approver_role: Role,
    pub expire: Duration,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            required_above: None,
            hard_delete: false,
            approver_role: Role::Responder,
            expire: DEFAULT_EXPIRE,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    window: Option<String>,
    max_mailboxes: Option<u64>,
    #[serde(default)]
    protect: Vec<String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rules: BTreeMap<String, RawRule>,
    #[serde(default)]
    notify_command: Vec<String>,
    notify_timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: Vec<String>,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    action: String,
    #[serde(default)]
    depth: u32,
    mode: Mode,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApprovals {
    required_above: Option<u64>,
    #[serde(default)]
    hard_delete: bool,
    approver_role: Option<Role>,
    expire: Option<String>,
}

/// A span as the config writes it: `90s`, `30m`, `48h`, `3d`, `1w`.
pub fn parse_span(key: &str, text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad =
        || format!("{key} = \"{t}\": expected a number and a unit (s, m, h, d, w), e.g. \"48h\"");
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = t.split_at(split);
    let amount: u64 = digits.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    let secs = amount.checked_mul(unit_secs).ok_or_else(bad)?;
    if secs == 0 {
        return Err(format!("{key} = \"{t}\": must be more than zero"));
    }
    Ok(Duration::from_secs(secs))
}

impl RawPolicy {
    /// Check every key; `tenants` are the configured tenant names (a rule naming another is
    /// a typo that would silently never match). `notify_command`'s program resolves against
    /// `base` when relative.
    pub(super) fn resolve(self, tenants: &[&str], base: &Path) -> Result<PolicySettings, String> {
        let window = match &self.window {
            Some(w) => parse_span("[policy] window", w)?,
            None => DEFAULT_WINDOW,
        };
        if self.max_mailboxes == Some(0) {
            return Err("[policy] max_mailboxes = 0: must be at least 1 (or leave it out)".into());
        }
        let mut protect = Vec::new();
        for entry in &self.protect {
            let entry = entry.trim();
            if let Some(group) = entry.strip_prefix("group:") {
                let members = self.groups.get(group).ok_or_else(|| {
                    format!("[policy] protect: \"{entry}\" names no [policy.groups] entry")
                })?;
                protect.extend(members.iter().map(|m| normalize_address(m)));
            } else if entry.contains('@') {
                protect.push(normalize_address(entry));
            } else {
                return Err(format!(
                    "[policy] protect: \"{entry}\" is neither an address nor group:NAME"
                ));
            }
        }
        protect.sort();
        protect.dedup();
        let mut rules = Vec::new();
        for (name, raw) in self.rules {
            let at = format!("[policy.rules.{name}]");
            if raw.when.is_empty() {
                return Err(format!(
                    "{at} when is empty: name the classifications it matches"
                ));
            }
            for tenant in &raw.tenants {
                if !tenants.contains(&tenant.as_str()) {
                    return Err(format!(
                        "{at} tenants: \"{tenant}\" is not a configured tenant"
                    ));
                }
            }
            let action: Action = raw
                .action
                .parse()
                .map_err(|e| format!("{at} action: {e}"))?;
            if action == Action::Restore {
                return Err(format!(
                    "{at} action = \"restore\": a rule pulls; a false positive restores by itself"
                ));
            }
            if raw.depth > MAX_RULE_DEPTH {
                return Err(format!(
                    "{at} depth = {}: at most {MAX_RULE_DEPTH}",
                    raw.depth
                ));
            }
            rules.push(Rule {
                name,
                when: raw
                    .when
                    .iter()
                    .map(|c| c.trim().to_ascii_lowercase())
                    .collect(),
                tenants: raw.tenants,
                sources: raw
                    .sources
                    .iter()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect(),
                action,
                depth: raw.depth,
                mode: raw.mode,
            });
        }
        let mut notify_command = self.notify_command;
        if let Some(program) = notify_command.first_mut() {
            if program.trim().is_empty() {
                return Err("[policy] notify_command: the program is empty".into());
            }
            if program.contains('/') && !program.starts_with('/') {
                *program = base.join(&*program).display().to_string();
            }
        }
        let notify_timeout = match &self.notify_timeout {
            Some(t) => parse_span("[policy] notify_timeout", t)?,
            None => DEFAULT_NOTIFY_TIMEOUT,
        };
        Ok(PolicySettings {
            window,
            max_mailboxes: self.max_mailboxes,
            protect,
            rules,
            notify_command,
            notify_timeout,
        })
    }
}

impl RawApprovals {
    pub(super) fn resolve(self) -> Result<ApprovalSettings, String> {
        if self.required_above == Some(0) {
            return Err(
                "[approvals] required_above = 0: every job would wait; use 1 or more".into(),
            );
        }
        let approver_role = self.approver_role.unwrap_or(Role::Responder);
        if approver_role < Role::Analyst {
            return Err(
                "[approvals] approver_role = \"viewer\": a viewer may not approve a pull".into(),
            );
        }
        Ok(ApprovalSettings {
            required_above: self.required_above,
            hard_delete: self.hard_delete,
            approver_role,
            expire: match &self.expire {
                Some(e) => parse_span("[approvals] expire", e)?,
                None => DEFAULT_EXPIRE,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Result<PolicySettings, String> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.resolve(&["corp"], Path::new("/etc/retractor"))
    }

    #[test]
    fn rules_rails_and_groups_are_checked() {
        let p = policy(
            r#"window = "24h"
               max_mailboxes = 5
               protect = ["CEO@corp.test", "group:vip"]
               groups = { vip = ["cfo@corp.test"] }
               notify_command = ["bin/notify"]
               [rules.phish]
               when = ["Phish"]
               action = "quarantine"
               depth = 1
               mode = "automatic""#,
        )
        .unwrap();
        assert_eq!(p.window, Duration::from_secs(86_400));
        assert_eq!(p.protect, vec!["ceo@corp.test", "cfo@corp.test"]);
        assert_eq!(p.rules[0].when, vec!["phish"]);
        assert_eq!(p.notify_command, vec!["/etc/retractor/bin/notify"]);
        for (bad, says) in [
            ("window = \"2x\"", "window"),
            ("protect = [\"group:none\"]", "group:none"),
            ("protect = [\"nobody\"]", "neither"),
            (
                "[rules.r]\nwhen=[\"phish\"]\naction=\"restore\"\nmode=\"automatic\"",
                "restore",
            ),
            (
                "[rules.r]\nwhen=[\"phish\"]\naction=\"zap\"\nmode=\"automatic\"",
                "unknown action",
            ),
            (
                "[rules.r]\nwhen=[\"phish\"]\ntenants=[\"x\"]\naction=\"trash\"\nmode=\"passive\"",
                "not a configured tenant",
            ),
            (
                "[rules.r]\nwhen=[]\naction=\"trash\"\nmode=\"passive\"",
                "when is empty",
            ),
        ] {
            let err = policy(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
