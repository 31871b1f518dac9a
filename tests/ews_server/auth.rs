//! Authentication as IIS in front of EWS does it: Basic, a bearer token, or NTLM bound to the
//! TCP connection (the Challenge is remembered per connection; an Authenticate arriving on
//! another connection fails; an authenticated connection needs no header afterwards). The
//! NTLMv2 answer is verified here from the password: NTOWFv2 = HMAC-MD5(MD4(UTF-16LE
//! password), UTF-16LE(UPPER(user) + domain)); NTProofStr = HMAC-MD5(NTOWFv2, server
//! challenge + blob) must equal the first 16 bytes of the NT response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;

use super::{Data, PASSWORD, TOKEN, USER};

fn refused(offer_ntlm: Option<String>) -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "401 - Unauthorized").into_response();
    let h = r.headers_mut();
    match offer_ntlm {
        Some(challenge) => {
            h.insert(
                "www-authenticate",
                format!("NTLM {challenge}").parse().expect("header"),
            );
        }
        None => {
            h.append("www-authenticate", "NTLM".parse().expect("header"));
            h.append("www-authenticate", "Negotiate".parse().expect("header"));
            h.append(
                "www-authenticate",
                "Basic realm=\"mail.corp.test\"".parse().expect("header"),
            );
        }
    }
    r
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Whether an NTLMv2 answer proves the password for this challenge.
fn verify(challenge: [u8; 8], user: &str, domain: &str, nt_response: &[u8]) -> bool {
    if nt_response.len() < 32 {
        return false;
    }
    let nt_hash = Md4::digest(utf16(PASSWORD));
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(&nt_hash).expect("key");
    mac.update(&utf16(&user.to_uppercase()));
    mac.update(&utf16(domain));
    let owf = mac.finalize().into_bytes();
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(&owf).expect("key");
    mac.update(&challenge);
    mac.update(&nt_response[16..]);
    mac.verify_slice(&nt_response[..16]).is_ok()
}

fn challenge_message(challenge: [u8; 8]) -> String {
    let message = ntlmclient::Message::Challenge(ntlmclient::ChallengeMessage {
        target_name: "CORP".into(),
        flags: ntlmclient::Flags::NEGOTIATE_UNICODE
            | ntlmclient::Flags::NEGOTIATE_NTLM
            | ntlmclient::Flags::NEGOTIATE_TARGET_INFO
            | ntlmclient::Flags::TARGET_TYPE_DOMAIN,
        challenge,
        context: (0, 0),
        target_information: vec![
            ntlmclient::TargetInfoEntry::from_string(ntlmclient::TargetInfoType::NtDomain, "CORP"),
            ntlmclient::TargetInfoEntry::from_string(
                ntlmclient::TargetInfoType::NtServer,
                "EXCH01",
            ),
        ],
        os_version: Default::default(),
    });
    STANDARD.encode(message.to_bytes().expect("challenge bytes"))
}

/// `Ok` when the request may be served; the refusal to send otherwise.
pub(super) fn check(
    shared: &Arc<Mutex<Data>>,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let mut d = shared.lock().unwrap_or_else(|e| e.into_inner());
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Some(basic) = header.strip_prefix("Basic ") {
        let decoded = STANDARD.decode(basic.trim()).unwrap_or_default();
        let expected = format!("{USER}:{PASSWORD}");
        return if decoded == expected.as_bytes() {
            Ok(())
        } else {
            Err(Box::new(refused(None)))
        };
    }
    if let Some(token) = header.strip_prefix("Bearer ") {
        return if token.trim() == TOKEN {
            Ok(())
        } else {
            Err(Box::new(refused(None)))
        };
    }
    if let Some(token) = header.strip_prefix("NTLM ") {
        let bytes = STANDARD.decode(token.trim()).unwrap_or_default();
        return match ntlmclient::Message::try_from(bytes.as_slice()) {
            Ok(ntlmclient::Message::Negotiate(_)) => {
                let challenge: [u8; 8] = rand::random();
                d.challenges.insert(peer, challenge);
                d.authenticated.remove(&peer);
                Err(Box::new(refused(Some(challenge_message(challenge)))))
            }
            Ok(ntlmclient::Message::Authenticate(a)) => {
                // IIS answers an Authenticate on a connection that got no Challenge (the
                // client's connection pool opened a new one) 401, as any unauthenticated
                // request, without looking at the password; the client tries once more.
                let Some(challenge) = d.challenges.remove(&peer) else {
                    d.stats.ntlm_orphan_authenticates += 1;
                    return Err(Box::new(refused(None)));
                };
                if d.refuse_authenticates > 0 {
                    d.refuse_authenticates -= 1;
                    d.stats.ntlm_orphan_authenticates += 1;
                    return Err(Box::new(refused(None)));
                }
                let (user, domain) = USER.split_once('\\').unwrap_or(("", USER));
                let (user, domain) = (domain, user);
                if a.user_name.eq_ignore_ascii_case(user)
                    && a.domain_name.eq_ignore_ascii_case(domain)
                    && verify(challenge, &a.user_name, &a.domain_name, &a.ntlm_response)
                {
                    d.authenticated.insert(peer);
                    d.stats.ntlm_handshakes += 1;
                    Ok(())
                } else {
                    Err(Box::new(refused(None)))
                }
            }
            _ => Err(Box::new(refused(None))),
        };
    }
    if d.authenticated.contains(&peer) {
        return Ok(());
    }
    Err(Box::new(refused(None)))
}
