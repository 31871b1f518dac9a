//! Everyday mail of the two weeks before `now`: internal threads, vendors and customers,
//! newsletters, spam, and mail in other scripts. All of it crossed the gateway and is logged.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::assets;
use super::mailgen::{Addr, Mail};
use super::plan::{Ctx, Folder, Planned, internal};

/// Internal threads started per working day.
const THREADS_PER_DAY: usize = 10;
/// Inbound vendor and customer messages per working day.
const EXTERNAL_PER_DAY: usize = 5;
/// Fewest logged messages of everyday mail: the demo promises at least 300 in the log.
const MIN_LOGGED: usize = 320;

pub fn generate(ctx: &mut Ctx) {
    let days = ctx.days();
    for &day in &days {
        let weekend = Ctx::is_weekend(day);
        if !weekend {
            for _ in 0..THREADS_PER_DAY {
                internal_thread(ctx, day);
            }
            for _ in 0..EXTERNAL_PER_DAY {
                external(ctx, day);
            }
        }
        let bulk = if weekend { 1 } else { 3 };
        for _ in 0..bulk {
            newsletter(ctx, day);
        }
        let junk = ctx.rng.range(1, 2);
        for _ in 0..junk {
            spam(ctx, day);
        }
    }
    international(ctx, &days);
    // Thread lengths are random; make sure every `now` still gives the promised volume.
    let workdays: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| !Ctx::is_weekend(*d))
        .collect();
    while ctx.out.iter().filter(|p| p.gateway_id.is_some()).count() < MIN_LOGGED {
        let Some(&day) = ctx.rng.pick(&workdays) else {
            break;
        };
        internal_thread(ctx, day);
    }
}

/// Pick `k` distinct people from `pool`, never `except`.
fn choose(ctx: &mut Ctx, pool: &[usize], k: usize, except: &[usize]) -> Vec<usize> {
    let mut candidates: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|i| !except.contains(i))
        .collect();
    ctx.rng.shuffle(&mut candidates);
    candidates.truncate(k);
    candidates
}

/// Internal mail sent from a desktop client: relayed (and logged) by the gateway.
fn internal_mail(ctx: &mut Ctx, mut mail: Mail, at: DateTime<Utc>) -> Planned {
    let (received, qid) = ctx.relayed_trace(at);
    mail.received = received;
    let mut p = Planned {
        mail,
        received_at: at + Duration::seconds(1),
        disposition: "clean",
        gateway_id: Some(qid),
        copies: Vec::new(),
    };
    ctx.deliver(&mut p);
    p
}

fn new_mail(
    ctx: &mut Ctx,
    from: Addr,
    to: Vec<Addr>,
    cc: Vec<Addr>,
    subject: String,
    body: String,
    at: DateTime<Utc>,
) -> Mail {
    let domain = from
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    Mail {
        message_id: ctx.message_id(at, &domain),
        date: at,
        return_path: from.email.clone(),
        from,
        to,
        cc,
        subject,
        raw_subject: false,
        in_reply_to: None,
        references: Vec::new(),
        received: Vec::new(),
        extra: Vec::new(),
        body,
        attachment: None,
    }
}

/// A thread among colleagues, mostly within one department, with a few replies.
fn internal_thread(ctx: &mut Ctx, day: NaiveDate) {
    let templates = assets::records(assets::INTERNAL, 3);
    let everyone: Vec<usize> = (0..ctx.roster.people.len()).collect();
    let Some(&sender) = ctx.rng.pick(&everyone) else {
        return;
    };
    let dept = ctx.person(sender).dept.clone();
    let own: Vec<&Vec<&str>> = templates.iter().filter(|t| t[0] == dept).collect();
    let general: Vec<&Vec<&str>> = templates.iter().filter(|t| t[0] == "any").collect();
    let pool = if ctx.rng.chance(0.75) && !own.is_empty() {
        own
    } else {
        general
    };
    let Some(&template) = ctx.rng.pick(&pool) else {
        return;
    };

    let colleagues = ctx.roster.in_dept(&dept);
    let k = ctx.rng.range(1, 3) as usize;
    let mut to = choose(ctx, &colleagues, k, &[sender]);
    if to.is_empty() || ctx.rng.chance(0.3) {
        to.extend(choose(
            ctx,
            &everyone,
            1,
            &[&[sender][..], &to[..]].concat(),
        ));
    }
    let cc = if ctx.rng.chance(0.2) {
        choose(ctx, &everyone, 1, &[&[sender][..], &to[..]].concat())
    } else {
        Vec::new()
    };
    thread(ctx, day, sender, to, cc, template[1], template[2], true);
}

/// Start a thread with the given text and let the participants answer a few times.
#[allow(clippy::too_many_arguments)]
fn thread(
    ctx: &mut Ctx,
    day: NaiveDate,
    sender: usize,
    to: Vec<usize>,
    cc: Vec<usize>,
    subject: &str,
    body: &str,
    sign: bool,
) {
    let to_first = to
        .first()
        .map(|&i| ctx.person(i).first.clone())
        .unwrap_or_default();
    let from_first = ctx.person(sender).first.clone();
    let (subject, mut body) = ctx.fill(subject, body, &to_first, &from_first);
    if sign {
        body.push_str(&ctx.signature(sender));
    }
    let at = ctx.work_time(day);
    let from = ctx.addr(sender);
    let to_addrs = to.iter().map(|&i| ctx.addr(i)).collect();
    let cc_addrs = cc.iter().map(|&i| ctx.addr(i)).collect();
    let mail = new_mail(ctx, from, to_addrs, cc_addrs, subject, body, at);
    let mut parent = internal_mail(ctx, mail, at);
    let mut last_sender = sender;
    let participants: Vec<usize> = [&[sender][..], &to[..], &cc[..]].concat();

    let replies = match ctx.rng.below(20) {
        0..=4 => 0,
        5..=11 => 1,
        12..=16 => 2,
        _ => 3,
    };
    let mut when = at;
    for _ in 0..replies {
        let Some(&who) = ctx.rng.pick(
            &participants
                .iter()
                .copied()
                .filter(|&p| p != last_sender)
                .collect::<Vec<_>>(),
        ) else {
            break;
        };
        when += Duration::minutes(ctx.rng.range(8, 180));
        if when >= ctx.now {
            break;
        }
        let replies_text = assets::lines(assets::REPLIES);
        let Some(&text) = ctx.rng.pick(&replies_text) else {
            break;
        };
        let to_first = parent.mail.from.name.clone().unwrap_or_default();
        let to_first = to_first.split(' ').next().unwrap_or_default().to_string();
        let from_first = ctx.person(who).first.clone();
        let text = ctx.fill_body(text, &to_first, &from_first);
        let all = ctx.rng.chance(0.6);
        let from = ctx.addr(who);
        let mail = ctx.reply(&parent.mail, from, all, &text, when);
        ctx.out.push(parent);
        parent = internal_mail(ctx, mail, when);
        last_sender = who;
    }
    ctx.out.push(parent);
}

/// Mail from a vendor or customer, sometimes answered by its recipient.
fn external(ctx: &mut Ctx, day: NaiveDate) {
    let templates = assets::records(assets::EXTERNAL, 5);
    let Some(t) = ctx.rng.pick(&templates).cloned() else {
        return;
    };
    let pool = ctx.roster.in_dept(t[0]);
    let k = if ctx.rng.chance(0.25) { 2 } else { 1 };
    let to = choose(ctx, &pool, k, &[]);
    let Some(&first) = to.first() else { return };
    let to_first = ctx.person(first).first.clone();
    let (subject, body) = ctx.fill(t[3], t[4], &to_first, "");
    let at = ctx.work_time(day);
    let from = Addr::new(t[1], t[2]);
    let to_addrs = to.iter().map(|&i| ctx.addr(i)).collect();
    let mail = inbound(ctx, from, to_addrs, subject, body, at, "clean");
    let parent = mail.mail.clone();
    ctx.out.push(mail);

    if ctx.rng.chance(0.35) {
        let when = at + Duration::minutes(ctx.rng.range(20, 240));
        if when < ctx.now {
            // Replies that greet a colleague by first name would read oddly to a company.
            let replies_text: Vec<&str> = assets::lines(assets::REPLIES)
                .into_iter()
                .filter(|r| !r.contains("{to_first}"))
                .collect();
            let Some(&text) = ctx.rng.pick(&replies_text) else {
                return;
            };
            let text = ctx.fill_body(text, "", &to_first);
            let text = format!("Hello,\n\n{text}{}", ctx.signature(first));
            let from = ctx.addr(first);
            let reply = ctx.reply(&parent, from, false, &text, when);
            // Outbound: the gateway logs it; the only copy on our side is the sender's Sent.
            let p = internal_mail(ctx, reply, when);
            ctx.out.push(p);
        }
    }
}

/// A message from outside, through the gateway, into the recipients' INBOX (or Junk).
fn inbound(
    ctx: &mut Ctx,
    from: Addr,
    to: Vec<Addr>,
    subject: String,
    body: String,
    at: DateTime<Utc>,
    disposition: &'static str,
) -> Planned {
    let domain = from
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let sent = at - Duration::seconds(ctx.rng.range(3, 40));
    let mut mail = new_mail(ctx, from, to, Vec::new(), subject, body, sent);
    let (received, qid) = ctx.inbound_trace(&domain, at);
    mail.received = received;
    let mut p = Planned {
        mail,
        received_at: at,
        disposition,
        gateway_id: Some(qid),
        copies: Vec::new(),
    };
    ctx.deliver(&mut p);
    if disposition == "spam" {
        for c in &mut p.copies {
            c.folder = Folder::Junk;
            c.seen = false;
        }
    }
    p
}

/// One newsletter issue to one subscriber: bulk senders address each reader separately.
fn newsletter(ctx: &mut Ctx, day: NaiveDate) {
    let senders = assets::records(assets::NEWSLETTERS, 4);
    let Some(t) = ctx.rng.pick(&senders).cloned() else {
        return;
    };
    let everyone: Vec<usize> = (0..ctx.roster.people.len()).collect();
    let Some(&reader) = ctx.rng.pick(&everyone) else {
        return;
    };
    let first = ctx.person(reader).first.clone();
    let (subject, body) = ctx.fill(t[2], t[3], &first, "");
    let at = ctx.at(day, 5, 9);
    let to = vec![ctx.addr(reader)];
    let mut p = inbound(ctx, Addr::new(t[0], t[1]), to, subject, body, at, "bulk");
    let domain = t[1].rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let bounce = format!("bounce-{}@{domain}", ctx.rng.hex(8));
    p.mail.return_path = bounce;
    p.mail.extra.push(("Precedence".into(), "bulk".into()));
    p.mail.extra.push((
        "List-Unsubscribe".into(),
        format!("<https://{domain}/unsubscribe>"),
    ));
    ctx.out.push(p);
}

/// Junk the gateway tagged but delivered, into the recipient's Junk folder.
fn spam(ctx: &mut Ctx, day: NaiveDate) {
    let senders = assets::records(assets::SPAM, 4);
    let Some(t) = ctx.rng.pick(&senders).cloned() else {
        return;
    };
    let everyone: Vec<usize> = (0..ctx.roster.people.len()).collect();
    let k = ctx.rng.range(1, 3) as usize;
    let to = choose(ctx, &everyone, k, &[]);
    let (subject, body) = ctx.fill(t[2], t[3], "", "");
    let at = ctx.at(day, 0, 24);
    let to_addrs = to.iter().map(|&i| ctx.addr(i)).collect();
    let p = inbound(
        ctx,
        Addr::new(t[0], t[1]),
        to_addrs,
        subject,
        body,
        at,
        "spam",
    );
    ctx.out.push(p);
}

/// Mail whose subjects are German, French, Japanese or carry emoji: every one of them is
/// written RFC 2047 encoded, so the log shows them decoded and the files encoded.
fn international(ctx: &mut Ctx, days: &[NaiveDate]) {
    let workdays: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| !Ctx::is_weekend(*d))
        .collect();
    for t in assets::records(assets::INTL, 5) {
        let Some(&day) = ctx.rng.pick(&workdays) else {
            return;
        };
        let pool = ctx.roster.in_dept(t[2]);
        if internal(t[1]) {
            let Some(sender) = ctx.index_of(t[1]) else {
                continue;
            };
            let k = ctx.rng.range(2, 4) as usize;
            let to = choose(ctx, &pool, k, &[sender]);
            // The body already signs off in its own language: no signature block.
            thread(ctx, day, sender, to, Vec::new(), t[3], t[4], false);
        } else {
            let k = ctx.rng.range(1, 2) as usize;
            let to = choose(ctx, &pool, k, &[]);
            let (subject, body) = ctx.fill(t[3], t[4], "", "");
            let at = ctx.work_time(day);
            let to_addrs = to.iter().map(|&i| ctx.addr(i)).collect();
            let p = inbound(
                ctx,
                Addr::new(t[0], t[1]),
                to_addrs,
                subject,
                body,
                at,
                "clean",
            );
            ctx.out.push(p);
        }
    }
}
