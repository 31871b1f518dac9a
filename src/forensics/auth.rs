//! Authentication-Results (RFC 8601) and ARC (RFC 8617) verdicts. Any sender can write an
//! Authentication-Results field, so the verdicts are the topmost one's: the field our own
//! boundary added last. Every field stays listed in the headers for the analyst.

use serde::{Deserialize, Serialize};

use super::HeaderLine;

/// The verdicts of the topmost Authentication-Results, and the ARC chain's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthVerdicts {
    /// `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror`, or `None`
    /// when the field does not say.
    pub spf: Option<String>,
    /// The first `pass` among the DKIM results, else the first result.
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
    /// `arc=` of the topmost Authentication-Results, else the newest ARC-Seal's `cv=`.
    pub arc: Option<String>,
    /// Who wrote the verdicts (the topmost field's authserv-id), `""` without one.
    pub authserv_id: String,
    /// Every method result of that field, in order (`dkim=pass header.d=x`, ...).
    pub results: Vec<AuthResult>,
    /// The ARC sets, newest (highest `i=`) first.
    pub arc_chain: Vec<ArcSet>,
}

/// One `method=result` of an Authentication-Results field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResult {
    pub method: String,
    pub result: String,
    /// The properties that name what was checked (`header.d=`, `smtp.mailfrom=`, ...).
    pub properties: Vec<String>,
}

/// One ARC set: who sealed it and what it saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArcSet {
    pub instance: u32,
    pub authserv_id: String,
    /// The ARC-Seal's chain validation (`none`, `pass`, `fail`).
    pub cv: Option<String>,
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
}

/// The verdicts of a message's header fields.
pub fn verdicts(headers: &[HeaderLine]) -> AuthVerdicts {
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let mut out = AuthVerdicts::default();
    if let Some(top) = named("Authentication-Results").next() {
        let (id, results) = parse_results(&top.value);
        out.authserv_id = id;
        out.spf = first(&results, "spf");
        out.dkim = dkim(&results);
        out.dmarc = first(&results, "dmarc");
        out.arc = first(&results, "arc");
        out.results = results;
    }
    let mut sets: Vec<ArcSet> = Vec::new();
    for h in named("ARC-Authentication-Results") {
        let (instance, rest) = instance_of(&h.value);
        let (id, results) = parse_results(rest);
        let set = set_for(&mut sets, instance);
        set.authserv_id = id;
        set.spf = first(&results, "spf");
        set.dkim = dkim(&results);
        set.dmarc = first(&results, "dmarc");
    }
    for h in named("ARC-Seal") {
        let (instance, _) = instance_of(&h.value);
        let cv = tags(&h.value)
            .into_iter()
            .find(|(k, _)| k == "cv")
            .map(|(_, v)| v.to_ascii_lowercase());
        set_for(&mut sets, instance).cv = cv;
    }
    sets.sort_by_key(|s| std::cmp::Reverse(s.instance));
    if out.arc.is_none() {
        out.arc = sets.first().and_then(|s| s.cv.clone());
    }
    out.arc_chain = sets;
    out
}

fn set_for(sets: &mut Vec<ArcSet>, instance: u32) -> &mut ArcSet {
    let at = match sets.iter().position(|s| s.instance == instance) {
        Some(at) => at,
        None => {
            sets.push(ArcSet {
                instance,
                ..ArcSet::default()
            });
            sets.len() - 1
        }
    };
    &mut sets[at]
}

fn first(results: &[AuthResult], method: &str) -> Option<String> {
    results
        .iter()
        .find(|r| r.method == method)
        .map(|r| r.result.clone())
}

fn dkim(results: &[AuthResult]) -> Option<String> {
    results
        .iter()
        .find(|r| r.method == "dkim" && r.result == "pass")
        .map(|r| r.result.clone())
        .or_else(|| first(results, "dkim"))
}

/// `i=1; rest` of an ARC field: the instance and the rest.
fn instance_of(value: &str) -> (u32, &str) {
    let trimmed = value.trim_start();
    if let Some(rest) = trimmed.strip_prefix("i=") {
        let end = rest.find(';').unwrap_or(rest.len());
        let instance = rest[..end].trim().parse().unwrap_or(0);
        let rest = rest.get(end + 1..).unwrap_or("");
        return (instance, rest);
    }
    for (k, v) in tags(value) {
        if k == "i" {
            return (v.parse().unwrap_or(0), value);
        }
    }
    (0, value)
}

/// `k=v; k=v` tag lists (ARC-Seal, DKIM-Signature).
fn tags(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// `authserv-id [version]; method=result (comment) prop=value; ...`.
fn parse_results(value: &str) -> (String, Vec<AuthResult>) {
    let cleaned = strip_comments(value);
    let mut parts = cleaned.split(';');
    let id = parts
        .next()
        .and_then(|p| p.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let mut results = Vec::new();
    for part in parts {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            continue;
        };
        let method = method.split('/').next().unwrap_or(method);
        results.push(AuthResult {
            method: method.to_ascii_lowercase(),
            result: result.to_ascii_lowercase(),
            properties: words
                .filter(|w| w.contains('='))
                .map(str::to_string)
                .collect(),
        });
    }
    (id, results)
}

/// The text without its `(...)` comments (nested ones included), which may hold `;` or `=`.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
