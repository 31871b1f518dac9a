//! What more than one backend needs, so that each backend stays independent of the others.

pub mod backoff;
pub mod folder_names;
pub mod http;
pub mod oauth;
pub mod sender;
pub mod throttle;
