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
    }
    if a.no_tui {
        return Ok(exit::OK);
    }
    let demo_ctx = Context {
        json: ctx.json,
        quiet: ctx.quiet,
        config_path: Some(config_path),
    };
    super::console(&demo_ctx).await
}

/// Delete a previous demo, but only a directory that looks like one: never an arbitrary tree.
fn remove_demo(dir: &Path) -> Result<(), CliError> {
    if !dir.exists() {
        return Ok(());
    }
    let looks_like_demo = dir.join("config.toml").is_file() && dir.join("mail").is_dir();
    let empty = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !looks_like_demo && !empty {
        return Err(CliError::bad_input(format!(
            "--reset: {} does not look like a retractor demo (no config.toml and mail/); not deleting it",
            dir.display()
        )));
    }
    std::fs::remove_dir_all(dir).map_err(|e| {
        CliError::new(
            exit::ERROR,
            format!("--reset: cannot remove {}: {e}", dir.display()),
        )
    })
}
