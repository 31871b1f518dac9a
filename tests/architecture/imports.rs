//! The module paths a source file reaches: every `use crate::...` / `use super::...` tree
//! (groups expanded) and every `crate::x::...` / `super::x::...` path in code, resolved to
//! crate-rooted segments. Comments and string literals are skipped so that prose mentioning
//! a module is not an edge; inline `mod name { ... }` blocks are tracked so that `super`
//! inside one (a `tests` module, say) resolves to the file's own module, as rustc does.

/// One reached path, crate-rooted (`["store", "Store"]`), with the line it is on.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub target: Vec<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The crate-rooted module path of a file under `src/` (`engine/mod.rs` -> `["engine"]`,
/// `backends/maildir/tree.rs` -> `["backends", "maildir", "tree"]`, `lib.rs` -> `[]`).
pub fn module_of(relative: &str) -> Vec<String> {
    let trimmed = relative.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every crate-internal path the file at `module` (see [`module_of`]) reaches.
pub fn edges(module: &[String], text: &str) -> Vec<Edge> {
    let toks = tokens(text);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (line, tok) = &toks[i];
        let here = || -> Vec<String> {
            let mut m = module.to_vec();
            m.extend(inline.iter().map(|(n, _)| n.clone()));
            m
        };
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some((_, Tok::Ident(name))), Some((_, Tok::Punct('{')))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let mut paths = Vec::new();
                let mut j = i + 1;
                use_tree(&toks, &mut j, Vec::new(), &mut paths);
                let current = here();
                for p in paths {
                    if let Some(target) = resolve(&current, &p) {
                        out.push(Edge {
                            target,
                            line: *line,
                        });
                    }
                }
                i = j;
                continue;
            }
            Tok::Ident(head) if head == "crate" || head == "super" => {
                // A path in code; `pub(crate)` has no `::` after it and is not one.
                let preceded_by_sep = i > 0 && toks[i - 1].1 == Tok::PathSep;
                if !preceded_by_sep && toks.get(i + 1).map(|t| &t.1) == Some(&Tok::PathSep) {
                    let mut path = vec![head.clone()];
                    let mut j = i + 1;
                    while toks.get(j).map(|t| &t.1) == Some(&Tok::PathSep) {
                        match toks.get(j + 1) {
                            Some((_, Tok::Ident(seg))) => {
                                path.push(seg.clone());
                                j += 2;
                            }
                            _ => break,
                        }
                    }
                    if let Some(target) = resolve(&here(), &path) {
                        out.push(Edge {
                            target,
                            line: *line,
                        });
                    }
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Expand one use tree starting at `toks[*at]` into full paths; stops after its `;`, `,`
/// or closing `}` (which it leaves for the caller).
fn use_tree(
    toks: &[(usize, Tok)],
    at: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let mut path = prefix;
    loop {
        match toks.get(*at).map(|t| &t.1) {
            Some(Tok::Ident(seg)) if seg == "as" => {
                // `as name`: the alias is not part of the path.
                *at += 2;
            }
            Some(Tok::Ident(seg)) => {
                if seg != "self" || path.is_empty() {
                    path.push(seg.clone());
                }
                *at += 1;
            }
            Some(Tok::PathSep) => *at += 1,
            Some(Tok::Punct('*')) => *at += 1,
            Some(Tok::Punct('{')) => {
                *at += 1;
                loop {
                    use_tree(toks, at, path.clone(), out);
                    match toks.get(*at).map(|t| &t.1) {
                        Some(Tok::Punct(',')) => *at += 1,
                        Some(Tok::Punct('}')) => {
                            *at += 1;
                            break;
                        }
                        _ => return,
                    }
                    if toks.get(*at).map(|t| &t.1) == Some(&Tok::Punct('}')) {
                        *at += 1;
                        break;
                    }
                }
                if toks.get(*at).map(|t| &t.1) == Some(&Tok::Punct(';')) {
                    *at += 1;
                }
                return;
            }
            Some(Tok::Punct(';')) => {
                *at += 1;
                out.push(path);
                return;
            }
            Some(Tok::Punct(',' | '}')) | None => {
                out.push(path);
                return;
            }
            Some(Tok::Punct(_)) => *at += 1,
        }
    }
}

/// A path as written in the module `current`, crate-rooted; `None` for paths into other
/// crates (`std::`, `serde::`) and `self::` (within the module itself).
fn resolve(current: &[String], path: &[String]) -> Option<Vec<String>> {
    match path.first().map(String::as_str) {
        Some("crate") => Some(path[1..].to_vec()),
        Some("super") => {
            let mut base = current.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

/// Identifiers and punctuation with line numbers; comments, strings and chars dropped.
fn tokens(text: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut nest = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    nest += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    nest -= 1;
                    i += 2;
                    if nest == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1; // a lifetime
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if matches!(word.as_str(), "r" | "br") && raw_string_follows(&c, i) {
                i = skip_raw_string(&c, i, &mut line);
            } else if word == "b" && at(i) == '"' {
                // b"...": the string is skipped on the next turn.
            } else {
                out.push((line, Tok::Ident(word)));
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((line, Tok::PathSep));
            i += 2;
        } else {
            if !ch.is_whitespace() {
                out.push((line, Tok::Punct(ch)));
            }
            i += 1;
        }
    }
    out
}

/// Whether `#`s and a quote follow at `i` (after an `r` or `br` prefix).
fn raw_string_follows(c: &[char], i: usize) -> bool {
    let mut j = i;
    while c.get(j) == Some(&'#') {
        j += 1;
    }
    c.get(j) == Some(&'"')
}

/// Skip a raw string whose `#`s start at `i`; the index after its closing quote and `#`s.
fn skip_raw_string(c: &[char], i: usize, line: &mut usize) -> usize {
    let mut j = i;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '\n' {
            *line += 1;
        }
        if c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')) {
            return j + 1 + hashes;
        }
        j += 1;
    }
    j
}
