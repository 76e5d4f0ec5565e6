//! `deconflict probe` and `deconflict bench probe`.
//!
//! `probe` reads a snapshot CSV (the parser and every check live in the engine), runs the whole
//! picture and writes one JSON object per conflict per line, sorted by (a, b):
//! `{"a":"ID","b":"ID","t_in_s":…,"t_out_s":…,"h_min_m":…}` with a < b in the engine's identifier
//! order. Identifiers are written as JSON strings (they are names, even when they are digits);
//! times and distances with three decimals (milliseconds, millimetres).

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use deconflict_engine::picture::{Picture, PictureConfig, TrackReport};
use deconflict_engine::probe::{
    ConflictPair, PairPolicy, ProbeConfig, ProbeStats, probe_exact_with_stats, probe_with_stats,
};
use deconflict_engine::snapshot::{self, SNAPSHOT_BYTES_MAX};
use deconflict_engine::synth::{self, WorldConfig};
use deconflict_engine::{Snapshot, Timestamp};

#[derive(clap::Args)]
pub struct Args {
    /// Snapshot CSV: header `id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm`, all tracks at
    /// one instant.
    #[arg(long, value_name = "SNAPSHOT.csv")]
    tracks: PathBuf,
    /// Lookahead, seconds.
    #[arg(long, default_value_t = 120.0)]
    lookahead_s: f64,
    /// Horizontal minimum, metres (default 5 NM).
    #[arg(long, default_value_t = 9260.0)]
    h_sep_m: f64,
    /// Vertical minimum, metres (default 1000 ft).
    #[arg(long, default_value_t = 304.8)]
    v_sep_m: f64,
    /// Also probe pairs of the same party.
    #[arg(long)]
    same_party: bool,
    /// Plain all-pairs (the oracle) instead of the broad phase; same output.
    #[arg(long)]
    exact: bool,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Aircraft in the synthetic world.
    #[arg(long, default_value_t = 100_000)]
    tracks: usize,
    /// Seed of the synthetic world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// World size at which the exact all-pairs oracle is run for the comparison (0: skip).
    #[arg(long, default_value_t = 20_000)]
    exact_at: usize,
    /// Cycles timed; the median is reported.
    #[arg(long, default_value_t = 7)]
    cycles: usize,
    /// Parties in the world (1 to 4).
    #[arg(long, default_value_t = 3)]
    parties: usize,
    /// Side of the square area, kilometres.
    #[arg(long, default_value_t = 2000.0)]
    side_km: f64,
}

fn config(args: &Args) -> anyhow::Result<ProbeConfig> {
    let pairs = if args.same_party {
        PairPolicy::AllPairs
    } else {
        PairPolicy::DifferentParties
    };
    Ok(ProbeConfig::new(
        args.lookahead_s,
        args.h_sep_m,
        args.v_sep_m,
        pairs,
    )?)
}

fn read_limited(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut bytes = Vec::new();
    // One byte past the limit, so that an oversized file is reported rather than truncated.
    file.take(SNAPSHOT_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(bytes)
}

pub fn write_json_line(out: &mut impl Write, c: &ConflictPair) -> std::io::Result<()> {
    // Identifiers hold no character that JSON would need escaped (engine `ids` rules).
    writeln!(
        out,
        "{{\"a\":\"{}\",\"b\":\"{}\",\"t_in_s\":{:.3},\"t_out_s\":{:.3},\"h_min_m\":{:.3}}}",
        c.a(),
        c.b(),
        c.t_in_s(),
        c.t_out_s(),
        c.h_min_m()
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    let bytes = read_limited(&args.tracks)?;
    let mut out = BufWriter::new(crate::stdio::stdout());
    probe_bytes(&mut out, &bytes, &config, args.exact)
        .with_context(|| format!("{}", args.tracks.display()))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Parses a snapshot and writes its conflicts as JSON lines.
fn probe_bytes(
    out: &mut impl Write,
    bytes: &[u8],
    config: &ProbeConfig,
    exact: bool,
) -> anyhow::Result<()> {
    let snapshot = snapshot::parse(bytes)?;
    let (conflicts, _) = if exact {
        probe_exact_with_stats(&snapshot, config)
    } else {
        probe_with_stats(&snapshot, config)
    };
    for c in &conflicts {
        write_json_line(out, c)?;
    }
    Ok(())
}

/// CPU time this thread has run, in milliseconds, from Linux's `/proc/thread-self/schedstat`
/// (nanoseconds on CPU): unlike wall time it does not count waiting for a core on a busy machine.
fn thread_cpu_ms() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e6)
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Wall and CPU milliseconds of one call.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let cpu0 = thread_cpu_ms();
    let t0 = Instant::now();
    let r = f();
    let wall = t0.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu0.zip(thread_cpu_ms()).map(|(a, b)| b - a);
    (r, wall, cpu)
}

struct Timing {
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
}

impl Timing {
    fn describe(&self) -> String {
        let cpu = if self.cpu_ms.len() == self.wall_ms.len() {
            format!("{:.1} ms CPU", median_ms(self.cpu_ms.clone()))
        } else {
            "CPU time n/a".to_owned()
        };
        format!(
            "median {:.1} ms wall, {cpu} per cycle over {} cycles (wall min {:.1}, max {:.1})",
            median_ms(self.wall_ms.clone()),
            self.wall_ms.len(),
            self.wall_ms.iter().copied().fold(f64::INFINITY, f64::min),
            self.wall_ms.iter().copied().fold(0.0, f64::max)
        )
    }
    fn median_cpu_or_wall(&self) -> f64 {
        if self.cpu_ms.len() == self.wall_ms.len() {
            median_ms(self.cpu_ms.clone())
        } else {
            median_ms(self.wall_ms.clone())
        }
    }
}

fn time_probe(
    snapshot: &Snapshot,
    config: &ProbeConfig,
    cycles: usize,
) -> (Vec<ConflictPair>, ProbeStats, Timing) {
    let mut timing = Timing {
        wall_ms: Vec::new(),
        cpu_ms: Vec::new(),
    };
    let mut last = None;
    for _ in 0..cycles.max(1) {
        let (r, wall, cpu) = timed(|| probe_with_stats(snapshot, config));
        timing.wall_ms.push(wall);
        timing.cpu_ms.extend(cpu);
        last = Some(r);
    }
    let (pairs, stats) = last.expect("at least one cycle");
    (pairs, stats, timing)
}

fn world(args: &BenchArgs, tracks: usize) -> anyhow::Result<Snapshot> {
    let wc = WorldConfig {
        tracks,
        parties: args.parties,
        side_m: args.side_km * 1000.0,
        ..WorldConfig::default()
    };
    Ok(synth::world(&wc, args.seed)?)
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let config = ProbeConfig::default();
    println!(
        "world: {} tracks, {} parties, {} x {} km, seed {}; lookahead {} s, minima {} m / {} m, different parties only; one thread",
        args.tracks,
        args.parties,
        args.side_km,
        args.side_km,
        args.seed,
        config.lookahead_s(),
        config.h_sep_m(),
        config.v_sep_m()
    );
    let snapshot = world(&args, args.tracks)?;
    let (pairs, stats, timing) = time_probe(&snapshot, &config, args.cycles);
    println!(
        "probe (broad+narrow), {} tracks: {}; grid entries {}, box pairs {}, pairs examined by the narrow phase {}, conflicts {}",
        args.tracks,
        timing.describe(),
        stats.broad.grid_entries,
        stats.broad.box_pairs,
        stats.narrow_pairs,
        pairs.len()
    );

    // The stateful cycle the service runs: every track projected to `now`, then the probe.
    let picture_config = PictureConfig::new(config, args.tracks.max(1), 30.0, 2.0)?;
    let mut picture = Picture::new(picture_config);
    let t_report = Timestamp::from_unix_ms(0);
    for t in snapshot.tracks() {
        picture.update(
            t_report,
            TrackReport::new(t.id().clone(), t.party().clone(), t_report, *t.state()),
        )?;
    }
    let mut tick = Timing {
        wall_ms: Vec::new(),
        cpu_ms: Vec::new(),
    };
    let mut tick_conflicts = 0;
    for k in 0..args.cycles.max(1) {
        let now = Timestamp::from_unix_ms(1000 + k as i64);
        let (n, wall, cpu) = timed(|| picture.tick(now).len());
        tick_conflicts = n;
        tick.wall_ms.push(wall);
        tick.cpu_ms.extend(cpu);
    }
    println!(
        "picture tick (project {} tracks ~1 s ahead, then probe): {}; conflicts {}",
        picture.len(),
        tick.describe(),
        tick_conflicts
    );

    if args.exact_at > 0 {
        let small = world(&args, args.exact_at)?;
        let (fast_pairs, fast_stats, fast) = time_probe(&small, &config, args.cycles);
        let ((exact_pairs, exact_stats), exact_wall, exact_cpu) =
            timed(|| probe_exact_with_stats(&small, &config));
        let identical = fast_pairs == exact_pairs;
        let (exact_ms, basis) = match exact_cpu {
            Some(cpu) if fast.cpu_ms.len() == fast.wall_ms.len() => (cpu, "CPU"),
            _ => (exact_wall, "wall"),
        };
        let fast_ms = fast.median_cpu_or_wall();
        println!(
            "at {} tracks: broad+narrow {} ({} pairs examined); exact all-pairs {:.1} ms wall, {:.1} ms {basis} ({} pairs examined); ratio exact/broad ({basis} time) {:.0}x; conflicts {} vs {}; identical pairs and values: {}",
            args.exact_at,
            fast.describe(),
            fast_stats.narrow_pairs,
            exact_wall,
            exact_ms,
            exact_stats.narrow_pairs,
            exact_ms / fast_ms,
            fast_pairs.len(),
            exact_pairs.len(),
            if identical { "yes" } else { "NO" }
        );
        if !identical {
            bail!(
                "the broad phase and the exact oracle disagree at {} tracks (seed {})",
                args.exact_at,
                args.seed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The engine's golden snapshot (crates/engine/testdata/golden_snapshot.csv).
    const SNAPSHOT: &str = "id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm
1,blue,0,0,30000,90,360,0
2,red,0,0.2,30000,270,360,0
3,blue,0,10,20000,90,480,0
4,red,0,10.2,21500,90,240,-500
5,blue,0,20,30000,90,360,0
6,blue,0,20.05,30000,270,360,0
9,blue,0,40,25000,270,360,0
10,green,0,40.05,25000,90,360,0
11,red,45,-120,30000,0,400,0
";

    // Computed from the closed form of these equatorial encounters (chord 2a sin(dlon/2),
    // closure along the chord); see crates/engine/testdata/README.md.
    const EXPECTED: &str = r#"{"a":"1","b":"2","t_in_s":35.108,"t_out_s":85.108,"h_min_m":0.000}
{"a":"3","b":"4","t_in_s":105.323,"t_out_s":120.000,"h_min_m":7447.887}
{"a":"9","b":"10","t_in_s":0.000,"t_out_s":9.973,"h_min_m":5565.974}
"#;

    fn output(exact: bool) -> String {
        let mut out = Vec::new();
        probe_bytes(
            &mut out,
            SNAPSHOT.as_bytes(),
            &ProbeConfig::default(),
            exact,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn golden_output_broad_and_exact() {
        assert_eq!(output(false), EXPECTED);
        assert_eq!(output(true), EXPECTED);
    }

    #[test]
    fn bad_row_is_reported_with_its_line_and_column() {
        let mut out = Vec::new();
        let bad = "id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm\n1,blue,91,0,0,0,0,0\n";
        let err =
            probe_bytes(&mut out, bad.as_bytes(), &ProbeConfig::default(), false).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("line 2, column lat_deg (id 1)"),
            "{err:#}"
        );
        assert!(out.is_empty());
    }
}
