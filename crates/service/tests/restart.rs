//! What a restart of the real binary must neither forget nor forgive: a request accepted just
//! before it is a replay just after it; a log file damaged while the service was stopped stops
//! `serve` (naming the file, the offset and the last good entry) instead of rolling the record
//! back, and `deconflict log recover` says what it would drop before it drops it; the files
//! holding private values are the owner's alone.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{require_binary, run_demo, spawn_serve};
use deconflict_client::auth;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::{Clock, SystemClock};

/// A signed `GET /v1/agreement` as raw HTTP/1.1 bytes, created `ahead_s` seconds from now.
fn raw_request(dir: &DataDir, ahead_s: i64) -> Vec<u8> {
    let secret = datadir::read_secret_key(&dir.key("coalition")).unwrap();
    let key = datadir::signing_key(&secret).unwrap();
    let created = SystemClock.now_s() + ahead_s;
    let headers = auth::sign_request(
        "GET",
        "/v1/agreement",
        b"",
        "coalition",
        &key,
        created,
        &auth::new_nonce(),
    );
    let mut r = String::from("GET /v1/agreement HTTP/1.1\r\nhost: x\r\nconnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// Sends raw bytes to `base` (`http://ADDR`); the status and body of the answer.
fn send_raw(base: &str, request: &[u8]) -> (u16, String) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn stop(mut child: std::process::Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_request_accepted_before_a_restart_is_refused_after_it() {
    let Some(bin) = require_binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    run_demo(&bin, &root);
    let dir = DataDir::new(&root);

    let (child, base) = spawn_serve(&bin, &root, &[]);
    // Created a few seconds ahead (within the allowed clock skew), so that a restart within
    // those seconds cannot refuse it by its age alone.
    let captured = raw_request(&dir, 4);
    let (s, text) = send_raw(&base, &captured);
    assert_eq!(s, 200, "{text}");
    stop(child);

    let (child, base) = spawn_serve(&bin, &root, &[]);
    let (s, text) = send_raw(&base, &captured);
    assert_eq!(s, 401, "the replay after the restart was accepted: {text}");
    assert!(text.contains("\"replayed\""), "{text}");
    // A fresh request is served.
    let (s, text) = send_raw(&base, &raw_request(&dir, 0));
    assert_eq!(s, 200, "{text}");
    stop(child);

    // What holds private values (every salt with its value; the parties' private fields; the
    // nonces) is readable by the service's user only.
    #[cfg(unix)]
    for p in [
        root.join("log-openings.jsonl"),
        dir.store(),
        root.join("nonces").join("0"),
        dir.key("coalition"),
    ] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn a_damaged_log_file_stops_serve_and_recover_drops_only_when_applied() {
    let Some(bin) = require_binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    run_demo(&bin, &root);
    let log_file = root.join("log").join("log.frames");
    let mut bytes = std::fs::read(&log_file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&log_file, &bytes).unwrap();

    // serve refuses to start, and says where.
    let out = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started on a damaged log file");
    assert!(stderr.contains("log.frames"), "{stderr}");
    assert!(stderr.contains("at byte "), "{stderr}");
    assert!(stderr.contains("the last good entry is entry "), "{stderr}");
    assert_eq!(std::fs::read(&log_file).unwrap(), bytes, "serve changed it");

    // recover says what it would drop, and changes nothing without --apply.
    let recover = |apply: bool| {
        let mut c = Command::new(&bin);
        c.args(["log", "recover", "--data-dir"]).arg(&root);
        if apply {
            c.arg("--apply");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plan = recover(false);
    assert!(plan.contains("recovery cuts the log file to"), "{plan}");
    assert!(plan.contains("acknowledged entries"), "{plan}");
    assert!(plan.contains("--apply"), "{plan}");
    // The store follows the record it is bound to: the rows of the dropped entries go too.
    assert!(plan.contains("recovery drops from"), "{plan}");
    assert_eq!(std::fs::read(&log_file).unwrap(), bytes);
    let kept: u64 = plan
        .split(" entries, the last good entry")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{plan}"));

    let applied = recover(true);
    assert!(applied.contains("recovered"), "{applied}");
    assert!(applied.contains("dropped from"), "{applied}");
    // … and the recovered directory verifies row for row.
    let out = Command::new(&bin)
        .args(["verify", "--data-dir"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(recover(false).contains("nothing to recover"));
    let (child, base) = spawn_serve(&bin, &root, &[]);
    let dir = DataDir::new(&root);
    let (s, text) = send_raw(&base, &raw_request(&dir, 0));
    assert_eq!(s, 200, "{text}");
    stop(child);
    // What was kept is the whole prefix, and it verifies.
    let export = tmp.path().join("export.jsonl");
    let out = Command::new(&bin)
        .args(["log", "export", "--data-dir"])
        .arg(&root)
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let exported: u64 = text
        .strip_prefix("exported ")
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(exported >= kept, "{exported} exported, {kept} kept");
}
