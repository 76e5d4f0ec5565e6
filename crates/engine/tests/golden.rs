//! Golden test of `probe` on the bundled snapshot `testdata/golden_snapshot.csv`. The expected
//! windows come from the closed form of the equatorial encounters (see `testdata/README.md`),
//! computed here independently of the engine's geometry.

use deconflict_engine::snapshot::parse;
use deconflict_engine::{PairPolicy, ProbeConfig, probe, probe_exact};

const A_M: f64 = 6_378_137.0;
const H_M: f64 = 9_260.0;
const T_S: f64 = 120.0;

fn chord_m(dlon_deg: f64) -> f64 {
    2.0 * A_M * (dlon_deg.to_radians() / 2.0).sin()
}
fn kt(x: f64) -> f64 {
    x * 1852.0 / 3600.0
}

/// (a, b, t_in_s, t_out_s, h_min_m)
fn expected(same_party: bool) -> Vec<(&'static str, &'static str, f64, f64, f64)> {
    let mut v = Vec::new();
    // 1–2: head-on at 360 + 360 kt, 0.2° apart; |c − w t| < H for t in ((c − H)/w, (c + H)/w).
    let (c, w) = (chord_m(0.2), kt(720.0));
    v.push(("1", "2", (c - H_M) / w, (c + H_M) / w, 0.0));
    // 3–4: 4 is 0.2° ahead, 240 kt slower; 1500 ft above, descending 500 ft/min.
    let (c, w) = (chord_m(0.2), kt(240.0));
    let (dz, dvz) = (1500.0 * 0.3048, -500.0 * 0.3048 / 60.0);
    let h_in = (c - H_M) / w;
    let v_in = (dz - 304.8) / -dvz;
    let t_in = h_in.max(v_in);
    v.push(("3", "4", t_in, T_S, c - w * T_S));
    // 5–6: same party, 0.05° apart head-on.
    if same_party {
        let (c, w) = (chord_m(0.05), kt(720.0));
        v.push(("5", "6", 0.0, (c + H_M) / w, 0.0));
    }
    // 9–10: 0.05° apart and diverging at 720 kt.
    let (c, w) = (chord_m(0.05), kt(720.0));
    v.push(("9", "10", 0.0, (H_M - c) / w, c));
    v
}

fn check(same_party: bool) {
    let snapshot = parse(include_bytes!("../testdata/golden_snapshot.csv")).unwrap();
    let pairs = if same_party {
        PairPolicy::AllPairs
    } else {
        PairPolicy::DifferentParties
    };
    let config = ProbeConfig::new(T_S, H_M, 304.8, pairs).unwrap();
    let got = probe(&snapshot, &config);
    assert_eq!(got, probe_exact(&snapshot, &config));
    let want = expected(same_party);
    let got_ids: Vec<(&str, &str)> = got
        .iter()
        .map(|p| (p.a().as_str(), p.b().as_str()))
        .collect();
    let want_ids: Vec<(&str, &str)> = want.iter().map(|w| (w.0, w.1)).collect();
    assert_eq!(got_ids, want_ids);
    for (g, w) in got.iter().zip(&want) {
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * y.abs().max(1.0);
        assert!(close(g.t_in_s(), w.2), "{w:?}: t_in {}", g.t_in_s());
        assert!(close(g.t_out_s(), w.3), "{w:?}: t_out {}", g.t_out_s());
        // h_min 0 comes out as rounding noise around the chord.
        assert!(
            (g.h_min_m() - w.4).abs() <= 1e-6 * w.4.max(1.0),
            "{w:?}: h_min {}",
            g.h_min_m()
        );
    }
}

#[test]
fn golden_snapshot_different_parties() {
    check(false);
}

#[test]
fn golden_snapshot_same_party_too() {
    check(true);
}
