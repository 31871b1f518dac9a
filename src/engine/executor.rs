//! The worker loop: claim due items, act on each under the concurrency limits, record results.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::item::Step;
use super::{Engine, EngineError};

/// What to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Only this job's items (a command run with `--wait`); `None`: every job.
    pub job: Option<i64>,
    /// Keep waiting for new jobs instead of returning when none remain.
    pub follow: bool,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub finished: u64,
    pub retried: u64,
    /// Items taken over from workers that died.
    pub reclaimed: u64,
}

const IDLE_POLL: Duration = Duration::from_millis(200);
const HEARTBEAT: Duration = Duration::from_secs(2);
const RECLAIM_EVERY: Duration = Duration::from_secs(1);
const ANCHOR_CHECK: Duration = Duration::from_secs(1);

/// This run's lease as the worker itself measures it, on the monotonic clock: the store's
/// view of a lease can be stale for a process that was paused (Ctrl-Z, SIGSTOP, a VM pause),
/// so before each act the worker also asks whether its lease may have lapsed by its own watch.
pub(super) struct Lease {
    worker: String,
    /// When the last renewal that found every claim still ours was sent (taken before the
    /// write, so the lease is never thought younger than it is).
    confirmed: Mutex<Instant>,
    lease: Duration,
}

impl Lease {
    pub(super) fn new(worker: &str, lease: Duration, confirmed: Instant) -> Lease {
        Lease {
            worker: worker.to_string(),
            confirmed: Mutex::new(confirmed),
            lease,
        }
    }

    /// Whether the lease is surely still running: younger than the lease less a safety margin
    /// (a third of it) for clock steps, store latency and the act itself.
    pub(super) fn may_act(&self) -> bool {
        let confirmed = *self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        confirmed.elapsed() < self.lease - self.lease / 3
    }

    pub(super) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    pub(super) fn worker(&self) -> &str {
        &self.worker
    }

    fn renewed(&self, sent_at: Instant) {
        *self.confirmed.lock().unwrap_or_else(|e| e.into_inner()) = sent_at;
    }
}

impl Engine {
    /// Run queued items until none remain (or forever with `follow`). A run for one job also
    /// takes over the jobs an engine that stopped left unfinished (see
    /// [`crate::store::Store::adopt_abandoned`]) and runs them to the end too.
    pub async fn run(self: &Arc<Self>, opts: RunOptions) -> Result<RunSummary, EngineError> {
        self.run_until(opts, None).await
    }

    /// [`Engine::run`] that drains when `stop` turns true: it claims nothing more, lets the
    /// items in flight finish and record their results, then returns (a service's SIGTERM).
    /// Items still queued stay queued for the next start.
    pub async fn run_until(
        self: &Arc<Self>,
        opts: RunOptions,
        stop: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<RunSummary, EngineError> {
        let worker = worker_id();
        let registered_at = Instant::now();
        self.store
            .register_worker(&worker, &hostname(), std::process::id())?;
        if let Some(job) = opts.job {
            self.store.own_job(job, &worker)?;
        }
        let lease = Arc::new(Lease::new(
            &worker,
            Duration::from_secs(self.config.engine.lease_secs),
            registered_at,
        ));
        let heartbeat = {
            let store = Arc::clone(&self.store);
            let limits = Arc::clone(&self.limits);
            let lease = Arc::clone(&lease);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let sent_at = Instant::now();
                    match store.heartbeat(lease.worker()) {
                        Ok(true) => lease.renewed(sent_at),
                        // Presumed dead meanwhile: the claims from before are not ours any
                        // more, so the old confirmation stands and the fence stops their acts.
                        Ok(false) => {
                            tracing::warn!(
                                "this worker was presumed dead; its claims were taken over"
                            );
                            limits.worker_was_forgotten(lease.worker());
                        }
                        Err(e) => tracing::warn!("heartbeat: {e}"),
                    }
                }
            })
        };
        // The witness timer: a no-op unless this process signs and a witness is configured.
        let anchor = {
            let engine = Arc::clone(self);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ANCHOR_CHECK).await;
                    let engine = Arc::clone(&engine);
                    let _ = tokio::task::spawn_blocking(move || engine.anchor_if_due()).await;
                }
            })
        };
        let result = self.run_loop(&lease, opts, stop.as_ref()).await;
        heartbeat.abort();
        anchor.abort();
        self.anchor_now();
        if let Err(e) = self.store.unregister_worker(&worker) {
            tracing::warn!("unregister worker: {e}");
        }
        result
    }

    /// Jobs left unfinished by an engine that stopped (its process gone, its lease expired),
    /// for a console to resume when it starts: each is then run with [`Engine::run`].
    pub fn abandoned_jobs(&self) -> Result<Vec<i64>, EngineError> {
        let me = hostname();
        let lease_ms = i64::try_from(self.config.engine.lease_secs * 1000).unwrap_or(i64::MAX);
        self.store
            .reclaim_orphans(lease_ms, &|host, pid| host == me && !process_alive(pid))?;
        Ok(self.store.abandoned_jobs()?)
    }

    async fn run_loop(
        self: &Arc<Self>,
        lease: &Arc<Lease>,
        opts: RunOptions,
        stop: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> Result<RunSummary, EngineError> {
        let worker = lease.worker();
        let settings = &self.config.engine;
        let lease_ms = lease.lease_ms();
        // The limits are the process's, not this run's: another run (a second job in the
        // console) shares the same per-mailbox and per-tenant gates.
        let mut summary = RunSummary::default();
        let mut in_flight: JoinSet<Result<Step, EngineError>> = JoinSet::new();
        // Which item each task works on, so a task that panics does not strand its claim.
        let mut task_items: HashMap<tokio::task::Id, i64> = HashMap::new();
        let me = hostname();
        let mut last_reclaim: Option<Instant> = None;
        // The jobs this run works on: its own and those it adopted (`None`: every job).
        let mut jobs: Option<Vec<i64>> = opts.job.map(|j| vec![j]);
        loop {
            // Looking for dead workers' claims is a write: once a second is plenty.
            if last_reclaim.is_none_or(|t| t.elapsed() >= RECLAIM_EVERY) {
                summary.reclaimed += self
                    .store
                    .reclaim_orphans(lease_ms, &|host, pid| host == me && !process_alive(pid))?;
                if let Some(jobs) = jobs.as_mut() {
                    for adopted in self.store.adopt_abandoned(worker)? {
                        tracing::info!(job = adopted, "resuming a job whose engine stopped");
                        jobs.push(adopted);
                    }
                }
                last_reclaim = Some(Instant::now());
            }
            let stopping = stop.is_some_and(|s| *s.borrow());
            if stopping && in_flight.is_empty() {
                return Ok(summary);
            }
            let room = if stopping {
                0
            } else {
                self.limits
                    .claim_room(self.config.tenants.keys())
                    .saturating_sub(in_flight.len())
            };
            let claimed = if room > 0 {
                self.store.claim_items(worker, room, jobs.as_deref())?
            } else {
                Vec::new()
            };
            let claimed_any = !claimed.is_empty();
            for c in claimed {
                let engine = Arc::clone(self);
                let mailbox = self.limits.mailbox(&c.item.tenant, &c.item.mailbox);
                let tenant = self.limits.tenant(&c.item.tenant);
                let lease = Arc::clone(lease);
                let item = c.item.id;
                let handle = in_flight.spawn(async move {
                    // The mailbox first: a tenant slot is not held while its mailbox is busy.
                    // This process's gate, then (a shared store) the worker's turn at it across
                    // hosts, so this process's items do not each ask the store while they
                    // wait for one another.
                    let _pass = mailbox
                        .enter(1)
                        .await
                        .map_err(|e| EngineError::Backend(e.to_string()))?;
                    let limited = engine
                        .backend(&c.item.tenant)
                        .is_ok_and(|b| b.capabilities().mailbox_request_limit);
                    let _turn = engine
                        .limits
                        .mailbox_turn(limited, lease.worker(), &c.item.tenant, &c.item.mailbox)
                        .await?;
                    let _slot = tenant.acquire_owned().await;
                    engine.process(&c, &lease).await
                });
                task_items.insert(handle.id(), item);
            }
            if in_flight.is_empty() && !claimed_any {
                let (queued, claimed_elsewhere, next_due) = self.store.pending(jobs.as_deref())?;
                if queued == 0 && claimed_elsewhere == 0 && !opts.follow {
                    return Ok(summary);
                }
                let wait = next_due.map_or(IDLE_POLL, |due_in| due_in.min(IDLE_POLL));
                // Jobs written by other processes are seen at the next poll; this process's
                // own wake the worker at once.
                tokio::select! {
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
                    _ = self.work_arrived.notified() => {}
                }
                continue;
            }
            // Wait for one item to finish, or poll again shortly for newly due items.
            let finished = tokio::time::timeout(IDLE_POLL, in_flight.join_next_with_id()).await;
            if let Ok(Some(joined)) = finished {
                match joined {
                    Ok((id, result)) => {
                        task_items.remove(&id);
                        match result {
                            Ok(Step::Finished) => summary.finished += 1,
                            Ok(Step::Retried) => summary.retried += 1,
                            Err(e) => return Err(e),
                        }
                    }
                    Err(e) => {
                        tracing::error!("item task failed: {e}");
                        if let Some(item) = task_items.remove(&e.id()) {
                            // Give it back; its attempt count stops an item that keeps failing.
                            let due = Duration::from_millis(settings.backoff_ms);
                            self.store.requeue_item(
                                item,
                                worker,
                                due,
                                "the worker failed on this item",
                            )?;
                            summary.retried += 1;
                        }
                    }
                }
            }
        }
    }
}

/// A decider's id: unique per run, as a worker's is (host, pid, start time).
pub fn decider_id() -> String {
    worker_id()
}

/// Whether the decider `id` (from [`decider_id`]) ran on this host in a process that is gone.
/// Another host's decider is never presumed dead here: its claim waits out the lease.
pub fn decider_is_dead(id: &str) -> bool {
    let mut parts = id.split(':');
    match (
        parts.next(),
        parts.next().and_then(|p| p.parse::<i64>().ok()),
    ) {
        (Some(host), Some(pid)) => host == hostname() && !process_alive(pid),
        _ => false,
    }
}

/// Unique per run: host, pid and start time, so a restarted process is a different worker.
fn worker_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}:{}:{nanos:x}", hostname(), std::process::id())
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether a process with this pid exists on this host.
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
