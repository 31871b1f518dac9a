//! The Forensics tab's content: a message's evidence (`Api::evidence`) turned into labelled,
//! sanitised lines once, as it enters the state. Drawing and scrolling both read these lines,
//! so `G` stops at the last screenful of exactly what is drawn.
//!
//! Everything in the evidence is attacker-written: every field goes through [`shown`] here,
//! URLs and their domains are shown defanged, and attachments are listed, never opened.

use super::ReqId;
use super::rows::shown;
use crate::api::EvidenceView;
use crate::forensics::{Attachment, defang};

/// The Forensics tab of the open message.
#[derive(Clone, Debug, PartialEq)]
pub enum EvidenceState {
    /// Asked for; the reply to this request is awaited.
    Loading(ReqId),
    Loaded(Vec<ForensicLine>),
    /// The api's error, sanitised (no readable copy, no permission...).
    Failed(String),
}

/// How a line's text is coloured: verdicts by what they say, the rest plainly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A section title.
    Heading,
    Plain,
    /// A passing verdict (`pass`).
    Pass,
    /// A failing verdict (`fail`, `softfail`, `permerror`...), or a type that lies.
    Fail,
    /// No verdict, or one that says nothing (`none`, `neutral`).
    Muted,
}

/// One line of the tab before wrapping: a label (drawn in the title style) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForensicLine {
    pub label: String,
    pub text: String,
    pub tone: Tone,
}

fn line(label: &str, text: String, tone: Tone) -> ForensicLine {
    ForensicLine {
        label: label.to_string(),
        text,
        tone,
    }
}

fn heading(title: &str) -> ForensicLine {
    line("", title.to_string(), Tone::Heading)
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// The tone of an authentication verdict.
pub fn verdict_tone(verdict: Option<&str>) -> Tone {
    match verdict.map(str::to_ascii_lowercase).as_deref() {
        Some("pass") => Tone::Pass,
        Some("fail" | "softfail" | "permerror" | "temperror" | "policy" | "hardfail") => Tone::Fail,
        _ => Tone::Muted,
    }
}

/// The tab's lines for one copy's evidence, every field sanitised.
pub fn lines_of(view: &EvidenceView) -> Vec<ForensicLine> {
    let e = &view.evidence;
    let s = &view.source;
    let mut out = vec![
        line(
            "Copy      ",
            format!(
                "{} {} folder {} ({} bytes)",
                shown(&s.kind),
                shown(&s.mailbox),
                shown(&s.folder),
                e.size
            ),
            Tone::Plain,
        ),
        line("SHA-256   ", e.sha256.clone(), Tone::Plain),
        heading("Authentication"),
    ];
    let a = &e.auth;
    for (name, verdict) in [
        ("SPF       ", &a.spf),
        ("DKIM      ", &a.dkim),
        ("DMARC     ", &a.dmarc),
        ("ARC       ", &a.arc),
    ] {
        out.push(line(
            name,
            shown(verdict.as_deref().unwrap_or("none")),
            verdict_tone(verdict.as_deref()),
        ));
    }
    out.push(line(
        "Checked by",
        format!(" {}", shown(or_dash(&a.authserv_id))),
        Tone::Plain,
    ));
    out.push(heading(&format!(
        "Route ({} hops, origin first)",
        e.route.len()
    )));
    for (i, hop) in e.route.iter().enumerate() {
        let delay = hop
            .delay_secs
            .map(|d| format!("  +{d}s"))
            .unwrap_or_default();
        out.push(line(
            &format!("{:>2}. ", i + 1),
            format!(
                "from {} [{}] by {} at {}{delay}",
                shown(or_dash(&hop.from)),
                shown(or_dash(&hop.address)),
                shown(or_dash(&hop.by)),
                hop.at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Tone::Plain,
        ));
    }
    out.push(heading(&format!("URLs ({}, defanged)", e.urls.len())));
    for u in &e.urls {
        out.push(line(
            &format!("[{}] ", shown(or_dash(&u.part))),
            format!(
                "{}  domain {}",
                shown(&u.defanged),
                shown(&defang(or_dash(&u.domain)))
            ),
            Tone::Plain,
        ));
    }
    out.push(heading(&format!(
        "Attachments ({}, listed, never opened)",
        e.attachments.len()
    )));
    for att in &e.attachments {
        attachment_lines(att, 0, &mut out);
    }
    out.push(line(
        "Headers   ",
        format!("{} (the Headers tab lists them)", e.headers.len()),
        Tone::Muted,
    ));
    out
}

/// An attachment's two lines (name and types, then hash), and its nested members indented.
fn attachment_lines(a: &Attachment, depth: usize, out: &mut Vec<ForensicLine>) {
    let indent = "  ".repeat(depth);
    let lies = !a.declared_type.is_empty() && a.declared_type != a.detected_type;
    out.push(line(
        &format!("{indent}- "),
        format!(
            "{}  {} bytes  declared {}  detected {}{}",
            shown(or_dash(&a.name)),
            a.size,
            shown(or_dash(&a.declared_type)),
            shown(or_dash(&a.detected_type)),
            if lies { "  (types differ)" } else { "" }
        ),
        if lies { Tone::Fail } else { Tone::Plain },
    ));
    let note = if a.note.is_empty() {
        String::new()
    } else {
        format!("  ({})", shown(&a.note))
    };
    out.push(line(
        &format!("{indent}  sha256 "),
        format!("{}{note}", a.sha256.as_deref().unwrap_or("-")),
        Tone::Plain,
    ));
    for n in &a.nested {
        attachment_lines(n, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CopySource;
    use crate::forensics::{AuthVerdicts, Evidence, FoundUrl};

    fn view(evidence: Evidence) -> EvidenceView {
        EvidenceView {
            source: CopySource {
                kind: "mailbox".into(),
                mailbox: "bob@corp.test".into(),
                folder: "INBOX".into(),
            },
            evidence,
        }
    }

    #[test]
    fn verdicts_are_toned_by_what_they_say() {
        assert_eq!(verdict_tone(Some("pass")), Tone::Pass);
        assert_eq!(verdict_tone(Some("PASS")), Tone::Pass);
        assert_eq!(verdict_tone(Some("softfail")), Tone::Fail);
        assert_eq!(verdict_tone(Some("fail")), Tone::Fail);
        assert_eq!(verdict_tone(Some("none")), Tone::Muted);
        assert_eq!(verdict_tone(None), Tone::Muted);
    }

    #[test]
    fn attacker_text_is_inert_and_urls_defanged() {
        let v = view(Evidence {
            auth: AuthVerdicts {
                spf: Some("fail".into()),
                dkim: Some("pass".into()),
                ..AuthVerdicts::default()
            },
            urls: vec![FoundUrl {
                url: "https://evil.example/x".into(),
                defanged: "hxxps://evil[.]example/x".into(),
                domain: "evil.example".into(),
                part: "text/html\u{1b}[31m".into(),
            }],
            attachments: vec![Attachment {
                name: "invoice\u{202e}fdp.exe".into(),
                declared_type: "application/pdf".into(),
                detected_type: "application/x-msdownload".into(),
                size: 10,
                sha256: Some("ab".repeat(32)),
                nested: vec![Attachment {
                    name: "inner.txt".into(),
                    ..Attachment::default()
                }],
                note: String::new(),
            }],
            ..Evidence::default()
        });
        let lines = lines_of(&v);
        let all: String = lines
            .iter()
            .map(|l| format!("{}{}\n", l.label, l.text))
            .collect();
        assert!(!all.contains('\u{1b}'), "{all}");
        assert!(!all.contains('\u{202e}'), "{all}");
        assert!(!all.contains("https://"), "{all}");
        assert!(
            all.contains("hxxps://evil[.]example/x  domain evil[.]example"),
            "{all}"
        );
        let spf = lines.iter().find(|l| l.label.starts_with("SPF")).unwrap();
        assert_eq!((spf.text.as_str(), spf.tone), ("fail", Tone::Fail));
        let dkim = lines.iter().find(|l| l.label.starts_with("DKIM")).unwrap();
        assert_eq!(dkim.tone, Tone::Pass);
        let exe = lines.iter().find(|l| l.label == "- ").unwrap();
        assert!(exe.text.starts_with("invoice"), "{}", exe.text);
        assert_eq!(exe.tone, Tone::Fail, "declared pdf, detected exe");
        assert!(
            lines
                .iter()
                .any(|l| l.label == "  - " && l.text.starts_with("inner.txt")),
            "nested member indented: {all}"
        );
    }
}
