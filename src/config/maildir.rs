//! `kind = "maildir"`: a Dovecot Maildir++ tree on this machine, `<root>/<domain>/<user>/`.

use std::path::PathBuf;

use serde::Deserialize;

use super::folders::check_maildir_folders;
use super::kinds::{BackendSettings, KindContext, KindSpec};

/// This kind's entry in [`super::kinds::KINDS`].
pub(super) const KIND: KindSpec = KindSpec {
    name: "maildir",
    keys: &MAILDIR_KEYS,
    parse: Some(|table, cx| parse(table, cx).map(BackendSettings::Maildir)),
};

/// The keys `kind = "maildir"` takes besides the common ones.
const MAILDIR_KEYS: [&str; 2] = ["root", "folders"];

/// Settings of one Maildir tenant.
#[derive(Clone, Debug)]
pub struct MaildirSettings {
    pub root: PathBuf,
    pub folders: MaildirFolders,
}

/// Folder names (as users see them; on disk `.Name`) used by each action.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MaildirFolders {
    pub junk: String,
    pub trash: String,
    /// Hidden admin folder for soft-deleted copies.
    pub soft_delete: String,
    /// Hidden folder that keeps hard-deleted copies of mailboxes on legal hold.
    pub hold: String,
    /// Parent folder, in the quarantine mailbox, of the per-recipient quarantine folders.
    pub quarantine: String,
}

impl Default for MaildirFolders {
    fn default() -> Self {
        MaildirFolders {
            junk: "Junk".into(),
            trash: "Trash".into(),
            soft_delete: "Retractor-Deleted".into(),
            hold: "Retractor-Held".into(),
            quarantine: "Quarantine".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaildir {
    root: PathBuf,
    #[serde(default)]
    folders: MaildirFolders,
}

/// Parse the kind-specific keys of a Maildir tenant; the folder names are checked here.
fn parse(table: toml::Table, cx: &KindContext) -> Result<MaildirSettings, String> {
    let raw: RawMaildir = cx.read(table)?;
    check_maildir_folders(cx.at, &raw.folders)?;
    Ok(MaildirSettings {
        root: cx.base.join(raw.root),
        folders: raw.folders,
    })
}
