//! LISTEN/NOTIFY: work one host's service writes wakes every other host's idle worker at once.
//!
//! The transaction that writes a job sends `NOTIFY retractor_work` (PostgreSQL delivers it at
//! commit, and never for a transaction that rolls back). A process that runs a worker keeps
//! one more session, on a thread of its own, LISTENing on that channel. Notifications sent
//! while that session is down are lost, not queued, so every connect and reconnect is itself
//! a wake: the worker then reads the store as it does on every poll, and whatever was said
//! meanwhile is found there. The idle poll stays the floor; the notification only takes the
//! poll's interval out of the time a job made on one host waits on the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

/// The channel a write that makes claimable work notifies.
pub(super) const WORK_CHANNEL: &str = "retractor_work";

/// How long one wait for a notification lasts before the thread looks at its stop flag.
const WAIT: Duration = Duration::from_millis(500);
/// The first and the longest pause before connecting again after a lost session.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// What gets woken: called from the listening thread, so it must be quick (a `Notify`).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Listen on its own session until `stop` is set: `wake` on every notification and on every
/// (re)connect. `place` names the store in warnings (it holds no password).
pub(super) fn spawn(
    config: postgres::Config,
    place: String,
    wake: Wake,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rtx-listen".into())
        .spawn(move || listen(&config, &place, &wake, &stop))
        .map(drop)
}

fn listen(config: &postgres::Config, place: &str, wake: &Wake, stop: &AtomicBool) {
    let mut retry = FIRST_RETRY;
    while !stop.load(Ordering::Relaxed) {
        match config.connect(postgres::NoTls) {
            Ok(mut client) => match client.batch_execute(&format!("LISTEN {WORK_CHANNEL}")) {
                Ok(()) => {
                    retry = FIRST_RETRY;
                    // Whatever was notified while this session was down is lost: read again.
                    wake();
                    follow(&mut client, wake, stop);
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

/// Wake on each notification until the session closes or `stop` is set.
fn follow(client: &mut postgres::Client, wake: &Wake, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let heard = client.notifications().timeout_iter(WAIT).next();
        match heard {
            Ok(Some(_)) => wake(),
            // A quiet interval, or the server gone: the driver says which.
            Ok(None) if client.is_closed() => return,
            Ok(None) => {}
            Err(_) => return,
        }
    }
}
