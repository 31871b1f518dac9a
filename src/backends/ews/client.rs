//! The HTTP side of the EWS backend: one POST per operation to the configured URL, the
//! service account's authentication (NTLM lanes, Basic, or a bearer token), impersonation
//! or delegate access, the limits, and EWS response codes mapped to `ErrorKind`s.
//!
//! Throttling policy: at most `mailbox_concurrency` requests in flight per mailbox and
//! `account_concurrency` for the service account (Exchange's EWSMaxConcurrency counts the
//! account's connections). `ErrorServerBusy` (HTTP 500 fault, or a response message of a 200
//! answer) and `ErrorExceededConnectionCount` hold every request of the account for the
//! server's `BackOffMilliseconds` (exponential back-off when it gives none), then the request
//! is sent again; 503 and unanswered requests are retried with back-off too. After
//! `max_retries` the call fails `Throttled` / `Unavailable` and the engine requeues the item.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::WWW_AUTHENTICATE;

use super::ntlm::{self, Lanes, NtlmUser};
use super::soap::{self, ResponseMessage};
use super::xml::{self, Element};
use crate::backends::common::backoff::backoff;
use crate::backends::common::http::{Auth, Failure, HttpClient, Request, kind_of_status};
use crate::backends::common::throttle::{Gate, Gates};
use crate::backends::{BackendError, ErrorKind};
use crate::config::ews::{EwsAccess, EwsAuth, EwsSettings};
use crate::config::secret::Secret;
use crate::model::text::sanitize;

/// The largest answer read: a MIME export of a 150 MB message is base64 in XML.
const MAX_BODY: usize = 220 * 1024 * 1024;

/// What one POST came back with.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// How long an NTLM handshake waits between the Challenge and the Authenticate for the
/// connection to be back in its lane's pool (see `post_ntlm`).
const NTLM_POOL_SETTLE: std::time::Duration = std::time::Duration::from_millis(25);
/// The same pause on the one handshake tried again after a refused Authenticate.
const NTLM_POOL_SETTLE_AGAIN: std::time::Duration = std::time::Duration::from_millis(250);

/// An EWS client for one Exchange organisation.
pub struct EwsClient {
    settings: EwsSettings,
    password: Secret,
    http: HttpClient,
    lanes: Option<Lanes>,
    ntlm_user: NtlmUser,
    account: Arc<Gate>,
    mailboxes: Gates,
}

impl EwsClient {
    /// Reads the password (or token) and the CA file now, so a missing one is reported when
    /// the tenant is opened.
    pub fn new(settings: EwsSettings) -> Result<EwsClient, String> {
        let password = settings
            .password
            .resolve()
            .map_err(|e| format!("password ({}): {e}", settings.password.describe()))?;
        let roots = match &settings.ca_file {
            Some(file) => {
                std::fs::read(file).map_err(|e| format!("ca_file = {}: {e}", file.display()))?
            }
            None => Vec::new(),
        };
        let timeout = Duration::from_secs(settings.request_timeout_secs);
        let http = HttpClient::trusting(timeout, &roots)?;
        let lanes = (settings.auth == EwsAuth::Ntlm).then(|| Lanes::new(timeout, roots));
        let account = Gates::new(settings.account_concurrency).gate("service account");
        Ok(EwsClient {
            ntlm_user: NtlmUser::parse(&settings.username),
            mailboxes: Gates::new(settings.mailbox_concurrency),
            password,
            http,
            lanes,
            account,
            settings,
        })
    }

    pub fn settings(&self) -> &EwsSettings {
        &self.settings
    }

    /// One operation acting as (or on) `mailbox`: the parsed answer, after a fault or busy
    /// answer was retried as the module docs say. Response messages are the caller's to read.
    pub async fn call(&self, mailbox: &str, body: &str) -> Result<Element, BackendError> {
        let gate = self.mailboxes.gate(mailbox);
        let _mailbox_pass = gate.enter(1).await?;
        let _account_pass = self.account.enter(1).await?;
        let impersonate = (self.settings.access == EwsAccess::Impersonation).then_some(mailbox);
        let envelope = soap::envelope(&self.settings.server_version, impersonate, body);
        let max = self.settings.max_retries;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.account.wait_out_hold().await;
            let answer = match self.post(mailbox, &envelope).await {
                Ok(a) => a,
                Err(e) if e.retryable() && attempt < max => {
                    tokio::time::sleep(backoff(self.settings.retry_backoff_ms, attempt, None))
                        .await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match self.read(mailbox, &answer) {
                Read::Done(root) => return Ok(root),
                Read::Failed(e) => return Err(e),
                Read::Busy(hint) => {
                    let wait = backoff(self.settings.retry_backoff_ms, attempt, hint);
                    // The budget is the account's: nothing of it leaves until the wait ends.
                    self.account.hold(wait);
                    if attempt >= max {
                        let mut e = BackendError::new(
                            ErrorKind::Throttled,
                            format!(
                                "{mailbox}: Exchange answered ErrorServerBusy {attempt} times; backing off {} ms",
                                wait.as_millis()
                            ),
                        );
                        e.retry_after = Some(wait);
                        return Err(e);
                    }
                }
                Read::Unavailable => {
                    if attempt >= max {
                        return Err(BackendError::new(
                            ErrorKind::Unavailable,
                            format!(
                                "{mailbox}: Exchange answered {} ({attempt} attempts)",
                                answer.status
                            ),
                        ));
                    }
                    tokio::time::sleep(backoff(
                        self.settings.retry_backoff_ms,
                        attempt,
                        answer.retry_after,
                    ))
                    .await;
                }
            }
        }
    }

    /// Send the envelope once with the configured authentication.
    async fn post(&self, mailbox: &str, envelope: &str) -> Result<Answer, BackendError> {
        let url = self.settings.url.as_str();
        let user = self.settings.username.as_str();
        match (&self.settings.auth, &self.lanes) {
            (EwsAuth::Ntlm, Some(lanes)) => self.post_ntlm(lanes, mailbox, envelope).await,
            (EwsAuth::Basic, _) | (EwsAuth::Ntlm, None) => {
                let auth = Auth::Basic {
                    user,
                    password: &self.password,
                };
                send(&self.http, soap_request(url, mailbox, envelope, auth)).await
            }
            (EwsAuth::Oauth, _) => {
                let auth = Auth::Bearer(&self.password);
                send(&self.http, soap_request(url, mailbox, envelope, auth)).await
            }
        }
    }

    /// A request on an NTLM lane: on a fresh lane (or one whose connection was dropped, which
    /// the server answers 401) Negotiate, Challenge, Authenticate carrying the request.
    async fn post_ntlm(
        &self,
        lanes: &Lanes,
        mailbox: &str,
        envelope: &str,
    ) -> Result<Answer, BackendError> {
        let url = self.settings.url.as_str();
        let mut lane = lanes
            .take()
            .map_err(|e| BackendError::new(ErrorKind::Internal, e))?;
        if lane.authenticated {
            let answer = send(
                &lane.http,
                soap_request(url, mailbox, envelope, Auth::Connection),
            )
            .await?;
            if answer.status != 401 {
                lanes.give_back(lane);
                return Ok(answer);
            }
            lane.authenticated = false;
        }
        // A refused Authenticate is tried once more, on a new lane after a longer pause: the
        // first may have gone out on a new connection (see `ntlm_handshake`), which the server
        // refuses without looking at the password, so it is not a failed logon. A wrong
        // password is refused twice: two failed logons, and the tenant's breaker stops there.
        for settle in [NTLM_POOL_SETTLE, NTLM_POOL_SETTLE_AGAIN] {
            if let Some(answer) = self
                .ntlm_handshake(&lane, mailbox, envelope, settle)
                .await?
            {
                lane.authenticated = true;
                lanes.give_back(lane);
                return Ok(answer);
            }
            lane = lanes
                .fresh()
                .map_err(|e| BackendError::new(ErrorKind::Internal, e))?;
        }
        Err(self.refused())
    }

    /// Negotiate, Challenge, then the Authenticate carrying the request on `lane`, after
    /// `settle`; `None` when the Authenticate is refused.
    async fn ntlm_handshake(
        &self,
        lane: &ntlm::Lane,
        mailbox: &str,
        envelope: &str,
        settle: std::time::Duration,
    ) -> Result<Option<Answer>, BackendError> {
        let url = self.settings.url.as_str();
        let negotiate = ntlm::negotiate().map_err(|e| BackendError::new(ErrorKind::Internal, e))?;
        let first = lane
            .http
            .send(
                Request::new("POST", &self.settings.url, 64 * 1024)
                    .auth(Auth::Ntlm(&negotiate))
                    .xml(Vec::new()),
            )
            .await
            .map_err(|e| e.into_backend_error("Exchange's answer to the NTLM negotiate"))?;
        let challenge = first
            .headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("NTLM "))
            .map(str::to_string);
        let Some(challenge) = challenge.filter(|_| first.status == 401) else {
            return Err(BackendError::new(
                ErrorKind::AuthFailed,
                format!(
                    "{}: the server offered no NTLM challenge (answered {}): NTLM (Windows authentication) may be off on the EWS virtual directory; try auth = \"basic\"",
                    sanitize(&self.settings.url),
                    first.status
                ),
            ));
        };
        let authenticate = ntlm::authenticate(&challenge, &self.ntlm_user, &self.password)
            .map_err(|e| BackendError::new(ErrorKind::AuthFailed, e))?;
        // NTLM authenticates a connection, so the Authenticate must go out on the connection
        // that got the Challenge. The HTTP client hands that connection back to its pool from
        // the connection's own task once the 401's body is read, which can come after this
        // task sends again: the Authenticate then opens a new connection that never saw the
        // Challenge and is refused (about 2% of handshakes on a loaded machine). A short
        // pause lets the connection return first; it is paid once per lane, not per request.
        tokio::time::sleep(settle).await;
        let answer = send(
            &lane.http,
            soap_request(url, mailbox, envelope, Auth::Ntlm(&authenticate)),
        )
        .await?;
        Ok((answer.status != 401).then_some(answer))
    }

    fn refused(&self) -> BackendError {
        let auth = match self.settings.auth {
            EwsAuth::Ntlm => "NTLM",
            EwsAuth::Basic => "Basic",
            EwsAuth::Oauth => "the bearer token",
        };
        BackendError::new(
            ErrorKind::AuthFailed,
            format!(
                "Exchange refused {} ({auth}, 401): a wrong password, a locked or expired account, or {auth} not enabled on the EWS virtual directory",
                if self.settings.username.is_empty() {
                    "the token"
                } else {
                    &self.settings.username
                }
            ),
        )
    }

    /// What an answer means: parsed, busy, worth another try, or a mapped error.
    fn read(&self, mailbox: &str, answer: &Answer) -> Read {
        match answer.status {
            401 => return Read::Failed(self.refused()),
            502..=504 => return Read::Unavailable,
            200 | 500 => {}
            other => {
                return Read::Failed(BackendError::new(
                    kind_of_status(other),
                    format!("{mailbox}: Exchange answered HTTP {other}"),
                ));
            }
        }
        let root = match xml::parse(&answer.body) {
            Ok(root) => root,
            Err(e) if answer.status == 500 => {
                return Read::Failed(BackendError::new(
                    ErrorKind::Unavailable,
                    format!("{mailbox}: Exchange answered 500 without a SOAP fault ({e})"),
                ));
            }
            Err(e) => {
                return Read::Failed(BackendError::new(
                    ErrorKind::Invalid,
                    format!("{mailbox}: Exchange's answer is not SOAP: {e}"),
                ));
            }
        };
        if let Some(fault) = soap::fault(&root) {
            if is_busy(&fault.code) {
                return Read::Busy(fault.back_off_ms.map(Duration::from_millis));
            }
            return Read::Failed(self.error_of_code(mailbox, &fault.code, &fault.text));
        }
        if let Some(busy) = soap::response_messages(&root)
            .iter()
            .find(|m| is_busy(m.code))
        {
            return Read::Busy(busy.back_off_ms.map(Duration::from_millis));
        }
        if answer.status == 500 {
            return Read::Unavailable;
        }
        Read::Done(root)
    }

    /// The error of one failed response message.
    pub fn error_of(&self, mailbox: &str, m: &ResponseMessage) -> BackendError {
        self.error_of_code(mailbox, m.code, m.text)
    }

    /// An EWS response code as an error naming the mailbox and, for rights, the one missing.
    pub fn error_of_code(&self, mailbox: &str, code: &str, text: &str) -> BackendError {
        let account = if self.settings.username.is_empty() {
            "the service account"
        } else {
            self.settings.username.as_str()
        };
        let text = sanitize(text);
        let code = sanitize(code);
        let (kind, detail) = match code.as_str() {
            "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" => (
                ErrorKind::PermissionDenied,
                format!(
                    "{mailbox}: {account} may not impersonate this mailbox ({code}): the ApplicationImpersonation role is missing, or its management scope leaves this mailbox out"
                ),
            ),
            "ErrorAccessDenied" | "ErrorDelegateNoUser" => (
                ErrorKind::PermissionDenied,
                match self.settings.access {
                    EwsAccess::Delegate => format!(
                        "{mailbox}: {account} has no Full Access on this mailbox ({code}): Add-MailboxPermission -AccessRights FullAccess"
                    ),
                    EwsAccess::Impersonation => {
                        format!("{mailbox}: access denied ({code}): {text}")
                    }
                },
            ),
            "ErrorNonExistentMailbox" | "ErrorMailboxNotFound" | "ErrorInvalidSmtpAddress" => (
                ErrorKind::NoSuchMailbox,
                format!("{mailbox}: no such mailbox on this Exchange ({code})"),
            ),
            "ErrorItemNotFound" | "ErrorFolderNotFound" => {
                (ErrorKind::Gone, format!("{mailbox}: {code}: {text}"))
            }
            "ErrorQuotaExceeded" => (ErrorKind::OverQuota, format!("{mailbox}: {code}")),
            "ErrorTimeoutExpired" => (ErrorKind::Timeout, format!("{mailbox}: {code}")),
            "ErrorMailboxMoveInProgress"
            | "ErrorMailboxStoreUnavailable"
            | "ErrorConnectionFailed"
            | "ErrorInternalServerTransientError" => {
                (ErrorKind::Unavailable, format!("{mailbox}: {code}: {text}"))
            }
            "ErrorInvalidServerVersion" | "ErrorIncorrectSchemaVersion" => (
                ErrorKind::Invalid,
                format!(
                    "{mailbox}: the server does not speak {} ({code}); set server_version",
                    self.settings.server_version
                ),
            ),
            "" => (
                ErrorKind::Invalid,
                format!("{mailbox}: Exchange answered an error without a code: {text}"),
            ),
            _ => (ErrorKind::Invalid, format!("{mailbox}: {code}: {text}")),
        };
        BackendError::new(kind, detail)
    }
}

/// What an answer means.
enum Read {
    Done(Element),
    Failed(BackendError),
    Busy(Option<Duration>),
    Unavailable,
}

fn is_busy(code: &str) -> bool {
    matches!(code, "ErrorServerBusy" | "ErrorExceededConnectionCount")
}

/// The POST of one envelope.
fn soap_request<'a>(url: &'a str, mailbox: &str, envelope: &str, auth: Auth<'a>) -> Request<'a> {
    Request::new("POST", url, MAX_BODY)
        .auth(auth)
        .header("X-AnchorMailbox", mailbox.to_string())
        .xml(envelope.as_bytes().to_vec())
}

async fn send(http: &HttpClient, request: Request<'_>) -> Result<Answer, BackendError> {
    match http.send(request).await {
        Ok(r) => Ok(Answer {
            status: r.status,
            retry_after: r.retry_after(),
            body: r.body,
        }),
        Err(e) if e.failure == Failure::TimedOut => Err(BackendError::new(
            ErrorKind::Timeout,
            format!("Exchange did not answer in time: {}", e.detail),
        )),
        Err(e) => Err(e.into_backend_error("Exchange's answer")),
    }
}
