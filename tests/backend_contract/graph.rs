//! The Microsoft 365 backend on the Graph test server (`tests/graph_server`). One server
//! serves every scenario; each scenario has users of its own (`alice-<tag>@m365.test`).
//! Graph keeps read state per copy (`\Seen` here) and no other flag the server models; the
//! date is `receivedDateTime`. Quarantine is a hidden folder in the recipient's own mailbox.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use super::fixture::{Copy, Fixture, Seed, Tenant, secret_file, toml_list, write_config};
use crate::graph_server::{self, GraphServer, NewMessage, Settings, UserKind};

pub struct GraphFixture {
    server: GraphServer,
}

impl GraphFixture {
    pub fn start() -> GraphFixture {
        GraphFixture {
            // Pages of two users: every listing of the directory (depth, sweep) pages.
            server: GraphServer::start(Settings {
                users_page: 2,
                ..Settings::default()
            }),
        }
    }

    /// What the server saw that breaks Exchange Online's limits (must stay empty).
    pub fn violations(&self) -> Vec<String> {
        self.server.violations()
    }
}

impl Fixture for GraphFixture {
    fn name(&self) -> &'static str {
        "graph"
    }

    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_> {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = GraphTenant {
            server: &self.server,
            dir,
            tag: tag.to_string(),
            folders: Mutex::new(HashSet::new()),
        };
        // No `mailboxes` key: a Graph tenant lists its directory, which on the shared
        // server holds every scenario's users.
        for user in users {
            self.server.add_user(&t.addr(user), UserKind::Member);
        }
        let held: Vec<String> = held.iter().map(|u| t.addr(u)).collect();
        let secret = secret_file(t.dir.path(), "graph-secret", graph_server::CLIENT_SECRET);
        let keys = format!(
            "kind = \"graph\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_file = \"{}\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\n\
             retry_backoff_ms = 20\ndomains = [\"m365.test\"]\nholds = {}\n",
            graph_server::TENANT,
            graph_server::CLIENT_ID,
            secret.display(),
            toml_list(&held),
            url = self.server.url
        );
        write_config(t.dir.path(), engine, &keys);
        Box::new(t)
    }
}

struct GraphTenant<'a> {
    server: &'a GraphServer,
    dir: tempfile::TempDir,
    tag: String,
    /// Personal folders already added, as `address/name`.
    folders: Mutex<HashSet<String>>,
}

impl Tenant for GraphTenant<'_> {
    fn addr(&self, user: &str) -> String {
        format!("{user}-{}@m365.test", self.tag)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn seed(&self, address: &str, seed: &Seed) {
        // The suite's skip table excuses Graph from \Flagged; a seed asking for it is a bug
        // in the suite, not a flag to drop quietly.
        assert!(
            !seed.flagged,
            "the Graph test server models no followup flag"
        );
        let folder = if seed.folder == "INBOX" {
            "inbox".to_string()
        } else {
            let key = format!("{address}/{}", seed.folder);
            let mut added = self.folders.lock().unwrap_or_else(|e| e.into_inner());
            if added.insert(key) {
                self.server.add_folder(address, seed.folder);
            }
            seed.folder.to_string()
        };
        let message = NewMessage {
            internet_message_id: seed.message_id.to_string(),
            from: "mallory@evil.test".into(),
            to: vec![address.to_string()],
            subject: "Invoice".into(),
            in_reply_to: seed.in_reply_to.map(str::to_string),
            references: seed.references.iter().map(|r| r.to_string()).collect(),
            is_read: seed.seen,
        };
        self.server.deliver(address, &folder, message);
    }

    fn seed_raw(&self, address: &str, raw: &str) {
        self.server.deliver_mime(address, "inbox", raw.as_bytes());
    }

    fn read(&self, address: &str) -> Vec<Copy> {
        let mut out: Vec<Copy> = self
            .server
            .dated_copies(address)
            .into_iter()
            .map(|(folder, message_id, read, received)| Copy {
                message_id,
                folder,
                flags: if read {
                    vec!["\\Seen".to_string()]
                } else {
                    Vec::new()
                },
                date: received,
            })
            .collect();
        out.sort();
        out
    }

    fn holder(&self, _action: &str, address: &str) -> String {
        address.to_string()
    }

    fn is_destination(&self, action: &str, _address: &str, folder: &str) -> bool {
        match action {
            "move-to-junk" => folder == "junkemail",
            "trash" => folder == "deleteditems",
            "soft-delete" => folder == "recoverableitemsdeletions",
            "quarantine" => folder == "Retractor Quarantine",
            _ => false,
        }
    }
}
