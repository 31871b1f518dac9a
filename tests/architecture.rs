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
