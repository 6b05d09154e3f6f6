//! The certificates the PostgreSQL and MySQL drivers trust when they verify a server: the
//! file the URL names (`sslrootcert`, `x-tls-ca`) when it names one, else the system's
//! store (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else the distribution's usual places), else, where
//! there is none (an image `FROM scratch`), the public roots bundled into the binary
//! (Mozilla's set, from the webpki-roots crate). A failed verification names the store it
//! used, so "unknown issuer" in an empty image points at the missing certificates.

use std::fmt;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

use crate::error::{Error, Result};

/// Where the trusted roots came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A PEM file named by a URL parameter (`param` is its name).
    File { param: &'static str, path: String },
    /// The system's store: `count` certificates rustls could use.
    System { count: usize },
    /// The bundled public roots: no usable system store was found.
    Bundled,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File { param, path } => write!(f, "{param} {path}"),
            Source::System { count } => {
                write!(f, "the system's certificate store ({count} certificates)")
            }
            Source::Bundled => f.write_str(
                "the bundled public roots (webpki-roots; no system certificate store was found)",
            ),
        }
    }
}

/// A root store and where it came from.
pub(crate) struct Roots {
    /// The PostgreSQL driver's verifier takes the store.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) store: RootCertStore,
    /// The certificates the store was made of, for a client that takes certificates rather
    /// than a store (the MySQL driver's); empty for the bundled roots, which that client
    /// bundles too.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) certs: Vec<CertificateDer<'static>>,
    pub(crate) source: Source,
}

/// The certificates of a PEM file; `what` names the URL parameter in the error.
pub(crate) fn pem_certs(what: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Other(format!("cannot read {what} {path}: {e}")))
}

/// Exactly the certificates of the PEM file the URL parameter `param` names.
pub(crate) fn from_file(param: &'static str, path: &str) -> Result<Roots> {
    let certs = pem_certs(param, path)?;
    if certs.is_empty() {
        return Err(Error::Other(format!(
            "{param} {path}: no PEM certificate in the file"
        )));
    }
    let mut store = RootCertStore::empty();
    for c in &certs {
        store
            .add(c.clone())
            .map_err(|e| Error::Other(format!("{param} {path}: {e}")))?;
    }
    let source = Source::File {
        param,
        path: path.to_string(),
    };
    Ok(Roots {
        store,
        certs,
        source,
    })
}

/// The system's store, or the bundled roots when it has no usable certificate.
pub(crate) fn system_or_bundled() -> Roots {
    // Unreadable entries are skipped, as OpenSSL does with a bad file in the directory.
    choose(rustls_native_certs::load_native_certs().certs)
}

/// The store for the system certificates `found`: those rustls can use, or the bundled
/// roots when that leaves none.
fn choose(found: Vec<CertificateDer<'static>>) -> Roots {
    let mut store = RootCertStore::empty();
    let certs: Vec<_> = found
        .into_iter()
        .filter(|c| store.add(c.clone()).is_ok())
        .collect();
    if !certs.is_empty() {
        let source = Source::System { count: certs.len() };
        return Roots {
            store,
            certs,
            source,
        };
    }
    let store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Roots {
        store,
        certs: Vec::new(),
        source: Source::Bundled,
    }
}

/// Whether `e`, or an error it wraps, is a server certificate whose chain did not verify
/// (a certificate issued for another name is not: no other roots would help).
pub(crate) fn is_unverified_chain(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        // An I/O error carries the TLS error it wraps as its payload, not as its source.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(c)) =
            inner.or_else(|| e.downcast_ref::<rustls::Error>())
        {
            return !matches!(
                c,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            );
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_usable_system_certificate_falls_back_to_the_bundled_roots() {
        for found in [vec![], vec![CertificateDer::from(b"not DER".to_vec())]] {
            let roots = choose(found);
            assert_eq!(roots.source, Source::Bundled);
            assert!(roots.certs.is_empty());
            assert_eq!(roots.store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
            assert!(roots.store.len() > 100, "{}", roots.store.len());
            assert!(roots.source.to_string().contains("bundled public roots"));
        }
    }

    #[test]
    fn usable_system_certificates_are_used_alone() {
        // The machine's own system certificates, with junk mixed in, stand for a system
        // store of n usable certificates.
        let system = rustls_native_certs::load_native_certs().certs;
        if system.is_empty() {
            let msg = "\n*** SKIPPED usable_system_certificates_are_used_alone: no system certificates here ***\n";
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return;
        }
        for n in [1, 2, 7, system.len()] {
            let n = n.min(system.len());
            let mut found: Vec<_> = system[..n].to_vec();
            found.push(CertificateDer::from(b"junk".to_vec()));
            let roots = choose(found);
            assert_eq!(roots.source, Source::System { count: n });
            assert_eq!(roots.store.len(), n);
            assert_eq!(roots.certs, system[..n].to_vec());
            assert!(roots
                .source
                .to_string()
                .contains(&format!("({n} certificates)")));
        }
    }

    #[test]
    fn only_a_chain_that_did_not_verify_counts() {
        let io = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        for (e, want) in [
            (CertificateError::UnknownIssuer, true),
            (CertificateError::BadSignature, true),
            (CertificateError::Expired, true),
            (CertificateError::NotValidForName, false),
        ] {
            let tls = rustls::Error::InvalidCertificate(e);
            assert_eq!(is_unverified_chain(&tls), want, "{tls}");
            let wrapped = io(tls);
            assert_eq!(is_unverified_chain(&wrapped), want, "{wrapped}");
        }
        let other = io(rustls::Error::DecryptError);
        assert!(!is_unverified_chain(&other));
        let plain = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_unverified_chain(&plain));
    }

    #[test]
    fn a_named_file_is_read_or_named_in_the_error() {
        let e = from_file("sslrootcert", "/nonexistent/root.crt")
            .err()
            .expect("missing file");
        assert!(
            e.to_string().contains("sslrootcert /nonexistent/root.crt"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        let empty = empty.to_str().expect("utf-8");
        let e = from_file("x-tls-ca", empty).err().expect("no certificate");
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
    }
}
