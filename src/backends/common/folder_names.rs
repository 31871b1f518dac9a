//! Folder names shared by the backends: the levels of a configured folder path, and the
//! folder names derived from addresses (Maildir and IMAP).
//!
//! A per-recipient quarantine folder must be an injective function of the address: if two
//! recipients mapped to one folder (`helen.cho@` and `helen_cho@` did when dots became
//! underscores), recovery after a crash could credit one recipient's copy to the other.
//! The leaf is therefore a reversible escaping: ASCII letters, digits and `@ _ - +` stand
//! for themselves, every other byte (the escape character `=` itself, `.`, the hierarchy
//! separator, `/`, `&`, wildcards, any non-ASCII byte) becomes `=` and two upper-case hex
//! digits, so `helen.cho@corp.test` is `helen=2Echo@corp=2Etest` and `helen_cho@corp.test`
//! is `helen_cho@corp=2Etest`. The result is never empty for a non-empty address, holds no
//! separator (so it is one level), no `.` (a Maildir++ level break) and no `&` (modified
//! UTF-7's shift character), and [`decode_leaf`] gives the address back.

/// The escape character.
const ESCAPE: u8 = b'=';

/// Bytes that stand for themselves (unless they are the separator).
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'@' | b'_' | b'-' | b'+')
}

/// `text` as one folder level that cannot contain `separator` (see the module docs).
pub fn encode_leaf(text: &str, separator: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_plain(byte) && !separator.as_bytes().contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push(char::from(ESCAPE));
            out.push_str(&format!("{byte:02X}"));
        }
    }
    out
}

/// The text [`encode_leaf`] made `leaf` from; `None` for a leaf it cannot have made.
pub fn decode_leaf(leaf: &str) -> Option<String> {
    let bytes = leaf.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == ESCAPE {
            let hex = leaf.get(at + 1..at + 3)?;
            if !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else if is_plain(byte) {
            out.push(byte);
            at += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// The levels of a folder path as the config writes it (`Retractor/Processed`: levels split
/// by `/`), outermost first, each trimmed; empty levels are dropped, so `a//b` and `/a/b/`
/// are `a`, `b`. Every backend files by these levels and joins them its own way (the IMAP
/// delimiter, nested EWS and Graph folders, one nested Gmail label name).
pub fn folder_levels(path: &str) -> Vec<&str> {
    path.split('/')
        .map(str::trim)
        .filter(|level| !level.is_empty())
        .collect()
}

/// The quarantine folder of `recipient` under `parent`, for a store whose hierarchy
/// separator is `separator` (`.` in Maildir++, the server's delimiter over IMAP).
pub fn quarantine_folder(parent: &str, separator: &str, recipient: &str) -> String {
    format!("{parent}{separator}{}", encode_leaf(recipient, separator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_used_to_collide_get_distinct_folders() {
        let dotted = quarantine_folder("Quarantine", ".", "helen.cho@corp.test");
        let underscored = quarantine_folder("Quarantine", ".", "helen_cho@corp.test");
        assert_eq!(dotted, "Quarantine.helen=2Echo@corp=2Etest");
        assert_eq!(underscored, "Quarantine.helen_cho@corp=2Etest");
        assert_ne!(dotted, underscored);
        assert_eq!(
            quarantine_folder("Quarantine", "/", "a.b/c@x.test"),
            "Quarantine/a=2Eb=2Fc@x=2Etest"
        );
    }

    #[test]
    fn the_escape_character_is_escaped_so_decoding_is_unambiguous() {
        // Without escaping '=', "a=2E" and "a." would both give "a=2E".
        assert_eq!(encode_leaf("a=2E@x", "."), "a=3D2E@x");
        assert_ne!(encode_leaf("a=2E@x", "."), encode_leaf("a.@x", "."));
    }

    #[test]
    fn leaves_round_trip_and_never_hold_a_separator_dot_or_ampersand() {
        let samples = [
            "alice@corp.test",
            "helen.cho@corp.test",
            "helen_cho@corp.test",
            "a=b@x",
            "o'brien+tag@x.test",
            "&amp;%*@x",
            "jörg@bücher.test",
            "",
            "=",
        ];
        for separator in [".", "/", "-", "_"] {
            let mut seen = std::collections::HashSet::new();
            for text in samples {
                let leaf = encode_leaf(text, separator);
                assert_eq!(decode_leaf(&leaf).as_deref(), Some(text), "{leaf}");
                assert!(!leaf.contains(separator), "{leaf} holds {separator}");
                assert!(!leaf.contains(['.', '&', '/', '%', '*']), "{leaf}");
                assert!(seen.insert(leaf), "{text} collides");
            }
        }
    }

    #[test]
    fn a_folder_path_splits_into_trimmed_levels() {
        assert_eq!(
            folder_levels("Retractor/Processed"),
            ["Retractor", "Processed"]
        );
        assert_eq!(folder_levels("/a// b /"), ["a", "b"]);
        assert!(folder_levels("").is_empty());
    }

    #[test]
    fn leaves_it_cannot_have_made_are_refused() {
        for bad in ["a.b", "=2", "=zz", "=2e", "a b"] {
            assert_eq!(decode_leaf(bad), None, "{bad}");
        }
    }
}
