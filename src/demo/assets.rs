//! The demo's text data, compiled into the binary so `retractor demo` needs no files and no
//! network. The formats are line-based (`field|field|...`, `#` comments) so that the data stays
//! easy to edit without touching code.

pub const DEPARTMENTS: &str = include_str!("../../assets/demo/departments.txt");
pub const PEOPLE: &str = include_str!("../../assets/demo/people.txt");
pub const INTERNAL: &str = include_str!("../../assets/demo/internal.txt");
pub const REPLIES: &str = include_str!("../../assets/demo/replies.txt");
pub const EXTERNAL: &str = include_str!("../../assets/demo/external.txt");
pub const NEWSLETTERS: &str = include_str!("../../assets/demo/newsletters.txt");
pub const SPAM: &str = include_str!("../../assets/demo/spam.txt");
pub const INTL: &str = include_str!("../../assets/demo/intl.txt");
pub const CAMPAIGN: &str = include_str!("../../assets/demo/campaign.txt");

/// The `|`-separated records of a data file with exactly `fields` fields each; blank lines and
/// `#` comments are skipped. A malformed line is a bug in the embedded data, caught by the
/// tests, so it is skipped here rather than turned into a runtime error.
pub fn records(text: &'static str, fields: usize) -> Vec<Vec<&'static str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|r| r.len() == fields)
        .collect()
}

/// Lines of a data file that are neither blank nor comments.
pub fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The text of section `name` in a file of `== name ==` sections, without its trailing newline.
pub fn section(text: &'static str, name: &str) -> String {
    let header = format!("== {name} ==");
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("== ") && line.ends_with(" ==") {
            if inside {
                break;
            }
            inside = line == header;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    out.join("\n").trim_end().to_string()
}

/// Turn the `\n` escapes of one-line bodies into line breaks.
pub fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_line_has_the_expected_shape() {
        let shaped = [
            (DEPARTMENTS, 2),
            (PEOPLE, 4),
            (INTERNAL, 3),
            (EXTERNAL, 5),
            (NEWSLETTERS, 4),
            (SPAM, 4),
            (INTL, 5),
        ];
        for (text, fields) in shaped {
            let all = lines(text);
            assert!(!all.is_empty());
            assert_eq!(
                records(text, fields).len(),
                all.len(),
                "a line with the wrong field count in:\n{text}"
            );
        }
        assert!(!lines(REPLIES).is_empty());
        for name in [
            "lure_subject",
            "lure_body",
            "signed_reply",
            "fwd_security",
            "fwd_hr",
            "reply_all_legit",
            "reply_all_stop",
            "security_reply",
            "fwd_fwd",
            "payroll_reply",
            "hostile_body",
        ] {
            assert!(
                !section(CAMPAIGN, name).is_empty(),
                "missing section {name}"
            );
        }
    }
}
