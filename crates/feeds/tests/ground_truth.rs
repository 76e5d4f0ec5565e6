//! Decoding against the ground truth shipped with the `traffic` package: 57 793 raw frames of
//! one flight (Paris-CDG), each with the fields rs1090 decoded from it
//! (`testdata/traffic_full_flight_short_rs1090.jsonl.gz`). Every position, altitude, speed,
//! track, vertical rate, callsign and squawk that the tracks use must come out of this crate's
//! decoder exactly (after the one SI conversion and back).
//!
//! The truth was produced by an earlier rs1090 than the 0.7 this crate uses. Three kinds of
//! difference are expected, each checked against its own oracle rather than skipped:
//! - rs1090 0.7 refuses an airborne position that implies more than 1 200 km/h from the last
//!   one it accepted (`MAX_AIRCRAFT_SPEED_KMH` in `rs1090::decode::cpr`); over half-second
//!   intervals with receiver timestamp jitter, 99 genuine positions of this 435 kt flight exceed
//!   it. Each missing position must be one whose apparent speed exceeds 1 200 km/h.
//! - surface ground speed: rs1090 0.7 follows the DO-260B movement table (§2.2.3.2.4.2: codes
//!   13-38 step 0.5 kt from 2 kt); the truth used a 0.25 kt step there. Each differing value
//!   must equal the table computed here.
//! - five address/parity replies whose altitude or identity code rs1090 0.7 finds invalid
//!   (listed by frame).
//!
//! Not compared: Comm-B registers told apart by inference (BDS 4,0, 5,0, 6,0 in DF20/21), whose
//! ground speed and heading the tracks do not use (see `decode.rs`).

mod common;

use deconflict_feeds::decode::{Decoder, DecoderConfig};
use deconflict_feeds::frame::ModeSFrame;
use deconflict_feeds::report::{LatLon, M_PER_FT, MPS_PER_FPM, MPS_PER_KT, SourceId};
use serde::Deserialize;

#[derive(Deserialize)]
struct Truth {
    timestamp: f64,
    frame: String,
    df: String,
    icao24: String,
    bds: Option<String>,
    altitude: Option<f64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    groundspeed: Option<f64>,
    track: Option<f64>,
    vertical_rate: Option<f64>,
    callsign: Option<String>,
    squawk: Option<String>,
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        (None, None) => true,
        _ => false,
    }
}

/// DO-260B §2.2.3.2.4.2 surface movement field to knots (lower bound of each step).
fn movement_kt(code: u8) -> Option<f64> {
    let c = f64::from(code);
    match code {
        1 => Some(0.0),
        2..=8 => Some(0.125 + (c - 2.0) * 0.125),
        9..=12 => Some(1.0 + (c - 9.0) * 0.25),
        13..=38 => Some(2.0 + (c - 13.0) * 0.5),
        39..=93 => Some(15.0 + (c - 39.0)),
        94..=108 => Some(70.0 + (c - 94.0) * 2.0),
        109..=123 => Some(100.0 + (c - 109.0) * 5.0),
        124 => Some(175.0),
        _ => None,
    }
}

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    6371.0 * 2.0 * h.sqrt().asin()
}

/// Address/parity replies whose altitude or identity code rs1090 0.7 rejects.
const INVALID_CODES_IN_RS1090_0_7: [&str; 5] = [
    "a1af591683bb6f178aabb7192106",
    "27c4ab71657293e1a5e162ba49b1",
    "afb921a79a54822501c02aa5d9b9",
    "20156e7bb523456216028d2482aa",
    "2393a50a156d2ca58a2b5cbac9cd",
];

#[test]
fn every_position_altitude_speed_and_callsign_is_reproduced() {
    let text = String::from_utf8(common::testdata(
        "traffic_full_flight_short_rs1090.jsonl.gz",
    ))
    .unwrap();
    // Paris-CDG: a reference near the receiver, needed for surface positions.
    let mut d = Decoder::new(DecoderConfig {
        reference: LatLon::new(49.0097, 2.5479),
        ..Default::default()
    });
    let mut checked = [0u32; 7]; // positions, altitudes, speeds, tracks, vertical rates, callsigns, squawks
    let mut mismatches = Vec::new();
    let mut lines = 0;
    let mut last_accepted: Option<(f64, f64, f64)> = None;
    let (mut refused_over_1200_kmh, mut surface_speed_by_table, mut invalid_codes) = (0, 0, 0);
    for line in text.lines() {
        lines += 1;
        let t: Truth = serde_json::from_str(line).unwrap();
        let bytes: Vec<u8> = (0..t.frame.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t.frame[i..i + 2], 16).unwrap())
            .collect();
        let frame = ModeSFrame::new(&bytes).unwrap();
        if INVALID_CODES_IN_RS1090_0_7.contains(&t.frame.as_str()) {
            invalid_codes += 1;
            continue;
        }
        let report = d
            .decode(&frame, t.timestamp, SourceId(0))
            .unwrap_or_else(|e| panic!("{}: {e:?}", t.frame));
        let is_inferred_commb =
            matches!(t.df.as_str(), "20" | "21") && t.bds.as_deref() != Some("20");
        let Some(r) = report else {
            if t.latitude.is_some()
                || t.altitude.is_some()
                || t.callsign.is_some()
                || t.squawk.is_some()
            {
                mismatches.push(format!("no report: {line}"));
            }
            continue;
        };
        assert_eq!(r.icao.to_string(), t.icao24, "{line}");
        let mut check = |i: usize, ok: bool, what: &str| {
            checked[i] += 1;
            if !ok {
                mismatches.push(format!(
                    "{what}: ours {:?} {:?} {:?} {:?} {:?}: {line}",
                    r.position,
                    r.alt_baro_m.map(|m| m / M_PER_FT),
                    r.gs_mps.map(|v| v / MPS_PER_KT),
                    r.trk_deg,
                    r.squawk
                ));
            }
        };
        // Positions: the truth resolves every one; so must we.
        if t.latitude.is_some() || r.position.is_some() {
            let ok = close(r.position.map(|p| p.lat_deg()), t.latitude, 1e-9)
                && close(r.position.map(|p| p.lon_deg()), t.longitude, 1e-9);
            if !ok && r.position.is_none() && t.bds.as_deref() == Some("05") {
                let (here, (la, lo, t0)) = (
                    (t.latitude.unwrap(), t.longitude.unwrap()),
                    last_accepted.unwrap(),
                );
                let kmh = haversine_km((la, lo), here) / ((t.timestamp - t0) / 3600.0);
                assert!(kmh > 1200.0, "position refused at {kmh} km/h: {line}");
                refused_over_1200_kmh += 1;
            } else {
                check(0, ok, "position");
            }
            if let Some(p) = r.position
                && t.bds.as_deref() == Some("05")
            {
                last_accepted = Some((p.lat_deg(), p.lon_deg(), t.timestamp));
            }
        }
        // Altitude: every altitude of the truth, except GNSS heights (tc 20-22), which tracks
        // do not use as a barometric altitude.
        let gnss = t.df == "17" && t.bds.as_deref() == Some("05") && (bytes[4] >> 3) >= 20;
        if !gnss && (t.altitude.is_some() || r.alt_baro_m.is_some()) {
            check(
                1,
                close(r.alt_baro_m.map(|m| m / M_PER_FT), t.altitude, 1e-6),
                "altitude",
            );
        }
        if !is_inferred_commb {
            if t.groundspeed.is_some() || r.gs_mps.is_some() {
                let ours = r.gs_mps.map(|v| v / MPS_PER_KT);
                let mut ok = close(ours, t.groundspeed, 1e-9);
                if !ok && t.bds.as_deref() == Some("06") {
                    let movement = ((bytes[4] & 0x07) << 4) | (bytes[5] >> 4);
                    ok = close(ours, movement_kt(movement), 1e-9);
                    surface_speed_by_table += u32::from(ok);
                }
                check(2, ok, "groundspeed");
            }
            if t.track.is_some() || r.trk_deg.is_some() {
                check(3, close(r.trk_deg, t.track, 1e-9), "track");
            }
        }
        if t.vertical_rate.is_some() || r.vs_mps.is_some() {
            check(
                4,
                close(r.vs_mps.map(|v| v / MPS_PER_FPM), t.vertical_rate, 1e-6),
                "vertical rate",
            );
        }
        if t.callsign.is_some() || r.callsign.is_some() {
            let ok = r.callsign.as_ref().map(|c| c.as_str())
                == t.callsign.as_deref().map(|c| c.trim_end());
            check(5, ok, "callsign");
        }
        if t.squawk.is_some() || r.squawk.is_some() {
            check(
                6,
                r.squawk.map(|s| format!("{s:04x}")) == t.squawk,
                "squawk",
            );
        }
    }
    assert_eq!(lines, 57_793);
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
    assert_eq!(
        (refused_over_1200_kmh, surface_speed_by_table, invalid_codes),
        (99, 889, 5)
    );
    // Exactly what the truth holds, less the differences counted above:
    // positions 8 324 - 99; altitudes of DF0/4/16/20 and DF17 BDS 0,5 (35 024) - 4 invalid codes;
    // ground speed and track of DF17 BDS 0,9 (6 384) and 0,6 (1 867); vertical rates of BDS 0,9;
    // callsigns of DF17 BDS 0,8 (865) and Comm-B 2,0 (2 294 + 317); squawks 13 653 - 1.
    assert_eq!(
        checked,
        [
            8_324 - 99,
            35_024 - 4,
            8_251,
            8_251,
            6_384,
            3_476,
            13_653 - 1
        ],
        "checked"
    );
}
