//! A real PostgreSQL for the integration tests: the library's own test harness
//! (src/store/postgres/testdb.rs), included by path so both run one and the same code.
#![allow(dead_code)]

#[path = "../../src/store/postgres/testdb.rs"]
mod testdb;

#[allow(unused_imports)]
pub use testdb::{TestDatabase, TestServer, fresh_database, make_certificates, server};
