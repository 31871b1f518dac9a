//! `demo`: create the built-in demo tenant, load its log, and open it.

use std::path::Path;

use serde_json::json;

use super::super::args::DemoArgs;
use super::super::output::print_json;
use super::super::{CliError, Context, exit};
use crate::config::{Config, paths};
use crate::ingest::{TenantResolver, jsonl};
use crate::store::Store;

pub async fn run(ctx: &Context, a: DemoArgs) -> Result<u8, CliError> {
    let dir = a.dir.clone().unwrap_or_else(paths::default_demo_dir);
    let config_path = dir.join("config.toml");
    if a.reset {
        remove_demo(&dir)?;
    }
    let created = if config_path.exists() {
        false
    } else {
        crate::demo::check_target(&dir).map_err(CliError::bad_input)?;
        let summary = crate::demo::generate(&dir, chrono::Utc::now())
            .map_err(|e| CliError::new(exit::ERROR, format!("demo: {e}")))?;
        let config = Config::load(&summary.config_path)
            .map_err(|e| CliError::new(exit::ERROR, e.to_string()))?;
        let store = Store::open(&config.store_path)?;
        let resolver =
            TenantResolver::new(&config, None).map_err(|e| CliError::new(exit::ERROR, e))?;
        let file = std::fs::File::open(&summary.log_path).map_err(|e| {
            CliError::new(exit::ERROR, format!("{}: {e}", summary.log_path.display()))
        })?;
        let report = jsonl::ingest(&store, &resolver, std::io::BufReader::new(file))?;
        if report.rejected_total > 0 {
            return Err(CliError::new(
                exit::ERROR,
                format!("demo log rejected: {:?}", report.rejected.first()),
            ));
        }
        if !ctx.quiet && !ctx.json {
            eprintln!(
                "demo created in {}: {} mailboxes, {} messages; campaign {}",
                dir.display(),
                summary.mailboxes,
                summary.messages,
                summary.campaign_message_id
            );
        }
        true
    };
    if ctx.json {
        print_json(&json!({"demo": {"config": config_path, "created": created}}));
    } else {
        println!("{}", config_path.display());
        if !ctx.quiet {
            eprintln!(
                "every command takes it: `retractor --config {} search`, or `export RETRACTOR_CONFIG={}`",
                config_path.display(),
                config_path.display()
            );
        }
    }
    if a.no_tui {
        return Ok(exit::OK);
    }
    let demo_ctx = Context {
        json: ctx.json,
        quiet: ctx.quiet,
        config_path: Some(config_path),
        connect: None,
    };
    super::console(&demo_ctx).await
}

/// Delete a previous demo: only a directory carrying the demo's marker, never through a
/// symbolic link. A config.toml and a mail/ prove nothing (a real configuration has both).
fn remove_demo(dir: &Path) -> Result<(), CliError> {
    let refuse = |why: String| {
        CliError::bad_input(format!("--reset: not deleting {}: {why}", dir.display()))
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(e.to_string())),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "it is a symbolic link, and --reset never follows one; name the directory itself"
                .into(),
        ));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let empty = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        return Ok(());
    }
    crate::demo::check_marker(dir).map_err(refuse)?;
    // std's remove_dir_all descends with directory handles and unlinks links without
    // following them (and is safe against a directory swapped for a link meanwhile).
    std::fs::remove_dir_all(dir).map_err(|e| {
        CliError::new(
            exit::ERROR,
            format!("--reset: cannot remove {}: {e}", dir.display()),
        )
    })
}
