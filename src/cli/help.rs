//! The long help of each command: what its arguments mean and worked examples. Kept apart
//! from the clap definitions so `args.rs` reads as the list of options it is; the same text
//! feeds `--help`, the man pages and the completions' descriptions.

use clap::builder::{PossibleValue, TypedValueParser};

use crate::model::Action;

/// What REF means, for every command that takes one.
pub const REF: &str = "REF is a log id (the ID column of `retractor search`, or the number the \
console shows) or a Message-ID, with or without its angle brackets (`<id@host>` or `id@host`).";

/// What an action does to a copy, as `--help` says it (the names are the model's).
pub fn action_effect(action: Action) -> &'static str {
    match action {
        Action::MoveToJunk => "to the recipient's Junk folder; restorable",
        Action::Trash => "to Trash (Deleted Items); restorable, by the user too",
        Action::SoftDelete => "into a hidden folder only an admin sees; restorable",
        Action::Quarantine => "into the quarantine mailbox, one folder per recipient; restorable",
        Action::HardDelete => {
            "gone for good after an evidence copy is kept (asks for the word `delete`); not restorable"
        }
        Action::Restore => "back where the copy was",
    }
}

/// WHEN, for every option that takes a time.
pub const WHEN: &str =
    "WHEN is RFC 3339 (`2026-11-30T09:00:00Z`) or relative to now (`90m`, `2h`, `3d`).";

pub const SEARCH: &str = "\
Search the message log.

The query: free words match subject, sender and recipients; terms are from: to: subject: \
msgid: status: (delivered, retracted, restored, failed) disposition: (clean, bulk, spam, \
suspicious, malicious, spoof) tenant: since: until: (WHEN); \"quotes\" group words; -term \
negates; word* matches a prefix. Options may come before or after the query, and a query may \
start with a negated term (`retractor search -status:retracted`).";

pub const SEARCH_EXAMPLES: &str = "\
Examples:
  retractor search invoice from:billing@pay-portal.example
  retractor search disposition:malicious since:1d
  retractor search -status:retracted disposition:malicious --limit 20
  retractor --json search msgid:'<campaign@mx.example>'";

pub const SHOW_EXAMPLES: &str = "\
Examples:
  retractor show 17
  retractor show '<campaign@mx.example>' --depth 1
  retractor --json show 17";

pub const RETRACT_EXAMPLES: &str = "\
Examples:
  Look first (a dry run changes nothing and prints the plan):
    retractor retract 17 --action quarantine --depth 2 --dry-run
  Quarantine the message and its replies and forwards two levels deep, with the ticket:
    retractor retract 17 --action quarantine --depth 2 --reason 'INC-4711 invoice phish' --yes
  Run it here and print the finished job:
    retractor retract '<campaign@mx.example>' --action move-to-junk --yes --wait
  Only two recipients, never the CEO's mailbox:
    retractor retract 17 --action trash --recipient alice@corp.test --recipient bob@corp.test \\
      --exclude ceo@corp.test --reason INC-4711";

pub const RESTORE_EXAMPLES: &str = "\
Examples:
  Put one recipient's copy back where it was:
    retractor restore 17 --recipient alice@corp.test --reason 'INC-4711 false positive' --yes
  Undo a whole job:
    retractor restore --job 42 --reason 'INC-4711 closed' --yes --wait";

pub const SWEEP_EXAMPLES: &str = "\
Examples:
  See what a sweep by sender would pull (changes nothing):
    retractor sweep --tenant corp --from billing@pay-portal.example --action quarantine --dry-run
  Then pull it, with the ticket:
    retractor sweep --tenant corp --from billing@pay-portal.example --action quarantine \\
      --reason INC-4711 --yes
  Everything with this subject since yesterday:
    retractor sweep --tenant corp --subject 'Invoice overdue' --since 1d --action move-to-junk --yes
  Every message since an hour ago (needs --all on purpose):
    retractor sweep --tenant corp --since 1h --all --max-items 5000 --action trash --dry-run";

pub const JOBS_EXAMPLES: &str = "\
Examples:
  retractor jobs
  retractor jobs 42
  retractor jobs 42 --watch
  retractor --json jobs 42";

pub const AUDIT_EXAMPLES: &str = "\
Examples:
  Yesterday's pulls:
    retractor audit --since 2d --until 1d
  One analyst's records for a job:
    retractor audit --actor alice --job 42
  Check the trail:
    retractor audit verify --witness /var/log/retractor/audit.witness";

pub const INGEST_EXAMPLES: &str = "\
Examples:
  retractor ingest --format jsonl gateway.jsonl
  retractor ingest --format postfix /var/log/mail.log --tenant corp
  zcat trace.csv.gz | retractor ingest --format m365-trace - --tenant m365";

pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  retractor completions bash > /etc/bash_completion.d/retractor
  retractor completions zsh > \"${fpath[1]}/_retractor\"
  retractor completions fish > ~/.config/fish/completions/retractor.fish";

pub const MANPAGE_EXAMPLES: &str = "\
Examples:
  retractor manpage > retractor.1 && man ./retractor.1
  retractor manpage retract > retractor-retract.1";

/// `--action`'s values for completions and help, taken as typed: the command checks them
/// (and names the option and the choices on a mistake, as JSON under `--json`).
#[derive(Clone, Debug)]
pub struct ActionNames;

impl TypedValueParser for ActionNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Action::REMEDIATIONS.into_iter().map(|a| {
            PossibleValue::new(a.as_str()).help(action_effect(a))
        })))
    }
}

pub const DEMO_EXAMPLES: &str = "\
Examples:
  retractor demo
  retractor demo --no-tui --dir /tmp/demo && retractor --config /tmp/demo/config.toml search
  retractor demo --reset";

pub const INDEX_EXAMPLES: &str = "\
Example:
  retractor index --tenant corp --since 7d";

pub const CHECK_EXAMPLES: &str = "\
Examples:
  retractor check
  retractor --json check --tenant corp";

pub const WORKER_EXAMPLES: &str = "\
Examples:
  retractor worker            # run what is queued, then exit
  retractor worker --follow   # keep running";

pub const SERVE_EXAMPLES: &str = "\
Example:
  retractor serve --config /etc/retractor/config.toml
  retractor --connect /run/retractor/retractor.sock jobs";
