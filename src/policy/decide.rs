//! The verdict on one alert, pure: the rule, the rails and the facts gathered in, what to do
//! out. Everything that reads a store or a mailbox happens before (in `act`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rails::Rail;
use crate::config::{Mode, PolicySettings, Rule};

/// What the plan of a matched alert would reach, and what was left out of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the message was delivered (the log's time).
    pub delivered_at: Option<DateTime<Utc>>,
    /// Copies the plan would act on.
    pub copies: usize,
    /// Mailboxes the plan would act on.
    pub mailboxes: u64,
    /// Mailboxes left out because they are protected.
    pub protected: usize,
    /// Mailboxes left out because an equal or stronger action already pulled their copy.
    pub already_acted: usize,
    /// Mailboxes left out because they are the quarantine or abuse mailbox.
    pub reserved: usize,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pull now: a job.
    Pull,
    /// An approval request; `rail` is why when the rule alone would have pulled.
    Ask { rail: Option<Rail> },
    /// Nothing acts; `outcome` names why (`passive`, `no-action`, `disabled`).
    Record {
        outcome: &'static str,
        rail: Option<Rail>,
    },
}

/// The verdict of `rule` on a matched alert whose plan has the `facts`, at `now`.
pub fn verdict(rule: &Rule, rails: &PolicySettings, facts: &Facts, now: DateTime<Utc>) -> Verdict {
    match rule.mode {
        Mode::Disabled => {
            return Verdict::Record {
                outcome: "disabled",
                rail: None,
            };
        }
        Mode::Passive => {
            return Verdict::Record {
                outcome: "passive",
                rail: None,
            };
        }
        Mode::Automatic | Mode::Confirmation => {}
    }
    if facts.copies == 0 {
        // Nothing left to act on: say which rail emptied the plan, if one did.
        let rail = if facts.already_acted > 0 {
            Some(Rail::AlreadyActed)
        } else if facts.protected > 0 {
            Some(Rail::Protect)
        } else if facts.reserved > 0 {
            Some(Rail::Reserved)
        } else {
            None
        };
        return Verdict::Record {
            outcome: "no-action",
            rail,
        };
    }
    if rule.mode == Mode::Confirmation {
        return Verdict::Ask { rail: None };
    }
    let age = facts
        .delivered_at
        .map(|at| (now - at).to_std().unwrap_or(Duration::ZERO));
    if age.is_none_or(|age| age > rails.window) {
        return Verdict::Ask {
            rail: Some(Rail::Window),
        };
    }
    if rails.max_mailboxes.is_some_and(|max| facts.mailboxes > max) {
        return Verdict::Ask {
            rail: Some(Rail::MaxMailboxes),
        };
    }
    Verdict::Pull
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Action;

    fn rule(mode: Mode) -> Rule {
        Rule {
            name: "r".into(),
            when: vec!["phish".into()],
            tenants: vec![],
            sources: vec![],
            action: Action::Quarantine,
            depth: 0,
            mode,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn facts(hours_ago: i64, mailboxes: u64) -> Facts {
        Facts {
            delivered_at: Some(now() - chrono::Duration::hours(hours_ago)),
            copies: mailboxes as usize,
            mailboxes,
            ..Facts::default()
        }
    }

    #[test]
    fn rails_win_over_an_automatic_rule() {
        let rails = PolicySettings {
            max_mailboxes: Some(3),
            ..PolicySettings::default()
        };
        let auto = rule(Mode::Automatic);
        assert_eq!(verdict(&auto, &rails, &facts(1, 3), now()), Verdict::Pull);
        assert_eq!(
            verdict(&auto, &rails, &facts(49, 3), now()),
            Verdict::Ask {
                rail: Some(Rail::Window)
            }
        );
        assert_eq!(
            verdict(&auto, &rails, &facts(1, 4), now()),
            Verdict::Ask {
                rail: Some(Rail::MaxMailboxes)
            }
        );
        let emptied = Facts {
            copies: 0,
            mailboxes: 0,
            protected: 1,
            ..facts(1, 0)
        };
        assert_eq!(
            verdict(&auto, &rails, &emptied, now()),
            Verdict::Record {
                outcome: "no-action",
                rail: Some(Rail::Protect)
            }
        );
        let acted = Facts {
            already_acted: 2,
            ..emptied
        };
        assert_eq!(
            verdict(&auto, &rails, &acted, now()),
            Verdict::Record {
                outcome: "no-action",
                rail: Some(Rail::AlreadyActed)
            }
        );
        let reserved = Facts {
            copies: 0,
            mailboxes: 0,
            reserved: 1,
            ..facts(1, 0)
        };
        assert_eq!(
            verdict(&auto, &rails, &reserved, now()),
            Verdict::Record {
                outcome: "no-action",
                rail: Some(Rail::Reserved)
            }
        );
    }

    #[test]
    fn modes_decide_what_a_match_does() {
        let rails = PolicySettings::default();
        let f = facts(1, 2);
        assert_eq!(
            verdict(&rule(Mode::Confirmation), &rails, &f, now()),
            Verdict::Ask { rail: None }
        );
        assert_eq!(
            verdict(&rule(Mode::Passive), &rails, &f, now()),
            Verdict::Record {
                outcome: "passive",
                rail: None
            }
        );
        assert_eq!(
            verdict(&rule(Mode::Disabled), &rails, &f, now()),
            Verdict::Record {
                outcome: "disabled",
                rail: None
            }
        );
    }
}
