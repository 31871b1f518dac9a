//! Where a Microsoft 365 copy stands, asked of a fresh backend (nothing cached) against the
//! Graph test server: decided by folder ids, so a folder the mailbox owner names like a
//! well-known one is not taken for it; and placements stored before `Location.folder_id`
//! (the id in `flags` as `folder=<id>`) still restore.

mod common;
mod graph_server;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use graph_server::{CLIENT_SECRET, GraphServer, NewMessage, Settings, UserKind};
use retractor::backends::{Backend, Destination, MailboxRef, Standing};
use retractor::config::Config;
use retractor::model::{Action, Location};

const ID: &str = "<place@bad.example>";
const ALICE: &str = "alice@m365.test";

fn backend(server: &GraphServer, dir: &Path) -> Arc<dyn Backend> {
    let secret = dir.join("secret");
    fs::write(&secret, CLIENT_SECRET).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"secret\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\nretry_backoff_ms = 20\ndomains = [\"m365.test\"]\n",
        graph_server::TENANT,
        graph_server::CLIENT_ID,
        url = server.url
    );
    let config = Config::parse(&text, &dir.join("config.toml")).unwrap();
    retractor::backends::for_tenant(&config.tenants["m365"]).unwrap()
}

fn alice() -> MailboxRef {
    MailboxRef {
        address: ALICE.into(),
        on_hold: false,
    }
}

fn message() -> NewMessage {
    NewMessage {
        internet_message_id: ID.into(),
        from: "hr@bad.example".into(),
        to: vec![ALICE.into()],
        subject: "Payroll".into(),
        ..NewMessage::default()
    }
}

/// Alice's copies: inbox, Junk Email, Deletions, and a folder she named `junkemail`.
fn world() -> (GraphServer, tempfile::TempDir, Vec<Location>, String) {
    let server = GraphServer::start(Settings::default());
    server.add_user(ALICE, UserKind::Member);
    let hostile = server.add_folder(ALICE, "junkemail");
    for folder in [
        "inbox",
        "junkemail",
        "recoverableitemsdeletions",
        hostile.as_str(),
    ] {
        server.deliver(ALICE, folder, message());
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let copies = rt
        .block_on(backend(&server, dir.path()).locate(&alice(), ID))
        .unwrap();
    assert_eq!(copies.len(), 4, "{copies:?}");
    (server, dir, copies, hostile)
}

#[test]
fn a_fresh_backend_says_where_each_copy_stands_by_folder_id() {
    let (server, dir, copies, hostile) = world();
    let named_junk: Vec<&Location> = copies.iter().filter(|c| c.folder == "junkemail").collect();
    assert_eq!(
        named_junk.len(),
        2,
        "both folders are named junkemail: {copies:?}"
    );
    let (hostile_copy, junk_copy) = match named_junk.as_slice() {
        [a, b] if a.folder_id.as_deref() == Some(hostile.as_str()) => (*a, *b),
        [a, b] => (*b, *a),
        _ => unreachable!(),
    };
    assert_eq!(hostile_copy.folder_id.as_deref(), Some(hostile.as_str()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let inbox = copies.iter().find(|c| c.folder == "inbox").unwrap();
    let deleted = copies
        .iter()
        .find(|c| c.folder == "recoverableitemsdeletions")
        .unwrap();
    use Standing::*;
    for (copy, action, expected) in [
        (junk_copy, Action::MoveToJunk, AtDestination),
        // Alice's own folder named like Junk Email is not it: the copy there is pulled.
        (hostile_copy, Action::MoveToJunk, InView),
        (inbox, Action::MoveToJunk, InView),
        (inbox, Action::SoftDelete, InView),
        (junk_copy, Action::Trash, InView),
        (hostile_copy, Action::Trash, InView),
        (deleted, Action::MoveToJunk, OutOfView),
        (deleted, Action::SoftDelete, AtDestination),
        (deleted, Action::HardDelete, InView),
        (hostile_copy, Action::SoftDelete, InView),
    ] {
        // Every question to a backend that has learnt nothing yet.
        let fresh = backend(&server, dir.path());
        let got = rt.block_on(fresh.standing(&alice(), copy, action)).unwrap();
        assert_eq!(got, expected, "{} {action}", copy.folder);
    }
    let fresh = backend(&server, dir.path());
    assert_eq!(
        rt.block_on(fresh.destination(&alice(), Action::MoveToJunk))
            .unwrap(),
        Destination::Folder("junkemail".into())
    );
    assert_eq!(
        rt.block_on(fresh.destination(&alice(), Action::HardDelete))
            .unwrap(),
        Destination::Gone
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn a_placement_stored_with_the_folder_id_in_flags_still_restores() {
    let (server, dir, copies, _) = world();
    let inbox = copies.iter().find(|c| c.folder == "inbox").unwrap().clone();
    let inbox_id = inbox
        .folder_id
        .clone()
        .expect("located copies carry their folder id");
    assert!(inbox.flags.is_empty(), "{}", inbox.flags);
    // The placement as rows written before `folder_id` hold it.
    let stored = format!(
        r#"{{"folder":"inbox","provider_id":"{}","seen":false,"flags":"folder={inbox_id}","internal_date":null}}"#,
        inbox.provider_id
    );
    let original: Location = serde_json::from_str(&stored).unwrap();
    assert_eq!(original.folder_id, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = backend(&server, dir.path());
    let applied = rt
        .block_on(b.apply(&alice(), &inbox, Action::MoveToJunk))
        .unwrap();
    let now = applied.to.unwrap();
    let fresh = backend(&server, dir.path());
    let back = rt
        .block_on(fresh.put_back(&alice(), ALICE, &now, &original))
        .unwrap();
    assert_eq!(back.folder, "inbox");
    assert_eq!(back.folder_id.as_deref(), Some(inbox_id.as_str()));
    let in_inbox = server
        .copies(ALICE)
        .into_iter()
        .filter(|(folder, ..)| folder == "inbox")
        .count();
    assert_eq!(in_inbox, 1);
    assert_eq!(server.violations(), Vec::<String>::new());
}
