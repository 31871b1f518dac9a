//! retractor: post-delivery email remediation for SOC analysts.
//!
//! The crate is laid out by responsibility (see `../shared/DESIGN.md`):
//! - [`model`]: domain types shared by every layer, no I/O;
//! - [`query`]: the search query language (parser only);
//! - [`config`]: TOML loading, XDG paths, secrets;
//! - [`store`]: every SQL statement (SQLite, the bus between processes);
//! - [`ingest`]: outside message logs into the store;
//! - [`backends`]: one module per mail system behind one trait;
//! - [`engine`]: the only code that changes a mailbox: plan, claim, act, record;
//! - [`forensics`]: evidence from a copy's raw bytes (headers, route, verdicts, URLs, attachments);
//! - [`service`]: `retractor serve`, the engine behind a Unix socket with peer identity;
//! - [`trust`]: the service key and the audit witness (what makes the service checkable);
//! - [`demo`]: the built-in demo tenant;
//! - [`cli`]: the headless command line;
//! - [`api`]: what every client asks, served embedded or by `retractor serve`;
//! - [`app`], [`ui`], [`console`]: the full-screen console (pure state/update, pure drawing,
//!   and the runtime that alone owns the terminal).

pub mod alerts;
pub mod api;
pub mod app;
pub mod backends;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod engine;
pub mod forensics;
pub mod ingest;
pub mod model;
pub mod policy;
pub mod query;
pub mod service;
pub mod store;
pub mod submissions;
pub mod trust;
pub mod ui;
