//! The certificates the PostgreSQL and MySQL drivers trust when they verify a server: the
//! file the URL names (`sslrootcert`, `x-tls-ca`) when it names one, else the system's
//! store (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else the distribution's usual places), else, where
//! there is none (an image `FROM scratch`), the public roots bundled into the binary
//! (Mozilla's set, from the webpki-roots crate). A failed verification names the store it
//! used, so "unknown issuer" in an empty image points at the missing certificates.

#[cfg(feature = "postgres")]
use std::fmt;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

use crate::error::{Error, Result};

/// Where the trusted roots came from.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A PEM file named by a URL parameter (`param` is its name).
    File { param: &'static str, path: String },
    /// The system's store: `count` certificates rustls could use.
    System { count: usize },
    /// The bundled public roots: no usable system store was found.
    Bundled,
}

#[cfg(feature = "postgres")]
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
#[cfg(feature = "postgres")]
pub(crate) struct Roots {
    pub(crate) store: RootCertStore,
    pub(crate) source: Source,
}

/// The certificates of a PEM file; `what` names the URL parameter in the error.
pub(crate) fn pem_certs(what: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Other(format!("cannot read {what} {path}: {e}")))
}

/// Exactly the certificates of the PEM file the URL parameter `param` names.
#[cfg(feature = "postgres")]
pub(crate) fn from_file(param: &'static str, path: &str) -> Result<Roots> {
    let certs = pem_certs(param, path)?;
    if certs.is_empty() {
        return Err(Error::Other(format!(
            "{param} {path}: no PEM certificate in the file"
        )));
    }
    let mut store = RootCertStore::empty();
    for c in certs {
        store
            .add(c)
            .map_err(|e| Error::Other(format!("{param} {path}: {e}")))?;
    }
    let source = Source::File {
        param,
        path: path.to_string(),
    };
    Ok(Roots { store, source })
}

/// The system's store, or the bundled roots when it has no usable certificate.
#[cfg(feature = "postgres")]
pub(crate) fn system_or_bundled() -> Roots {
    // Unreadable entries are skipped, as OpenSSL does with a bad file in the directory.
    choose(rustls_native_certs::load_native_certs().certs)
}

/// The store for the system certificates `found`: those rustls can use, or the bundled
/// roots when that leaves none.
#[cfg(feature = "postgres")]
fn choose(found: Vec<CertificateDer<'static>>) -> Roots {
    let mut store = RootCertStore::empty();
    let (count, _) = store.add_parsable_certificates(found);
    if count > 0 {
        return Roots {
            store,
            source: Source::System { count },
        };
    }
    let store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Roots {
        store,
        source: Source::Bundled,
    }
}

/// The system's bundle file, for a client that takes one file of extra roots (the MySQL
/// driver's): `SSL_CERT_FILE`, else the first of the distributions' usual bundle paths
/// that exists, and only when rustls can use every certificate in it (the MySQL client
/// refuses the whole file otherwise). `None` where there is none.
#[cfg(feature = "mysql")]
pub(crate) fn system_bundle_file() -> Option<(std::path::PathBuf, usize)> {
    let path = openssl_probe::probe().cert_file?;
    let text = path.to_str()?;
    let certs = pem_certs("SSL_CERT_FILE", text).ok()?;
    let mut store = RootCertStore::empty();
    let count = certs.len();
    for c in certs {
        store.add(c).ok()?;
    }
    (count > 0).then_some((path, count))
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

    #[cfg(feature = "postgres")]
    #[test]
    fn no_usable_system_certificate_falls_back_to_the_bundled_roots() {
        for found in [vec![], vec![CertificateDer::from(b"not DER".to_vec())]] {
            let roots = choose(found);
            assert_eq!(roots.source, Source::Bundled);
            assert_eq!(roots.store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
            assert!(roots.store.len() > 100, "{}", roots.store.len());
            assert!(roots.source.to_string().contains("bundled public roots"));
        }
    }

    #[cfg(feature = "postgres")]
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

    #[cfg(feature = "postgres")]
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
