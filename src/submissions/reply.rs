//! The reply to a reporter: `[submissions] reply_template` with its placeholders filled.
//!
//! The subject comes from the attacker's message: it is sanitised before it is put in, so
//! the rendered reply (shown in the audit and on a terminal) carries no control characters.

use crate::model::text::sanitize;

/// The template with `{subject}`, `{verdict}` and `{reporter}` replaced.
pub fn render(template: &str, subject: &str, verdict: &str, reporter: &str) -> String {
    // One pass, so a subject that contains `{verdict}` is never expanded in turn.
    let mut out = String::with_capacity(template.len() + subject.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let (value, len) = if tail.starts_with("{subject}") {
            (Some(sanitize(subject)), "{subject}".len())
        } else if tail.starts_with("{verdict}") {
            (Some(sanitize(verdict)), "{verdict}".len())
        } else if tail.starts_with("{reporter}") {
            (Some(sanitize(reporter)), "{reporter}".len())
        } else {
            (None, 1)
        };
        match value {
            Some(v) => out.push_str(&v),
            None => out.push('{'),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_sanitised() {
        let out = render(
            "Re: {subject}\nVerdict: {verdict} {unknown}",
            "Pay now \u{1b}[2J {verdict}",
            "phish",
            "a@b",
        );
        assert_eq!(
            out,
            "Re: Pay now \\x1b[2J {verdict}\nVerdict: phish {unknown}"
        );
    }
}
