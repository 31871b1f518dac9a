//! The demo's abuse mailbox: three of the campaign's recipients reported it, one report in
//! each format `retractor submissions` reads (the original attached whole behind Microsoft's
//! `3|` prefix, an RFC 5965 feedback report, an inline forward without the Message-ID).

use std::fs;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use filetime::FileTime;

use super::DemoError;
use super::maildir::{Written, io_error, mailbox_dir, make_maildir};
use super::mailgen::{Addr, Mail};
use super::people::DOMAIN;

/// The abuse mailbox users report phish to (`[submissions] mailbox`).
pub const ABUSE: &str = "abuse@demo.test";

/// Write the abuse mailbox with one report per reporter (the three formats in turn), the
/// first 7 minutes after `at`; the files written.
pub fn write(
    root: &Path,
    campaign: &Mail,
    reporters: &[Addr],
    at: DateTime<Utc>,
) -> Result<Vec<Written>, DemoError> {
    let dir = mailbox_dir(root, ABUSE);
    make_maildir(&dir)?;
    let original = String::from_utf8_lossy(&campaign.render()).into_owned();
    let mut written = Vec::new();
    for (i, reporter) in reporters.iter().take(3).enumerate() {
        let when = at + Duration::minutes(7 * (i as i64 + 1));
        let message_id = match i {
            0 => format!(
                "<report-{}-{}@{DOMAIN}>",
                local_part(reporter),
                when.timestamp()
            ),
            1 => format!("<arf-{}@feedback.{DOMAIN}>", when.timestamp()),
            _ => format!(
                "<fwd-{}-{}@{DOMAIN}>",
                local_part(reporter),
                when.timestamp()
            ),
        };
        let text = match i {
            0 => attached(campaign, &original, reporter, when),
            1 => feedback(campaign, &original, reporter, when),
            _ => forwarded(campaign, reporter, when),
        };
        let path = dir.join("new").join(format!(
            "{}.M{}P1.demo-report",
            when.timestamp(),
            900_000 + i
        ));
        fs::write(&path, text.replace('\n', "\r\n").replace("\r\r\n", "\r\n"))
            .map_err(|e| io_error(&path, "write", e))?;
        filetime::set_file_mtime(&path, FileTime::from_unix_time(when.timestamp(), 0))
            .map_err(|e| io_error(&path, "set the time of", e))?;
        written.push(Written {
            path,
            message_id,
            at: when,
        });
    }
    Ok(written)
}

fn local_part(a: &Addr) -> &str {
    a.email.split('@').next().unwrap_or("user")
}

/// Microsoft's user-reported-message format: the original attached whole, the subject
/// behind `3|` (phishing).
fn attached(campaign: &Mail, original: &str, reporter: &Addr, at: DateTime<Utc>) -> String {
    format!(
        "Message-ID: <report-{local}-{ts}@{DOMAIN}>\nDate: {date}\nFrom: {from}\nTo: {ABUSE}\n\
         Subject: 3|{subject}\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"report-{ts}\"\n\n\
         --report-{ts}\nContent-Type: text/plain; charset=utf-8\n\n\
         This message was reported as phishing by {email}.\n\n\
         --report-{ts}\nContent-Type: message/rfc822; name=\"reported.eml\"\n\
         Content-Disposition: attachment; filename=\"reported.eml\"\n\n{original}\n\
         --report-{ts}--\n",
        local = local_part(reporter),
        ts = at.timestamp(),
        date = at.to_rfc2822(),
        from = reporter.render(),
        email = reporter.email,
        subject = campaign.subject,
    )
}

/// An RFC 5965 feedback report from the mail system's report button, naming the reporter in
/// `Original-Rcpt-To`.
fn feedback(campaign: &Mail, original: &str, reporter: &Addr, at: DateTime<Utc>) -> String {
    format!(
        "Message-ID: <arf-{ts}@feedback.{DOMAIN}>\nDate: {date}\nFrom: <feedback@feedback.{DOMAIN}>\n\
         To: {ABUSE}\nSubject: FW: {subject}\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf-{ts}\"\n\n\
         --arf-{ts}\nContent-Type: text/plain; charset=US-ASCII\n\n\
         This is an email abuse report for a message delivered to {email}.\n\n\
         --arf-{ts}\nContent-Type: message/feedback-report\n\n\
         Feedback-Type: abuse\nUser-Agent: DemoReportButton/1.0\nVersion: 1\n\
         Original-Mail-From: <{sender}>\nOriginal-Rcpt-To: <{email}>\n\
         Arrival-Date: {arrival}\nReporting-MTA: dns; mx1.{DOMAIN}\n\n\
         --arf-{ts}\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n{original}\n\
         --arf-{ts}--\n",
        ts = at.timestamp(),
        date = at.to_rfc2822(),
        email = reporter.email,
        sender = campaign.from.email,
        arrival = campaign.date.to_rfc2822(),
        subject = campaign.subject,
    )
}

/// A forward from the reporter's mail client: the original's headers quoted, no Message-ID.
fn forwarded(campaign: &Mail, reporter: &Addr, at: DateTime<Utc>) -> String {
    format!(
        "Message-ID: <fwd-{local}-{ts}@{DOMAIN}>\nDate: {date}\nFrom: {from}\nTo: {ABUSE}\n\
         Subject: Fwd: {subject}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\
         This looks like phishing, the link does not go to DocuSign.\n\n\
         ---------- Forwarded message ---------\nFrom: {sender}\nDate: {sent}\n\
         Subject: {subject}\nTo: <{email}>\n\n(body removed)\n",
        local = local_part(reporter),
        ts = at.timestamp(),
        date = at.to_rfc2822(),
        from = reporter.render(),
        email = reporter.email,
        sender = campaign.from.human(),
        sent = campaign.date.to_rfc2822(),
        subject = campaign.subject,
    )
}
