//! Redaction of credentials from text a server sends back (error bodies that quote the
//! request) before it is stored, logged or shown.

use std::sync::Mutex;

/// Every secret value this process has resolved, so that text a server sends back (an error
/// body quoting the password or client secret) can be cleaned of them by [`redact`].
static KNOWN_SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Values shorter than this are not redacted: replacing every `a` or `12` in an error
/// would garble it and such a secret protects nothing anyway.
const SHORTEST_REDACTED: usize = 4;

/// Add a value to those [`redact`] removes (also for access tokens a backend obtains).
pub fn remember_for_redaction(value: &str) {
    if value.len() < SHORTEST_REDACTED {
        return;
    }
    let mut known = KNOWN_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first, so a secret that contains another is removed whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// What replaces a redacted secret or token.
pub const REDACTED: &str = "[redacted]";

/// Remove from server or log text every secret this process has resolved and anything that
/// looks like a credential: `Bearer <token>`, JWT-shaped strings (`eyJ….….…`) and the values
/// of `password=`, `client_secret=`, `client_assertion=`, `access_token`, `refresh_token`
/// (form or JSON style). Servers echo requests back in error bodies; those bodies end up in
/// item errors, the audit trail, the log and the screen.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    {
        let known = KNOWN_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
    }
    redact_token_shapes(&out)
}

/// Keys whose value is a credential wherever it appears (`key=value`, `"key":"value"`).
const CREDENTIAL_KEYS: [&str; 6] = [
    "password",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
];

fn redact_token_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(skip) = credential_prefix(rest) {
            let (head, tail) = rest.split_at(skip);
            out.push_str(head);
            // Already redacted (text cleaned twice): keep it as it is.
            let value_len = if tail.starts_with(REDACTED) {
                REDACTED.len()
            } else {
                tail.find(is_token_end).unwrap_or(tail.len())
            };
            if value_len > 0 {
                out.push_str(REDACTED);
            }
            rest = &tail[value_len..];
            continue;
        }
        let word_len = rest.find(is_token_end).unwrap_or(rest.len());
        if word_len > 0 {
            let word = &rest[..word_len];
            if looks_like_jwt(word) {
                out.push_str(REDACTED);
            } else {
                out.push_str(word);
            }
            rest = &rest[word_len..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Where a credential value starts when `text` begins with `Bearer `, `key=`, `key: ` or
/// `"key":"` (case-insensitive keys), as a byte count to keep.
fn credential_prefix(text: &str) -> Option<usize> {
    let lower: String = text
        .chars()
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    if let Some(after) = lower.strip_prefix("bearer") {
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        if spaces > 0 {
            return Some("bearer".len() + spaces);
        }
    }
    let quoted = lower.starts_with('"');
    let body = lower.strip_prefix('"').unwrap_or(&lower);
    for key in CREDENTIAL_KEYS {
        let Some(after) = body.strip_prefix(key) else {
            continue;
        };
        let after = if quoted {
            match after.strip_prefix('"') {
                Some(a) => a,
                None => continue,
            }
        } else {
            after
        };
        let sep = after
            .strip_prefix('=')
            .or_else(|| after.strip_prefix(':'))?;
        let trimmed = sep.trim_start_matches([' ', '"']);
        let taken =
            usize::from(quoted) + key.len() + usize::from(quoted) + 1 + (sep.len() - trimmed.len());
        return Some(taken);
    }
    None
}

fn is_token_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '&' | ',' | ';' | '<' | '>' | '(' | ')' | '}' | ']'
        )
}

/// Three base64url segments joined by dots, the first a JSON header (`eyJ`).
fn looks_like_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && word.starts_with("eyJ")
        && parts.iter().take(2).all(|p| p.len() >= 4)
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::{SecretCommand, SecretSource};

    #[test]
    fn redaction_removes_resolved_secrets_and_token_shapes() {
        let source = SecretSource::Command(SecretCommand {
            key: "client_secret_command".into(),
            line: "printf 'Sup3r-Secret-42'".into(),
        });
        let secret = source.resolve().unwrap();
        let echoed = format!(
            "400 bad request: client_secret={} was refused; got Authorization: Bearer abc.def-ghi and \
             token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl; {{\"password\":\"hunter22\",\"x\":1}} \
             echo {}",
            secret.expose(),
            secret.expose()
        );
        let clean = redact(&echoed);
        for leaked in ["Sup3r-Secret-42", "abc.def-ghi", "eyJhbGci", "hunter22"] {
            assert!(!clean.contains(leaked), "{leaked} in {clean}");
        }
        assert!(
            clean.contains("400 bad request") && clean.contains("\"x\":1"),
            "{clean}"
        );
        assert!(clean.contains("Bearer [redacted]"), "{clean}");
        // Ordinary text is untouched, and redacting twice changes nothing.
        let plain = "mailbox bob@corp.test: folder .Junk is missing (password policy ok)";
        assert_eq!(redact(plain), plain);
        assert_eq!(redact(&clean), clean);
    }
}
