//! IMAP backend: any server with an admin login (Dovecot master users, SASL PLAIN with an
//! authorization id on Dovecot, Cyrus, Zimbra). Tested against a real Dovecot and a real Cyrus.
//!
//! The client is a small hand-written one over tokio (`conn.rs`, `proto.rs`) rather than
//! async-imap: remediation needs COPYUID from both the untagged and the tagged response
//! (async-imap's `uid_mv`/`uid_copy` drop it), the RFC 5530 response codes of every refusal
//! (`[AUTHORIZATIONFAILED]` for a missing user, `[OVERQUOTA]`), a count of commands sent, and
//! nothing else of IMAP: about fifteen commands, all in these files.
//!
//! A copy's `provider_id` is `uidvalidity:uid` (typed as `ops::ImapCopy`, parsed and written
//! there only); its folder is the IMAP folder name as LIST returns it. Where an action puts a
//! copy and where one stands is answered in `place.rs`. Sessions are kept per mailbox and
//! reused across items, under the tenant's
//! connection limit (`pool.rs`); an act never holds two sessions at once, so the limit
//! cannot deadlock.

mod check;
mod conn;
mod mark;
mod ops;
mod place;
mod pool;
mod proto;
mod server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::OnceCell;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::backends::common::folder_names::folder_levels;
use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::imap::{ImapSecurity, ImapSettings};
use crate::config::secret::Secret;
use crate::model::{Action, Location};

use conn::Conn;
use ops::Folders;
use pool::{Pool, Session};
use server::Namespace;

/// How long a folder list read by locate is trusted for the act that follows it.
const FOLDER_LIST_FRESH: Duration = Duration::from_secs(30);

/// A mailbox's folders marked `\Junk` and `\Trash`, when it marks them.
#[derive(Clone, Debug, Default)]
struct SpecialUse {
    junk: Option<String>,
    trash: Option<String>,
}

/// The IMAP backend of one tenant.
pub struct ImapBackend {
    settings: ImapSettings,
    quarantine_mailbox: Option<String>,
    quarantine_per_recipient: bool,
    /// Configured mailboxes; `check` logs in to a sample of them.
    mailboxes: Vec<String>,
    pool: Pool,
    password: OnceCell<Secret>,
    tls: OnceLock<Result<TlsConnector, String>>,
    /// Special-use Junk and Trash of each mailbox seen, so `destination` need not list again.
    special: Mutex<HashMap<String, SpecialUse>>,
    /// The hierarchy separator the server uses (from any LIST).
    separator: Mutex<Option<String>>,
    /// The personal namespace (RFC 2342), asked once per tenant: the admin folders and the
    /// fallback Junk and Trash are created under its prefix (`INBOX.` on Cyrus' Debian layout).
    namespace: Mutex<Option<Namespace>>,
    /// The server software and whether it has NAMESPACE, for `check`.
    server: Mutex<Option<(server::Server, bool)>>,
    commands: Arc<AtomicU64>,
}

impl ImapBackend {
    pub fn new(
        settings: ImapSettings,
        quarantine_mailbox: Option<String>,
        quarantine_folder_per_recipient: bool,
        mailboxes: Vec<String>,
    ) -> Self {
        ImapBackend {
            pool: Pool::new(settings.max_connections),
            settings,
            quarantine_mailbox,
            quarantine_per_recipient: quarantine_folder_per_recipient,
            mailboxes,
            password: OnceCell::new(),
            tls: OnceLock::new(),
            special: Mutex::new(HashMap::new()),
            separator: Mutex::new(None),
            namespace: Mutex::new(None),
            server: Mutex::new(None),
            commands: Arc::new(AtomicU64::new(0)),
        }
    }

    /// IMAP commands sent so far by this backend (logins included): the round-trip count
    /// the benchmark reports per item.
    pub fn commands_sent(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// The admin password, read once from its source (never from config text).
    async fn password(&self) -> Result<&Secret, BackendError> {
        self.password
            .get_or_try_init(|| async {
                let source = self.settings.admin_password.clone();
                let resolved = tokio::task::spawn_blocking(move || {
                    source.resolve().map_err(|e| (source.describe(), e))
                })
                .await
                .map_err(|e| BackendError::new(ErrorKind::Internal, e.to_string()))?;
                resolved.map_err(|(_, why)| {
                    BackendError::new(
                        ErrorKind::AuthFailed,
                        format!("admin password unavailable: {why}"),
                    )
                })
            })
            .await
    }

    fn tls(&self) -> Result<Option<&TlsConnector>, BackendError> {
        if self.settings.security == ImapSecurity::None {
            return Ok(None);
        }
        let built = self.tls.get_or_init(|| tls_connector(&self.settings));
        built
            .as_ref()
            .map(Some)
            .map_err(|e| BackendError::new(ErrorKind::Invalid, e.clone()))
    }

    /// A logged-in session for `user`: an idle one, or a new connection.
    async fn session(&self, user: &str) -> Result<Session, BackendError> {
        match self.pool.checkout(user).await? {
            Ok(session) => Ok(session),
            Err(permit) => {
                let password = self.password().await?;
                let conn = Conn::open(
                    &self.settings,
                    self.tls()?,
                    user,
                    password,
                    Arc::clone(&self.commands),
                )
                .await?;
                Ok(permit.session(conn))
            }
        }
    }

    /// Keep a session for reuse unless its connection is in doubt.
    fn release<T>(&self, session: Session, result: &Result<T, BackendError>) {
        if session.conn.broken {
            // Dropped here: the stream is at an unknown point (see `Conn::broken`).
            if result
                .as_ref()
                .err()
                .is_some_and(|e| e.kind == ErrorKind::Unavailable)
            {
                self.pool.clear();
            }
            return;
        }
        match result {
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Internal
                ) =>
            {
                // A dropped connection often means the server restarted or kicked us:
                // the other idle sessions are likely dead too.
                if e.kind == ErrorKind::Unavailable {
                    self.pool.clear();
                }
            }
            _ => self.pool.checkin(session),
        }
    }

    /// List the folders of the session's mailbox and remember its special-use folders; on
    /// the tenant's first session, ask where personal folders go.
    async fn folders(&self, conn: &mut Conn) -> Result<Folders, BackendError> {
        self.learn_namespace(conn).await?;
        let folders = ops::list_folders(conn).await?;
        self.special
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                conn.user.clone(),
                SpecialUse {
                    junk: folders.junk().map(str::to_string),
                    trash: folders.trash().map(str::to_string),
                },
            );
        if let Some(sep) = &folders.separator {
            *self.separator.lock().unwrap_or_else(|e| e.into_inner()) = Some(sep.clone());
        }
        conn.folders = Some((Instant::now(), folders.clone()));
        Ok(folders)
    }

    /// Ask NAMESPACE until one session has answered with a personal namespace (a user
    /// without a mailbox gets none on Cyrus, and says nothing about the others).
    async fn learn_namespace(&self, conn: &mut Conn) -> Result<(), BackendError> {
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((conn.server, conn.has("NAMESPACE")));
        if self
            .namespace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Ok(());
        }
        match ops::personal_namespace(conn).await {
            Ok(Some(found)) => {
                *self.namespace.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
                Ok(())
            }
            Ok(None) => Ok(()),
            // A server that advertises NAMESPACE and then refuses it: folders stay where
            // they are configured, as on a server without it.
            Err(e) if !conn.broken && matches!(e.kind, ErrorKind::Invalid) => {
                tracing::debug!(error = %e.detail, "NAMESPACE refused");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// A configured folder name as a personal folder of this server (`Retractor-Deleted` is
    /// `INBOX.Retractor-Deleted` where personal folders live under `INBOX.`).
    fn personal(&self, configured: &str) -> String {
        match &*self.namespace.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(ns) => ns.personal(configured),
            None => configured.to_string(),
        }
    }

    /// The folder list for an act: the one a locate just read on this session (saves a
    /// round trip per item), else a fresh one. A folder deleted since makes the act fail
    /// with TRYCREATE, which the engine retries after locating (and listing) again.
    async fn known_folders(&self, conn: &mut Conn) -> Result<Folders, BackendError> {
        match &conn.folders {
            Some((when, folders)) if when.elapsed() < FOLDER_LIST_FRESH => Ok(folders.clone()),
            _ => self.folders(conn).await,
        }
    }

    fn is_admin_folder(&self, folder: &str) -> bool {
        let sep = self.separator();
        let f = &self.settings.folders;
        [&f.soft_delete, &f.hold, &f.quarantine]
            .iter()
            .map(|admin| self.personal(admin))
            .any(|admin| {
                folder == admin.as_str()
                    || folder
                        .strip_prefix(admin.as_str())
                        .is_some_and(|rest| rest.starts_with(&sep))
            })
    }

    /// The personal namespace's delimiter, else the one LIST showed, else `/`.
    fn separator(&self) -> String {
        let from_namespace = self
            .namespace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|ns| ns.delimiter.clone());
        from_namespace
            .or_else(|| {
                self.separator
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
            })
            .unwrap_or_else(|| "/".into())
    }

    async fn locate_once(
        &self,
        user: &str,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let mut s = self.session(user).await?;
        let result = async {
            let folders = self.folders(&mut s.conn).await?;
            ops::locate(
                &mut s.conn,
                &folders,
                &self.settings.exclude_folders,
                message_id,
            )
            .await
        }
        .await;
        self.release(s, &result);
        result
    }

    async fn scan_once(
        &self,
        user: &str,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let mut s = self.session(user).await?;
        let result = async {
            let folders = self.folders(&mut s.conn).await?;
            let chosen: Vec<&ops::Folder> = folders
                .list
                .iter()
                .filter(|f| f.selectable && f.messages != Some(0))
                .filter(|f| !self.settings.exclude_folders.contains(&f.name))
                .filter(|f| !(filter.skip_admin_folders && self.is_admin_folder(&f.name)))
                .filter(|f| !filter.inbox_only || f.name.eq_ignore_ascii_case("INBOX"))
                .collect();
            ops::scan(&mut s.conn, &chosen, filter).await
        }
        .await;
        self.release(s, &result);
        result
    }

    async fn fetch_whole(&self, user: &str, copy: &Location) -> Result<ops::Whole, BackendError> {
        let mut s = self.session(user).await?;
        let result = ops::fetch_whole(&mut s.conn, copy).await;
        self.release(s, &result);
        result
    }

    async fn expunge(&self, user: &str, copy: &Location) -> Result<(), BackendError> {
        let mut s = self.session(user).await?;
        let result = ops::expunge_copy(&mut s.conn, copy).await;
        self.release(s, &result);
        result
    }

    /// Move a copy between folders of one mailbox; the new location keeps flags and date.
    async fn move_within(
        &self,
        user: &str,
        copy: &Location,
        dest: &str,
    ) -> Result<Location, BackendError> {
        let mut s = self.session(user).await?;
        let result = async {
            let mut folders = self.known_folders(&mut s.conn).await?;
            let (validity, uid) = ops::move_copy(&mut s.conn, &mut folders, copy, dest).await?;
            Ok(Location {
                folder: dest.to_string(),
                provider_id: ops::ImapCopy {
                    uidvalidity: validity,
                    uid,
                }
                .provider_id(),
                ..copy.clone()
            })
        }
        .await;
        self.release(s, &result);
        result
    }

    /// APPEND a whole message into `user`'s `folder` with the given flags and date; when
    /// `message_id` is given, a copy already there (an earlier, interrupted attempt) is
    /// reused instead of appending a second one.
    async fn append_to(
        &self,
        user: &str,
        folder: &str,
        whole: ops::Whole,
        reuse: Option<&str>,
    ) -> Result<Location, BackendError> {
        let mut s = self.session(user).await?;
        let result = async {
            let mut folders = self.known_folders(&mut s.conn).await?;
            if let Some(message_id) = reuse
                && folders.list.iter().any(|f| f.name == folder)
                && let Some(existing) = ops::find_in_folder(&mut s.conn, folder, message_id)
                    .await?
                    .into_iter()
                    .next()
            {
                return Ok(existing);
            }
            let flags = whole.flags.clone();
            let (validity, uid) = ops::append(
                &mut s.conn,
                &mut folders,
                folder,
                &flags,
                whole.internal_date,
                whole.raw,
            )
            .await?;
            Ok(ops::location(
                folder,
                validity,
                uid,
                &flags,
                whole.internal_date,
            ))
        }
        .await;
        self.release(s, &result);
        result
    }

    async fn quarantine(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Applied, BackendError> {
        let Destination::Mailbox {
            mailbox: holder,
            folder,
        } = self.destination_of(mailbox, Action::Quarantine).await?
        else {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                "quarantine needs a quarantine mailbox: set quarantine_mailbox for this tenant",
            ));
        };
        // Three steps, one session at a time: read, append into quarantine, expunge here.
        let mut whole = self.fetch_whole(&mailbox.address, copy).await?;
        let message_id = crate::backends::common::headers::parse(&whole.raw).message_id;
        // Never byte-identical to another quarantined copy (Cyrus refuses too many).
        whole.raw = mark::mark(
            &whole.raw,
            &mailbox.address,
            &copy.folder,
            &copy.provider_id,
        );
        let reuse = message_id
            .as_deref()
            .filter(|_| self.quarantine_per_recipient);
        let placed = self.append_to(&holder, &folder, whole, reuse).await?;
        self.expunge(&mailbox.address, copy).await?;
        let to = Location {
            seen: copy.seen,
            flags: copy.flags.clone(),
            internal_date: copy.internal_date.or(placed.internal_date),
            ..placed
        };
        Ok(Applied::moved_to_mailbox(to, holder))
    }
}

impl Drop for ImapBackend {
    /// One log line per process with the commands sent (each is one round trip): what the
    /// IMAP benchmark divides by the items of its job.
    fn drop(&mut self) {
        let sent = self.commands_sent();
        if sent > 0 {
            tracing::info!(
                host = %self.settings.host,
                "IMAP commands sent by this process: {sent}"
            );
        }
    }
}

/// rustls with the ring provider, the OS trust store and the optional private CA file.
fn tls_connector(settings: &ImapSettings) -> Result<TlsConnector, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A broken OS certificate is no reason to refuse the others.
        let _ = roots.add(cert);
    }
    if let Some(file) = &settings.ca_file {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("ca_file {}: {e}", file.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", file.display()))?;
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificates: none in the OS store and no ca_file".into());
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Retry a read once on a fresh connection when the first one dropped (server restart,
/// `doveadm kick`): reads are idempotent, and the engine would only retry it later.
macro_rules! read_with_reconnect {
    ($call:expr) => {
        match $call {
            Err(e) if e.kind == ErrorKind::Unavailable => {
                tracing::debug!(error = %e.detail, "IMAP connection lost; reconnecting");
                $call
            }
            other => other,
        }
    };
}

#[async_trait]
impl Backend for ImapBackend {
    fn kind(&self) -> &'static str {
        "imap"
    }

    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        Err(BackendError::new(
            ErrorKind::Invalid,
            "IMAP has no directory of users: list them in the tenant's mailboxes or mailboxes_file",
        ))
    }

    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        read_with_reconnect!(self.locate_once(&mailbox.address, message_id).await)
    }

    /// The server searches headers (`SEARCH HEADER`); one command per copy acted on; a
    /// quarantine appends into the quarantine mailbox; a moved copy gets a new UID.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            header_search: true,
            batch_acts: false,
            cross_mailbox_copy: true,
            labels: false,
            ids_survive_move: false,
            local_directory: false,
            mailbox_request_limit: false,
        }
    }

    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        read_with_reconnect!(self.destination_of(mailbox, action).await)
    }

    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        read_with_reconnect!(self.standing_of(mailbox, copy, action).await)
    }

    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        let whole = read_with_reconnect!(self.fetch_whole(&mailbox.address, copy).await)?;
        // A quarantined copy is evidence of what was delivered: without our line.
        if self.quarantine_mailbox.as_deref() == Some(mailbox.address.as_str()) {
            return Ok(mark::unmark(whole.raw, None));
        }
        Ok(whole.raw)
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        if let Destination::Folder(dest) = self.destination_of(mailbox, action).await? {
            let to = self.move_within(&mailbox.address, copy, &dest).await?;
            return Ok(Applied::moved(to, action));
        }
        match action {
            Action::Quarantine => self.quarantine(mailbox, copy).await,
            Action::HardDelete => {
                self.expunge(&mailbox.address, copy).await?;
                Ok(Applied::deleted(false))
            }
            _ => Err(BackendError::not_an_act(action)),
        }
    }

    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let user = mailbox.address.as_str();
        if current_mailbox == user {
            let mut s = self.session(user).await?;
            let result = async {
                let mut folders = self.known_folders(&mut s.conn).await?;
                let (validity, uid) =
                    ops::move_copy(&mut s.conn, &mut folders, current, &original.folder).await?;
                // The user may have read or flagged it where it lay: put the flags back too.
                ops::select(&mut s.conn, &original.folder).await?;
                ops::set_flags(&mut s.conn, uid, &original.flags).await?;
                Ok(Location {
                    provider_id: ops::ImapCopy {
                        uidvalidity: validity,
                        uid,
                    }
                    .provider_id(),
                    ..original.clone()
                })
            }
            .await;
            self.release(s, &result);
            return result;
        }
        // From the quarantine mailbox: append here with the original flags and date, then
        // expunge the quarantined copy.
        let mut whole = self.fetch_whole(current_mailbox, current).await?;
        whole.raw = mark::unmark(whole.raw, Some(user));
        whole.flags = proto::split_flags(&original.flags);
        whole.internal_date = original.internal_date.or(whole.internal_date);
        let placed = self.append_to(user, &original.folder, whole, None).await?;
        self.expunge(current_mailbox, current).await?;
        Ok(Location {
            provider_id: placed.provider_id,
            ..original.clone()
        })
    }

    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        read_with_reconnect!(self.scan_once(&mailbox.address, filter).await)
    }

    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let sep = self.separator();
        let dest = self.personal(&folder_levels(folder).join(&sep));
        if copy.folder == dest {
            return Ok(copy.clone());
        }
        self.move_within(&mailbox.address, copy, &dest).await
    }

    async fn check(&self) -> CheckReport {
        self.check_tenant().await
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::imap::{ImapFolders, ImapLogin};
    use crate::config::secret::SecretSource;

    pub(super) fn backend(per_recipient: bool) -> ImapBackend {
        let settings = ImapSettings {
            host: "127.0.0.1".into(),
            port: 1,
            security: ImapSecurity::None,
            ca_file: None,
            admin_user: "admin".into(),
            admin_password: SecretSource::Env("RETRACTOR_TEST_UNSET_PW".into()),
            login: ImapLogin::MasterUser,
            master_user_separator: "*".into(),
            folders: ImapFolders::default(),
            exclude_folders: vec![],
            max_connections: 2,
            timeout_secs: 5,
            check_sample: 1,
        };
        ImapBackend::new(settings, Some("q@corp.test".into()), per_recipient, vec![])
    }

    #[tokio::test]
    async fn a_missing_password_is_an_auth_failure_that_names_only_its_source() {
        let b = backend(true);
        let mailbox = MailboxRef {
            address: "alice@corp.test".into(),
            on_hold: false,
        };
        let e = b.locate(&mailbox, "<a@x>").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::AuthFailed);
        assert!(e.detail.contains("RETRACTOR_TEST_UNSET_PW"), "{}", e.detail);
    }
}
