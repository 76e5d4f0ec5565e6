//! `deconflict daa`: DO-365 alerting over a DAIDALUS encounter file, writing the same CSV as
//! DAIDALUS's DaidalusAlerting (v2.0.4), so that the two can be diffed; with `--bands`, the
//! guidance bands text of DaidalusBatch (v2.0.4) instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use deconflict_wellclear::{
    Ownship, alerting_csv_with_stats, batch::batch_text, parse_conf, parse_encounter,
};

/// Arguments of `deconflict daa`.
#[derive(clap::Args)]
pub struct Args {
    /// DAIDALUS configuration file (`key = value [unit]`), e.g. DO_365B_no_SUM.conf.
    #[arg(long, value_name = "FILE.conf")]
    conf: PathBuf,
    /// Aircraft to use as ownship (default: the first aircraft of each time step).
    #[arg(long, value_name = "NAME")]
    ownship: Option<String>,
    /// Write the output here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write DaidalusBatch's guidance bands text (kinematic bands) instead of the alerting CSV.
    #[arg(long)]
    bands: bool,
    /// With --bands: instantaneous bands (no turn rate, bank angle or accelerations), as
    /// `DaidalusBatch --instantaneous`.
    #[arg(long, requires = "bands")]
    instantaneous: bool,
    /// Encounter file (.daa with lat/lon/alt, or .xyz with sx/sy/sz).
    #[arg(value_name = "SCENARIO.daa")]
    scenario: PathBuf,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let conf_name = args.conf.display().to_string();
    let mut config = parse_conf(&conf_name, &read(&args.conf)?)?;
    if args.instantaneous {
        config = config.with_instantaneous_bands();
    }
    let scenario_name = args.scenario.display().to_string();
    let encounter = parse_encounter(&scenario_name, &read(&args.scenario)?)?;
    let ownship = match &args.ownship {
        Some(name) => {
            if !encounter
                .steps
                .iter()
                .any(|s| s.aircraft.iter().any(|a| &a.id == name))
            {
                anyhow::bail!("{scenario_name}: no aircraft named '{name}' (--ownship)");
            }
            Ownship::Named(name)
        }
        None => Ownship::First,
    };
    let (csv, stats) = if args.bands {
        batch_text(&config, &encounter, ownship)
    } else {
        alerting_csv_with_stats(&config, &encounter, ownship)
    };
    // Nothing is dropped silently: say on stderr what the CSV leaves out.
    if !encounter.ignored_columns.is_empty() {
        eprintln!(
            "deconflict: note: {scenario_name}: ignored columns: {}",
            encounter.ignored_columns.join(", ")
        );
    }
    if stats.steps_without_ownship > 0 {
        eprintln!(
            "deconflict: note: {} of {} time steps have no ownship and give no rows",
            stats.steps_without_ownship, stats.steps
        );
    }
    if stats.skipped_no_alerter > 0 {
        eprintln!(
            "deconflict: note: {} intruder states have no valid alerter index and give no rows",
            stats.skipped_no_alerter
        );
    }
    if stats.skipped_other_frame + stats.histories_dropped > 0 {
        eprintln!(
            "deconflict: note: {} intruder states in another frame skipped, {} alert histories dropped",
            stats.skipped_other_frame, stats.histories_dropped
        );
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => {
            use std::io::Write;
            let mut stdout = crate::stdio::stdout();
            stdout
                .write_all(csv.as_bytes())
                .context("cannot write to standard output")?;
            stdout.flush().context("cannot write to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `deconflict bench bands`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// DAIDALUS configuration (default: the embedded DO_365B_no_SUM, as the desk runs it).
    #[arg(long, value_name = "FILE.conf")]
    conf: Option<PathBuf>,
    /// Encounters per traffic size.
    #[arg(long, default_value_t = 20)]
    encounters: usize,
    /// Seed of the generated encounters.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The configuration `bench bands` uses without `--conf`: the DO_365B_no_SUM alerter the desk
/// embeds (its first alerter, DO-365B Phase I: preventive, corrective, warning).
const BENCH_ALERTER: &str = "DO_365B_no_SUM";

fn bench_conf() -> anyhow::Result<&'static str> {
    deconflict_desk::alerter::NAMED
        .iter()
        .find(|(name, _)| *name == BENCH_ALERTER)
        .map(|(_, text)| *text)
        .ok_or_else(|| anyhow::anyhow!("no embedded alerter {BENCH_ALERTER}"))
}

/// Deterministic generator of bench encounters (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// An ownship at the origin flying north, and `n` intruders converging on it within about two
/// minutes from all around, within 1500 ft.
fn bench_encounter(
    mix: &mut Mix,
    n: usize,
) -> (
    deconflict_wellclear::encounter::AircraftState,
    Vec<deconflict_wellclear::encounter::AircraftState>,
) {
    use deconflict_wellclear::encounter::{AircraftState, Position};
    use deconflict_wellclear::geom::Vec3;
    const KT: f64 = 1852.0 / 3600.0;
    const FT: f64 = 0.3048;
    let alt = 10_000.0 * FT;
    let own_v = Vec3::new(0.0, 200.0 * KT, 0.0);
    let state = |id: String, s: Vec3, v: Vec3| AircraftState {
        id,
        position: Position::Euclidean(s),
        velocity_mps: v,
        air_velocity: None,
        alerter: Some(1),
        line: 0,
    };
    let own = state("own".into(), Vec3::new(0.0, 0.0, alt), own_v);
    let traffic = (0..n)
        .map(|i| {
            // Meet the ownship's path at time tc, from bearing b, with a miss of up to 1 nmi.
            let tc = mix.range(40.0, 150.0);
            let b = mix.range(0.0, std::f64::consts::TAU);
            let speed = mix.range(100.0, 450.0) * KT;
            let meet = Vec3::new(mix.range(-1852.0, 1852.0), own_v.y * tc, alt);
            let v = Vec3::new(
                -speed * b.sin(),
                -speed * b.cos(),
                mix.range(-1000.0, 1000.0) * 0.00508,
            );
            let s = Vec3::new(
                meet.x - v.x * tc,
                meet.y - v.y * tc,
                alt + mix.range(-1500.0, 1500.0) * FT - v.z * tc,
            );
            state(format!("i{i}"), s, v)
        })
        .collect();
    (own, traffic)
}

/// `deconflict bench bands`: bands per aircraft with 1, 5 and 20 intruders, interleaved with
/// the alerting of the same aircraft, and their ratio.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    use deconflict_wellclear::Daa;
    use deconflict_wellclear::bands::{BandsEngine, Intruder, Own};
    use deconflict_wellclear::encounter::Position;
    use std::time::Instant;
    let config = match &args.conf {
        Some(p) => parse_conf(&p.display().to_string(), &read(p)?)?,
        None => parse_conf(BENCH_ALERTER, bench_conf()?)?,
    };
    let encounters = args.encounters.max(1);
    println!(
        "bands per ownship (kinematic: turn {:.1} deg/s, {:.1} m/s^2, {:.2} G vertical; steps {:.0} deg) against the DO-365 alerting of the same aircraft; {} encounters per size, seed {}; one thread",
        config.bands().turn_rate_rps.to_degrees(),
        config.bands().horizontal_accel_mps2,
        config.bands().vertical_accel_mps2 / 9.80665,
        config.bands().step_hdir_rad.to_degrees(),
        encounters,
        args.seed
    );
    for n in [1usize, 5, 20] {
        let mut mix = Mix(args.seed ^ (n as u64).wrapping_mul(0x5851_F42D_4C95_7F2D));
        let (mut t_alert, mut t_bands) = (0.0f64, 0.0f64);
        let mut alerts = 0usize;
        let mut conflict_bands = 0usize;
        for _ in 0..encounters {
            let (own, traffic) = bench_encounter(&mut mix, n);
            // Alerting: the same step DaidalusAlerting runs for this ownship.
            let mut daa = Daa::new(config.clone());
            let t0 = Instant::now();
            let out = daa.step(0.0, &own, &traffic);
            t_alert += t0.elapsed().as_secs_f64();
            alerts += out.iter().filter(|a| a.alert_level >= 2).count();
            // Bands for the same ownship against the same traffic.
            let Position::Euclidean(so) = own.position else {
                unreachable!("bench encounters are Euclidean")
            };
            let intruders: Vec<Intruder> = traffic
                .iter()
                .map(|a| {
                    let Position::Euclidean(s) = a.position else {
                        unreachable!("bench encounters are Euclidean")
                    };
                    Intruder {
                        id: a.id.clone(),
                        s,
                        v: a.velocity_mps,
                        alerter: 1,
                    }
                })
                .collect();
            let mut engine = BandsEngine::new(config.clone());
            let t1 = Instant::now();
            let b = engine.step(
                0.0,
                &own.id,
                1,
                Own {
                    s: so,
                    v: own.velocity_mps,
                },
                &intruders,
            );
            t_bands += t1.elapsed().as_secs_f64();
            conflict_bands += b.kinds.iter().filter(|k| k.current.is_conflict()).count();
        }
        let per = |t: f64| 1e3 * t / encounters as f64;
        println!(
            "{n:>2} intruders: bands {:.3} ms per aircraft, alerting {:.4} ms per aircraft, bands/alerting {:.0}x  (corrective+ alerts {alerts}, current value in a conflict band {conflict_bands} of {} kinds)",
            per(t_bands),
            per(t_alert),
            t_bands / t_alert.max(1e-12),
            4 * encounters
        );
    }
    // What a live alert of corrective level or above adds: the coordinated advice of its pair
    // (each aircraft's bands against the other, and the pairing), once per such alert.
    let mut mix = Mix(args.seed ^ 0xA5A5_5A5A_0F0F_F0F0);
    let mut t_advice = 0.0f64;
    let mut advised = 0usize;
    for _ in 0..encounters {
        let (own, traffic) = bench_encounter(&mut mix, 1);
        let t0 = Instant::now();
        let advice = deconflict_wellclear::advice::coordinate(&own, &traffic[0], &config);
        t_advice += t0.elapsed().as_secs_f64();
        advised += usize::from(advice.is_ok());
    }
    println!(
        "coordinated advice: {:.3} ms per pair (both aircraft's bands against each other and the pairing; {advised} of {encounters} pairs advised)",
        1e3 * t_advice / encounters as f64
    );
    Ok(ExitCode::SUCCESS)
}
