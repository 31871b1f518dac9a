//! STIX 2.1 bundles (OASIS STIX 2.1, §7.1 Indicator and §9 Patterning): the `indicator`
//! objects whose `pattern_type` is `stix`, each pattern one comparison or comparisons joined
//! by `OR` (inside one observation or between observations), over
//! `email-message:from_ref.value`, `email-message:subject`, `url:value`,
//! `domain-name:value`, `file:hashes.'SHA-256'` and `file:name`, with `=`.
//!
//! Anything else a pattern can say (`AND`, `FOLLOWEDBY`, `LIKE`, `MATCHES`, qualifiers,
//! other objects) is a condition a single indicator cannot carry, so that indicator is
//! skipped and counted, never loosened. `valid_until` becomes the expiry; a revoked
//! indicator is skipped.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{ImportError, ImportOptions, Parsed, json};
use crate::model::{Indicator, IndicatorKind};

pub(super) fn parse(text: &str, options: &ImportOptions) -> Result<Parsed, ImportError> {
    let doc = json(text)?;
    if doc.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(ImportError::new(
            "$.type",
            "not a STIX bundle (its type must be \"bundle\")",
        ));
    }
    let objects = match doc.get("objects") {
        None => &Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err(ImportError::new("$.objects", "must be an array")),
    };
    let mut parsed = Parsed::default();
    for (i, object) in objects.iter().enumerate() {
        let at = format!("$.objects[{i}]");
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        if object.get("revoked").and_then(Value::as_bool) == Some(true) {
            parsed.skip(&at, "revoked");
            continue;
        }
        let pattern_type = object.get("pattern_type").and_then(Value::as_str);
        if pattern_type != Some("stix") {
            parsed.skip(
                &at,
                format!(
                    "pattern_type {:?} is not stix",
                    pattern_type.unwrap_or("(none)")
                ),
            );
            continue;
        }
        let Some(pattern) = object.get("pattern").and_then(Value::as_str) else {
            return Err(ImportError::new(
                format!("{at}.pattern"),
                "an indicator needs a pattern (a string)",
            ));
        };
        let expires = match object.get("valid_until") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc))
                    .ok_or_else(|| {
                        ImportError::new(format!("{at}.valid_until"), "not an RFC 3339 timestamp")
                    })?,
            ),
        };
        let comparisons = match comparisons(pattern) {
            Ok(c) => c,
            Err(why) => {
                parsed.skip(&at, format!("pattern not supported: {why}"));
                continue;
            }
        };
        for (kind, value) in comparisons {
            let indicator =
                Indicator::new(kind, &value, &options.source, None, expires).map_err(|why| {
                    ImportError::new(format!("{at}.pattern"), format!("{}: {why}", kind.as_str()))
                })?;
            parsed.push(indicator);
        }
    }
    Ok(parsed)
}

/// The object paths retractor can look for, and the kind each becomes.
fn kind_of(path: &str) -> Option<IndicatorKind> {
    match path {
        "email-message:from_ref.value" => Some(IndicatorKind::Sender),
        "email-message:subject" => Some(IndicatorKind::Subject),
        "url:value" => Some(IndicatorKind::Url),
        "domain-name:value" => Some(IndicatorKind::UrlDomain),
        "file:hashes.'SHA-256'" | "file:hashes.SHA-256" | "file:hashes.'sha256'" => {
            Some(IndicatorKind::AttachmentSha256)
        }
        "file:name" => Some(IndicatorKind::AttachmentName),
        _ => None,
    }
}

/// A pattern's `path = 'value'` comparisons when they are joined only by `OR`, or why not.
fn comparisons(pattern: &str) -> Result<Vec<(IndicatorKind, String)>, String> {
    let mut out = Vec::new();
    let mut rest = pattern.trim();
    let mut depth = 0usize;
    let mut expect_term = true;
    while !rest.is_empty() {
        if expect_term {
            if let Some(r) = rest.strip_prefix('[') {
                depth += 1;
                rest = r.trim_start();
                continue;
            }
            let (path, r) = rest
                .split_once(char::is_whitespace)
                .ok_or("a comparison without an operator")?;
            let r = r.trim_start();
            let r = r
                .strip_prefix('=')
                .ok_or_else(|| format!("only = is supported ({path:?})"))?;
            let kind = kind_of(path).ok_or_else(|| format!("{path} is not looked for"))?;
            let (value, r) = string_literal(r.trim_start())?;
            out.push((kind, value));
            rest = r.trim_start();
            expect_term = false;
        } else if let Some(r) = rest.strip_prefix(']') {
            depth = depth.checked_sub(1).ok_or("unbalanced ]")?;
            rest = r.trim_start();
        } else if let Some(r) = rest.strip_prefix("OR") {
            rest = r.trim_start();
            expect_term = true;
        } else {
            let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            return Err(format!(
                "{word} joins conditions one indicator cannot carry"
            ));
        }
    }
    if depth != 0 || expect_term || out.is_empty() {
        return Err("incomplete pattern".into());
    }
    Ok(out)
}

/// A quoted STIX string (`'...'`, `\'` and `\\` escaped) and what follows it.
fn string_literal(text: &str) -> Result<(String, &str), String> {
    let body = text
        .strip_prefix('\'')
        .ok_or("the value must be a quoted string")?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\'' | '\\'))) => value.push(e),
                _ => return Err("a bad escape in a string".into()),
            },
            '\'' => return Ok((value, &body[i + 1..])),
            c => value.push(c),
        }
    }
    Err("an unterminated string".into())
}
