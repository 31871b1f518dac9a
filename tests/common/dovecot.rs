//! A real Dovecot (Debian `dovecot-imapd`) on 127.0.0.1 for the IMAP tests, with a config
//! generated in a temp dir: passwd-file users, a master passdb (`user*admin`), Maildir, no
//! chroot. It runs as root in CI, so the login, internal and mail processes run as
//! unprivileged users (`dovenull`, `dovecot`, and `rtxmail`, created here when missing).
//! Stopped on drop. A tiny blocking IMAP client seeds and inspects mailboxes.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The unprivileged account owning the mail dirs.
const MAIL_USER: &str = "rtxmail";
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-pw";

/// One running Dovecot.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The implicit-TLS port, when started with `tls` (certificate for `localhost`).
    pub tls_port: Option<u16>,
    conf: PathBuf,
}

/// What a test wants different from the default server.
#[derive(Default)]
pub struct Options {
    /// Advertise no MOVE (the client must take the COPY + UID EXPUNGE path).
    pub without_move: bool,
    /// Serve TLS (imaps port and STARTTLS) with a certificate for `localhost` signed by a
    /// test CA at `<dir>/ca.pem`.
    pub tls: bool,
    /// A user whose quota (10 bytes) makes every APPEND fail with `[OVERQUOTA]`.
    pub over_quota_user: Option<&'static str>,
}

impl Dovecot {
    /// Start a server with these users (`alice@corp.test`, ...); panics with the log when
    /// Dovecot is missing or does not come up (the tests must fail, not skip).
    pub fn start(users: &[&str], options: Options) -> Dovecot {
        let bin = which("dovecot").unwrap_or_else(|| {
            panic!("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does this)")
        });
        ensure_mail_user();
        let dir = tempfile::Builder::new()
            .prefix("rtx-dovecot")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        // The mail and auth processes run as other users: they must reach into the dir.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
        for sub in ["mail", "home"] {
            fs::create_dir_all(root.join(sub)).expect("mkdir");
            chown_mail_user(&root.join(sub));
        }
        let port = free_port();
        fs::write(
            root.join("master.passwd"),
            format!("{ADMIN}:{{PLAIN}}{ADMIN_PASSWORD}\n"),
        )
        .expect("master passwd");
        let users_file: String = users
            .iter()
            .map(|u| {
                let quota = if options.over_quota_user == Some(*u) {
                    "::::::userdb_quota_rule=*:storage=10B"
                } else {
                    ""
                };
                format!("{u}:{{PLAIN}}user-pw-not-used{quota}\n")
            })
            .collect();
        fs::write(root.join("users.passwd"), users_file).expect("users passwd");
        for f in ["master.passwd", "users.passwd"] {
            fs::set_permissions(root.join(f), fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let capability = if options.without_move {
            // Dovecot 2.3's post-login list, minus MOVE.
            "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT \
             SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND \
             URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 \
             CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS \
             BINARY SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ \
             NOTIFY SPECIAL-USE\n"
        } else {
            ""
        };
        let tls_port = options.tls.then(free_port);
        let ssl = match tls_port {
            Some(_) => {
                crate::tls::make_certificates(root);
                format!(
                    "ssl = yes\nssl_cert = <{0}/cert.pem\nssl_key = <{0}/key.pem\n",
                    root.display()
                )
            }
            None => "ssl = no\n".to_string(),
        };
        let imaps_port = tls_port.unwrap_or(0);
        let quota = if options.over_quota_user.is_some() {
            "mail_plugins = $mail_plugins quota\nplugin {\n  quota = maildir:User quota\n}\n"
        } else {
            ""
        };
        let d = root.display();
        let conf = root.join("dovecot.conf");
        fs::write(
            &conf,
            format!(
                r#"instance_name = rtx-{port}
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
{ssl}{quota}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0secs
auth_master_user_separator = *
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
mail_uid = {MAIL_USER}
mail_gid = {MAIL_USER}
mail_max_userip_connections = 2000
{capability}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service imap {{
  process_limit = 2000
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = {d}/master.passwd
  master = yes
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = {d}/users.passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_USER} home={d}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \Junk
    auto = create
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = create
  }}
}}
"#
            ),
        )
        .expect("dovecot.conf");
        let status = Command::new(&bin)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run dovecot");
        let server = Dovecot {
            dir,
            port,
            tls_port,
            conf: conf.clone(),
        };
        assert!(
            status.success(),
            "dovecot failed to start: {}",
            server.log()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen on {port}: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The `[tenants.corp]` keys that reach this server as the master user; the password
    /// goes to a private file in `dir` (given `password`, to test a wrong one).
    pub fn tenant_keys(&self, dir: &Path, password: &str) -> String {
        let file = dir.join("admin.pw");
        fs::write(&file, format!("{password}\n")).expect("password file");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
        format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nadmin_user = \"{ADMIN}\"\nadmin_password_file = \"{}\"\ntimeout_secs = 10\n",
            self.port,
            file.display()
        )
    }

    /// Disconnect every session of a user (`doveadm kick`): a connection dropped mid-job.
    pub fn kick(&self, user: &str) {
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(["kick", user])
            .output()
            .expect("doveadm kick");
        assert!(
            out.status.success() || String::from_utf8_lossy(&out.stdout).contains("no users"),
            "doveadm kick: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Kick a user and wait until Dovecot lists no session of theirs (up to 5 s): `doveadm
    /// kick` returns once the signal is sent, and a command sent in the next milliseconds
    /// may still be served by the dying process.
    pub fn kick_and_wait(&self, user: &str) {
        self.kick(user);
        for _ in 0..250 {
            let out = Command::new("doveadm")
                .arg("-c")
                .arg(&self.conf)
                .args(["who", "-1", user])
                .output()
                .expect("doveadm who");
            let listed = String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.split_whitespace().next() == Some(user));
            if !listed {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("{user} still has sessions 5 s after doveadm kick");
    }

    /// A blocking admin session as `user` (master-user login).
    pub fn client(&self, user: &str) -> Client {
        Client::login(self.port, user)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("dovecot")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Give the master a moment to remove its processes before the dir goes.
        let pid = self.dir.path().join("run/master.pid");
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One message as the test sees it in a folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub uid: u32,
    pub message_id: String,
    pub flags: Vec<String>,
    pub internal_date: String,
}

/// A minimal blocking IMAP client for seeding and inspecting (test code only).
pub struct Client {
    reader: BufReader<TcpStream>,
    tag: u32,
}

impl Client {
    fn login(port: u16, user: &str) -> Client {
        let mut c = Client::connect(port);
        let r = c.cmd(&format!("LOGIN \"{user}*{ADMIN}\" \"{ADMIN_PASSWORD}\""));
        assert!(r.ends_with_ok(), "login {user}: {}", r.0);
        c
    }

    /// A connection that has read the greeting and is not logged in yet.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut c = Client {
            reader: BufReader::new(stream),
            tag: 0,
        };
        let mut greeting = String::new();
        c.reader.read_line(&mut greeting).expect("greeting");
        c
    }

    /// `AUTHENTICATE PLAIN` as `authzid`, authenticated as `authcid` (a proxy login).
    pub fn plain(port: u16, authzid: &str, authcid: &str, password: &str) -> Client {
        use base64::Engine as _;
        let mut c = Client::connect(port);
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{authzid}\0{authcid}\0{password}"));
        let r = c.cmd(&format!("AUTHENTICATE PLAIN {token}"));
        assert!(r.ends_with_ok(), "authenticate {authzid}: {}", r.0);
        c
    }

    /// Run a command; the whole response text (literals inline).
    pub fn cmd(&mut self, command: &str) -> Response {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .expect("write");
        self.read_until(&tag)
    }

    fn read_until(&mut self, tag: &str) -> Response {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read");
            assert!(n > 0, "server closed: {all}");
            all.push_str(&line);
            if let Some(size) = line
                .trim_end()
                .strip_suffix('}')
                .and_then(|l| l.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut buf = vec![0; size];
                self.reader.read_exact(&mut buf).expect("literal");
                all.push_str(&String::from_utf8_lossy(&buf));
                continue;
            }
            if line.starts_with(&format!("{tag} ")) {
                return Response(all);
            }
        }
    }

    /// APPEND a message with flags and an internal date (`"05-Jan-2026 10:11:12 +0000"`).
    pub fn append(&mut self, folder: &str, flags: &str, date: &str, raw: &str) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let stream = self.reader.get_mut();
        stream
            .write_all(
                format!(
                    "{tag} APPEND \"{folder}\" ({flags}) \"{date}\" {{{}+}}\r\n{raw}\r\n",
                    raw.len()
                )
                .as_bytes(),
            )
            .expect("append");
        let r = self.read_until(&tag);
        assert!(r.ends_with_ok(), "append: {}", r.0);
    }

    /// Every message in a folder (empty when the folder does not exist).
    pub fn messages(&mut self, folder: &str) -> Vec<Seen> {
        let r = self.cmd(&format!("SELECT \"{folder}\""));
        if !r.ends_with_ok() {
            return Vec::new();
        }
        let r = self
            .cmd("UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
        let mut out = Vec::new();
        for chunk in r.0.split("\r\n* ") {
            let Some(start) = chunk.find(" FETCH (") else {
                continue;
            };
            let body = &chunk[start..];
            let between = |open: &str, close: char| {
                body.find(open).map(|i| {
                    let rest = &body[i + open.len()..];
                    rest[..rest.find(close).unwrap_or(rest.len())].to_string()
                })
            };
            let uid = between("UID ", ' ')
                .and_then(|u| u.parse().ok())
                .unwrap_or(0);
            let flags = between("FLAGS (", ')')
                .unwrap_or_default()
                .split_whitespace()
                .filter(|f| *f != "\\Recent")
                .map(str::to_string)
                .collect();
            let internal_date = between("INTERNALDATE \"", '"').unwrap_or_default();
            let message_id = body
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("message-id")
                        .then(|| v.trim().to_string())
                })
                .unwrap_or_default();
            out.push(Seen {
                uid,
                message_id,
                flags,
                internal_date,
            });
        }
        out
    }

    /// Folder names (LIST "" "*").
    pub fn folders(&mut self) -> Vec<String> {
        let r = self.cmd("LIST \"\" \"*\"");
        r.0.lines()
            .filter(|l| l.starts_with("* LIST"))
            .filter_map(|l| {
                l.rsplit_once(' ')
                    .map(|(_, n)| n.trim_matches('"').to_string())
            })
            .collect()
    }
}

/// A response's text.
pub struct Response(pub String);

impl Response {
    pub fn ends_with_ok(&self) -> bool {
        self.0
            .lines()
            .last()
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("OK"))
    }
}

/// A plain RFC 5322 message.
pub fn message(message_id: &str, from: &str, to: &str, subject: &str, extra: &str) -> String {
    format!(
        "Message-ID: {message_id}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n{extra}\r\nHello.\r\n"
    )
}

/// An executable on PATH (or in the sbin dirs).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Create the mail account once (idempotent; several test binaries may race here).
fn ensure_mail_user() {
    let exists = |name: &str| {
        Command::new("id")
            .arg(name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if exists(MAIL_USER) {
        return;
    }
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            MAIL_USER,
        ])
        .status();
    assert!(
        exists(MAIL_USER),
        "could not create the user {MAIL_USER} (need root)"
    );
}

fn chown_mail_user(path: &Path) {
    let status = Command::new("chown")
        .arg(format!("{MAIL_USER}:{MAIL_USER}"))
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {}", path.display());
}
