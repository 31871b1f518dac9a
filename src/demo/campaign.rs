//! The incident the demo is about: a DocuSign-themed payroll phish from a lookalike domain,
//! the forwards and replies it spawned inside the company, and one hostile message whose
//! subject tries to attack the analyst's terminal.
//!
//! Conversation tree (depth: message, sender -> recipients; [log] = in log.jsonl):
//!
//! ```text
//! 0  ROOT  dse@docusiqn-mail.example -> 24 staff + m.osei@partner.example   [log] malicious
//! 1  R2    liam.obrien   -> the attacker's Reply-To ("Done, I signed it")   [log] outbound
//! 1  F1    karen.lindqvist -> priya.shah, cc marcus.reid   (Fwd, webmail)    not logged
//! 1  F2    rachel.greene -> samuel.ortiz, ingrid.berg      (Fwd, iPhone)     not logged
//! 1  R1    diego.alvarez -> reply-all "Is this legit?"                       [log] has external rcpts
//! 2  S1    priya.shah    -> karen, cc marcus (Re: Fwd, "this is phishing")   not logged
//! 2  FF    ingrid.berg   -> grace.adeyemi (Fwd: Fwd, a forward of a forward) not logged
//! 2  R1b   chloe.bennett -> reply-all to R1 "stop replying all"              [log] has external rcpts
//! 3  P1    grace.adeyemi -> ingrid, cc rachel (Re: Fwd: Fwd, "not ours")     not logged
//! ```
//!
//! The log-less ones (F1, F2, S1, FF, P1) were sent from webmail or a phone, which the mail
//! store delivers to its own mailboxes without passing the gateway: the engine can only find
//! them by searching the mailboxes' In-Reply-To/References headers.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::assets;
use super::mailgen::{Addr, Attachment, Mail};
use super::plan::{Ctx, Folder, Planned};

/// The lookalike domain: "docusiqn" with a q.
const PHISH_DOMAIN: &str = "docusiqn-mail.example";
/// The general counsel: on legal hold, and a recipient of the phish.
pub const HOLD_MAILBOX: &str = "margaret.okafor@demo.test";
/// The one recipient outside the tenant: shows up as "external: not actionable".
pub const PARTNER: (&str, &str) = ("Michael Osei", "m.osei@partner.example");

/// Internal recipients of the phish, besides the fixed actors below.
const EXTRA_RECIPIENTS: usize = 18;

/// People who act in the script; all were on the phish's recipient list.
const ACTORS: [&str; 6] = [
    "karen.lindqvist@demo.test",
    "rachel.greene@demo.test",
    "diego.alvarez@demo.test",
    "liam.obrien@demo.test",
    "chloe.bennett@demo.test",
    HOLD_MAILBOX,
];

/// People who get the phish only through forwards, so they must not be on the original list.
const FORWARD_ONLY: [&str; 4] = [
    "priya.shah@demo.test",
    "samuel.ortiz@demo.test",
    "ingrid.berg@demo.test",
    "grace.adeyemi@demo.test",
];

/// What the rest of the generator needs to know about the incident.
pub struct Incident {
    pub campaign_message_id: String,
    pub hostile_message_id: String,
    /// The campaign's message as delivered, for the reports of the abuse mailbox.
    pub campaign: Mail,
    /// Who of the recipients reported it (to the abuse mailbox), in the order they did.
    pub reporters: Vec<Addr>,
}

/// When the phish arrived: 09:12 UTC on the latest day that keeps it 24 to 48 hours old.
fn campaign_time(now: DateTime<Utc>) -> DateTime<Utc> {
    let day_before = now - Duration::hours(24);
    let at = day_before
        .date_naive()
        .and_hms_opt(9, 12, 37)
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap_or(day_before);
    if at > day_before {
        at - Duration::days(1)
    } else {
        at
    }
}

fn addr_of(ctx: &Ctx, address: &str) -> Addr {
    match ctx.index_of(address) {
        Some(i) => ctx.addr(i),
        None => Addr::new("", address),
    }
}

fn text(name: &str) -> String {
    assets::section(assets::CAMPAIGN, name)
}

/// Internal mail from webmail or a phone: delivered by the store itself, never logged.
fn local(ctx: &mut Ctx, mut mail: Mail, client: &str, mailer: &str) -> Planned {
    mail.received = ctx.local_trace(client, mail.date);
    mail.extra.push(("X-Mailer".into(), mailer.into()));
    let mut p = Planned {
        received_at: mail.date + Duration::seconds(1),
        mail,
        disposition: "clean",
        gateway_id: None,
        copies: Vec::new(),
    };
    ctx.deliver(&mut p);
    p
}

/// Mail with outside recipients goes out through the gateway, which logs it.
fn relayed(ctx: &mut Ctx, mut mail: Mail) -> Planned {
    let (received, qid) = ctx.relayed_trace(mail.date);
    mail.received = received;
    let mut p = Planned {
        received_at: mail.date + Duration::seconds(1),
        mail,
        disposition: "clean",
        gateway_id: Some(qid),
        copies: Vec::new(),
    };
    ctx.deliver(&mut p);
    p
}

/// Mark who has opened a message: the ones who acted on it surely have.
fn mark_read(p: &mut Planned, readers: &[&str]) {
    for c in &mut p.copies {
        if readers.contains(&c.mailbox.as_str()) {
            c.seen = true;
        }
    }
}

pub fn generate(ctx: &mut Ctx) -> Incident {
    let at = campaign_time(ctx.now);
    let reply_to = Addr::new(
        "Payroll Department",
        &format!("payroll-docs@{PHISH_DOMAIN}"),
    );

    // Recipients: the actors plus a spread of everyone else, in directory order as a
    // harvested address list would be, with the partner somewhere in the middle.
    let mut pool: Vec<usize> = (0..ctx.roster.people.len())
        .filter(|&i| {
            let a = ctx.person(i).address.as_str();
            !ACTORS.contains(&a) && !FORWARD_ONLY.contains(&a)
        })
        .collect();
    ctx.rng.shuffle(&mut pool);
    pool.truncate(EXTRA_RECIPIENTS);
    pool.extend(ACTORS.iter().filter_map(|a| ctx.index_of(a)));
    pool.sort_unstable();
    let mut to: Vec<Addr> = pool.iter().map(|&i| ctx.addr(i)).collect();
    to.insert(to.len() / 2, Addr::new(PARTNER.0, PARTNER.1));

    let link = format!(
        "https://{PHISH_DOMAIN}/Signing/EmailStart.aspx?a={}&acct=demo-test",
        ctx.rng.hex(32)
    );
    let sent = at - Duration::seconds(23);
    let mut root = Mail {
        message_id: ctx.message_id(sent, PHISH_DOMAIN),
        date: sent,
        from: Addr::new(
            "DocuSign via Payroll Department",
            &format!("dse@{PHISH_DOMAIN}"),
        ),
        to,
        cc: Vec::new(),
        subject: text("lure_subject"),
        raw_subject: false,
        in_reply_to: None,
        references: Vec::new(),
        return_path: format!("bounces+{}@{PHISH_DOMAIN}", ctx.rng.hex(10)),
        received: Vec::new(),
        extra: vec![(
            "Reply-To".into(),
            format!("\"{}\" <{}>", "Payroll Department", reply_to.email),
        )],
        body: text("lure_body").replace("{link}", &link),
        // The lure's HTML "document": the same link again, as such attachments carry it.
        attachment: Some(Attachment {
            name: "Payroll_Document_Review.html".into(),
            content_type: "text/html".into(),
            bytes: format!(
                "<html><body><p>Your payroll document is ready for review.</p>\n\
                 <p><a href=\"{link}\">Review Document</a></p></body></html>\n"
            )
            .into_bytes(),
        }),
    };
    let (received, qid) = ctx.inbound_trace(PHISH_DOMAIN, at);
    root.received = received;
    let mut root = Planned {
        mail: root,
        received_at: at,
        disposition: "malicious",
        gateway_id: Some(qid),
        copies: Vec::new(),
    };
    ctx.deliver(&mut root);
    mark_read(&mut root, &ACTORS[..5]);
    // One bystander already deleted it: the engine has to find that copy in Trash.
    let bystanders: Vec<usize> = (0..root.copies.len())
        .filter(|&i| !ACTORS.contains(&root.copies[i].mailbox.as_str()))
        .collect();
    if let Some(&i) = ctx.rng.pick(&bystanders) {
        root.copies[i].folder = Folder::Trash;
        root.copies[i].seen = true;
    }
    let root_mail = root.mail.clone();
    let campaign_message_id = root_mail.message_id.clone();
    ctx.out.push(root);

    let minutes = |m: i64| at + Duration::minutes(m);

    // Depth 1.
    let liam = addr_of(ctx, "liam.obrien@demo.test");
    let signed = text("signed_reply").replace("{first}", "Liam");
    let mut r2 = ctx.reply(&root_mail, liam, false, &signed, minutes(12));
    r2.to = vec![reply_to.clone()];
    let r2 = relayed(ctx, r2);
    ctx.out.push(r2);

    let karen = addr_of(ctx, "karen.lindqvist@demo.test");
    let priya = addr_of(ctx, "priya.shah@demo.test");
    let marcus = addr_of(ctx, "marcus.reid@demo.test");
    let f1 = ctx.forward(
        &root_mail,
        karen.clone(),
        vec![priya.clone()],
        vec![marcus.clone()],
        &text("fwd_security"),
        minutes(27),
    );
    let mut f1 = local(ctx, f1, "webmail", "Roundcube Webmail/1.6.9");
    mark_read(&mut f1, &["priya.shah@demo.test"]);
    let f1_mail = f1.mail.clone();
    ctx.out.push(f1);

    let rachel = addr_of(ctx, "rachel.greene@demo.test");
    let samuel = addr_of(ctx, "samuel.ortiz@demo.test");
    let ingrid = addr_of(ctx, "ingrid.berg@demo.test");
    let f2 = ctx.forward(
        &root_mail,
        rachel.clone(),
        vec![samuel, ingrid.clone()],
        Vec::new(),
        &text("fwd_hr"),
        minutes(41),
    );
    let mut f2 = local(ctx, f2, "mobile", "iPhone Mail (22B91)");
    mark_read(&mut f2, &["ingrid.berg@demo.test"]);
    let f2_mail = f2.mail.clone();
    ctx.out.push(f2);

    let diego = addr_of(ctx, "diego.alvarez@demo.test");
    let mut r1 = ctx.reply(
        &root_mail,
        diego,
        true,
        &text("reply_all_legit"),
        minutes(55),
    );
    // Reply-all answers the Reply-To, not the From: straight back to the attacker.
    if let Some(first) = r1.to.first_mut() {
        *first = reply_to.clone();
    }
    let mut r1 = relayed(ctx, r1);
    mark_read(&mut r1, &["chloe.bennett@demo.test"]);
    let r1_mail = r1.mail.clone();
    ctx.out.push(r1);

    // Depth 2.
    let s1 = ctx.reply(&f1_mail, priya, true, &text("security_reply"), minutes(68));
    let mut s1 = local(ctx, s1, "webmail", "Roundcube Webmail/1.6.9");
    mark_read(&mut s1, &["karen.lindqvist@demo.test"]);
    ctx.out.push(s1);

    let chloe = addr_of(ctx, "chloe.bennett@demo.test");
    let r1b = ctx.reply(&r1_mail, chloe, true, &text("reply_all_stop"), minutes(75));
    let r1b = relayed(ctx, r1b);
    ctx.out.push(r1b);

    let grace = addr_of(ctx, "grace.adeyemi@demo.test");
    let ff = ctx.forward(
        &f2_mail,
        ingrid,
        vec![grace.clone()],
        Vec::new(),
        &text("fwd_fwd"),
        minutes(92),
    );
    let mut ff = local(ctx, ff, "webmail", "Roundcube Webmail/1.6.9");
    mark_read(&mut ff, &["grace.adeyemi@demo.test"]);
    let ff_mail = ff.mail.clone();
    ctx.out.push(ff);

    // Depth 3.
    let mut p1 = ctx.reply(&ff_mail, grace, false, &text("payroll_reply"), minutes(125));
    p1.cc = vec![rachel];
    let p1 = local(ctx, p1, "webmail", "Roundcube Webmail/1.6.9");
    ctx.out.push(p1);

    let hostile_message_id = hostile(ctx);
    let reporters = ACTORS[..3].iter().map(|a| addr_of(ctx, a)).collect();
    Incident {
        campaign_message_id,
        hostile_message_id,
        campaign: root_mail.clone(),
        reporters,
    }
}

/// A message whose subject carries a clear-screen, a window-title change with BEL, and a
/// right-to-left override that makes "fdp.exe" display as "exe.pdf". Written raw into the
/// file and (JSON-escaped) into the log: the console must render it inert.
fn hostile(ctx: &mut Ctx) -> String {
    let day = ctx.now.date_naive() - Duration::days(3);
    let at = day
        .and_hms_opt(14, 3, 17)
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap_or(ctx.now - Duration::days(3));
    let domain = "invoice-center.example";
    let to = ["nadia.haddad@demo.test", "oscar.pettersson@demo.test"]
        .iter()
        .map(|a| addr_of(ctx, a))
        .collect();
    let mut mail = Mail {
        message_id: ctx.message_id(at - Duration::seconds(9), domain),
        date: at - Duration::seconds(9),
        from: Addr::new("Accounts Receivable", &format!("ar@{domain}")),
        to,
        cc: Vec::new(),
        subject: "Invoice \x1b[2J\x1b]0;pwned\x07 overdue \u{202e}fdp.exe".to_string(),
        raw_subject: true,
        in_reply_to: None,
        references: Vec::new(),
        return_path: format!("ar@{domain}"),
        received: Vec::new(),
        extra: Vec::new(),
        body: text("hostile_body"),
        attachment: None,
    };
    let (received, qid) = ctx.inbound_trace(domain, at);
    mail.received = received;
    let id = mail.message_id.clone();
    let mut p = Planned {
        mail,
        received_at: at,
        disposition: "suspicious",
        gateway_id: Some(qid),
        copies: Vec::new(),
    };
    ctx.deliver(&mut p);
    for c in &mut p.copies {
        c.seen = false;
    }
    ctx.out.push(p);
    id
}
