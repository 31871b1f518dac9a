//! What more than one backend needs, so that each backend stays independent of the others.

pub mod backoff;
pub mod filing;
pub mod folder_names;
pub mod headers;
pub mod http;
pub mod oauth;
pub mod scan_match;
pub mod sender;
pub mod throttle;
