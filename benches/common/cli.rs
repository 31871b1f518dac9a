//! The release binary and how a bench drives it, as a user or a SOAR playbook does: its own
//! config and state inside the bench's temporary directory, `--json` answers parsed.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The release binary: Cargo builds bin targets for benches and names them in
/// `CARGO_BIN_EXE_<name>`; otherwise `target/release/retractor`, built if missing.
pub fn retractor_binary() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_retractor") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return p;
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = manifest.join("target/release/retractor");
    if !p.is_file() {
        println!("building {} ...", p.display());
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "--bin", "retractor"])
            .current_dir(manifest)
            .status()
            .expect("run cargo build --release");
        assert!(status.success(), "cargo build --release failed");
    }
    p
}

/// Run `retractor --config <dir>/config.toml ARGS` with its state kept inside `dir`.
pub fn run(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(Stdio::null())
        .output()
        .expect("run retractor")
}

/// Run with `--json`, require exit 0 and parse stdout.
pub fn run_json(bin: &Path, dir: &Path, args: &[&str]) -> (Duration, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let t = Instant::now();
    let out = run(bin, dir, &all);
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "retractor {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "retractor {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (elapsed, v)
}

pub fn write_config(dir: &Path, domains: &[&str]) {
    let domains = domains
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        r#"[store]
path = "retractor.db"

[access]
default_role = "admin"

[tenants.corp]
kind = "maildir"
root = "mail"
domains = [{domains}]
quarantine_mailbox = "quarantine@corp.test"
"#
    );
    fs::create_dir_all(dir.join("mail")).expect("mail root");
    fs::write(dir.join("config.toml"), config).expect("write config");
}

pub fn db_size(dir: &Path) -> u64 {
    ["retractor.db", "retractor.db-wal", "retractor.db-shm"]
        .iter()
        .filter_map(|n| fs::metadata(dir.join(n)).ok())
        .map(|m| m.len())
        .sum()
}
