//! The crash loop: the real `deconflict serve` on the demo's data directory is killed with
//! SIGKILL at an arbitrary moment while both parties' writers create notifications, then
//! restarted, cycle after cycle. After every cycle `deconflict verify --data-dir` passes (the
//! record verifies and the store matches it row for row) and the notifications acknowledged in
//! that cycle are served; at the end every notification acknowledged in any cycle is served.
//!
//! `DECONFLICT_CRASH_CYCLES` sets the number of cycles (default 3, so that the suite stays
//! short; `DECONFLICT_CRASH_CYCLES=100 cargo test -p deconflict-service --test crash_loop --
//! --nocapture` is the long run). Prints the totals.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;

use common::{demo_clients, require_binary, run_demo, spawn_serve};
use deconflict_client::wire::*;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::{Clock, SystemClock};

const PARTIES: [&str; 2] = ["coalition", "russia"];

fn notification(pi: usize, i: u32) -> NotificationIn {
    let now = SystemClock.now_ms();
    NotificationIn {
        area: AreaIn::Circle {
            centre: LatLon {
                lat_deg: 34.0 + f64::from(i % 50) * 0.02,
                lon_deg: 38.0 + pi as f64,
            },
            radius_m: 1000.0,
        },
        alt_min_m: 1000.0,
        alt_max_m: 2000.0,
        start_unix_ms: now,
        end_unix_ms: now + 3_600_000,
        callsigns: vec![],
        aircraft_count: None,
        aircraft_type: None,
        remarks: Some(format!("sortie {i}")),
        strike_warning: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_in_a_loop_under_writers_loses_nothing_acknowledged() {
    let Some(bin) = require_binary() else { return };
    let cycles: u64 = std::env::var("DECONFLICT_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    run_demo(&bin, &root);
    let dir = DataDir::new(&root);
    let agreement = datadir::load_agreement(&dir.agreement()).unwrap();
    let disclosed: Vec<BTreeSet<String>> = PARTIES
        .iter()
        .map(|p| {
            agreement
                .terms
                .party(p)
                .unwrap()
                .disclose_notification
                .clone()
        })
        .collect();

    let mut acked_all: Vec<Vec<String>> = vec![Vec::new(); PARTIES.len()];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for cycle in 0..cycles {
        let (mut child, base) = spawn_serve(&bin, &root, &[]);
        let cs = demo_clients(&dir, &base);
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for (pi, c) in cs.iter().enumerate() {
            let (c, stop, disclosed) = (c.clone(), stop.clone(), disclosed[pi].clone());
            writers.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("loop-{cycle}-{pi}-{i}");
                    if c.notification_create(&id, &notification(pi, i), &disclosed)
                        .await
                        .is_ok()
                    {
                        acked.push(id);
                    }
                    i += 1;
                }
                acked
            }));
        }
        // The kill lands anywhere from 0.3 to 1.5 s into the writes.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        tokio::time::sleep(Duration::from_millis(300 + (seed >> 33) % 1200)).await;
        child.kill().unwrap(); // SIGKILL on Unix
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        let mut acked_now = Vec::new();
        for w in writers {
            acked_now.push(w.await.unwrap());
        }

        // Stopped: the record verifies and the store matches it.
        let out = Command::new(&bin)
            .args(["verify", "--data-dir"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cycle {cycle}: verify --data-dir failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        // Restarted: this cycle's acknowledged notifications are served.
        let (mut child, base) = spawn_serve(&bin, &root, &[]);
        let cs = demo_clients(&dir, &base);
        for (pi, ids) in acked_now.iter().enumerate() {
            for id in ids {
                let r = cs[pi]
                    .call::<(), NotificationView>("GET", &format!("/v1/notifications/{id}"), None)
                    .await;
                assert!(
                    r.is_ok(),
                    "cycle {cycle}: acknowledged notification {id} lost: {r:?}"
                );
            }
            acked_all[pi].extend(ids.iter().cloned());
        }
        child.kill().unwrap();
        let _ = child.wait();
    }

    // At the end, every notification acknowledged in any cycle is served.
    let (mut child, base) = spawn_serve(&bin, &root, &[]);
    let cs = demo_clients(&dir, &base);
    let mut total = 0;
    for (pi, ids) in acked_all.iter().enumerate() {
        let listed: BTreeSet<String> = cs[pi]
            .call::<(), Vec<NotificationView>>("GET", "/v1/notifications", None)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.party == PARTIES[pi])
            .map(|n| n.id)
            .collect();
        for id in ids {
            assert!(listed.contains(id), "acknowledged notification {id} lost");
        }
        total += ids.len();
    }
    assert!(total > 0, "no write was acknowledged in {cycles} cycles");
    child.kill().unwrap();
    let _ = child.wait();
    println!(
        "crash loop: {cycles} kill -9 cycles under {} writers, {total} acknowledged notifications, 0 lost, verify --data-dir passed after every cycle",
        PARTIES.len()
    );
}
