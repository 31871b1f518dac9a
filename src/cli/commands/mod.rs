//! One module per command group.

mod alerts;
mod audit;
mod demo;
mod docs;
mod evidence;
mod ioc;
mod jobs;
mod log;
mod remediate;
mod reports;
mod store;
mod submissions;
mod tenants;
mod webhook;
mod worker;

use std::io::IsTerminal;

use super::args::Command;
use super::{CliError, Context, exit};
use crate::model::text::sanitize;

pub async fn run(ctx: &Context, command: Option<Command>) -> Result<u8, CliError> {
    let Some(command) = command else {
        return console(ctx).await;
    };
    match command {
        Command::Demo(a) => demo::run(ctx, a).await,
        Command::Search(a) => log::search(ctx, a).await,
        Command::Show(a) => log::show(ctx, a).await,
        Command::Evidence(a) => evidence::run(ctx, a).await,
        Command::Ingest(a) => log::ingest(ctx, a).await,
        Command::Index(a) => log::index(ctx, a).await,
        Command::Retract(a) => remediate::retract(ctx, a).await,
        Command::Restore(a) => remediate::restore(ctx, a).await,
        Command::Sweep(a) => remediate::sweep(ctx, a).await,
        Command::Jobs(a) => jobs::jobs(ctx, a).await,
        Command::Cancel(a) => jobs::cancel(ctx, a).await,
        Command::Worker(a) => worker::worker(ctx, a).await,
        Command::Audit(a) => audit::run(ctx, a).await,
        Command::Check(a) => tenants::check(ctx, a).await,
        Command::Serve(_) => super::serve::run(ctx).await,
        Command::Webhook(a) => webhook::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Manpage(a) => docs::manpage(a),
        Command::Alert(a) => alerts::alert(ctx, a).await,
        Command::Pending(_) => alerts::pending(ctx).await,
        Command::Approve(a) => alerts::answer(ctx, a.id, true, a.reason).await,
        Command::Reject(a) => alerts::answer(ctx, a.id, false, Some(a.reason)).await,
        Command::Policy(c) => alerts::policy(ctx, c).await,
        Command::Submissions(a) => submissions::run(ctx, a).await,
        Command::Report(a) => reports::run(ctx, a).await,
        Command::Ioc(c) => ioc::run(ctx, c).await,
        Command::Hunt(a) => ioc::hunt(ctx, &a).await,
        Command::Store(c) => store::run(ctx, c),
    }
}

/// Open the console on the configured tenants. With no config at all, say how to start.
pub(super) async fn console(ctx: &Context) -> Result<u8, CliError> {
    // Through a service, the client's own file (if any) gives only the console's look and keys.
    if ctx.connected() {
        let settings = ctx.client_console_settings()?;
        let prepared = crate::console::prepare(&settings, &ctx.config_path())
            .map_err(|e| CliError::bad_input(e.0))?;
        crate::console::run(ctx.console_tasks()?, prepared)
            .await
            .map_err(|e| CliError::new(exit::ERROR, e.0))?;
        return Ok(exit::OK);
    }
    let path = ctx.config_path();
    if !path.exists() {
        eprintln!("retractor: {}", super::no_config_hint(&path));
        return Ok(exit::OK);
    }
    let config = ctx.config()?;
    let prepared = crate::console::prepare(&config.console, &config.file)
        .map_err(|e| CliError::bad_input(e.0))?;
    crate::console::run(ctx.console_tasks()?, prepared)
        .await
        .map_err(|e| CliError::new(exit::ERROR, e.0))?;
    Ok(exit::OK)
}

/// Ask the plan's confirmation on the terminal and return the answer as typed (the engine
/// checks it); refuse (exit 4) when there is no terminal to ask on.
pub(super) fn confirm(confirmation: &crate::api::ConfirmationView) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            exit::REFUSED,
            "refused: this changes mailboxes and standard input is not a terminal; pass --yes to confirm",
        ));
    }
    eprint!("{} {} ", confirmation.question, confirmation.prompt);
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::new(exit::ERROR, format!("cannot read the answer: {e}")))?;
    Ok(answer)
}

/// Parse a WHEN argument, naming the option on error.
pub(super) fn when(option: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    crate::model::when::parse_when(text, chrono::Utc::now())
        .map_err(|e| CliError::bad_input(format!("{option}: {e}")))
}

/// Parse an ACTION argument.
pub(super) fn action(text: &str) -> Result<crate::model::Action, CliError> {
    match text.parse::<crate::model::Action>() {
        Ok(crate::model::Action::Restore) | Err(_) => Err(CliError::bad_input(format!(
            "--action {}: expected one of move-to-junk, trash, soft-delete, quarantine, hard-delete",
            sanitize(text)
        ))),
        Ok(a) => Ok(a),
    }
}
