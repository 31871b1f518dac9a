//! The header block of a logged message, read from a copy in a recipient's mailbox.

use super::Engine;
use crate::backends::MailboxRef;
use crate::backends::common::headers;
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
                return headers::raw_fields(&raw);
            }
        }
        Vec::new()
    }
}
