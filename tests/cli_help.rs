//! The CLI for people: every command's `--help` (REF, options, actions, examples), the
//! completions and man pages generated from the same definitions, tables fitted to the width,
//! a search that starts with a negated term, `jobs --watch` with no engine, the demo's hint.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

fn bin(home: &std::path::Path, args: &[&str], columns: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retractor"));
    cmd.args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    cmd.output().expect("run retractor")
}

const COMMANDS: [&str; 14] = [
    "demo", "search", "show", "retract", "restore", "sweep", "jobs", "cancel", "audit", "ingest",
    "index", "check", "worker", "serve",
];

#[test]
fn every_command_has_help_with_examples() {
    let home = tempfile::tempdir().expect("tmp");
    for command in COMMANDS.iter().chain(&["completions", "manpage"]) {
        let out = bin(home.path(), &[command, "--help"], None);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        assert!(
            text.contains("Example"),
            "{command} --help has no examples:\n{text}"
        );
    }
    for command in ["show", "retract", "restore"] {
        let text = stdout(&bin(home.path(), &[command, "--help"], None));
        assert!(
            text.contains("REF is a log id") && text.contains("Message-ID"),
            "{command} --help does not say what REF is:\n{text}"
        );
    }
    let retract = stdout(&bin(home.path(), &["retract", "--help"], None));
    for needle in [
        "--depth 2 --reason",
        "--dry-run",
        "move-to-junk",
        "hard-delete",
        "--exclude",
        "--max-items",
    ] {
        assert!(
            retract.contains(needle),
            "retract --help lacks {needle}:\n{retract}"
        );
    }
    let restore = stdout(&bin(home.path(), &["restore", "--help"], None));
    assert!(restore.contains("--recipient alice@corp.test"), "{restore}");
    let sweep = stdout(&bin(home.path(), &["sweep", "--help"], None));
    assert!(
        sweep.contains("--from billing@") && sweep.contains("--dry-run"),
        "{sweep}"
    );
    let audit = stdout(&bin(home.path(), &["audit", "--help"], None));
    assert!(audit.contains("--until"), "{audit}");
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    let home = tempfile::tempdir().expect("tmp");
    for shell in ["bash", "zsh", "fish"] {
        let out = bin(home.path(), &["completions", shell], None);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for needle in [
            "retract",
            "sweep",
            "audit",
            "action",
            "max-items",
            "quarantine",
        ] {
            assert!(text.contains(needle), "{shell} completions lack {needle}");
        }
    }
    let out = bin(home.path(), &["completions", "powershell"], None);
    assert_eq!(out.status.code(), Some(2), "only bash, zsh, fish");

    let man = bin(home.path(), &["manpage"], None);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(page.contains(".TH retractor"), "{page}");
    for command in COMMANDS {
        assert!(
            page.contains(command),
            "retractor(1) does not list {command}"
        );
    }
    let one = stdout(&bin(home.path(), &["manpage", "retract"], None));
    assert!(one.contains(".TH retractor-retract"), "{one}");
    assert!(one.contains("depth") && one.contains("reason"), "{one}");
    let bad = bin(home.path(), &["manpage", "nonsense"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no such command"), "{}", stderr(&bad));
}

const LONG: &str = "<wide-1@invoice-portal.example>";

fn wide_world() -> World {
    let w = World::new("");
    w.make_mailboxes(&["alice", "quarantine"]);
    let out = w.ingest_lines(&[log_line(
        LONG,
        "accounts-payable-notifications@invoice-portal.example",
        &["alice@corp.test"],
        "Your invoice INV-20931 is overdue: review the attached document before Friday",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

#[test]
fn tables_fit_the_width_and_pipes_get_whole_cells() {
    let w = wide_world();
    let config = w.config();
    let config = config.to_str().expect("utf-8");
    for columns in ["80", "120"] {
        let out = bin(w.path(), &["--config", config, "search"], Some(columns));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let limit: usize = columns.parse().expect("n");
        for line in text.lines() {
            assert!(line.chars().count() <= limit, "{columns}: {line}");
        }
        assert_eq!(text.lines().count(), 2, "header and one row: {text}");
        assert!(
            text.contains("@invoice-portal.example"),
            "the domain is kept: {text}"
        );
        assert!(text.contains('…'), "{columns}: the cut is marked: {text}");
    }
    // Piped with no COLUMNS: whole cells, as ps and kubectl print them.
    let out = bin(w.path(), &["--config", config, "search"], None);
    let text = stdout(&out);
    assert!(
        text.contains("accounts-payable-notifications@invoice-portal.example")
            && text.contains("before Friday"),
        "{text}"
    );
    // --json is unchanged by the width.
    let json = bin(
        w.path(),
        &["--config", config, "--json", "search"],
        Some("40"),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(
        v["messages"][0]["from"],
        "accounts-payable-notifications@invoice-portal.example"
    );
}

#[test]
fn a_search_may_start_with_a_negated_term() {
    let w = wide_world();
    for args in [
        vec!["search", "-status:retracted"],
        vec!["search", "-status:retracted", "--limit", "1"],
        vec!["search", "--limit", "1", "-disposition:clean", "-q"],
    ] {
        let (code, v) = w.json(&args);
        assert_eq!(code, 0, "{args:?}: {v}");
        assert_eq!(
            v["messages"].as_array().map(Vec::len),
            Some(1),
            "{args:?}: {v}"
        );
    }
    let (code, v) = w.json(&["search", "-from:invoice-portal.example"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(0), "{v}");
}

#[test]
fn watching_a_job_no_engine_runs_says_so() {
    let w = wide_world();
    let (code, q) = w.json(&["retract", LONG, "--action", "trash", "--yes"]);
    assert_eq!(code, 0, "{q}");
    let id = q["job"]["id"].to_string();
    let config = w.config();
    let home = w.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(retractor(Some(&config), &home, &["jobs", &id, "--watch"]));
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("jobs --watch gave up within a minute");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no engine is running it"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_hint_after_the_demo_names_its_config() {
    let home = tempfile::tempdir().expect("tmp");
    let out = bin(home.path(), &["demo", "--no-tui"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let demo_config = stdout(&out).trim().to_string();
    assert!(demo_config.ends_with("config.toml"), "{demo_config}");
    for args in [vec!["search"], vec![]] {
        let out = bin(home.path(), &args, None);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("--config {demo_config}")),
            "{args:?}: the hint names the demo's config: {err}"
        );
    }
}
