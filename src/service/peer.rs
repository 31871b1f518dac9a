//! Who is on the other end of the socket: the kernel's word (SO_PEERCRED) for the uid and pid,
//! the password database for the login, the service's own `[access]` for the role, and the
//! OS's login record for the SSH address. Nothing the client says decides any of them; the one
//! thing a client may add, an SSH address the OS has no record of, is marked as its claim.

use std::sync::Mutex;

use crate::api::{Authority, Identity};
use crate::config::Access;
use crate::engine::login_of_uid;

/// The header a client may send its SSH address in (`SSH_CONNECTION`'s first word), used only
/// when the OS has no login record for the caller, and recorded as reported by the client.
pub const SSH_FROM_HEADER: &str = "x-retractor-ssh-from";

/// What the kernel says about a connected peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    pub uid: u32,
    /// `None` where the OS does not tell (the peer may also have exited since).
    pub pid: Option<i32>,
}

impl PeerCred {
    /// The peer of a connected Unix stream.
    pub fn of(stream: &tokio::net::UnixStream) -> std::io::Result<PeerCred> {
        let cred = stream.peer_cred()?;
        Ok(PeerCred {
            uid: cred.uid(),
            pid: cred.pid(),
        })
    }
}

/// The caller's identity: login from the uid, role from the service's `[access]`, SSH address
/// from the login record or (marked) from the client's header.
pub fn identify(peer: PeerCred, access: &Access, reported_ssh_from: Option<&str>) -> Identity {
    let login = login_of_uid(peer.uid).unwrap_or_else(|| format!("uid:{}", peer.uid));
    let role = access.role_of(&login);
    let recorded = peer
        .pid
        .and_then(|pid| login_record_host(pid, peer.uid, &login));
    let (ssh_from, reported) = match recorded {
        Some(host) => (Some(host), false),
        None => match reported_ssh_from.and_then(parse_address) {
            Some(addr) => (Some(addr), true),
            None => (None, false),
        },
    };
    Identity {
        login,
        uid: Some(peer.uid),
        role,
        ssh_from,
        ssh_from_reported_by_client: reported,
        authority: Authority::Service,
    }
}

/// Only a bare IP address is taken from a client: the value lands in the audit and on
/// analysts' terminals, so anything else (text, escapes) is dropped.
fn parse_address(text: &str) -> Option<String> {
    text.trim()
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|a| a.to_string())
}

/// The remote host of the login session the peer process belongs to, from utmp. The process's
/// audit login uid (/proc/PID/loginuid, set by pam_loginuid at login and kept across `su`)
/// must be the peer's uid: a process that switched uid after logging in is not that login's
/// session, and its session's record would name someone else's address.
fn login_record_host(pid: i32, uid: u32, login: &str) -> Option<String> {
    let loginuid = std::fs::read_to_string(format!("/proc/{pid}/loginuid")).ok()?;
    if loginuid.trim().parse::<u32>().ok()? != uid {
        return None;
    }
    // SAFETY: getsid has no memory preconditions; a gone pid gives -1.
    let session = unsafe { libc::getsid(pid) };
    let tty = controlling_tty(pid);
    if session <= 0 && tty.is_none() {
        return None;
    }
    utmp_host(login, session, tty)
}

/// The device number of the process's controlling terminal (field 7 of /proc/PID/stat).
fn controlling_tty(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let tty: u64 = after_name.split_whitespace().nth(4)?.parse().ok()?;
    (tty != 0).then_some(tty)
}

/// getutxent walks one process-wide cursor: one walk at a time.
static UTMP: Mutex<()> = Mutex::new(());

/// The `ut_host` of the user-process entry of `login` whose session leader is `session` or
/// whose line is the terminal `tty`.
fn utmp_host(login: &str, session: i32, tty: Option<u64>) -> Option<String> {
    let _walk = UTMP.lock().unwrap_or_else(|e| e.into_inner());
    let mut found = None;
    // SAFETY: setutxent/getutxent/endutxent are used under the lock above; each returned
    // entry is read before the next call, which may overwrite it.
    unsafe {
        libc::setutxent();
        loop {
            let entry = libc::getutxent();
            if entry.is_null() {
                break;
            }
            let e = &*entry;
            if e.ut_type != libc::USER_PROCESS || c_field(&e.ut_user) != login {
                continue;
            }
            let same_session = session > 0 && e.ut_pid == session;
            let same_tty = tty.is_some() && line_device(&c_field(&e.ut_line)) == tty;
            if same_session || same_tty {
                found = Some(c_field(&e.ut_host));
                break;
            }
        }
        libc::endutxent();
    }
    found
        .filter(|h| !h.is_empty())
        .and_then(|h| parse_address(&h).or_else(|| Some(crate::model::text::sanitize(&h))))
}

/// A fixed-size, maybe-unterminated C field as text.
fn c_field(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The device number of /dev/LINE (a utmp line such as `pts/3`).
fn line_device(line: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    if line.is_empty() || line.contains("..") {
        return None;
    }
    std::fs::metadata(format!("/dev/{line}"))
        .ok()
        .map(|m| m.rdev())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    #[test]
    fn the_role_comes_from_the_services_access_by_the_uids_login() {
        let mut access = Access::default();
        access.roles.insert("root".into(), Role::Admin);
        let who = identify(PeerCred { uid: 0, pid: None }, &access, None);
        assert_eq!(who.login, "root");
        assert_eq!(who.role, Role::Admin);
        assert_eq!(who.authority, Authority::Service);
        assert_eq!(who.ssh_from, None);
    }

    #[test]
    fn a_clients_address_is_marked_as_its_claim_and_must_be_an_address() {
        let access = Access::default();
        let peer = PeerCred { uid: 0, pid: None };
        let who = identify(peer, &access, Some("192.0.2.7"));
        assert_eq!(who.ssh_from.as_deref(), Some("192.0.2.7"));
        assert!(who.ssh_from_reported_by_client);
        let who = identify(peer, &access, Some("\u{1b}[31mevil"));
        assert_eq!(who.ssh_from, None);
        assert!(!who.ssh_from_reported_by_client);
    }

    #[test]
    fn an_unknown_uid_is_named_by_number_with_the_default_role() {
        let who = identify(
            PeerCred {
                uid: 4_000_000_123,
                pid: None,
            },
            &Access::default(),
            None,
        );
        assert_eq!(who.login, "uid:4000000123");
        assert_eq!(who.role, Role::Viewer);
    }
}
