//! The kinds of mail system a tenant can be: one table, [`KINDS`], and the settings each kind
//! parses into, [`BackendSettings`].
//!
//! A kind is one settings module (`src/config/<kind>.rs`: its keys, its parser and its
//! [`KindSpec`]) named once in [`KINDS`] and once in [`BackendSettings`], both below; the
//! backend it builds is one entry in `backends::registry`. The unknown-kind message, the
//! unknown-key message ("expected one of") and the "not available in this build yet" answer
//! all come from this table, so nothing else lists kinds.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{COMMON_KEYS, ews, gmail, graph, imap, maildir};

/// Settings that only one kind of backend understands.
#[derive(Clone, Debug)]
pub enum BackendSettings {
    /// `kind = "maildir"`: a Dovecot Maildir++ tree on this machine.
    Maildir(maildir::MaildirSettings),
    /// `kind = "graph"`: Microsoft 365 through Microsoft Graph.
    Graph(graph::GraphSettings),
    /// `kind = "imap"`: any IMAP server with an admin login.
    Imap(imap::ImapSettings),
    /// `kind = "ews"`: on-premises Exchange through Exchange Web Services.
    Ews(ews::EwsSettings),
    /// `kind = "gmail"`: Google Workspace through the Gmail API.
    Gmail(gmail::GmailSettings),
    /// A kind this build knows by name but does not implement yet; `check` says so.
    NotYetSupported,
}

/// Every kind the contract names, in the order the unknown-kind message lists them.
pub(super) const KINDS: &[&KindSpec] = &[
    &maildir::KIND,
    &imap::KIND,
    &graph::KIND,
    &gmail::KIND,
    &ews::KIND,
    &KindSpec::announced("jmap"),
];

/// Turns a tenant's kind-specific keys into its settings; errors start with the table's name.
pub(super) type ParseKind = fn(toml::Table, &KindContext) -> Result<BackendSettings, String>;

/// One kind: its config name, the keys it takes besides the common ones, and its parser.
pub(super) struct KindSpec {
    /// The value of `kind = "..."`.
    pub name: &'static str,
    /// The kind's own keys, for the unknown-key message.
    pub keys: &'static [&'static str],
    /// `None`: announced by the contract, not built yet.
    pub parse: Option<ParseKind>,
}

impl KindSpec {
    /// A kind the contract names that this build does not implement: its tenants load (so a
    /// config written for a later release is not refused outright) and `check` says so.
    const fn announced(name: &'static str) -> KindSpec {
        KindSpec {
            name,
            keys: &[],
            parse: None,
        }
    }
}

/// The kind named `name`, if the table has it.
pub(super) fn find(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// The kind names, for "expected one of".
pub(super) fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// What a kind's parser needs besides its keys: where the table is (for messages and for
/// relative paths) and its own key list (for the unknown-key message).
pub(super) struct KindContext<'a> {
    /// The table's name as messages show it (`[tenants.corp]`).
    pub at: &'a str,
    /// The config file's directory: relative paths resolve against it.
    pub base: &'a Path,
    keys: &'static [&'static str],
}

impl<'a> KindContext<'a> {
    pub(super) fn new(at: &'a str, base: &'a Path, kind: &KindSpec) -> Self {
        KindContext {
            at,
            base,
            keys: kind.keys,
        }
    }

    /// Deserialize what is left of the table; an unknown key is named with every key this
    /// kind takes.
    pub fn read<T: DeserializeOwned>(&self, table: toml::Table) -> Result<T, String> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| format!("{}: {}", self.at, kind_key_error(&e, self.keys)))
    }
}

/// An unknown key in a tenant: name every key the kind takes, not only its own ones, since
/// the typo is as likely to be in a common key (`quarantine_mailbx`).
fn kind_key_error(e: &toml::de::Error, kind_keys: &[&str]) -> String {
    let message = e.message().trim();
    match message.strip_prefix("unknown field ") {
        Some(rest) => {
            let key = rest.split(',').next().unwrap_or(rest);
            let mut allowed: Vec<&str> = COMMON_KEYS.to_vec();
            allowed.extend_from_slice(kind_keys);
            format!("unknown key {key}; expected one of {}", allowed.join(", "))
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_and_keys_are_not_common_ones() {
        let all = names();
        for (i, name) in all.iter().enumerate() {
            assert!(!all[..i].contains(name), "{name} is in KINDS twice");
        }
        for kind in KINDS {
            for key in kind.keys {
                assert!(
                    !COMMON_KEYS.contains(key),
                    "{}: {key} is a common key",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn an_unknown_key_names_the_common_and_the_kinds_keys() {
        let cx = KindContext::new("[tenants.x]", Path::new("/etc"), &imap::KIND);
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Host {
            #[allow(dead_code)]
            host: String,
        }
        let table: toml::Table = "host = \"h\"\nhots = 1\n".parse().expect("toml");
        let e = cx.read::<Host>(table).expect_err("an unknown key");
        assert!(
            e.starts_with("[tenants.x]: unknown key `hots`")
                && e.contains("quarantine_mailbox")
                && e.contains("check_sample"),
            "{e}"
        );
    }
}
