//! The in-memory tenant: every message with where its copies go, before anything is written.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use super::mailgen::{Addr, Mail};
use super::people::{DOMAIN, Person, Roster};
use super::rng::Rng;
use crate::model::MessageRecord;

/// The Maildir++ folder a copy sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    Inbox,
    Junk,
    Trash,
    Sent,
}

impl Folder {
    /// The directory under the mailbox, Dovecot's `.Name` layout; INBOX is the mailbox itself.
    pub fn dir(self) -> &'static str {
        match self {
            Folder::Inbox => "",
            Folder::Junk => ".Junk",
            Folder::Trash => ".Trash",
            Folder::Sent => ".Sent",
        }
    }
}

/// One copy of a message in one mailbox.
#[derive(Clone, Debug)]
pub struct Copy {
    pub mailbox: String,
    pub folder: Folder,
    pub seen: bool,
    /// Delivery time (the file's mtime and name stamp).
    pub at: DateTime<Utc>,
}

/// One message: its text, its gateway verdict and where it landed.
#[derive(Clone, Debug)]
pub struct Planned {
    pub mail: Mail,
    pub received_at: DateTime<Utc>,
    pub disposition: &'static str,
    /// The gateway's queue id; `None` for mail that never crossed the gateway and so is not
    /// in the message log.
    pub gateway_id: Option<String>,
    pub copies: Vec<Copy>,
}

impl Planned {
    /// The log line the gateway wrote for this message, if it saw it.
    pub fn record(&self) -> Option<MessageRecord> {
        let gateway_id = self.gateway_id.as_ref()?;
        Some(MessageRecord {
            message_id: self.mail.message_id.clone(),
            from: self.mail.from.email.clone(),
            to: self.mail.to.iter().map(|a| a.email.clone()).collect(),
            cc: self.mail.cc.iter().map(|a| a.email.clone()).collect(),
            subject: self.mail.subject.clone(),
            received_at: self.received_at,
            disposition: Some(self.disposition.to_string()),
            in_reply_to: self.mail.in_reply_to.clone(),
            references: self.mail.references.clone(),
            size: Some(self.mail.render().len() as u64),
            tenant: Some("demo".to_string()),
            source_id: Some(gateway_id.clone()),
        })
    }
}

/// Whether an address is a mailbox of the demo tenant.
pub fn internal(email: &str) -> bool {
    email.ends_with(&format!("@{DOMAIN}"))
}

/// Generation state shared by the traffic and campaign builders.
pub struct Ctx {
    pub rng: Rng,
    pub roster: Roster,
    pub now: DateTime<Utc>,
    pub out: Vec<Planned>,
}

const WEEKDAYS: [&str; 5] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Ctx {
    pub fn new(now: DateTime<Utc>) -> Ctx {
        // Fixed salt so that the tenant depends on `now` alone.
        let seed = 0x5245_5452_4143_5452 ^ now.timestamp() as u64;
        Ctx {
            rng: Rng::new(seed),
            roster: Roster::load(),
            now,
            out: Vec::new(),
        }
    }

    pub fn person(&self, i: usize) -> &Person {
        &self.roster.people[i]
    }

    pub fn addr(&self, i: usize) -> Addr {
        let p = self.person(i);
        Addr::new(&p.display(), &p.address)
    }

    /// The person behind a demo.test address; the campaign script names its actors this way.
    pub fn index_of(&self, address: &str) -> Option<usize> {
        self.roster.people.iter().position(|p| p.address == address)
    }

    /// A client-style Message-ID, unique thanks to 64 random bits.
    pub fn message_id(&mut self, at: DateTime<Utc>, domain: &str) -> String {
        format!(
            "<{}.{}@{domain}>",
            at.format("%Y%m%d%H%M%S"),
            self.rng.hex(16)
        )
    }

    /// A Postfix-style queue id, which is what the gateway logs as `source_id`.
    pub fn queue_id(&mut self) -> String {
        self.rng.hex(11).to_ascii_uppercase()
    }

    /// Trace of mail from outside: the sender's server, the gateway, then local delivery.
    pub fn inbound_trace(&mut self, from_domain: &str, at: DateTime<Utc>) -> (Vec<String>, String) {
        let qid = self.queue_id();
        let ip = format!("198.51.100.{}", self.rng.range(2, 250));
        let lmtp = self.rng.hex(12);
        let received = vec![
            format!(
                "from mx1.{DOMAIN} (mx1.{DOMAIN} [10.20.0.25])\nby mail.{DOMAIN} (Dovecot) with LMTP id {lmtp};\n{}",
                (at + Duration::seconds(2)).to_rfc2822()
            ),
            format!(
                "from mail.{from_domain} (mail.{from_domain} [{ip}])\nby mx1.{DOMAIN} (Postfix) with ESMTPS id {qid};\n{}",
                at.to_rfc2822()
            ),
        ];
        (received, qid)
    }

    /// Trace of internal or outbound mail sent from a desktop client through the gateway,
    /// which scans and logs it.
    pub fn relayed_trace(&mut self, at: DateTime<Utc>) -> (Vec<String>, String) {
        let qid = self.queue_id();
        let host = self.rng.range(100, 999);
        let ip = format!("10.20.{}.{}", self.rng.range(1, 9), self.rng.range(10, 250));
        let lmtp = self.rng.hex(12);
        let received = vec![
            format!(
                "from mx1.{DOMAIN} (mx1.{DOMAIN} [10.20.0.25])\nby mail.{DOMAIN} (Dovecot) with LMTP id {lmtp};\n{}",
                (at + Duration::seconds(2)).to_rfc2822()
            ),
            format!(
                "from ws-{host}.corp.{DOMAIN} (ws-{host}.corp.{DOMAIN} [{ip}])\nby mx1.{DOMAIN} (Postfix) with ESMTPSA id {qid};\n{}",
                at.to_rfc2822()
            ),
        ];
        (received, qid)
    }

    /// Trace of internal mail sent from webmail or a phone: the mail store delivers it to its
    /// own mailboxes directly, so it never reaches the gateway and is not in the message log.
    pub fn local_trace(&mut self, client: &str, at: DateTime<Utc>) -> Vec<String> {
        let lmtp = self.rng.hex(12);
        vec![format!(
            "from {client}.{DOMAIN} ({client}.{DOMAIN} [10.20.0.8])\nby mail.{DOMAIN} (Dovecot) with LMTP id {lmtp};\n{}",
            at.to_rfc2822()
        )]
    }

    /// A weekday name for templates.
    pub fn weekday_name(&mut self) -> &'static str {
        WEEKDAYS[self.rng.below(WEEKDAYS.len())]
    }

    pub fn month_name(&self) -> &'static str {
        MONTHS[self.now.month0() as usize]
    }

    /// Fill the placeholders of a subject and its body with the same values, so that a
    /// subject saying "due Wednesday" is not followed by a body saying "due Thursday".
    pub fn fill(
        &mut self,
        subject: &str,
        body: &str,
        to_first: &str,
        from_first: &str,
    ) -> (String, String) {
        let n = self.rng.range(2, 9).to_string();
        let reference = self.rng.range(10_000, 99_999).to_string();
        let weekday = self.weekday_name();
        let month = self.month_name();
        let one = |template: &str| {
            template
                .replace("{to_first}", to_first)
                .replace("{from_first}", from_first)
                .replace("{n}", &n)
                .replace("{ref}", &reference)
                .replace("{weekday}", weekday)
                .replace("{month}", month)
        };
        (one(subject), one(&super::assets::unescape(body)))
    }

    /// Fill a body alone (replies, which inherit their subject).
    pub fn fill_body(&mut self, body: &str, to_first: &str, from_first: &str) -> String {
        self.fill("", body, to_first, from_first).1
    }

    /// The signature block of a member of staff.
    pub fn signature(&self, i: usize) -> String {
        let p = self.person(i);
        let dept = self
            .roster
            .departments
            .iter()
            .find(|(k, _)| *k == p.dept)
            .map(|(_, name)| name.as_str())
            .unwrap_or(p.dept.as_str());
        format!("\n-- \n{}\n{}, {dept}\nDemo Company", p.display(), p.title)
    }

    /// The days of the two weeks before `now`, oldest first.
    pub fn days(&self) -> Vec<NaiveDate> {
        let today = self.now.date_naive();
        (1..=14).rev().map(|d| today - Duration::days(d)).collect()
    }

    pub fn is_weekend(day: NaiveDate) -> bool {
        matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// A moment on `day` between `from_hour` and `to_hour` (UTC).
    pub fn at(&mut self, day: NaiveDate, from_hour: i64, to_hour: i64) -> DateTime<Utc> {
        let secs = self.rng.range(from_hour * 3600, to_hour * 3600 - 1);
        let midnight = day.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
        midnight.unwrap_or(self.now) + Duration::seconds(secs)
    }

    /// Office hours mostly, with the odd early or late message.
    pub fn work_time(&mut self, day: NaiveDate) -> DateTime<Utc> {
        if self.rng.chance(0.06) {
            if self.rng.chance(0.5) {
                self.at(day, 6, 8)
            } else {
                self.at(day, 18, 22)
            }
        } else {
            self.at(day, 8, 18)
        }
    }

    /// Whether someone has opened a message delivered at `at` by now: old mail mostly has been.
    pub fn read_by_now(&mut self, at: DateTime<Utc>) -> bool {
        let age = self.now - at;
        let p = if age > Duration::days(3) { 0.9 } else { 0.6 };
        self.rng.chance(p)
    }

    /// Add INBOX copies for every internal recipient, and the sender's Sent copy when the
    /// sender is one of ours.
    pub fn deliver(&mut self, p: &mut Planned) {
        let mut seen_mailboxes: Vec<String> = Vec::new();
        for a in p.mail.to.iter().chain(&p.mail.cc) {
            if internal(&a.email) && !seen_mailboxes.contains(&a.email) {
                seen_mailboxes.push(a.email.clone());
            }
        }
        for mailbox in seen_mailboxes {
            let seen = self.read_by_now(p.received_at);
            p.copies.push(Copy {
                mailbox,
                folder: Folder::Inbox,
                seen,
                at: p.received_at,
            });
        }
        if internal(&p.mail.from.email) {
            p.copies.push(Copy {
                mailbox: p.mail.from.email.clone(),
                folder: Folder::Sent,
                seen: true,
                at: p.mail.date,
            });
        }
    }

    /// A reply to `parent` by `from`: to its author, and with `all` to its other recipients.
    pub fn reply(
        &mut self,
        parent: &Mail,
        from: Addr,
        all: bool,
        text: &str,
        at: DateTime<Utc>,
    ) -> Mail {
        let mut to = vec![parent.from.clone()];
        let mut cc = Vec::new();
        if all {
            for a in &parent.to {
                if a.email != from.email && !to.iter().any(|t: &Addr| t.email == a.email) {
                    to.push(a.clone());
                }
            }
            for a in &parent.cc {
                if a.email != from.email && !to.iter().chain(&cc).any(|t: &Addr| t.email == a.email)
                {
                    cc.push(a.clone());
                }
            }
        }
        to.retain(|a| a.email != from.email);
        if to.is_empty() {
            to.push(parent.from.clone());
        }
        let subject = if parent.subject.to_ascii_lowercase().starts_with("re:") {
            parent.subject.clone()
        } else {
            format!("Re: {}", parent.subject)
        };
        let quoted: String = parent
            .body
            .lines()
            .map(|l| {
                if l.is_empty() {
                    ">".to_string()
                } else {
                    format!("> {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let body = format!(
            "{text}\n\nOn {}, {} wrote:\n{quoted}\n",
            parent.date.format("%a, %-d %b %Y at %H:%M"),
            parent.from.human()
        );
        self.child(parent, from, to, cc, subject, body, at)
    }

    /// A forward of `parent` by `from` to new recipients, with a note on top.
    pub fn forward(
        &mut self,
        parent: &Mail,
        from: Addr,
        to: Vec<Addr>,
        cc: Vec<Addr>,
        note: &str,
        at: DateTime<Utc>,
    ) -> Mail {
        let subject = format!("Fwd: {}", parent.subject);
        let to_line = wrap(
            &parent
                .to
                .iter()
                .map(Addr::human)
                .collect::<Vec<_>>()
                .join(", "),
            76,
        );
        let body = format!(
            "{note}\n\n---------- Forwarded message ---------\nFrom: {}\nDate: {}\nSubject: {}\nTo: {}\n\n{}\n",
            parent.from.human(),
            parent.date.format("%a, %-d %b %Y at %H:%M"),
            parent.subject,
            to_line,
            parent.body
        );
        self.child(parent, from, to, cc, subject, body, at)
    }

    /// The common part of replies and forwards: the threading headers. Forwards carry them
    /// too, as Outlook, Apple Mail and Gmail do, which is what lets retractor follow them.
    #[allow(clippy::too_many_arguments)]
    fn child(
        &mut self,
        parent: &Mail,
        from: Addr,
        to: Vec<Addr>,
        cc: Vec<Addr>,
        subject: String,
        body: String,
        at: DateTime<Utc>,
    ) -> Mail {
        let mut references = parent.references.clone();
        references.push(parent.message_id.clone());
        Mail {
            message_id: self.message_id(at, DOMAIN),
            date: at,
            return_path: from.email.clone(),
            from,
            to,
            cc,
            subject,
            raw_subject: false,
            in_reply_to: Some(parent.message_id.clone()),
            references,
            received: Vec::new(),
            extra: Vec::new(),
            body,
            attachment: None,
        }
    }
}

/// Break a long line at spaces so no body line comes near the 998-octet limit of RFC 5322.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}
