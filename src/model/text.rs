//! Making attacker-controlled text (subjects, names, headers) inert before it is displayed.

/// Replace every character that could steer a terminal with a visible escape.
///
/// Control characters (C0, DEL, C1) become `\xNN`, so an `ESC [ 2 J` in a subject shows as
/// `\x1b[2J` instead of clearing the screen; format characters ([`is_format_char`]: bidi
/// overrides and isolates, which can make `evil.exe` read as `exe.live`, zero-width spaces
/// and joiners that hide inside an address, the byte-order mark) become `\u{202e}`.
/// Everything else passes unchanged.
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let code = c as u32;
            if code <= 0xff {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_format_char(c)
}

/// Unicode format characters (general category Cf): invisible, yet they change how text
/// reads (bidi marks, overrides and isolates), hide inside a word (zero-width space, joiner,
/// word joiner, soft hyphen, U+FEFF) or tag it. The list is Unicode 15's Cf.
pub fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00ad}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061c}'
        | '\u{06dd}'
        | '\u{070f}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

/// Serialized JSON with C1 controls and format characters written as `\uXXXX` escapes
/// (serde_json writes them raw). They only ever occur inside string literals, since JSON's
/// own syntax is ASCII, so the result is the same JSON value, safe to show in a terminal.
pub fn escape_json_text(json: &str) -> String {
    if !json.chars().any(|c| c.is_control() || is_format_char(c)) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_control() || is_format_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_json_text, sanitize};

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(sanitize("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(sanitize("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(sanitize("tab\there\nnl"), "tab\\x09here\\x0anl");
        assert_eq!(sanitize("\u{9b}31m"), "\\x9b31m");
    }

    #[test]
    fn escapes_bidi_overrides() {
        assert_eq!(
            sanitize("invoice\u{202e}fdp.exe"),
            "invoice\\u{202e}fdp.exe"
        );
    }

    #[test]
    fn escapes_invisible_format_characters() {
        assert_eq!(
            sanitize("ceo\u{200b}@corp\u{200d}.test\u{2060}\u{feff}"),
            "ceo\\u{200b}@corp\\u{200d}.test\\u{2060}\\u{feff}"
        );
        assert_eq!(sanitize("a\u{200e}b\u{2066}c"), "a\\u{200e}b\\u{2066}c");
        assert_eq!(sanitize("tag\u{e0041}"), "tag\\u{e0041}");
    }

    #[test]
    fn json_text_escapes_c1_and_format_characters_and_stays_the_same_value() {
        let value = serde_json::json!({"subject": "a\u{9b}31m b\u{202e}c \u{200b}\u{feff}\u{e0041} ü", "n": 1});
        let text = escape_json_text(&value.to_string());
        assert!(
            text.chars()
                .all(|c| !c.is_control() && !super::is_format_char(c)),
            "{text}"
        );
        assert!(
            text.contains("\\u009b") && text.contains("\\u202e") && text.contains("\\udb40\\udc41"),
            "{text}"
        );
        assert!(text.contains('ü'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        assert_eq!(sanitize("Überweisung – ¥ 請求書"), "Überweisung – ¥ 請求書");
    }
}
