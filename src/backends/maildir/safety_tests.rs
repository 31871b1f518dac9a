//! The backend against trees whose owners plant links and FIFOs between a locate and an
//! act, run as root: the act is refused as an unsafe layout, nothing outside is touched,
//! nothing blocks.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::time::Duration;

use tempfile::TempDir;

use super::MaildirBackend;
use crate::backends::{Backend, BackendError, Destination, ErrorKind, MailboxRef};
use crate::config::{MaildirFolders, MaildirSettings};
use crate::model::{Action, Location};

const QUARANTINE: &str = "quarantine@demo.test";

fn tree() -> (TempDir, MaildirBackend) {
    let dir = tempfile::tempdir().unwrap();
    let settings = MaildirSettings {
        root: dir.path().to_path_buf(),
        folders: MaildirFolders::default(),
    };
    let backend = MaildirBackend::new(settings, Some(QUARANTINE.into()), true);
    (dir, backend)
}

fn mailbox(address: &str) -> MailboxRef {
    MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

fn deliver(root: &Path, user: &str, name: &str, id: &str) {
    let dir = root.join("demo.test").join(user);
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let text = format!("Message-ID: <{id}>\r\nX-Owner: {user}\r\nSubject: hi\r\n\r\nbody\r\n");
    fs::write(dir.join("cur").join(name), text).unwrap();
}

fn assert_unsafe(result: Result<impl std::fmt::Debug, BackendError>, rel: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{}", err.detail);
    assert!(!err.retryable());
    assert!(
        err.detail.contains("unsafe layout") && err.detail.contains(rel),
        "{}",
        err.detail
    );
}

async fn within<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), work)
        .await
        .expect("the backend blocked")
}

#[tokio::test]
async fn a_message_swapped_for_a_link_after_locate_is_refused_and_its_target_untouched() {
    let (dir, backend) = tree();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    fs::write(&secret, "Message-ID: <m@x>\r\n\r\nsecret").unwrap();
    deliver(dir.path(), "alice", "1.M1.h:2,S", "m@x");
    let alice = mailbox("alice@demo.test");
    let copy = backend.locate(&alice, "m@x").await.unwrap().remove(0);
    let file = dir.path().join("demo.test/alice/cur/1.M1.h:2,S");
    fs::remove_file(&file).unwrap();
    symlink(&secret, &file).unwrap();

    let rel = "demo.test/alice/cur/1.M1.h:2,S";
    assert_unsafe(backend.fetch_raw(&alice, &copy).await, rel);
    for action in [Action::MoveToJunk, Action::Quarantine, Action::HardDelete] {
        assert_unsafe(backend.apply(&alice, &copy, action).await, rel);
    }

    assert!(file.is_symlink());
    assert_eq!(
        fs::read_to_string(&secret).unwrap(),
        "Message-ID: <m@x>\r\n\r\nsecret"
    );
    assert!(!dir.path().join("demo.test/quarantine").exists());
}

#[tokio::test]
async fn a_message_swapped_for_a_fifo_after_locate_never_blocks() {
    let (dir, backend) = tree();
    deliver(dir.path(), "alice", "1.M1.h:2,S", "m@x");
    let alice = mailbox("alice@demo.test");
    let copy = backend.locate(&alice, "m@x").await.unwrap().remove(0);
    let file = dir.path().join("demo.test/alice/cur/1.M1.h:2,S");
    fs::remove_file(&file).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &file,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();

    let rel = "demo.test/alice/cur/1.M1.h:2,S";
    assert_unsafe(within(backend.fetch_raw(&alice, &copy)).await, rel);
    for action in [Action::Trash, Action::Quarantine, Action::HardDelete] {
        assert_unsafe(within(backend.apply(&alice, &copy, action)).await, rel);
    }
    let all = crate::backends::ScanFilter::default();
    assert!(within(backend.scan(&alice, &all)).await.unwrap().is_empty());
    assert!(
        within(backend.locate(&alice, "m@x"))
            .await
            .unwrap()
            .is_empty()
    );
    let report = within(backend.check()).await;
    assert!(
        report
            .detail
            .contains("unsafe layout demo.test/alice/cur/1.M1.h:2,S: is a FIFO"),
        "{}",
        report.detail
    );
}

#[tokio::test]
async fn a_linked_domain_or_mailbox_is_refused_not_followed() {
    let (dir, backend) = tree();
    let outside = tempfile::tempdir().unwrap();
    deliver(outside.path(), "eve", "1.M1.h:2,S", "m@x");
    symlink(
        outside.path().join("demo.test"),
        dir.path().join("evil.test"),
    )
    .unwrap();
    deliver(dir.path(), "bob", "2.M2.h:2,S", "m@x");
    symlink(
        dir.path().join("demo.test/bob"),
        dir.path().join("demo.test/mallory"),
    )
    .unwrap();

    assert_unsafe(
        backend.locate(&mailbox("eve@evil.test"), "m@x").await,
        "evil.test is a symbolic link",
    );
    assert_unsafe(
        backend.locate(&mailbox("mallory@demo.test"), "m@x").await,
        "demo.test/mallory is a symbolic link",
    );
    assert_eq!(
        backend.list_mailboxes().await.unwrap(),
        vec!["bob@demo.test"]
    );
    let copy = Location {
        folder: "INBOX".into(),
        provider_id: "cur/2.M2.h:2,S".into(),
        seen: true,
        flags: "S".into(),
        internal_date: None,
        ..Location::default()
    };
    assert_unsafe(
        backend
            .apply(&mailbox("mallory@demo.test"), &copy, Action::HardDelete)
            .await,
        "demo.test/mallory",
    );
    assert!(dir.path().join("demo.test/bob/cur/2.M2.h:2,S").is_file());
    assert!(
        outside
            .path()
            .join("demo.test/eve/cur/1.M1.h:2,S")
            .is_file()
    );
}

#[tokio::test]
async fn recipients_whose_names_used_to_collide_get_their_own_quarantine_folders() {
    let (dir, backend) = tree();
    let dotted = mailbox("helen.cho@demo.test");
    let underscored = mailbox("helen_cho@demo.test");
    deliver(dir.path(), "helen.cho", "1.M1.h:2,S", "m@x");
    deliver(dir.path(), "helen_cho", "2.M2.h:2,S", "m@x");
    let quarantine_folder = |d: Destination| d.folder().map(str::to_string).unwrap();
    let dotted_folder = quarantine_folder(
        backend
            .destination(&dotted, Action::Quarantine)
            .await
            .unwrap(),
    );
    let underscored_folder = quarantine_folder(
        backend
            .destination(&underscored, Action::Quarantine)
            .await
            .unwrap(),
    );
    assert_ne!(dotted_folder, underscored_folder);

    for who in [&dotted, &underscored] {
        let copy = backend.locate(who, "m@x").await.unwrap().remove(0);
        backend.apply(who, &copy, Action::Quarantine).await.unwrap();
    }

    let held = backend.locate(&mailbox(QUARANTINE), "m@x").await.unwrap();
    assert_eq!(held.len(), 2);
    for (who, folder) in [
        ("helen.cho", &dotted_folder),
        ("helen_cho", &underscored_folder),
    ] {
        let mine: Vec<&Location> = held.iter().filter(|l| &l.folder == folder).collect();
        assert_eq!(mine.len(), 1, "{folder}: {held:?}");
        let path = dir
            .path()
            .join("demo.test/quarantine")
            .join(&mine[0].provider_id);
        let text = fs::read_to_string(path).unwrap();
        assert!(text.contains(&format!("X-Owner: {who}\r\n")), "{text}");
    }
}

#[tokio::test]
async fn what_an_act_creates_belongs_to_the_mailbox_owner_and_links_are_never_chowned() {
    let (dir, backend) = tree();
    deliver(dir.path(), "alice", "1.M1.h:2,S", "m@x");
    let alice_dir = dir.path().join("demo.test/alice");
    // A mail user's uid; root may give any.
    let (uid, gid) = (4242, 4243);
    std::os::unix::fs::chown(&alice_dir, Some(uid), Some(gid)).unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir_all(alice_dir.join(".Trash")).unwrap();
    symlink(outside.path(), alice_dir.join(".Trash/cur")).unwrap();
    let alice = mailbox("alice@demo.test");
    let copy = backend.locate(&alice, "m@x").await.unwrap().remove(0);

    assert_unsafe(
        backend.apply(&alice, &copy, Action::Trash).await,
        "demo.test/alice/.Trash/cur",
    );
    let outside_owner = fs::metadata(outside.path()).unwrap();
    assert_eq!((outside_owner.uid(), outside_owner.gid()), (0, 0));

    let moved = backend
        .apply(&alice, &copy, Action::MoveToJunk)
        .await
        .unwrap();
    assert_eq!(moved.to.unwrap().folder, "Junk");
    for rel in [
        ".Junk",
        ".Junk/cur",
        ".Junk/new",
        ".Junk/tmp",
        ".Junk/maildirfolder",
    ] {
        let meta = fs::symlink_metadata(alice_dir.join(rel)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{rel}");
    }
}
