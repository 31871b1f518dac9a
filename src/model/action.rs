use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a remediation does to each copy of a message (DESIGN.md, "Actions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    MoveToJunk,
    Trash,
    SoftDelete,
    Quarantine,
    HardDelete,
    /// Puts a pulled copy back where it was.
    Restore,
}

impl Action {
    /// The actions a user can choose for a retraction or sweep, in escalating order.
    pub const REMEDIATIONS: [Action; 5] = [
        Action::MoveToJunk,
        Action::Trash,
        Action::SoftDelete,
        Action::Quarantine,
        Action::HardDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::MoveToJunk => "move-to-junk",
            Action::Trash => "trash",
            Action::SoftDelete => "soft-delete",
            Action::Quarantine => "quarantine",
            Action::HardDelete => "hard-delete",
            Action::Restore => "restore",
        }
    }

    /// The least role allowed to run this action (DESIGN.md RBAC).
    pub fn required_role(self) -> Role {
        match self {
            Action::MoveToJunk | Action::Trash | Action::Quarantine | Action::Restore => {
                Role::Analyst
            }
            Action::SoftDelete | Action::HardDelete => Role::Responder,
        }
    }

    /// Whether the action can be undone by `restore`.
    pub fn reversible(self) -> bool {
        !matches!(self, Action::HardDelete | Action::Restore)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Action::MoveToJunk,
            Action::Trash,
            Action::SoftDelete,
            Action::Quarantine,
            Action::HardDelete,
            Action::Restore,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown action '{s}': expected one of move-to-junk, trash, soft-delete, quarantine, hard-delete"
            )
        })
    }
}

/// Roles in escalating order; each includes everything the ones before it may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Analyst,
    Responder,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// Sweeps search every mailbox of a tenant, so they need a responder.
    pub fn may_sweep(self) -> bool {
        self >= Role::Responder
    }

    pub fn may(self, action: Action) -> bool {
        self >= action.required_role()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "responder" => Ok(Role::Responder),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role '{s}': expected viewer, analyst, responder or admin"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names() {
        for a in Action::REMEDIATIONS {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("delete".parse::<Action>().is_err());
    }

    #[test]
    fn roles_follow_the_rbac_table() {
        assert!(!Role::Viewer.may(Action::MoveToJunk));
        assert!(Role::Analyst.may(Action::Quarantine));
        assert!(Role::Analyst.may(Action::Restore));
        assert!(!Role::Analyst.may(Action::SoftDelete));
        assert!(!Role::Analyst.may(Action::HardDelete));
        assert!(Role::Responder.may(Action::HardDelete));
        assert!(!Role::Analyst.may_sweep());
        assert!(Role::Admin.may_sweep());
    }
}
