//! HTTP for every backend that speaks it (Graph today; Gmail and EWS next): one rustls client,
//! answers read up to a cap, no redirect followed for a request that carries credentials,
//! plain http only to loopback, `Retry-After` read within bounds, and failures mapped to
//! [`ErrorKind`]s. A backend adds its own paths, headers and error bodies on top.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::Value;

use super::backoff::MAX_WAIT;
use crate::backends::{BackendError, ErrorKind};
use crate::config::net::is_loopback_host;
use crate::config::secret::Secret;
use crate::model::text::sanitize;

/// Idle connections kept per host: a tenant's workers reuse them instead of new TLS handshakes.
const MAX_IDLE_PER_HOST: usize = 256;
/// Redirects followed for a request without credentials.
const MAX_REDIRECTS: usize = 5;

/// How a request proves who sends it. Anything but [`Auth::None`] makes the request one that
/// is never redirected: a server's `Location` must not receive the token, the password or a
/// form holding a client secret.
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer` (OAuth access tokens).
    Bearer(&'a Secret),
    /// `Authorization: Basic` (EWS on premises).
    Basic {
        user: &'a str,
        password: &'a Secret,
    },
    /// The body holds the credentials (a token request with a client secret or assertion).
    InBody,
    /// `Authorization: NTLM <message>`: one leg of an NTLM handshake (EWS on premises).
    Ntlm(&'a str),
    /// No header: the connection itself was authenticated (NTLM), so the request must stay
    /// on the credentialed client's pool and is never redirected either.
    Connection,
}

impl Auth<'_> {
    fn carries_credentials(&self) -> bool {
        !matches!(self, Auth::None)
    }
}

enum Body {
    Empty,
    Json(Vec<u8>),
    Form(Vec<(String, String)>),
    /// A SOAP envelope (`text/xml; charset=utf-8`).
    Xml(Vec<u8>),
}

/// One request, built by the backend and sent by [`HttpClient::send`].
pub struct Request<'a> {
    method: Method,
    url: &'a str,
    auth: Auth<'a>,
    headers: Vec<(&'static str, String)>,
    body: Body,
    max_body: usize,
}

impl<'a> Request<'a> {
    /// A request whose answer is read up to `max_body` bytes (a larger one is an error, not
    /// truncated: memory stays bounded whatever the server sends).
    pub fn new(method: &str, url: &'a str, max_body: usize) -> Request<'a> {
        Request {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url,
            auth: Auth::None,
            headers: Vec::new(),
            body: Body::Empty,
            max_body,
        }
    }

    pub fn auth(mut self, auth: Auth<'a>) -> Request<'a> {
        self.auth = auth;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request<'a> {
        self.headers.push((name, value.into()));
        self
    }

    pub fn json(mut self, body: &Value) -> Request<'a> {
        self.body = Body::Json(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// A SOAP body (`text/xml; charset=utf-8`).
    pub fn xml(mut self, body: impl Into<Vec<u8>>) -> Request<'a> {
        self.body = Body::Xml(body.into());
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, fields: Vec<(String, String)>) -> Request<'a> {
        self.body = Body::Form(fields);
        self
    }
}

/// An answer read whole: any status, its headers and its body.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The server's `Retry-After`, bounded (see [`parse_retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
    }
}

/// Why no answer came back whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Plain http to a host that is not loopback, or not a URL at all.
    Insecure,
    /// A request with credentials was answered with a redirect (or one without was
    /// redirected to plain http, or too often).
    Redirected,
    /// No answer within the client's timeout.
    TimedOut,
    /// The connection failed before an answer.
    NotReached,
    /// The answer started but broke off.
    BrokeOff,
    /// The answer is over the request's cap; asking again would fetch the same.
    TooLong,
}

/// A failure and what happened, with no URL in it (a URL may carry a Message-ID filter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    pub failure: Failure,
    pub detail: String,
}

impl HttpError {
    fn new(failure: Failure, detail: impl Into<String>) -> HttpError {
        HttpError {
            failure,
            detail: detail.into(),
        }
    }

    /// The kind the engine reacts to: a broken link is transient, the rest are not.
    pub fn kind(&self) -> ErrorKind {
        match self.failure {
            Failure::TimedOut => ErrorKind::Timeout,
            Failure::NotReached | Failure::BrokeOff => ErrorKind::Unavailable,
            Failure::Insecure | Failure::Redirected | Failure::TooLong => ErrorKind::Invalid,
        }
    }

    /// A backend error saying what was asked (`what`: "Graph's answer to GET").
    pub fn into_backend_error(self, what: &str) -> BackendError {
        BackendError::new(self.kind(), format!("{what}: {}", self.detail))
    }
}

/// The kind of an HTTP error status when the backend's error body says nothing more precise.
pub fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::AuthFailed,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::Gone,
        429 => ErrorKind::Throttled,
        507 => ErrorKind::OverQuota,
        400..=499 => ErrorKind::Invalid,
        _ => ErrorKind::Unavailable,
    }
}

/// A `Retry-After` value: delta-seconds or an HTTP-date, at most [`MAX_WAIT`]. A date in the
/// past is "now"; anything else unreadable is `None` (the caller's default applies).
pub fn parse_retry_after(text: &str) -> Option<Duration> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too many for u64 is still "very long".
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_WAIT));
    }
    let date = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let when = SystemTime::from(date);
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_WAIT),
    )
}

/// The HTTP client of one tenant. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpClient {
    /// For requests with credentials: never follows a redirect.
    credentialed: reqwest::Client,
    /// For requests without: follows a few, each to https or loopback only.
    anonymous: reqwest::Client,
}

impl HttpClient {
    /// A client whose every request (connect, send, read) ends within `timeout`.
    pub fn new(timeout: Duration) -> Result<HttpClient, String> {
        Self::trusting(timeout, &[])
    }

    /// Like [`HttpClient::new`], also trusting these PEM certificates as roots (a private
    /// CA in front of an on-premises server).
    pub fn trusting(timeout: Duration, roots_pem: &[u8]) -> Result<HttpClient, String> {
        let roots = if roots_pem.is_empty() {
            Vec::new()
        } else {
            reqwest::Certificate::from_pem_bundle(roots_pem)
                .map_err(|e| format!("not a PEM certificate bundle: {e}"))?
        };
        let build = |policy| {
            let mut builder = reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
                .redirect(policy);
            for root in &roots {
                builder = builder.add_root_certificate(root.clone());
            }
            builder
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        let follow_safely = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if plain_text_refused(attempt.url()) {
                attempt.error("redirected to plain http off loopback")
            } else {
                attempt.follow()
            }
        });
        Ok(HttpClient {
            credentialed: build(reqwest::redirect::Policy::none())?,
            anonymous: build(follow_safely)?,
        })
    }

    /// Send `request` and read its answer up to the request's cap. Any status is an answer;
    /// only a failure to get one whole is an error.
    pub async fn send(&self, request: Request<'_>) -> Result<Response, HttpError> {
        let url = Url::parse(request.url)
            .map_err(|e| HttpError::new(Failure::Insecure, format!("not a URL: {e}")))?;
        if plain_text_refused(&url) {
            return Err(HttpError::new(
                Failure::Insecure,
                format!(
                    "plain {} is allowed only to loopback; use https",
                    sanitize(url.scheme())
                ),
            ));
        }
        let with_credentials = request.auth.carries_credentials();
        let client = if with_credentials {
            &self.credentialed
        } else {
            &self.anonymous
        };
        let mut builder = client.request(request.method.clone(), url);
        builder = match request.auth {
            Auth::Bearer(token) => builder.bearer_auth(token.expose()),
            Auth::Basic { user, password } => builder.basic_auth(user, Some(password.expose())),
            Auth::Ntlm(message) => {
                builder.header(reqwest::header::AUTHORIZATION, format!("NTLM {message}"))
            }
            Auth::None | Auth::InBody | Auth::Connection => builder,
        };
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        builder = match request.body {
            Body::Empty => builder,
            Body::Json(bytes) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes),
            Body::Form(fields) => builder.form(&fields),
            Body::Xml(bytes) => builder
                .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
                .body(bytes),
        };
        let response = builder.send().await.map_err(|e| {
            let failure = if e.is_timeout() {
                Failure::TimedOut
            } else if e.is_redirect() {
                Failure::Redirected
            } else {
                Failure::NotReached
            };
            HttpError::new(failure, without_url(&e))
        })?;
        let status = response.status();
        if with_credentials && status.is_redirection() && status.as_u16() != 304 {
            let to = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| Url::parse(l).ok())
                .and_then(|u| u.host_str().map(sanitize))
                .unwrap_or_else(|| "elsewhere".into());
            return Err(HttpError::new(
                Failure::Redirected,
                format!(
                    "answered {} redirecting to {to}; a request carrying credentials is never redirected",
                    status.as_u16()
                ),
            ));
        }
        let headers = response.headers().clone();
        let body = read_capped(response, request.max_body).await?;
        Ok(Response {
            status: status.as_u16(),
            headers,
            body,
        })
    }
}

/// Plain http anywhere but loopback (and any other scheme) is refused, so a typo or a
/// server's redirect cannot send credentials or mail in the clear.
fn plain_text_refused(url: &Url) -> bool {
    match url.scheme() {
        "https" => false,
        "http" => !url.host_str().is_some_and(is_loopback_host),
        _ => true,
    }
}

/// Read a body, refusing one longer than `cap` before holding it all.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, HttpError> {
    let too_long = || HttpError::new(Failure::TooLong, format!("the answer is over {cap} bytes"));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        HttpError::new(
            Failure::BrokeOff,
            format!("the answer broke off: {}", without_url(&e)),
        )
    })? {
        if body.len() + chunk.len() > cap {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest errors name the URL, which may carry a filter with a Message-ID: keep the kind.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "(url)");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A loopback server answering every connection with `answer`; it keeps each request's
    /// head so a test can see what arrived.
    async fn server(answer: String) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        (url, seen)
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn client() -> HttpClient {
        HttpClient::new(Duration::from_secs(5)).unwrap()
    }

    /// The error `request` must end in.
    async fn failed(request: Request<'_>) -> HttpError {
        match client().send(request).await {
            Ok(r) => panic!("answered {}", r.status),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_refused_with_or_without_a_length() {
        let (url, _) = server(ok("0123456789")).await;
        let r = client().send(Request::new("GET", &url, 10)).await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"0123456789"[..]));
        let e = failed(Request::new("GET", &url, 9)).await;
        assert_eq!(e.failure, Failure::TooLong);
        assert_eq!(e.kind(), ErrorKind::Invalid);
        // Without a Content-Length the cap is checked while reading.
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                       6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n";
        let (url, _) = server(chunked.into()).await;
        let e = failed(Request::new("GET", &url, 8)).await;
        assert_eq!(e.failure, Failure::TooLong, "{}", e.detail);
        let r = client().send(Request::new("GET", &url, 12)).await.unwrap();
        assert_eq!(r.body, b"012345678901");
    }

    #[tokio::test]
    async fn a_request_with_credentials_is_never_redirected() {
        let (target, reached) = server(ok("followed")).await;
        let redirect = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (url, _) = server(redirect).await;
        let token = Secret::new("bearer-token-value");
        let password = Secret::new("pw");
        for auth in [
            Auth::Bearer(&token),
            Auth::Basic {
                user: "u",
                password: &password,
            },
            Auth::InBody,
        ] {
            let e = failed(
                Request::new("POST", &url, 1024)
                    .auth(auth)
                    .form(vec![("client_secret".into(), "s3cret".into())]),
            )
            .await;
            assert_eq!(e.failure, Failure::Redirected, "{}", e.detail);
            assert!(e.detail.contains("127.0.0.1"), "{}", e.detail);
        }
        assert!(
            reached.lock().unwrap().is_empty(),
            "the redirect target was asked"
        );
        // Without credentials a redirect to loopback is followed.
        let r = client()
            .send(Request::new("GET", &url, 1024))
            .await
            .unwrap();
        assert_eq!(r.body, b"followed");
        assert_eq!(reached.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_bearer_token_goes_in_the_header_only_to_the_server_asked() {
        let (url, seen) = server(ok("{}")).await;
        let token = Secret::new("tok123");
        let r = client()
            .send(
                Request::new("PATCH", &url, 1024)
                    .auth(Auth::Bearer(&token))
                    .header("Prefer", "x")
                    .json(&serde_json::json!({"a": 1})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let head = seen.lock().unwrap()[0].to_ascii_lowercase();
        assert!(head.starts_with("patch / "), "{head}");
        assert!(head.contains("authorization: bearer tok123"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("prefer: x"), "{head}");
    }

    #[tokio::test]
    async fn plain_http_is_refused_off_loopback_before_connecting() {
        for url in [
            "http://example.com/",
            "http://localhost.example.com:80/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            let e = failed(Request::new("GET", url, 10)).await;
            assert_eq!(e.failure, Failure::Insecure, "{url}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_transient_and_names_no_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/users?$filter=secret",
            listener.local_addr().unwrap()
        );
        drop(listener);
        let e = failed(Request::new("GET", &url, 10)).await;
        assert_eq!(e.failure, Failure::NotReached);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(!e.detail.contains("secret"), "{}", e.detail);
    }

    #[test]
    fn retry_after_is_read_in_both_forms_and_bounded() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("86400000"), Some(MAX_WAIT));
        assert_eq!(parse_retry_after("99999999999999999999999"), Some(MAX_WAIT));
        for bad in ["", "-1", "1.5", "soon", "0x10"] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = chrono::Utc::now() + chrono::Duration::seconds(90);
        let d = parse_retry_after(&later.to_rfc2822()).unwrap();
        assert!(
            d > Duration::from_secs(85) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        let far = chrono::Utc::now() + chrono::Duration::days(400);
        assert_eq!(parse_retry_after(&far.to_rfc2822()), Some(MAX_WAIT));
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_of_status(401), ErrorKind::AuthFailed);
        assert_eq!(kind_of_status(403), ErrorKind::PermissionDenied);
        assert_eq!(kind_of_status(404), ErrorKind::Gone);
        assert_eq!(kind_of_status(429), ErrorKind::Throttled);
        assert_eq!(kind_of_status(507), ErrorKind::OverQuota);
        assert_eq!(kind_of_status(400), ErrorKind::Invalid);
        assert_eq!(kind_of_status(503), ErrorKind::Unavailable);
    }
}
