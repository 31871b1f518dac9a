//! The header block of a logged message, read from the copy [`Engine::evidence_copy`] finds:
//! the recipient's while it is delivered, else the quarantine's, else the evidence store's, so
//! the headers stay readable after a pull, when the analyst needs them most.

use super::{CopySource, Engine, EngineError};
use crate::backends::common::headers;
use crate::store::MessageDetail;

impl Engine {
    /// The header block of the first copy any backend (or the evidence store) can read, and
    /// which copy that was; the error says why none could be read (the log has no headers).
    pub async fn message_headers(
        &self,
        detail: &MessageDetail,
    ) -> Result<(Vec<(String, String)>, CopySource), EngineError> {
        let copy = self.evidence_copy(detail).await?;
        Ok((headers::raw_fields(&copy.raw), copy.source))
    }
}
