//! What more than one backend needs, so that each backend stays independent of the others.

pub mod folder_names;
pub mod headers;
pub mod scan_match;
pub mod sender;
