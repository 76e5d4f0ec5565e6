//! `deconflict bench desk` and `bench notifications`: the live desk's cycle and its strategic
//! check, each printed beside the comparison it is judged by.

use std::process::ExitCode;
use std::time::Instant;

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
    /// Stored notifications at which a create is timed, smallest first.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub stored: Vec<usize>,
    /// Creates timed at each size through the desk core.
    #[arg(long, default_value_t = 200)]
    pub creates: usize,
    /// Creates timed at each size through HTTP (0: the core alone).
    #[arg(long, default_value_t = 50)]
    pub http_creates: usize,
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

/// The live cycle's budget: the service ticks once a second.
const CYCLE_MS_MAX: f64 = 1000.0;

pub fn bench_desk(args: DeskArgs) -> anyhow::Result<ExitCode> {
    let cycles = args.cycles.max(1);
    println!(
        "deconflict bench desk — world: 2 parties, 2000 x 2000 km, seed {}; alerter {}; one thread",
        args.seed, args.alerter
    );

    let (mut desk, t0) = desk_with(&args, args.tracks, false)?;
    let mut ms = Vec::new();
    let mut alerts = 0;
    for k in 0..cycles {
        let start = Instant::now();
        desk.tick(t0 + 1000 * (k as i64 + 1));
        let t = start.elapsed().as_secs_f64() * 1e3;
        ms.push(t);
        alerts += desk.poll().len();
        println!(
            "  cycle {}: {} tracks, broad phase + {} on {} candidate pairs: {t:.1} ms",
            k + 1,
            args.tracks,
            args.alerter,
            desk.counters().last_candidates
        );
    }
    let candidates = desk.counters().last_candidates;
    drop(desk);
    let worst = ms.iter().copied().fold(0.0, f64::max);
    let m = median(ms);
    println!(
        "at {} tracks: broad phase + {} on the candidates: median {m:.1} ms, worst {worst:.1} ms per cycle over {cycles} cycles; {candidates} candidate pairs graded, {alerts} alerts",
        args.tracks, args.alerter
    );

    // Then the exact mode, at a size where grading every cross-party pair is feasible: broad
    // phase and exact mode interleaved round by round, so both see the same load. (After the
    // large cycle, not before: the exact mode's millions of freed allocations would slow the
    // allocator for whatever runs next.)
    let mut comparison = None;
    if args.exact_at > 0 {
        let (mut fast, t0) = desk_with(&args, args.exact_at, false)?;
        let (mut exact, _) = desk_with(&args, args.exact_at, true)?;
        let (mut fast_ms, mut exact_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let mut identical = true;
        let mut pairs = (0, 0);
        for k in 0..cycles {
            let now = t0 + 1000 * (k as i64 + 1);
            let s = Instant::now();
            fast.tick(now);
            let f = s.elapsed().as_secs_f64() * 1e3;
            let s = Instant::now();
            exact.tick(now);
            let e = s.elapsed().as_secs_f64() * 1e3;
            fast_ms.push(f);
            exact_ms.push(e);
            ratios.push(e / f);
            identical &= fast.poll() == exact.poll();
            pairs = (
                fast.counters().last_candidates,
                exact.counters().last_candidates,
            );
            println!(
                "  round {}: {} tracks, broad phase {f:.1} ms, every cross-party pair {e:.1} ms: ratio {:.1}",
                k + 1,
                args.exact_at,
                e / f
            );
        }
        let (f, e, r) = (median(fast_ms), median(exact_ms), median(ratios));
        println!(
            "at {} tracks: broad phase + {} {f:.1} ms ({} pairs graded) vs every cross-party pair {e:.1} ms ({} pairs graded): median ratio {r:.1} over {cycles} interleaved rounds; alerts identical: {}",
            args.exact_at,
            args.alerter,
            pairs.0,
            pairs.1,
            if identical { "yes" } else { "NO" }
        );
        comparison = Some((f, e, r, pairs.1, identical));
    }

    let within = worst <= CYCLE_MS_MAX;
    let mut last = format!(
        "desk cycle at {} tracks: median {m:.1} ms, worst {worst:.1} ms (1 s cycle: {})",
        args.tracks,
        if within { "within" } else { "EXCEEDED" }
    );
    let mut ok = within;
    if let Some((f, e, r, exact_pairs, identical)) = comparison {
        // Every cross-party pair: (N/2)² at N tracks in two equal parties; the exact mode's
        // cost grows with the pairs it grades.
        let half = args.tracks as f64 / 2.0;
        let extrapolated_ms = e / exact_pairs.max(1) as f64 * half * half;
        last.push_str(&format!(
            "; every cross-party pair: at {} tracks {e:.1} ms vs broad phase {f:.1} ms, median ratio {r:.1}; extrapolated {:.0} s at {} tracks, ratio {:.0} to the measured cycle; alerts identical: {}",
            args.exact_at,
            extrapolated_ms / 1e3,
            args.tracks,
            extrapolated_ms / m,
            if identical { "yes" } else { "NO" }
        ));
        ok &= identical;
    }
    println!("{last}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn bench_notifications(args: NotificationsArgs) -> anyhow::Result<ExitCode> {
    let mut stored = args.stored.clone();
    stored.sort_unstable();
    stored.dedup();
    let outcome = deconflict_drive::notifications_bench::run(
        &deconflict_drive::notifications_bench::Options {
            stored,
            creates: args.creates,
            http_creates: args.http_creates,
        },
    )?;
    print!("{}", outcome.text);
    Ok(if outcome.met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
