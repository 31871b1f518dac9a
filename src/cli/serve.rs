//! `retractor serve`, and what `--connect` does to a client's own `--config`.

use std::path::Path;

use super::{CliError, Context, exit};
use crate::config::ConsoleSettings;
use crate::service::{self, ServiceError};

/// Run the service until SIGTERM; 0 after a clean drain.
pub(super) async fn run(ctx: &Context) -> Result<u8, CliError> {
    if ctx.connected() {
        return Err(CliError::bad_input(
            "serve does not take --connect (or RETRACTOR_CONNECT): it is the service",
        ));
    }
    let path = ctx
        .config_path
        .clone()
        .unwrap_or_else(service::default_config_path);
    match service::serve(&path, service::local_factory()).await {
        Ok(()) => Ok(exit::OK),
        Err(ServiceError::Config(m)) => Err(CliError::bad_input(m)),
        Err(e) => Err(CliError::new(exit::ERROR, e.to_string())),
    }
}

/// With `--connect`, a `--config` chooses only the console's look and keys: say so once, so
/// nobody believes their file's roles or tenants took effect.
pub(super) fn warn_ignored_config(ctx: &Context) {
    if ctx.connected() && ctx.config_path.is_some() && !ctx.quiet {
        eprintln!(
            "retractor: warning: with --connect, --config only sets the console's theme and keys; its tenants, roles, store and [access] are ignored (the service's own config decides them)"
        );
    }
}

/// The `[console]` table of a config file, nothing else of it read or checked.
pub(super) fn console_settings_only(path: &Path) -> Result<ConsoleSettings, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad_input(format!("{}: cannot read: {e}", path.display())))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| CliError::bad_input(format!("{}: {}", path.display(), e.message())))?;
    match table.get("console") {
        None => Ok(ConsoleSettings::default()),
        Some(console) => console.clone().try_into().map_err(|e: toml::de::Error| {
            CliError::bad_input(format!("{}: [console] {}", path.display(), e.message()))
        }),
    }
}
