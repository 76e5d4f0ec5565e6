//! Dividing-line crossings on real recorded trajectories (213 aircraft around Paris, 3 h at one
//! point per second; see testdata/README.md), with a diagonal line of three points drawn across
//! the area. Each crossing found by the monitor must match a direct computation in
//! longitude/latitude: same track, same order, same point, same time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use deconflict_airspace::conformance::{ConformanceMonitor, EventKind, Position};
use deconflict_airspace::{
    DividingLine, Frame, Geography, GeographyHistory, LonLat, PartyId, StrategicIndex,
};

#[derive(serde::Deserialize)]
struct Record {
    icao24: String,
    timestamp: i64,
    latitude: Option<f64>,
    longitude: Option<f64>,
    altitude: Option<f64>,
}

const LINE: [(f64, f64); 3] = [(1.2, 48.2), (2.4, 48.95), (3.8, 49.7)];
const GAP_MS_MAX: i64 = 60_000;

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

fn cross(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    ax * by - ay * bx
}

#[test]
fn crossings_of_a_diagonal_line_match_a_direct_computation() {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/traffic_quickstart_paris.json.gz"
    ))
    .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    let records: Vec<Record> = serde_json::from_slice(&json).unwrap();
    let mut tracks: BTreeMap<String, Vec<(i64, f64, f64, f64)>> = BTreeMap::new();
    for r in records {
        if let (Some(lat), Some(lon), Some(alt_ft)) = (r.latitude, r.longitude, r.altitude) {
            tracks
                .entry(r.icao24)
                .or_default()
                .push((r.timestamp, lon, lat, alt_ft * 0.3048));
        }
    }
    for v in tracks.values_mut() {
        v.sort_by_key(|p| p.0);
    }

    let party = PartyId::new("blue").unwrap();
    let line = DividingLine::new(
        "diagonal",
        LINE.iter().map(|&(x, y)| ll(x, y)).collect(),
        BTreeSet::from([party.clone()]),
    )
    .unwrap();
    let mut geography = GeographyHistory::new();
    geography
        .publish(0, Geography::new(vec![line], vec![]).unwrap())
        .unwrap();
    let frame = Frame::new(ll(2.45, 48.9));
    let index = StrategicIndex::new(frame);
    let mut monitor = ConformanceMonitor::with_limits(frame, 10_000, GAP_MS_MAX / 1000);

    let mut got = Vec::new();
    let mut want = Vec::new();
    for (icao, points) in &tracks {
        let mut prev: Option<(i64, f64, f64)> = None;
        for &(t, lon, lat, alt_m) in points {
            let p = Position {
                at: ll(lon, lat),
                alt_m,
                t_ms: t,
            };
            for e in monitor.observe(icao, &party, p, &index, &geography) {
                if let EventKind::DividingLineCrossed { point, t_ms, .. } = e.kind {
                    got.push((icao.clone(), point.lon_deg(), point.lat_deg(), t_ms));
                }
            }
            if prev.is_some_and(|q| t <= q.0) {
                continue;
            }
            if let Some((t0, lon0, lat0)) = prev
                && t - t0 <= GAP_MS_MAX
            {
                for w in LINE.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let (sx, sy) = (b.0 - a.0, b.1 - a.1);
                    let left = |x: f64, y: f64| cross(sx, sy, x - a.0, y - a.1) > 0.0;
                    let track_left =
                        |x: f64, y: f64| cross(lon - lon0, lat - lat0, x - lon0, y - lat0) > 0.0;
                    if left(lon0, lat0) != left(lon, lat)
                        && track_left(a.0, a.1) != track_left(b.0, b.1)
                    {
                        let s = cross(a.0 - lon0, a.1 - lat0, sx, sy)
                            / cross(lon - lon0, lat - lat0, sx, sy);
                        want.push((
                            icao.clone(),
                            lon0 + s * (lon - lon0),
                            lat0 + s * (lat - lat0),
                            t0 + (s * (t - t0) as f64).round() as i64,
                        ));
                    }
                }
            }
            prev = Some((t, lon, lat));
        }
    }
    assert!(want.len() > 50, "{} crossings", want.len());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!(
            (g.1 - w.1).abs() < 1e-9 && (g.2 - w.2).abs() < 1e-9,
            "{g:?} vs {w:?}"
        );
        assert!((g.3 - w.3).abs() <= 1, "{g:?} vs {w:?}");
    }
}
