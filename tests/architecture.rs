//! The layering rules of DESIGN.md, checked on the source tree: SQL lives only in the store,
//! and the engine and backends never import the terminal UI.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read src").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn sql_lives_only_in_the_store() {
    let store = src().join("store");
    let offenders: Vec<PathBuf> = rust_files(&src())
        .into_iter()
        .filter(|p| !p.starts_with(&store))
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            text.contains("rusqlite") || text.contains("SELECT ") || text.contains("INSERT INTO")
        })
        .collect();
    assert!(offenders.is_empty(), "SQL outside src/store: {offenders:?}");
}

#[test]
fn engine_and_backends_never_touch_the_terminal_ui() {
    for layer in ["engine", "backends", "store", "model"] {
        let offenders: Vec<PathBuf> = rust_files(&src().join(layer))
            .into_iter()
            .filter(|p| {
                let text = fs::read_to_string(p).unwrap_or_default();
                text.contains("ratatui") || text.contains("crossterm")
            })
            .collect();
        assert!(
            offenders.is_empty(),
            "src/{layer} imports the UI: {offenders:?}"
        );
    }
    assert!(
        rust_files(&src()).len() > 20,
        "the walk found the source tree"
    );
}

#[test]
fn console_state_and_drawing_do_no_io_and_only_the_runtime_owns_the_terminal() {
    // `app` (state + update) and `ui` (drawing) are pure: key types from crossterm are fine,
    // terminal I/O, tasks, files and the store are not.
    let forbidden = [
        "crossterm::terminal",
        "crossterm::execute",
        "crossterm::queue",
        "EventStream",
        "std::io::stdout",
        "DefaultTerminal",
        "ratatui::init",
        "ratatui::try_init",
        "tokio::",
        "std::fs",
        "Store::open",
        ".await",
    ];
    for layer in ["app", "ui"] {
        let files = rust_files(&src().join(layer));
        assert!(!files.is_empty(), "src/{layer} exists");
        for p in files {
            let text = fs::read_to_string(&p).unwrap_or_default();
            for f in forbidden {
                assert!(!text.contains(f), "{} uses {f}", p.display());
            }
        }
    }
    let console = src().join("console");
    for p in rust_files(&src()) {
        if p.starts_with(&console) {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap_or_default();
        for f in [
            "ratatui::try_init",
            "ratatui::init",
            "enable_raw_mode",
            "EventStream",
        ] {
            assert!(
                !text.contains(f),
                "{} takes the terminal ({f})",
                p.display()
            );
        }
    }
}
