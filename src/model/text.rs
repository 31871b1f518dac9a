//! Making attacker-controlled text (subjects, names, headers) inert before it is displayed.

/// Replace every character that could steer a terminal with a visible escape.
///
/// Control characters (C0, DEL, C1) become `\xNN`, so an `ESC [ 2 J` in a subject shows as
/// `\x1b[2J` instead of clearing the screen; bidi overrides and isolates, which can make
/// `evil.exe` read as `exe.live`, become `\u{202e}`. Everything else passes unchanged.
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
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::sanitize;

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
    fn leaves_ordinary_text_alone() {
        assert_eq!(sanitize("Überweisung – ¥ 請求書"), "Überweisung – ¥ 請求書");
    }
}
