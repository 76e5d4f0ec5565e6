//! The console in real Chromium: the demo's data directory served by the real `deconflict
//! serve`, two officers of different parties signed in with the real `deconflict login`, a
//! conflict raised by pushing tracks over the signed API, and the browser side
//! (crates/console/browser-tests/console.test.mjs, Playwright driving Debian's `chromium`)
//! checking what each page shows and receives. Screenshots go to
//! `target/console-artefacts/`.
//!
//! Needs `chromium` (or `DECONFLICT_CHROMIUM`), `node`, and `npm ci` in
//! crates/console/browser-tests (`scripts/test` does all three). Without them the test says so
//! and returns, unless `DECONFLICT_REQUIRE_PEERS=1` (as in CI): then it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;

use common::{require_binary, run_demo, spawn_serve};
use deconflict_client::PartyClient;
use deconflict_client::wire::TrackView;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::{Clock, SystemClock};

const PARTIES: [&str; 2] = ["coalition", "russia"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Chromium, node and the test's node modules, or why not.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("DECONFLICT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is missing".into());
    }
    let dir = workspace().join("crates/console/browser-tests");
    if !dir.join("node_modules/playwright-core").exists() {
        return Err(format!("run `npm ci` in {}", dir.display()));
    }
    Ok((chromium, dir))
}

fn client(dir: &DataDir, base: &str, party: &str) -> PartyClient {
    let key = datadir::read_secret_key(&dir.key(party)).unwrap();
    PartyClient::new(
        base,
        party,
        datadir::signing_key(&key).unwrap(),
        Arc::new(SystemClock),
    )
}

/// Head-on at 7,000 m, 20 km apart at 200 m/s each, re-reported where they are at every push:
/// a conflict that stays predicted for the whole test. The string fields carry values unique
/// to each party, to be looked for in the other party's traffic.
fn report(party: &str, now_ms: i64) -> serde_json::Value {
    let (track, lon, heading, callsign, ty, icao, squawk) = match party {
        "coalition" => ("C-7", 39.0, 90.0, "QXC701", "ZC17", "c0ffee", "4321"),
        _ => ("R-9", 39.22, 270.0, "QXR902", "ZR29", "badc0d", "6543"),
    };
    serde_json::json!({
        "track_id": track, "time_unix_ms": now_ms, "lat_deg": 35.0, "lon_deg": lon,
        "alt_m": 7000.0, "track_deg": heading, "ground_speed_mps": 200.0,
        "vertical_rate_mps": 0.0, "callsign": callsign, "aircraft_type": ty,
        "icao24": icao, "squawk": squawk,
    })
}

fn string_values(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
        .filter(|(k, _)| k != "track_id")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_officers_in_chromium_see_their_own_picture_and_the_line() {
    let Some(bin) = require_binary() else { return };
    let (chromium, tests_dir) = match browser_tools() {
        Ok(t) => t,
        Err(why) if std::env::var("DECONFLICT_REQUIRE_PEERS").as_deref() == Ok("1") => {
            panic!("the browser test cannot run: {why}")
        }
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    run_demo(&bin, &root);
    let dir = DataDir::new(&root);
    let (mut child, base) = spawn_serve(&bin, &root, &[]);

    // Tracks, pushed every 500 ms while the browsers look.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<PartyClient> = PARTIES.iter().map(|p| client(&dir, &base, p)).collect();
    let feeder = {
        let stop = stop.clone();
        let clients = clients.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (c, p) in clients.iter().zip(PARTIES) {
                    let body = serde_json::to_vec(&report(p, SystemClock.now_ms())).unwrap();
                    let (s, b) = c.send("POST", "/v1/tracks", body).await.unwrap();
                    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // What the API discloses to each party of the other's aircraft: the fields the page may
    // receive, and the values it must never see.
    let mut allowed = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (c, p) in clients.iter().zip(PARTIES) {
        let (s, b) = c.send("GET", "/v1/tracks", Vec::new()).await.unwrap();
        assert_eq!(s, 200);
        let tracks: Vec<serde_json::Value> = serde_json::from_slice(&b).unwrap();
        let other = PARTIES.iter().find(|x| **x != p).unwrap();
        let seen: Vec<&serde_json::Value> =
            tracks.iter().filter(|t| t["party"] == *other).collect();
        assert!(!seen.is_empty(), "{p} sees no track of {other}");
        let keys: BTreeSet<String> = seen
            .iter()
            .flat_map(|t| t.as_object().unwrap().keys().cloned())
            .collect();
        // Each string value the other party reported that the API withholds from `p`.
        let reported = string_values(&report(other, 0));
        let shown: BTreeSet<String> = seen
            .iter()
            .flat_map(|t| string_values(t).into_values())
            .collect();
        let hidden: Vec<String> = reported
            .into_values()
            .filter(|v| !shown.contains(v))
            .collect();
        assert!(
            !hidden.is_empty(),
            "the demo agreement withholds nothing of {other} from {p}: the test would prove nothing"
        );
        let _: Vec<TrackView> = serde_json::from_slice(&b).unwrap();
        allowed.insert(p, keys);
        secrets.insert(p, hidden);
    }

    // The real `deconflict login` for each officer.
    let mut urls = BTreeMap::new();
    let mut officers = BTreeMap::new();
    for p in PARTIES {
        let out = Command::new(&bin)
            .args(["login", "--service", &base, "--party", p, "--key"])
            .arg(dir.key(p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(
            url.starts_with(&format!("{base}/console/login?token=")),
            "{url}"
        );
        let note = String::from_utf8_lossy(&out.stderr).to_string();
        let officer = note
            .split("signs in ")
            .nth(1)
            .and_then(|s| s.split(&format!(" of {p}")).next())
            .unwrap()
            .to_string();
        urls.insert(p, url);
        officers.insert(p, officer);
    }

    let artefacts = workspace().join("target/console-artefacts");
    let config = serde_json::json!({
        "chromium": chromium,
        "base": base,
        "urls": urls,
        "officers": officers,
        "keys": PARTIES.iter().map(|p| (p.to_string(), dir.key(p))).collect::<BTreeMap<_, _>>(),
        "allowed_keys": allowed,
        "secrets": secrets,
        "artefacts": artefacts,
    });
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("console.test.mjs")
            .current_dir(&tests_dir)
            .env("CONSOLE_TEST", config.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.await;
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
    for p in PARTIES {
        assert!(artefacts.join(format!("{p}.png")).exists());
    }
}
