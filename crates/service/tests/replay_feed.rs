//! `replay --feed`: a party's receiver recording replayed into the desk on the virtual clock,
//! with the recording's own times. An SBS recording (with date and time fields) follows an
//! aircraft the party also reports by `icao24`: the receiver's positions move the party's track
//! into the al-Tanf zone, closed to that party, and both parties' streams get the `geography`
//! event at the recording's time of the first position inside. A rerun gives the same bytes.

use std::path::Path;

use deconflict_service::datadir::{self, DataDir};
use deconflict_service::feed::FeedSpec;
use deconflict_service::replay::{ReplayOptions, run};

/// 2023-11-14 22:13:20 UTC.
const BASE_MS: i64 = 1_700_000_000_000;
const ICAO: &str = "155A01";
/// al-Tanf's centre and radius (the sim's agreement).
const TANF: (f64, f64) = (33.50, 38.66);
const TANF_RADIUS_M: f64 = 55_000.0;
/// The aircraft: east along al-Tanf's latitude at 250 m/s, from 57.5 km west of the centre.
const START_WEST_M: f64 = 57_500.0;
const SPEED_MPS: f64 = 250.0;
const SECONDS: i64 = 40;
const M_PER_DEG_LON: f64 = 111_320.0 * 0.833_886; // cos(33.5°)

fn data_dir(root: &Path) -> (String, String) {
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
    (s.parties[0].id.clone(), s.parties[1].id.clone())
}

fn lon_at(t_s: f64) -> f64 {
    TANF.1 - (START_WEST_M - SPEED_MPS * t_s) / M_PER_DEG_LON
}

/// One position and one velocity line a second, dated 2023/11/14 22:13:(20 + k).
fn recording() -> String {
    let mut text = String::new();
    let gs_kt = SPEED_MPS * 3600.0 / 1852.0;
    for k in 0..SECONDS {
        let time = format!("22:13:{:02}.000", 20 + k);
        text.push_str(&format!(
            "MSG,4,1,1,{ICAO},1,2023/11/14,{time},2023/11/14,{time},,,{gs_kt:.1},90.0,,,0,,,,,0\n"
        ));
        text.push_str(&format!(
            "MSG,3,1,1,{ICAO},1,2023/11/14,{time},2023/11/14,{time},,12000,,,{:.6},{:.6},,,0,0,0,0\n",
            TANF.0,
            lon_at(k as f64)
        ));
    }
    text
}

#[test]
fn a_receiver_recording_moves_the_partys_fused_track_into_al_tanf_at_the_recorded_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (coalition, russia) = data_dir(&tmp.path().join("data"));
    let rec = tmp.path().join("receiver.sbs");
    std::fs::write(&rec, recording()).unwrap();
    // The party's own report of the aircraft, with its icao24, at the recording's start; and a
    // coalition aircraft far away, so the replay spans the whole recording either way.
    let tracks = tmp.path().join("tracks.jsonl");
    let line = |party: &str, id: &str, icao: Option<&str>, lat: f64, lon: f64, t: i64| {
        let mut r = serde_json::json!({
            "track_id": id, "time_unix_ms": t, "lat_deg": lat, "lon_deg": lon, "alt_m": 3658,
            "track_deg": 90, "ground_speed_mps": SPEED_MPS, "callsign": "SOKOL1"
        });
        if let Some(i) = icao {
            r["icao24"] = i.to_lowercase().into();
        }
        serde_json::json!({"party": party, "report": r}).to_string() + "\n"
    };
    std::fs::write(
        &tracks,
        line(&russia, "sokol1", Some(ICAO), TANF.0, lon_at(0.0), BASE_MS)
            + &line(&coalition, "eagle1", None, 36.0, 41.5, BASE_MS),
    )
    .unwrap();
    let spec = FeedSpec::parse(&format!("{russia}=sbs:{}", rec.display())).unwrap();
    let out = tmp.path().join("out");
    let opts = ReplayOptions {
        data_dir: tmp.path().join("data"),
        tracks: tracks.clone(),
        alerter: None,
        cycle_ms: 1000,
        out: out.clone(),
        progress: false,
        feeds: vec![spec],
    };
    let summary = run(&opts).unwrap();
    assert_eq!(summary.receiver_records as i64, SECONDS, "{summary:?}");
    assert_eq!(summary.receiver_taken, summary.receiver_records);
    assert_eq!(
        summary.ticks as i64, SECONDS,
        "the replay spans the recording"
    );

    // The zone entry is at one of the recorded positions, near where the aircraft crosses the
    // 55 km circle (the zone's edge is measured in the airspace crate's plane, not here).
    let crossing_s = (START_WEST_M - TANF_RADIUS_M) / SPEED_MPS;
    for party in [&russia, &coalition] {
        let text = std::fs::read_to_string(out.join(format!("{party}.jsonl"))).unwrap();
        let geo: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["kind"] == "geography")
            .collect();
        assert_eq!(geo.len(), 1, "{party}: {text}");
        let d = &geo[0]["data"];
        assert_eq!(d["kind"], "zone_entered");
        assert_eq!(d["zone"], "al-tanf");
        assert_eq!(d["party"], russia.as_str());
        assert_eq!(
            d["track_id"], "sokol1",
            "the receiver's records joined the pushed track"
        );
        let t_ms = d["time_unix_ms"].as_i64().unwrap() - BASE_MS;
        assert_eq!(t_ms % 1000, 0, "a recorded time: {d}");
        let t_s = t_ms as f64 / 1000.0;
        assert!((t_s - crossing_s).abs() <= 6.0, "{party}: {d}");
        assert!(
            (d["lon_deg"].as_f64().unwrap() - lon_at(t_s)).abs() < 1e-5,
            "the recorded position at that time: {d}"
        );
    }

    // Deterministic: the same input, the same bytes.
    let again = tmp.path().join("again");
    run(&ReplayOptions {
        out: again.clone(),
        ..opts.clone()
    })
    .unwrap();
    for party in [&russia, &coalition] {
        let f = format!("{party}.jsonl");
        assert_eq!(
            std::fs::read(out.join(&f)).unwrap(),
            std::fs::read(again.join(&f)).unwrap()
        );
    }

    // Without the recording, nothing enters the zone.
    let without = tmp.path().join("without");
    run(&ReplayOptions {
        out: without.clone(),
        feeds: Vec::new(),
        ..opts.clone()
    })
    .unwrap();
    let text = std::fs::read_to_string(without.join(format!("{russia}.jsonl"))).unwrap();
    assert!(!text.contains("\"geography\""), "{text}");

    // A party the agreement does not name is refused before anything runs.
    let bad = run(&ReplayOptions {
        feeds: vec![FeedSpec::parse(&format!("nato=sbs:{}", rec.display())).unwrap()],
        ..opts
    })
    .unwrap_err()
    .to_string();
    assert!(bad.contains("unknown party \"nato\""), "{bad}");
}
