//! The Rust half of `bench/strategic-vs-postgis.sh`.
//!
//! `generate DIR N Q SEED V_BUFFER_M`: draws N random notifications (star-shaped polygons 1–20 km
//! across in a 1,000 × 1,000 km square, altitude bands, windows over 24 h, four parties) and Q
//! queries from the same distribution; writes them for PostgreSQL `COPY` (footprints in the
//! index's frame metres, so PostGIS sees the very same doubles); inserts the N into the index one
//! by one (insert rate), runs the Q conflict queries one by one (latency per query) and writes the
//! answers and figures.
//!
//! `rounds DIR N Q SEED V_BUFFER_M`: draws the same notifications and queries again (same seed),
//! inserts them into the index, then waits on standard input: each line `round K` runs the Q
//! queries once, writes their latencies to `DIR/rust_round_K.tsv` (and the answers, for
//! round 0, to `DIR/rust_answers.tsv`), and answers `done K` on standard output. The script
//! alternates these rounds with PostGIS's, so both sides are timed under the same conditions.
//!
//! `plain N Q SEED V_BUFFER_M REPEATS SWEEP_MB`: draws and inserts as `rounds` does (nothing is
//! written), then runs the Q queries REPEATS times in this process, each round after touching
//! SWEEP_MB of other memory (0: none; about what a PostGIS round leaves in the caches), and
//! prints each round's median and p99.
//!
//! `compare DIR ROUNDS`: reads PostGIS's answers and per-round query times written by the
//! script, checks that every answer is identical, and prints, for rounds 1..=ROUNDS, the median
//! and p99 of each side, their ratios per round, and as the last line the median ratio with its
//! spread (min–max over rounds) against the target; exits 1 when answers differ or a target is
//! missed.

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

// The service's allocator (see `crates/cli`): queries are timed as the service runs them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// The N notifications and Q queries of `seed`.
fn draw_all(n: usize, q: usize, seed: u64) -> (Vec<Notification>, Vec<Notification>) {
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
    (notifications, queries)
}

/// The index of `notifications`, inserted one by one; the time taken, seconds.
fn insert_all(notifications: Vec<Notification>) -> (StrategicIndex, f64) {
    let mut index = StrategicIndex::new(frame());
    let started = Instant::now();
    for nt in notifications {
        index.insert(nt).expect("valid and unique");
    }
    (index, started.elapsed().as_secs_f64())
}

fn generate(dir: &str, n: usize, q: usize, seed: u64, v_buffer_m: f64) {
    let frame = frame();
    let (notifications, queries) = draw_all(n, q, seed);
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
    drop(packed);
    let (index, insert_s) = insert_all(notifications);
    println!(
        "deconflict: {n} notifications inserted one by one in {insert_s:.2} s ({:.0} inserts/s); bulk load {bulk_s:.2} s",
        n as f64 / insert_s
    );
    // Ready: the script loads PostGIS, then asks for rounds.
    println!("ready");
    let _ = std::io::stdout().flush();

    let buffers = Buffers::new(0.0, v_buffer_m).expect("valid buffers");
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let Some(k) = line
            .trim()
            .strip_prefix("round ")
            .and_then(|k| k.parse::<usize>().ok())
        else {
            eprintln!("strategic_bench: unknown command {:?}", line.trim());
            std::process::exit(2);
        };
        let mut timings = String::new();
        let mut answers = String::new();
        for (i, query) in queries.iter().enumerate() {
            let t = Instant::now();
            let found = index.conflicts(query, buffers).expect("inside the frame");
            let us = t.elapsed().as_secs_f64() * 1e6;
            let _ = writeln!(timings, "{i}\t{us}");
            if k == 0 {
                let ids: Vec<&str> = found.iter().map(|f| f.as_str()).collect();
                let _ = writeln!(answers, "{i}\t{}", sorted_ids(&ids));
            }
        }
        std::fs::write(format!("{dir}/rust_round_{k}.tsv"), timings).expect("writing timings");
        if k == 0 {
            std::fs::write(format!("{dir}/rust_answers.tsv"), answers).expect("writing answers");
        }
        println!("done {k}");
        let _ = std::io::stdout().flush();
    }
}

fn plain(n: usize, q: usize, seed: u64, v_buffer_m: f64, repeats: usize, sweep_mb: usize) {
    let (notifications, queries) = draw_all(n, q, seed);
    let (index, insert_s) = insert_all(notifications);
    println!("{n} notifications inserted in {insert_s:.2} s");
    let buffers = Buffers::new(0.0, v_buffer_m).expect("valid buffers");
    let mut other = vec![0u8; sweep_mb << 20];
    let mut conflicts = 0;
    for k in 0..repeats {
        // Written, not only read, as another process's work would leave the caches.
        for (i, b) in other.iter_mut().enumerate().step_by(64) {
            *b = b.wrapping_add(i as u8);
        }
        std::hint::black_box(&other);
        let mut us: Vec<f64> = Vec::with_capacity(q);
        conflicts = 0;
        for query in &queries {
            let t = Instant::now();
            let found = index.conflicts(query, buffers).expect("inside the frame");
            us.push(t.elapsed().as_secs_f64() * 1e6);
            conflicts += found.len();
        }
        us.sort_by(f64::total_cmp);
        println!(
            "round {k}: median {:.2} µs p99 {:.2} µs max {:.1} µs",
            percentile(&us, 0.5),
            percentile(&us, 0.99),
            us[us.len() - 1]
        );
    }
    println!("{conflicts} conflicts");
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

fn timings(path: &str) -> Vec<f64> {
    let mut v: Vec<f64> = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.trim().parse().ok())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of a few numbers, and their range.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (percentile(&v, 0.5), v[0], v[v.len() - 1])
}

/// Target the comparison is judged by: deconflict at least this many times faster.
const RATIO_TARGET: f64 = 30.0;

fn compare(dir: &str, rounds: usize) -> bool {
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
    let (mut med_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for k in 1..=rounds {
        let r = timings(&format!("{dir}/rust_round_{k}.tsv"));
        let p = timings(&format!("{dir}/pg_round_{k}.tsv"));
        let (r50, r99, p50, p99) = (
            percentile(&r, 0.5),
            percentile(&r, 0.99),
            percentile(&p, 0.5),
            percentile(&p, 0.99),
        );
        med_ratios.push(p50 / r50);
        p99_ratios.push(p99 / r99);
        let _ = writeln!(
            out,
            "round {k}: deconflict median {r50:.1} µs p99 {r99:.1} µs; PostGIS (in-server execution) median {p50:.1} µs p99 {p99:.1} µs; ratio median {:.1}x p99 {:.1}x",
            p50 / r50,
            p99 / r99
        );
    }
    let (m, m_lo, m_hi) = spread(med_ratios);
    let (p, p_lo, p_hi) = spread(p99_ratios);
    let met = m_lo >= RATIO_TARGET && p_lo >= RATIO_TARGET;
    let _ = writeln!(
        out,
        "deconflict vs PostGIS over {rounds} interleaved rounds: median {m:.1}x (rounds {m_lo:.1}–{m_hi:.1}x), p99 {p:.1}x (rounds {p_lo:.1}–{p_hi:.1}x); target >= {RATIO_TARGET:.0}x in every round: {}",
        if met { "met" } else { "MISSED" }
    );
    same && met
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: strategic_bench rounds DIR N Q SEED V_BUFFER_M \
                 | plain N Q SEED V_BUFFER_M REPEATS SWEEP_MB | compare DIR ROUNDS";
    match args.get(1).map(String::as_str) {
        Some("rounds") if args.len() == 7 => {
            let num = |i: usize| -> u64 { args[i].parse().expect(usage) };
            let v: f64 = args[6].parse().expect(usage);
            generate(&args[2], num(3) as usize, num(4) as usize, num(5), v);
        }
        Some("plain") if args.len() == 8 => {
            let num = |i: usize| -> usize { args[i].parse().expect(usage) };
            let v: f64 = args[5].parse().expect(usage);
            plain(num(2), num(3), num(4) as u64, v, num(6), num(7));
        }
        Some("compare") if args.len() == 4 => {
            if !compare(&args[2], args[3].parse().expect(usage)) {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
