//! The service over TLS on loopback, with a CA and a server certificate made at test time: a
//! signed request succeeds with the CA pinned; without it (system roots, or another CA) the
//! client fails naming the unknown issuer and the flag to fix it; a plain-HTTP client is told to
//! use https; an https client at a plain-HTTP service is told what it met; bad certificate files
//! are refused naming the file; shutdown ends an open stream and stops the server.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use deconflict_client::wire::AgreementView;
use deconflict_client::{ClientError, PartyClient, Trust};
use deconflict_service::tls::{self, TlsError, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A CA (`ca.pem`), a certificate it signed for localhost and 127.0.0.1 (`server.pem`,
/// `server.key`), and an unrelated CA (`other-ca.pem`).
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert, Issuer::new(params, key))
    };
    let (ca_cert, issuer) = ca("deconflict test CA");
    let (other_ca, _) = ca("some other CA");
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "deconflict service");
    let key = KeyPair::generate().unwrap();
    let server = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.path().join("other-ca.pem"), other_ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
    Pki { dir }
}

fn files(p: &Pki) -> TlsFiles {
    TlsFiles {
        cert: p.path("server.pem"),
        key: p.path("server.key"),
    }
}

struct Running {
    h: Harness,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(tls: Option<&TlsFiles>) -> Running {
    let h = harness();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let state = h.state.clone();
    let server = match tls {
        Some(f) => {
            let config = tls::server_config(f).unwrap();
            tokio::spawn(tls::serve_tls(state, listener, config, false, shutdown))
        }
        None => tokio::spawn(deconflict_service::serve(state, listener, false, shutdown)),
    };
    Running {
        h,
        port,
        stop: Some(stop),
        server,
    }
}

impl Running {
    fn client(&self, base: &str, trust: Option<&Trust>) -> PartyClient {
        let clock: Arc<dyn deconflict_service::Clock> = Arc::new(self.h.clock.clone());
        match trust {
            Some(t) => {
                PartyClient::with_trust(base, "coalition", key("coalition"), clock, t).unwrap()
            }
            None => PartyClient::new(base, "coalition", key("coalition"), clock),
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), self.server)
            .await
            .expect("the server stops after shutdown")
            .unwrap()
            .unwrap();
    }
}

async fn agreement(c: &PartyClient) -> Result<AgreementView, ClientError> {
    c.call::<(), AgreementView>("GET", "/v1/agreement", None)
        .await
}

fn http_error(r: Result<AgreementView, ClientError>) -> String {
    match r {
        Err(ClientError::Http(m)) => {
            eprintln!("MSG: {m}");
            m
        }
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[tokio::test]
async fn signed_requests_over_tls_with_the_ca_pinned_and_clear_failures_without() {
    let p = pki();
    let s = start(Some(&files(&p))).await;
    let pinned = Trust::CaFile(p.path("ca.pem"));
    for host in ["localhost", "127.0.0.1"] {
        let c = s.client(&format!("https://{host}:{}", s.port), Some(&pinned));
        let view = agreement(&c).await.unwrap();
        assert_eq!(view.status, "in_force", "over https://{host}");
    }

    // The system's roots do not know the test CA; neither does another pinned CA.
    let base = format!("https://localhost:{}", s.port);
    for (case, c) in [
        ("system roots", s.client(&base, None)),
        (
            "another CA",
            s.client(&base, Some(&Trust::CaFile(p.path("other-ca.pem")))),
        ),
    ] {
        let m = http_error(agreement(&c).await);
        assert!(m.contains("UnknownIssuer"), "{case}: {m}");
        assert!(m.contains("--ca-cert"), "{case}: {m}");
    }

    // A plain-HTTP client at the TLS port is answered, in plain HTTP, to use https.
    let plain = s.client(&format!("http://127.0.0.1:{}", s.port), None);
    match agreement(&plain).await {
        Err(ClientError::Status { status, body }) => {
            assert_eq!((status, body.code.as_str()), (400, "tls_required"));
            assert!(body.message.contains("https://"), "{}", body.message);
        }
        other => panic!("expected 400 tls_required, got {other:?}"),
    }
    // With a body too (the request is read before the answer, so it is not reset).
    let (status, body) = plain
        .send("POST", "/v1/tracks", vec![b'x'; 20_000])
        .await
        .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    // This service's counters: the two pinned clients' connections accepted, the two
    // untrusting clients' handshakes failed, both plain requests refused.
    let metrics = s.h.state.metrics.tls.render();
    for line in [
        "deconflict_tls_connections_total{outcome=\"accepted\"} 2\n",
        "deconflict_tls_connections_total{outcome=\"handshake_failed\"} 2\n",
        "deconflict_tls_connections_total{outcome=\"plain_http_refused\"} 2\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    s.stop().await;
}

#[tokio::test]
async fn an_https_client_at_a_plain_http_service_is_told_what_it_met() {
    let p = pki();
    let s = start(None).await;
    let c = s.client(
        &format!("https://127.0.0.1:{}", s.port),
        Some(&Trust::CaFile(p.path("ca.pem"))),
    );
    let m = http_error(agreement(&c).await);
    assert!(m.contains("plain http://"), "{m}");
    // The same service over http:// answers.
    let c = s.client(&format!("http://127.0.0.1:{}", s.port), None);
    agreement(&c).await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_stops_the_tls_server() {
    let p = pki();
    let s = start(Some(&files(&p))).await;
    let c = s.client(
        &format!("https://localhost:{}", s.port),
        Some(&Trust::CaFile(p.path("ca.pem"))),
    );
    let mut stream = c.stream(None).await.unwrap();
    let reader = tokio::spawn(async move {
        loop {
            match stream.next().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.stop().await;
    tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the stream ends at shutdown")
        .unwrap()
        .unwrap();
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_certificate_files_are_refused_naming_the_file() {
    let p = pki();
    // A key that does not belong to the certificate.
    let other_key = write(
        p.dir.path(),
        "other.key",
        &KeyPair::generate().unwrap().serialize_pem(),
    );
    let e = tls::server_config(&TlsFiles {
        cert: p.path("server.pem"),
        key: other_key,
    })
    .unwrap_err();
    assert!(matches!(e, TlsError::Config(_)), "{e}");
    assert!(e.to_string().contains("server.pem"), "{e}");
    // A missing file.
    let e = tls::server_config(&TlsFiles {
        cert: p.path("nowhere.pem"),
        key: p.path("server.key"),
    })
    .unwrap_err();
    assert!(matches!(e, TlsError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nowhere.pem"), "{e}");
    // A key file given as the certificate, and a certificate given as the key.
    let e = tls::server_config(&TlsFiles {
        cert: p.path("server.key"),
        key: p.path("server.key"),
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::Missing {
                what: "CERTIFICATE",
                ..
            }
        ),
        "{e}"
    );
    let e = tls::server_config(&TlsFiles {
        cert: p.path("server.pem"),
        key: p.path("server.pem"),
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::Missing {
                what: "PRIVATE KEY",
                ..
            }
        ),
        "{e}"
    );
    // Damaged PEM.
    let broken = write(
        p.dir.path(),
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let e = tls::read_certificates(&broken).unwrap_err();
    assert!(matches!(e, TlsError::Pem { .. }), "{e}");
    // A CA file for the client is checked the same way.
    let e =
        deconflict_client::tls::client_config(&Trust::CaFile(p.path("server.key"))).unwrap_err();
    assert!(e.to_string().contains("server.key"), "{e}");
}

/// A self-signed server certificate (not a CA) can be pinned as its own trust anchor.
#[tokio::test]
async fn a_self_signed_certificate_pinned_directly() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = write(dir.path(), "self.pem", &cert.pem());
    let key_path = write(dir.path(), "self.key", &signing_key.serialize_pem());
    let s = start(Some(&TlsFiles {
        cert: cert_path.clone(),
        key: key_path,
    }))
    .await;
    let c = s.client(
        &format!("https://localhost:{}", s.port),
        Some(&Trust::CaFile(cert_path)),
    );
    agreement(&c).await.unwrap();
    s.stop().await;
}

/// A self-signed certificate marked CA:TRUE, as `openssl req -x509` makes it, served as the
/// server's own certificate: `--ca-cert` with that file trusts it (pinned), where path
/// validation alone refuses a CA certificate used as an end entity. Another certificate with
/// the same name and CA flag is not trusted by it.
#[tokio::test]
async fn a_self_signed_ca_certificate_served_directly_is_trusted_by_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str| {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (
            write(dir.path(), &format!("{name}.pem"), &cert.pem()),
            write(dir.path(), &format!("{name}.key"), &key.serialize_pem()),
        )
    };
    let (cert, key_path) = make("self-ca");
    let (other, _) = make("other-self-ca");
    let s = start(Some(&TlsFiles {
        cert: cert.clone(),
        key: key_path,
    }))
    .await;
    let url = format!("https://localhost:{}", s.port);
    let c = s.client(&url, Some(&Trust::CaFile(cert)));
    agreement(&c).await.unwrap();
    let stranger = s.client(&url, Some(&Trust::CaFile(other)));
    let e = agreement(&stranger).await.unwrap_err();
    assert!(!e.to_string().is_empty());
    s.stop().await;
}

/// The real binary: `deconflict serve --tls-cert --tls-key` over a demo's data directory prints
/// `listening on https://…`, answers a party that pinned the CA, and stops cleanly on SIGTERM.
/// Builds the binary when the target directory has none; if that fails the test says so and
/// returns, unless `DECONFLICT_REQUIRE_PEERS=1`.
#[tokio::test]
async fn the_binary_serves_https_and_stops_on_sigterm() {
    let Some(bin) = require_binary() else {
        return;
    };
    let p = pki();
    let data = p.path("data");
    run_demo(&bin, &data);
    let (mut child, url) = spawn_serve(
        &bin,
        &data,
        &[
            "--tls-cert".as_ref(),
            p.path("server.pem").as_os_str(),
            "--tls-key".as_ref(),
            p.path("server.key").as_os_str(),
        ],
    );
    let port = url
        .strip_prefix("https://127.0.0.1:")
        .unwrap_or_else(|| panic!("not an https URL on loopback: {url}"))
        .to_string();
    let dir = deconflict_service::datadir::DataDir::new(&data);
    let secret = deconflict_service::datadir::read_secret_key(&dir.key("coalition")).unwrap();
    let c = PartyClient::with_trust(
        &format!("https://localhost:{port}"),
        "coalition",
        deconflict_service::datadir::signing_key(&secret).unwrap(),
        Arc::new(deconflict_service::SystemClock),
        &Trust::CaFile(p.path("ca.pem")),
    )
    .unwrap();
    let view = agreement(&c).await.unwrap();
    assert_eq!(view.status, "in_force");
    // SIGTERM through kill(1) (procps), which every Debian system has.
    let Ok(killed) = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
    else {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("skipping the SIGTERM check: no kill(1) on this system");
        return;
    };
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful stop exits 0, got {status:?}");
}
