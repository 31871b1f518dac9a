//! The `:` command line: parsing and completion. Commands map onto the same actions as keys.

use crate::model::Action;

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
    "sweep",
    "tenant",
];

/// The actions `:action` and `:sweep` take, for completion.
pub const ACTIONS: [&str; 5] = [
    "move-to-junk",
    "trash",
    "soft-delete",
    "quarantine",
    "hard-delete",
];

/// `:sweep` as typed: which mail to look for in every mailbox of a tenant, and what to do
/// with it. Empty terms mean "the message open or selected". `since` stays text here; the
/// caller resolves it against its clock.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepTerms {
    pub action: Option<Action>,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub since: Option<String>,
    pub tenant: Option<String>,
    /// `all`: sweep on `since:` alone, with no content filter (the engine refuses it without).
    pub all: bool,
    /// `max:N`: raise the cap on copies the sweep may act on.
    pub max_items: Option<u64>,
    /// `reason:TEXT`: the sweep's reason (a ticket), so no message need be open to give one.
    pub reason: Option<String>,
}

impl SweepTerms {
    /// No term names mail to look for.
    pub fn names_no_mail(&self) -> bool {
        self.message_id.is_none()
            && self.from.is_none()
            && self.subject.is_none()
            && self.since.is_none()
    }
}

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
    SetAction(Action),
    Reason(String),
    Search(String),
    /// Search every mailbox of a tenant (not only the log) and act on what matches.
    Sweep(SweepTerms),
    /// Show one tenant's messages only; `None` shows every tenant again.
    Tenant(Option<String>),
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
        "action" => remedial_action(arg).map(Cmd::SetAction),
        "reason" => Ok(Cmd::Reason(arg.to_string())),
        "search" => Ok(Cmd::Search(arg.to_string())),
        "sweep" => sweep_terms(arg).map(Cmd::Sweep),
        "tenant" => match words(arg)?.as_slice() {
            [] => Ok(Cmd::Tenant(None)),
            [one] => Ok(Cmd::Tenant(Some(one.clone()))),
            _ => Err(":tenant takes one tenant name (or none, for all)".into()),
        },
        _ => Err(format!("unknown command :{name}")),
    }
}

/// An action that acts on mail (restore is not one).
fn remedial_action(arg: &str) -> Result<Action, String> {
    match arg.parse::<Action>() {
        Ok(Action::Restore) | Err(_) => Err(format!(
            "the action must be one of {}, not '{arg}'",
            ACTIONS.join(", ")
        )),
        Ok(a) => Ok(a),
    }
}

/// `:sweep [ACTION] [from:ADDR] [subject:TEXT] [msgid:ID] [since:WHEN] [tenant:NAME] [all]
/// [max:N] [reason:TEXT]`; values with spaces go in double quotes (`subject:"Q4 payroll"`). Blank values
/// and the other rails are the engine's to refuse, as for the CLI.
fn sweep_terms(arg: &str) -> Result<SweepTerms, String> {
    let mut terms = SweepTerms::default();
    for word in words(arg)? {
        if word.eq_ignore_ascii_case("all") {
            terms.all = true;
            continue;
        }
        if let Some(max) = word
            .split_once(':')
            .filter(|(field, _)| field.eq_ignore_ascii_case("max"))
            .map(|(_, value)| value)
        {
            let parsed = max
                .parse::<u64>()
                .map_err(|_| format!(":sweep max: needs a number of copies, not '{max}'"))?;
            if terms.max_items.replace(parsed).is_some() {
                return Err(":sweep takes max: once".into());
            }
            continue;
        }
        let Some((field, value)) = word.split_once(':') else {
            if terms.action.is_some() {
                return Err(format!(":sweep takes one action; '{word}' is a second"));
            }
            terms.action = Some(remedial_action(&word)?);
            continue;
        };
        if value.is_empty() {
            return Err(format!(":sweep {field}: needs a value"));
        }
        let slot = match field.to_ascii_lowercase().as_str() {
            "from" => &mut terms.from,
            "subject" => &mut terms.subject,
            "msgid" => &mut terms.message_id,
            "since" => &mut terms.since,
            "tenant" => &mut terms.tenant,
            "reason" => &mut terms.reason,
            _ => {
                return Err(format!(
                    ":sweep does not know '{field}:' (it takes from: subject: msgid: since: tenant: max: reason:)"
                ));
            }
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(format!(":sweep takes {field}: once"));
        }
    }
    Ok(terms)
}

/// Split on whitespace; double quotes group (`subject:"a b"` is one word `subject:a b`).
fn words(arg: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in arg.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err("a double quote is not closed".into());
    }
    if started {
        out.push(word);
    }
    Ok(out)
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

/// Complete what is being typed: the command name, then its argument's last word. The
/// longest common prefix of the candidates, with a trailing space after a command name when
/// only one fits; `None` when nothing matches. After `:action`, actions complete; after
/// `:tenant`, the configured `tenants`; after `:sweep`, its actions and terms (`tenant:`
/// values too); after `:search`, the query's fields and the values of `status:`,
/// `disposition:` and `tenant:` (a leading `-` is kept).
pub fn complete(line: &str, tenants: &[String]) -> Option<String> {
    if let Some((name, arg)) = line.split_once(' ') {
        let command = resolve(name).ok()?;
        let (done, last) = match arg.rfind(' ') {
            Some(i) => arg.split_at(i + 1),
            None => ("", arg),
        };
        let (negation, last) = match last.strip_prefix('-') {
            Some(rest) if command == "search" => ("-", rest),
            _ => ("", last),
        };
        let tenant_values = || tenants.iter().map(|t| format!("tenant:{t}"));
        let options: Vec<String> = match command {
            "action" => ACTIONS.map(String::from).to_vec(),
            "tenant" => tenants.to_vec(),
            "sweep" if last.contains(':') => tenant_values().collect(),
            "sweep" => ACTIONS
                .iter()
                .chain(SWEEP_TERMS.iter())
                .map(|o| o.to_string())
                .collect(),
            "search" => match last.split_once(':') {
                None => crate::query::FIELDS.map(|f| format!("{f}:")).to_vec(),
                Some((field, _)) => match field.to_ascii_lowercase().as_str() {
                    "status" => crate::query::STATUSES
                        .map(|v| format!("{field}:{v}"))
                        .to_vec(),
                    "disposition" => crate::query::DISPOSITIONS
                        .map(|v| format!("{field}:{v}"))
                        .to_vec(),
                    "tenant" => tenant_values().collect(),
                    _ => return None,
                },
            },
            _ => return None,
        };
        let fit: Vec<&str> = options
            .iter()
            .map(String::as_str)
            .filter(|o| o.starts_with(last))
            .collect();
        let word = match fit.as_slice() {
            [one] => Some(one.to_string()),
            _ => common_prefix(&fit),
        }?;
        return Some(format!("{name} {done}{negation}{word}"));
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

/// The terms `:sweep` takes besides an action, for completion (see [`sweep_terms`]).
const SWEEP_TERMS: [&str; 8] = [
    "from:", "subject:", "msgid:", "since:", "tenant:", "max:", "reason:", "all",
];

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
        assert_eq!(parse("action trash"), Ok(Cmd::SetAction(Action::Trash)));
        assert!(parse("re").unwrap_err().contains("ambiguous"));
        assert!(parse("depth x").unwrap_err().contains("0 to 10"));
        assert!(parse("fly").unwrap_err().contains("unknown command :fly"));
    }

    #[test]
    fn completes_names_actions_and_tenants() {
        let tenants = [
            "corp".to_string(),
            "contoso".to_string(),
            "demo".to_string(),
        ];
        assert_eq!(complete("ret", &tenants).as_deref(), Some("retract "));
        assert_eq!(complete("re", &tenants).as_deref(), Some("re"));
        assert_eq!(
            complete("action qu", &tenants).as_deref(),
            Some("action quarantine")
        );
        assert_eq!(complete("te", &tenants).as_deref(), Some("tenant "));
        assert_eq!(complete("tenant c", &tenants).as_deref(), Some("tenant co"));
        assert_eq!(
            complete("tenant d", &tenants).as_deref(),
            Some("tenant demo")
        );
        assert_eq!(complete("tenant x", &tenants), None);
        assert_eq!(complete("zz", &tenants), None);
    }

    #[test]
    fn completes_the_arguments_of_sweep_and_search() {
        let tenants = ["corp".to_string(), "demo".to_string()];
        assert_eq!(
            complete("sweep q", &tenants).as_deref(),
            Some("sweep quarantine")
        );
        assert_eq!(
            complete("sweep trash fr", &tenants).as_deref(),
            Some("sweep trash from:")
        );
        assert_eq!(
            complete("sweep from:a@b.test tenant:d", &tenants).as_deref(),
            Some("sweep from:a@b.test tenant:demo")
        );
        // `s` starts soft-delete, subject: and since:: nothing in common past the `s`.
        assert_eq!(complete("sweep s", &tenants).as_deref(), Some("sweep s"));
        assert_eq!(
            complete("search -st", &tenants).as_deref(),
            Some("search -status:")
        );
        assert_eq!(
            complete("search from:x status:ret", &tenants).as_deref(),
            Some("search from:x status:retracted")
        );
        assert_eq!(
            complete("search disposition:mal", &tenants).as_deref(),
            Some("search disposition:malicious")
        );
        assert_eq!(complete("search since:2", &tenants), None);
        assert_eq!(complete("sweep zz", &tenants), None);
        // Every term offered is one the parser takes.
        for term in SWEEP_TERMS {
            let line = format!("sweep {term}{}", if term == "all" { "" } else { "1" });
            assert!(parse(&line).is_ok(), "{line}: {:?}", parse(&line));
        }
    }

    #[test]
    fn parses_sweep_terms_with_quotes_and_names_every_mistake() {
        assert_eq!(
            parse(r#"sweep trash from:ceo@evil.test subject:"Q4 payroll" since:2h tenant:corp"#),
            Ok(Cmd::Sweep(SweepTerms {
                action: Some(Action::Trash),
                from: Some("ceo@evil.test".into()),
                subject: Some("Q4 payroll".into()),
                since: Some("2h".into()),
                tenant: Some("corp".into()),
                message_id: None,
                all: false,
                max_items: None,
                reason: None,
            }))
        );
        // Bare: the open message (the action is the engine's to require).
        assert_eq!(parse("sweep"), Ok(Cmd::Sweep(SweepTerms::default())));
        assert!(parse("sweep").is_ok_and(|c| matches!(c, Cmd::Sweep(t) if t.names_no_mail())));
        let err = |line: &str| parse(line).unwrap_err();
        assert!(err("sweep to:x@y").contains("does not know 'to:'"));
        assert!(err("sweep restore").contains("must be one of"));
        assert!(err("sweep trash junk").contains("one action"));
        assert!(err("sweep from:a@b from:c@d").contains("from: once"));
        assert!(err("sweep subject:").contains("needs a value"));
        assert!(err(r#"sweep subject:"open"#).contains("not closed"));
        assert_eq!(parse("tenant"), Ok(Cmd::Tenant(None)));
        assert_eq!(parse("tenant corp"), Ok(Cmd::Tenant(Some("corp".into()))));
        assert!(err("tenant a b").contains("one tenant"));
    }

    #[test]
    fn sweep_takes_a_reason_without_an_open_message() {
        let Ok(Cmd::Sweep(t)) =
            parse(r#"sweep quarantine from:x@evil.test reason:"TICKET-1 phish""#)
        else {
            panic!("not a sweep")
        };
        assert_eq!(t.reason.as_deref(), Some("TICKET-1 phish"));
        assert_eq!(t.from.as_deref(), Some("x@evil.test"));
        assert!(!t.names_no_mail(), "a reason names no mail, from: does");
        let Ok(Cmd::Sweep(bare)) = parse("sweep trash reason:T-2") else {
            panic!("not a sweep")
        };
        assert!(
            bare.names_no_mail(),
            "reason: alone still means the open message"
        );
    }

    #[test]
    fn sweep_takes_all_and_a_cap() {
        let Ok(Cmd::Sweep(t)) = parse("sweep since:2h all max:5000") else {
            panic!("not a sweep")
        };
        assert!(t.all);
        assert_eq!(t.max_items, Some(5000));
        assert_eq!(t.since.as_deref(), Some("2h"));
        let err = |line: &str| parse(line).unwrap_err();
        assert!(err("sweep max:lots").contains("number of copies"));
        assert!(err("sweep max:1 max:2").contains("max: once"));
        assert!(err("sweep reason:a reason:b").contains("reason: once"));
        assert!(err("sweep reason:").contains("needs a value"));
        // A blank value in quotes reaches the engine, which refuses it (as for the CLI).
        assert!(matches!(
            parse(r#"sweep subject:" ""#),
            Ok(Cmd::Sweep(SweepTerms { subject: Some(s), .. })) if s == " "
        ));
    }
}
