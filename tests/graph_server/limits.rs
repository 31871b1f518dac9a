//! Entering a mailbox: Exchange Online's limits (4 in flight per mailbox, `Retry-After`
//! obeyed), the optional server-wide throttle, injected faults, latency; every breach recorded.

use super::*;

/// One Graph operation: the per-mailbox limits, faults, latency, then the work.
pub(super) async fn operation(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
    query: &str,
    body: Value,
    latency: Duration,
) -> Answer {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let query = form_pairs(query);
    shared.data.lock().unwrap().stats.operations += 1;
    if segments.first().map(String::as_str) != Some("users") {
        return error(400, "BadRequest", "unsupported resource");
    }
    if segments.len() == 1 {
        tokio::time::sleep(latency).await;
        return list_users(shared, &query);
    }
    let user = {
        let d = shared.data.lock().unwrap();
        d.users
            .iter()
            .find(|u| u.id == segments[1] || u.mail.eq_ignore_ascii_case(&segments[1]))
            .cloned()
    };
    let Some(user) = user else {
        tokio::time::sleep(latency).await;
        return error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{}' does not exist", segments[1]),
        );
    };
    let server_limit = shared.settings.lock().unwrap().throttle_above;
    // Enter the mailbox: Retry-After, concurrency (the server's, then the mailbox's), faults.
    {
        let mut d = shared.data.lock().unwrap();
        let now = Instant::now();
        if let Some((sent, until)) = d.throttled.get(&user.id).copied()
            && now < until
            && now > sent + RETRY_AFTER_GRACE
        {
            d.violations.push(format!(
                "{method} {path} to {} {} ms before its Retry-After elapsed",
                user.mail,
                (until - now).as_millis()
            ));
        }
        if let Some(limit) = server_limit
            && d.total_in_flight >= limit.max
        {
            d.stats.over_server_limit += 1;
            return throttled(
                &mut d,
                &user.id,
                limit.retry_after_secs,
                "Application is over its concurrency limit.",
            );
        }
        d.total_in_flight += 1;
        d.stats.max_in_flight_total = d.stats.max_in_flight_total.max(d.total_in_flight);
        let n = d.in_flight.entry(user.id.clone()).or_insert(0);
        *n += 1;
        let n = *n;
        d.stats.max_in_flight = d.stats.max_in_flight.max(n);
        if n > MAILBOX_CONCURRENCY {
            d.violations
                .push(format!("request {n} in flight at once to {}", user.mail));
            leave(&mut d, &user.id);
            return throttled(
                &mut d,
                &user.id,
                1,
                "Application is over its MailboxConcurrency limit.",
            );
        }
        let decoded = segments.join("/");
        if let Some(i) = d.faults.iter().position(|f| {
            f.times > 0
                && f.status != 401
                && f.user
                    .as_ref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(&user.mail) || *u == user.id)
                && f.path_contains
                    .as_ref()
                    .is_none_or(|p| decoded.contains(p.as_str()))
        }) {
            let f = d.faults[i].clone();
            d.faults[i].times -= 1;
            leave(&mut d, &user.id);
            if f.status == 429 {
                return throttled(&mut d, &user.id, f.retry_after.unwrap_or(1), "injected");
            }
            let mut a = error(f.status, &f.code, "injected fault");
            if let Some(s) = f.retry_after {
                a.headers.push(("Retry-After".into(), s.to_string()));
            }
            return a;
        }
    }
    tokio::time::sleep(latency).await;
    let a = mailbox_operation(shared, &user, method, &segments[2..], &query, body);
    let mut d = shared.data.lock().unwrap();
    leave(&mut d, &user.id);
    d.stats.served += 1;
    a
}

/// A request to `user` is no longer in flight.
fn leave(d: &mut Data, user: &str) {
    if let Some(c) = d.in_flight.get_mut(user) {
        *c -= 1;
    }
    d.total_in_flight -= 1;
}

pub(super) fn throttled(d: &mut Data, user: &str, secs: u64, message: &str) -> Answer {
    let now = Instant::now();
    // The header says what it says (tests send absurd values); the clock stays in range.
    let until = now
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(now + Duration::from_secs(10 * 365 * 86_400));
    d.throttled.insert(user.to_string(), (now, until));
    d.stats.throttled += 1;
    let mut a = error(429, "ApplicationThrottled", message);
    a.headers.push(("Retry-After".into(), secs.to_string()));
    a
}
