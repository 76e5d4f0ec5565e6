//! `deconflict ingest` and `deconflict bench ingest`.
//!
//! `ingest` reads one receiver feed (a recording, a TCP receiver, or feeds pushed to us) through
//! the feeds pipeline and writes one JSON object per track update per line on stdout:
//! `{"icao":"4ca7b3","callsign":"KLM1302","lat":…,"lon":…,"alt_ft":…,"gs_kt":…,"trk_deg":…,
//! "vs_fpm":…,"squawk":"7000","on_ground":false,"t":1698150564.451,"source":"…"}`, `null` where
//! not known yet (`t` is unix seconds, known for live feeds and for recordings that carry a wall
//! clock). The counters go to stderr at the end as one JSON object. Feet, knots and feet per
//! minute appear here only: the library works in SI units.
//!
//! With `--conflicts` the same track updates also feed the conflict engine: this module is where
//! the feeds and engine crates meet (neither depends on the other). Each airborne track with a
//! position, a barometric altitude and a full velocity becomes a report at its position time;
//! the picture is probed once per second of feed time, and a
//! `{"conflict":{"a":…,"b":…,"t_in_s":…,"t_out_s":…,"h_min_m":…,"violation_now":…},
//! "event":"started","t":…,"feed_s":…}` line is written when a pair enters conflict and
//! `{"conflict":{"a":…,"b":…},"event":"ended",…}` when it leaves, never every second.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::ValueEnum;
use deconflict_engine::{
    AircraftState, ConflictWindow, PairPolicy, PartyId, Picture, PictureConfig, Position,
    ProbeConfig, Timestamp, TrackId, TrackReport, Velocity,
};
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
#[command(group(clap::ArgGroup::new("input").required(true)))]
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
    /// Also give every airborne track with position, altitude and velocity to the conflict
    /// engine, probed once per second of feed time; print a `{"conflict":…}` line when a conflict
    /// starts and when it ends.
    #[arg(long)]
    conflicts: bool,
    /// With --conflicts: how far ahead conflicts are predicted, seconds.
    #[arg(long, default_value_t = LOOKAHEAD_S_DEFAULT, requires = "conflicts")]
    lookahead_s: f64,
    /// With --conflicts: horizontal minimum, metres (default 1 NM).
    #[arg(long, default_value_t = H_SEP_M_DEFAULT, requires = "conflicts")]
    h_sep_m: f64,
    /// With --conflicts: vertical minimum, metres (default 1000 ft).
    #[arg(long, default_value_t = V_SEP_M_DEFAULT, requires = "conflicts")]
    v_sep_m: f64,
    /// With --conflicts: `NAME=ICAO_PREFIX,...` (hex prefixes, longest match wins; others are
    /// party `feed`); only pairs of different parties are then probed. Without it every pair of
    /// the feed is probed.
    #[arg(long, value_name = "NAME=ICAO_PREFIX,...", requires = "conflicts")]
    party: Option<String>,
}

/// The `--conflicts` join, or `None` without the flag.
fn conflict_join(args: &Args) -> anyhow::Result<Option<ConflictJoin>> {
    if !args.conflicts {
        return Ok(None);
    }
    let parties = args.party.as_deref().map(parse_parties).transpose()?;
    let policy = if parties.is_some() {
        PairPolicy::DifferentParties
    } else {
        PairPolicy::AllPairs
    };
    let probe = ProbeConfig::new(args.lookahead_s, args.h_sep_m, args.v_sep_m, policy)
        .context("--lookahead-s, --h-sep-m or --v-sep-m")?;
    let picture = PictureConfig::new(
        probe,
        args.tracks_max,
        args.stale_s.min(3600.0),
        deconflict_engine::picture::REPORT_FUTURE_S_MAX_DEFAULT,
    )
    .context("--tracks-max or --stale-s")?;
    ConflictJoin::new(picture, parties.unwrap_or_default()).map(Some)
}

/// Writes the track line, then gives the track to the join and writes its conflict lines.
fn emit_update(
    out: &mut impl Write,
    join: &mut Option<ConflictJoin>,
    events: &mut Vec<ConflictEvent>,
    t: &Track,
    source: &str,
) -> std::io::Result<()> {
    writeln!(out, "{}", track_line(t, source))?;
    if let Some(join) = join {
        join.track(t, events);
        for e in events.drain(..) {
            writeln!(out, "{}", e.json())?;
        }
    }
    Ok(())
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
    serde_json::Value::from(s).to_string()
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

fn replay(
    args: &Args,
    path: &Path,
    join: &mut Option<ConflictJoin>,
    out: &mut impl Write,
) -> anyhow::Result<Counters> {
    let bytes = read_recording(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let cfg = pipeline_config(args, TimeMode::Record)?;
    let mut events = Vec::new();
    let source_name = format!("file:{}", path.display());
    let mut pipeline = Pipeline::new(cfg);
    let mut framer: Box<dyn Framer + Send> = framer(cfg.format, cfg.beast_clock);
    let mut write_err = None;
    let mut emit = |t: &Track| {
        if write_err.is_none()
            && let Err(e) = emit_update(out, join, &mut events, t, &source_name)
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
    if let Some(w) = deconflict_feeds::framing::detect::wrong_format_warning(cfg.format, &bytes) {
        eprintln!("deconflict ingest: warning: {}: {w}", path.display());
    }
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
    join: &mut Option<ConflictJoin>,
    out: &mut impl Write,
) -> anyhow::Result<Counters> {
    let cfg = pipeline_config(args, TimeMode::Receipt)?;
    let mut events = Vec::new();
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
            // A silent feed still ages its tracks, and its conflicts still end.
            let now = unix_now_s();
            pipeline.expire(now);
            if let Some(join) = join.as_mut() {
                join.advance(now, &mut events);
                for e in events.drain(..) {
                    writeln!(out, "{}", e.json()).context("writing conflicts")?;
                }
                out.flush().context("writing conflicts")?;
            }
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
                        result = emit_update(out, join, &mut events, t, &name);
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
                        result = emit_update(out, join, &mut events, t, &name);
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

// ---------------------------------------------------------------------------------------------
// --conflicts: the feed's tracks joined to the engine's picture.
// ---------------------------------------------------------------------------------------------

/// Default horizontal minimum for `--conflicts`, metres: 1 NM. Receiver feeds hear civil traffic
/// around airports, where aircraft on parallel approaches and in the circuit fly far closer than
/// the 5 NM en-route minimum; 1 NM keeps the output to the encounters worth a look.
pub const H_SEP_M_DEFAULT: f64 = 1852.0;
/// Default vertical minimum for `--conflicts`, metres: 1000 ft.
pub const V_SEP_M_DEFAULT: f64 = 304.8;
/// Default lookahead for `--conflicts`, seconds.
pub const LOOKAHEAD_S_DEFAULT: f64 = 120.0;
/// How often, in feed time, the picture is probed, seconds.
const TICK_INTERVAL_S: f64 = 1.0;
/// Party of the tracks no `--party` prefix matches (and of every track without `--party`).
const FEED_PARTY: &str = "feed";
/// Most `--party` entries accepted.
const PARTY_PREFIXES_MAX: usize = 64;

/// `--party NAME=HEXPREFIX,...`: which party an ICAO address belongs to (longest prefix wins).
fn parse_parties(text: &str) -> anyhow::Result<Vec<(String, PartyId)>> {
    let mut out = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        let (name, prefix) = item.split_once('=').with_context(|| {
            format!(
                "--party entry {}: expected NAME=ICAO_PREFIX, got {item:?}",
                i + 1
            )
        })?;
        let party = PartyId::new(name.trim())
            .with_context(|| format!("--party entry {}: party name {name:?}", i + 1))?;
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "--party entry {}: ICAO prefix {prefix:?} must be 1 to 6 hexadecimal digits",
                i + 1
            );
        }
        out.push((prefix, party));
    }
    if out.len() > PARTY_PREFIXES_MAX {
        bail!(
            "--party: at most {PARTY_PREFIXES_MAX} entries, got {}",
            out.len()
        );
    }
    // Longest prefix first, so that the first match is the most specific.
    out.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(out)
}

/// Why a track update was not given to the engine, and the engine's own totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct JoinCounters {
    /// Track updates given to the picture and accepted.
    engine_updates: u64,
    no_position: u64,
    no_altitude: u64,
    /// Ground speed, track angle or vertical rate not known yet.
    no_velocity: u64,
    on_ground: u64,
    /// Values the engine's constructors refuse (altitude or speed out of its range).
    invalid_state: u64,
    /// Refused by the picture (stale, from the future, out of order, full).
    engine_rejected: u64,
    conflicts_started: u64,
    conflicts_ended: u64,
}

/// One line of `--conflicts` output.
#[derive(Clone, Debug, PartialEq)]
enum ConflictEvent {
    Started {
        a: TrackId,
        b: TrackId,
        window: ConflictWindow,
        violation_now: bool,
        feed_s: f64,
        unix_s: Option<f64>,
    },
    Ended {
        a: TrackId,
        b: TrackId,
        feed_s: f64,
        unix_s: Option<f64>,
    },
}

impl ConflictEvent {
    fn json(&self) -> String {
        match self {
            ConflictEvent::Started {
                a,
                b,
                window,
                violation_now,
                feed_s,
                unix_s,
            } => format!(
                "{{\"conflict\":{{\"a\":\"{a}\",\"b\":\"{b}\",\"t_in_s\":{},\"t_out_s\":{},\"h_min_m\":{},\"violation_now\":{violation_now}}},\"event\":\"started\",\"t\":{},\"feed_s\":{}}}",
                num(Some(window.t_in_s()), 1),
                num(Some(window.t_out_s()), 1),
                num(Some(window.h_min_m()), 0),
                num(*unix_s, 3),
                num(Some(*feed_s), 3),
            ),
            ConflictEvent::Ended {
                a,
                b,
                feed_s,
                unix_s,
            } => format!(
                "{{\"conflict\":{{\"a\":\"{a}\",\"b\":\"{b}\"}},\"event\":\"ended\",\"t\":{},\"feed_s\":{}}}",
                num(*unix_s, 3),
                num(Some(*feed_s), 3),
            ),
        }
    }
}

/// The feed's track updates given to an engine [`Picture`], probed once per second of feed
/// time; conflicts reported when they start and when they end.
///
/// Feed time is the tracker's clock: record time for recordings (synthetic for untimed ones, see
/// `UNTIMED_RECORD_INTERVAL_S`), receipt time for live feeds. A report's time is the time of the
/// track's position, so the engine extrapolates from where the aircraft was seen.
struct ConflictJoin {
    picture: Picture,
    parties: Vec<(String, PartyId)>,
    feed_party: PartyId,
    feed_now_s: f64,
    next_tick_s: f64,
    /// Unix time minus feed time, when the feed carries a wall clock.
    unix_offset_s: Option<f64>,
    open: BTreeSet<(TrackId, TrackId)>,
    counters: JoinCounters,
}

impl ConflictJoin {
    fn new(config: PictureConfig, parties: Vec<(String, PartyId)>) -> anyhow::Result<Self> {
        Ok(Self {
            picture: Picture::new(config),
            parties,
            feed_party: PartyId::new(FEED_PARTY)?,
            feed_now_s: f64::NEG_INFINITY,
            next_tick_s: f64::NEG_INFINITY,
            unix_offset_s: None,
            open: BTreeSet::new(),
            counters: JoinCounters::default(),
        })
    }

    fn party_of(&self, icao: &str) -> &PartyId {
        self.parties
            .iter()
            .find(|(prefix, _)| icao.starts_with(prefix.as_str()))
            .map_or(&self.feed_party, |(_, p)| p)
    }

    fn timestamp(s: f64) -> Timestamp {
        // Feed times are finite and within a few centuries of the epoch: the cast cannot saturate.
        Timestamp::from_unix_ms((s * 1000.0).round() as i64)
    }

    /// One track update; conflicts that started or ended at a tick it made due go to `out`.
    fn track(&mut self, t: &Track, out: &mut Vec<ConflictEvent>) {
        if t.updated_s.is_finite() && t.updated_s > self.feed_now_s {
            self.feed_now_s = t.updated_s;
            if let Some(unix) = t.time_unix_s {
                self.unix_offset_s = Some(unix - t.updated_s);
            }
        }
        if let Some(state) = self.state_of(t) {
            let (state, time_s) = state;
            let icao = t.icao.to_string();
            let id = TrackId::new(&icao);
            if let Ok(id) = id {
                let party = self.party_of(&icao).clone();
                let report = TrackReport::new(id, party, Self::timestamp(time_s), state);
                match self
                    .picture
                    .update(Self::timestamp(self.feed_now_s), report)
                {
                    Ok(_) => self.counters.engine_updates += 1,
                    Err(_) => self.counters.engine_rejected += 1,
                }
            } else {
                self.counters.invalid_state += 1;
            }
        }
        self.advance(self.feed_now_s, out);
    }

    /// The engine's state of `t` and the time it holds at, or `None` (counted) when not known.
    fn state_of(&mut self, t: &Track) -> Option<(AircraftState, f64)> {
        let c = &mut self.counters;
        if t.on_ground == Some(true) {
            c.on_ground += 1;
            return None;
        }
        let (Some(pos), Some(pos_s)) = (t.position, t.position_s) else {
            c.no_position += 1;
            return None;
        };
        let Some(alt_m) = t.alt_baro_m else {
            c.no_altitude += 1;
            return None;
        };
        let (Some(gs_mps), Some(trk_deg), Some(vs_mps)) = (t.gs_mps, t.trk_deg, t.vs_mps) else {
            c.no_velocity += 1;
            return None;
        };
        let position = Position::new(pos.lat_deg(), pos.lon_deg(), alt_m);
        let velocity = Velocity::new(trk_deg.rem_euclid(360.0), gs_mps, vs_mps);
        match (position, velocity) {
            (Ok(p), Ok(v)) => Some((AircraftState::new(p, v), pos_s)),
            _ => {
                c.invalid_state += 1;
                None
            }
        }
    }

    /// Probes the picture when a tick is due at feed time `now_s` (a silent live feed calls this
    /// with the receipt clock, so conflicts still end).
    fn advance(&mut self, now_s: f64, out: &mut Vec<ConflictEvent>) {
        if !now_s.is_finite() || now_s < self.next_tick_s {
            return;
        }
        self.feed_now_s = self.feed_now_s.max(now_s);
        self.next_tick_s = now_s + TICK_INTERVAL_S;
        let unix_s = self.unix_offset_s.map(|o| now_s + o);
        let conflicts = self.picture.tick(Self::timestamp(now_s));
        let mut now_open = BTreeSet::new();
        for c in conflicts {
            let key = (c.a().clone(), c.b().clone());
            if !self.open.contains(&key) {
                self.counters.conflicts_started += 1;
                out.push(ConflictEvent::Started {
                    a: key.0.clone(),
                    b: key.1.clone(),
                    window: *c.window(),
                    violation_now: c.is_violation_now(),
                    feed_s: now_s,
                    unix_s,
                });
            }
            now_open.insert(key);
        }
        for (a, b) in self.open.difference(&now_open) {
            self.counters.conflicts_ended += 1;
            out.push(ConflictEvent::Ended {
                a: a.clone(),
                b: b.clone(),
                feed_s: now_s,
                unix_s,
            });
        }
        self.open = now_open;
    }

    fn counters_json(&self) -> String {
        let c = &self.counters;
        let e = self.picture.counters();
        format!(
            "{{\"engine_updates\":{},\"not_given\":{{\"no_position\":{},\"no_altitude\":{},\"no_velocity\":{},\"on_ground\":{},\"invalid_state\":{}}},\"engine_rejected\":{},\"engine_rejected_stale\":{},\"engine_rejected_future\":{},\"engine_rejected_out_of_order\":{},\"engine_rejected_full\":{},\"ticks\":{},\"started\":{},\"ended\":{},\"open_at_end\":{}}}",
            c.engine_updates,
            c.no_position,
            c.no_altitude,
            c.no_velocity,
            c.on_ground,
            c.invalid_state,
            c.engine_rejected,
            e.reports_rejected_stale,
            e.reports_rejected_future,
            e.reports_rejected_out_of_order,
            e.reports_rejected_full,
            e.ticks,
            c.conflicts_started,
            c.conflicts_ended,
            self.open.len(),
        )
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(crate::stdio::stdout());
    let mut join = conflict_join(&args)?;
    let counters = if let Some(path) = &args.file {
        replay(&args, path, &mut join, &mut out)?
    } else if let Some(addr) = &args.connect {
        let feed =
            Feed::connect(addr, Backoff::default()).with_context(|| format!("--connect {addr}"))?;
        live(&args, feed, &format!("tcp:{addr}"), &mut join, &mut out)?
    } else if let Some(addr) = &args.listen {
        let (feed, local) =
            Feed::listen(addr).with_context(|| format!("--listen {addr}: cannot bind"))?;
        eprintln!("deconflict ingest: listening on {local}");
        live(&args, feed, &format!("listen:{local}"), &mut join, &mut out)?
    } else {
        bail!("one of --file, --connect or --listen is required");
    };
    out.flush().context("writing track updates")?;
    let summary = counters_json(&counters);
    match &join {
        // The feed's counters, with the join's under "conflicts".
        Some(join) => eprintln!(
            "{},\"conflicts\":{}}}",
            summary.strip_suffix('}').unwrap_or(&summary),
            join.counters_json()
        ),
        None => eprintln!("{summary}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The LAX AVR recording [default: crates/feeds/testdata/adsb_deku_lax_messages_avr.txt.gz
    /// of the source tree the binary was built from].
    #[arg(long)]
    avr: Option<PathBuf>,
    /// The Toulouse Beast hex recording [default:
    /// crates/feeds/testdata/rs1090_long_flight_beasthex.csv.gz of the source tree the binary
    /// was built from].
    #[arg(long)]
    hexcsv: Option<PathBuf>,
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
    // The source tree's recordings unless others are given; the help shows them relative to
    // the tree, not as the build machine's absolute path.
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/testdata");
    let avr = args
        .avr
        .unwrap_or_else(|| testdata.join("adsb_deku_lax_messages_avr.txt.gz"));
    let hexcsv = args
        .hexcsv
        .unwrap_or_else(|| testdata.join("rs1090_long_flight_beasthex.csv.gz"));
    println!(
        "# one core; frames/s over the same frames, best of {} alternating runs",
        args.runs
    );
    println!(
        "{:<34} {:>9} {:>16} {:>16} {:>7}",
        "recording", "frames", "end-to-end f/s", "rs1090 bare f/s", "ratio"
    );
    for (path, format, reference) in [
        (&avr, Format::Avr, LatLon::new(33.9425, -118.408)),
        (&hexcsv, Format::HexCsv, LatLon::new(43.626, 1.364)),
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

#[cfg(test)]
mod tests;
