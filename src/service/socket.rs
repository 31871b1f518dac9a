//! The service's listening socket: created private and only then published under its name,
//! with mode 0660 and the configured group, never replacing anything but a dead socket.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::ServiceError;

/// Mode of the socket: the service account and the group may connect, nobody else.
pub const SOCKET_MODE: u32 = 0o660;
/// Mode of a socket directory the service creates: others must reach the socket inside.
const DIR_MODE: u32 = 0o755;

/// Bind `path` for the service: its directory made if missing, a stale socket replaced, the
/// socket given `group` (by name) and mode 0660 before any client can see it.
pub fn bind(path: &Path, group: Option<&str>) -> Result<tokio::net::UnixListener, ServiceError> {
    let gid = group.map(group_id).transpose()?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| {
                fail(format!(
                    "cannot create the socket directory {}: {e}",
                    dir.display()
                ))
            })?;
    }
    clear_stale(path)?;
    // Bound under a temporary name and renamed into place once its group and mode are right,
    // so there is no moment when the socket is reachable with the umask's mode.
    let staging = staging_name(path);
    let _ = std::fs::remove_file(&staging);
    let listener = tokio::net::UnixListener::bind(&staging)
        .map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
    let published = (|| {
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&staging, None, Some(gid)).map_err(|e| {
                format!(
                    "cannot give {} the group {}: {e} (the service account must be a member of it)",
                    path.display(),
                    group.unwrap_or_default()
                )
            })?;
        }
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
        std::fs::rename(&staging, path)
            .map_err(|e| format!("cannot publish the socket at {}: {e}", path.display()))
    })();
    if let Err(message) = published {
        let _ = std::fs::remove_file(&staging);
        return Err(fail(message));
    }
    Ok(listener)
}

/// Remove the socket file at shutdown, if it is still ours (a socket).
pub fn remove(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// A file already at `path` is removed only if it is a socket nobody answers on (a service
/// that died); a live service, a regular file, a link or a directory there is an error.
fn clear_stale(path: &Path) -> Result<(), ServiceError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(format!("cannot inspect {}: {e}", path.display()))),
    };
    if !meta.file_type().is_socket() {
        return Err(fail(format!(
            "{} exists and is not a socket: refusing to replace it (remove it, or set [service] socket)",
            path.display()
        )));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(fail(format!(
            "a service already answers on {}: stop it first",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => std::fs::remove_file(path)
            .map_err(|e| {
                fail(format!(
                    "cannot remove the stale socket {}: {e}",
                    path.display()
                ))
            }),
        Err(e) => Err(fail(format!(
            "{} is a socket that cannot be checked ({e}): refusing to replace it",
            path.display()
        ))),
    }
}

fn staging_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.new", std::process::id()));
    PathBuf::from(name)
}

/// The gid of a group name from the group database; a missing group is a start-up error.
pub fn group_id(name: &str) -> Result<u32, ServiceError> {
    let missing = || {
        fail(format!(
            "[service] group = \"{name}\": no such group on this host"
        ))
    };
    let c_name = std::ffi::CString::new(name).map_err(|_| missing())?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: a zeroed group is a valid out-parameter; getgrnam_r writes only into it and into
    // `buf`, whose length we pass.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let rc = unsafe {
        libc::getgrnam_r(
            c_name.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(missing());
    }
    Ok(grp.gr_gid)
}

fn fail(message: String) -> ServiceError {
    ServiceError::Setup(message)
}
