//! URLs in the text and HTML parts, each with its domain, and their defanged form for display
//! (`hxxps://evil[.]example/...`) so no terminal or mail client makes them clickable.

use mail_parser::{Message, PartType};
use serde::{Deserialize, Serialize};

/// One URL a part carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundUrl {
    /// As the part says it (HTML entities decoded).
    pub url: String,
    /// For display: `hxxp(s)://` and `[.]` in the host.
    pub defanged: String,
    /// The host, lower-case, without user info, port or trailing dot.
    pub domain: String,
    /// `text` or `html`; `attached-text` / `attached-html` inside an attached message.
    pub part: String,
}

/// Most URLs listed per message: a part with millions of links is a bomb, not evidence.
const MAX_URLS: usize = 10_000;

/// Every distinct URL of every text and HTML part, nested messages included, in order.
pub fn in_message(message: &Message<'_>) -> Vec<FoundUrl> {
    let mut out = Vec::new();
    collect(message, "", &mut out, 0);
    out
}

fn collect(message: &Message<'_>, prefix: &str, out: &mut Vec<FoundUrl>, depth: usize) {
    for part in &message.parts {
        match &part.body {
            PartType::Text(text) => add(out, scan(text), &format!("{prefix}text")),
            PartType::Html(html) => {
                add(out, scan(&decode_entities(html)), &format!("{prefix}html"))
            }
            PartType::Message(nested) if depth < super::attachments::MAX_NESTING => {
                collect(nested, "attached-", out, depth + 1)
            }
            _ => {}
        }
    }
}

fn add(out: &mut Vec<FoundUrl>, urls: Vec<String>, part: &str) {
    for url in urls {
        if out.len() >= MAX_URLS {
            return;
        }
        if out.iter().any(|u| u.url == url && u.part == part) {
            continue;
        }
        out.push(FoundUrl {
            defanged: defang(&url),
            domain: domain_of(&url).unwrap_or_default(),
            url,
            part: part.to_string(),
        });
    }
}

/// The `http://` and `https://` URLs in a text, in order (schemes matched ignoring case).
pub fn scan(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = next_scheme(&lower[from..]) {
        let start = from + found;
        let end = text[start..]
            .find(|c: char| ends_url(c))
            .map(|e| start + e)
            .unwrap_or(text.len());
        let url = trim_trailing(&text[start..end]);
        if url.len() > scheme_len(&lower[start..]) {
            out.push(url.to_string());
        }
        from = end.max(start + 1);
    }
    out
}

fn next_scheme(lower: &str) -> Option<usize> {
    let http = lower.find("http://");
    let https = lower.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn scheme_len(lower: &str) -> usize {
    if lower.starts_with("https://") { 8 } else { 7 }
}

fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || crate::model::text::is_format_char(c)
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | '`' | '{' | '}' | '|' | '\\' | '^'
        )
}

/// Sentence punctuation after a URL is not part of it; a `)` is, when the URL opened one.
fn trim_trailing(url: &str) -> &str {
    let mut url = url;
    loop {
        let Some(last) = url.chars().last() else {
            return url;
        };
        let drop = matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | ']')
            || (last == ')' && url.matches('(').count() < url.matches(')').count());
        if !drop {
            return url;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
}

/// The host of a URL, lower-case, without user info, port or trailing dot.
pub fn domain_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// `https://evil.example/a.php` -> `hxxps://evil[.]example/a.php`: the scheme broken and the
/// host's dots bracketed, so neither a terminal nor a ticket system links it.
pub fn defang(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.replace('.', "[.]");
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => "hxxp".to_string(),
        "https" => "hxxps".to_string(),
        other => other.replace('t', "x"),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(host_end);
    format!("{scheme}://{}{tail}", authority.replace('.', "[.]"))
}

/// The entities HTML uses to write URLs (`&amp;`, `&#46;`, `&#x2e;`, quotes, brackets);
/// anything else stays as it is.
pub fn decode_entities(html: &str) -> String {
    if !html.contains('&') {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[..rest.len().min(12)].find(';');
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "sol" => Some('/'),
        "colon" => Some(':'),
        "period" => Some('.'),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)
        }
    }
}
