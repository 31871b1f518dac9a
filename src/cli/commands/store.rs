//! `retractor store copy --to URL`: the host's SQLite store into an empty PostgreSQL
//! database, for a single host becoming a team (README "Team mode (PostgreSQL)").

use serde_json::json;

use super::super::args::{StoreCommand, StoreCopyArgs};
use super::super::output::print_json;
use super::super::{CliError, Context, exit};
use crate::config::{PostgresStore, TeamStoreKeys};
use crate::model::text::sanitize;
use crate::store::Store;

pub fn run(ctx: &Context, command: StoreCommand) -> Result<u8, CliError> {
    match command {
        StoreCommand::Copy(a) => copy(ctx, a),
    }
}

fn copy(ctx: &Context, a: StoreCopyArgs) -> Result<u8, CliError> {
    if ctx.connected() {
        return Err(CliError::bad_input(
            "store copy runs on the host that holds the SQLite store, not through a service: leave out --connect",
        ));
    }
    let config = ctx.config()?;
    if config.team_store.is_some() {
        return Err(CliError::bad_input(
            "the configured store is already PostgreSQL ([store] url): store copy reads a SQLite store ([store] path)",
        ));
    }
    let path = &config.store_path;
    if !path.is_file() {
        return Err(CliError::bad_input(format!(
            "no SQLite store at {} ([store] path): nothing to copy",
            path.display()
        )));
    }
    let here = std::env::current_dir()
        .map_err(|e| CliError::new(exit::ERROR, format!("the current directory: {e}")))?;
    let team = PostgresStore::from_keys(
        TeamStoreKeys {
            url: a.to,
            password_env: a.password_env,
            password_file: a.password_file,
            password_command: a.password_command,
            sslmode: a.sslmode,
            ca_file: a.ca_file,
        },
        &here,
    )
    .map_err(|e| CliError::bad_input(as_flags(&e)))?;
    // Opened for writing: a store of an older version is migrated first, so both ends have
    // this build's schema.
    let source = Store::open(path)?;
    let target = Store::open_team(&team).map_err(|e| {
        let e = CliError::from(e);
        CliError::new(e.code, as_flags(&e.message))
    })?;
    let report = source.copy_to(&target)?;
    let verdict = target.verify_audit()?;
    if ctx.json {
        print_json(&json!({
            "copied": {
                "from": path.display().to_string(),
                "to": team.url,
                "tables": report.tables,
                "audit": { "ok": verdict.ok, "records": verdict.records },
            }
        }));
    } else if !ctx.quiet {
        println!(
            "copied {} into {}:",
            sanitize(&path.display().to_string()),
            sanitize(&team.url)
        );
        let width = report
            .tables
            .iter()
            .map(|t| t.table.len())
            .max()
            .unwrap_or(0);
        for t in &report.tables {
            println!("  {:<width$}  {:>10}", t.table, t.rows);
        }
        if verdict.ok {
            println!(
                "the audit trail verifies on the target: {} records",
                verdict.records
            );
        }
    }
    if !verdict.ok {
        return Err(CliError::new(
            exit::ERROR,
            format!(
                "the copied audit trail does not verify on the target: {}",
                verdict.problem.as_deref().map(sanitize).unwrap_or_default()
            ),
        ));
    }
    Ok(exit::OK)
}

/// A `[store]` key's refusal in the words of the flag that gave it.
fn as_flags(message: &str) -> String {
    [
        ("[store] url", "--to"),
        ("[store] password_env", "--password-env"),
        ("[store] password_file", "--password-file"),
        ("[store] password_command", "--password-command"),
        ("[store] sslmode", "--sslmode"),
        ("[store] ca_file", "--ca-file"),
    ]
    .iter()
    .fold(message.to_string(), |m, (key, flag)| m.replace(key, flag))
}
