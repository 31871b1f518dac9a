//! The `:` command line: parsing and completion. Commands map onto the same actions as keys.

use crate::model::Action as MailAction;

/// Command names, for completion and the help line.
pub const COMMANDS: &[&str] = &[
    "action",
    "audit",
    "cancel",
    "depth",
    "help",
    "messages",
    "operations",
    "quit",
    "reason",
    "restore",
    "retract",
    "search",
];

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Quit,
    Help,
    Messages,
    Operations,
    Audit,
    /// Open the retract tab, or run it when it is open.
    Retract,
    Restore,
    Cancel,
    Depth(u32),
    SetAction(MailAction),
    Reason(String),
    Search(String),
}

/// Parse a command line (without the `:`). Errors name the problem.
pub fn parse(line: &str) -> Result<Cmd, String> {
    let line = line.trim();
    let (name, arg) = line.split_once(' ').unwrap_or((line, ""));
    let arg = arg.trim();
    let name = resolve(name)?;
    let no_arg = |cmd: Cmd| {
        if arg.is_empty() {
            Ok(cmd)
        } else {
            Err(format!(":{name} takes no argument"))
        }
    };
    match name {
        "quit" => no_arg(Cmd::Quit),
        "help" => no_arg(Cmd::Help),
        "messages" => no_arg(Cmd::Messages),
        "operations" => no_arg(Cmd::Operations),
        "audit" => no_arg(Cmd::Audit),
        "retract" => no_arg(Cmd::Retract),
        "restore" => no_arg(Cmd::Restore),
        "cancel" => no_arg(Cmd::Cancel),
        "depth" => arg
            .parse::<u32>()
            .ok()
            .filter(|d| *d <= 10)
            .map(Cmd::Depth)
            .ok_or_else(|| format!(":depth needs a number from 0 to 10, not '{arg}'")),
        "action" => match arg.parse::<MailAction>() {
            Ok(MailAction::Restore) | Err(_) => Err(format!(
                ":action needs one of move-to-junk, trash, soft-delete, quarantine, hard-delete, not '{arg}'"
            )),
            Ok(a) => Ok(Cmd::SetAction(a)),
        },
        "reason" => Ok(Cmd::Reason(arg.to_string())),
        "search" => Ok(Cmd::Search(arg.to_string())),
        _ => Err(format!("unknown command :{name}")),
    }
}

/// A command name, or a unique prefix of one (`:q` is `:quit`).
fn resolve(name: &str) -> Result<&'static str, String> {
    if name.is_empty() {
        return Err("empty command (try :help)".into());
    }
    if let Some(exact) = COMMANDS.iter().find(|c| **c == name) {
        return Ok(exact);
    }
    let matches: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .filter(|c| c.starts_with(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "unknown command :{name} (commands: {})",
            COMMANDS.join(" ")
        )),
        many => Err(format!(":{name} is ambiguous: {}", many.join(" "))),
    }
}

/// Complete the command name being typed: the longest common prefix of the candidates,
/// with a trailing space when only one fits. Returns `None` when nothing matches.
pub fn complete(line: &str) -> Option<String> {
    if line.contains(' ') {
        let (name, arg) = line.split_once(' ')?;
        if resolve(name).ok()? == "action" {
            let options = [
                "move-to-junk",
                "trash",
                "soft-delete",
                "quarantine",
                "hard-delete",
            ];
            let fit: Vec<&str> = options
                .into_iter()
                .filter(|o| o.starts_with(arg.trim()))
                .collect();
            return common_prefix(&fit).map(|p| format!("{name} {p}"));
        }
        return None;
    }
    let fit: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .filter(|c| c.starts_with(line))
        .collect();
    match fit.as_slice() {
        [one] => Some(format!("{one} ")),
        _ => common_prefix(&fit),
    }
}

fn common_prefix(words: &[&str]) -> Option<String> {
    let first = words.first()?;
    let mut len = first.len();
    for w in &words[1..] {
        len = first
            .chars()
            .zip(w.chars())
            .take_while(|(a, b)| a == b)
            .count()
            .min(len);
    }
    Some(first[..len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_prefixes() {
        assert_eq!(parse("q"), Ok(Cmd::Quit));
        assert_eq!(parse("depth 2"), Ok(Cmd::Depth(2)));
        assert_eq!(parse("action trash"), Ok(Cmd::SetAction(MailAction::Trash)));
        assert!(parse("re").unwrap_err().contains("ambiguous"));
        assert!(parse("depth x").unwrap_err().contains("0 to 10"));
        assert!(parse("fly").unwrap_err().contains("unknown command :fly"));
    }

    #[test]
    fn completes_names_and_actions() {
        assert_eq!(complete("ret").as_deref(), Some("retract "));
        assert_eq!(complete("re").as_deref(), Some("re"));
        assert_eq!(complete("action qu").as_deref(), Some("action quarantine"));
        assert_eq!(complete("zz"), None);
    }
}
