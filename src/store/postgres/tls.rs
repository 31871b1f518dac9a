//! TLS to PostgreSQL, as `[store] sslmode` asks (libpq's names and meanings): rustls with the
//! ring provider (as IMAP's connections), handed to the driver by `tokio-postgres-rustls`.
//!
//! Trust: `ca_file` alone when it is given (as libpq's `sslrootcert`: a team database's
//! certificate is usually signed by a private CA, and a public CA signing some other
//! `db.corp.test` must not be enough), else the system's roots.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};

use crate::config::SslMode;

/// The driver's TLS for `sslmode`: `None` for `disable` (plain TCP).
pub(super) fn connector(
    sslmode: SslMode,
    ca_file: Option<&Path>,
) -> Result<Option<MakeRustlsConnect>, String> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (sslmode, ca_file) {
        (SslMode::Disable, _) => return Ok(None),
        // libpq's rule: with a root certificate given, `require` checks it as `verify-ca`.
        (SslMode::Require, None) => Arc::new(Unchecked(provider.clone())),
        (SslMode::Require | SslMode::VerifyCa, _) => {
            Arc::new(AnyName(webpki(roots(ca_file)?, &provider)?))
        }
        (SslMode::VerifyFull, _) => webpki(roots(ca_file)?, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// A failed connection's words with what to check, naming the settings, when TLS is what
/// failed (the driver says "error performing TLS handshake: ..."; the roots' own errors name
/// certificates).
pub(super) fn explain(detail: String, sslmode: SslMode, ca_file: Option<&Path>) -> String {
    if sslmode == SslMode::Disable || !(detail.contains("TLS") || detail.contains("certificate")) {
        return detail;
    }
    let trusted = match ca_file {
        Some(file) => format!("the CA in [store] ca_file = {}", file.display()),
        None => "one of the system's trusted CAs (set [store] ca_file to the CA that signed it)"
            .to_string(),
    };
    let what = match (sslmode, ca_file) {
        (SslMode::Require, None) => {
            "the server must accept TLS (ssl = on in postgresql.conf)".to_string()
        }
        (SslMode::VerifyFull, _) => format!(
            "the server must accept TLS, and its certificate be signed by {trusted} and name the url's host"
        ),
        _ => format!("the server must accept TLS, and its certificate be signed by {trusted}"),
    };
    format!(
        "{detail}; with [store] sslmode = \"{}\" {what}",
        sslmode.as_str()
    )
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(file) => {
            let named =
                |e: &dyn std::fmt::Display| format!("[store] ca_file {}: {e}", file.display());
            for cert in CertificateDer::pem_file_iter(file).map_err(|e| named(&e))? {
                roots
                    .add(cert.map_err(|e| named(&e))?)
                    .map_err(|e| named(&e))?;
            }
            if roots.is_empty() {
                return Err(named(&"holds no PEM certificate"));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A broken system certificate is no reason to refuse the others.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(
                    "no trusted CA certificates: none in the system's store and no [store] ca_file"
                        .into(),
                );
            }
        }
    }
    Ok(roots)
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup: {e}"))
}

/// `require` without a CA: encrypted, the certificate taken as it is (the handshake's
/// signatures are still checked, so the session is with the certificate's key holder).
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked to a trusted CA, the host's name not. WebPKI checks the
/// chain (and validity) before the name, so a name mismatch means the rest passed.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
