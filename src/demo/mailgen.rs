//! RFC 5322 message text: headers (folded, RFC 2047 where needed), CRLF line endings.

use chrono::{DateTime, Utc};

/// A mailbox as it appears in From/To/Cc.
#[derive(Clone, Debug, PartialEq)]
pub struct Addr {
    pub name: Option<String>,
    pub email: String,
}

impl Addr {
    pub fn new(name: &str, email: &str) -> Addr {
        Addr {
            name: (!name.is_empty()).then(|| name.to_string()),
            email: email.to_string(),
        }
    }

    /// The header form: `Name <email>`, with the name quoted or encoded as needed.
    pub fn render(&self) -> String {
        match &self.name {
            None => self.email.clone(),
            Some(name) => format!("{} <{}>", phrase(name), self.email),
        }
    }

    /// How a mail client quotes the author in a forward header: `Name <email>`, unencoded.
    pub fn human(&self) -> String {
        match &self.name {
            None => self.email.clone(),
            Some(name) => format!("{name} <{}>", self.email),
        }
    }
}

/// One message, as its author's client wrote it plus the trace headers of its delivery.
#[derive(Clone, Debug)]
pub struct Mail {
    /// With angle brackets.
    pub message_id: String,
    pub date: DateTime<Utc>,
    pub from: Addr,
    pub to: Vec<Addr>,
    pub cc: Vec<Addr>,
    pub subject: String,
    /// Write the subject bytes as they are, escape sequences included. Only the hostile
    /// message does this: it is the point of that message that nothing cleaned it up.
    pub raw_subject: bool,
    pub in_reply_to: Option<String>,
    /// Oldest first, as RFC 5322 orders them.
    pub references: Vec<String>,
    pub return_path: String,
    /// `Received:` values, the newest (topmost) first; `\n` marks where servers fold them.
    pub received: Vec<String>,
    /// Further headers (Reply-To, X-Mailer, List-Unsubscribe, ...), in order.
    pub extra: Vec<(String, String)>,
    pub body: String,
    /// A file attached after the text (the campaign's lure), base64-encoded when rendered.
    pub attachment: Option<Attachment>,
}

/// One attached file.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Soft limit of RFC 5322 section 2.1.1; folding keeps generated headers readable.
const LINE: usize = 78;

impl Mail {
    /// The full message text with CRLF line endings.
    pub fn render(&self) -> Vec<u8> {
        let mut h = String::new();
        header(
            &mut h,
            "Return-Path",
            &[format!("<{}>", self.return_path)],
            "",
        );
        for r in &self.received {
            let parts: Vec<String> = r.split('\n').map(str::to_string).collect();
            header(&mut h, "Received", &parts, "");
        }
        header(&mut h, "Date", &[self.date.to_rfc2822()], "");
        header(&mut h, "From", &[self.from.render()], "");
        if !self.to.is_empty() {
            let to: Vec<String> = self.to.iter().map(Addr::render).collect();
            header(&mut h, "To", &to, ",");
        }
        if !self.cc.is_empty() {
            let cc: Vec<String> = self.cc.iter().map(Addr::render).collect();
            header(&mut h, "Cc", &cc, ",");
        }
        if self.raw_subject {
            h.push_str("Subject: ");
            h.push_str(&self.subject);
            h.push_str("\r\n");
        } else {
            header(&mut h, "Subject", &unstructured(&self.subject), "");
        }
        header(
            &mut h,
            "Message-ID",
            std::slice::from_ref(&self.message_id),
            "",
        );
        if let Some(parent) = &self.in_reply_to {
            header(&mut h, "In-Reply-To", std::slice::from_ref(parent), "");
        }
        if !self.references.is_empty() {
            header(&mut h, "References", &self.references, "");
        }
        for (name, value) in &self.extra {
            let words: Vec<String> = value.split(' ').map(str::to_string).collect();
            header(&mut h, name, &words, "");
        }
        header(&mut h, "MIME-Version", &["1.0".to_string()], "");
        // The boundary derives from the Message-ID: the same mail renders the same bytes.
        let boundary = format!(
            "=_part_{}",
            base64(self.message_id.as_bytes()).replace(['+', '/', '='], "")
        );
        if self.attachment.is_some() {
            let content_type = format!("multipart/mixed; boundary=\"{boundary}\"");
            header(&mut h, "Content-Type", &[content_type], "");
            h.push_str("\r\n");
            h.push_str(&format!("--{boundary}\r\n"));
        }
        let content_type = "text/plain; charset=utf-8".to_string();
        header(&mut h, "Content-Type", &[content_type], "");
        header(
            &mut h,
            "Content-Transfer-Encoding",
            &["8bit".to_string()],
            "",
        );
        h.push_str("\r\n");
        for line in self.body.lines() {
            h.push_str(line);
            h.push_str("\r\n");
        }
        if let Some(a) = &self.attachment {
            h.push_str(&format!("\r\n--{boundary}\r\n"));
            let name = format!("name=\"{}\"", a.name);
            header(
                &mut h,
                "Content-Type",
                &[format!("{};", a.content_type), name],
                "",
            );
            let file = format!("filename=\"{}\"", a.name);
            header(
                &mut h,
                "Content-Disposition",
                &["attachment;".to_string(), file],
                "",
            );
            header(
                &mut h,
                "Content-Transfer-Encoding",
                &["base64".to_string()],
                "",
            );
            h.push_str("\r\n");
            let encoded = base64(&a.bytes);
            for line in encoded.as_bytes().chunks(76) {
                h.push_str(&String::from_utf8_lossy(line));
                h.push_str("\r\n");
            }
            h.push_str(&format!("--{boundary}--\r\n"));
        }
        h.into_bytes()
    }
}

/// Append `Name: tok1<sep> tok2...`, folding before a token that would overrun the line. The
/// fold is CRLF + one space, which unfolding turns back into the single space written anyway.
fn header(out: &mut String, name: &str, tokens: &[String], sep: &str) {
    let mut line_len = name.len() + 1;
    out.push_str(name);
    out.push(':');
    for (i, tok) in tokens.iter().enumerate() {
        let piece = if i + 1 < tokens.len() {
            format!("{tok}{sep}")
        } else {
            tok.clone()
        };
        if i > 0 && line_len + 1 + piece.len() > LINE {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(&piece);
        line_len += 1 + piece.len();
    }
    out.push_str("\r\n");
}

/// An unstructured value (Subject) as foldable tokens: words when it is plain ASCII, else
/// RFC 2047 encoded words, which decoders join without the folding whitespace between them.
fn unstructured(text: &str) -> Vec<String> {
    if needs_encoding(text) {
        encoded_words(text)
    } else {
        text.split(' ').map(str::to_string).collect()
    }
}

fn needs_encoding(text: &str) -> bool {
    !text.is_ascii() || text.contains("=?") || text.chars().any(|c| c.is_ascii_control())
}

/// A display name: as is when it is plain atoms, quoted when it has specials (`O'Brien` is
/// fine, `Smith, J.` is not), RFC 2047 encoded when it is not ASCII.
fn phrase(name: &str) -> String {
    if needs_encoding(name) {
        return encoded_words(name).join(" ");
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
    if name.chars().all(atext) {
        name.to_string()
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// `=?UTF-8?B?...?=` words of at most 45 input bytes each (60 characters of base64, inside the
/// 75 that RFC 2047 allows), split only between characters so each word decodes on its own.
pub fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words
}

/// Standard base64 with padding; the crate has no base64 dependency and needs only this.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn rendered_mail_round_trips_through_a_parser() {
        let subject =
            "Kundentermin in München – Rückmeldung bis Freitag, 東京オフィスのネットワーク移行 🎉";
        let date = Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).single();
        let mail = Mail {
            message_id: "<abc.123@demo.test>".into(),
            date: date.unwrap_or_default(),
            from: Addr::new("Jürgen Weiß", "juergen.weiss@demo.test"),
            to: (0..12)
                .map(|i| Addr::new("Smith, J.", &format!("user{i}@demo.test")))
                .collect(),
            cc: vec![Addr::new("Liam O'Brien", "liam.obrien@demo.test")],
            subject: subject.into(),
            raw_subject: false,
            in_reply_to: Some("<p@demo.test>".into()),
            references: vec!["<r@x.example>".into(), "<p@demo.test>".into()],
            return_path: "juergen.weiss@demo.test".into(),
            received: vec!["from a\nby b; Fri, 20 Nov 2026 09:30:01 +0000".into()],
            extra: vec![],
            body: "Hallo,\n\nGrüße\n".into(),
            attachment: None,
        };
        let bytes = mail.render();
        let text = String::from_utf8_lossy(&bytes);
        for line in text.split("\r\n") {
            assert!(!line.contains('\n'), "bare LF in {line:?}");
            assert!(line.len() <= 998);
        }
        let Some(parsed) = mail_parser::MessageParser::default().parse(&bytes[..]) else {
            panic!("unparseable:\n{text}");
        };
        assert_eq!(parsed.subject(), Some(subject));
        assert_eq!(parsed.message_id(), Some("abc.123@demo.test"));
        assert_eq!(parsed.to().map(|a| a.iter().count()), Some(12));
        let to_name = parsed.to().and_then(|a| a.first()).and_then(|a| a.name());
        assert_eq!(to_name, Some("Smith, J."));
        let from = parsed.from().and_then(|a| a.first());
        assert_eq!(from.and_then(|a| a.name()), Some("Jürgen Weiß"));
        let refs = parsed.references().as_text_list().map(|l| l.len());
        assert_eq!(refs, Some(2));
        assert_eq!(parsed.in_reply_to().as_text(), Some("p@demo.test"));
        let body = parsed
            .body_text(0)
            .map(|b| b.into_owned())
            .unwrap_or_default();
        assert!(body.contains("Grüße"), "{body:?}");
    }
}
