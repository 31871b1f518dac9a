//! A real Cyrus IMAP 3.6 (Debian's `cyrus-imapd`) on 127.0.0.1 for the IMAP tests, beside
//! Dovecot: the two Debian packages conflict, so `imapd` comes from `cyrus-imapd` unpacked into
//! a private directory (`.ci/run` does it), and `master`, `ctl_cyrusdb` and `saslpasswd2` from
//! `cyrus-common` and `sasl2-bin`. See `../shared/reference/cyrus.md`.
//!
//! Each server runs from its own temp dir on a free port, as the `cyrus` user, in one of the
//! two layouts that matter ([`Layout`]). Retractor logs in as `remediator`, listed in
//! `proxyservers:` (it may act as any user, and is no Cyrus admin); users are created by the
//! site admin `cyrusadm`. Starting Cyrus takes a while, so a test file shares one server per
//! layout ([`shared`]) and gives each test its own users.
//!
//! The master is started by a small shell that holds a pipe from the test process: when the
//! server is dropped, or the test process exits (a static server is never dropped), the pipe
//! closes and the shell stops the master and removes the dir.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::dovecot::{Client, free_port, which};

/// Where `.ci/run` unpacks the `cyrus-imapd` package (`dpkg -x`); the binary is
/// `usr/lib/cyrus/bin/imapd` under it. `RETRACTOR_CYRUS_IMAPD` names another binary.
pub const DEFAULT_UNPACKED: &str = "/opt/retractor-test/cyrus-imapd";
/// Set to `1` to skip the Cyrus tests on a machine without Cyrus (they fail otherwise).
pub const SKIP_ENV: &str = "RETRACTOR_SKIP_CYRUS";
const CYRUS_BIN: &str = "/usr/lib/cyrus/bin";
const SITE_ADMIN: &str = "cyrusadm";
const SITE_ADMIN_PASSWORD: &str = "cyrusadm-pw";
/// Retractor's `admin_user`: in `proxyservers:`, not in `admins:`.
pub const PROXY: &str = "remediator";
pub const PROXY_PASSWORD: &str = "remediator-pw";

/// Where the server puts personal folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Cyrus' upstream default: `altnamespace: yes`, `unixhierarchysep: yes`; personal
    /// folders at the top level beside INBOX, separator `/`.
    Upstream,
    /// What Debian's packaged imapd.conf sets: `altnamespace: no`, `unixhierarchysep: no`;
    /// personal folders under `INBOX.`, separator `.`.
    Debian,
}

impl Layout {
    fn switch(self) -> &'static str {
        match self {
            Layout::Upstream => "yes",
            Layout::Debian => "no",
        }
    }

    /// The hierarchy separator.
    pub fn sep(self) -> &'static str {
        match self {
            Layout::Upstream => "/",
            Layout::Debian => ".",
        }
    }

    /// The name of a personal folder `name` (given with `/` between levels) as LIST shows it.
    pub fn personal(self, name: &str) -> String {
        match self {
            Layout::Upstream => name.to_string(),
            Layout::Debian => format!("INBOX.{}", name.replace('/', ".")),
        }
    }
}

/// One running Cyrus.
pub struct Cyrus {
    pub dir: PathBuf,
    pub port: u16,
    pub layout: Layout,
    /// The shell that runs the master; closing its stdin stops everything.
    watchdog: Mutex<Option<Child>>,
}

/// The `imapd` binary: `RETRACTOR_CYRUS_IMAPD`, else the one `.ci/run` unpacks.
pub fn imapd_path() -> PathBuf {
    std::env::var_os("RETRACTOR_CYRUS_IMAPD")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(DEFAULT_UNPACKED).join("usr/lib/cyrus/bin/imapd"))
}

/// Whether the tests may skip for want of Cyrus (never unless the env says so).
fn may_skip() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|v| v == "1")
}

/// One server per layout for the whole test binary, started on first use. `None` only when
/// Cyrus is missing and `RETRACTOR_SKIP_CYRUS=1`; missing without it panics (the tests fail).
pub fn shared(layout: Layout) -> Option<&'static Cyrus> {
    static UPSTREAM: OnceLock<Option<Cyrus>> = OnceLock::new();
    static DEBIAN: OnceLock<Option<Cyrus>> = OnceLock::new();
    let cell = match layout {
        Layout::Upstream => &UPSTREAM,
        Layout::Debian => &DEBIAN,
    };
    cell.get_or_init(|| Cyrus::start(layout)).as_ref()
}

impl Cyrus {
    /// Start a server; `None` only when Cyrus is missing and skipping is allowed.
    pub fn start(layout: Layout) -> Option<Cyrus> {
        let imapd = imapd_path();
        let master = Path::new(CYRUS_BIN).join("master");
        let saslpasswd = which("saslpasswd2");
        let missing: Vec<String> = [
            (!imapd.is_file()).then(|| {
                format!(
                    "{} (apt-get download cyrus-imapd; dpkg -x cyrus-imapd_*.deb {DEFAULT_UNPACKED}, or set RETRACTOR_CYRUS_IMAPD)",
                    imapd.display()
                )
            }),
            (!master.is_file()).then(|| format!("{} (apt-get install cyrus-common)", master.display())),
            saslpasswd
                .is_none()
                .then(|| "saslpasswd2 (apt-get install sasl2-bin)".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !missing.is_empty() {
            if may_skip() {
                eprintln!(
                    "Cyrus tests skipped ({SKIP_ENV}=1): missing {}",
                    missing.join(", ")
                );
                return None;
            }
            panic!(
                "Cyrus is not installed: missing {} (.ci/run installs it; {SKIP_ENV}=1 skips these tests)",
                missing.join(", ")
            );
        }
        // Cyrus syncs every mailbox and database write; on tmpfs that costs nothing, and the
        // suite stays fast (a CREATE takes 50-100 ms on disk here).
        let shm = Path::new("/dev/shm");
        let parent = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("rtx-cyrus")
            .tempdir_in(parent)
            .expect("tempdir")
            .keep();
        let port = free_port();
        let d = dir.display();
        for sub in [
            "conf/socket",
            "spool",
            "sieve",
            "run/proc",
            "run/lock",
            "run/socket",
        ] {
            fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        let servername = format!("test-cyrus-{port}");
        let alt = layout.switch();
        // Exactly the file cyrus.md gives, less JMAP; Cyrus takes no comments after a value.
        let conf = format!(
            "configdirectory: {d}/conf\npartition-default: {d}/spool\ndefaultpartition: default\n\
             sievedir: {d}/sieve\nproc_path: {d}/run/proc\nmboxname_lockpath: {d}/run/lock\n\
             lmtpsocket: {d}/run/socket/lmtp\nidlesocket: {d}/run/socket/idle\n\
             notifysocket: {d}/run/socket/notify\nsyslog_prefix: {servername}\n\
             servername: {servername}\nvirtdomains: userid\ndefaultdomain: internal\n\
             altnamespace: {alt}\nunixhierarchysep: {alt}\nallowplaintext: yes\n\
             sasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\n\
             sasl_sasldb_path: {d}/conf/sasldb2\nsasl_mech_list: PLAIN LOGIN\n\
             sasl_auto_transition: no\numask: 077\nhashimapspool: true\nconversations: yes\n\
             conversations_db: twoskip\nlmtp_downcase_rcpt: yes\nlogtimestamps: no\n\
             admins: {SITE_ADMIN}\nproxyservers: {PROXY}\n"
        );
        fs::write(dir.join("imapd.conf"), conf).expect("imapd.conf");
        let services = format!(
            "START {{ recover cmd=\"ctl_cyrusdb -C {d}/imapd.conf -r\" }}\n\
             SERVICES {{\n  imap cmd=\"{} -C {d}/imapd.conf\" listen=\"127.0.0.1:{port}\" prefork=0 maxchild=200\n}}\n\
             EVENTS {{ checkpoint cmd=\"ctl_cyrusdb -C {d}/imapd.conf -c\" period=30 }}\n",
            imapd.display()
        );
        fs::write(dir.join("cyrus.conf"), services).expect("cyrus.conf");
        let saslpasswd = saslpasswd.expect("checked above");
        for (user, password) in [(SITE_ADMIN, SITE_ADMIN_PASSWORD), (PROXY, PROXY_PASSWORD)] {
            let mut child = Command::new(&saslpasswd)
                .arg("-f")
                .arg(dir.join("conf/sasldb2"))
                .args(["-c", "-p", "-u", &servername, user])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("saslpasswd2");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(password.as_bytes())
                .expect("password");
            let out = child.wait_with_output().expect("saslpasswd2");
            assert!(
                out.status.success(),
                "saslpasswd2 {user}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let status = Command::new("chown")
            .args(["-R", "cyrus:mail"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(
            status.success(),
            "chown {d} to cyrus (is cyrus-common installed?)"
        );
        // `read` returns when the test process closes the pipe, by drop or by exiting.
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(
                "\"$1\" -D -C \"$2/imapd.conf\" -M \"$2/cyrus.conf\" -p \"$2/run/master.pid\" \
                 >\"$2/master.log\" 2>&1 & m=$!; read _ignored; kill $m; wait $m; rm -rf \"$2\"",
            )
            .arg("sh")
            .arg(&master)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Cyrus master");
        let server = Cyrus {
            dir,
            port,
            layout,
            watchdog: Mutex::new(Some(watchdog)),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Cyrus did not listen on {port}: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// The master's own output (the daemons log to syslog).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("master.log")).unwrap_or_default()
    }

    /// A session as the site admin (creates users, sets quotas and ACLs).
    pub fn site_admin(&self) -> Client {
        let mut c = Client::connect(self.port);
        let r = c.cmd(&format!("LOGIN {SITE_ADMIN} {SITE_ADMIN_PASSWORD}"));
        assert!(r.ends_with_ok(), "site admin login: {}", r.0);
        c
    }

    /// The mailbox name of a user's INBOX, as the site admin names it.
    fn user_root(&self, user: &str) -> String {
        format!("user{}{user}", self.layout.sep())
    }

    /// Create these users with Junk, Trash and Sent marked special-use (RFC 6154).
    pub fn add_users(&self, users: &[&str]) {
        let mut admin = self.site_admin();
        for user in users {
            let r = admin.cmd(&format!("CREATE \"{}\"", self.user_root(user)));
            assert!(r.ends_with_ok(), "create {user}: {}", r.0);
            let mut c = self.client(user);
            for (name, attr) in [("Junk", "\\Junk"), ("Trash", "\\Trash"), ("Sent", "\\Sent")] {
                let folder = self.layout.personal(name);
                let r = c.cmd(&format!("CREATE \"{folder}\" (USE ({attr}))"));
                assert!(r.ends_with_ok(), "create {folder} for {user}: {}", r.0);
            }
        }
    }

    /// Limit a user's storage (in KiB) so that an APPEND beyond it is refused.
    pub fn set_quota_kib(&self, user: &str, kib: u32) {
        let r = self.site_admin().cmd(&format!(
            "SETQUOTA \"{}\" (STORAGE {kib})",
            self.user_root(user)
        ));
        assert!(r.ends_with_ok(), "setquota {user}: {}", r.0);
    }

    /// Set `user`'s own rights on their INBOX (`lr`: may read, may not create or append).
    pub fn set_own_rights(&self, user: &str, rights: &str) {
        let r = self.site_admin().cmd(&format!(
            "SETACL \"{}\" \"{user}\" \"{rights}\"",
            self.user_root(user)
        ));
        assert!(r.ends_with_ok(), "setacl {user}: {}", r.0);
    }

    /// A session as `user`, through the proxy login retractor uses.
    pub fn client(&self, user: &str) -> Client {
        Client::plain(self.port, user, PROXY, PROXY_PASSWORD)
    }

    /// The `[tenants.x]` keys that reach this server as the proxy account; the password goes
    /// to a private file in `dir`.
    pub fn tenant_keys(&self, dir: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join("cyrus.pw");
        fs::write(&file, format!("{PROXY_PASSWORD}\n")).expect("password file");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
        format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nadmin_user = \"{PROXY}\"\n\
             admin_password_file = \"{}\"\nlogin = \"sasl-authzid\"\ntimeout_secs = 10\n",
            self.port,
            file.display()
        )
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        let mut guard = self.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}
