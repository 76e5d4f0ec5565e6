//! `replay` against NASA DAIDALUS v2.0.4: the public scenarios become two parties' reports
//! (the ownship's party and the intruders'), replayed with DO_365B_no_SUM on a virtual clock;
//! the level on the ownship party's stream, second by second, is compared with DaidalusAlerting's
//! CSV for the same configuration. Also: the data directory is not changed and a rerun gives the
//! same bytes.

use std::collections::HashMap;
use std::path::Path;

use deconflict_service::datadir::{self, DataDir};
use deconflict_service::replay::{ReplayOptions, run};
use deconflict_wellclear::encounter::{Position, parse_encounter};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../wellclear/testdata/daidalus"
);
const BASE_MS: i64 = 1_700_000_000_000;
const ALERTER: &str = "DO_365B_no_SUM";

/// The geodetic public scenarios a party can report (see `crates/desk/tests/daidalus.rs` for
/// why `MULTI.daa` and the `.xyz` file are left out).
const SCENARIOS: &[(&str, &str)] = &[
    ("scenarios/C0_0_120.daa", "C0_0_120"),
    ("scenarios/C1_0_120.daa", "C1_0_120"),
    ("scenarios/C1_0_120_W.daa", "C1_0_120_W"),
    ("scenarios/H0_0_120.daa", "H0_0_120"),
    ("scenarios/H1.daa", "H1"),
    ("scenarios/H1_SUM.daa", "H1_SUM"),
    ("scenarios_historical/MultiAircraft.daa", "MultiAircraft"),
];

fn data_dir(root: &Path) -> (DataDir, String, String) {
    let s = deconflict_sim::Scenario::generate(&deconflict_sim::Config::default()).unwrap();
    let dir = DataDir::new(root);
    dir.create().unwrap();
    std::fs::write(dir.agreement(), &s.agreement_toml).unwrap();
    let agreement = s.agreement();
    let keys = s.keys();
    for (i, p) in s.parties.iter().enumerate() {
        let pid = deconflict_agreement::PartyId::new(&p.id).unwrap();
        let sig =
            deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &keys[i]).unwrap();
        std::fs::write(
            datadir::signature_path(&dir.agreement(), &p.id),
            sig.to_file_text(),
        )
        .unwrap();
    }
    (dir, s.parties[0].id.clone(), s.parties[1].id.clone())
}

/// The scenario as tracks-file lines; returns the ownship's name.
fn tracks_file(file: &str, own_party: &str, other_party: &str, out: &Path) -> String {
    let text = std::fs::read_to_string(format!("{DATA}/{file}")).unwrap();
    let enc = parse_encounter(file, &text).unwrap();
    let own = enc.steps[0].aircraft[0].id.clone();
    let mut lines = String::new();
    for step in &enc.steps {
        let t = BASE_MS + (step.time_s * 1000.0).round() as i64;
        for a in &step.aircraft {
            let Position::Geodetic(p) = a.position else {
                panic!("{file}: geodetic only")
            };
            let v = a.velocity_mps;
            let party = if a.id == own { own_party } else { other_party };
            let line = serde_json::json!({
                "party": party,
                "report": {
                    "track_id": a.id,
                    "time_unix_ms": t,
                    "lat_deg": p.lat_rad.to_degrees(),
                    "lon_deg": p.lon_rad.to_degrees(),
                    "alt_m": p.alt_m,
                    "track_deg": v.x.atan2(v.y).to_degrees().rem_euclid(360.0) % 360.0,
                    "ground_speed_mps": v.x.hypot(v.y),
                    "vertical_rate_mps": v.z,
                }
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    std::fs::write(out, lines).unwrap();
    own
}

fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn replayed_do365_levels_equal_daidalus_second_by_second() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, own_party, other_party) = data_dir(&tmp.path().join("data"));
    let before = snapshot(&tmp.path().join("data"));
    let (mut seconds, mut equal, mut lower) = (0usize, 0usize, 0usize);
    for (file, stem) in SCENARIOS {
        let tracks = tmp.path().join(format!("{stem}.jsonl"));
        let own = tracks_file(file, &own_party, &other_party, &tracks);
        let out = tmp.path().join(format!("out-{stem}"));
        let opts = ReplayOptions {
            data_dir: tmp.path().join("data"),
            tracks: tracks.clone(),
            alerter: Some(ALERTER.into()),
            cycle_ms: 1000,
            out: out.clone(),
            progress: false,
            feeds: Vec::new(),
        };
        let summary = run(&opts).unwrap();
        assert!(summary.ticks > 50 && summary.reports > 100, "{summary:?}");
        let stream = std::fs::read_to_string(out.join(format!("{own_party}.jsonl"))).unwrap();
        // The ownship party's level against each intruder, as its stream says, per second.
        let mut level: HashMap<String, u64> = HashMap::new();
        let mut changes: Vec<(i64, String, u64)> = Vec::new();
        for line in stream.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] != "alert" || v["data"]["kind"] == "strategic" {
                continue;
            }
            let d = &v["data"];
            assert_eq!(d["own"]["track_id"], own.as_str(), "{d}");
            changes.push((
                d["created_unix_ms"].as_i64().unwrap(),
                d["other"]["track_id"].as_str().unwrap().to_string(),
                d["alert_level"].as_u64().unwrap(),
            ));
            // The name goes with the number.
            let name = ["none", "preventive", "corrective", "warning"]
                [d["alert_level"].as_u64().unwrap() as usize];
            assert_eq!(d["level"], name, "{d}");
        }
        let csv =
            std::fs::read_to_string(format!("{DATA}/generated/alerting/{stem}__{ALERTER}.csv"))
                .unwrap();
        let mut rows: Vec<(i64, String, u64)> = csv
            .lines()
            .skip(2)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').map(str::trim).collect();
                let t: f64 = f.first()?.parse().ok()?;
                (f.get(1)? == &own.as_str()).then(|| {
                    (
                        BASE_MS + (t * 1000.0).round() as i64,
                        f[2].to_string(),
                        f[4].parse().unwrap(),
                    )
                })
            })
            .collect();
        rows.sort();
        let mut c = 0;
        for (t, traffic, want) in rows {
            while c < changes.len() && changes[c].0 <= t {
                level.insert(changes[c].1.clone(), changes[c].2);
                c += 1;
            }
            let got = level.get(&traffic).copied().unwrap_or(0);
            seconds += 1;
            if got == want {
                equal += 1;
            } else {
                eprintln!("{stem} t={t} {own}→{traffic}: replay {got}, DAIDALUS {want}");
            }
            if got < want {
                lower += 1;
            }
        }
        // The same input gives the same bytes.
        let again = tmp.path().join(format!("again-{stem}"));
        run(&ReplayOptions {
            out: again.clone(),
            ..opts
        })
        .unwrap();
        assert_eq!(
            snapshot(&out).into_iter().map(|f| f.1).collect::<Vec<_>>(),
            snapshot(&again)
                .into_iter()
                .map(|f| f.1)
                .collect::<Vec<_>>(),
            "{stem}"
        );
    }
    assert_eq!(
        before,
        snapshot(&tmp.path().join("data")),
        "the data directory changed"
    );
    let _ = dir;
    let share = equal as f64 / seconds as f64;
    println!(
        "replay with {ALERTER}: the ownship party's level equals DAIDALUS v2.0.4's on {equal}/{seconds} seconds ({:.2}%), lower on {lower}",
        share * 100.0
    );
    assert!(seconds > 1000, "{seconds}");
    assert!(share >= 0.995, "{:.2}%", share * 100.0);
    assert_eq!(lower, 0);
}

#[test]
fn bad_tracks_files_are_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, own_party, _) = data_dir(&tmp.path().join("data"));
    let report = |lat: f64| {
        serde_json::json!({"party": own_party, "report": {
            "track_id": "a1", "time_unix_ms": BASE_MS, "lat_deg": lat, "lon_deg": 38.0,
            "alt_m": 5000.0, "track_deg": 90.0, "ground_speed_mps": 200.0}})
        .to_string()
    };
    for (text, want) in [
        (format!("{}\n{{\"party\": 1}}\n", report(35.0)), ":2:"),
        (format!("{}\n\n{}\n", report(35.0), report(200.0)), ":3:"),
        (
            format!("{}\n", report(35.0).replace(&own_party, "nobody")),
            "not a party",
        ),
        (String::new(), "no reports"),
    ] {
        let tracks = tmp.path().join("t.jsonl");
        std::fs::write(&tracks, &text).unwrap();
        let err = run(&ReplayOptions {
            data_dir: tmp.path().join("data"),
            tracks,
            alerter: None,
            cycle_ms: 1000,
            out: tmp.path().join("out"),
            progress: false,
            feeds: Vec::new(),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
}
