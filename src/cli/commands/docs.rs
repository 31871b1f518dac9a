//! `completions` and `manpage`: generated from the same clap definitions as the parser, so
//! they can never list an option the binary does not take.

use std::io::Write;

use clap::CommandFactory;

use super::super::args::{Cli, CompletionShell, CompletionsArgs, ManpageArgs};
use super::super::{CliError, exit};
use crate::model::text::sanitize;

pub fn completions(a: CompletionsArgs) -> Result<u8, CliError> {
    let shell = match a.shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "retractor", &mut out);
    write_stdout(&out)
}

pub fn manpage(a: ManpageArgs) -> Result<u8, CliError> {
    let root = Cli::command();
    let page = match a.command.as_deref() {
        None => root,
        Some(name) => {
            let Some(sub) = root.find_subcommand(name).cloned() else {
                let known: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).collect();
                return Err(CliError::bad_input(format!(
                    "manpage {}: no such command (one of: {})",
                    sanitize(name),
                    known.join(", ")
                )));
            };
            // The page of `retractor retract` is retractor-retract(1), as git's are.
            let title = format!("retractor-{}", sub.get_name());
            sub.name(title)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| CliError::new(exit::ERROR, format!("manpage: {e}")))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<u8, CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::new(exit::ERROR, format!("cannot write to stdout: {e}")))?;
    Ok(exit::OK)
}
