//! The backend against small Maildir trees built in temporary directories.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use filetime::FileTime;
use tempfile::TempDir;

use super::MaildirBackend;
use crate::backends::{Backend, Destination, ErrorKind, MailboxRef, ScanFilter, Standing};
use crate::config::{MaildirFolders, MaildirSettings};
use crate::model::{Action, Location};

mod scans;

const QUARANTINE: &str = "quarantine@demo.test";

struct Fixture {
    dir: TempDir,
    backend: MaildirBackend,
}

impl Fixture {
    fn new() -> Self {
        Self::with_quarantine(Some(QUARANTINE.to_string()))
    }

    fn with_quarantine(quarantine: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = MaildirSettings {
            root: dir.path().to_path_buf(),
            folders: MaildirFolders::default(),
        };
        let backend = MaildirBackend::new(settings, quarantine, true);
        let fixture = Fixture { dir, backend };
        fixture.mkdirs("demo.test/alice", &["cur", "new", "tmp"]);
        fixture
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn mkdirs(&self, base: &str, subs: &[&str]) {
        for sub in subs {
            fs::create_dir_all(self.root().join(base).join(sub)).unwrap();
        }
    }

    /// Write a message at `rel` (relative to the root) with mtime `secs`.
    fn put(&self, rel: &str, content: &str, secs: i64) -> PathBuf {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        filetime::set_file_mtime(&path, FileTime::from_unix_time(secs, 0)).unwrap();
        path
    }
}

fn alice() -> MailboxRef {
    MailboxRef {
        address: "alice@demo.test".into(),
        on_hold: false,
    }
}

fn message(id: &str, extra: &str) -> String {
    format!("Message-ID: <{id}>\r\nFrom: x@evil.test\r\nSubject: hi\r\n{extra}\r\nbody\r\n")
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

fn mtime_secs(path: &Path) -> i64 {
    FileTime::from_last_modification_time(&fs::metadata(path).unwrap()).unix_seconds()
}

fn sorted_ids(locations: &[Location]) -> Vec<String> {
    let mut ids: Vec<String> = locations.iter().map(|l| l.provider_id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn locate_finds_exact_matches_in_every_folder_only() {
    let f = Fixture::new();
    let id = "abc@x.test";
    f.put(
        "demo.test/alice/new/1.M1.h",
        &message(id, ""),
        1_700_000_001,
    );
    f.put(
        "demo.test/alice/.Junk/cur/2.M2.h:2,S",
        &message(id, ""),
        1_700_000_002,
    );
    f.put(
        "demo.test/alice/.Retractor-Deleted/cur/3.M3.h:2,FS",
        &message(id, ""),
        1_700_000_003,
    );
    f.put(
        "demo.test/alice/.Retractor-Held/new/4.M4.h",
        &message(id, ""),
        1_700_000_004,
    );
    // Ids that contain the wanted one, or that it contains, are other messages.
    f.put(
        "demo.test/alice/cur/5.M5.h:2,S",
        &message("abc@x.test.evil", ""),
        1,
    );
    f.put(
        "demo.test/alice/cur/6.M6.h:2,S",
        &message("zabc@x.test", ""),
        1,
    );
    f.put(
        "demo.test/alice/cur/7.M7.h:2,S",
        &message("bc@x.test", ""),
        1,
    );
    f.put(
        "demo.test/alice/cur/8.M8.h:2,",
        "Subject: no id\r\n\r\nabc@x.test\r\n",
        1,
    );

    let found = f.backend.locate(&alice(), id).await.unwrap();

    assert_eq!(
        sorted_ids(&found),
        vec![
            ".Junk/cur/2.M2.h:2,S",
            ".Retractor-Deleted/cur/3.M3.h:2,FS",
            ".Retractor-Held/new/4.M4.h",
            "new/1.M1.h",
        ]
    );
    let junk = found.iter().find(|l| l.folder == "Junk").unwrap();
    assert!(junk.seen);
    assert_eq!(junk.flags, "S");
    assert_eq!(junk.internal_date, at(1_700_000_002));
    let inbox = found.iter().find(|l| l.folder == "INBOX").unwrap();
    assert!(!inbox.seen);
    assert_eq!(inbox.flags, "");
    let deleted = found
        .iter()
        .find(|l| l.folder == "Retractor-Deleted")
        .unwrap();
    assert_eq!(deleted.flags, "FS");
    // With brackets the same copies are found.
    assert_eq!(
        f.backend
            .locate(&alice(), "<abc@x.test>")
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn locate_in_a_missing_mailbox_says_so() {
    let f = Fixture::new();
    let nobody = MailboxRef {
        address: "nobody@demo.test".into(),
        on_hold: false,
    };
    let err = f.backend.locate(&nobody, "a@b").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoSuchMailbox);
}

#[tokio::test]
async fn a_missing_root_is_unavailable_not_a_missing_mailbox() {
    let f = Fixture::new();
    let settings = MaildirSettings {
        root: f.root().join("unmounted"),
        folders: MaildirFolders::default(),
    };
    let backend = MaildirBackend::new(settings, None, true);
    let err = backend.locate(&alice(), "a@b").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(!backend.check().await.ok);
}

#[tokio::test]
async fn moves_keep_subdir_name_and_mtime() {
    for (action, folder) in [
        (Action::MoveToJunk, "Junk"),
        (Action::Trash, "Trash"),
        (Action::SoftDelete, "Retractor-Deleted"),
    ] {
        let f = Fixture::new();
        let name = "1700000000.M1P2.host,S=40:2,RS";
        let src = f.put(
            &format!("demo.test/alice/cur/{name}"),
            &message("m@x", ""),
            1_700_000_000,
        );
        let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);

        let applied = f.backend.apply(&alice(), &copy, action).await.unwrap();

        let to = applied.to.unwrap();
        assert_eq!(to.folder, folder);
        assert_eq!(to.provider_id, format!(".{folder}/cur/{name}"));
        assert_eq!((to.seen, to.flags.as_str()), (true, "RS"));
        assert_eq!(to.internal_date, at(1_700_000_000));
        assert_eq!(applied.to_mailbox, None);
        assert!(!applied.retained_by_hold);
        let moved = f.root().join("demo.test/alice").join(&to.provider_id);
        assert!(!src.exists());
        assert_eq!(mtime_secs(&moved), 1_700_000_000);
        assert!(
            f.root()
                .join(format!("demo.test/alice/.{folder}/maildirfolder"))
                .is_file()
        );
        assert!(
            f.root()
                .join(format!("demo.test/alice/.{folder}/tmp"))
                .is_dir()
        );
        assert_eq!(
            f.backend.destination(&alice(), action).await.unwrap(),
            Destination::Folder(folder.into())
        );
        assert_eq!(
            f.backend.standing(&alice(), &to, action).await.unwrap(),
            Standing::AtDestination
        );
    }
}

#[tokio::test]
async fn unseen_copies_stay_in_new() {
    let f = Fixture::new();
    f.put("demo.test/alice/new/9.M9.h", &message("n@x", ""), 5);
    let copy = f.backend.locate(&alice(), "n@x").await.unwrap().remove(0);
    let to = f
        .backend
        .apply(&alice(), &copy, Action::MoveToJunk)
        .await
        .unwrap()
        .to
        .unwrap();
    assert_eq!(to.provider_id, ".Junk/new/9.M9.h");
    assert!(f.root().join("demo.test/alice/.Junk/new/9.M9.h").is_file());
}

#[tokio::test]
async fn repeating_a_move_leaves_the_copy_where_it_is() {
    let f = Fixture::new();
    f.put(
        "demo.test/alice/.Junk/cur/1.M1.h:2,S",
        &message("m@x", ""),
        7,
    );
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let applied = f
        .backend
        .apply(&alice(), &copy, Action::MoveToJunk)
        .await
        .unwrap();
    assert_eq!(applied.to.as_ref(), Some(&copy));
    assert!(
        f.root()
            .join("demo.test/alice/.Junk/cur/1.M1.h:2,S")
            .is_file()
    );
}

#[tokio::test]
async fn hard_delete_removes_the_file() {
    let f = Fixture::new();
    let path = f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let raw = f.backend.fetch_raw(&alice(), &copy).await.unwrap();
    assert_eq!(raw, message("m@x", "").into_bytes());

    let applied = f
        .backend
        .apply(&alice(), &copy, Action::HardDelete)
        .await
        .unwrap();

    assert_eq!(applied.to, None);
    assert!(!applied.retained_by_hold);
    assert!(!path.exists());
    assert!(f.backend.locate(&alice(), "m@x").await.unwrap().is_empty());
    assert_eq!(
        f.backend
            .destination(&alice(), Action::HardDelete)
            .await
            .unwrap(),
        Destination::Gone
    );
}

#[tokio::test]
async fn hard_delete_under_hold_moves_to_the_hold_folder() {
    let f = Fixture::new();
    let held = MailboxRef {
        address: "alice@demo.test".into(),
        on_hold: true,
    };
    f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let copy = f.backend.locate(&held, "m@x").await.unwrap().remove(0);

    let applied = f
        .backend
        .apply(&held, &copy, Action::HardDelete)
        .await
        .unwrap();

    assert!(applied.retained_by_hold);
    let to = applied.to.unwrap();
    assert_eq!(to.folder, "Retractor-Held");
    assert_eq!(to.provider_id, ".Retractor-Held/cur/1.M1.h:2,S");
    assert!(
        f.root()
            .join("demo.test/alice/.Retractor-Held/cur/1.M1.h:2,S")
            .is_file()
    );
    assert!(!f.root().join("demo.test/alice/cur/1.M1.h:2,S").exists());
    assert_eq!(
        f.backend
            .destination(&held, Action::HardDelete)
            .await
            .unwrap(),
        Destination::Folder("Retractor-Held".into())
    );
}

#[tokio::test]
async fn quarantine_moves_into_the_recipients_folder_of_the_quarantine_mailbox() {
    let f = Fixture::new();
    f.put(
        "demo.test/alice/cur/1.M1.h:2,S",
        &message("m@x", ""),
        1_700_000_000,
    );
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);

    let applied = f
        .backend
        .apply(&alice(), &copy, Action::Quarantine)
        .await
        .unwrap();

    assert_eq!(applied.to_mailbox.as_deref(), Some(QUARANTINE));
    let to = applied.to.unwrap();
    assert_eq!(to.folder, "Quarantine.alice@demo=2Etest");
    assert_eq!(
        to.provider_id,
        ".Quarantine.alice@demo=2Etest/cur/1.M1.h:2,S"
    );
    let moved = f
        .root()
        .join("demo.test/quarantine/.Quarantine.alice@demo=2Etest/cur/1.M1.h:2,S");
    assert_eq!(mtime_secs(&moved), 1_700_000_000);
    assert!(f.root().join("demo.test/quarantine/cur").is_dir());
    assert!(f.backend.locate(&alice(), "m@x").await.unwrap().is_empty());
    assert_eq!(
        f.backend
            .destination(&alice(), Action::Quarantine)
            .await
            .unwrap(),
        Destination::Mailbox {
            mailbox: QUARANTINE.into(),
            folder: "Quarantine.alice@demo=2Etest".into()
        }
    );
    let quarantine = MailboxRef {
        address: QUARANTINE.into(),
        on_hold: false,
    };
    assert_eq!(
        f.backend.locate(&quarantine, "m@x").await.unwrap(),
        vec![to]
    );
}

#[tokio::test]
async fn quarantine_without_a_quarantine_mailbox_is_refused() {
    let f = Fixture::with_quarantine(None);
    let path = f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let err = f
        .backend
        .apply(&alice(), &copy, Action::Quarantine)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.detail.contains("quarantine_mailbox"), "{}", err.detail);
    assert!(path.exists());
}

#[tokio::test]
async fn acting_on_a_vanished_copy_is_gone() {
    let f = Fixture::new();
    let path = f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    fs::remove_file(path).unwrap();
    for action in [Action::MoveToJunk, Action::Quarantine, Action::HardDelete] {
        let err = f.backend.apply(&alice(), &copy, action).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Gone, "{action}");
    }
    let err = f.backend.fetch_raw(&alice(), &copy).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Gone);
}

#[tokio::test]
async fn provider_ids_outside_the_mailbox_are_refused() {
    let f = Fixture::new();
    let victim = f.put("demo.test/bob/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let forged = Location {
        folder: "INBOX".into(),
        provider_id: "../bob/cur/1.M1.h:2,S".into(),
        seen: true,
        flags: "S".into(),
        internal_date: None,
        ..Location::default()
    };
    let err = f
        .backend
        .apply(&alice(), &forged, Action::HardDelete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(victim.exists());
}

#[tokio::test]
async fn put_back_restores_folder_subdir_flags_and_date_from_quarantine() {
    let f = Fixture::new();
    for (rel, id) in [
        ("demo.test/alice/.Junk/cur/1.M1.h,S=9:2,FS", "seen@x"),
        ("demo.test/alice/new/2.M2.h", "unseen@x"),
    ] {
        f.put(rel, &message(id, ""), 1_700_000_000);
        let original = f.backend.locate(&alice(), id).await.unwrap().remove(0);
        let applied = f
            .backend
            .apply(&alice(), &original, Action::Quarantine)
            .await
            .unwrap();
        let current = applied.to.unwrap();
        // The analyst's tools, or Dovecot, may touch the quarantined file.
        let quarantined = f
            .root()
            .join("demo.test/quarantine")
            .join(&current.provider_id);
        filetime::set_file_mtime(&quarantined, FileTime::from_unix_time(1_800_000_000, 0)).unwrap();

        let restored = f
            .backend
            .put_back(&alice(), QUARANTINE, &current, &original)
            .await
            .unwrap();

        assert_eq!(restored, original);
        assert!(!quarantined.exists());
        assert_eq!(mtime_secs(&f.root().join(rel)), 1_700_000_000);
    }
}

#[tokio::test]
async fn put_back_keeps_subsecond_dates() {
    let f = Fixture::new();
    let path = f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    filetime::set_file_mtime(&path, FileTime::from_unix_time(1_700_000_000, 123_456_789)).unwrap();
    let original = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let current = f
        .backend
        .apply(&alice(), &original, Action::Trash)
        .await
        .unwrap()
        .to
        .unwrap();
    let restored = f
        .backend
        .put_back(&alice(), "alice@demo.test", &current, &original)
        .await
        .unwrap();
    assert_eq!(restored, original);
    let mtime = FileTime::from_last_modification_time(&fs::metadata(&path).unwrap());
    assert_eq!(mtime.nanoseconds(), 123_456_789);
}

#[tokio::test]
async fn put_back_onto_a_taken_name_picks_a_fresh_one_with_the_same_flags() {
    let f = Fixture::new();
    let taken = f.put(
        "demo.test/alice/cur/1.M1.h:2,RS",
        "Subject: another\r\n\r\n",
        5,
    );
    f.put(
        "demo.test/alice/.Trash/cur/1.M1.h:2,RS",
        &message("m@x", ""),
        7,
    );
    let current = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let original = Location {
        folder: "INBOX".into(),
        provider_id: "cur/1.M1.h:2,RS".into(),
        seen: true,
        flags: "RS".into(),
        internal_date: at(1_600_000_000),
        ..Location::default()
    };

    let restored = f
        .backend
        .put_back(&alice(), "alice@demo.test", &current, &original)
        .await
        .unwrap();

    assert_eq!(restored.folder, "INBOX");
    assert_ne!(restored.provider_id, original.provider_id);
    assert!(restored.provider_id.starts_with("cur/") && restored.provider_id.ends_with(":2,RS"));
    assert_eq!((restored.seen, restored.flags.as_str()), (true, "RS"));
    assert_eq!(
        fs::read_to_string(&taken).unwrap(),
        "Subject: another\r\n\r\n"
    );
    let path = f.root().join("demo.test/alice").join(&restored.provider_id);
    assert_eq!(fs::read_to_string(&path).unwrap(), message("m@x", ""));
    assert_eq!(mtime_secs(&path), 1_600_000_000);
}

#[tokio::test]
async fn put_back_of_a_vanished_copy_is_gone() {
    let f = Fixture::new();
    let current = Location {
        folder: "Junk".into(),
        provider_id: ".Junk/cur/1.M1.h:2,S".into(),
        seen: true,
        flags: "S".into(),
        internal_date: None,
        ..Location::default()
    };
    let original = Location {
        folder: "INBOX".into(),
        provider_id: "cur/1.M1.h:2,S".into(),
        ..current.clone()
    };
    let err = f
        .backend
        .put_back(&alice(), "alice@demo.test", &current, &original)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Gone);
}

#[tokio::test]
async fn restore_is_not_an_act_on_a_copy() {
    let f = Fixture::new();
    let path = f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    let copy = f.backend.locate(&alice(), "m@x").await.unwrap().remove(0);
    let err = f
        .backend
        .apply(&alice(), &copy, Action::Restore)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
    assert!(path.exists());
}

#[tokio::test]
async fn quarantine_can_share_one_folder() {
    let f = Fixture::new();
    let settings = MaildirSettings {
        root: f.root().to_path_buf(),
        folders: MaildirFolders::default(),
    };
    let shared = MaildirBackend::new(settings, Some(QUARANTINE.into()), false);
    f.put("demo.test/alice/new/1.M1.h", &message("m@x", ""), 7);
    let copy = shared.locate(&alice(), "m@x").await.unwrap().remove(0);
    let to = shared
        .apply(&alice(), &copy, Action::Quarantine)
        .await
        .unwrap()
        .to
        .unwrap();
    assert_eq!(to.folder, "Quarantine");
    assert!(
        f.root()
            .join("demo.test/quarantine/.Quarantine/new/1.M1.h")
            .is_file()
    );
}
