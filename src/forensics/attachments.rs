//! Attachments: name, declared and detected type, size, SHA-256; attached messages and zip
//! archives listed member by member. Nothing is opened or rendered: a zip is read from its
//! central directory and each member decompressed into memory only to be hashed, under
//! [`Caps`] that a zip bomb cannot get past (a member's real output is counted, never its
//! declared size).

use std::io::{Cursor, Read};

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Deepest nesting of attached messages and archives that is listed.
pub const MAX_NESTING: usize = 4;

/// Limits on what archive listing reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Archives inside archives (and messages) listed to this depth.
    pub depth: usize,
    /// A member whose decompressed bytes pass this is listed but not hashed.
    pub member_bytes: u64,
    /// All members of one message together decompress at most this much.
    pub total_bytes: u64,
    /// Members listed per archive.
    pub members: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            depth: MAX_NESTING,
            member_bytes: 32 << 20,
            total_bytes: 128 << 20,
            members: 1_000,
        }
    }
}

/// One attachment, attached message or archive member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The filename the sender gave (`""` without one); a path inside an archive.
    pub name: String,
    /// What the sender says it is (Content-Type; `""` inside archives, which declare none).
    pub declared_type: String,
    /// What its first bytes say it is.
    pub detected_type: String,
    pub size: u64,
    /// Hex; `None` when it was not read (encrypted, or over a cap: `note` says which).
    pub sha256: Option<String>,
    /// Members of an archive, attachments of an attached message.
    pub nested: Vec<Attachment>,
    /// Why something was not listed or hashed, `""` otherwise.
    pub note: String,
}

/// Bytes already decompressed for one message, against [`Caps::total_bytes`].
struct Budget<'c> {
    caps: &'c Caps,
    used: u64,
}

/// The attachments of a message, nested ones included.
pub fn in_message(message: &Message<'_>, caps: &Caps) -> Vec<Attachment> {
    let mut budget = Budget { caps, used: 0 };
    of_message(message, 0, &mut budget)
}

fn of_message(message: &Message<'_>, depth: usize, budget: &mut Budget<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .map(|part| of_part(part, depth, budget))
        .collect()
}

fn of_part(part: &MessagePart<'_>, depth: usize, budget: &mut Budget<'_>) -> Attachment {
    let bytes = part.contents();
    let declared_type = part
        .content_type()
        .map(|ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub),
            None => ct.c_type.to_string(),
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut attachment = Attachment {
        name: part.attachment_name().unwrap_or_default().to_string(),
        declared_type,
        detected_type: detect(bytes).to_string(),
        size: bytes.len() as u64,
        sha256: Some(sha256(bytes)),
        ..Attachment::default()
    };
    if let PartType::Message(nested) = &part.body {
        attachment.detected_type = "message/rfc822".into();
        if attachment.name.is_empty() {
            attachment.name = nested.subject().unwrap_or_default().to_string();
        }
        if depth < budget.caps.depth {
            attachment.nested = of_message(nested, depth + 1, budget);
        } else {
            attachment.note = "nested too deep: not listed".into();
        }
    } else if is_zip(bytes) {
        list_zip(&mut attachment, bytes, depth, budget);
    }
    attachment
}

/// Fill `archive.nested` with the members of the zip in `bytes`.
fn list_zip(archive: &mut Attachment, bytes: &[u8], depth: usize, budget: &mut Budget<'_>) {
    if depth >= budget.caps.depth {
        archive.note = "archive nested too deep: not listed".into();
        return;
    }
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(zip) => zip,
        Err(e) => {
            archive.note = format!("not a readable zip: {e}");
            return;
        }
    };
    if zip.len() > budget.caps.members {
        archive.note = format!(
            "{} members: the first {} listed",
            zip.len(),
            budget.caps.members
        );
    }
    for index in 0..zip.len().min(budget.caps.members) {
        let (name, declared_size, encrypted, is_dir) = match zip.by_index_raw(index) {
            Ok(f) => (
                f.name().map(|n| n.to_string()).unwrap_or_default(),
                f.size(),
                f.encrypted(),
                f.is_dir(),
            ),
            Err(e) => {
                archive.nested.push(Attachment {
                    note: format!("member {index} unreadable: {e}"),
                    ..Attachment::default()
                });
                continue;
            }
        };
        if is_dir {
            continue;
        }
        let mut member = Attachment {
            name,
            size: declared_size,
            ..Attachment::default()
        };
        if encrypted {
            member.note = "encrypted: not read".into();
            archive.nested.push(member);
            continue;
        }
        let left = budget.caps.total_bytes.saturating_sub(budget.used);
        let limit = budget.caps.member_bytes.min(left);
        let mut content = Vec::new();
        let read = zip
            .by_index(index)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                f.take(limit + 1)
                    .read_to_end(&mut content)
                    .map_err(|e| e.to_string())
            });
        budget.used += content.len().min(limit as usize) as u64;
        match read {
            Err(e) => member.note = format!("not decompressed: {e}"),
            Ok(n) if n as u64 > limit => {
                member.note = if limit < budget.caps.member_bytes {
                    "not hashed: the message's archives passed the total size cap".into()
                } else {
                    format!(
                        "not hashed: more than {} bytes decompressed",
                        budget.caps.member_bytes
                    )
                };
                member.detected_type = detect(&content).to_string();
            }
            Ok(_) => {
                member.size = content.len() as u64;
                member.detected_type = detect(&content).to_string();
                member.sha256 = Some(sha256(&content));
                if is_zip(&content) {
                    list_zip(&mut member, &content, depth + 1, budget);
                }
            }
        }
        archive.nested.push(member);
    }
    if archive
        .nested
        .iter()
        .any(|m| m.name == "[Content_Types].xml")
    {
        archive.detected_type = "application/vnd.openxmlformats (zip)".into();
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The type the first bytes show (magic numbers), whatever the sender declared.
pub fn detect(bytes: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"PK\x05\x06", "application/zip"),
        (b"MZ", "application/x-msdownload"),
        (b"\x7fELF", "application/x-elf"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "application/x-ole-storage",
        ),
        (b"Rar!\x1a\x07", "application/vnd.rar"),
        (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"\x1f\x8b", "application/gzip"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"{\\rtf", "application/rtf"),
        (
            b"L\x00\x00\x00\x01\x14\x02\x00",
            "application/x-ms-shortcut",
        ),
    ];
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return kind;
    }
    if bytes.len() > 0x8005 && &bytes[0x8001..0x8006] == b"CD001" {
        return "application/x-iso9660-image";
    }
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = text.trim_start();
    if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
        return "text/html";
    }
    if trimmed.starts_with("<svg") || (trimmed.starts_with("<?xml") && text.contains("<svg")) {
        return "image/svg+xml";
    }
    if bytes.is_empty() {
        return "application/x-empty";
    }
    if std::str::from_utf8(head).is_ok()
        && !head
            .iter()
            .any(|b| *b < 0x09 || (*b > 0x0d && *b < 0x20 && *b != 0x1b))
    {
        return "text/plain";
    }
    "application/octet-stream"
}
