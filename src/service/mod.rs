//! `retractor serve`: the engine as a service. It alone opens the store and resolves tenant
//! secrets; clients reach it over a Unix socket and are known by the socket peer's uid, with
//! roles from this process's own config (see `peer`). It runs the worker in-process, drains on
//! SIGTERM and reloads its config on SIGHUP.

pub mod peer;
pub mod routes;
pub mod socket;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alerts;
use crate::api::{Api, Identity, JobFeeds, Local, PlanBook};
use crate::config::Config;
use crate::engine::{Actor, Engine, EngineError, RunOptions, RunSummary};
use crate::store::{Access, Store};
use crate::trust::ServiceKey;

/// Why the service could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The config cannot be read or is wrong.
    #[error("{0}")]
    Config(String),
    /// The store, the socket, a signal handler: something start-up needs.
    #[error("{0}")]
    Setup(String),
    /// The worker stopped on an error it cannot go on from.
    #[error("the worker stopped: {0}")]
    Worker(String),
}

/// Builds the `Api` that answers one request, bound to its caller. The service passes the
/// engine of the config now in force and the caller's identity.
pub type ApiFactory = Arc<dyn Fn(Arc<Engine>, Identity) -> Arc<dyn Api> + Send + Sync>;

/// What `retractor serve` answers with: the engine's one request path ([`Local`]) for each
/// caller, all of them sharing one book of plans (a plan is made in one request and
/// submitted in the next) and one set of job feeds (every watcher of a job sees one feed),
/// and leaving the jobs to the service's worker.
pub fn local_factory() -> ApiFactory {
    let plans = Arc::new(PlanBook::default());
    let feeds = Arc::new(JobFeeds::default());
    Arc::new(move |engine, identity| {
        Arc::new(
            Local::served(engine, identity, Arc::clone(&plans)).sharing_feeds(Arc::clone(&feeds)),
        ) as Arc<dyn Api>
    })
}

/// What requests are answered with: the config in force and the engine built from it.
pub struct Current {
    pub config: Arc<Config>,
    pub engine: Arc<Engine>,
}

/// State every request shares.
pub struct Shared {
    current: RwLock<Arc<Current>>,
    factory: ApiFactory,
}

impl Shared {
    /// State for a router answering with `factory`, the config and engine given in force.
    pub fn new(config: Arc<Config>, engine: Arc<Engine>, factory: ApiFactory) -> Shared {
        Shared {
            current: RwLock::new(Arc::new(Current { config, engine })),
            factory,
        }
    }

    /// The config and engine in force (a SIGHUP swaps them; a request keeps the ones it got).
    pub fn current(&self) -> Arc<Current> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn replace(&self, next: Current) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }
}

/// How long in-flight requests (a client still watching a job) get after SIGTERM, once the
/// worker has drained, before the service exits anyway.
const REQUEST_GRACE: Duration = Duration::from_secs(5);

/// Run the service until SIGTERM or SIGINT. `Ok` after a clean drain.
pub async fn serve(config_path: &Path, factory: ApiFactory) -> Result<(), ServiceError> {
    let config = load_config(config_path)?;
    let store = Arc::new(
        Store::open_configured(&config, Access::Write)
            .map_err(|e| ServiceError::Setup(format!("cannot open the store: {e}")))?,
    );
    // The service alone holds the key: every job it creates and every audit record it writes
    // is signed, and its worker refuses a job whose row no longer matches its signature.
    let key = ServiceKey::configured(&config)
        .map_err(|e| ServiceError::Setup(format!("service key: {e}")))?;
    store
        .set_signer(Arc::new(key))
        .map_err(|e| ServiceError::Setup(format!("service key: {e}")))?;
    let engine = service_engine(Arc::clone(&config), Arc::clone(&store));
    // Jobs other hosts' services write wake this worker at once (team mode); without it the
    // idle poll still finds them, a little later.
    if let Err(e) = engine.wake_on_work_elsewhere() {
        tracing::warn!("not told of other services' jobs, polling for them: {e}");
    }
    let socket_path = config.service.socket.clone();
    let mut terminate = listen_for(SignalKind::terminate())?;
    let mut interrupt = listen_for(SignalKind::interrupt())?;
    let mut hangup = listen_for(SignalKind::hangup())?;
    let listener = socket::bind(&socket_path, config.service.group.as_deref())?;
    // After the socket, which proves no other service runs on this store (two would race on
    // the spool); an intake that cannot start takes the socket away again.
    let intakes = match alerts::Intakes::start(
        &config,
        Arc::clone(&store),
        Arc::new(crate::policy::Intake::new(&engine)),
    )
    .await
    {
        Ok(intakes) => intakes,
        Err(e) => {
            drop(listener);
            socket::remove(&socket_path);
            return Err(ServiceError::Setup(e));
        }
    };
    let shared = Arc::new(Shared::new(
        Arc::clone(&config),
        Arc::clone(&engine),
        factory,
    ));
    let (stop_serving, stopped) = watch::channel(false);
    let app = routes::router(Arc::clone(&shared))
        .into_make_service_with_connect_info::<routes::PeerInfo>();
    let mut server = tokio::spawn(async move {
        let mut stopped = stopped;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .await
    });
    tracing::info!(socket = %socket_path.display(), "serving");
    eprintln!("retractor serve: listening on {}", socket_path.display());
    let mut worker = Worker::start(engine);
    let mut draining: Vec<Worker> = Vec::new();
    // A task that already ended must not be awaited again below.
    let mut worker_ended = false;
    let mut server_ended = false;
    let outcome = loop {
        tokio::select! {
            _ = terminate.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
            _ = hangup.recv() => {
                match reload(config_path, &shared, &store) {
                    Ok(engine) => {
                        // The old worker finishes what it holds; the new one claims from now.
                        worker.stop();
                        draining.push(std::mem::replace(&mut worker, Worker::start(engine)));
                        tracing::info!("config reloaded");
                        eprintln!("retractor serve: config reloaded");
                    }
                    Err(e) => {
                        tracing::warn!("config not reloaded, the old one stays: {e}");
                        eprintln!("retractor serve: config not reloaded, the old one stays: {e}");
                    }
                }
            }
            ended = &mut worker.handle => {
                worker_ended = true;
                break Err(ServiceError::Worker(match ended {
                    Ok(Ok(_)) => "it returned while following".into(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                }));
            }
            served = &mut server => {
                server_ended = true;
                break Err(ServiceError::Setup(format!("the listener stopped: {}", match served {
                    Ok(Ok(())) => "without an error".to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                })));
            }
        }
    };
    // Stop taking connections and alerts first, so nothing new arrives while the worker drains.
    let _ = stop_serving.send(true);
    intakes.drain().await;
    socket::remove(&socket_path);
    eprintln!("retractor serve: stopping; finishing the items in flight");
    worker.stop();
    if !worker_ended {
        draining.push(worker);
    }
    for w in draining {
        if let Err(e) = w.finish().await {
            tracing::warn!("draining: {e}");
        }
    }
    if !server_ended {
        let _ = tokio::time::timeout(REQUEST_GRACE, server).await;
    }
    eprintln!("retractor serve: stopped");
    outcome
}

fn listen_for(kind: SignalKind) -> Result<tokio::signal::unix::Signal, ServiceError> {
    signal(kind).map_err(|e| ServiceError::Setup(format!("cannot listen for signals: {e}")))
}

fn load_config(path: &Path) -> Result<Arc<Config>, ServiceError> {
    Config::load(path)
        .map(Arc::new)
        .map_err(|e| ServiceError::Config(e.to_string()))
}

/// The engine acts as the service account; each request's `Api` acts for its caller.
fn service_engine(config: Arc<Config>, store: Arc<Store>) -> Arc<Engine> {
    let actor = Actor::current(&config.access);
    Arc::new(Engine::new(config, store, actor))
}

/// SIGHUP: read the config again and put it in force, keeping the store and the socket. A
/// config that names another store or socket is refused: those are kept for the life of the
/// process, and silently keeping them would mislead whoever edited the file.
fn reload(path: &Path, shared: &Shared, store: &Arc<Store>) -> Result<Arc<Engine>, ServiceError> {
    let next = load_config(path)?;
    let now = shared.current();
    for (what, old, new) in [
        ("[store] path", &now.config.store_path, &next.store_path),
        (
            "[service] socket",
            &now.config.service.socket,
            &next.service.socket,
        ),
    ] {
        if old != new {
            return Err(ServiceError::Config(format!(
                "{what} changed ({} -> {}): that takes a restart",
                old.display(),
                new.display()
            )));
        }
    }
    let actor = Actor::current(&next.access);
    let engine = Arc::new(
        Engine::new(Arc::clone(&next), Arc::clone(store), actor).sharing_signals_of(&now.engine),
    );
    shared.replace(Current {
        config: next,
        engine: Arc::clone(&engine),
    });
    Ok(engine)
}

/// The in-process worker loop of one engine, with the switch that makes it drain.
struct Worker {
    handle: JoinHandle<Result<RunSummary, EngineError>>,
    stop: watch::Sender<bool>,
}

impl Worker {
    fn start(engine: Arc<Engine>) -> Worker {
        let (stop, stopping) = watch::channel(false);
        let handle = tokio::spawn(async move {
            let opts = RunOptions {
                job: None,
                follow: true,
            };
            // The policies decide beside the worker, with the same engine and the same
            // switch: a reload starts both afresh with the new rules.
            let decider = tokio::spawn(crate::policy::run_decider(
                Arc::clone(&engine),
                Some(stopping.clone()),
            ));
            // The abuse mailbox is read every `[submissions] interval`, under the same switch.
            let submissions = tokio::spawn(crate::submissions::run_loop(
                Arc::clone(&engine),
                Some(stopping.clone()),
            ));
            let hunter = tokio::spawn(crate::policy::hunt::run_hunter(
                Arc::clone(&engine),
                Some(stopping.clone()),
            ));
            let ran = engine.run_until(opts, Some(stopping)).await;
            if let Err(e) = hunter.await {
                tracing::warn!("hunter failed: {e}");
            }
            match decider.await {
                Ok(Err(e)) => tracing::warn!("policy decider stopped: {e}"),
                Err(e) => tracing::warn!("policy decider failed: {e}"),
                Ok(Ok(())) => {}
            }
            if let Err(e) = submissions.await {
                tracing::warn!("phish submissions loop failed: {e}");
            }
            ran
        });
        Worker { handle, stop }
    }

    fn stop(&self) {
        let _ = self.stop.send(true);
    }

    async fn finish(self) -> Result<RunSummary, String> {
        match self.handle.await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The default config path of the service (`--config` overrides it).
pub fn default_config_path() -> PathBuf {
    PathBuf::from("/etc/retractor/config.toml")
}
