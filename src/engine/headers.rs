//! The header block of a logged message, read from a copy in a recipient's mailbox.

use super::Engine;
use crate::backends::MailboxRef;
use crate::store::MessageDetail;

impl Engine {
    /// The header block of the first copy found in a recipient's mailbox (the log has no headers).
    pub async fn message_headers(&self, detail: &MessageDetail) -> Vec<(String, String)> {
        let message = &detail.message;
        let Ok(backend) = self.backend(&message.tenant) else {
            return Vec::new();
        };
        for d in detail.deliveries.iter().filter(|d| !d.external).take(5) {
            let mailbox = MailboxRef {
                address: d.mailbox.clone(),
                on_hold: d.on_hold,
            };
            let Ok(copies) = backend.locate(&mailbox, &message.message_id).await else {
                continue;
            };
            let Some(copy) = copies.first() else { continue };
            if let Ok(raw) = backend.fetch_raw(&mailbox, copy).await {
                return parse_headers(&raw);
            }
        }
        Vec::new()
    }
}

fn parse_headers(raw: &[u8]) -> Vec<(String, String)> {
    let Some(parsed) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    parsed
        .headers()
        .iter()
        .map(|h| {
            let value = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(|v| {
                    String::from_utf8_lossy(v)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            (h.name().to_string(), value)
        })
        .collect()
}
