//! A real PostgreSQL for tests (Debian's `postgresql`): `initdb` into a temporary directory as
//! the `postgres` account, started on a free loopback port with its Unix socket in the same
//! directory, one server shared by every test of a binary and stopped when the binary exits.
//! Each test gets a database of its own. The library's contract suite and the integration
//! tests share this one file (tests/common/postgres.rs includes it by path).
//!
//! The server accepts TLS (`ssl = on`, a `localhost` certificate signed by a test CA made with
//! the tests' `openssl` helper) beside plain TCP, so the TLS tests need no second server; the
//! harness's own `psql` and `createdb` say `PGSSLMODE=disable` (no handshake per call).
#![allow(dead_code)]

// The tests' one certificate maker, by path from this file's directory in both includes.
#[path = "../../../tests/common/tls.rs"]
mod tls;
#[allow(unused_imports)]
pub use tls::make_certificates;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The account the server runs as: PostgreSQL refuses to run as root.
const SERVER_ACCOUNT: &str = "postgres";

/// The one server of this test binary.
pub struct TestServer {
    /// Holds `data/`, `sock/` and `server.log`; removed when the binary exits.
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// A fresh database on the shared server.
pub struct TestDatabase {
    pub name: String,
    /// `postgresql://postgres@127.0.0.1:PORT/NAME` (trust authentication on loopback).
    pub url: String,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// The server, started on first use; panics saying why when PostgreSQL is missing or does
/// not come up (the tests must fail, not skip).
pub fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        let server = start();
        // Statics are never dropped: stop the server when the process exits.
        // SAFETY: `stop_at_exit` is an `extern "C"` function taking no arguments, as
        // `atexit` requires.
        unsafe { libc::atexit(stop_at_exit) };
        server
    })
}

/// A new, empty database on the shared server.
pub fn fresh_database() -> TestDatabase {
    let server = server();
    let name = format!(
        "rtx_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::SeqCst)
    );
    server.run_ok(
        Command::new(server.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
            .args(["-U", SERVER_ACCOUNT, &name])
            .env("PGSSLMODE", "disable"),
        "createdb",
    );
    TestDatabase {
        url: format!(
            "postgresql://{SERVER_ACCOUNT}@127.0.0.1:{}/{name}",
            server.port
        ),
        name,
    }
}

impl TestServer {
    /// The test CA that signed the server's `localhost` certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls").join("ca.pem")
    }

    /// `psql -c sql` on database `db`, as the superuser; its standard output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                SERVER_ACCOUNT,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qtAc",
                sql,
            ])
            .env("PGSSLMODE", "disable")
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `psql -c sql` on database `db` as `role`: its standard output, or its error.
    pub fn psql_as(&self, role: &str, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", role, "-d", db, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
            .env("PGSSLMODE", "disable")
            .output()
            .map_err(|e| format!("run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `psql -f file` on database `db` as the superuser, with `-v name=value` for each var.
    pub fn psql_file(&self, db: &str, file: &Path, vars: &[(&str, &str)]) {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SERVER_ACCOUNT, "-d", db, "-q", "-f"])
            .arg(file)
            .env("PGSSLMODE", "disable");
        for (name, value) in vars {
            cmd.arg("-v").arg(format!("{name}={value}"));
        }
        self.run_ok(&mut cmd, &format!("psql -f {}", file.display()));
    }

    fn run_ok(&self, cmd: &mut Command, what: &str) {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what}: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
        );
    }
}

/// The newest of Debian's PostgreSQL versions installed (`/usr/lib/postgresql/N/bin`).
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             apt-get install postgresql (.ci/run does this)"
        ),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn as_server_account(bin: &Path, tool: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", SERVER_ACCOUNT, "--"]).arg(bin.join(tool));
    cmd
}

fn start() -> TestServer {
    let bin = binaries();
    let dir = tempfile::Builder::new()
        .prefix("rtx-postgres")
        .tempdir()
        .expect("tempdir")
        .keep();
    let chown = Command::new("chown")
        .args([SERVER_ACCOUNT, &dir.display().to_string()])
        .status()
        .expect("chown");
    assert!(
        chown.success(),
        "chown {} to {SERVER_ACCOUNT}",
        dir.display()
    );
    let server = TestServer {
        dir: dir.clone(),
        port: free_port(),
        bin: bin.clone(),
    };
    let data = dir.join("data");
    let sock = dir.join("sock");
    server.run_ok(
        as_server_account(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", SERVER_ACCOUNT, "--auth=trust", "-E", "UTF8"])
            // A UTF-8 character classification, so full-text search splits non-ASCII words
            // as it would on a production database.
            .args(["--locale=C.UTF-8", "--no-sync"]),
        "initdb",
    );
    std::fs::create_dir(&sock).expect("socket dir");
    let chown = Command::new("chown")
        .args([SERVER_ACCOUNT, &sock.display().to_string()])
        .status()
        .expect("chown");
    assert!(
        chown.success(),
        "chown {} to {SERVER_ACCOUNT}",
        sock.display()
    );
    let tls = make_server_certificate(&dir);
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        server.port,
        sock.display(),
        tls.join("cert.pem").display(),
        tls.join("key.pem").display()
    );
    server.run_ok(
        as_server_account(&bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("server.log"))
            .args(["-w", "start"]),
        "pg_ctl start",
    );
    server
}

/// `dir/tls/`: the test CA and the server's `localhost` certificate, its key readable by the
/// server's account alone (PostgreSQL refuses a key others can read).
fn make_server_certificate(dir: &Path) -> PathBuf {
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).expect("tls dir");
    tls::make_certificates(&tls);
    let key = tls.join("key.pem");
    let chown = Command::new("chown")
        .arg(SERVER_ACCOUNT)
        .arg(&key)
        .status()
        .expect("chown");
    assert!(
        chown.success(),
        "chown {} to {SERVER_ACCOUNT}",
        key.display()
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
    tls
}

extern "C" fn stop_at_exit() {
    let Some(server) = SERVER.get() else {
        return;
    };
    let _ = as_server_account(&server.bin, "pg_ctl")
        .arg("-D")
        .arg(server.dir.join("data"))
        .args(["-m", "immediate", "-w", "stop"])
        .output();
    let _ = std::fs::remove_dir_all(&server.dir);
}
