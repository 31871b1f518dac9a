//! Checks across a tenant's folder names and across tenants, made at load so that a typo
//! never sends mail somewhere nobody asked for.

use std::collections::BTreeMap;

use super::{MaildirFolders, Tenant};

/// An address must belong to exactly one tenant: with a domain in two, which one acts on a
/// recipient would depend on the order of the tables.
pub(super) fn check_domains_are_unique(tenants: &BTreeMap<String, Tenant>) -> Result<(), String> {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, tenant) in tenants {
        for domain in &tenant.domains {
            if let Some(first) = owner.insert(domain.as_str(), name.as_str())
                && first != name
            {
                return Err(format!(
                    "domain \"{}\" is in both [tenants.{first}] and [tenants.{name}]: an address must belong to one tenant",
                    crate::model::text::sanitize(domain)
                ));
            }
        }
    }
    Ok(())
}

/// Check a folder name from config before anything acts on it, so a typo cannot make
/// retractor move mail into the user's INBOX or outside the mailbox tree.
///
/// Refused: an empty name, `INBOX` in any case (junk, trash, the admin folders and the
/// quarantine parent are all places mail is moved *out of view*), a leading `/` or `~`
/// (filesystem paths to some servers), and `/`- or `.`-separated levels that are empty, `.`
/// or `..`, as well as control characters. `at` and `key` name the place in errors.
pub(crate) fn check_folder_name(at: &str, key: &str, name: &str) -> Result<(), String> {
    let shown = crate::model::text::sanitize(&format!("{name:?}"));
    let refuse = |why: &str| Err(format!("{at} {key} = {shown}: {why}"));
    if name.trim().is_empty() {
        return refuse("a folder name must not be empty");
    }
    if name.eq_ignore_ascii_case("INBOX") {
        return refuse("INBOX cannot be a destination: mail moved there stays in the user's view");
    }
    if name.chars().any(char::is_control) {
        return refuse("a folder name must not contain control characters");
    }
    if name.starts_with(['/', '~']) {
        return refuse("a folder name must not start with '/' or '~' (a path outside the mailbox)");
    }
    if name
        .split(['/', '.'])
        .any(|level| level.is_empty() || level == "." || level == "..")
    {
        return refuse(
            "a folder name must not have empty, '.' or '..' levels (it would leave the mailbox tree)",
        );
    }
    Ok(())
}

/// The Maildir folder names of a tenant: each a usable name ([`check_folder_name`]), and the
/// admin folders distinct from junk, trash and each other, so copies kept out of view never
/// land where the user reads.
pub(super) fn check_maildir_folders(at: &str, f: &MaildirFolders) -> Result<(), String> {
    let named = [
        ("folders.junk", &f.junk),
        ("folders.trash", &f.trash),
        ("folders.soft_delete", &f.soft_delete),
        ("folders.hold", &f.hold),
        ("folders.quarantine", &f.quarantine),
    ];
    for (key, name) in named {
        check_folder_name(at, key, name)?;
    }
    check_distinct_folders(at, &named)
}

/// The admin folders (the last three of `named`) must differ from every other folder.
pub(crate) fn check_distinct_folders(at: &str, named: &[(&str, &String); 5]) -> Result<(), String> {
    for (i, (key, name)) in named.iter().enumerate().skip(2) {
        for (other_key, other) in named.iter().take(i) {
            if name.eq_ignore_ascii_case(other) {
                return Err(format!(
                    "{at} {key} and {other_key} are both {}: each admin folder needs its own name",
                    crate::model::text::sanitize(&format!("{name:?}"))
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/retractor/config.toml"))
    }

    #[test]
    fn folder_names_that_mean_inbox_or_leave_the_tree_are_refused() {
        let tenant = |folders: &str| {
            parse(&format!(
                "[tenants.corp]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"corp.test\"]\nfolders = {{ {folders} }}\n"
            ))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        for (folders, key, why) in [
            ("junk = \"INBOX\"", "folders.junk", "INBOX"),
            ("trash = \"inbox\"", "folders.trash", "INBOX"),
            ("hold = \"..\"", "folders.hold", "'..'"),
            ("soft_delete = \"../../etc\"", "folders.soft_delete", "'..'"),
            ("quarantine = \"/var/mail\"", "folders.quarantine", "'/'"),
            ("junk = \"a/../b\"", "folders.junk", "'..'"),
            ("junk = \"\"", "folders.junk", "empty"),
            ("junk = \"Junk.\"", "folders.junk", "empty"),
            ("hold = \"Junk\"", "folders.hold", "own name"),
        ] {
            let e = tenant(folders);
            assert!(
                e.contains("[tenants.corp]") && e.contains(key) && e.contains(why),
                "{folders}: {e}"
            );
        }
        assert_eq!(tenant("junk = \"Spam.Caught\""), "");
    }

    #[test]
    fn a_domain_in_two_tenants_is_refused() {
        let e = parse(
            "[tenants.a]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"corp.test\"]\n\
             [tenants.b]\nkind = \"maildir\"\nroot = \"n\"\ndomains = [\"x.test\", \"Corp.Test\"]\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.contains("corp.test") && e.contains("[tenants.a]") && e.contains("[tenants.b]"),
            "{e}"
        );
    }
}
