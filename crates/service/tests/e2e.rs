//! End to end with the real `deconflict` binary on loopback: the demo keeps its data
//! directory, `serve` serves it, two parties push over signed HTTP while the server is killed
//! with SIGKILL, and after a restart every acknowledged write is there and the stream resumes
//! from the last cursor with no gap.
//!
//! The test builds the `deconflict` binary if it is not in the target directory yet. If that
//! fails it says so and returns, unless `DECONFLICT_REQUIRE_PEERS=1` (as in CI): then it fails.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;

use common::{demo_clients, require_binary, run_demo, spawn_serve};
use deconflict_client::wire::*;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::{Clock, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_then_serve_then_kill_9_loses_nothing_acknowledged() {
    let Some(bin) = require_binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let text = run_demo(&bin, &root);
    assert!(text.contains("FLAGGED"), "{text}");
    assert!(text.contains("in force"), "{text}");
    let log_size = demo_log_export_verifies_and_one_flipped_byte_does_not(&bin, &root, &text);
    let dir = DataDir::new(&root);

    // Serve the demo's data directory again.
    let (mut child, base) = spawn_serve(&bin, &root, &[]);
    let cs = demo_clients(&dir, &base);
    let health: PublicHealth = {
        let (s, b) = cs[0].send("GET", "/health", Vec::new()).await.unwrap();
        assert_eq!(s, 200);
        serde_json::from_slice(&b).unwrap()
    };
    assert_eq!(health.agreement_status, "in_force");
    // The record the demo left is served, signed by the same key, and has not shrunk.
    let (s, b) = cs[1]
        .send("GET", "/v1/log/tree-head?since=1", Vec::new())
        .await
        .unwrap();
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    let update = deconflict_log::TreeHeadUpdate::from_json(&b).unwrap();
    assert!(update.tree_head.tree_head().size() >= log_size);
    // The demo's alerts are still there for both parties.
    for c in &cs {
        let alerts: Vec<AlertView> = c.call::<(), _>("GET", "/v1/alerts", None).await.unwrap();
        assert!(alerts.iter().any(|a| a.kind == "strategic"));
        assert!(alerts.iter().any(|a| a.kind == "new"));
    }
    // Russia reads its stream up to some point, remembering the cursor.
    let mut stream = cs[1].stream(None).await.unwrap();
    let mut cursor = 0u64;
    for _ in 0..3 {
        let m = stream.next().await.unwrap().unwrap();
        let seq: u64 = m.id.unwrap().parse().unwrap();
        assert_eq!(seq, cursor + 1, "no gap");
        cursor = seq;
    }
    drop(stream);

    // Two clients push notifications and tracks; the server is killed mid-stream.
    let stop = Arc::new(AtomicBool::new(false));
    let mut pushers = Vec::new();
    for (pi, c) in cs.iter().enumerate() {
        let c = c.clone();
        let stop = stop.clone();
        let disclosed = datadir::load_agreement(&dir.agreement())
            .unwrap()
            .terms
            .party(c.party())
            .unwrap()
            .disclose_notification
            .clone();
        pushers.push(tokio::spawn(async move {
            let mut acked_notifications = Vec::new();
            let mut acked_reports = Vec::new();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) && i < 10_000 {
                let now = SystemClock.now_ms();
                let id = format!("crash-{pi}-{i}");
                let n = NotificationIn {
                    area: AreaIn::Circle {
                        centre: LatLon {
                            // Inside the agreement's region: the strategic index measures
                            // within 1,000 km of its lines and zones.
                            lat_deg: 34.0 + f64::from(i % 50) * 0.02,
                            lon_deg: 38.0 + pi as f64,
                        },
                        radius_m: 1000.0,
                    },
                    alt_min_m: 1000.0,
                    alt_max_m: 2000.0,
                    start_unix_ms: now,
                    end_unix_ms: now + 600_000,
                    callsigns: vec![],
                    aircraft_count: None,
                    aircraft_type: None,
                    remarks: Some(format!("sortie {i}")),
                    strike_warning: false,
                };
                if c.notification_create(&id, &n, &disclosed).await.is_ok() {
                    acked_notifications.push(id);
                }
                let track = format!("crash-{i}");
                let r = TrackReportIn {
                    track_id: track.clone(),
                    time_unix_ms: now,
                    lat_deg: 5.0 + pi as f64,
                    lon_deg: 5.0 + f64::from(i % 100) * 0.1,
                    alt_m: 5000.0,
                    track_deg: 0.0,
                    ground_speed_mps: 100.0,
                    vertical_rate_mps: 0.0,
                    callsign: None,
                    aircraft_type: None,
                    icao24: None,
                    squawk: None,
                };
                if c.call::<_, TracksAccepted>("POST", "/v1/tracks", Some(&r))
                    .await
                    .is_ok()
                {
                    acked_reports.push((track, now));
                }
                i += 1;
            }
            (acked_notifications, acked_reports)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL on Unix
    let _ = child.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for p in pushers {
        acked.push(p.await.unwrap());
    }
    assert!(
        acked.iter().all(|(n, r)| !n.is_empty() && !r.is_empty()),
        "both clients had writes acknowledged before the kill"
    );

    // Restart: every acknowledged write is there.
    let (mut child, base) = spawn_serve(&bin, &root, &[]);
    let cs = demo_clients(&dir, &base);
    for (pi, (notifications, reports)) in acked.iter().enumerate() {
        let c = &cs[pi];
        let listed: Vec<NotificationView> = c
            .call::<(), _>("GET", "/v1/notifications", None)
            .await
            .unwrap();
        for id in notifications {
            assert!(
                listed.iter().any(|n| &n.id == id && n.party == c.party()),
                "acknowledged notification {id} lost"
            );
        }
        let tracks: Vec<TrackView> = c.call::<(), _>("GET", "/v1/tracks", None).await.unwrap();
        for (id, t) in reports {
            assert!(
                tracks
                    .iter()
                    .any(|v| &v.track_id == id && v.party == c.party() && v.time_unix_ms >= *t),
                "acknowledged report {id} lost"
            );
        }
    }
    // Each acknowledged notification is in the record once, signed by its own party.
    let size = cs[0]
        .log_tree_head(0)
        .await
        .unwrap()
        .tree_head
        .tree_head()
        .size();
    let mut record = Vec::new();
    let mut start = 0;
    while start < size {
        let page = cs[0]
            .log_entries(start, size.min(start + 1000))
            .await
            .unwrap();
        assert!(!page.is_empty());
        start += page.len() as u64;
        record.extend(page);
    }
    let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
    for (pi, (notifications, _)) in acked.iter().enumerate() {
        let party = cs[pi].party();
        let party_key = loaded.terms.party(party).unwrap().key;
        for id in notifications {
            let found: Vec<_> = record
                .iter()
                .filter(|e| {
                    matches!(e.entry().body(),
                        deconflict_log::EntryBody::Notification { notification_id, .. }
                            if notification_id.as_str() == id)
                })
                .collect();
            assert_eq!(found.len(), 1, "notification {id}: {} entries", found.len());
            assert_eq!(found[0].entry().author().as_str(), party);
            found[0].verify(&party_key).unwrap();
        }
    }
    // The stream resumes from the cursor: next event is cursor + 1, then contiguous.
    let all: Vec<EventView> = cs[1]
        .call::<(), _>("GET", "/v1/events?after=0&limit=1000", None)
        .await
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no gap in the store"
    );
    let mut stream = cs[1].stream(Some(cursor)).await.unwrap();
    for expect in cursor + 1..=(cursor + 20).min(seqs.len() as u64) {
        let m = stream.next().await.unwrap().unwrap();
        assert_eq!(m.id.as_deref(), Some(expect.to_string().as_str()));
    }
    drop(stream);
    // Graceful stop on SIGTERM.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
    // After the kill and the restart, the store still matches the record row for row.
    let out = Command::new(&bin)
        .args(["verify", "--data-dir"])
        .arg(&root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("store: OK"), "{text}");
}

/// `demo` → `log export` → `verify` succeeds with the service key the demo printed; the same
/// export with one byte changed fails. Returns the log's size.
fn demo_log_export_verifies_and_one_flipped_byte_does_not(
    bin: &PathBuf,
    root: &std::path::Path,
    demo_stdout: &str,
) -> u64 {
    let key = demo_stdout
        .split("service key ")
        .nth(1)
        .and_then(|r| r.get(..64))
        .unwrap_or_else(|| panic!("no service key in the demo summary:\n{demo_stdout}"))
        .to_string();
    let size: u64 = demo_stdout
        .split("Shared record: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no log size in the demo summary:\n{demo_stdout}"));
    assert!(size > 3, "the demo logged only {size} entries");
    let export = root.with_file_name("log.export");
    let out = Command::new(bin)
        .args(["log", "export", "--data-dir"])
        .arg(root)
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |file: &std::path::Path| {
        Command::new(bin)
            .arg("verify")
            .arg(file)
            .arg("--agreement")
            .arg(root.join("agreement.toml"))
            .args(["--log-key", &key])
            .output()
            .unwrap()
    };
    let ok = verify(&export);
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut bytes = std::fs::read(&export).unwrap();
    // A byte in the middle of the file: inside an entry or a tree head, never the header.
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let bad = root.with_file_name("log-flipped.export");
    std::fs::write(&bad, &bytes).unwrap();
    let refused = verify(&bad);
    assert!(
        !refused.status.success(),
        "a flipped byte at {at} was accepted: {}",
        String::from_utf8_lossy(&refused.stdout)
    );
    size
}

/// A binary older than any source file it is built from is refused with the command that
/// rebuilds it; one built after the newest source is accepted.
#[test]
fn a_binary_older_than_the_sources_is_refused_with_how_to_build_it() {
    use std::time::{Duration, SystemTime};
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    let touch = |p: &std::path::Path, t: SystemTime| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let bin = ws.join("target/debug/deconflict");
    touch(&ws.join("crates/line/src/render.rs"), t0);
    touch(&ws.join("crates/line/locales/ru.ftl"), t0);
    touch(&bin, t0 + Duration::from_secs(10));
    common::check_fresh(&bin, ws).unwrap();
    // Tests and test data are not built into the binary.
    touch(
        &ws.join("crates/line/tests/templates.rs"),
        t0 + Duration::from_secs(60),
    );
    touch(
        &ws.join("crates/line/testdata/a.json"),
        t0 + Duration::from_secs(60),
    );
    common::check_fresh(&bin, ws).unwrap();
    // A template edited after the build: stale.
    touch(
        &ws.join("crates/line/locales/ru.ftl"),
        t0 + Duration::from_secs(70),
    );
    let e = common::check_fresh(&bin, ws).unwrap_err();
    assert!(e.contains("ru.ftl"), "{e}");
    assert!(e.contains("cargo build -p deconflict"), "{e}");
    assert!(e.contains("60 s after"), "{e}");
    // A source in a nested module too.
    touch(&bin, t0 + Duration::from_secs(80));
    touch(
        &ws.join("crates/cli/src/cmd/line.rs"),
        t0 + Duration::from_secs(90),
    );
    let e = common::check_fresh(&bin, ws).unwrap_err();
    assert!(e.contains("line.rs"), "{e}");
}
