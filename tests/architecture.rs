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

#[path = "architecture/imports.rs"]
mod imports;

/// One import edge that breaks a layering rule, as `src/file.rs:line -> a::b::c`.
fn violation(file: &str, edge: &imports::Edge) -> String {
    format!("src/{file}:{} -> {}", edge.line, edge.target.join("::"))
}

/// The backends (directories under src/backends other than `common`).
fn backend_kinds() -> Vec<String> {
    let mut kinds: Vec<String> = fs::read_dir(src().join("backends"))
        .expect("read src/backends")
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name != "common")
        .collect();
    kinds.sort();
    kinds
}

/// Which layering rule, if any, an edge from the module `from` to `to` breaks (DESIGN.md):
/// the CLI reaches backends only through the engine; a backend never imports another
/// (shared code lives in `backends::common`, the trait in `backends` itself); the store
/// imports none of the layers above it; the engine and backends never import a front end; a
/// CLI command asks through the API (`crate::api`, which re-exports the engine's request
/// types), never the engine or the store, except `worker` and `demo`, which are the engine,
/// and `store` (`store copy`), the host administrator's copy of one store into another.
fn broken_rule(from: &[String], to: &[String], backends: &[String]) -> Option<&'static str> {
    fn layer(m: &[String], i: usize) -> &str {
        m.get(i).map(String::as_str).unwrap_or("")
    }
    let (src_layer, dst_layer) = (layer(from, 0), layer(to, 0));
    const FRONT_ENDS: [&str; 4] = ["app", "ui", "cli", "console"];
    match src_layer {
        "cli" if dst_layer == "backends" => {
            Some("the CLI reaches backends only through the engine")
        }
        "cli"
            if layer(from, 1) == "commands"
                && !matches!(layer(from, 2), "worker" | "demo" | "store")
                && matches!(dst_layer, "engine" | "store") =>
        {
            Some("a CLI command asks through the api, never the engine or the store")
        }
        "store"
            if matches!(
                dst_layer,
                "backends" | "engine" | "app" | "ui" | "cli" | "console"
            ) =>
        {
            Some("the store imports no layer above it")
        }
        "engine" | "backends" if FRONT_ENDS.contains(&dst_layer) => {
            Some("the engine and backends never import a front end")
        }
        // `backends::registry` builds every kind's backend from its settings: the one
        // module besides a backend's own that may name it.
        "backends" if dst_layer == "backends" && layer(from, 1) != "registry" => {
            let (mine, theirs) = (layer(from, 1), layer(to, 1));
            let is_backend = |name: &str| backends.iter().any(|b| b == name);
            (is_backend(theirs) && theirs != mine).then_some("a backend never imports another")
        }
        _ => None,
    }
}

/// Edges that break a rule today and need a redesign beyond this step; each names why.
/// Keep this list short and shrinking: a new entry is a design decision, not a fix.
const ALLOWED_VIOLATIONS: &[(&str, &str, &str)] = &[
    // (source file, target path prefix, reason)
];

fn allowed(file: &str, target: &[String]) -> bool {
    let target = target.join("::");
    ALLOWED_VIOLATIONS
        .iter()
        .any(|(f, t, _)| *f == file && target.starts_with(t))
}

/// Every import edge of every file under src/, as (file relative to src/, edge).
fn all_edges() -> Vec<(String, imports::Edge)> {
    let root = src();
    let mut out = Vec::new();
    for p in rust_files(&root) {
        let rel = p
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(&p).expect("read a source file");
        for e in imports::edges(&imports::module_of(&rel), &text) {
            out.push((rel.clone(), e));
        }
    }
    out
}

#[test]
fn import_edges_follow_the_layering_rules() {
    let backends = backend_kinds();
    assert!(
        ["graph", "imap", "maildir"]
            .iter()
            .all(|b| backends.iter().any(|k| k == b)),
        "the backends were found: {backends:?}"
    );
    let edges = all_edges();
    // A parser that saw nothing would pass every rule: it must see edges known to exist.
    let seen = |from: &str, to: &str| {
        edges
            .iter()
            .any(|(f, e)| f.starts_with(from) && e.target.join("::").starts_with(to))
    };
    for (from, to) in [
        ("engine/", "store"),
        ("cli/", "engine"),
        ("backends/imap/", "backends::common::headers"),
        // `super::layout` in maildir/tree.rs, resolved through `super`.
        ("backends/maildir/tree.rs", "backends::maildir::layout"),
    ] {
        assert!(seen(from, to), "the parser saw no edge {from} -> {to}");
    }
    let mut violations = Vec::new();
    for (file, edge) in &edges {
        let from = imports::module_of(file);
        if let Some(rule) = broken_rule(&from, &edge.target, &backends)
            && !allowed(file, &edge.target)
        {
            violations.push(format!("{} ({rule})", violation(file, edge)));
        }
    }
    assert!(
        violations.is_empty(),
        "import edges break the layering rules:\n{}",
        violations.join("\n")
    );
    for (file, target, _) in ALLOWED_VIOLATIONS {
        let still_there = edges
            .iter()
            .any(|(f, e)| f == file && e.target.join("::").starts_with(target));
        assert!(
            still_there,
            "allow-list entry {file} -> {target} is gone: remove it"
        );
    }
}

#[test]
fn the_import_parser_resolves_trees_super_and_inline_modules() {
    let module = imports::module_of("backends/maildir/tree.rs");
    assert_eq!(module, ["backends", "maildir", "tree"]);
    assert_eq!(imports::module_of("engine/mod.rs"), ["engine"]);
    let text = r#"
//! Mentions crate::cli in a comment, which is no edge.
use super::layout::{self, MessagePath};
use crate::backends::{imap::ops as o, Applied, common::{headers, sender::logged_sender}};
pub(crate) fn f() -> String {
    let s = "crate::ui::nothing";
    let c = '"';
    crate::store::Store::open(super::super::graph::X)
}
#[cfg(test)]
mod tests {
    use super::*;
    fn g<'a>(x: &'a str) { super::helper(x) }
}
fn after() { super::walk::go() }
"#;
    let got: Vec<String> = imports::edges(&module, text)
        .iter()
        .map(|e| format!("{}:{}", e.line, e.target.join("::")))
        .collect();
    assert_eq!(
        got,
        [
            "3:backends::maildir::layout",
            "3:backends::maildir::layout::MessagePath",
            "4:backends::imap::ops",
            "4:backends::Applied",
            "4:backends::common::headers",
            "4:backends::common::sender::logged_sender",
            "8:store::Store::open",
            "8:backends::graph::X",
            "12:backends::maildir::tree",
            "13:backends::maildir::tree::helper",
            "15:backends::maildir::walk::go",
        ]
    );
    let backends = ["graph".to_string(), "imap".into(), "maildir".into()];
    let rule = |from: &str, to: &str| {
        let to: Vec<String> = to.split("::").map(str::to_string).collect();
        broken_rule(&imports::module_of(from), &to, &backends)
    };
    assert!(rule("backends/maildir/tree.rs", "backends::imap::ops").is_some());
    assert!(rule("backends/common/headers.rs", "backends::maildir::tree").is_some());
    assert!(rule("backends/maildir/tree.rs", "backends::common::headers").is_none());
    assert!(rule("backends/imap/ops.rs", "backends::Applied").is_none());
    assert!(rule("backends/imap/ops.rs", "backends::imap::proto").is_none());
    assert!(rule("backends/registry.rs", "backends::imap").is_none());
    assert!(rule("cli/commands/log.rs", "backends::MailboxRef").is_some());
    assert!(rule("cli/commands/log.rs", "engine::Engine").is_some());
    assert!(rule("cli/commands/jobs.rs", "store::Store").is_some());
    assert!(rule("cli/commands/log.rs", "api::IndexRequest").is_none());
    assert!(rule("cli/commands/worker.rs", "engine::RunOptions").is_none());
    assert!(rule("cli/mod.rs", "engine::Engine").is_none());
    assert!(rule("store/jobs.rs", "engine::Engine").is_some());
    assert!(rule("store/jobs.rs", "model::Action").is_none());
    assert!(rule("engine/item.rs", "console::tasks").is_some());
    assert!(rule("backends/graph/mod.rs", "ui::views").is_some());
}
