//! LISTEN/NOTIFY: what one host's service writes is heard by every other host at once.
//!
//! Two channels. `retractor_work`: the transaction that writes a job notifies it, and each
//! host's idle worker wakes and claims. `retractor_progress`: a transaction that changes a
//! job's progress (a claim, a finished or requeued item, its end, a throttle note) notifies
//! it with the job's id, and each host's progress feeds of that job read it again (see
//! `PgStore::write` for how often). PostgreSQL delivers a notification at commit, and never
//! for a transaction that rolls back.
//!
//! A process that listens keeps one more session per channel, on a thread of its own, opened
//! as the store's own session was (TLS included). Notifications sent while that session is
//! down are lost, not queued, so every connect and reconnect is itself heard, as "anything
//! may have changed": the worker then reads the store as it does on every poll, and the feeds
//! read every job they follow. The polls stay the floor; notifications only take their
//! intervals out of the time a change on one host takes to show on the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::conn::Connector;

/// The channel a write that makes claimable work notifies.
pub(super) const WORK_CHANNEL: &str = "retractor_work";
/// The channel a write that changes a job's progress notifies, with the job's id.
pub(super) const PROGRESS_CHANNEL: &str = "retractor_progress";

/// How long one wait for a notification lasts before the thread looks at its stop flag.
const WAIT: Duration = Duration::from_millis(500);
/// The first and the longest pause before connecting again after a lost session.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// What was heard: a notification's payload, or `None` after a (re)connect, when whatever was
/// said meanwhile is lost. Called from the listening thread, so it must be quick (a `Notify`).
pub type Heard = Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// Listen on `channel` on a session of its own until `stop` is set. `place` names the store
/// in warnings (it holds no password).
pub(super) fn spawn(
    connector: Connector,
    place: String,
    channel: &'static str,
    heard: Heard,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rtx-listen".into())
        .spawn(move || listen(&connector, &place, channel, &heard, &stop))
        .map(drop)
}

fn listen(connector: &Connector, place: &str, channel: &str, heard: &Heard, stop: &AtomicBool) {
    let mut retry = FIRST_RETRY;
    while !stop.load(Ordering::Relaxed) {
        match connector.connect() {
            Ok(mut client) => match client.batch_execute(&format!("LISTEN {channel}")) {
                Ok(()) => {
                    retry = FIRST_RETRY;
                    // Whatever was notified while this session was down is lost: read again.
                    heard(None);
                    follow(&mut client, heard, stop);
                    if !stop.load(Ordering::Relaxed) {
                        tracing::warn!(store = place, "lost the LISTEN session; connecting again");
                    }
                }
                Err(e) => tracing::warn!(store = place, "LISTEN: {}", super::conn::words(&e)),
            },
            Err(e) => tracing::warn!(
                store = place,
                "cannot connect to LISTEN: {}",
                super::conn::words(&e)
            ),
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(retry);
        retry = (retry * 2).min(LONGEST_RETRY);
    }
}

/// Pass on each notification until the session closes or `stop` is set.
fn follow(client: &mut postgres::Client, heard: &Heard, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let next = client.notifications().timeout_iter(WAIT).next();
        match next {
            Ok(Some(notification)) => heard(Some(notification.payload())),
            // A quiet interval, or the server gone: the driver says which.
            Ok(None) if client.is_closed() => return,
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

/// How often one handle tells a job's progress at most; its end is always told. Each
/// notification makes every feed of the job read it once, and PostgreSQL serialises the
/// commits of notifying transactions, so a 1,000-items-a-second job is not told 1,000 times
/// a second; what falls between two notifications shows at the next one or at the feeds'
/// own poll.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// When this handle last told each job's progress.
#[derive(Default)]
pub(super) struct ProgressTold {
    last: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
}

impl ProgressTold {
    /// Which of the jobs a transaction changed (`(job, ended)`) to tell now.
    pub fn due(&self, jobs: Vec<(i64, bool)>) -> Vec<i64> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let now = std::time::Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // Jobs long quiet are forgotten, so the map stays the size of the jobs running.
        if last.len() > 4096 {
            last.retain(|_, told| now.duration_since(*told) < Duration::from_secs(1));
        }
        jobs.into_iter()
            .filter_map(|(job, ended)| {
                let due = ended
                    || last
                        .get(&job)
                        .is_none_or(|told| now.duration_since(*told) >= PROGRESS_EVERY);
                if !due {
                    return None;
                }
                if ended {
                    last.remove(&job);
                } else {
                    last.insert(job, now);
                }
                Some(job)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{PROGRESS_EVERY, ProgressTold};

    #[test]
    fn a_job_is_told_at_most_once_an_interval_and_always_at_its_end() {
        let told = ProgressTold::default();
        assert_eq!(told.due(vec![(1, false), (2, false)]), [1, 2]);
        assert_eq!(told.due(vec![(1, false)]), Vec::<i64>::new());
        assert_eq!(told.due(vec![(1, true)]), [1]);
        // Ended and forgotten: the next change (a restore of it, say) is told at once.
        assert_eq!(told.due(vec![(1, false)]), [1]);
        std::thread::sleep(PROGRESS_EVERY);
        assert_eq!(told.due(vec![(2, false)]), [2]);
    }
}
