//! Reading Graph's message resources: where a copy is, who sent it, what it answers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::Location;

/// A `Location` from a message resource whose folder is already named.
pub(super) fn location_in(m: &Value, folder: String) -> Location {
    let parent = m["parentFolderId"].as_str().unwrap_or_default();
    Location {
        folder,
        provider_id: m["id"].as_str().unwrap_or_default().to_string(),
        seen: m["isRead"].as_bool().unwrap_or(false),
        flags: format!("folder={parent}"),
        internal_date: m["receivedDateTime"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc)),
    }
}

/// The folder id a copy was in, from its `flags`.
pub(super) fn recorded_folder(location: &Location) -> Option<&str> {
    location
        .flags
        .split_whitespace()
        .find_map(|f| f.strip_prefix("folder="))
        .filter(|f| !f.is_empty())
}

/// A recipient or sender's address, lower-case (`""` when Graph gives none).
pub(super) fn address_of(v: &Value) -> String {
    v["emailAddress"]["address"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The In-Reply-To and References values expanded with a message.
pub(super) fn thread_headers(m: &Value) -> (Option<String>, Vec<String>) {
    let mut in_reply_to = None;
    let mut references = Vec::new();
    for p in m["singleValueExtendedProperties"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let value = p["value"].as_str().unwrap_or_default();
        match p["id"].as_str().unwrap_or_default() {
            "String 0x1042" => in_reply_to = Some(value.trim().to_string()),
            "String 0x1039" => {
                references = value.split_whitespace().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    (in_reply_to, references)
}
