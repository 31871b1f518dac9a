//! Which rule an alert falls under: the first, in name order, whose classifications,
//! tenants and sources all admit it.

use crate::config::Rule;
use crate::model::Alert;

/// The rule deciding `alert`, if any. `tenant` is the alert's tenant as resolved (the
/// alert's own, else the logged message's).
pub fn matching<'r>(rules: &'r [Rule], alert: &Alert, tenant: Option<&str>) -> Option<&'r Rule> {
    rules.iter().find(|rule| {
        rule.when.contains(&alert.classification)
            && (rule.tenants.is_empty()
                || tenant.is_some_and(|t| rule.tenants.iter().any(|r| r == t)))
            && (rule.sources.is_empty() || rule.sources.contains(&alert.source))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use crate::model::{Action, AlertStatus};

    fn rule(name: &str, when: &[&str], tenants: &[&str], sources: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            when: when.iter().map(|s| s.to_string()).collect(),
            tenants: tenants.iter().map(|s| s.to_string()).collect(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            action: Action::Quarantine,
            depth: 0,
            mode: Mode::Automatic,
        }
    }

    fn alert(classification: &str, source: &str) -> Alert {
        Alert {
            id: "1".into(),
            source: source.into(),
            message_id: "<m@x>".into(),
            classification: classification.into(),
            status: AlertStatus::Active,
            tenant: None,
            recipients: vec![],
            detected_at: None,
            threat_url: None,
            details: None,
        }
    }

    #[test]
    fn the_first_admitting_rule_decides() {
        let rules = [
            rule("a-tap-only", &["phish"], &[], &["tap"]),
            rule("b-corp", &["phish", "malware"], &["corp"], &[]),
            rule("c-any", &["spam"], &[], &[]),
        ];
        let name = |a: &Alert, t: Option<&str>| matching(&rules, a, t).map(|r| r.name.as_str());
        assert_eq!(name(&alert("phish", "tap"), None), Some("a-tap-only"));
        assert_eq!(name(&alert("phish", "soar"), Some("corp")), Some("b-corp"));
        assert_eq!(name(&alert("phish", "soar"), Some("other")), None);
        assert_eq!(name(&alert("phish", "soar"), None), None);
        assert_eq!(name(&alert("spam", "x"), None), Some("c-any"));
        assert_eq!(name(&alert("bulk", "x"), None), None);
    }
}
