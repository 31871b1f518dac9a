//! Where a Maildir copy stands, asked of the backend with the copies its own locate and scan
//! return, and the typed handle those copies carry.

use std::fs;

use super::MaildirBackend;
use super::layout::MessagePath;
use crate::backends::{Backend, ErrorKind, MailboxRef, ScanFilter, Standing};
use crate::config::{MaildirFolders, MaildirSettings};
use crate::model::{Action, Location};

fn tree() -> (tempfile::TempDir, MaildirBackend) {
    let dir = tempfile::tempdir().unwrap();
    let settings = MaildirSettings {
        root: dir.path().to_path_buf(),
        folders: MaildirFolders::default(),
    };
    let backend = MaildirBackend::new(settings, Some("q@demo.test".into()), true);
    for (folder, name) in [
        ("", "1.M1.h:2,S"),
        (".Junk/", "2.M2.h:2,S"),
        (".Retractor-Deleted/", "3.M3.h:2,S"),
        (".Retractor-Held/", "4.M4.h:2,S"),
    ] {
        let path = dir
            .path()
            .join(format!("demo.test/alice/{folder}cur/{name}"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "Message-ID: <m@x>\r\nSubject: s\r\n\r\nbody\r\n").unwrap();
    }
    (dir, backend)
}

fn alice(on_hold: bool) -> MailboxRef {
    MailboxRef {
        address: "alice@demo.test".into(),
        on_hold,
    }
}

#[tokio::test]
async fn located_and_scanned_copies_stand_where_their_folder_says() {
    let (_dir, backend) = tree();
    let located = backend.locate(&alice(false), "m@x").await.unwrap();
    let scanned = backend
        .scan(&alice(false), &ScanFilter::default())
        .await
        .unwrap();
    let scanned: Vec<Location> = scanned.into_iter().map(|h| h.location).collect();
    assert_eq!(located.len(), 4);
    for copies in [&located, &scanned] {
        let standing = |folder: &str, mailbox: MailboxRef, action| {
            let copy = copies.iter().find(|l| l.folder == folder).unwrap().clone();
            let backend = &backend;
            async move { backend.standing(&mailbox, &copy, action).await.unwrap() }
        };
        use Standing::*;
        for (folder, action, held, expected) in [
            ("INBOX", Action::MoveToJunk, false, InView),
            ("Junk", Action::MoveToJunk, false, AtDestination),
            ("Junk", Action::Trash, false, InView),
            ("Retractor-Deleted", Action::MoveToJunk, false, OutOfView),
            (
                "Retractor-Deleted",
                Action::SoftDelete,
                false,
                AtDestination,
            ),
            // A hard-delete acts on a soft-deleted copy, never on a held one.
            ("Retractor-Deleted", Action::HardDelete, false, InView),
            ("Retractor-Held", Action::HardDelete, false, OutOfView),
            ("Retractor-Held", Action::HardDelete, true, AtDestination),
            ("INBOX", Action::Quarantine, false, InView),
        ] {
            assert_eq!(
                standing(folder, alice(held), action).await,
                expected,
                "{folder} {action} held={held}"
            );
        }
    }
}

#[tokio::test]
async fn copy_handles_round_trip_and_a_bad_one_is_refused_by_name() {
    let (_dir, backend) = tree();
    for copy in backend.locate(&alice(false), "m@x").await.unwrap() {
        let handle = MessagePath::of(&copy).unwrap();
        assert_eq!(handle.provider_id(), copy.provider_id);
        assert_eq!(handle.folder, copy.folder);
    }
    for bad in [
        "../bob/cur/1.M1.h:2,S",
        "7:42",
        "AAMkAD-x_y=",
        "",
        "cur/../x",
    ] {
        let stored = Location {
            folder: "INBOX".into(),
            provider_id: bad.into(),
            ..Location::default()
        };
        let e = backend
            .standing(&alice(false), &stored, Action::MoveToJunk)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid, "{bad}");
        assert!(
            e.detail.contains(&format!("'{bad}'")),
            "{bad}: {}",
            e.detail
        );
    }
}
