//! Where an action puts a mailbox's copies and where a located copy stands, answered from
//! the server: the Junk and Trash a mailbox marks special-use, and the personal namespace the
//! admin folders live under, are read with a LIST when not known yet. What an earlier locate
//! learnt saves that round trip; it is never needed for the answer to be right.

use super::{ImapBackend, SpecialUse, ops};
use crate::backends::common::folder_names::quarantine_folder;
use crate::backends::{BackendError, Destination, MailboxRef, Standing};
use crate::model::{Action, Location};

impl ImapBackend {
    /// The special-use folders of `user`, listed on the server unless a LIST of this mailbox
    /// has already been read (which also learns the namespace and the separator).
    async fn special_use(&self, user: &str) -> Result<SpecialUse, BackendError> {
        if let Some(known) = self.known_special_use(user) {
            return Ok(known);
        }
        let mut s = self.session(user).await?;
        let result = self.folders(&mut s.conn).await.map(|_| ());
        self.release(s, &result);
        result?;
        Ok(self.known_special_use(user).unwrap_or_default())
    }

    fn known_special_use(&self, user: &str) -> Option<SpecialUse> {
        self.special
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
    }

    /// See [`crate::backends::Backend::destination`].
    pub(super) async fn destination_of(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        let f = &self.settings.folders;
        let stays = |folder: String| Ok(Destination::Folder(folder));
        match action {
            Action::HardDelete if !mailbox.on_hold => return Ok(Destination::Gone),
            Action::Restore => return Ok(Destination::Gone),
            Action::Quarantine if self.quarantine_mailbox.is_none() => {
                return Ok(Destination::Gone);
            }
            _ => {}
        }
        let special = self.special_use(&mailbox.address).await?;
        match action {
            Action::MoveToJunk => stays(special.junk.unwrap_or_else(|| self.personal(&f.junk))),
            Action::Trash => stays(special.trash.unwrap_or_else(|| self.personal(&f.trash))),
            Action::SoftDelete => stays(self.personal(&f.soft_delete)),
            Action::HardDelete => stays(self.personal(&f.hold)),
            Action::Quarantine => Ok(self.quarantine_place(mailbox)),
            Action::Restore => Ok(Destination::Gone),
        }
    }

    /// The quarantine mailbox and this recipient's folder in it, once the namespace is known.
    fn quarantine_place(&self, mailbox: &MailboxRef) -> Destination {
        let Some(holder) = self.quarantine_mailbox.clone() else {
            return Destination::Gone;
        };
        let parent = self.personal(&self.settings.folders.quarantine);
        let folder = if self.quarantine_per_recipient {
            quarantine_folder(&parent, &self.separator(), &mailbox.address)
        } else {
            parent
        };
        Destination::Mailbox {
            mailbox: holder,
            folder,
        }
    }

    /// See [`crate::backends::Backend::standing`].
    pub(super) async fn standing_of(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        ops::ImapCopy::of(copy)?;
        let destination = self.destination_of(mailbox, action).await?;
        // The admin folders sit under the namespace `destination_of` has made sure of.
        let f = &self.settings.folders;
        Ok(Standing::by_folder(
            &copy.folder,
            action,
            &destination,
            Some(&self.personal(&f.soft_delete)),
            Some(&self.personal(&f.hold)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::backend;
    use super::*;

    fn alice() -> MailboxRef {
        MailboxRef {
            address: "alice@corp.test".into(),
            on_hold: false,
        }
    }

    fn copy_in(folder: &str) -> Location {
        ops::location(folder, 1, 1, &[], None)
    }

    fn known(b: &ImapBackend, junk: Option<&str>) {
        b.special.lock().unwrap().insert(
            alice().address,
            SpecialUse {
                junk: junk.map(str::to_string),
                trash: None,
            },
        );
    }

    #[tokio::test]
    async fn destinations_use_special_use_names_when_known() {
        let b = backend(true);
        known(&b, None);
        let junk = b
            .destination_of(&alice(), Action::MoveToJunk)
            .await
            .unwrap();
        assert_eq!(junk, Destination::Folder("Junk".into()));
        known(&b, Some("Spam"));
        let spam = b
            .destination_of(&alice(), Action::MoveToJunk)
            .await
            .unwrap();
        assert_eq!(spam, Destination::Folder("Spam".into()));
        let deleted = b
            .destination_of(&alice(), Action::HardDelete)
            .await
            .unwrap();
        assert_eq!(deleted, Destination::Gone);
        let held = MailboxRef {
            on_hold: true,
            ..alice()
        };
        let hold = b.destination_of(&held, Action::HardDelete).await.unwrap();
        assert_eq!(hold, Destination::Folder("Retractor-Held".into()));
        assert_eq!(
            b.destination_of(&alice(), Action::Quarantine)
                .await
                .unwrap(),
            Destination::Mailbox {
                mailbox: "q@corp.test".into(),
                folder: "Quarantine/alice@corp=2Etest".into()
            }
        );
        assert!(b.is_admin_folder("Quarantine/alice@corp=2Etest"));
        assert!(!b.is_admin_folder("QuarantineX"));
        let shared = backend(false);
        known(&shared, None);
        assert_eq!(
            shared
                .destination_of(&alice(), Action::Quarantine)
                .await
                .unwrap(),
            Destination::Mailbox {
                mailbox: "q@corp.test".into(),
                folder: "Quarantine".into()
            }
        );
    }

    #[tokio::test]
    async fn standing_follows_the_special_use_folder_and_the_admin_folders() {
        let b = backend(true);
        known(&b, Some("Spam"));
        let standing = |folder: &'static str, action| {
            let b = &b;
            async move {
                b.standing_of(&alice(), &copy_in(folder), action)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            standing("Spam", Action::MoveToJunk).await,
            Standing::AtDestination
        );
        // A folder merely named like the configured Junk is not where this mailbox's junk goes.
        assert_eq!(standing("Junk", Action::MoveToJunk).await, Standing::InView);
        assert_eq!(
            standing("Retractor-Deleted", Action::MoveToJunk).await,
            Standing::OutOfView
        );
        assert_eq!(
            standing("Retractor-Deleted", Action::HardDelete).await,
            Standing::InView
        );
        assert_eq!(
            standing("INBOX", Action::Quarantine).await,
            Standing::InView
        );
    }

    #[tokio::test]
    async fn a_fresh_backend_asks_the_server_rather_than_guess() {
        // Nothing learnt yet: the answer needs a LIST, and this server is unreachable, so the
        // answer is the connection's error, never the configured name as a guess.
        let b = backend(true);
        let e = b
            .destination_of(&alice(), Action::MoveToJunk)
            .await
            .unwrap_err();
        assert_ne!(e.kind, crate::backends::ErrorKind::Internal, "{e}");
        // What needs no server is answered without one.
        assert_eq!(
            b.destination_of(&alice(), Action::HardDelete)
                .await
                .unwrap(),
            Destination::Gone
        );
    }

    #[tokio::test]
    async fn a_bad_stored_handle_is_refused_by_name() {
        let b = backend(true);
        known(&b, None);
        let stored = Location {
            provider_id: "cur/1.M1.h:2,S".into(),
            ..copy_in("INBOX")
        };
        let e = b
            .standing_of(&alice(), &stored, Action::MoveToJunk)
            .await
            .unwrap_err();
        assert_eq!(e.kind, crate::backends::ErrorKind::Invalid);
        assert!(e.detail.contains("cur/1.M1.h:2,S"), "{e}");
    }
}
