//! TLS for the client: whom it trusts to vouch for the service's certificate, and the PEM files
//! both ends read (the service's own configuration is the service's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Largest PEM file read (certificate chain, key, CA bundle).
pub const PEM_BYTES_MAX: usize = 1 << 20;
/// What went wrong setting up TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: larger than {PEM_BYTES_MAX} bytes; not a PEM file")]
    TooLarge { path: PathBuf },
    #[error("{path}: {why}")]
    Pem { path: PathBuf, why: String },
    #[error("{path}: no {what} found (expected a PEM block \"-----BEGIN {what}-----\")")]
    Missing { path: PathBuf, what: &'static str },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Whom a client trusts to vouch for the service's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Trust {
    /// The system's root certificates (`/etc/ssl/certs` and the like).
    #[default]
    SystemRoots,
    /// Only the CA certificates in this PEM file.
    CaFile(PathBuf),
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > PEM_BYTES_MAX as u64 {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read(path).map_err(io)
}

/// Every certificate in a PEM file (at least one).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Missing {
            path: path.to_path_buf(),
            what: "CERTIFICATE",
        });
    }
    Ok(certs)
}

/// A client's TLS configuration. With [`Trust::SystemRoots`], certificates the system store
/// holds but rustls cannot parse are skipped (an empty store fails every handshake with
/// "unknown issuer", which names the problem).
pub fn client_config(trust: &Trust) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match trust {
        Trust::SystemRoots => {
            let found = rustls_native_certs::load_native_certs();
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!(
                    ignored,
                    errors = found.errors.len(),
                    "no system root certificates found; https:// services need --ca-cert"
                );
            }
        }
        Trust::CaFile(path) => {
            let certs = read_certificates(path)?;
            for cert in &certs {
                roots.add(cert.clone()).map_err(|e| TlsError::Pem {
                    path: path.clone(),
                    why: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
            return Ok(rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Config(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedOrCa {
                    pinned: certs,
                    webpki,
                    provider: provider(),
                }))
                .with_no_client_auth());
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Trust for `--ca-cert FILE`: a server presenting exactly one of the file's certificates is
/// trusted as that certificate (pinned: a self-signed certificate made with `openssl req -x509`
/// is marked CA:TRUE, which certificate-path validation refuses as a server's own
/// certificate); any other server certificate must chain to one of them as to a CA. The
/// handshake's signature is checked against the presented certificate's key either way.
#[derive(Debug)]
struct PinnedOrCa {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedOrCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
