//! NTLM (NTLMv2 only) for on-premises Exchange, with `ntlmclient` computing the messages.
//!
//! NTLM authenticates a connection, not a request: the Negotiate and the Authenticate
//! message must travel on the connection that got the Challenge, and later requests on it
//! need no header. So requests go through lanes: each lane is an HTTP client used by one
//! request at a time, whose pool keeps the one connection it authenticated.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::backends::common::http::HttpClient;
use crate::config::secret::Secret;

/// A user as NTLM names it: `DOMAIN\user`, or a UPN (`user@domain`) with an empty domain.
pub struct NtlmUser {
    pub domain: String,
    pub user: String,
}

impl NtlmUser {
    pub fn parse(username: &str) -> NtlmUser {
        match username.split_once('\\') {
            Some((domain, user)) => NtlmUser {
                domain: domain.to_string(),
                user: user.to_string(),
            },
            None => NtlmUser {
                domain: String::new(),
                user: username.to_string(),
            },
        }
    }
}

/// The workstation name sent in the messages (Exchange logs it).
const WORKSTATION: &str = "RETRACTOR";

/// The Negotiate message, base64.
pub fn negotiate() -> Result<String, String> {
    let flags = ntlmclient::Flags::NEGOTIATE_UNICODE
        | ntlmclient::Flags::REQUEST_TARGET
        | ntlmclient::Flags::NEGOTIATE_NTLM
        | ntlmclient::Flags::NEGOTIATE_WORKSTATION_SUPPLIED;
    let message = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
        flags,
        supplied_domain: String::new(),
        supplied_workstation: WORKSTATION.to_string(),
        os_version: Default::default(),
    });
    let bytes = message
        .to_bytes()
        .map_err(|e| format!("cannot encode the NTLM negotiate message: {e:?}"))?;
    Ok(STANDARD.encode(bytes))
}

/// The Authenticate message answering the server's `WWW-Authenticate: NTLM <challenge>`.
pub fn authenticate(
    challenge_header: &str,
    user: &NtlmUser,
    password: &Secret,
) -> Result<String, String> {
    let token = challenge_header
        .split(',')
        .map(str::trim)
        .find_map(|h| h.strip_prefix("NTLM "))
        .ok_or("the server offered no NTLM challenge")?;
    let bytes = STANDARD
        .decode(token.trim())
        .map_err(|_| "the NTLM challenge is not base64")?;
    let challenge = match ntlmclient::Message::try_from(bytes.as_slice()) {
        Ok(ntlmclient::Message::Challenge(c)) => c,
        Ok(_) => {
            return Err("the server answered NTLM with a message that is not a challenge".into());
        }
        Err(e) => return Err(format!("the NTLM challenge is malformed: {e:?}")),
    };
    let target_info: Vec<u8> = challenge
        .target_information
        .iter()
        .flat_map(|entry| entry.to_bytes())
        .collect();
    let credentials = ntlmclient::Credentials {
        username: user.user.clone(),
        password: password.expose().to_string(),
        domain: user.domain.clone(),
    };
    let response = ntlmclient::respond_challenge_ntlm_v2(
        challenge.challenge,
        &target_info,
        ntlmclient::get_ntlm_time(),
        &credentials,
    );
    let flags = ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM;
    let message = response.to_message(&credentials, WORKSTATION, flags);
    let bytes = message
        .to_bytes()
        .map_err(|e| format!("cannot encode the NTLM authenticate message: {e:?}"))?;
    Ok(STANDARD.encode(bytes))
}

/// One lane: a client and whether its connection is authenticated.
pub struct Lane {
    pub http: HttpClient,
    pub authenticated: bool,
}

/// The idle lanes of a tenant; a request takes one (or makes a new one) and gives it back.
pub struct Lanes {
    idle: Mutex<Vec<Lane>>,
    timeout: Duration,
    roots_pem: Vec<u8>,
}

impl Lanes {
    pub fn new(timeout: Duration, roots_pem: Vec<u8>) -> Lanes {
        Lanes {
            idle: Mutex::new(Vec::new()),
            timeout,
            roots_pem,
        }
    }

    /// An idle lane, authenticated ones first, or a new one.
    pub fn take(&self) -> Result<Lane, String> {
        if let Some(lane) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(lane);
        }
        self.fresh()
    }

    /// A new lane, never used: a new connection.
    pub fn fresh(&self) -> Result<Lane, String> {
        Ok(Lane {
            http: HttpClient::trusting(self.timeout, &self.roots_pem)?,
            authenticated: false,
        })
    }

    /// Give a lane back after a request (a lane whose request failed is dropped instead, so
    /// its connection is never reused in an unknown state).
    pub fn give_back(&self, lane: Lane) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(lane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_split_into_domain_and_name() {
        let u = NtlmUser::parse("CORP\\svc-retractor");
        assert_eq!(
            (u.domain.as_str(), u.user.as_str()),
            ("CORP", "svc-retractor")
        );
        let u = NtlmUser::parse("svc@corp.example");
        assert_eq!(
            (u.domain.as_str(), u.user.as_str()),
            ("", "svc@corp.example")
        );
        let negotiate = STANDARD.decode(negotiate().unwrap()).unwrap();
        assert!(negotiate.starts_with(b"NTLMSSP\0\x01\0\0\0"));
        assert!(authenticate("Basic realm=x", &u, &Secret::new("p")).is_err());
        assert!(authenticate("NTLM !!!", &u, &Secret::new("p")).is_err());
    }
}
