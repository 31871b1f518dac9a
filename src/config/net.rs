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
pub fn checked_base_url(url: &str, key: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| format!("{key} = \"{url}\": not a URL (expected https://host)"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        // `[::1]:8080` or `host:8080`; a bare `[::1]` has its colons inside the brackets.
        Some((h, port)) if !port.contains(']') => h,
        _ => authority,
    };
    if host.is_empty() {
        return Err(format!("{key} = \"{url}\": no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
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
    }
}
