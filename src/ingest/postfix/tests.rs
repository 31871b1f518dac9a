//! The Postfix reader on logs written for it: queue ids, reuse, forwards, hand-offs.

use super::line::{Line, classify, is_queue_id, split_syslog};
use super::*;
use crate::store::RefMatch;
use crate::store::testutil::temp_store;
use chrono::Datelike;

use crate::ingest::test_config as config;

fn now() -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339("2026-11-21T08:00:00Z") {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("{e}"),
    }
}

fn run(log: &str) -> Result<(IngestReport, Store, tempfile::TempDir), StoreError> {
    let (dir, store) = temp_store();
    let cfg = config();
    let resolver = match TenantResolver::new(&cfg, None) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let report = ingest_at(&store, &resolver, log.as_bytes(), now())?;
    Ok((report, store, dir))
}

fn one(store: &Store, id: &str) -> Result<crate::model::LoggedMessage, StoreError> {
    match store.resolve_ref(id)? {
        RefMatch::One(m) => Ok(*m),
        _ => panic!("{id} not logged exactly once"),
    }
}

/// Two interleaved messages, a deferral, a bounce, an alias re-queue, noise and a cut line.
const MAILLOG: &str = "\
Nov 20 10:00:01 mx1 postfix/smtpd[1201]: connect from mail.bad.example[203.0.113.5]
Nov 20 10:00:01 mx1 postfix/smtpd[1201]: 4A1B2C3D4E: client=mail.bad.example[203.0.113.5]
Nov 20 10:00:01 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: message-id=<inv-77@bad.example>
Nov 20 10:00:01 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: warning: header Subject: Invoice 4411, overdue from mail.bad.example[203.0.113.5]; from=<billing@bad.example> to=<alice@corp.test> proto=ESMTP helo=<mail.bad.example>
Nov 20 10:00:02 mx1 postfix/smtpd[1301]: 5F00AA11BB: client=partner.example[198.51.100.7]
Nov 20 10:00:02 mx1 postfix/qmgr[900]: 4A1B2C3D4E: from=<Billing@Bad.Example>, size=48213, nrcpt=4 (queue active)
Nov 20 10:00:02 mx1 dovecot: imap-login: Login: user=<alice@corp.test>, method=PLAIN
Nov 20 10:00:02 mx1 postfix/cleanup[1202]: 5F00AA11BB: message-id=<q3@partner.example>
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<alice@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=2.0.0, status=sent (250 2.0.0 <alice@corp.test> Saved)
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=4.2.2, status=deferred (452 4.2.2 Mailbox full)
Nov 20 10:00:03 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<nobody@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1.2, delays=0.1/0/0.1/1, dsn=5.1.1, status=bounced (550 5.1.1 User unknown)
Nov 20 10:00:03 mx1 postfix/local[1220]: 4A1B2C3D4E: to=<sales@corp.test>, relay=local, delay=1.3, delays=0.1/0/0/1.2, dsn=2.0.0, status=sent (forwarded as 6C0FFEE123)
Nov 20 10:00:03 mx1 postfix/pickup[1230]: 6C0FFEE123: uid=0 from=<billing@bad.example>
Nov 20 10:00:03 mx1 postfix/cleanup[1202]: 6C0FFEE123: message-id=<inv-77@bad.example>
Nov 20 10:00:03 mx1 postfix/qmgr[900]: 6C0FFEE123: from=<billing@bad.example>, size=48400, nrcpt=2 (queue active)
Nov 20 10:00:04 mx1 postfix/qmgr[900]: 5F00AA11BB: from=<ops@partner.example>, size=2100, nrcpt=1 (queue active)
Nov 20 10:00:04 mx1 postfix/lmtp[1210]: 6C0FFEE123: to=<carol@corp.test>, orig_to=<sales@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=0.2, delays=0/0/0/0.2, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 20 10:00:04 mx1 postfix/smtp[1240]: 6C0FFEE123: to=<dan@partner.example>, orig_to=<sales@corp.test>, relay=mx.partner.example[198.51.100.9]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99ZZ)
Nov 20 10:00:04 mx1 postfix/qmgr[900]: 6C0FFEE123: removed
Nov 20 10:00:04 mx1 postfix/anvil[1100]: statistics: max connection rate 1/60s for (smtp:203.0.113.5) at Nov 20 09:59:01
Nov 20 10:00:05 mx1 postfix/lmtp[1210]: 5F00AA11BB: to=<erin@corp.te
this is not a log line at all
Nov 20 10:00:05 mx1 postfix/lmtp[1210]: 5F00AA11BB: to=<erin@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=0.3, delays=0/0/0/0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 20 10:00:05 mx1 postfix/qmgr[900]: 5F00AA11BB: removed
Nov 20 10:30:03 mx1 postfix/qmgr[900]: 4A1B2C3D4E: from=<billing@bad.example>, size=48213, nrcpt=4 (queue active)
Nov 20 10:30:04 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1802, delays=1801/0/0.1/0.9, dsn=2.0.0, status=sent (250 2.0.0 <bob@corp.test> Saved)
Nov 20 10:30:04 mx1 postfix/bounce[1250]: 4A1B2C3D4E: sender non-delivery notification: 7D1E2F3A4B
Nov 20 10:30:04 mx1 postfix/qmgr[900]: 4A1B2C3D4E: removed
Nov 20 10:30:05 mx1 postfix/smtpd[1201]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 <x@corp.test>: Relay access denied; from=<s@spam.example> to=<x@corp.test> proto=ESMTP helo=<x>
";

#[test]
fn queue_ids_join_into_records_with_only_sent_recipients() -> Result<(), StoreError> {
    let (report, store, _dir) = run(MAILLOG)?;
    // 6C0FFEE123 re-queues 4A1B2C3D4E's alias and ends first: it folds into the original.
    assert_eq!(report.records, 2, "{report:?}");
    assert_eq!(report.inserted, 2);
    assert_eq!(report.merged, 0);
    assert_eq!(report.incomplete, 0);
    // connect, dovecot, anvil, the garbage line, NOQUEUE.
    assert_eq!(report.ignored, 5, "{report:?}");
    let rejected: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, vec![21], "{:?}", report.rejected);
    assert!(report.rejected[0].reason.contains("not closed"));
    assert_eq!(report.not_delivered.get("bounced"), Some(&1));
    assert_eq!(report.not_delivered.get("forwarded"), Some(&1));
    assert_eq!(report.not_delivered.get("deferred"), None);

    let inv = one(&store, "inv-77@bad.example")?;
    assert_eq!(
        inv.recipients,
        vec![
            "alice@corp.test",
            "bob@corp.test",
            "carol@corp.test",
            "dan@partner.example"
        ]
    );
    assert_eq!(inv.actionable_count, 3);
    assert_eq!(inv.from, "billing@bad.example");
    assert_eq!(inv.subject, "Invoice 4411, overdue");
    assert_eq!(inv.size, Some(48213));
    assert_eq!(inv.source_id.as_deref(), Some("4A1B2C3D4E"));
    assert_eq!(inv.received_at.to_rfc3339(), "2026-11-20T10:00:01+00:00");

    let q3 = one(&store, "q3@partner.example")?;
    assert_eq!(q3.recipients, vec!["erin@corp.test"]);
    assert_eq!(q3.from, "ops@partner.example");
    assert_eq!(q3.subject, "");
    Ok(())
}

#[test]
fn rfc3339_lines_long_queue_ids_and_an_encoded_subject() -> Result<(), StoreError> {
    let log = "\
2026-11-19T23:59:58.120431+01:00 mx2 postfix/submission/smtpd[77]: 4Tg9Dx0QGCz9sWq: client=laptop[10.0.0.8], sasl_method=PLAIN, sasl_username=alice
2026-11-19T23:59:58.300000+01:00 mx2 postfix/cleanup[78]: 4Tg9Dx0QGCz9sWq: info: header Subject: =?UTF-8?B?UsOpc3Vtw6k=?= from laptop[10.0.0.8]; from=<alice@corp.test> to=<frank@corp.test> proto=ESMTP helo=<laptop>
2026-11-19T23:59:58.310000+01:00 mx2 postfix/cleanup[78]: 4Tg9Dx0QGCz9sWq: message-id=<r1@corp.test>
2026-11-19T23:59:58.400000+01:00 mx2 postfix/qmgr[79]: 4Tg9Dx0QGCz9sWq: from=<alice@corp.test>, size=900, nrcpt=1 (queue active)
2026-11-19T23:59:59.000000+01:00 mx2 postfix/virtual[80]: 4Tg9Dx0QGCz9sWq: to=<frank@corp.test>, relay=virtual, delay=0.9, delays=0.5/0/0/0.4, dsn=2.0.0, status=sent (delivered to maildir)
2026-11-19T23:59:59.100000+01:00 mx2 postfix/qmgr[79]: 4Tg9Dx0QGCz9sWq: removed
";
    let (report, store, _dir) = run(log)?;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.inserted, 1);
    let m = one(&store, "r1@corp.test")?;
    assert_eq!(m.recipients, vec!["frank@corp.test"]);
    assert_eq!(m.subject, "Résumé");
    assert_eq!(m.received_at.to_rfc3339(), "2026-11-19T22:59:58+00:00");
    Ok(())
}

#[test]
fn incomplete_queue_ids_make_no_record() -> Result<(), StoreError> {
    let log = "\
Nov 20 11:00:00 mx1 postfix/smtpd[1]: 1AAAAAAAAA: client=a[192.0.2.1]
Nov 20 11:00:00 mx1 postfix/cleanup[2]: 1AAAAAAAAA: message-id=<gone@x.example>
Nov 20 11:00:00 mx1 postfix/qmgr[3]: 1AAAAAAAAA: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:01 mx1 postfix/smtp[4]: 1AAAAAAAAA: to=<b@corp.test>, relay=none, delay=1, delays=1/0/0/0, dsn=5.4.4, status=bounced (Host not found)
Nov 20 11:00:01 mx1 postfix/qmgr[3]: 1AAAAAAAAA: removed
Nov 20 11:00:02 mx1 postfix/lmtp[4]: 2BBBBBBBBB: to=<c@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 11:00:03 mx1 postfix/qmgr[3]: 3CCCCCCCCC: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:03 mx1 postfix/lmtp[4]: 3CCCCCCCCC: to=<c@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=4.0.0, status=deferred (try later)
Nov 20 11:00:04 mx1 postfix/qmgr[3]: 4DDDDDDDDD: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 11:00:04 mx1 postfix/qmgr[3]: 4DDDDDDDDD
Nov 20 11:00:05 mx1 postfix/qmgr[3]: 4DDDDDDDDD: from=<a@x.example>, size=1x, nrcpt=1 (queue active)
Nov 20 11:00:05 mx1 postfix/lmtp[4]: 4DDDDDDDDD: to=<c@corp.test>, relay=lmt
Nov 20 11:00:05 mx1 postfix/qm
Nov 20 11:00:05 mx1 post
";
    let (report, _store, _dir) = run(log)?;
    assert_eq!(report.records, 0);
    // 1AAAAAAAAA bounced; 2BBBBBBBBB has no message-id or sender; 3CCCCCCCCC still
    // deferred at EOF; 4DDDDDDDDD has no message-id.
    assert_eq!(report.incomplete, 4, "{report:?}");
    assert_eq!(report.not_delivered.get("bounced"), Some(&1));
    assert_eq!(report.not_delivered.get("deferred"), Some(&1));
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![10, 11, 12, 13], "{:?}", report.rejected);
    assert!(report.rejected[1].reason.contains("size=1x"));
    assert!(report.rejected[2].reason.contains("status="));
    // Cut before it says which program wrote it: nothing to tell it from noise.
    assert_eq!(report.ignored, 1);
    Ok(())
}

#[test]
fn a_reused_queue_id_starts_a_new_message() -> Result<(), StoreError> {
    let log = "\
Nov 20 12:00:00 mx1 postfix/smtpd[1]: 5EEEEEEEEE: client=a[192.0.2.1]
Nov 20 12:00:00 mx1 postfix/cleanup[2]: 5EEEEEEEEE: message-id=<first@x.example>
Nov 20 12:00:00 mx1 postfix/qmgr[3]: 5EEEEEEEEE: from=<a@x.example>, size=10, nrcpt=1 (queue active)
Nov 20 12:00:01 mx1 postfix/lmtp[4]: 5EEEEEEEEE: to=<gail@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 12:05:00 mx1 postfix/smtpd[1]: 5EEEEEEEEE: client=b[192.0.2.2]
Nov 20 12:05:00 mx1 postfix/cleanup[2]: 5EEEEEEEEE: message-id=<second@x.example>
Nov 20 12:05:00 mx1 postfix/qmgr[3]: 5EEEEEEEEE: from=<>, size=10, nrcpt=1 (queue active)
Nov 20 12:05:01 mx1 postfix/lmtp[4]: 5EEEEEEEEE: to=<hank@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
";
    let (report, store, _dir) = run(log)?;
    assert_eq!(report.inserted, 2, "{report:?}");
    assert_eq!(
        one(&store, "first@x.example")?.recipients,
        vec!["gail@corp.test"]
    );
    let second = one(&store, "second@x.example")?;
    assert_eq!(second.recipients, vec!["hank@corp.test"]);
    assert_eq!(second.from, "mailer-daemon");
    Ok(())
}

#[test]
fn a_forward_ending_after_its_original_merges_in_the_store() -> Result<(), StoreError> {
    // local(8) writes the forwarded copy through cleanup before it logs "forwarded as",
    // and the original leaves the queue before the copy is delivered.
    let log = "\
Nov 20 13:00:00 mx1 postfix/smtpd[1]: 7AAAAAAAAA: client=a[192.0.2.1]
Nov 20 13:00:00 mx1 postfix/cleanup[2]: 7AAAAAAAAA: warning: header subject: Payroll from a[192.0.2.1]; from=<hr@bad.example> to=<team@corp.test> proto=ESMTP helo=<a>
Nov 20 13:00:00 mx1 postfix/cleanup[2]: 7AAAAAAAAA: message-id=<pay@bad.example>
Nov 20 13:00:00 mx1 postfix/qmgr[3]: 7AAAAAAAAA: from=<hr@bad.example>, size=10, nrcpt=2 (queue active)
Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<kim@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Nov 20 13:00:01 mx1 postfix/cleanup[2]: 8BBBBBBBBB: message-id=<pay@bad.example>
Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<team@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (forwarded as 8BBBBBBBBB)
Nov 20 13:00:01 mx1 postfix/qmgr[3]: 7AAAAAAAAA: removed
Nov 20 13:00:01 mx1 postfix/qmgr[3]: 8BBBBBBBBB: from=<hr@bad.example>, size=12, nrcpt=2 (queue active)
Nov 20 13:00:02 mx1 postfix/lmtp[4]: 8BBBBBBBBB: to=<ivy@corp.test>, orig_to=<team@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 13:00:02 mx1 postfix/lmtp[4]: 8BBBBBBBBB: to=<jon@corp.test>, orig_to=<team@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 13:00:02 mx1 postfix/qmgr[3]: 8BBBBBBBBB: removed
";
    let (report, store, _dir) = run(log)?;
    assert_eq!(report.incomplete, 0, "{report:?}");
    assert_eq!(report.records, 2);
    assert_eq!(report.inserted, 1);
    assert_eq!(report.merged, 1);
    let m = one(&store, "pay@bad.example")?;
    assert_eq!(
        m.recipients,
        vec!["ivy@corp.test", "jon@corp.test", "kim@corp.test"]
    );
    assert_eq!(m.subject, "Payroll");
    assert_eq!(m.source_id.as_deref(), Some("7AAAAAAAAA"));

    // The alias alone: the copy carries the original's arrival, Subject and queue id.
    let alone = log.replace(
        "Nov 20 13:00:01 mx1 postfix/local[4]: 7AAAAAAAAA: to=<kim@corp.test>, relay=local, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)\n",
        "",
    );
    let (report, store, _dir) = run(&alone)?;
    assert_eq!(report.incomplete, 0, "{report:?}");
    assert_eq!(report.records, 1);
    assert_eq!(report.not_delivered.get("forwarded"), Some(&1));
    let m = one(&store, "pay@bad.example")?;
    assert_eq!(m.recipients, vec!["ivy@corp.test", "jon@corp.test"]);
    assert_eq!(m.subject, "Payroll");
    assert_eq!(m.source_id.as_deref(), Some("7AAAAAAAAA"));
    assert_eq!(m.received_at.to_rfc3339(), "2026-11-20T13:00:00+00:00");
    Ok(())
}

#[test]
fn a_reused_queue_id_starting_at_cleanup_is_a_new_message() -> Result<(), StoreError> {
    // The first message under 9CCCCCCCCC ends without `removed` (a milter's reject after
    // delivery to one recipient); a bounce reuses the id and starts at cleanup. A line
    // from a host whose clock says 2099 is refused and does not close anything early.
    let log = "\
Nov 20 14:00:00 mx1 postfix/smtpd[1]: 9CCCCCCCCC: client=a[192.0.2.1]
Nov 20 14:00:00 mx1 postfix/cleanup[2]: 9CCCCCCCCC: message-id=<evil@bad.example>
Nov 20 14:00:00 mx1 postfix/qmgr[3]: 9CCCCCCCCC: from=<x@bad.example>, size=10, nrcpt=1 (queue active)
Nov 20 14:00:01 mx1 postfix/lmtp[4]: 9CCCCCCCCC: to=<alice@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
2099-01-01T00:00:00+00:00 mx2 postfix/qmgr[3]: 1DDDDDDDDD: from=<y@bad.example>, size=10, nrcpt=1 (queue active)
Nov 20 14:05:00 mx1 postfix/cleanup[2]: 9CCCCCCCCC: message-id=<bounce-1@corp.test>
Nov 20 14:05:00 mx1 postfix/qmgr[3]: 9CCCCCCCCC: from=<>, size=10, nrcpt=1 (queue active)
Nov 20 14:05:01 mx1 postfix/lmtp[4]: 9CCCCCCCCC: to=<bob@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 20 14:05:01 mx1 postfix/qmgr[3]: 9CCCCCCCCC: removed
";
    let (report, store, _dir) = run(log)?;
    assert_eq!(report.records, 2, "{report:?}");
    assert_eq!(
        one(&store, "evil@bad.example")?.recipients,
        vec!["alice@corp.test"]
    );
    assert_eq!(
        one(&store, "bounce-1@corp.test")?.recipients,
        vec!["bob@corp.test"]
    );
    let rejected: Vec<(u64, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0, 5);
    assert!(rejected[0].1.contains("in the future"), "{rejected:?}");
    Ok(())
}

#[test]
fn syslog_years_never_land_in_the_future() {
    let now = now();
    let year = |line: &str| match split_syslog(line, now) {
        Ok((t, _, _)) => t.year(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(year("Nov 21 07:00:00 h postfix/qmgr[1]: x"), 2026);
    assert_eq!(year("Nov 22 06:00:00 h postfix/qmgr[1]: x"), 2026);
    assert_eq!(year("Dec 31 23:59:59 h postfix/qmgr[1]: x"), 2025);
    assert_eq!(year("Jan  2 00:00:00 h postfix/qmgr[1]: x"), 2026);
    assert!(split_syslog("Feb 30 00:00:00 h postfix/qmgr[1]: x", now).is_err());
    assert!(matches!(
        classify(
            "Feb 30 00:00:00 h postfix/qmgr[1]: 4DDDDDDDDD: removed",
            now
        ),
        Line::Bad(_)
    ));
}

#[test]
fn queue_id_shapes() {
    for id in ["4A1B2C3D4E", "6C0FFEE123", "4Tg9Dx0QGCz9sWq"] {
        assert!(is_queue_id(id), "{id}");
    }
    for id in [
        "NOQUEUE",
        "warning",
        "statistics",
        "connect",
        "DEAD",
        "authorized",
    ] {
        assert!(!is_queue_id(id), "{id}");
    }
}

/// amavis on 127.0.0.1:10024 re-injecting into 10025, the way a Debian host logs it: the
/// next queue (6B) is created before the first queue's hand-off line.
const FILTERED: &str = "\
Nov 20 15:00:00 mx1 postfix/smtpd[1]: 5AAAAAAAAA: client=a[192.0.2.1]
Nov 20 15:00:00 mx1 postfix/cleanup[2]: 5AAAAAAAAA: message-id=<filtered@bad.example>
Nov 20 15:00:00 mx1 postfix/qmgr[3]: 5AAAAAAAAA: from=<x@bad.example>, size=100, nrcpt=2 (queue active)
Nov 20 15:00:02 mx1 postfix/smtpd[5]: 6BBBBBBBBB: client=localhost[127.0.0.1]
Nov 20 15:00:02 mx1 postfix/cleanup[2]: 6BBBBBBBBB: message-id=<filtered@bad.example>
Nov 20 15:00:02 mx1 postfix/qmgr[3]: 6BBBBBBBBB: from=<x@bad.example>, size=900, nrcpt=2 (queue active)
Nov 20 15:00:02 mx1 postfix/smtp[4]: 5AAAAAAAAA: to=<alice@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=2, delays=0/0/0/2, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 6BBBBBBBBB)
Nov 20 15:00:02 mx1 postfix/smtp[4]: 5AAAAAAAAA: to=<bob@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=2, delays=0/0/0/2, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 6BBBBBBBBB)
Nov 20 15:00:02 mx1 postfix/qmgr[3]: 5AAAAAAAAA: removed
Nov 20 15:00:03 mx1 postfix/lmtp[6]: 6BBBBBBBBB: to=<alice@corp.test>, relay=127.0.0.1[127.0.0.1]:24, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 <alice@corp.test> k3Jd Saved)
Nov 20 15:00:03 mx1 postfix/lmtp[6]: 6BBBBBBBBB: to=<bob@corp.test>, relay=127.0.0.1[127.0.0.1]:24, delay=1, delays=0/0/0/1, dsn=5.2.2, status=bounced (552 5.2.2 <bob@corp.test> Quota exceeded)
Nov 20 15:00:03 mx1 postfix/qmgr[3]: 6BBBBBBBBB: removed
";

#[test]
fn a_content_filter_hand_off_is_not_a_delivery_whatever_the_line_order() -> Result<(), StoreError> {
    let lines: Vec<&str> = FILTERED.lines().collect();
    // The hand-off lines before the next queue appears (syslog reorders processes), and
    // after the next queue has delivered and left.
    let mut before = lines.clone();
    let handoffs: Vec<&str> = before.drain(6..9).collect();
    before.splice(3..3, handoffs.clone());
    let mut after = lines.clone();
    after.drain(6..9);
    after.extend(handoffs);
    for order in [lines, before, after] {
        let log = order.join("\n") + "\n";
        let (report, store, _dir) = run(&log)?;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.unresolved_handoffs_total, 0, "{log}\n{report:?}");
        assert_eq!(report.incomplete, 0, "{log}\n{report:?}");
        assert_eq!(report.not_delivered.get("bounced"), Some(&1), "{log}");
        assert_eq!(report.not_delivered.get(HANDED_OFF), None, "{log}");
        let m = one(&store, "filtered@bad.example")?;
        // bob bounced after the filter: the hop to amavis did not put it in his mailbox.
        assert_eq!(m.recipients, vec!["alice@corp.test"], "{log}");
        assert_eq!(m.received_at.to_rfc3339(), "2026-11-20T15:00:00+00:00");
    }
    Ok(())
}

#[test]
fn the_final_queue_keeps_the_first_message_id_and_alias_targets() -> Result<(), StoreError> {
    // The filter's copy logs another Message-ID (a filter that rewrites it); the next queue
    // expands an alias (orig_to=) and delivers.
    let log = FILTERED
        .replacen(
            "6BBBBBBBBB: message-id=<filtered@bad.example>",
            "6BBBBBBBBB: message-id=<rewritten@filter.example>",
            1,
        )
        .replace(
            "6BBBBBBBBB: to=<bob@corp.test>, relay=127.0.0.1[127.0.0.1]:24, delay=1, delays=0/0/0/1, dsn=5.2.2, status=bounced (552 5.2.2 <bob@corp.test> Quota exceeded)",
            "6BBBBBBBBB: to=<carol@corp.test>, orig_to=<bob@corp.test>, relay=127.0.0.1[127.0.0.1]:24, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
        );
    let (report, store, _dir) = run(&log)?;
    assert_eq!(report.incomplete, 0, "{report:?}");
    let m = one(&store, "filtered@bad.example")?;
    assert_eq!(m.recipients, vec!["alice@corp.test", "carol@corp.test"]);
    assert_eq!(m.source_id.as_deref(), Some("5AAAAAAAAA"));
    assert!(matches!(
        store.resolve_ref("rewritten@filter.example")?,
        RefMatch::None
    ));
    Ok(())
}

#[test]
fn filter_verdicts_and_unresolved_hand_offs_make_no_delivery() -> Result<(), StoreError> {
    let log = "\
Nov 20 16:00:00 mx1 postfix/smtpd[1]: 7AAAAAAAAA: client=a[192.0.2.1]
Nov 20 16:00:00 mx1 postfix/cleanup[2]: 7AAAAAAAAA: message-id=<verdicts@bad.example>
Nov 20 16:00:00 mx1 postfix/qmgr[3]: 7AAAAAAAAA: from=<x@bad.example>, size=100, nrcpt=5 (queue active)
Nov 20 16:00:01 mx1 postfix/smtp[4]: 7AAAAAAAAA: to=<alice@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, id=00848-06 - INFECTED: Eicar-Test-Signature)
Nov 20 16:00:01 mx1 postfix/smtp[4]: 7AAAAAAAAA: to=<bob@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.5.0, status=sent (250 2.5.0 Ok, id=18438-02, BOUNCE)
Nov 20 16:00:01 mx1 postfix/smtp[4]: 7AAAAAAAAA: to=<carol@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=4.0.0, status=deferred (connect to 127.0.0.1[127.0.0.1]:10024: Connection refused)
Nov 20 16:05:01 mx1 postfix/smtp[4]: 7AAAAAAAAA: to=<carol@corp.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=301, delays=300/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 8CCCCCCCCC)
Nov 20 16:05:01 mx1 postfix/smtp[4]: 7AAAAAAAAA: to=<dan@partner.example>, relay=mx.partner.example[198.51.100.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4F3E2D1C0B)
Nov 20 16:05:01 mx1 postfix/lmtp[4]: 7AAAAAAAAA: to=<erin@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 <erin@corp.test> Saved)
Nov 20 16:05:02 mx1 postfix/qmgr[3]: 7AAAAAAAAA: removed
";
    let (report, store, _dir) = run(log)?;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let m = one(&store, "verdicts@bad.example")?;
    // dan's server queued it remotely: that is a delivery; carol's copy went to a filter
    // queue this log never shows.
    assert_eq!(m.recipients, vec!["dan@partner.example", "erin@corp.test"]);
    assert_eq!(report.not_delivered.get("discarded"), Some(&1));
    assert_eq!(report.not_delivered.get("bounced"), Some(&1));
    assert_eq!(report.not_delivered.get("deferred"), None);
    assert_eq!(report.unresolved_handoffs_total, 1, "{report:?}");
    assert_eq!(report.unresolved_handoffs[0].line, 7);
    let reason = &report.unresolved_handoffs[0].reason;
    assert!(
        reason.contains("7AAAAAAAAA") && reason.contains("8CCCCCCCCC") && reason.contains("carol"),
        "{reason}"
    );

    // The same next id logged a day later is another message reusing it, not the copy.
    let reused = format!(
        "{log}\
Nov 21 16:00:00 mx1 postfix/smtpd[1]: 8CCCCCCCCC: client=b[192.0.2.2]
Nov 21 16:00:00 mx1 postfix/cleanup[2]: 8CCCCCCCCC: message-id=<later@x.example>
Nov 21 16:00:00 mx1 postfix/qmgr[3]: 8CCCCCCCCC: from=<y@x.example>, size=10, nrcpt=1 (queue active)
Nov 21 16:00:01 mx1 postfix/lmtp[4]: 8CCCCCCCCC: to=<frank@corp.test>, relay=lmtp, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)
Nov 21 16:00:01 mx1 postfix/qmgr[3]: 8CCCCCCCCC: removed
"
    );
    let (report, store, _dir) = run(&reused)?;
    assert_eq!(report.unresolved_handoffs_total, 1, "{report:?}");
    let later = one(&store, "later@x.example")?;
    assert_eq!(later.recipients, vec!["frank@corp.test"]);
    assert_eq!(later.source_id.as_deref(), Some("8CCCCCCCCC"));
    assert_eq!(
        one(&store, "verdicts@bad.example")?.recipients,
        vec!["dan@partner.example", "erin@corp.test"]
    );
    Ok(())
}

#[test]
fn a_relay_to_a_queue_of_the_same_log_is_followed_like_a_filter() -> Result<(), StoreError> {
    // A central log: the edge relays to the hub over the LAN; the hub's queue (logged
    // first, as SMTP is synchronous) is where the message is delivered or bounces.
    let log = "\
Nov 20 17:00:00 edge postfix/smtpd[1]: 1EEEEEEEEE: client=a[192.0.2.1]
Nov 20 17:00:00 edge postfix/cleanup[2]: 1EEEEEEEEE: message-id=<hub@bad.example>
Nov 20 17:00:00 edge postfix/qmgr[3]: 1EEEEEEEEE: from=<x@bad.example>, size=100, nrcpt=2 (queue active)
Nov 20 17:00:01 hub postfix/smtpd[7]: 2FFFFFFFFF: client=edge.corp.test[10.0.0.4]
Nov 20 17:00:01 hub postfix/cleanup[8]: 2FFFFFFFFF: message-id=<hub@bad.example>
Nov 20 17:00:01 hub postfix/qmgr[9]: 2FFFFFFFFF: from=<x@bad.example>, size=120, nrcpt=2 (queue active)
Nov 20 17:00:01 edge postfix/smtp[4]: 1EEEEEEEEE: to=<carol@corp.test>, relay=hub.corp.test[10.0.0.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2FFFFFFFFF)
Nov 20 17:00:01 edge postfix/smtp[4]: 1EEEEEEEEE: to=<dan@corp.test>, relay=hub.corp.test[10.0.0.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2FFFFFFFFF)
Nov 20 17:00:01 edge postfix/qmgr[3]: 1EEEEEEEEE: removed
Nov 20 17:00:02 hub postfix/lmtp[10]: 2FFFFFFFFF: to=<carol@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 20 17:00:02 hub postfix/lmtp[10]: 2FFFFFFFFF: to=<dan@corp.test>, relay=mail.corp.test[private/dovecot-lmtp], delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (550 5.1.1 User unknown)
Nov 20 17:00:02 hub postfix/qmgr[9]: 2FFFFFFFFF: removed
";
    let (report, store, _dir) = run(log)?;
    assert_eq!(report.unresolved_handoffs_total, 0, "{report:?}");
    assert_eq!(report.not_delivered.get("bounced"), Some(&1), "{report:?}");
    let m = one(&store, "hub@bad.example")?;
    assert_eq!(m.recipients, vec!["carol@corp.test"]);
    assert_eq!(m.source_id.as_deref(), Some("1EEEEEEEEE"));
    Ok(())
}
