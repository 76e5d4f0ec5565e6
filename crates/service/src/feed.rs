//! Receivers into the service: a party's ADS-B / Mode S receiver feeds (`serve --feed`,
//! `replay --feed`) become that party's tracks in the desk, fused with its pushes by `icao24`.
//!
//! The path, live or recorded: bytes → `feeds::pipeline` (one framer per connection, the Mode S
//! decoder, the per-feed tracker that fuses what the receiver heard into one state per aircraft)
//! → [`Ingest`] turns each new position of an aircraft whose state is complete (position,
//! barometric altitude, ground speed, track angle, vertical rate) into a
//! [`deconflict_desk::ReceiverReport`] → [`State::receiver_reports`] hands them to the desk at
//! the service's clock. The desk stays sans-IO: it never sees a socket, a byte or a clock.
//!
//! Live ([`spawn`]): the feed's sockets (`feeds::io`: a client reconnecting with backoff, or a
//! listener) → a bounded event queue (backpressure to TCP) → decoding → a bounded queue of
//! decoded records ([`RECORDS_QUEUE_MAX`]) → the desk. When the desk is busy (a cycle holds it)
//! and that queue is full, new records are dropped and counted: a receiver repeats every
//! aircraft's position twice a second, so a late record is worth less than the next one.
//!
//! Receiver records are not written to the store: they are not acknowledged to anyone, and
//! after a restart the feed gives the picture again within seconds. What they cause (alerts,
//! geography, nonconformance) is stored and signed like everything else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deconflict_desk::ReceiverReport;
use deconflict_feeds::framing::Format;
use deconflict_feeds::io::{Backoff, FeedEvent};
use deconflict_feeds::pipeline::{Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::SourceId;
use deconflict_feeds::track::Track;
use tokio::sync::mpsc;

use crate::metrics::FeedStats;
use crate::state::State;

/// Most `--feed` options one service or replay takes.
pub const FEEDS_MAX: usize = 32;
/// Decoded records waiting for the desk, per feed; beyond it new ones are dropped and counted.
pub const RECORDS_QUEUE_MAX: usize = 4096;
/// Most records handed to the desk under one lock.
pub const DESK_BATCH_MAX: usize = 1024;

/// A receiver feed's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// Beast binary (dump1090's port 30005).
    Beast,
    /// AVR raw text, `*…;` lines (port 30002).
    Avr,
    /// SBS-1 BaseStation CSV (port 30003).
    Sbs,
}

impl FeedFormat {
    pub fn parse(text: &str) -> Option<FeedFormat> {
        match text {
            "beast" => Some(FeedFormat::Beast),
            "avr" => Some(FeedFormat::Avr),
            "sbs" => Some(FeedFormat::Sbs),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Beast => "beast",
            FeedFormat::Avr => "avr",
            FeedFormat::Sbs => "sbs",
        }
    }

    fn framing(self) -> Format {
        match self {
            FeedFormat::Beast => Format::Beast,
            FeedFormat::Avr => Format::Avr,
            FeedFormat::Sbs => Format::Sbs,
        }
    }
}

/// Where a live feed comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedAddr {
    /// `host:port`: the service connects, and reconnects with backoff.
    Connect(String),
    /// `listen:host:port`: the receiver connects to the service.
    Listen(String),
}

/// `PARTY=FORMAT:ADDR` (serve) or `PARTY=FORMAT:FILE` (replay), parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSpec {
    pub party: String,
    pub format: FeedFormat,
    /// What follows `FORMAT:`: an address (serve) or a file (replay).
    pub target: String,
    /// The option as given, for messages.
    pub text: String,
}

/// What is wrong with a `--feed` value; the message names the part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--feed {text:?}: {message}")]
pub struct SpecError {
    pub text: String,
    pub message: String,
}

const FORMATS: &str = "beast, avr or sbs";

impl FeedSpec {
    /// Splits `PARTY=FORMAT:REST`; the party is checked against the agreement later
    /// ([`FeedSpec::check_party`]), the rest by [`FeedSpec::addr`] or taken as a file.
    pub fn parse(text: &str) -> Result<FeedSpec, SpecError> {
        let bad = |message: String| SpecError {
            text: text.to_string(),
            message,
        };
        let Some((party, rest)) = text.split_once('=') else {
            return Err(bad(
                "expected PARTY=FORMAT:ADDR (no '=' after the party)".into()
            ));
        };
        if party.is_empty() {
            return Err(bad("the party before '=' is empty".into()));
        }
        let Some((format, target)) = rest.split_once(':') else {
            return Err(bad(format!(
                "expected FORMAT:ADDR after '=' (FORMAT is {FORMATS})"
            )));
        };
        let format = FeedFormat::parse(format)
            .ok_or_else(|| bad(format!("unknown format {format:?} (use {FORMATS})")))?;
        if target.is_empty() {
            return Err(bad("nothing after the format: give ADDR (or FILE)".into()));
        }
        Ok(FeedSpec {
            party: party.to_string(),
            format,
            target: target.to_string(),
            text: text.to_string(),
        })
    }

    /// [`FeedSpec::parse`] and [`FeedSpec::addr`]: a live feed's value, whole.
    pub fn parse_live(text: &str) -> Result<FeedSpec, SpecError> {
        let spec = FeedSpec::parse(text)?;
        spec.addr()?;
        Ok(spec)
    }

    /// The feed's name in track sources (`receiver:NAME`) and metrics: `FORMAT:ADDR`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.format.as_str(), self.target)
    }

    /// The target as a live address: `host:port` or `listen:host:port`.
    pub fn addr(&self) -> Result<FeedAddr, SpecError> {
        let (listen, hostport) = match self.target.strip_prefix("listen:") {
            Some(rest) => (true, rest),
            None => (false, self.target.as_str()),
        };
        let bad = || SpecError {
            text: self.text.clone(),
            message: format!(
                "bad address {:?}: expected host:port to connect to, or listen:host:port \
                 (port 1-65535{})",
                self.target,
                if listen { ", or 0 for any" } else { "" }
            ),
        };
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && (host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                || (host.starts_with('[') && host.ends_with(']')));
        if !host_ok || (port == 0 && !listen) {
            return Err(bad());
        }
        if listen && hostport.parse::<SocketAddr>().is_err() {
            return Err(SpecError {
                text: self.text.clone(),
                message: format!(
                    "bad address {:?}: listen:IP:PORT needs an IP address to bind, not a name",
                    self.target
                ),
            });
        }
        Ok(if listen {
            FeedAddr::Listen(hostport.to_string())
        } else {
            FeedAddr::Connect(hostport.to_string())
        })
    }

    /// Refused unless the agreement names the party.
    pub fn check_party(&self, parties: &[String]) -> Result<(), SpecError> {
        if parties.iter().any(|p| p == &self.party) {
            return Ok(());
        }
        Err(SpecError {
            text: self.text.clone(),
            message: format!(
                "unknown party {:?} (the agreement's parties: {})",
                self.party,
                parties.join(", ")
            ),
        })
    }
}

/// How record times are read.
#[derive(Debug, Clone, Copy)]
enum Times {
    /// Live: the time of receipt, the service's clock.
    Receipt,
    /// A recording: the records' own unix times; relative or missing times count from the
    /// recording's first position, placed at `anchor_ms`.
    Recording {
        anchor_ms: i64,
        origin_s: Option<f64>,
    },
}

/// One feed's decoding: framing, Mode S decoding and the feed's tracker, and the conversion to
/// the desk's receiver records. Pure: the caller gives the time.
pub struct Ingest {
    party: String,
    name: String,
    pipeline: Pipeline,
    times: Times,
    stats: Arc<FeedStats>,
    /// Connections seen (the first is a connect, the rest reconnects).
    connections: u64,
}

impl Ingest {
    /// A live feed: records are timed at their receipt.
    pub fn live(party: &str, name: &str, format: FeedFormat, stats: Arc<FeedStats>) -> Ingest {
        Ingest::new(
            party,
            name,
            format,
            TimeMode::Receipt,
            Times::Receipt,
            stats,
        )
    }

    /// A recording: records keep their own times (see [`Times::Recording`]).
    pub fn recording(
        party: &str,
        name: &str,
        format: FeedFormat,
        anchor_ms: i64,
        stats: Arc<FeedStats>,
    ) -> Ingest {
        Ingest::new(
            party,
            name,
            format,
            TimeMode::Record,
            Times::Recording {
                anchor_ms,
                origin_s: None,
            },
            stats,
        )
    }

    fn new(
        party: &str,
        name: &str,
        format: FeedFormat,
        mode: TimeMode,
        times: Times,
        stats: Arc<FeedStats>,
    ) -> Ingest {
        Ingest {
            party: party.to_string(),
            name: name.to_string(),
            pipeline: Pipeline::new(PipelineConfig::new(format.framing(), mode)),
            times,
            stats,
            connections: 0,
        }
    }

    pub fn party(&self) -> &str {
        &self.party
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&self) -> &Arc<FeedStats> {
        &self.stats
    }

    /// One event of the feed's sockets at `now_ms` (the service's clock): the desk records it
    /// gives are appended to `out`, in order.
    pub fn event(&mut self, ev: &FeedEvent, now_ms: i64, out: &mut Vec<ReceiverReport>) {
        let now_s = now_ms as f64 / 1000.0;
        match ev {
            FeedEvent::Connected { .. } => {
                self.connections += 1;
                self.stats.connects.fetch_add(1, Ordering::Relaxed);
                if self.connections > 1 {
                    self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
            FeedEvent::ConnectFailed { .. } => {
                self.stats.connect_failures.fetch_add(1, Ordering::Relaxed);
            }
            FeedEvent::Data { source, bytes, .. } => {
                self.stats
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let (times, stats) = (&mut self.times, &self.stats);
                let mut on = |t: &Track| convert(t, times, stats, out);
                self.pipeline.push(*source, now_s, bytes, &mut on);
            }
            FeedEvent::Closed { source, .. } => {
                let (times, stats) = (&mut self.times, &self.stats);
                let mut on = |t: &Track| convert(t, times, stats, out);
                self.pipeline.close(*source, now_s, &mut on);
            }
        }
        self.count();
    }

    /// Copies the pipeline's counters into the feed's.
    fn count(&self) {
        let c = self.pipeline.counters();
        let d = &c.decode;
        let rejected = c.framing.rejected()
            + d.bad_crc
            + d.unknown_df
            + d.length_mismatch
            + d.malformed
            + d.cpr_states_full;
        self.stats
            .messages
            .store(c.framing.records, Ordering::Relaxed);
        self.stats.rejected.store(rejected, Ordering::Relaxed);
        self.stats
            .garbage_bytes
            .store(c.framing.garbage_bytes, Ordering::Relaxed);
        self.stats.decoded.store(c.track.reports, Ordering::Relaxed);
    }
}

/// The desk's record for a track the tracker just updated, when the update brought a new
/// position and the aircraft's state is complete.
fn convert(t: &Track, times: &mut Times, stats: &FeedStats, out: &mut Vec<ReceiverReport>) {
    let (Some(pos), Some(pos_s)) = (t.position, t.position_s) else {
        return;
    };
    if pos_s != t.updated_s {
        // An altitude or velocity update: carried with the next position.
        return;
    }
    if t.on_ground == Some(true) {
        stats.on_ground.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let (Some(alt_m), Some(gs), Some(trk), Some(vs)) =
        (t.alt_baro_m, t.gs_mps, t.trk_deg, t.vs_mps)
    else {
        stats.incomplete.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let time_ms = match times {
        Times::Receipt => (pos_s * 1000.0).round() as i64,
        Times::Recording {
            anchor_ms,
            origin_s,
        } => {
            if t.time_unix_s.is_some() {
                (pos_s * 1000.0).round() as i64
            } else {
                let origin = *origin_s.get_or_insert(pos_s);
                *anchor_ms + ((pos_s - origin) * 1000.0).round() as i64
            }
        }
    };
    stats.records.fetch_add(1, Ordering::Relaxed);
    out.push(ReceiverReport {
        icao24: t.icao.to_string(),
        time_ms,
        lat_deg: pos.lat_deg(),
        lon_deg: pos.lon_deg(),
        alt_m,
        track_deg: trk,
        ground_speed_mps: gs,
        vertical_rate_mps: vs,
        callsign: t.callsign.as_ref().map(|c| c.as_str().to_string()),
        squawk: t.squawk.map(|s| format!("{s:04x}")),
    });
}

/// Decodes a whole recording, in order: every record it gives, with its time.
pub fn decode_recording(ingest: &mut Ingest, bytes: &[u8]) -> Vec<ReceiverReport> {
    let mut out = Vec::new();
    let source = SourceId(0);
    ingest.event(
        &FeedEvent::Connected {
            source,
            peer: "recording".into(),
        },
        0,
        &mut out,
    );
    ingest.event(
        &FeedEvent::Data {
            source,
            bytes: bytes.to_vec(),
            received_unix_s: 0.0,
        },
        0,
        &mut out,
    );
    ingest.event(
        &FeedEvent::Closed {
            source,
            reason: "end of recording".into(),
        },
        0,
        &mut out,
    );
    out
}

/// Hands `records` of `ingest`'s feed to the desk and counts what it took.
pub fn take(state: &State, ingest: &Ingest, records: Vec<ReceiverReport>) -> u64 {
    take_into(
        state,
        ingest.party(),
        ingest.name(),
        ingest.stats(),
        records,
    )
}

/// Hands `records` of `party`'s feed `name` to the desk; counts in `stats` what it took and
/// what it refused, and returns how many it took.
pub fn take_into(
    state: &State,
    party: &str,
    name: &str,
    stats: &FeedStats,
    records: Vec<ReceiverReport>,
) -> u64 {
    let n = records.len() as u64;
    let taken = state
        .receiver_reports(party, name, records)
        .iter()
        .filter(|r| r.is_ok())
        .count() as u64;
    stats.taken.fetch_add(taken, Ordering::Relaxed);
    stats.refused.fetch_add(n - taken, Ordering::Relaxed);
    taken
}

/// One event of a live feed into the desk, at the service's clock: decoded, converted and
/// taken. The path `serve --feed` takes for each event (through its queue), and the one the
/// demo takes for its recorded feed.
pub fn event_into_desk(state: &State, ingest: &mut Ingest, ev: &FeedEvent) -> u64 {
    let mut out = Vec::new();
    ingest.event(ev, state.clock.now_ms(), &mut out);
    if out.is_empty() {
        return 0;
    }
    take(state, ingest, out)
}

/// Queues a record for the desk, or drops and counts it when the queue is full (or gone).
fn offer(q: &mpsc::Sender<ReceiverReport>, r: ReceiverReport, stats: &FeedStats) {
    if q.try_send(r).is_err() {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a live feed could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedStartError {
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("--feed {text:?}: listening on {addr}: {source}")]
    Listen {
        text: String,
        addr: String,
        source: std::io::Error,
    },
}

/// Starts a live feed on the current tokio runtime: the sockets, the decoding task and the
/// task that hands records to the desk. Runs until the service shuts down. Returns the
/// listening address of a `listen:` feed.
pub async fn spawn(
    state: Arc<State>,
    spec: &FeedSpec,
    backoff: Backoff,
) -> Result<Option<SocketAddr>, FeedStartError> {
    let addr = spec.addr()?;
    let name = spec.name();
    let stats = state.metrics.feeds.stats(&spec.party, &name);
    let (tx, mut rx) = mpsc::channel(deconflict_feeds::io::EVENTS_QUEUE_MAX);
    let bound = match addr {
        FeedAddr::Connect(a) => {
            tokio::spawn(deconflict_feeds::io::run_client(a, backoff, tx));
            None
        }
        FeedAddr::Listen(a) => {
            let listener = tokio::net::TcpListener::bind(&a).await.map_err(|source| {
                FeedStartError::Listen {
                    text: spec.text.clone(),
                    addr: a.clone(),
                    source,
                }
            })?;
            let local = listener.local_addr().ok();
            tokio::spawn(deconflict_feeds::io::run_listener(listener, tx));
            local
        }
    };
    let (qtx, mut qrx) = mpsc::channel::<ReceiverReport>(RECORDS_QUEUE_MAX);
    let mut ingest = Ingest::live(&spec.party, &name, spec.format, stats.clone());
    let mut shutdown = state.shutdown_signal();
    let clock_state = state.clone();
    tokio::spawn(async move {
        let mut out = Vec::new();
        loop {
            let ev = tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => ev,
                    None => break,
                },
                _ = shutdown.changed() => break,
            };
            match &ev {
                FeedEvent::Connected { peer, .. } => {
                    tracing::info!(feed = %ingest.name(), party = %ingest.party(), %peer, "receiver feed connected")
                }
                FeedEvent::Closed { reason, .. } => {
                    tracing::info!(feed = %ingest.name(), party = %ingest.party(), %reason, "receiver feed closed")
                }
                FeedEvent::ConnectFailed {
                    reason, retry_in, ..
                } => {
                    tracing::warn!(feed = %ingest.name(), party = %ingest.party(), %reason, retry_in_ms = retry_in.as_millis() as u64, "receiver feed unreachable")
                }
                FeedEvent::Data { .. } => {}
            }
            ingest.event(&ev, clock_state.clock.now_ms(), &mut out);
            for r in out.drain(..) {
                offer(&qtx, r, &stats);
            }
        }
    });
    let party = spec.party.clone();
    let stats = state.metrics.feeds.stats(&spec.party, &name);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(DESK_BATCH_MAX);
        while let Some(r) = qrx.recv().await {
            batch.push(r);
            while batch.len() < DESK_BATCH_MAX {
                match qrx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            let records = std::mem::take(&mut batch);
            let st = state.clone();
            let (p, n, s) = (party.clone(), name.clone(), stats.clone());
            // The desk's lock may be held by a cycle: wait for it off the async workers.
            let _ = tokio::task::spawn_blocking(move || take_into(&st, &p, &n, &s, records)).await;
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        FeedSpec::parse_live(text).unwrap_err().to_string()
    }

    #[test]
    fn a_feed_value_is_split_into_party_format_and_address() {
        let s = FeedSpec::parse_live("russia=sbs:127.0.0.1:30003").unwrap();
        assert_eq!(s.party, "russia");
        assert_eq!(s.format, FeedFormat::Sbs);
        assert_eq!(
            s.addr().unwrap(),
            FeedAddr::Connect("127.0.0.1:30003".into())
        );
        assert_eq!(s.name(), "sbs:127.0.0.1:30003");
        let l = FeedSpec::parse_live("coalition=beast:listen:0.0.0.0:30005").unwrap();
        assert_eq!(l.addr().unwrap(), FeedAddr::Listen("0.0.0.0:30005".into()));
        let h = FeedSpec::parse_live("coalition=avr:receiver.example:30002").unwrap();
        assert_eq!(
            h.addr().unwrap(),
            FeedAddr::Connect("receiver.example:30002".into())
        );
        assert!(FeedSpec::parse_live("c=avr:[::1]:30002").is_ok());
    }

    #[test]
    fn each_bad_part_is_named() {
        assert!(err("russia").contains("no '='"), "{}", err("russia"));
        assert!(err("=sbs:h:1").contains("party before '=' is empty"));
        assert!(err("russia=sbs").contains("expected FORMAT:ADDR"));
        assert!(err("russia=json:h:1").contains("unknown format \"json\""));
        assert!(err("russia=sbs:h").contains("bad address \"h\""));
        assert!(err("russia=sbs:h:0").contains("bad address"));
        assert!(err("russia=sbs:h:70000").contains("bad address"));
        assert!(err("russia=sbs:a b:1").contains("bad address"));
        assert!(err("russia=sbs:listen:name:1").contains("needs an IP address"));
        let s = FeedSpec::parse_live("nato=sbs:h:1").unwrap();
        let e = s
            .check_party(&["coalition".into(), "russia".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown party \"nato\"") && e.contains("coalition, russia"),
            "{e}"
        );
    }

    fn stats() -> Arc<FeedStats> {
        Arc::new(FeedStats::default())
    }

    const LINE3: &str = "MSG,3,,,4CA7B3,,,,,,,35000,,,45.0,1.0,,,0,0,0,0\n";
    const LINE4: &str = "MSG,4,,,4CA7B3,,,,,,,,450,90,,,-640,,,,,0\n";

    #[test]
    fn a_position_goes_on_only_once_altitude_and_velocity_are_known() {
        let s = stats();
        let mut ing = Ingest::live("p", "sbs:x", FeedFormat::Sbs, s.clone());
        let mut out = Vec::new();
        let data = |b: &str| FeedEvent::Data {
            source: SourceId(0),
            bytes: b.as_bytes().to_vec(),
            received_unix_s: 0.0,
        };
        ing.event(&data(LINE3), 1_000_000, &mut out);
        assert!(out.is_empty(), "no velocity yet");
        assert_eq!(s.incomplete.load(Ordering::Relaxed), 1);
        ing.event(&data(LINE4), 1_000_500, &mut out);
        assert!(out.is_empty(), "a velocity alone is not a new position");
        ing.event(&data(LINE3), 1_001_000, &mut out);
        assert_eq!(out.len(), 1);
        let r = &out[0];
        assert_eq!(r.icao24, "4ca7b3");
        assert_eq!(r.time_ms, 1_001_000);
        assert!((r.alt_m - 35_000.0 * 0.3048).abs() < 1e-6);
        assert!((r.ground_speed_mps - 450.0 * 1852.0 / 3600.0).abs() < 1e-6);
        assert!((r.vertical_rate_mps + 640.0 * 0.3048 / 60.0).abs() < 1e-6);
        assert_eq!(r.track_deg, 90.0);
        assert_eq!(s.messages.load(Ordering::Relaxed), 3);
        assert_eq!(s.records.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn malformed_bytes_are_counted_and_the_feed_goes_on() {
        let s = stats();
        let mut ing = Ingest::live("p", "avr:x", FeedFormat::Avr, s.clone());
        let mut out = Vec::new();
        let junk: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        // Junk, two malformed frames, junk, then a good identification frame (KLM1023).
        let good = b"\n*8D4840D6202CC371C32CE0576098;\n".to_vec();
        for bytes in [junk.clone(), b"*zz;\n*8d4ca7;\n".to_vec(), junk, good] {
            ing.event(
                &FeedEvent::Data {
                    source: SourceId(1),
                    bytes,
                    received_unix_s: 0.0,
                },
                5_000,
                &mut out,
            );
        }
        assert!(out.is_empty());
        assert!(s.rejected.load(Ordering::Relaxed) >= 2);
        assert_eq!(
            s.decoded.load(Ordering::Relaxed),
            1,
            "the frame after the junk is decoded"
        );
    }

    #[test]
    fn a_full_queue_to_the_desk_drops_and_counts() {
        let s = stats();
        let (q, mut rx) = mpsc::channel(2);
        let mut ing = Ingest::live("p", "sbs:x", FeedFormat::Sbs, s.clone());
        let mut out = Vec::new();
        for (k, line) in [LINE4, LINE3, LINE3, LINE3, LINE3].iter().enumerate() {
            let ev = FeedEvent::Data {
                source: SourceId(0),
                bytes: line.as_bytes().to_vec(),
                received_unix_s: 0.0,
            };
            ing.event(&ev, 1_000 * k as i64, &mut out);
        }
        assert_eq!(out.len(), 4);
        for r in out {
            offer(&q, r, &s);
        }
        assert_eq!(s.dropped.load(Ordering::Relaxed), 2);
        // The oldest stay queued, in order; the desk gets them.
        assert_eq!(rx.try_recv().unwrap().time_ms, 1_000);
        assert_eq!(rx.try_recv().unwrap().time_ms, 2_000);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_recording_without_times_counts_from_its_anchor() {
        let s = stats();
        let mut ing = Ingest::recording("p", "sbs:f", FeedFormat::Sbs, 7_000_000, s);
        let text = format!("{LINE4}{LINE3}{LINE3}");
        let out = decode_recording(&mut ing, text.as_bytes());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].time_ms, 7_000_000);
        // Untimed lines are spaced by the pipeline's synthetic interval (1/300 s).
        assert_eq!(out[1].time_ms, 7_000_003);
    }
}
