//! Scans, `check` and mailbox listing against small Maildir trees: foreign files, replies,
//! sender and subject filters, admin folders, weird bytes, unreadable mailboxes.

use super::*;

#[tokio::test]
async fn foreign_files_are_skipped_and_reported_by_check() {
    let f = Fixture::new();
    f.put("demo.test/alice/cur/1.M1.h:2,S", &message("m@x", ""), 7);
    f.put("demo.test/alice/dovecot-uidlist", "3 V1 N2\n", 7);
    f.put("demo.test/alice/subscriptions", "Junk\n", 7);
    let notes = f.put("demo.test/alice/notes.txt", "Message-ID: <m@x>\r\n\r\n", 7);
    let stray = f.put(
        "demo.test/alice/.Junk/backup.tar",
        "Message-ID: <m@x>\r\n\r\n",
        7,
    );
    f.mkdirs("demo.test/alice/.Junk", &["cur", "new", "tmp"]);
    f.mkdirs("demo.test/alice/cur", &["nested"]);
    f.mkdirs("demo.test/alice", &["photos"]);
    f.mkdirs("demo.test/bob", &["cur", "new", "tmp"]);
    let readme = f.put("README", "not mail", 7);

    let found = f.backend.locate(&alice(), "m@x").await.unwrap();
    assert_eq!(sorted_ids(&found), vec!["cur/1.M1.h:2,S"]);
    let scanned = f
        .backend
        .scan(&alice(), &ScanFilter::default())
        .await
        .unwrap();
    assert_eq!(scanned.len(), 1);

    let report = f.backend.check().await;
    assert!(report.ok, "{}", report.detail);
    assert!(
        report.detail.contains("1 domain(s), 2 mailbox(es)"),
        "{}",
        report.detail
    );
    assert!(
        report.detail.contains("5 foreign file(s)"),
        "{}",
        report.detail
    );
    for path in [
        notes,
        stray,
        readme,
        f.root().join("demo.test/alice/cur/nested"),
        f.root().join("demo.test/alice/photos"),
    ] {
        let line = format!("foreign file {}: not part of a Maildir", path.display());
        assert!(report.detail.contains(&line), "{line} in {}", report.detail);
    }
    assert!(!report.detail.contains("dovecot-uidlist"));
}

#[tokio::test]
async fn check_names_a_few_foreign_files_and_counts_the_rest() {
    let f = Fixture::new();
    for n in 0..8 {
        f.put(&format!("demo.test/alice/junk{n}.bin"), "x", 7);
    }
    let report = f.backend.check().await;
    assert!(
        report.detail.contains("8 foreign file(s)"),
        "{}",
        report.detail
    );
    assert!(report.detail.contains("and 3 more"), "{}", report.detail);
    assert_eq!(report.detail.matches("foreign file ").count(), 5);
}

#[tokio::test]
async fn list_mailboxes_returns_maildirs_sorted() {
    let f = Fixture::new();
    f.mkdirs("demo.test/bob", &["cur", "new", "tmp"]);
    f.mkdirs("corp.test/zed", &["new"]);
    f.mkdirs("corp.test/not-a-maildir", &["stuff"]);
    f.put("stray-file", "x", 7);
    let mailboxes = f.backend.list_mailboxes().await.unwrap();
    assert_eq!(
        mailboxes,
        vec!["alice@demo.test", "bob@demo.test", "zed@corp.test"]
    );
}

#[tokio::test]
async fn scan_finds_replies_by_in_reply_to_or_references_exactly() {
    let f = Fixture::new();
    f.put("demo.test/alice/cur/1.M1.h:2,S", &message("orig@x", ""), 7);
    f.put(
        "demo.test/alice/cur/2.M2.h:2,S",
        &message("r1@x", "In-Reply-To: <orig@x>\r\n"),
        7,
    );
    f.put(
        "demo.test/alice/.Sent/cur/3.M3.h:2,S",
        &message("r2@x", "References: <zz@x> <orig@x>\r\n"),
        7,
    );
    f.put(
        "demo.test/alice/cur/4.M4.h:2,S",
        &message("r3@x", "In-Reply-To: <orig@x.other>\r\n"),
        7,
    );
    let filter = ScanFilter {
        replies_to: vec!["orig@x".into()],
        ..ScanFilter::default()
    };

    let mut ids: Vec<String> = f
        .backend
        .scan(&alice(), &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.message_id)
        .collect();
    ids.sort();

    assert_eq!(ids, vec!["<r1@x>", "<r2@x>"]);
}

#[tokio::test]
async fn scan_matches_from_and_decoded_subject_ignoring_case() {
    let f = Fixture::new();
    let phish = "Message-ID: <p@x>\r\n\
        From: \"PayPal Support\" <Billing@Evil.Test>\r\n\
        To: Alice <Alice@Demo.Test>\r\n\
        Cc: bob@demo.test\r\n\
        Subject: =?UTF-8?B?UmVjaG51bmcgZsOkbGxpZw==?=\r\n\
        Date: Thu, 20 Nov 2026 10:00:00 +0000\r\n\r\nbody";
    f.put("demo.test/alice/new/1.M1.h", phish, 1_700_000_000);
    f.put("demo.test/alice/cur/2.M2.h:2,S", &message("other@x", ""), 7);

    let by_from = ScanFilter {
        from: Some("billing@EVIL".into()),
        ..ScanFilter::default()
    };
    let by_name = ScanFilter {
        from: Some("paypal".into()),
        ..ScanFilter::default()
    };
    let by_subject = ScanFilter {
        subject: Some("RECHNUNG FÄLLIG".into()),
        ..ScanFilter::default()
    };
    for filter in [by_from, by_name, by_subject] {
        let found = f.backend.scan(&alice(), &filter).await.unwrap();
        assert_eq!(found.len(), 1, "{filter:?}");
        let s = &found[0];
        assert_eq!(s.message_id, "<p@x>");
        assert_eq!(s.from, "billing@evil.test");
        assert_eq!(s.to, vec!["alice@demo.test"]);
        assert_eq!(s.cc, vec!["bob@demo.test"]);
        assert_eq!(s.subject, "Rechnung fällig");
        assert_eq!(s.location.folder, "INBOX");
        assert_eq!(s.size, phish.len() as u64);
        assert_eq!(
            s.date,
            Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single()
        );
    }
}

#[tokio::test]
async fn scan_combines_conditions_and_can_skip_admin_folders() {
    let f = Fixture::new();
    let old =
        "Message-ID: <a@x>\r\nFrom: a@evil.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n";
    let undated = "Message-ID: <b@x>\r\nFrom: a@evil.test\r\n\r\n";
    f.put("demo.test/alice/cur/1.M1.h:2,S", old, 1_800_000_000);
    f.put("demo.test/alice/cur/2.M2.h:2,S", undated, 1_800_000_000);
    f.put(
        "demo.test/alice/.Retractor-Deleted/cur/3.M3.h:2,S",
        &message("c@x", ""),
        1_800_000_000,
    );
    f.put(
        "demo.test/alice/.Retractor-Held/cur/4.M4.h:2,S",
        &message("d@x", ""),
        1_800_000_000,
    );
    let ids = |found: Vec<crate::backends::HeaderSummary>| {
        let mut ids: Vec<String> = found.into_iter().map(|s| s.message_id).collect();
        ids.sort();
        ids
    };

    // `since` is by arrival (the file time), whatever the Date header says.
    let since = ScanFilter {
        since: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single(),
        from: Some("a@evil".into()),
        ..ScanFilter::default()
    };
    assert_eq!(
        ids(f.backend.scan(&alice(), &since).await.unwrap()),
        vec!["<a@x>", "<b@x>"]
    );

    let everything = ScanFilter::default();
    assert_eq!(
        f.backend.scan(&alice(), &everything).await.unwrap().len(),
        4
    );
    let user_view = ScanFilter {
        skip_admin_folders: true,
        ..ScanFilter::default()
    };
    assert_eq!(
        ids(f.backend.scan(&alice(), &user_view).await.unwrap()),
        vec!["<a@x>", "<b@x>"]
    );

    let by_id = ScanFilter {
        message_ids: vec!["<c@x>".into(), "zz@x".into()],
        ..ScanFilter::default()
    };
    assert_eq!(
        ids(f.backend.scan(&alice(), &by_id).await.unwrap()),
        vec!["<c@x>"]
    );
}

/// A phish whose sender backdated its `Date` is still found by a `since` (a sweep's, a hunt's
/// window): what counts is when the copy arrived. A copy that arrived before `since` is not,
/// however new its `Date` claims to be.
#[tokio::test]
async fn since_is_when_the_copy_arrived_not_what_its_date_header_claims() {
    let f = Fixture::new();
    let backdated =
        "Message-ID: <back@x>\r\nFrom: a@evil.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n";
    let forward_dated =
        "Message-ID: <fwd@x>\r\nFrom: a@evil.test\r\nDate: Tue, 1 Dec 2026 00:00:00 +0000\r\n\r\n";
    // Arrived 2027-01-15 and 2023-11-14.
    f.put("demo.test/alice/cur/1.M1.h:2,S", backdated, 1_800_000_000);
    f.put(
        "demo.test/alice/cur/2.M2.h:2,S",
        forward_dated,
        1_700_000_000,
    );
    let since = ScanFilter {
        since: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single(),
        ..ScanFilter::default()
    };
    let found = f.backend.scan(&alice(), &since).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|s| s.message_id.as_str()).collect();
    assert_eq!(ids, vec!["<back@x>"]);
    // The summary still shows the date the message claims.
    assert_eq!(
        found[0].date,
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single()
    );
}

#[tokio::test]
async fn weird_bytes_and_missing_ids_never_break_a_walk() {
    let f = Fixture::new();
    let garbage: &[u8] = b"\xff\xfe\x00\x01Subject: \xc3\x28\r\nFrom: <<<\r\n\r\n\xff";
    let path = f.root().join("demo.test/alice/cur/1.M1.h:2,S");
    fs::write(&path, garbage).unwrap();
    f.put("demo.test/alice/cur/2.M2.h:2,S", "", 7);
    f.put("demo.test/alice/new/3.M3.h", &message("ok@x", ""), 7);

    assert_eq!(f.backend.locate(&alice(), "ok@x").await.unwrap().len(), 1);
    let all = f
        .backend
        .scan(&alice(), &ScanFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().filter(|s| s.message_id.is_empty()).count() == 2);
    let err = f.backend.locate(&alice(), "<>").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
}

#[cfg(unix)]
#[tokio::test]
async fn unreadable_mailboxes_are_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let mailbox = f.root().join("demo.test/alice");
    fs::set_permissions(&mailbox, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads everything regardless; the mapping is then not observable.
    let blocked = fs::read_dir(&mailbox).is_err();
    let result = f.backend.locate(&alice(), "m@x").await;
    fs::set_permissions(&mailbox, fs::Permissions::from_mode(0o700)).unwrap();
    if blocked {
        assert_eq!(result.unwrap_err().kind, ErrorKind::PermissionDenied);
    } else {
        assert_eq!(result.unwrap(), vec![]);
    }
}
