//! Who is acting: the OS login (never a name typed by the user) and the SSH client address.

use crate::config::Access;
use crate::model::Role;

/// The person behind this process, as the audit trail records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub login: String,
    pub ssh_from: Option<String>,
    pub role: Role,
}

impl Actor {
    /// The effective user of this process and their role from `[access]`.
    pub fn current(access: &Access) -> Actor {
        let login = os_login();
        let ssh_from = ssh_client_address();
        let role = access.role_of(&login);
        Actor {
            login,
            ssh_from,
            role,
        }
    }
}

/// The login name of the effective uid, from the password database. Environment variables
/// such as `USER` are not used: anyone can set them.
fn os_login() -> String {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    login_of_uid(uid).unwrap_or_else(|| format!("uid:{uid}"))
}

/// The login name of a uid from the password database (`None`: no entry, or not UTF-8). The
/// one lookup both this process's actor and the service's socket peers go through.
pub fn login_of_uid(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes only into it and
    // into `buf`, whose length we pass.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points at a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_string)
}

/// The client address sshd put in this process's environment, if any (a claim of the
/// environment, not a record of the OS).
pub fn ssh_client_address() -> Option<String> {
    ["SSH_CONNECTION", "SSH_CLIENT"].iter().find_map(|var| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
            .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
    })
}
