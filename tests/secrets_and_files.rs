//! Secrets, files and text: secret commands bounded per tenant, private files, a read-only
//! store, and a debug log that is private, never opened through a link, one line per entry.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn log_path(w: &World) -> std::path::PathBuf {
    w.path().join("state/retractor/retractor.log")
}

#[test]
fn the_debug_log_is_private_and_one_line_per_entry() {
    let w = World::new("");
    // A query error renders a caret diagram over three lines; a forged-looking line inside
    // the query must not become a log line of its own.
    let out = w.run(&[
        "search",
        "frm:x\n2026-01-01T00:00:00Z  INFO retractor: forged",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let log = fs::read_to_string(log_path(&w)).expect("log written");
    assert!(log.contains("query error"), "{log}");
    for line in log.lines() {
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "every line is an entry starting with its time: {line:?}\n{log}"
        );
        assert!(
            !line.contains("INFO retractor: forged") || line.contains("WARN"),
            "{log}"
        );
    }
    assert_eq!(mode(&log_path(&w)), 0o600);
}

#[test]
fn the_debug_log_is_never_opened_through_a_link() {
    let w = World::new("");
    let victim = w.path().join("victim");
    fs::write(&victim, "precious\n").expect("victim");
    fs::create_dir_all(w.path().join("state/retractor")).expect("state dir");
    std::os::unix::fs::symlink(&victim, log_path(&w)).expect("link");
    let out = w.run(&["search", "frm:x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious\n");
}
