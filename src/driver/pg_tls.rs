//! TLS for PostgreSQL with rustls (pure Rust, `ring` for the cryptography): no OpenSSL to
//! link or to find at run time, and libpq's `sslmode` semantics:
//!
//! | sslmode | certificate chain | host name |
//! |---|---|---|
//! | `allow`, `prefer`, `require` (no `sslrootcert`) | not checked | not checked |
//! | `require` with `sslrootcert`, `verify-ca` | checked | not checked |
//! | `verify-full` | checked | checked |
//!
//! The trusted roots are `sslrootcert` when given, else the system's, else the bundled public
//! roots (`super::roots`). A chain that does not verify is reported with the store it was
//! checked against.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::roots::{self, pem_certs, Source};
use crate::error::{Error, Result};

/// What the server's certificate is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encryption only (libpq's `require` without a root certificate).
    Nothing,
    /// The chain up to a trusted root, any host name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

impl Verify {
    /// libpq's rule: `require` with a root certificate behaves as `verify-ca`.
    pub(crate) fn for_sslmode(mode: &str, has_root_cert: bool) -> Verify {
        match (mode, has_root_cert) {
            ("verify-full", _) => Verify::Full,
            ("verify-ca", _) | ("require", true) => Verify::Chain,
            _ => Verify::Nothing,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("tls: {e}"))
}

/// A connection's rustls configuration, and where its trusted roots came from (`None`:
/// the certificate is not verified).
pub(crate) struct Tls {
    pub(crate) config: ClientConfig,
    pub(crate) roots: Option<Source>,
}

/// The rustls client configuration for a connection.
pub(crate) fn client_config(
    verify: Verify,
    root_cert: Option<&str>,
    client_cert: Option<(&str, &str)>,
) -> Result<Tls> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let chain = match verify {
        Verify::Nothing => None,
        Verify::Chain | Verify::Full => {
            let roots = match root_cert {
                Some(p) => roots::from_file("sslrootcert", p)?,
                None => roots::system_or_bundled(),
            };
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots.store),
                provider.clone(),
            )
            .build()
            .map_err(tls)?;
            Some((webpki, roots.source))
        }
    };
    let (chain, roots) = chain.unzip();
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Checked {
            chain,
            check_name: verify == Verify::Full,
            provider,
        }));
    let config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = pem_certs("sslcert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::Other(format!("cannot read sslkey {key}: {e}")))?;
            builder.with_client_auth_cert(chain, key).map_err(tls)?
        }
    };
    Ok(Tls { config, roots })
}

/// The server certificate check of every sslmode. `chain: None` is `require` without a root
/// certificate: any certificate. With a chain verifier, `check_name: false` is `verify-ca`
/// (a certificate issued for another name is accepted) and `true` is `verify-full`. Either
/// way the handshake's signatures are checked (the key exchange is authenticated by the
/// certificate's key).
#[derive(Debug)]
struct Checked {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                e @ (CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }),
            )) => match self.check_name {
                true => Err(rustls::Error::InvalidCertificate(e)),
                false => Ok(ServerCertVerified::assertion()),
            },
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_verification_follows_libpq() {
        assert_eq!(Verify::for_sslmode("prefer", false), Verify::Nothing);
        assert_eq!(Verify::for_sslmode("allow", true), Verify::Nothing);
        assert_eq!(Verify::for_sslmode("require", false), Verify::Nothing);
        assert_eq!(Verify::for_sslmode("require", true), Verify::Chain);
        assert_eq!(Verify::for_sslmode("verify-ca", false), Verify::Chain);
        assert_eq!(Verify::for_sslmode("verify-full", false), Verify::Full);
        assert_eq!(Verify::for_sslmode("verify-full", true), Verify::Full);
    }

    #[test]
    fn unreadable_certificate_files_are_named() {
        let e = client_config(Verify::Chain, Some("/nonexistent/root.crt"), None)
            .err()
            .expect("missing root");
        assert!(
            e.to_string().contains("sslrootcert /nonexistent/root.crt"),
            "{e}"
        );
        let e = client_config(
            Verify::Nothing,
            None,
            Some(("/nonexistent/c.pem", "/k.pem")),
        )
        .err()
        .expect("missing client certificate");
        assert!(e.to_string().contains("sslcert /nonexistent/c.pem"), "{e}");
    }
}
