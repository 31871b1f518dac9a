//! The HTTPS webhook of `retractor serve`, for SOAR playbooks and detection tools:
//! `POST /v1/alerts` with `Authorization: Bearer TOKEN` and one alert or JSON lines.
//!
//! The token is checked before the body is read (an unknown caller cannot make the service
//! buffer a megabyte), against SHA-256 hashes from the config in constant time. Every line is
//! validated before the first is handed to the sink, so a 400 stores nothing; a 202 is sent
//! only once the sink stored every alert.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{deliver, parse_batch};
use crate::config::alerts::{WebhookSettings, WebhookTls, WebhookToken};
use crate::config::secret::read_private_file;
use crate::model::AlertSink;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections whose handshake is in progress at once; more wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;
/// How long requests in flight get after the service is told to stop.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// The hash a config's `tokens` keeps for `token` (`sha256:HEX`), as printed by
/// `retractor webhook hash-token`.
pub fn hash_token(token: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(token.trim().as_bytes()))
    )
}

struct Shared {
    sink: Arc<dyn AlertSink>,
    tokens: Vec<WebhookToken>,
    body_limit: usize,
}

/// A bound webhook, not yet answering.
pub struct Webhook {
    listener: Listening,
    settings: WebhookSettings,
}

enum Listening {
    Plain(TcpListener),
    Tls(TcpListener, TlsAcceptor),
}

impl Webhook {
    /// Bind the address and load the certificate and key now, so a wrong one stops the
    /// service at start rather than at the first alert.
    pub async fn bind(settings: &WebhookSettings) -> Result<Webhook, String> {
        let tcp = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| format!("[service.webhook] listen = \"{}\": {e}", settings.listen))?;
        let listener = match &settings.tls {
            None => Listening::Plain(tcp),
            Some(tls) => Listening::Tls(tcp, acceptor(tls)?),
        };
        Ok(Webhook {
            listener,
            settings: settings.clone(),
        })
    }

    /// Where it listens (the port chosen when the config said 0).
    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        match &self.listener {
            Listening::Plain(l) | Listening::Tls(l, _) => l.local_addr().map_err(|e| e.to_string()),
        }
    }

    /// Answer until `stopping`; requests in flight then get a short grace.
    pub async fn run(self, sink: Arc<dyn AlertSink>, mut stopping: watch::Receiver<bool>) {
        let shared = Arc::new(Shared {
            sink,
            tokens: self.settings.tokens.clone(),
            body_limit: self.settings.body_limit,
        });
        let app = router(shared);
        let mut watching = stopping.clone();
        let shutdown = async move { wait_for_stop(&mut watching).await };
        // Graceful shutdown waits for open connections; a client keeping one open must not
        // hold the service's exit, so the wait is bounded.
        let deadline = async move {
            wait_for_stop(&mut stopping).await;
            tokio::time::sleep(DRAIN_GRACE).await;
        };
        tracing::info!(listen = %self.settings.listen, tls = self.settings.tls.is_some(), "alert webhook listening");
        let served = match self.listener {
            Listening::Plain(tcp) => {
                let server = axum::serve(tcp, app).with_graceful_shutdown(shutdown);
                tokio::select! { r = server.into_future() => Some(r), _ = deadline => None }
            }
            Listening::Tls(tcp, acceptor) => {
                let listener = TlsListener::start(tcp, acceptor);
                let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
                tokio::select! { r = server.into_future() => Some(r), _ = deadline => None }
            }
        };
        if let Some(Err(e)) = served {
            tracing::warn!("alert webhook stopped: {e}");
        }
    }
}

async fn wait_for_stop(stopping: &mut watch::Receiver<bool>) {
    while !*stopping.borrow() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/alerts", post(receive))
        .with_state(shared)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let Some(label) = caller(request.headers(), &shared.tokens) else {
        let mut response = reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "a valid bearer token is required (Authorization: Bearer TOKEN)"}),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    let too_large = || {
        reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("the body is over the webhook's limit of {} bytes", shared.body_limit)}),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.body_limit as u64) {
        return too_large();
    }
    let body: Body = request.into_body();
    let bytes = match axum::body::to_bytes(body, shared.body_limit).await {
        Ok(bytes) => bytes,
        // Over the limit, or the client broke off: either way nothing was stored.
        Err(_) => return too_large(),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "the body is not UTF-8", "line": 1, "field": "-"}),
        );
    };
    let alerts = match parse_batch(text) {
        Ok(alerts) => alerts,
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": e.problem, "line": e.line, "field": e.field}),
            );
        }
    };
    let accepted = |done: &[(crate::model::Alert, crate::model::AlertReceipt)]| -> Vec<Value> {
        done.iter()
            .map(|(alert, receipt)| {
                json!({"id": alert.id, "number": receipt.number, "disposition": receipt.disposition})
            })
            .collect()
    };
    match deliver(&shared.sink, alerts).await {
        Ok(done) => {
            tracing::info!(token = %label, alerts = done.len(), "webhook alerts accepted");
            reply(StatusCode::ACCEPTED, json!({"accepted": accepted(&done)}))
        }
        Err((done, why)) => {
            tracing::warn!(token = %label, stored = done.len(), "webhook alerts not all stored: {why}");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": format!("alerts could not be stored: {why}"), "accepted": accepted(&done)}),
            )
        }
    }
}

/// The label of the token the request carries, if it is one of `tokens`. Every configured
/// hash is compared in full whatever matched, so timing tells nothing about which is close.
fn caller(headers: &HeaderMap, tokens: &[WebhookToken]) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return None;
    }
    let presented: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    let mut found = None;
    for candidate in tokens {
        let difference = candidate
            .sha256
            .iter()
            .zip(presented.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference == 0 && found.is_none() {
            found = Some(candidate.label.clone());
        }
    }
    found
}

/// rustls with the ring provider, the configured chain and key (the key file must be private).
fn acceptor(tls: &WebhookTls) -> Result<TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let at = "[service.webhook]";
    let certs = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{at} cert_file {}: {e}", tls.cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{at} cert_file {}: no certificate in it",
            tls.cert_file.display()
        ));
    }
    let key_bytes = read_private_file(&tls.key_file).map_err(|e| format!("{at} key_file: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| format!("{at} key_file {}: {e}", tls.key_file.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("{at} TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{at} cert_file and key_file: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// TLS connections for axum: handshakes run in tasks of their own (with a timeout), so one
/// slow client never holds up the next one's accept.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn start(tcp: TcpListener, acceptor: TlsAcceptor) -> TlsListener {
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (send, ready) = mpsc::channel(64);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
                    return;
                };
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::debug!("webhook accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, ready) = (acceptor.clone(), send.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "webhook TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "webhook TLS handshake timed out"),
                    }
                });
                if send.is_closed() {
                    return;
                }
            }
        });
        TlsListener { ready, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept task ended (it only does when this listener is gone): wait forever,
            // graceful shutdown ends the server.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_token_is_known_and_by_its_label() {
        let tokens = vec![
            WebhookToken {
                label: "soar".into(),
                sha256: Sha256::digest(b"t-soar").into(),
            },
            WebhookToken {
                label: "edr".into(),
                sha256: Sha256::digest(b"t-edr").into(),
            },
        ];
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            caller(&h, &tokens)
        };
        assert_eq!(with("Bearer t-edr").as_deref(), Some("edr"));
        assert_eq!(with("bearer t-soar").as_deref(), Some("soar"));
        assert_eq!(with("Bearer t-other"), None);
        assert_eq!(with("Basic t-soar"), None);
        assert_eq!(caller(&HeaderMap::new(), &tokens), None);
        assert_eq!(
            hash_token("test\n"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}
