//! Evidence from the raw bytes of one copy of a message: every header, the routing path, the
//! authentication verdicts, the URLs and the attachments with their hashes. Pure: no I/O, no
//! clock; the caller brings the bytes (from whichever copy a backend could read).
//!
//! Everything here is attacker-written. It is parsed, hashed and listed, never opened,
//! rendered or followed: archives are read from their central directory and members are
//! hashed in memory under caps ([`attachments::Caps`]). Text fields keep what the message
//! says; whoever displays them passes them through [`crate::model::text::sanitize`] (the CLI
//! and the console do), and URLs are shown defanged ([`urls::defang`]).

pub mod attachments;
pub mod auth;
pub mod indicators;
pub mod ioc;
pub mod route;
pub mod urls;

use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};

pub use attachments::{Attachment, Caps};
pub use auth::AuthVerdicts;
pub use indicators::Indicators;
pub use route::Hop;
pub use urls::{FoundUrl, defang};

/// One header field as the message carries it (value unfolded, undecoded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderLine {
    pub name: String,
    pub value: String,
}

/// What one copy of a message shows, field by field (the CONTRACT's `evidence` object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// In `<...>` form; `""` when the message has none.
    pub message_id: String,
    /// The first From address, lower-case (`""` when there is none).
    pub from: String,
    pub subject: String,
    pub headers: Vec<HeaderLine>,
    /// Origin first, our own last hop last.
    pub route: Vec<Hop>,
    pub auth: AuthVerdicts,
    pub urls: Vec<FoundUrl>,
    pub attachments: Vec<Attachment>,
    /// SHA-256 (hex) and size of the raw bytes the evidence was read from.
    pub sha256: String,
    pub size: u64,
}

/// The evidence of one raw message, under the default caps.
pub fn extract(raw: &[u8]) -> Evidence {
    extract_with(raw, &Caps::default())
}

/// The evidence of one raw message, under `caps` (archive depth, member and total sizes).
pub fn extract_with(raw: &[u8], caps: &Caps) -> Evidence {
    use sha2::{Digest, Sha256};
    let headers = crate::backends::common::headers::raw_fields(raw)
        .into_iter()
        .map(|(name, value)| HeaderLine { name, value })
        .collect::<Vec<_>>();
    let mut evidence = Evidence {
        route: route::path(&headers),
        auth: auth::verdicts(&headers),
        sha256: hex::encode(Sha256::digest(raw)),
        size: raw.len() as u64,
        headers,
        ..Evidence::default()
    };
    let Some(message) = MessageParser::default().parse(raw) else {
        return evidence;
    };
    evidence.message_id = message
        .message_id()
        .map(crate::model::normalize_message_id)
        .unwrap_or_default();
    evidence.from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_lowercase)
        .unwrap_or_default();
    evidence.subject = message.subject().unwrap_or_default().to_string();
    evidence.urls = urls::in_message(&message);
    evidence.attachments = attachments::in_message(&message, caps);
    evidence
}

#[cfg(test)]
mod tests;
