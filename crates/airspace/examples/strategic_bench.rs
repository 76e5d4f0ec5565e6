//! The Rust half of `bench/strategic-vs-postgis.sh`.
//!
//! `generate DIR N Q SEED V_BUFFER_M`: draws N random notifications (star-shaped polygons 1–20 km
//! across in a 1,000 × 1,000 km square, altitude bands, windows over 24 h, four parties) and Q
//! queries from the same distribution; writes them for PostgreSQL `COPY` (footprints in the
//! index's frame metres, so PostGIS sees the very same doubles); inserts the N into the index one
//! by one (insert rate), runs the Q conflict queries one by one (latency per query) and writes the
//! answers and figures.
//!
//! `compare DIR`: reads PostGIS's answers and per-query times written by the script, checks that
//! every answer is identical, and prints both sides and the p99 ratio as the last line.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use deconflict_airspace::index::project;
use deconflict_airspace::planar::Planar;
use deconflict_airspace::{
    AltitudeBand, Buffers, Footprint, Frame, Limits, LonLat, Notification, NotificationId, PartyId,
    Polygon, StrategicIndex, TimeWindow, Volume,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const AREA_HALF_M: f64 = 500_000.0;
const T0_MS: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z
const DAY_MIN: i64 = 24 * 60;
const PARTIES: [&str; 4] = ["blue", "red", "green", "amber"];

fn frame() -> Frame {
    Frame::new(LonLat::new(38.0, 35.0).expect("constant origin"))
}

fn draw(rng: &mut ChaCha8Rng, frame: &Frame, limits: &Limits, id: String) -> Notification {
    loop {
        let cx = rng.gen_range(-AREA_HALF_M..AREA_HALF_M);
        let cy = rng.gen_range(-AREA_HALF_M..AREA_HALF_M);
        let across_m = rng.gen_range(1_000.0..20_000.0);
        let k = rng.gen_range(5..=16);
        let ring: Option<Vec<LonLat>> = (0..k)
            .map(|i| {
                let a = std::f64::consts::TAU * (i as f64 + rng.gen_range(0.0..0.9)) / k as f64;
                let r = across_m / 2.0 * rng.gen_range(0.4..1.0);
                frame.unproject(geo::Coord {
                    x: cx + r * a.cos(),
                    y: cy + r * a.sin(),
                })
            })
            .collect();
        let Some(Ok(polygon)) = ring.map(|r| Polygon::new(r, limits)) else {
            continue;
        };
        let lower_m = rng.gen_range(0..12_000) as f64;
        let upper_m = lower_m + rng.gen_range(300..3_000) as f64;
        let start_min = rng.gen_range(0..DAY_MIN);
        let end_min = start_min + rng.gen_range(30..240);
        let volume = Volume {
            footprint: Footprint::Polygon(polygon),
            band: AltitudeBand::new(lower_m, upper_m, limits).expect("drawn in range"),
            window: TimeWindow::new(T0_MS + start_min * 60_000, T0_MS + end_min * 60_000, limits)
                .expect("drawn in range"),
        };
        let party = PARTIES[rng.gen_range(0..PARTIES.len())];
        return Notification::new(
            NotificationId::new(id).expect("short id"),
            PartyId::new(party).expect("constant party"),
            vec![volume],
        )
        .expect("one volume");
    }
}

fn rfc3339(t_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t_ms / 1000)
        .expect("in range")
        .format(&Rfc3339)
        .expect("formattable")
}

/// One COPY row: id, party, footprint (WKT, frame metres), alt numrange, during tstzrange.
fn copy_row(frame: &Frame, n: &Notification, v_buffer_m: f64, out: &mut String) {
    let planar = project(frame, n).expect("inside the frame");
    let v = &planar[0];
    let Planar::Polygon { polygon, .. } = &v.footprint else {
        unreachable!("the bench draws polygons only")
    };
    let _ = write!(out, "{}\t{}\tPOLYGON((", n.id(), n.party());
    for (i, c) in polygon.exterior().coords().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{} {}", c.x, c.y);
    }
    let _ = writeln!(
        out,
        "))\t[{},{})\t[{},{})",
        v.band.lower_m() - v_buffer_m,
        v.band.upper_m() + v_buffer_m,
        rfc3339(v.window.start_ms()),
        rfc3339(v.window.end_ms()),
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn generate(dir: &str, n: usize, q: usize, seed: u64, v_buffer_m: f64) {
    let frame = frame();
    let limits = Limits::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let started = Instant::now();
    let notifications: Vec<Notification> = (0..n)
        .map(|i| draw(&mut rng, &frame, &limits, format!("n{i}")))
        .collect();
    let queries: Vec<Notification> = (0..q)
        .map(|i| draw(&mut rng, &frame, &limits, format!("q{i}")))
        .collect();
    eprintln!(
        "drew and validated {} volumes in {:.1} s",
        n + q,
        started.elapsed().as_secs_f64()
    );

    let write = |name: &str, rows: &[Notification], v: f64| {
        let mut out = String::with_capacity(rows.len() * 400);
        for (i, r) in rows.iter().enumerate() {
            if name == "queries.tsv" {
                let _ = write!(out, "{i}\t");
            }
            copy_row(&frame, r, v, &mut out);
        }
        std::fs::write(format!("{dir}/{name}"), out).expect("writing the COPY file");
    };
    write("notifications.tsv", &notifications, 0.0);
    // The vertical buffer is applied to the query's band, as the index does.
    write("queries.tsv", &queries, v_buffer_m);

    let started = Instant::now();
    let packed = StrategicIndex::bulk_load(frame, notifications.clone()).expect("valid and unique");
    let bulk_s = started.elapsed().as_secs_f64();
    let mut index = StrategicIndex::new(frame);
    let started = Instant::now();
    for nt in notifications {
        index.insert(nt).expect("valid and unique");
    }
    let insert_s = started.elapsed().as_secs_f64();
    let insert_per_s = n as f64 / insert_s;

    let buffers = Buffers::new(0.0, v_buffer_m).expect("valid buffers");
    let mut latencies_us = Vec::with_capacity(q);
    let mut answers = String::new();
    let mut found_total = 0usize;
    for (i, query) in queries.iter().enumerate() {
        let t = Instant::now();
        let found = index.conflicts(query, buffers).expect("inside the frame");
        latencies_us.push(t.elapsed().as_secs_f64() * 1e6);
        found_total += found.len();
        let ids: Vec<&str> = found.iter().map(|f| f.as_str()).collect();
        let _ = writeln!(answers, "{i}\t{}", sorted_ids(&ids));
    }
    std::fs::write(format!("{dir}/rust_answers.tsv"), answers).expect("writing answers");
    // The same queries on the bulk-loaded tree: same answers, and the latency a service sees
    // after loading its notifications at start-up.
    let mut packed_us = Vec::with_capacity(q);
    for query in &queries {
        let t = Instant::now();
        let found = packed.conflicts(query, buffers).expect("inside the frame");
        packed_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(
            found,
            index.conflicts(query, buffers).expect("inside the frame")
        );
    }
    packed_us.sort_by(f64::total_cmp);
    println!(
        "deconflict: bulk load of {n} in {bulk_s:.2} s; queries on it: median {:.1} µs, p99 {:.1} µs (same answers)",
        percentile(&packed_us, 0.5),
        percentile(&packed_us, 0.99)
    );
    latencies_us.sort_by(f64::total_cmp);
    let (p50, p99) = (
        percentile(&latencies_us, 0.5),
        percentile(&latencies_us, 0.99),
    );
    std::fs::write(
        format!("{dir}/rust_figures.txt"),
        format!("{p50} {p99} {insert_per_s}\n"),
    )
    .expect("writing figures");
    println!(
        "deconflict: {n} notifications inserted one by one in {insert_s:.2} s ({insert_per_s:.0} inserts/s)"
    );
    println!(
        "deconflict: {q} conflict queries, {found_total} conflicts, latency median {p50:.1} µs, p99 {p99:.1} µs"
    );
}

/// Ids sorted as strings, comma-joined: the form both sides write.
fn sorted_ids(ids: &[&str]) -> String {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.join(",")
}

fn read_answers(path: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut rows: Vec<(usize, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (qid, ids) = l.split_once('\t').unwrap_or((l, ""));
            let ids: Vec<&str> = ids.split(',').filter(|s| !s.is_empty()).collect();
            (qid.trim().parse().expect("query id"), sorted_ids(&ids))
        })
        .collect();
    rows.sort();
    rows
}

fn compare(dir: &str) -> bool {
    let rust = read_answers(&format!("{dir}/rust_answers.tsv"));
    let pg = read_answers(&format!("{dir}/pg_answers.tsv"));
    let mut differ = 0;
    for (r, p) in rust.iter().zip(&pg) {
        if r != p {
            if differ < 5 {
                eprintln!("query {}: deconflict [{}] PostGIS [{}]", r.0, r.1, p.1);
            }
            differ += 1;
        }
    }
    let same = rust.len() == pg.len() && differ == 0;
    let conflicts: usize = rust
        .iter()
        .map(|r| r.1.split(',').filter(|s| !s.is_empty()).count())
        .sum();
    let figures = std::fs::read_to_string(format!("{dir}/rust_figures.txt")).expect("figures");
    let f: Vec<f64> = figures
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    let mut pg_us: Vec<f64> = std::fs::read_to_string(format!("{dir}/pg_timings.tsv"))
        .expect("PostGIS timings")
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.trim().parse().ok())
        .collect();
    pg_us.sort_by(f64::total_cmp);
    let (pg50, pg99) = (percentile(&pg_us, 0.5), percentile(&pg_us, 0.99));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "answers: {} queries, {conflicts} conflicts, {}",
        rust.len(),
        if same {
            "identical in deconflict and PostGIS".to_owned()
        } else {
            format!(
                "DIFFERENT in {differ} queries (deconflict {} rows, PostGIS {} rows)",
                rust.len(),
                pg.len()
            )
        }
    );
    let _ = writeln!(
        out,
        "query latency median: deconflict {:.1} µs, PostGIS {:.1} µs ({:.1}x)",
        f[0],
        pg50,
        pg50 / f[0]
    );
    let mut client_us: Vec<f64> = std::fs::read_to_string(format!("{dir}/pg_client_timings.tsv"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.trim().parse().ok())
        .collect();
    client_us.sort_by(f64::total_cmp);
    if !client_us.is_empty() {
        let _ = writeln!(
            out,
            "PostGIS as a client sees it (pgbench, prepared, loopback TCP): median {:.1} µs, p99 {:.1} µs",
            percentile(&client_us, 0.5),
            percentile(&client_us, 0.99)
        );
    }
    let client = if client_us.is_empty() {
        String::new()
    } else {
        format!(
            "; vs PostGIS through a client {:.1}x (p99 {:.1} µs)",
            percentile(&client_us, 0.99) / f[1],
            percentile(&client_us, 0.99)
        )
    };
    let _ = writeln!(
        out,
        "p99 ratio (target >= 30x): deconflict {:.1} µs; vs PostGIS in-server execution {:.1}x (p99 {:.1} µs){client}",
        f[1],
        pg99 / f[1],
        pg99,
    );
    same
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: strategic_bench generate DIR N Q SEED V_BUFFER_M | compare DIR";
    match args.get(1).map(String::as_str) {
        Some("generate") if args.len() == 7 => {
            let num = |i: usize| -> u64 { args[i].parse().expect(usage) };
            let v: f64 = args[6].parse().expect(usage);
            generate(&args[2], num(3) as usize, num(4) as usize, num(5), v);
        }
        Some("compare") if args.len() == 3 => {
            if !compare(&args[2]) {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
