//! `deconflict bench desk` and `bench notifications`: the live desk's cycle and its strategic
//! check, each printed beside the comparison it is judged by.

use std::process::ExitCode;
use std::time::Instant;

use deconflict_airspace as airspace;
use deconflict_desk::{Alerter, Desk, Report, Setup};
use deconflict_engine::synth::{WorldConfig, world};

#[derive(clap::Args)]
pub struct DeskArgs {
    /// Live tracks in the picture.
    #[arg(long, default_value_t = 100_000)]
    pub tracks: usize,
    /// Tracks at which the broad phase is compared with grading every cross-party pair (the
    /// exact mode grows as N²).
    #[arg(long, default_value_t = 3_000)]
    pub exact_at: usize,
    /// Cycles timed per mode.
    #[arg(long, default_value_t = 3)]
    pub cycles: usize,
    /// The alerter (a DAIDALUS configuration by name).
    #[arg(long, default_value = "DO_365B_no_SUM")]
    pub alerter: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(clap::Args)]
pub struct NotificationsArgs {
    /// Stored notifications at which a create is timed.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub stored: Vec<usize>,
    /// Creates timed at each size.
    #[arg(long, default_value_t = 200)]
    pub creates: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn desk_with(args: &DeskArgs, tracks: usize, exact: bool) -> anyhow::Result<(Desk, i64)> {
    let snapshot = world(
        &WorldConfig {
            tracks,
            parties: 2,
            ..WorldConfig::default()
        },
        args.seed,
    )?;
    let mut desk = Desk::new(Setup {
        parties: vec!["blue".into(), "red".into()],
        h_sep_m: 9260.0,
        v_sep_m: 300.0,
        alerter: Alerter::named(&args.alerter)?,
        lines: Vec::new(),
        zones: Vec::new(),
        report_future_s_max: 2.0,
        exact,
    })?;
    let t0 = 1_700_000_000_000;
    for (i, t) in snapshot.tracks().iter().enumerate() {
        let p = t.state().position();
        let v = t.state().velocity();
        desk.report(
            t0,
            t.party().as_str(),
            Report {
                track_id: format!("t{i}"),
                time_ms: t0,
                lat_deg: p.lat_deg(),
                lon_deg: p.lon_deg(),
                alt_m: p.alt_m(),
                track_deg: v.trk_deg(),
                ground_speed_mps: v.gs_mps(),
                vertical_rate_mps: v.vs_mps(),
                callsign: None,
                aircraft_type: None,
                icao24: None,
                squawk: None,
            },
        )?;
    }
    Ok((desk, t0))
}

/// Times `cycles` ticks; returns the median milliseconds, the alerts of the first tick and the
/// candidate pairs of the last.
fn time_ticks(desk: &mut Desk, t0: i64, cycles: usize) -> (f64, Vec<deconflict_desk::Output>, u64) {
    let mut ms = Vec::new();
    let mut first = None;
    for k in 0..cycles.max(1) {
        let start = Instant::now();
        desk.tick(t0 + 1000 * (k as i64 + 1));
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        let out = desk.poll();
        first.get_or_insert(out);
    }
    (
        median(ms),
        first.unwrap_or_default(),
        desk.counters().last_candidates,
    )
}

pub fn bench_desk(args: DeskArgs) -> anyhow::Result<ExitCode> {
    println!(
        "world: {} tracks, 2 parties, 2000 x 2000 km, seed {}; alerter {}; one thread",
        args.tracks, args.seed, args.alerter
    );
    let (mut desk, t0) = desk_with(&args, args.tracks, false)?;
    let (ms, out, candidates) = time_ticks(&mut desk, t0, args.cycles);
    println!(
        "desk cycle, {} tracks (broad phase + {} on the candidates): median {ms:.1} ms per cycle over {} cycles; {candidates} candidate pairs graded, {} alerts in the first cycle",
        args.tracks,
        args.alerter,
        args.cycles.max(1),
        out.len()
    );
    if args.exact_at > 0 {
        let (mut fast, t0) = desk_with(&args, args.exact_at, false)?;
        let (mut exact, _) = desk_with(&args, args.exact_at, true)?;
        // Interleaved, so that both see the same machine load.
        let (mut fast_ms, mut exact_ms) = (Vec::new(), Vec::new());
        let mut identical = true;
        let mut pairs = (0, 0);
        for k in 0..args.cycles.max(1) {
            let now = t0 + 1000 * (k as i64 + 1);
            let s = Instant::now();
            fast.tick(now);
            fast_ms.push(s.elapsed().as_secs_f64() * 1e3);
            let s = Instant::now();
            exact.tick(now);
            exact_ms.push(s.elapsed().as_secs_f64() * 1e3);
            identical &= fast.poll() == exact.poll();
            pairs = (
                fast.counters().last_candidates,
                exact.counters().last_candidates,
            );
        }
        let (f, e) = (median(fast_ms), median(exact_ms));
        println!(
            "at {} tracks: broad phase + {} {f:.1} ms ({} pairs graded) vs every cross-party pair {e:.1} ms ({} pairs graded): {:.1}x faster; alerts identical: {}",
            args.exact_at,
            args.alerter,
            pairs.0,
            pairs.1,
            e / f,
            if identical { "yes" } else { "NO" }
        );
        if !identical {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn notification(i: usize, party: &str) -> anyhow::Result<airspace::Notification> {
    // Small circles spread over a 600 x 600 km square around 35° N 39° E, one hour each,
    // spread over a week: a realistic density, few of them overlapping.
    let limits = airspace::Limits::default();
    let x = (i.wrapping_mul(7919) % 1000) as f64 / 1000.0;
    let y = (i.wrapping_mul(104_729) % 997) as f64 / 997.0;
    let hour = (i.wrapping_mul(31) % 168) as i64;
    let start = 1_700_000_000_000 + hour * 3_600_000;
    Ok(airspace::Notification::new(
        airspace::NotificationId::new(format!("{party}-{i}"))?,
        airspace::PartyId::new(party)?,
        vec![airspace::Volume {
            footprint: airspace::Footprint::Circle(airspace::Circle::new(
                airspace::LonLat::new(36.0 + 6.0 * x, 32.0 + 6.0 * y)?,
                5_000.0,
                &limits,
            )?),
            band: airspace::AltitudeBand::new(3000.0, 9000.0, &limits)?,
            window: airspace::TimeWindow::new(start, start + 3_600_000, &limits)?,
        }],
    )?)
}

pub fn bench_notifications(args: NotificationsArgs) -> anyhow::Result<ExitCode> {
    println!(
        "strategic check + insertion through the desk core ({} creates timed at each size)",
        args.creates
    );
    let mut medians = Vec::new();
    for &n in &args.stored {
        let mut desk = Desk::new(Setup {
            parties: vec!["blue".into(), "red".into()],
            h_sep_m: 9260.0,
            v_sep_m: 300.0,
            alerter: Alerter::from_minima(9260.0, 300.0, 120.0)?,
            lines: Vec::new(),
            zones: Vec::new(),
            report_future_s_max: 2.0,
            exact: false,
        })?;
        for i in 0..n {
            let party = if i % 2 == 0 { "blue" } else { "red" };
            desk.notify(notification(i, party)?, Vec::new())?;
        }
        let mut us = Vec::new();
        let mut flagged = 0;
        for k in 0..args.creates {
            let n = notification(n + k, "red")?;
            let s = Instant::now();
            let (c, _) = desk.notify(n, Vec::new())?;
            us.push(s.elapsed().as_secs_f64() * 1e6);
            flagged += c.len();
        }
        let m = median(us);
        medians.push((n, m));
        println!(
            "  {n:>7} stored: median create {m:.1} µs ({flagged} overlaps flagged over {} creates)",
            args.creates
        );
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last()) {
        println!(
            "median at {} stored / median at {} stored: {:.2} (within 2x: {})",
            last.0,
            first.0,
            last.1 / first.1,
            if last.1 <= 2.0 * first.1 { "yes" } else { "NO" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
