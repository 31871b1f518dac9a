//! The headless command line: argument parsing, output (tables or JSON) and exit codes.
//! Business rules live in the engine; this module only asks and reports.

mod args;
mod commands;
mod logging;
mod output;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

pub use args::Cli;

use crate::config::{Config, paths};
use crate::engine::{Actor, Engine, EngineError};
use crate::store::{Store, StoreError};

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
            return Err(CliError::bad_input(format!(
                "no config at {}: run `retractor demo` to try the built-in demo, or copy config.example.toml there",
                path.display()
            )));
        }
        Config::load(&path)
            .map(Arc::new)
            .map_err(|e| CliError::bad_input(e.to_string()))
    }

    pub fn engine(&self) -> Result<Arc<Engine>, CliError> {
        let config = self.config()?;
        let store = Arc::new(Store::open(&config.store_path)?);
        let actor = Actor::current(&config.access);
        Ok(Arc::new(Engine::new(config, store, actor)))
    }

    /// An engine on a store opened read-only, for commands that only read (`show`), so they
    /// work on a read-only copy of the store.
    pub fn read_only_engine(&self) -> Result<Arc<Engine>, CliError> {
        let config = self.config()?;
        let store = Arc::new(Store::open_read_only(&config.store_path)?);
        let actor = Actor::current(&config.access);
        Ok(Arc::new(Engine::new(config, store, actor)))
    }
}

/// Parse arguments, run the command, print errors, return the exit code.
pub fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match Cli::try_parse() {
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
