//! The headless command line: argument parsing, output (tables or JSON) and exit codes.
//! Business rules live in the engine; this module only asks and reports.

mod args;
mod commands;
mod help;
mod logging;
mod output;
mod query_args;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

pub use args::Cli;

use crate::api::{Api, ApiError, Local};
use crate::config::{Config, paths};
use crate::engine::{Actor, Engine, EngineError};
use crate::store::{Access, Store, StoreError};
use crate::trust::ServiceKey;

/// Exit codes of the contract.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const PARTIAL: u8 = 3;
    pub const REFUSED: u8 = 4;
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(exit::BAD_INPUT, message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) | StoreError::Ambiguous(m) | StoreError::Invalid(m) => {
                CliError::bad_input(m)
            }
            other => CliError::new(exit::ERROR, other.to_string()),
        }
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Refused(m) => CliError::new(exit::REFUSED, format!("refused: {m}")),
            EngineError::BadInput(m) => CliError::bad_input(m),
            EngineError::Store(s) => s.into(),
            EngineError::Backend(m) => CliError::new(exit::ERROR, m),
        }
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        CliError::new(e.exit_code(), e.message)
    }
}

/// What every command may need, opened lazily so `demo` and `--help` need no config.
pub struct Context {
    pub json: bool,
    pub quiet: bool,
    config_path: Option<PathBuf>,
    /// `--connect`: the service's socket; every command then goes through [`Context::remote_api`].
    connect: Option<PathBuf>,
}

impl Context {
    /// The service's `Api` when `--connect` (or `RETRACTOR_CONNECT`) names its socket, else
    /// `None` (embedded mode). In this mode nothing here opens the store or reads a secret.
    pub fn remote_api(&self) -> Option<Arc<dyn crate::api::Api>> {
        self.connect.as_ref().map(|socket| {
            Arc::new(crate::api::remote::Remote::new(socket)) as Arc<dyn crate::api::Api>
        })
    }

    /// Whether commands go to a service (`--connect`).
    pub fn connected(&self) -> bool {
        self.connect.is_some()
    }

    /// The console's settings (theme, keys) from `--config`, for a client of a service: only
    /// the `[console]` table is read, so nothing else in that file (tenants, roles, store) can
    /// reach the service or be resolved here. No `--config`: the defaults.
    pub fn client_console_settings(&self) -> Result<crate::config::ConsoleSettings, CliError> {
        match &self.config_path {
            Some(path) => serve::console_settings_only(path),
            None => Ok(crate::config::ConsoleSettings::default()),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_path
            .clone()
            .unwrap_or_else(paths::default_config_file)
    }

    pub fn config(&self) -> Result<Arc<Config>, CliError> {
        let path = self.config_path();
        if !path.exists() {
            return Err(CliError::bad_input(no_config_hint(&path)));
        }
        Config::load(&path)
            .map(Arc::new)
            .map_err(|e| CliError::bad_input(e.to_string()))
    }

    /// The API every command asks through.
    pub fn api(&self) -> Result<Arc<dyn Api>, CliError> {
        self.connect(false)
    }

    /// The API for commands that only read (`search`, `show`, `jobs`, `audit`): embedded, it
    /// opens the store read-only, so they work on a read-only copy of the store.
    pub fn read_only_api(&self) -> Result<Arc<dyn Api>, CliError> {
        self.connect(true)
    }

    /// The API for `audit verify`: embedded, a store file that is not there or is empty is an
    /// empty trail (a witness that remembers records then says so), never an error or a new
    /// store.
    pub fn verify_api(&self) -> Result<Arc<dyn Api>, CliError> {
        if let Some(remote) = self.remote_api() {
            return Ok(remote);
        }
        let config = self.config()?;
        let store = Store::open_configured(&config, Access::Verify)?;
        let actor = Actor::current(&config.access);
        let engine = Arc::new(Engine::new(config, Arc::new(store), actor));
        let caller = Local::embedded_identity(engine.actor());
        Ok(Arc::new(Local::new(engine, caller)))
    }

    /// The one place a client chooses how it reaches the engine.
    fn connect(&self, read_only: bool) -> Result<Arc<dyn Api>, CliError> {
        // A service (`--connect` / RETRACTOR_CONNECT): this process opens no store and reads
        // no secret; the service knows the caller by the socket's peer credentials.
        if let Some(remote) = self.remote_api() {
            return Ok(remote);
        }
        // Embedded: this process opens the store and runs the engine itself; roles advisory.
        let engine = if read_only {
            self.read_only_engine()?
        } else {
            self.engine()?
        };
        let caller = Local::embedded_identity(engine.actor());
        Ok(Arc::new(Local::new(engine, caller)))
    }

    /// The console's task layer: over the API, and in embedded mode with this process's
    /// engine as the worker that runs what it submits.
    pub fn console_tasks(&self) -> Result<Arc<crate::console::tasks::Tasks>, CliError> {
        // A service: its worker runs the jobs; the console follows them through the socket.
        if let Some(remote) = self.remote_api() {
            return Ok(Arc::new(crate::console::tasks::Tasks::new(remote, None)));
        }
        Ok(Arc::new(crate::console::tasks::Tasks::embedded(
            self.engine()?,
        )))
    }

    /// The engine of embedded mode: `worker` and `demo` only; every other command asks
    /// through [`Context::api`].
    pub fn engine(&self) -> Result<Arc<Engine>, CliError> {
        let config = self.config()?;
        let store = Arc::new(Store::open_configured(&config, Access::Write)?);
        if signing_requested() {
            let key = ServiceKey::configured(&config)
                .map_err(|e| CliError::new(exit::ERROR, format!("service key: {e}")))?;
            store.set_signer(Arc::new(key))?;
        }
        let actor = Actor::current(&config.access);
        Ok(Arc::new(Engine::new(config, store, actor)))
    }

    /// An engine on a store opened read-only, for commands that only read (`show`), so they
    /// work on a read-only copy of the store.
    pub fn read_only_engine(&self) -> Result<Arc<Engine>, CliError> {
        let config = self.config()?;
        let store = Arc::new(Store::open_configured(&config, Access::ReadOnly)?);
        let actor = Actor::current(&config.access);
        Ok(Arc::new(Engine::new(config, store, actor)))
    }
}

/// What to say when there is no config at `path`. Once `retractor demo` has made its demo,
/// telling the user to run it again would be circular: name the demo's config instead.
pub(crate) fn no_config_hint(path: &std::path::Path) -> String {
    let demo = paths::default_demo_dir().join("config.toml");
    if demo.exists() {
        format!(
            "no config at {}; the demo's is {}: run `retractor --config {}` (or `export RETRACTOR_CONFIG={}`), or copy config.example.toml to {}",
            path.display(),
            demo.display(),
            demo.display(),
            demo.display(),
            path.display()
        )
    } else {
        format!(
            "no config at {}: run `retractor demo` to try the built-in demo, or copy config.example.toml there",
            path.display()
        )
    }
}

/// The environment variable that makes this process sign as the service would:
/// `RETRACTOR_SIGN=1`. `retractor serve` signs always; this is for a worker or a command run
/// as the service account before the service exists, and for tests. Only a process that can
/// read the key (`[service] key_dir`, 0600, the service account's) can sign.
pub const SIGN_ENV: &str = "RETRACTOR_SIGN";

fn signing_requested() -> bool {
    std::env::var_os(SIGN_ENV).is_some_and(|v| v == "1")
}

/// Parse arguments, run the command, print errors, return the exit code.
pub fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match Cli::try_parse_from(query_args::query_words_last(std::env::args_os().collect()))
    {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let _log = logging::init(cli.log_level.as_deref());
    let ctx = Context {
        json: cli.json,
        quiet: cli.quiet,
        config_path: cli.config.clone(),
        connect: cli.connect.clone(),
    };
    serve::warn_ignored_config(&ctx);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("retractor: cannot start the runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(commands::run(&ctx, cli.command));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::warn!(code = e.code, "{}", e.message);
            output::print_error(&ctx, &e);
            ExitCode::from(e.code)
        }
    }
}

/// `retractor search | head` should end quietly when `head` closes the pipe, as other Unix
/// tools do; Rust ignores SIGPIPE by default, which turns every later print into a panic.
fn restore_default_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
