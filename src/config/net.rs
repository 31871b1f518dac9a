//! Network rules shared by every backend that talks to a server: plain text (http, IMAP
//! without TLS) is allowed only to loopback, so a typo cannot send credentials in the clear.

use std::net::IpAddr;

/// Whether a host name or address is loopback (`localhost`, 127.0.0.0/8, `::1`).
/// Bracketed IPv6 (`[::1]`) is accepted as written in URLs.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Check a base URL from config (`authority_host`, `graph_endpoint`): https anywhere, http
/// only to loopback. Returns the URL without a trailing slash. `key` names it in errors.
///
/// The URL is read by the same parser the HTTP client uses, so the host checked is the host
/// connected to: `http://localhost:80@evil.example` names `evil.example`, not `localhost`.
/// User info is refused outright (credentials go in their own keys, never in a URL).
pub fn checked_base_url(url: &str, key: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| format!("{key} = \"{url}\": not a URL ({e}; expected https://host)"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{key} = \"{url}\": a user name or password in the URL is not accepted"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{key} = \"{url}\": a base URL takes no query (?) or fragment (#)"
        ));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{key} = \"{url}\": no host"))?;
    match parsed.scheme() {
        "https" => Ok(trimmed.to_string()),
        "http" if is_loopback_host(host) => Ok(trimmed.to_string()),
        "http" => Err(format!(
            "{key} = \"{url}\": http is allowed only to loopback; use https"
        )),
        other => Err(format!("{key} = \"{url}\": unsupported scheme {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "[::1]",
            "LocalHost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "example.com",
            "localhost.example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            checked_base_url("https://graph.microsoft.com/", "graph_endpoint"),
            Ok("https://graph.microsoft.com".into())
        );
        assert!(checked_base_url("http://127.0.0.1:8080", "k").is_ok());
        assert!(checked_base_url("http://[::1]:8080/x", "k").is_ok());
        let err = checked_base_url("http://graph.example.com", "graph_endpoint").unwrap_err();
        assert!(err.contains("only to loopback"), "{err}");
        assert!(checked_base_url("ftp://x", "k").is_err());
        assert!(checked_base_url("graph.microsoft.com", "k").is_err());
        // The host the client would connect to is the one checked.
        for sneaky in [
            "http://localhost:80@evil.example",
            "http://127.0.0.1@evil.example/v1",
            "https://user:pw@graph.microsoft.com",
        ] {
            let err = checked_base_url(sneaky, "graph_endpoint").unwrap_err();
            assert!(err.contains("user name or password"), "{sneaky}: {err}");
        }
        assert!(checked_base_url("http://evil.example#@localhost", "k").is_err());
        assert!(checked_base_url("http://evil.example?@localhost", "k").is_err());
        assert!(checked_base_url("http://localhost.evil.example", "k").is_err());
    }
}
