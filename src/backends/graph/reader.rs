//! Reads of tenant-wide Graph resources (the Defender poller's `/security/alerts_v2`) with
//! the backend's own client: its token cache, its throttling and retries, its rule that a
//! next page link never leaves the configured endpoint.

use serde_json::Value;

use super::client::{GraphClient, Pages};
use super::token::Credential;
use crate::backends::{BackendError, ErrorKind};
use crate::config::graph::GraphSettings;

/// A Graph client for reads that are not about one mailbox.
pub struct GraphReader {
    client: GraphClient,
}

impl GraphReader {
    /// A reader for one tenant; the secret or certificate is read now.
    pub fn new(settings: GraphSettings) -> Result<GraphReader, String> {
        let credential = Credential::load(&settings)?;
        Ok(GraphReader {
            client: GraphClient::new(settings, credential)?,
        })
    }

    /// Every item of a listing (`value[]` of each page), following `@odata.nextLink` up to
    /// `max_items`. `path` is relative to the version root and already encoded.
    pub async fn list(&self, path: &str, max_items: usize) -> Result<Vec<Value>, BackendError> {
        let mut items = Vec::new();
        let mut pages = Pages::default();
        let mut next = path.to_string();
        loop {
            let page = self.client.call(None, "GET", &next, None).await?.json()?;
            let Some(values) = page["value"].as_array() else {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    "Graph's listing has no value[]",
                ));
            };
            items.extend(values.iter().cloned());
            if items.len() > max_items {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!("Graph's listing is over {max_items} items"),
                ));
            }
            match page["@odata.nextLink"].as_str() {
                Some(link) => next = self.client.next_link_path(link, &mut pages)?,
                None => return Ok(items),
            }
        }
    }
}
pub use super::odata::path_with_query;
