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
mod tests {
    use super::*;
    use deconflict_feeds::report::{IcaoAddress, SourceId};

    /// Metres per degree of longitude on the WGS-84 equator (a = 6 378 137 m).
    const M_PER_DEG_EQUATOR: f64 = 6_378_137.0 * std::f64::consts::PI / 180.0;

    fn join(parties: Option<&str>, h_sep_m: f64, v_sep_m: f64) -> ConflictJoin {
        let parties = parties.map(|p| parse_parties(p).unwrap());
        let policy = if parties.is_some() {
            PairPolicy::DifferentParties
        } else {
            PairPolicy::AllPairs
        };
        let probe = ProbeConfig::new(LOOKAHEAD_S_DEFAULT, h_sep_m, v_sep_m, policy).unwrap();
        ConflictJoin::new(
            PictureConfig::new(probe, 100, 60.0, 2.0).unwrap(),
            parties.unwrap_or_default(),
        )
        .unwrap()
    }

    /// An airborne track on the equator at `lon_deg`, seen at `t_s`.
    fn track(icao: u32, t_s: f64, lon_deg: f64, alt_m: f64, trk_deg: f64) -> Track {
        Track {
            icao: IcaoAddress::new(icao).unwrap(),
            callsign: None,
            position: LatLon::new(0.0, lon_deg),
            position_s: Some(t_s),
            alt_baro_m: Some(alt_m),
            gs_mps: Some(100.0),
            trk_deg: Some(trk_deg),
            vs_mps: Some(0.0),
            squawk: None,
            on_ground: Some(false),
            updated_s: t_s,
            time_unix_s: None,
            source: SourceId(0),
            sources: vec![SourceId(0)],
        }
    }

    /// Two aircraft head-on along the equator, 20 km apart at t = 100 s, closing at 200 m/s.
    fn head_on(j: &mut ConflictJoin, b_alt_m: f64) -> Vec<ConflictEvent> {
        let mut ev = Vec::new();
        let b_lon = 20_000.0 / M_PER_DEG_EQUATOR;
        j.track(&track(1, 100.0, 0.0, 3000.0, 90.0), &mut ev);
        // B seen half a second later, 50 m further west than where it was at 100 s.
        let b_lon_later = b_lon - 50.0 / M_PER_DEG_EQUATOR;
        j.track(&track(2, 100.5, b_lon_later, b_alt_m, 270.0), &mut ev);
        // An aircraft on the ground and one without velocity: not given to the engine; the
        // first makes the 101 s tick due.
        let mut ground = track(3, 101.0, 0.001, 0.0, 0.0);
        ground.on_ground = Some(true);
        j.track(&ground, &mut ev);
        let mut slow = track(4, 101.5, 0.002, 3000.0, 0.0);
        slow.gs_mps = None;
        j.track(&slow, &mut ev);
        ev
    }

    #[test]
    fn head_on_pair_starts_with_the_closed_form_window_then_ends_when_b_climbs_away() {
        let mut j = join(None, 1852.0, 304.8);
        let ev = head_on(&mut j, 3000.0);
        // At the 101 s tick: each has flown 100 m towards the other since 100 s: 19 800 m apart,
        // closing at 200 m/s; 1852 m is reached at (19800 − 1852) / 200 s and left at
        // (19800 + 1852) / 200 s.
        let (t_in, t_out) = ((19_800.0 - 1852.0) / 200.0, (19_800.0 + 1852.0) / 200.0);
        assert_eq!(ev.len(), 1, "{ev:?}");
        let ConflictEvent::Started {
            a,
            b,
            window,
            violation_now,
            feed_s,
            unix_s,
        } = &ev[0]
        else {
            panic!("expected a start, got {ev:?}");
        };
        assert_eq!((a.as_str(), b.as_str()), ("000001", "000002"));
        assert!(
            (window.t_in_s() - t_in).abs() < 0.05,
            "{window:?} vs {t_in}"
        );
        assert!(
            (window.t_out_s() - t_out).abs() < 0.05,
            "{window:?} vs {t_out}"
        );
        assert!(window.h_min_m() < 1.0, "{window:?}");
        assert!(!violation_now);
        assert_eq!((*feed_s, *unix_s), (101.0, None));
        let line = ev[0].json();
        assert!(
            line.starts_with("{\"conflict\":{\"a\":\"000001\",\"b\":\"000002\",\"t_in_s\":89.7,\"t_out_s\":108.3,\"h_min_m\":0,"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "\"violation_now\":false},\"event\":\"started\",\"t\":null,\"feed_s\":101}"
            ),
            "{line}"
        );
        // Still in conflict one tick later: nothing new is printed.
        let mut ev = Vec::new();
        j.track(
            &track(1, 102.0, 200.0 / M_PER_DEG_EQUATOR, 3000.0, 90.0),
            &mut ev,
        );
        assert_eq!(ev, vec![]);
        // B climbs 400 m above A (more than 304.8 m): the conflict ends at the next tick.
        let b_lon = (20_000.0 - 300.0) / M_PER_DEG_EQUATOR;
        j.track(&track(2, 103.0, b_lon, 3400.0, 270.0), &mut ev);
        assert_eq!(
            ev.iter().map(ConflictEvent::json).collect::<Vec<_>>(),
            vec![
                "{\"conflict\":{\"a\":\"000001\",\"b\":\"000002\"},\"event\":\"ended\",\"t\":null,\"feed_s\":103}"
                    .to_string()
            ]
        );
        let c = j.counters;
        assert_eq!(
            (
                c.engine_updates,
                c.on_ground,
                c.no_velocity,
                c.no_position,
                c.no_altitude
            ),
            (4, 1, 1, 0, 0)
        );
        assert_eq!((c.conflicts_started, c.conflicts_ended), (1, 1));
    }

    #[test]
    fn conflict_time_is_unix_when_the_feed_carries_a_wall_clock() {
        let mut j = join(None, 1852.0, 304.8);
        let mut ev = Vec::new();
        let unix0 = 1_698_150_000.0;
        for (icao, t_s, lon_m, trk) in [(1, 100.0, 0.0, 90.0), (2, 101.0, 19_900.0, 270.0)] {
            let mut t = track(icao, t_s, lon_m / M_PER_DEG_EQUATOR, 3000.0, trk);
            t.time_unix_s = Some(unix0 + t_s);
            j.track(&t, &mut ev);
        }
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(
            ev[0].json().ends_with("\"t\":1698150101,\"feed_s\":101}"),
            "{}",
            ev[0].json()
        );
    }

    #[test]
    fn vertically_separated_pair_is_no_conflict() {
        let mut j = join(None, 1852.0, 304.8);
        assert_eq!(head_on(&mut j, 3400.0), vec![]);
    }

    #[test]
    fn party_map_probes_only_pairs_of_different_parties() {
        // Longest prefix wins: 000002 is blue although 0000 is red.
        let mut j = join(Some("red=0000,blue=000002"), 1852.0, 304.8);
        assert_eq!(head_on(&mut j, 3000.0).len(), 1);
        let mut j = join(Some("red=0000"), 1852.0, 304.8);
        assert_eq!(head_on(&mut j, 3000.0), vec![]);
    }

    #[test]
    fn bad_party_maps_are_refused_with_the_entry() {
        for (text, needle) in [
            ("red", "entry 1: expected NAME=ICAO_PREFIX"),
            ("red=4ca,blue=xyz", "entry 2: ICAO prefix \"xyz\""),
            ("red=1234567", "1 to 6 hexadecimal digits"),
            ("r d=4ca", "entry 1: party name"),
        ] {
            let e = format!("{:#}", parse_parties(text).unwrap_err());
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    /// Where a track's engine state puts it `dt_s` after its position time: a straight line on a
    /// sphere, written independently of the engine's WGS-84 local frames.
    fn project(t: &Track, at_s: f64) -> (f64, f64, f64) {
        const R_M: f64 = 6_371_008.8;
        let p = t.position.unwrap();
        let dt = at_s - t.position_s.unwrap();
        let (gs, trk) = (t.gs_mps.unwrap(), t.trk_deg.unwrap().to_radians());
        let lat = p.lat_deg() + (gs * trk.cos() * dt / R_M).to_degrees();
        let lon = p.lon_deg()
            + (gs * trk.sin() * dt / (R_M * p.lat_deg().to_radians().cos())).to_degrees();
        (lat, lon, t.alt_baro_m.unwrap() + t.vs_mps.unwrap() * dt)
    }

    /// The LAX recording replayed with the default minima: every conflict reported is checked
    /// against an independent straight-line projection of the two tracks the engine was given,
    /// at the middle of the reported window (inside both the horizontal and the vertical window).
    #[test]
    fn lax_recording_conflicts_are_within_the_minima_by_independent_projection() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../feeds/testdata/adsb_deku_lax_messages_avr.txt.gz"
        );
        let bytes = read_recording(Path::new(path)).unwrap();
        let mut cfg = PipelineConfig::new(Format::Avr, TimeMode::Record);
        cfg.decoder.reference = LatLon::new(33.9425, -118.408);
        let mut pipeline = Pipeline::new(cfg);
        let (h_sep_m, v_sep_m) = (H_SEP_M_DEFAULT, V_SEP_M_DEFAULT);
        let mut j = join(None, h_sep_m, v_sep_m);
        // The state last given to the engine, per track.
        let mut given: HashMap<String, Track> = HashMap::new();
        let mut started = 0;
        let mut ended = 0;
        let mut checked_now = 0;
        let mut ev = Vec::new();
        pipeline.push(SourceId(0), 0.0, &bytes, |t| {
            let before = j.counters.engine_updates;
            j.track(t, &mut ev);
            if j.counters.engine_updates > before {
                given.insert(t.icao.to_string(), t.clone());
            }
            for e in ev.drain(..) {
                match e {
                    ConflictEvent::Started {
                        a,
                        b,
                        window,
                        violation_now,
                        feed_s,
                        ..
                    } => {
                        started += 1;
                        // The update that made this tick due may be one of the pair's and
                        // newer than what the tick saw; the tick ran after it, so `given` is
                        // what the engine held.
                        let (ta, tb) = (&given[a.as_str()], &given[b.as_str()]);
                        let mid_s = feed_s + 0.5 * (window.t_in_s() + window.t_out_s());
                        let (pa, pb) = (project(ta, mid_s), project(tb, mid_s));
                        let h_m = LatLon::new(pa.0, pa.1)
                            .unwrap()
                            .distance_m(LatLon::new(pb.0, pb.1).unwrap());
                        let dz_m = (pa.2 - pb.2).abs();
                        // 1% for the sphere against the ellipsoid over a two-minute projection.
                        assert!(h_m <= h_sep_m * 1.01, "{a}-{b} at {mid_s}: {h_m} m apart");
                        assert!(dz_m <= v_sep_m + 0.5, "{a}-{b} at {mid_s}: {dz_m} m apart");
                        assert!(window.t_in_s() <= LOOKAHEAD_S_DEFAULT);
                        if violation_now {
                            assert_eq!(window.t_in_s(), 0.0);
                            checked_now += 1;
                        }
                    }
                    ConflictEvent::Ended { .. } => ended += 1,
                }
            }
        });
        let c = j.counters;
        assert_eq!((c.conflicts_started, c.conflicts_ended), (started, ended));
        assert!(started > 0, "no conflict in the LAX recording");
        assert!(ended <= started && started - ended == j.open.len() as u64);
        assert!(c.engine_updates > 1000, "{c:?}");
        eprintln!("LAX: {c:?}; {checked_now} violations now");
    }
}
