//! Reading Graph's message resources: where a copy is, who sent it, what it answers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::backends::{BackendError, ErrorKind};
use crate::model::Location;

/// The typed handle of a Graph copy: the message's immutable id and, where known, the id of
/// its folder (what restore moves it back to). Parsed from and written to a `Location` here
/// only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GraphCopy {
    pub id: String,
    pub folder_id: Option<String>,
}

impl GraphCopy {
    /// The handle of a stored copy. Graph ids are URL-safe base64; anything else (another
    /// backend's handle, a damaged row) is an error naming it. The folder id comes from its
    /// own field, or from `flags` as `folder=<id>` in placements stored before that field.
    pub(super) fn of(copy: &Location) -> Result<GraphCopy, BackendError> {
        let id = &copy.provider_id;
        if !is_graph_id(id) {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!("'{id}' is not a Graph message id"),
            ));
        }
        let folder_id = match &copy.folder_id {
            Some(folder) => Some(folder.as_str()),
            None => copy
                .flags
                .split_whitespace()
                .find_map(|f| f.strip_prefix("folder=")),
        };
        let folder_id = match folder_id.filter(|f| !f.is_empty()) {
            Some(folder) if is_graph_id(folder) => Some(folder.to_string()),
            Some(folder) => {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!("'{folder}' is not a Graph folder id (copy '{id}')"),
                ));
            }
            None => None,
        };
        Ok(GraphCopy {
            id: id.clone(),
            folder_id,
        })
    }
}

fn is_graph_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'+' | b'/'))
}

/// A `Location` from a message resource whose folder is already named.
pub(super) fn location_in(m: &Value, folder: String) -> Location {
    let parent = m["parentFolderId"].as_str().unwrap_or_default();
    Location {
        folder,
        provider_id: m["id"].as_str().unwrap_or_default().to_string(),
        seen: m["isRead"].as_bool().unwrap_or(false),
        flags: String::new(),
        internal_date: m["receivedDateTime"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc)),
        folder_id: (!parent.is_empty()).then(|| parent.to_string()),
        labels: Vec::new(),
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn copy_handles_round_trip_through_the_stored_location() {
        let m = json!({"id": "AAMkAD-x_y=", "parentFolderId": "AQMkF0-1", "isRead": true});
        let stored = location_in(&m, "inbox".into());
        assert_eq!(stored.folder_id.as_deref(), Some("AQMkF0-1"));
        assert!(
            stored.flags.is_empty(),
            "flags carry flags only: {}",
            stored.flags
        );
        let handle = GraphCopy::of(&stored).unwrap();
        assert_eq!(
            handle,
            GraphCopy {
                id: "AAMkAD-x_y=".into(),
                folder_id: Some("AQMkF0-1".into())
            }
        );
        // Through the store's JSON and back, unchanged.
        let json = serde_json::to_string(&stored).unwrap();
        let back: Location = serde_json::from_str(&json).unwrap();
        assert_eq!(GraphCopy::of(&back).unwrap(), handle);
    }

    #[test]
    fn placements_stored_before_the_folder_id_field_still_decode() {
        // A row written when the folder id hid in `flags`.
        let old = r#"{"folder":"inbox","provider_id":"AAMkAD1","seen":false,"flags":"folder=AQMkIn","internal_date":null}"#;
        let stored: Location = serde_json::from_str(old).unwrap();
        assert_eq!(stored.folder_id, None);
        assert!(stored.labels.is_empty());
        assert_eq!(
            GraphCopy::of(&stored).unwrap().folder_id.as_deref(),
            Some("AQMkIn")
        );
        // Written again, it carries no empty new fields.
        let again = serde_json::to_string(&stored).unwrap();
        assert!(
            !again.contains("folder_id") && !again.contains("labels"),
            "{again}"
        );
    }

    #[test]
    fn a_stored_handle_that_is_not_ours_is_an_error_naming_it() {
        let base = location_in(
            &json!({"id": "AAMk1", "parentFolderId": "F1"}),
            "inbox".into(),
        );
        for (id, folder_id) in [
            ("cur/1.M1.h:2,S", None),
            ("7:42", None),
            ("", None),
            ("AAMk\u{1b}[2J", None),
            ("AAMk1", Some("../../me")),
        ] {
            let stored = Location {
                provider_id: id.into(),
                folder_id: folder_id.map(str::to_string),
                ..base.clone()
            };
            let e = GraphCopy::of(&stored).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid, "{id}");
            let named = folder_id.unwrap_or(id);
            assert!(
                e.detail
                    .contains(&format!("'{}", &named[..named.len().min(4)])),
                "{}",
                e.detail
            );
        }
    }
}
