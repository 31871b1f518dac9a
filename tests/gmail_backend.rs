//! The Google Workspace backend against the Gmail test server (`tests/gmail_server`), through
//! the real binary. No real Workspace tenant is reached.

mod common;
mod gmail_server;

use gmail_server::{GmailServer, Settings, UserState};

#[test]
fn compiles() {
    let s = GmailServer::start(Settings::default());
    s.add_user("a@gws.test", UserState::Active);
}
