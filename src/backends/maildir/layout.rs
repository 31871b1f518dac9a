//! Where things live in a Dovecot Maildir++ tree and what its file names mean. No I/O.
//!
//! Mailbox `user@domain` is `<root>/<domain>/<user>/`; its INBOX is that directory's
//! `cur/ new/ tmp/`, and folder `A.B` is the subdirectory `.A.B/` with its own three.

#[cfg(test)]
use std::path::{Path, PathBuf};

use crate::backends::common::folder_names;
use crate::backends::{BackendError, ErrorKind};
use crate::model::Location;

/// The display name of a mailbox's top-level maildir.
pub(super) const INBOX: &str = "INBOX";

/// Marks a folder directory as a Maildir++ folder (Dovecot and Courier create it).
pub(super) const FOLDER_MARKER: &str = "maildirfolder";

/// Between a file's unique name and its flag letters (Maildir "info" version 2).
const INFO_FLAGS_PREFIX: &str = "2,";

/// The two subdirectories that hold delivered messages (`tmp/` holds half-written ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Subdir {
    /// Not yet seen by any mail client; files carry no info.
    New,
    /// Seen by a client; files end in `:2,<FLAGS>`.
    Cur,
}

impl Subdir {
    /// In the order a reader must list them: a file moving from `new/` to `cur/` while we
    /// list is then still seen once.
    pub(super) const ALL: [Subdir; 2] = [Subdir::New, Subdir::Cur];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }

    fn parse(s: &str) -> Option<Subdir> {
        match s {
            "new" => Some(Subdir::New),
            "cur" => Some(Subdir::Cur),
            _ => None,
        }
    }
}

/// One message file, relative to its mailbox directory. Its string form is the
/// `provider_id` of a `Location`: `new/<name>` or `.Junk/cur/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MessagePath {
    /// The folder's display name (`INBOX`, `Junk`, `A.B`).
    pub folder: String,
    pub subdir: Subdir,
    pub file_name: String,
}

impl MessagePath {
    /// Parse a stored provider id. Ids come back from the store, so they are checked as
    /// strictly as user input: nothing may point outside the mailbox directory.
    pub(super) fn parse(provider_id: &str) -> Result<MessagePath, BackendError> {
        let bad = || invalid(format!("'{provider_id}' is not a Maildir message path"));
        let parts: Vec<&str> = provider_id.split('/').collect();
        let (folder, subdir, file_name) = match parts.as_slice() {
            [subdir, name] => (INBOX.to_string(), *subdir, *name),
            [dir, subdir, name] => {
                let folder = folder_name_of_dir(dir).ok_or_else(bad)?;
                (folder.to_string(), *subdir, *name)
            }
            _ => return Err(bad()),
        };
        let subdir = Subdir::parse(subdir).ok_or_else(bad)?;
        if !is_message_file_name(file_name) {
            return Err(bad());
        }
        Ok(MessagePath {
            folder,
            subdir,
            file_name: file_name.to_string(),
        })
    }

    /// The typed handle of a stored copy: an id that does not parse is an error naming it.
    pub(super) fn of(copy: &Location) -> Result<MessagePath, BackendError> {
        MessagePath::parse(&copy.provider_id)
    }

    /// The `provider_id` form.
    pub(super) fn provider_id(&self) -> String {
        match folder_dir_name(&self.folder) {
            Ok(Some(dir)) => format!("{dir}/{}/{}", self.subdir.as_str(), self.file_name),
            _ => format!("{}/{}", self.subdir.as_str(), self.file_name),
        }
    }

    /// The file's path under `mailbox_dir`.
    #[cfg(test)]
    pub(super) fn full_path(&self, mailbox_dir: &Path) -> Result<PathBuf, BackendError> {
        Ok(folder_path(mailbox_dir, &self.folder)?
            .join(self.subdir.as_str())
            .join(&self.file_name))
    }
}

/// The directory names of mailbox `address`: (domain, user), so that it lives at
/// `<root>/<domain>/<user>/`; refuses addresses that would escape the tree.
pub(super) fn mailbox_parts(address: &str) -> Result<(&str, &str), BackendError> {
    let (user, domain) = address.rsplit_once('@').ok_or_else(|| {
        invalid(format!(
            "mailbox '{address}' is not an address (user@domain)"
        ))
    })?;
    if !is_safe_path_component(user) || !is_safe_path_component(domain) {
        return Err(invalid(format!(
            "mailbox '{address}' cannot be mapped to a Maildir directory"
        )));
    }
    Ok((domain, user))
}

/// The directory of mailbox `address` under `root` (for messages; acts go through handles).
#[cfg(test)]
pub(super) fn mailbox_dir(root: &Path, address: &str) -> Result<PathBuf, BackendError> {
    let (domain, user) = mailbox_parts(address)?;
    Ok(root.join(domain).join(user))
}

/// The directory, under `mailbox_dir`, holding `folder`.
#[cfg(test)]
pub(super) fn folder_path(mailbox_dir: &Path, folder: &str) -> Result<PathBuf, BackendError> {
    Ok(match folder_dir_name(folder)? {
        Some(dir) => mailbox_dir.join(dir),
        None => mailbox_dir.to_path_buf(),
    })
}

/// The on-disk directory name of `folder` (`None` for INBOX, which is the mailbox dir).
pub(super) fn folder_dir_name(folder: &str) -> Result<Option<String>, BackendError> {
    if folder.eq_ignore_ascii_case(INBOX) {
        return Ok(None);
    }
    if !is_valid_folder_name(folder) {
        return Err(invalid(format!(
            "'{folder}' is not a usable Maildir++ folder name"
        )));
    }
    Ok(Some(format!(".{folder}")))
}

/// The display name of a folder directory entry (`.Junk` -> `Junk`), if it is one.
pub(super) fn folder_name_of_dir(dir_name: &str) -> Option<&str> {
    dir_name
        .strip_prefix('.')
        .filter(|name| is_valid_folder_name(name))
}

/// The quarantine folder for a recipient: `Quarantine.alice@demo=2Etest` per recipient
/// (an injective escaping of the address shared with the IMAP backend, see
/// `backends::common::folder_names`), else the parent itself.
pub(super) fn quarantine_folder(parent: &str, recipient: &str, per_recipient: bool) -> String {
    if per_recipient {
        folder_names::quarantine_folder(parent, ".", recipient)
    } else {
        parent.to_string()
    }
}

/// Whether `folder` is `parent` or one of its subfolders.
pub(super) fn is_in_folder_tree(folder: &str, parent: &str) -> bool {
    folder == parent
        || folder
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The flag letters of a message file name (`""` for a name without info).
pub(super) fn flags_of(file_name: &str) -> &str {
    file_name
        .split_once(':')
        .and_then(|(_, info)| info.strip_prefix(INFO_FLAGS_PREFIX))
        .unwrap_or("")
}

/// Whether the flags mark the message as read.
pub(super) fn is_seen(flags: &str) -> bool {
    flags.contains('S')
}

/// The part of a file name that survives flag changes (Dovecot renames `cur/` files to
/// change flags, and moves `new/` files to `cur/` adding info).
pub(super) fn unique_part(file_name: &str) -> &str {
    file_name
        .split_once(':')
        .map_or(file_name, |(unique, _)| unique)
}

/// `file_name` with its unique part replaced by `unique`, keeping Dovecot's size fields
/// (`,S=…,W=…`) and the info, hence the flags.
pub(super) fn renamed_with_unique(file_name: &str, unique: &str) -> String {
    let (base, info) = match file_name.split_once(':') {
        Some((base, info)) => (base, format!(":{info}")),
        None => (file_name, String::new()),
    };
    let size_fields = base.find(',').map_or("", |at| &base[at..]);
    format!("{unique}{size_fields}{info}")
}

/// Files Dovecot (or Courier) keeps next to the maildirs: indexes, uid lists, quota,
/// subscriptions. They are not messages and not foreign.
pub(super) fn is_server_file(name: &str) -> bool {
    const EXACT: [&str; 3] = ["subscriptions", FOLDER_MARKER, "maildirsize"];
    const PREFIXES: [&str; 4] = ["dovecot", ".dovecot", "courier", ".courier"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Maildir readers ignore dot files in `new/` and `cur/`; anything else there is a message.
pub(super) fn is_message_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\0'])
}

/// Maildir++ folder names: hierarchy levels separated by `.`, none empty.
fn is_valid_folder_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\0'])
        && name.split('.').all(|level| !level.is_empty())
}

fn is_safe_path_component(part: &str) -> bool {
    !part.is_empty() && part != "." && part != ".." && !part.contains(['/', '\0'])
}

fn invalid(detail: String) -> BackendError {
    BackendError::new(ErrorKind::Invalid, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_dirs_are_domain_then_user() {
        let dir = mailbox_dir(Path::new("/m"), "alice@demo.test").unwrap();
        assert_eq!(dir, PathBuf::from("/m/demo.test/alice"));
    }

    #[test]
    fn mailbox_addresses_cannot_escape_the_root() {
        for bad in [
            "..@demo.test",
            "alice@..",
            "a/b@demo.test",
            "alice",
            "@demo.test",
        ] {
            let err = mailbox_dir(Path::new("/m"), bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn folders_map_to_dot_directories() {
        assert_eq!(folder_dir_name("INBOX").unwrap(), None);
        assert_eq!(folder_dir_name("inbox").unwrap(), None);
        assert_eq!(folder_dir_name("Junk").unwrap().as_deref(), Some(".Junk"));
        assert_eq!(folder_dir_name("A.B").unwrap().as_deref(), Some(".A.B"));
        for bad in ["", ".Junk", "A..B", "A.", "a/b"] {
            assert!(folder_dir_name(bad).is_err(), "{bad}");
        }
        assert_eq!(folder_name_of_dir(".A.B"), Some("A.B"));
        assert_eq!(folder_name_of_dir("cur"), None);
    }

    #[test]
    fn provider_ids_round_trip() {
        for id in ["new/1700.x", ".Junk/cur/1700.M1P2.host:2,S", ".A.B/new/1"] {
            assert_eq!(MessagePath::parse(id).unwrap().provider_id(), id);
        }
        let p = MessagePath::parse(".Junk/cur/1700.M1P2.host:2,S").unwrap();
        assert_eq!(p.folder, "Junk");
        assert_eq!(p.subdir, Subdir::Cur);
        assert_eq!(p.file_name, "1700.M1P2.host:2,S");
        assert_eq!(
            p.full_path(Path::new("/m/d/u")).unwrap(),
            PathBuf::from("/m/d/u/.Junk/cur/1700.M1P2.host:2,S")
        );
    }

    #[test]
    fn provider_ids_cannot_escape_the_mailbox() {
        for bad in [
            "../../etc/passwd",
            "cur/../../x",
            "tmp/1",
            "..//cur/1",
            "./cur/1",
            "cur/.hidden",
            "cur/",
            "/etc/passwd",
            "a/b/c/d",
        ] {
            assert!(MessagePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_come_from_the_info() {
        assert_eq!(flags_of("1.M2.h:2,FRS"), "FRS");
        assert!(is_seen(flags_of("1.M2.h:2,FRS")));
        assert_eq!(flags_of("1.M2.h"), "");
        assert_eq!(flags_of("1.M2.h:1,odd"), "");
        assert!(!is_seen(flags_of("1.M2.h:2,F")));
        assert_eq!(unique_part("1.M2.h,S=10:2,S"), "1.M2.h,S=10");
    }

    #[test]
    fn fresh_names_keep_size_fields_and_flags() {
        assert_eq!(
            renamed_with_unique("1.M2.h,S=10,W=12:2,RS", "9.M9.r"),
            "9.M9.r,S=10,W=12:2,RS"
        );
        assert_eq!(renamed_with_unique("1.M2.h", "9.M9.r"), "9.M9.r");
    }

    #[test]
    fn quarantine_folders_are_per_recipient_when_asked() {
        assert_eq!(
            quarantine_folder("Quarantine", "alice@demo.test", true),
            "Quarantine.alice@demo=2Etest"
        );
        assert_ne!(
            quarantine_folder("Quarantine", "helen.cho@demo.test", true),
            quarantine_folder("Quarantine", "helen_cho@demo.test", true)
        );
        assert_eq!(
            quarantine_folder("Quarantine", "alice@demo.test", false),
            "Quarantine"
        );
        assert!(is_in_folder_tree(
            &quarantine_folder("Quarantine", "alice@demo.test", true),
            "Quarantine"
        ));
        assert!(is_in_folder_tree("Quarantine", "Quarantine"));
        assert!(!is_in_folder_tree("QuarantineX", "Quarantine"));
    }

    #[test]
    fn server_files_are_recognised() {
        for name in [
            "dovecot-uidlist",
            "dovecot.index.cache",
            "subscriptions",
            "maildirfolder",
        ] {
            assert!(is_server_file(name), "{name}");
        }
        assert!(!is_server_file("notes.txt"));
    }
}
