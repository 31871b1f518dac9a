//! `search`'s query may start with a negated term (`retractor search -status:retracted`),
//! which clap alone reads as an unknown option `-s`. clap's `allow_hyphen_values` is no
//! answer: once the query has begun it swallows every later option (`--limit 5` would become
//! two query words). So before clap parses, the words of `search` that are neither its options
//! nor their values are moved, in order, behind a `--`: clap then sees the options first and
//! the whole query as positional words. Which tokens are options is read from the clap
//! definitions themselves, never listed here.

use std::ffi::OsString;

use clap::{ArgAction, CommandFactory};

use super::args::Cli;

/// `args` (the program name first) with `search`'s query words after a `--`. Any other
/// command's arguments are returned as they came.
pub fn query_words_last(args: Vec<OsString>) -> Vec<OsString> {
    let mut root = Cli::command();
    root.build();
    let Some((at, name)) = subcommand_position(&root, &args) else {
        return args;
    };
    if name != "search" {
        return args;
    }
    let Some(search) = root.find_subcommand("search") else {
        return args;
    };
    let mut options: Vec<OsString> = args[..=at].to_vec();
    let mut words: Vec<OsString> = Vec::new();
    let mut rest = args[at + 1..].iter();
    while let Some(token) = rest.next() {
        let Some(text) = token.to_str() else {
            words.push(token.clone());
            continue;
        };
        if text == "--" {
            words.extend(rest.by_ref().cloned());
            break;
        }
        match option_kind(search, text) {
            Some(takes_value) => {
                options.push(token.clone());
                if takes_value && let Some(value) = rest.next() {
                    options.push(value.clone());
                }
            }
            None => words.push(token.clone()),
        }
    }
    if words.is_empty() {
        return options;
    }
    options.push("--".into());
    options.extend(words);
    options
}

/// Where the subcommand's name is (skipping the global options before it) and the name.
fn subcommand_position(root: &clap::Command, args: &[OsString]) -> Option<(usize, String)> {
    let mut i = 1;
    while let Some(token) = args.get(i) {
        let text = token.to_str()?;
        if text == "--" {
            return None;
        }
        match option_kind(root, text) {
            Some(true) => i += 2,
            Some(false) => i += 1,
            None if text.starts_with('-') && text.len() > 1 => return None,
            None => return Some((i, text.to_string())),
        }
    }
    None
}

/// `Some(takes_a_separate_value)` when `token` is one of `command`'s options (its own or a
/// global one) or any `--long` token, `None` when it is a word. A single-dash token is an option only when every
/// letter is a known short flag, as clap itself decides for hyphenated values.
fn option_kind(command: &clap::Command, token: &str) -> Option<bool> {
    if let Some(long) = token.strip_prefix("--") {
        let (name, inline_value) = match long.split_once('=') {
            Some((name, _)) => (name, true),
            None => (long, false),
        };
        // An unknown long option stays one, so clap names the typo (`--limt`).
        let takes = command
            .get_arguments()
            .find(|a| a.get_long() == Some(name))
            .is_some_and(takes_value);
        return Some(!inline_value && takes);
    }
    let shorts = token.strip_prefix('-')?;
    if shorts.is_empty() {
        return None;
    }
    let mut takes = false;
    for c in shorts.chars() {
        let arg = command.get_arguments().find(|a| a.get_short() == Some(c))?;
        takes = takes_value(arg);
    }
    Some(takes)
}

fn takes_value(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(line: &str) -> String {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let out = query_words_last(args);
        out.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_leading_negated_term_becomes_a_query_word() {
        assert_eq!(
            moved("retractor search -status:retracted --limit 2"),
            "retractor search --limit 2 -- -status:retracted"
        );
        assert_eq!(
            moved("retractor --json --config c.toml search invoice -q -disposition:clean"),
            "retractor --json --config c.toml search -q -- invoice -disposition:clean"
        );
        assert_eq!(
            moved("retractor search --limit=3 a -b -- -c --limit"),
            "retractor search --limit=3 -- a -b -c --limit"
        );
    }

    #[test]
    fn other_commands_and_plain_searches_are_left_alone() {
        for line in [
            "retractor show -1",
            "retractor search",
            "retractor search --limit 5",
            "retractor --config search.toml jobs",
        ] {
            assert_eq!(moved(line), line);
        }
        // A mistyped option stays an option, for clap to name.
        assert!(moved("retractor search --limt 5").starts_with("retractor search --limt"));
        // Words only: put behind `--`, which clap reads as the same query.
        assert_eq!(moved("retractor search a b"), "retractor search -- a b");
    }
}
