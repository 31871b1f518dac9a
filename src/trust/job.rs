//! The signed form of a job: what the service vouches for when it creates one, so a worker
//! can tell a job row someone edited in the store from the job that was authorised.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{KeyRing, PublicKey, Purpose, Rejected, ServiceKey, SignedThing};

/// One mailbox copy a job may act on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobTarget {
    pub tenant: String,
    pub mailbox: String,
    pub message_id: String,
    pub depth: u32,
}

/// Everything about a job that decides what it does and in whose name. Approvals are an empty
/// list until four-eyes approvals exist; they are in the signed form already so that adding
/// them does not change what older signatures cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedJob {
    pub id: i64,
    pub kind: String,
    pub action: String,
    pub initiated_by: String,
    pub restores_job: Option<i64>,
    /// Sorted and without repeats, so the same job always has the same bytes.
    pub targets: Vec<JobTarget>,
    pub approvals: Vec<String>,
}

impl SignedJob {
    /// The form with its targets put in canonical order.
    pub fn new(
        id: i64,
        kind: &str,
        action: &str,
        initiated_by: &str,
        restores_job: Option<i64>,
        mut targets: Vec<JobTarget>,
    ) -> SignedJob {
        targets.sort();
        targets.dedup();
        SignedJob {
            id,
            kind: kind.to_string(),
            action: action.to_string(),
            initiated_by: initiated_by.to_string(),
            restores_job,
            targets,
            approvals: Vec::new(),
        }
    }

    /// The exact bytes signed: the form as JSON (field order fixed by the struct).
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored text back; `None` if it is not a signed job form.
    pub fn from_text(text: &str) -> Option<SignedJob> {
        serde_json::from_str(text).ok()
    }

    /// The service's signature over this form.
    pub fn sign(&self, key: &ServiceKey) -> String {
        key.sign(Purpose::Job, self.to_text().as_bytes())
    }

    /// Whether `signature` is `key`'s over exactly `text` (the stored form, byte for byte).
    pub fn verifies(text: &str, signature: &str, key: &PublicKey) -> bool {
        key.verify(Purpose::Job, text.as_bytes(), signature)
    }

    /// The key of `ring` that made `signature` over exactly `text`, the stored form of job
    /// `id`, if one may have.
    pub fn signer<'r>(
        text: &str,
        signature: &str,
        ring: &'r KeyRing,
        id: i64,
    ) -> Result<&'r PublicKey, Rejected> {
        ring.signer(
            Purpose::Job,
            text.as_bytes(),
            signature,
            SignedThing::Job(id),
        )
    }

    /// How `now` (the job as its rows read today) differs from this signed form, in words
    /// naming each field; empty when they agree.
    pub fn differences(&self, now: &SignedJob) -> Vec<String> {
        let mut found = Vec::new();
        let mut field = |name: &str, signed: String, stored: String| {
            if signed != stored {
                found.push(format!("{name} is {stored:?} but was signed as {signed:?}"));
            }
        };
        field("id", self.id.to_string(), now.id.to_string());
        field("kind", self.kind.clone(), now.kind.clone());
        field("action", self.action.clone(), now.action.clone());
        field(
            "initiated_by",
            self.initiated_by.clone(),
            now.initiated_by.clone(),
        );
        field(
            "restores_job",
            format!("{:?}", self.restores_job),
            format!("{:?}", now.restores_job),
        );
        // Sets, not `contains` on the lists: a 30,000-target job compared list against list
        // kept each worker busy for minutes before its first item.
        let signed: BTreeSet<&JobTarget> = self.targets.iter().collect();
        let stored: BTreeSet<&JobTarget> = now.targets.iter().collect();
        for t in now.targets.iter().filter(|t| !signed.contains(t)) {
            found.push(format!(
                "target {} {} {} (depth {}) is not one of the signed targets",
                t.tenant, t.mailbox, t.message_id, t.depth
            ));
        }
        for t in self.targets.iter().filter(|t| !stored.contains(t)) {
            found.push(format!(
                "signed target {} {} {} (depth {}) is gone",
                t.tenant, t.mailbox, t.message_id, t.depth
            ));
        }
        if self.approvals != now.approvals {
            found.push("approvals differ from the signed ones".into());
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mailbox: &str) -> JobTarget {
        JobTarget {
            tenant: "t".into(),
            mailbox: mailbox.into(),
            message_id: "<m@x>".into(),
            depth: 0,
        }
    }

    #[test]
    fn a_signed_form_verifies_and_an_edit_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServiceKey::load_or_create(dir.path()).unwrap();
        let job = SignedJob::new(
            7,
            "retract",
            "quarantine",
            "alice",
            None,
            vec![target("b@x"), target("a@x")],
        );
        let text = job.to_text();
        let sig = job.sign(&key);
        assert!(SignedJob::verifies(&text, &sig, &key.public()));
        assert!(!SignedJob::verifies(
            &text.replace("alice", "mallory"),
            &sig,
            &key.public()
        ));
        let mut edited = job.clone();
        edited.initiated_by = "mallory".into();
        edited.targets.push(target("c@x"));
        let found = job.differences(&edited);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("initiated_by is \"mallory\""),
            "{found:?}"
        );
        assert!(found[1].contains("c@x"), "{found:?}");
        assert!(job.differences(&job.clone()).is_empty());
    }
}
