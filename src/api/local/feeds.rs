//! One progress feed per watched job, shared by every watcher of the process.
//!
//! The service may have many clients watching one job (two analysts on the same pull, a
//! console and a `jobs --watch`). Each used to poll the store on its own, so each saw its own
//! sequence of states and N watchers cost N reads a tick. Now the first watcher of a job
//! starts one poller; it publishes each change on a `tokio::sync::watch` channel that every
//! later watcher of the job subscribes to. Every watcher therefore sees the same published
//! sequence (a slow one skips to the newest state rather than stalling), and the store is read
//! once a tick per job, however many watch.
//!
//! The poller reads the store rather than being told by the engine because the job may run in
//! another process (a `worker --follow` beside the service, or another host's service in team
//! mode): the store is the bus (DESIGN.md), and reading it is the one way that sees them all.
//! A store that can tell when a job's progress changed (PostgreSQL's LISTEN/NOTIFY: every
//! host's writes) nudges the job's poller to read at once, and the poll then only bounds how
//! late a change shows whose notification was lost or left out ([`LISTENING_POLL`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{Notify, watch};

use super::super::types::{ApiError, JobProgress};
use crate::model::Job;
use crate::store::{ProgressChanged, Store};

/// How often a job's poller reads its state: often enough that progress looks live, rarely
/// enough that a watched 100,000-item job costs the store nothing worth measuring.
pub const FEED_POLL: Duration = Duration::from_millis(50);

/// The poll of a feed whose store tells it of changes: the floor under a lost notification
/// (a reconnect nudges every feed anyway) or one left out between two (see
/// `store/postgres/listen.rs`).
pub const LISTENING_POLL: Duration = Duration::from_millis(500);

/// Where a feed reads a job's state (the store; a counting reader in tests).
pub trait JobSource: Send + Sync + 'static {
    /// The job as it stands now.
    fn read_job(&self, id: i64) -> Result<Job, ApiError>;

    /// Call `changed` with a job's id whenever its progress changes, and with `None` when a
    /// change may have gone untold; `false` when the source cannot tell (then only the poll
    /// finds changes).
    fn watch_progress(&self, changed: ProgressChanged) -> bool {
        drop(changed);
        false
    }
}

impl JobSource for Store {
    fn read_job(&self, id: i64) -> Result<Job, ApiError> {
        Ok(self.job(id)?)
    }

    fn watch_progress(&self, changed: ProgressChanged) -> bool {
        match Store::watch_progress(self, changed) {
            Ok(told) => told,
            Err(e) => {
                tracing::warn!("not told of job progress, polling for it: {e}");
                false
            }
        }
    }
}

/// What a feed last published.
#[derive(Clone, Debug)]
enum Snapshot {
    Job(Job),
    /// The job could not be read any more: the last event, for every watcher.
    Failed(ApiError),
}

/// One live feed: what it publishes, and what makes its poller read before its next tick.
struct Feed {
    sender: Arc<watch::Sender<Snapshot>>,
    nudge: Arc<Notify>,
}

/// The live feeds of one process, by job id: a feed is in the map exactly while its poller
/// runs, and its poller leaves the map under the map's lock, so a new watcher either joins a
/// running poller or starts a fresh one, never one that is about to stop.
type FeedMap = Arc<Mutex<HashMap<i64, Feed>>>;

/// The feeds of one process (the service shares one among its connections).
pub struct JobFeeds {
    feeds: FeedMap,
    poll: Duration,
    /// Whether the first source watched tells of changes (asked once: it starts a listener).
    told: OnceLock<bool>,
}

impl Default for JobFeeds {
    fn default() -> Self {
        JobFeeds::new(FEED_POLL)
    }
}

fn lock(feeds: &FeedMap) -> std::sync::MutexGuard<'_, HashMap<i64, Feed>> {
    // Entries are whole Arcs: a panic elsewhere leaves nothing half-done.
    feeds.lock().unwrap_or_else(|p| p.into_inner())
}

/// Make the poller of job `id` (every poller: `None`) read now.
fn nudge(feeds: &Weak<Mutex<HashMap<i64, Feed>>>, id: Option<i64>) {
    let Some(feeds) = feeds.upgrade() else {
        return;
    };
    let map = lock(&feeds);
    match id {
        Some(id) => {
            if let Some(feed) = map.get(&id) {
                feed.nudge.notify_one();
            }
        }
        None => map.values().for_each(|feed| feed.nudge.notify_one()),
    }
}

impl JobFeeds {
    /// Feeds whose pollers read every `poll`.
    pub fn new(poll: Duration) -> JobFeeds {
        JobFeeds {
            feeds: Arc::default(),
            poll,
            told: OnceLock::new(),
        }
    }

    /// How often a poller reads: the feeds' poll, or [`LISTENING_POLL`] (if longer) once the
    /// source tells of changes.
    fn poll_for(&self, source: &dyn JobSource) -> Duration {
        let told = *self.told.get_or_init(|| {
            let feeds = Arc::downgrade(&self.feeds);
            source.watch_progress(Arc::new(move |id| nudge(&feeds, id)))
        });
        if told {
            self.poll.max(LISTENING_POLL)
        } else {
            self.poll
        }
    }

    /// How many jobs have a live poller now.
    pub fn live(&self) -> usize {
        lock(&self.feeds).len()
    }

    /// The progress of job `id` as a stream: its state now, then each change, ending with the
    /// event whose `finished` is set (or an error). Must be called inside a tokio runtime.
    pub fn watch(
        &self,
        source: Arc<dyn JobSource>,
        id: i64,
    ) -> Result<impl Stream<Item = Result<JobProgress, ApiError>> + Send + 'static, ApiError> {
        let receiver = self.subscribe(source, id)?;
        Ok(futures_util::stream::unfold(
            Watcher {
                receiver,
                first: true,
                done: false,
            },
            Watcher::next_event,
        ))
    }

    fn subscribe(
        &self,
        source: Arc<dyn JobSource>,
        id: i64,
    ) -> Result<watch::Receiver<Snapshot>, ApiError> {
        let every = self.poll_for(source.as_ref());
        let mut feeds = lock(&self.feeds);
        if let Some(feed) = feeds.get(&id) {
            return Ok(feed.sender.subscribe());
        }
        let first = source.read_job(id)?;
        let finished = first.status.is_finished();
        let (sender, receiver) = watch::channel(Snapshot::Job(first));
        if !finished {
            let feed = Feed {
                sender: Arc::new(sender),
                nudge: Arc::default(),
            };
            let ticker = Ticker {
                every,
                nudge: Arc::clone(&feed.nudge),
            };
            let sender = Arc::clone(&feed.sender);
            feeds.insert(id, feed);
            tokio::spawn(poll(source, id, sender, Arc::clone(&self.feeds), ticker));
        }
        Ok(receiver)
    }
}

/// When a poller reads: every tick, and at once when nudged.
struct Ticker {
    every: Duration,
    nudge: Arc<Notify>,
}

/// The one poller of a job: publishes each change until the job finishes, the job can no
/// longer be read, or its last watcher went away; then leaves the map.
async fn poll(
    source: Arc<dyn JobSource>,
    id: i64,
    sender: Arc<watch::Sender<Snapshot>>,
    feeds: FeedMap,
    ticker: Ticker,
) {
    loop {
        tokio::select! {
            _ = sender.closed() => {
                // Decided under the lock: a watcher may have joined since `closed` fired.
                let mut map = lock(&feeds);
                if sender.receiver_count() == 0 {
                    map.remove(&id);
                    return;
                }
                continue;
            }
            _ = tokio::time::sleep(ticker.every) => {}
            _ = ticker.nudge.notified() => {}
        }
        let ended = match source.read_job(id) {
            Ok(job) => {
                let finished = job.status.is_finished();
                sender.send_if_modified(|published| match published {
                    Snapshot::Job(old) if *old == job => false,
                    _ => {
                        *published = Snapshot::Job(job);
                        true
                    }
                });
                finished
            }
            Err(e) => {
                sender.send_replace(Snapshot::Failed(e));
                true
            }
        };
        if ended {
            lock(&feeds).remove(&id);
            return;
        }
    }
}

/// One watcher's place in a feed.
struct Watcher {
    receiver: watch::Receiver<Snapshot>,
    first: bool,
    done: bool,
}

impl Watcher {
    async fn next_event(mut self) -> Option<(Result<JobProgress, ApiError>, Watcher)> {
        if self.done {
            return None;
        }
        if self.first {
            self.first = false;
        } else if self.receiver.changed().await.is_err() {
            // The poller only stops with a last state (sent above) or with no watcher left,
            // and we are one: this is the end of a finished feed.
            return None;
        }
        let snapshot = self.receiver.borrow_and_update().clone();
        let event = match snapshot {
            Snapshot::Job(job) => {
                let finished = job.status.is_finished();
                self.done = finished;
                Ok(JobProgress { job, finished })
            }
            Snapshot::Failed(e) => {
                self.done = true;
                Err(e)
            }
        };
        Some((event, self))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures_util::StreamExt;

    use super::*;
    use crate::model::{Action, JobCounts, JobKind, JobStatus};

    /// A job that advances one item per read once started, counting the reads.
    struct Scripted {
        reads: AtomicU64,
        total: u64,
    }

    impl JobSource for Scripted {
        fn read_job(&self, id: i64) -> Result<Job, ApiError> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst).min(self.total);
            let status = if n == self.total {
                JobStatus::Done
            } else {
                JobStatus::Running
            };
            Ok(Job {
                id,
                kind: JobKind::Retract,
                action: Action::Quarantine,
                status,
                initiated_by: "alice".into(),
                reason: None,
                restores_job: None,
                counts: JobCounts {
                    matched: self.total,
                    remediated: n,
                    queued: self.total - n,
                    ..JobCounts::default()
                },
                created_at: chrono::Utc::now(),
                started_at: None,
                finished_at: None,
                throttle_note: None,
            })
        }
    }

    #[tokio::test]
    async fn many_watchers_share_one_poller_and_see_one_sequence() {
        let source = Arc::new(Scripted {
            reads: AtomicU64::new(0),
            total: 20,
        });
        let feeds = JobFeeds::new(Duration::from_millis(2));
        let dyn_source: Arc<dyn JobSource> = source.clone();
        let watchers: Vec<_> = (0..5)
            .map(|_| feeds.watch(Arc::clone(&dyn_source), 7).expect("watch"))
            .collect();
        assert_eq!(feeds.live(), 1, "one poller for five watchers");
        let runs = futures_util::future::join_all(watchers.into_iter().map(|w| {
            w.map(|e| e.expect("event").job.counts.remediated)
                .collect::<Vec<_>>()
        }))
        .await;
        // One read to start the feed, then one a tick until the 20th item: never five a tick.
        let reads = source.reads.load(Ordering::SeqCst);
        assert!(reads <= 21, "{reads} reads for one job with five watchers");
        for run in &runs {
            assert_eq!(
                run.last(),
                Some(&20),
                "every watcher ends on the final counts: {run:?}"
            );
            assert!(
                run.windows(2).all(|w| w[0] < w[1]),
                "forward, no repeats: {run:?}"
            );
        }
        assert_eq!(feeds.live(), 0, "the poller left when the job finished");
    }

    #[tokio::test]
    async fn a_feed_nobody_watches_stops_polling() {
        let source = Arc::new(Scripted {
            reads: AtomicU64::new(0),
            total: u64::MAX,
        });
        let feeds = JobFeeds::new(Duration::from_millis(1));
        let mut stream = Box::pin(feeds.watch(source.clone(), 1).expect("watch"));
        assert!(stream.next().await.is_some());
        drop(stream);
        for _ in 0..200 {
            if feeds.live() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(feeds.live(), 0, "an abandoned feed keeps polling");
        let after = source.reads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            source.reads.load(Ordering::SeqCst),
            after,
            "still reading the store"
        );
    }
    /// [`Scripted`] that tells of changes: the test holds the callback and calls it.
    struct Telling {
        inner: Scripted,
        changed: Mutex<Option<ProgressChanged>>,
    }

    impl JobSource for Telling {
        fn read_job(&self, id: i64) -> Result<Job, ApiError> {
            self.inner.read_job(id)
        }

        fn watch_progress(&self, changed: ProgressChanged) -> bool {
            *self.changed.lock().unwrap() = Some(changed);
            true
        }
    }

    #[tokio::test]
    async fn a_told_change_is_read_at_once_and_the_poll_is_only_the_floor() {
        let source = Arc::new(Telling {
            inner: Scripted {
                reads: AtomicU64::new(0),
                total: 3,
            },
            changed: Mutex::new(None),
        });
        // A poll far longer than the test: only the nudges can move the feed along.
        let feeds = JobFeeds::new(Duration::from_secs(30));
        let mut stream = Box::pin(feeds.watch(source.clone(), 4).expect("watch"));
        let first = stream.next().await.expect("first").expect("event");
        assert_eq!(first.job.counts.remediated, 0);
        let changed = source
            .changed
            .lock()
            .unwrap()
            .clone()
            .expect("asked to tell");
        // Another job's change does not make this feed read.
        changed(Some(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(source.inner.reads.load(Ordering::SeqCst), 1);
        for (nudge, expected) in [(Some(4), 1), (None, 2), (Some(4), 3)] {
            changed(nudge);
            let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("read at once when told")
                .expect("an event")
                .expect("no error");
            assert_eq!(event.job.counts.remediated, expected, "{nudge:?}");
        }
        assert_eq!(feeds.live(), 0, "the poller left when the job finished");
    }
}
