//! `deconflict ingest` and `deconflict bench ingest`.
//!
//! `ingest` reads one receiver feed (a recording, a TCP receiver, or feeds pushed to us) through
//! the feeds pipeline and writes one JSON object per track update per line on stdout:
//! `{"icao":"4ca7b3","callsign":"KLM1302","lat":…,"lon":…,"alt_ft":…,"gs_kt":…,"trk_deg":…,
//! "vs_fpm":…,"squawk":"7000","on_ground":false,"t":1698150564.451,"source":"…"}`, `null` where
//! not known yet (`t` is unix seconds, known for live feeds and for recordings that carry a wall
//! clock). The counters go to stderr at the end as one JSON object. Feet, knots and feet per
//! minute appear here only: the library works in SI units.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::ValueEnum;
use deconflict_feeds::bench as feeds_bench;
use deconflict_feeds::frame::Record;
use deconflict_feeds::framing::beast::BeastClock;
use deconflict_feeds::framing::{Format, Framer, framer};
use deconflict_feeds::io::{Backoff, Feed, FeedEvent, read_recording};
use deconflict_feeds::pipeline::{Counters, Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::{LatLon, M_PER_FT, MPS_PER_FPM, MPS_PER_KT, SourceId};
use deconflict_feeds::track::Track;

/// Rejected records described on stderr; the rest are only counted.
const REJECTIONS_PRINTED_MAX: usize = 20;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Beast binary (port 30005 style).
    Beast,
    /// AVR raw text (port 30002 style).
    Avr,
    /// SBS-1 BaseStation CSV (port 30003 style).
    Sbs,
    /// `<unix time>,<hex Beast record>` per line.
    Hexcsv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Beast => Format::Beast,
            FormatArg::Avr => Format::Avr,
            FormatArg::Sbs => Format::Sbs,
            FormatArg::Hexcsv => Format::HexCsv,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ClockArg {
    /// 48-bit 12 MHz counter (dump1090, readsb).
    #[value(name = "12mhz")]
    Mhz12,
    /// GPS time of day (Radarcape).
    Gps,
}

#[derive(clap::Args)]
pub struct Args {
    /// Feed format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Replay a recording (gunzipped first when it ends in .gz), as fast as possible.
    #[arg(long, value_name = "PATH", group = "input")]
    file: Option<PathBuf>,
    /// Read a live receiver as a TCP client, reconnecting with backoff.
    #[arg(long, value_name = "HOST:PORT", group = "input")]
    connect: Option<String>,
    /// Accept feeds pushed to this address (each connection framed on its own).
    #[arg(long, value_name = "ADDR", group = "input")]
    listen: Option<String>,
    /// With --file: replay at the recorded speed (records that carry a timestamp).
    #[arg(long, requires = "file")]
    pace: bool,
    /// A position near the receiver, `LAT,LON` in degrees: needed for surface positions.
    #[arg(long, value_name = "LAT,LON")]
    reference: Option<String>,
    /// How the Beast 6-byte timestamp is to be read.
    #[arg(long, value_enum, default_value = "12mhz")]
    beast_clock: ClockArg,
    /// Drop a track after this many seconds without a report.
    #[arg(long, default_value_t = 60.0)]
    stale_s: f64,
    /// Most tracks held at once; new aircraft beyond it are dropped and counted.
    #[arg(long, default_value_t = deconflict_feeds::track::TRACKS_MAX)]
    tracks_max: usize,
    /// With --connect or --listen: stop after this many seconds and print the counters.
    #[arg(long)]
    duration_s: Option<f64>,
}

fn parse_reference(text: &str) -> anyhow::Result<LatLon> {
    let (lat, lon) = text
        .split_once(',')
        .context("--reference: expected LAT,LON")?;
    let lat: f64 = lat
        .trim()
        .parse()
        .context("--reference: latitude is not a number")?;
    let lon: f64 = lon
        .trim()
        .parse()
        .context("--reference: longitude is not a number")?;
    LatLon::new(lat, lon).with_context(|| format!("--reference: {lat},{lon} is not a position"))
}

fn pipeline_config(args: &Args, time: TimeMode) -> anyhow::Result<PipelineConfig> {
    if !(args.stale_s.is_finite() && args.stale_s > 0.0) {
        bail!(
            "--stale-s must be a positive number of seconds, got {}",
            args.stale_s
        );
    }
    if args.tracks_max == 0 {
        bail!("--tracks-max must be at least 1");
    }
    let mut cfg = PipelineConfig::new(args.format.into(), time);
    cfg.beast_clock = match args.beast_clock {
        ClockArg::Mhz12 => BeastClock::Counter12MHz,
        ClockArg::Gps => BeastClock::GpsTimeOfDay,
    };
    cfg.decoder.reference = args.reference.as_deref().map(parse_reference).transpose()?;
    cfg.tracker.stale_s = args.stale_s;
    cfg.tracker.tracks_max = args.tracks_max;
    Ok(cfg)
}

/// A number with up to `decimals` decimals, trailing zeros removed; `null` when absent.
fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => {
            let s = format!("{v:.decimals$}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            if s == "-0" {
                "0".to_string()
            } else {
                s.to_string()
            }
        }
        _ => "null".to_string(),
    }
}

/// A JSON string; the callers' text is validated ASCII, but escape anyway.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn track_line(t: &Track, source: &str) -> String {
    format!(
        "{{\"icao\":\"{}\",\"callsign\":{},\"lat\":{},\"lon\":{},\"alt_ft\":{},\"gs_kt\":{},\"trk_deg\":{},\"vs_fpm\":{},\"squawk\":{},\"on_ground\":{},\"t\":{},\"source\":{}}}",
        t.icao,
        t.callsign
            .as_ref()
            .map_or("null".to_string(), |c| string(c.as_str())),
        num(t.position.map(|p| p.lat_deg()), 6),
        num(t.position.map(|p| p.lon_deg()), 6),
        num(t.alt_baro_m.map(|m| m / M_PER_FT), 0),
        num(t.gs_mps.map(|v| v / MPS_PER_KT), 2),
        num(t.trk_deg, 2),
        num(t.vs_mps.map(|v| v / MPS_PER_FPM), 0),
        t.squawk
            .map_or("null".to_string(), |s| format!("\"{s:04x}\"")),
        t.on_ground.map_or("null".to_string(), |g| g.to_string()),
        num(t.time_unix_s, 3),
        string(source),
    )
}

fn counters_json(c: &Counters) -> String {
    let f = &c.framing;
    let d = &c.decode;
    let t = &c.track;
    format!(
        "{{\"records\":{},\"frames_read\":{},\"decoded\":{},\"positions\":{},\"rejected\":{{\"framing_truncated\":{},\"framing_malformed\":{},\"line_too_long\":{},\"garbage_bytes\":{},\"bad_crc\":{},\"unknown_df\":{},\"length_mismatch\":{},\"decode_malformed\":{},\"cpr_states_full\":{},\"implausible_jump\":{},\"implausible_altitude\":{},\"unknown_address\":{},\"tracks_full\":{},\"out_of_order\":{}}},\"mode_ac\":{},\"no_track_data\":{},\"track_updates\":{},\"tracks_created\":{},\"tracks_expired\":{},\"tracks_alive\":{}}}",
        f.records,
        d.frames,
        d.decoded,
        d.positions,
        f.truncated,
        f.malformed,
        f.too_long,
        f.garbage_bytes,
        d.bad_crc,
        d.unknown_df,
        d.length_mismatch,
        d.malformed,
        d.cpr_states_full,
        t.implausible_jump,
        t.implausible_altitude,
        t.unknown_address,
        t.tracks_full,
        t.out_of_order,
        c.mode_ac,
        d.no_track_data,
        t.updates,
        t.tracks_created,
        t.tracks_expired,
        c.tracks_alive,
    )
}

fn record_seconds(r: &Record) -> Option<f64> {
    match r {
        Record::ModeS(f) => f.time.seconds(),
        Record::ModeAC { time, .. } => time.seconds(),
        Record::Sbs(m) => m.time.seconds(),
        Record::Status => None,
    }
}

fn replay(args: &Args, path: &Path, out: &mut impl Write) -> anyhow::Result<Counters> {
    let bytes = read_recording(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let cfg = pipeline_config(args, TimeMode::Record)?;
    let source_name = format!("file:{}", path.display());
    let mut pipeline = Pipeline::new(cfg);
    let mut framer: Box<dyn Framer + Send> = framer(cfg.format, cfg.beast_clock);
    let mut write_err = None;
    let mut emit = |t: &Track| {
        if write_err.is_none()
            && let Err(e) = writeln!(out, "{}", track_line(t, &source_name))
        {
            write_err = Some(e);
        }
    };
    // Pacing: the first timed record sets the origin; each later one waits for its offset.
    let mut origin: Option<(f64, Instant)> = None;
    let mut rest = &bytes[..];
    let mut handle = |record: Record, pipeline: &mut Pipeline| {
        if args.pace
            && let Some(t) = record_seconds(&record)
        {
            let (t0, wall0) = *origin.get_or_insert((t, Instant::now()));
            let due = wall0 + Duration::from_secs_f64((t - t0).clamp(0.0, 86_400.0));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        pipeline.record(SourceId(0), 0.0, record, &mut emit);
    };
    let mut printed = 0;
    let mut report_rejections = |framer: &mut Box<dyn Framer + Send>| {
        for r in framer.take_rejections() {
            if printed < REJECTIONS_PRINTED_MAX {
                eprintln!("deconflict ingest: {}: {r}; skipped", path.display());
                printed += 1;
            }
        }
    };
    loop {
        let n = framer.push(rest);
        rest = &rest[n..];
        while let Some(r) = framer.next_record() {
            handle(r, &mut pipeline);
        }
        report_rejections(&mut framer);
        if rest.is_empty() {
            break;
        }
    }
    framer.finish();
    while let Some(r) = framer.next_record() {
        handle(r, &mut pipeline);
    }
    report_rejections(&mut framer);
    if let Some(e) = write_err {
        return Err(e).context("writing track updates");
    }
    let mut c = pipeline.counters();
    c.framing = *framer.counters();
    Ok(c)
}

fn unix_now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn live(
    args: &Args,
    mut feed: Feed,
    label: &str,
    out: &mut impl Write,
) -> anyhow::Result<Counters> {
    let cfg = pipeline_config(args, TimeMode::Receipt)?;
    let mut pipeline = Pipeline::new(cfg);
    let mut peers: HashMap<SourceId, String> = HashMap::new();
    let mut printed = 0;
    let start = Instant::now();
    let deadline = args
        .duration_s
        .map(|s| start + Duration::from_secs_f64(s.max(0.0)));
    loop {
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(w) => w.min(Duration::from_millis(500)),
                None => break,
            },
            None => Duration::from_millis(500),
        };
        let Some(event) = feed.next_event(wait) else {
            // A silent feed still ages its tracks.
            pipeline.expire(unix_now_s());
            continue;
        };
        match event {
            FeedEvent::Connected { source, peer } => {
                eprintln!("deconflict ingest: {label}: connected to {peer}");
                peers.insert(source, format!("tcp:{peer}"));
            }
            FeedEvent::Data {
                source,
                bytes,
                received_unix_s,
            } => {
                let name = peers
                    .get(&source)
                    .cloned()
                    .unwrap_or_else(|| label.to_string());
                let mut result = Ok(());
                pipeline.push(source, received_unix_s, &bytes, |t| {
                    if result.is_ok() {
                        result = writeln!(out, "{}", track_line(t, &name));
                    }
                });
                result.context("writing track updates")?;
                out.flush().context("writing track updates")?;
                for (_, r) in pipeline.take_rejections() {
                    if printed < REJECTIONS_PRINTED_MAX {
                        eprintln!("deconflict ingest: {name}: {r}; skipped");
                        printed += 1;
                    }
                }
            }
            FeedEvent::Closed { source, reason } => {
                eprintln!("deconflict ingest: {label}: connection closed ({reason})");
                let now = unix_now_s();
                let name = peers.remove(&source).unwrap_or_else(|| label.to_string());
                let mut result = Ok(());
                pipeline.close(source, now, |t| {
                    if result.is_ok() {
                        result = writeln!(out, "{}", track_line(t, &name));
                    }
                });
                result.context("writing track updates")?;
            }
            FeedEvent::ConnectFailed {
                addr,
                reason,
                retry_in,
            } => {
                eprintln!(
                    "deconflict ingest: {addr}: {reason}; retrying in {:.1} s",
                    retry_in.as_secs_f64()
                );
            }
        }
    }
    Ok(pipeline.counters())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let counters = if let Some(path) = &args.file {
        replay(&args, path, &mut out)?
    } else if let Some(addr) = &args.connect {
        let feed =
            Feed::connect(addr, Backoff::default()).with_context(|| format!("--connect {addr}"))?;
        live(&args, feed, &format!("tcp:{addr}"), &mut out)?
    } else if let Some(addr) = &args.listen {
        let (feed, local) =
            Feed::listen(addr).with_context(|| format!("--listen {addr}: cannot bind"))?;
        eprintln!("deconflict ingest: listening on {local}");
        live(&args, feed, &format!("listen:{local}"), &mut out)?
    } else {
        bail!("one of --file, --connect or --listen is required");
    };
    out.flush().context("writing track updates")?;
    eprintln!("{}", counters_json(&counters));
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The LAX AVR recording.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../feeds/testdata/adsb_deku_lax_messages_avr.txt.gz"))]
    avr: PathBuf,
    /// The Toulouse Beast hex recording.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../feeds/testdata/rs1090_long_flight_beasthex.csv.gz"))]
    hexcsv: PathBuf,
    /// Timed runs of each side, alternating; the best of each is reported (the least disturbed
    /// by other work).
    #[arg(long, default_value_t = 9)]
    runs: usize,
}

/// Times `a` and `b` alternately, `runs` times each, and keeps each one's best run: alternating
/// exposes both sides to the same disturbance from other work on the machine.
fn best_of_interleaved<A, B>(
    runs: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> (Duration, A, Duration, B) {
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    let (mut last_a, mut last_b) = (None, None);
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        last_a = Some(a());
        best_a = best_a.min(t0.elapsed());
        let t0 = Instant::now();
        last_b = Some(b());
        best_b = best_b.min(t0.elapsed());
    }
    (
        best_a,
        last_a.expect("one run"),
        best_b,
        last_b.expect("one run"),
    )
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    println!(
        "# one core; frames/s over the same frames, best of {} alternating runs",
        args.runs
    );
    println!(
        "{:<34} {:>9} {:>16} {:>16} {:>7}",
        "recording", "frames", "end-to-end f/s", "rs1090 bare f/s", "ratio"
    );
    for (path, format, reference) in [
        (&args.avr, Format::Avr, LatLon::new(33.9425, -118.408)),
        (&args.hexcsv, Format::HexCsv, LatLon::new(43.626, 1.364)),
    ] {
        let bytes =
            read_recording(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let frames = feeds_bench::frames_of(format, &bytes);
        let (bare_t, decoded, e2e_t, counters) = best_of_interleaved(
            args.runs,
            || feeds_bench::bare_decode(&frames),
            || feeds_bench::end_to_end(format, &bytes, reference),
        );
        if counters.decode.frames != frames.len() as u64 {
            bail!("{}: the two sides saw different frames", path.display());
        }
        let n = frames.len() as f64;
        let (e2e, bare) = (n / e2e_t.as_secs_f64(), n / bare_t.as_secs_f64());
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        println!(
            "{name:<34} {:>9} {e2e:>16.0} {bare:>16.0} {:>6.1}%",
            frames.len(),
            100.0 * e2e / bare
        );
        println!(
            "#   bare decoded {decoded}; end to end: {} positions, {} track updates, {} tracks created",
            counters.decode.positions, counters.track.updates, counters.track.tracks_created
        );
    }
    println!("# target: end-to-end at least 80% of the bare decode rate");
    Ok(ExitCode::SUCCESS)
}
