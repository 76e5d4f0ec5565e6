//! `deconflict bench service`: the service on loopback, on the system clock, over a durable
//! store in a temporary directory.
//!
//! For each live-track count N: both parties push signed batches of reports for their N/2
//! aircraft (vertically separated, so the background holds no conflict) as fast as the service
//! accepts them, for a fixed time; the figure is reports accepted per second, and the
//! comparison is the headroom, i.e. how many times per second every one of the N tracks could
//! be updated (1 Hz updates need a headroom of at least 1). Then, with the N tracks still live,
//! pairs of aircraft on a collision course are pushed one pair at a time, and the time from the
//! push to the `new` alert on *both* parties' streams is measured (median and p99), compared
//! with the cycle period that bounds it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deconflict_sim::Scenario;
use tokio::sync::mpsc;

use deconflict_client::PartyClient;
use deconflict_client::clock::{Clock, SystemClock};
use deconflict_client::wire::*;
use deconflict_service::datadir;
use deconflict_service::state::{Config, State};

/// Reports per pushed batch.
pub const BATCH_REPORTS: usize = 500;
/// Concurrent pushers per party.
pub const PUSHERS_PER_PARTY: usize = 2;
/// Collision pairs timed per track count.
pub const LATENCY_SAMPLES: usize = 20;
/// Longest wait for one alert before the sample counts as lost.
pub const ALERT_WAIT_S_MAX: u64 = 10;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub tracks: Vec<usize>,
    pub seconds: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    #[error("{0}")]
    Setup(String),
    #[error("request: {0}")]
    Client(#[from] deconflict_client::ClientError),
}

pub(crate) fn setup(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// What the benchmark printed, and whether the track stream met its target at every count.
pub struct BenchReport {
    pub text: String,
    pub met: bool,
}

/// Runs the benchmark and returns the printed report.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup)?;
    let mut out = String::from(
        "deconflict bench service — loopback, signed HTTP/1.1 and WebSocket, SQLite WAL synchronous=FULL, 1 Hz cycle

         tracks  batch rep/s  stream rep/s  stream/batch  headroom (x 1 Hz)  alert latency median  p99      lost  cycle max
",
    );
    let mut slowest: Option<(usize, f64)> = None;
    for &n in &opts.tracks {
        let m = rt.block_on(one(n.max(2), opts.seconds.max(1)))?;
        out.push_str(&m.line);
        out.push('\n');
        if slowest.is_none_or(|(_, r)| m.streamed < r) {
            slowest = Some((n, m.streamed));
        }
    }
    out.push_str(&format!(
        "\nbatch = signed POST /v1/tracks/batch of {BATCH_REPORTS} reports, {PUSHERS_PER_PARTY} pushers a party, \
         each waiting for its answer; stream = GET /v1/tracks/stream, frames of up to {FRAME_REPORTS} reports, \
         {STREAMS_PER_PARTY} streams a party each reporting its own share of the aircraft once a frame, \
         {FRAMES_IN_FLIGHT} frames in flight each; the two run one after \
         the other on the same service. Both count reports answered durable.\n\
         headroom = stream reports per second / live tracks: how many times per second every \
         track could be updated (>= 1 keeps all of them at 1 Hz).\nalert latency = push of a \
         colliding pair of new aircraft -> `new` alert on both parties' streams; new aircraft are \
         graded on arrival (a pass at most every 100 ms), not at the next cycle.\n",
    ));
    let (n, rate) = slowest.unwrap_or((0, 0.0));
    let met = rate >= STREAM_REPORTS_PER_S_TARGET;
    out.push_str(&format!(
        "track stream: {rate:.0} reports/s at {n} tracks (lowest of the counts), target >= {:.0}: {}\n",
        STREAM_REPORTS_PER_S_TARGET,
        if met { "met" } else { "MISSED" }
    ));
    Ok(BenchReport { text: out, met })
}

/// Waits (at most [`ALERT_WAIT_S_MAX`]) until both parties' streams carried the `new` alert of
/// their aircraft `want` (party index 0 and 1); returns the time since `t0` when the second one
/// arrived, ms.
pub(crate) async fn both_alerted(
    alerts: &mut mpsc::UnboundedReceiver<(usize, String, Instant)>,
    want: &[String; 2],
    t0: Instant,
) -> Option<f64> {
    let mut seen = [None, None];
    let until = tokio::time::Instant::now() + Duration::from_secs(ALERT_WAIT_S_MAX);
    while seen.iter().any(Option::is_none) {
        match tokio::time::timeout_at(until, alerts.recv()).await {
            Ok(Some((pi, id, at))) if pi < 2 && id == want[pi] => seen[pi] = Some(at),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    match seen {
        [Some(x), Some(y)] => Some(x.max(y).duration_since(t0).as_secs_f64() * 1000.0),
        _ => None,
    }
}

/// Waits for the `k`th of phases spread over a 1 s cycle by golden-ratio steps, before timed
/// pair `k`: pairs pushed at one phase would all measure the same wait for the next cycle.
pub(crate) async fn pause_to_phase(k: usize) {
    let phase = (k as f64 * 0.618_034).fract();
    tokio::time::sleep(Duration::from_millis((phase * 1000.0) as u64)).await;
}

/// A timed pair: how long its two pushes took to be answered (durable), and how long until
/// both parties' streams carried its `new` alert (`None` when one never came, see
/// [`both_alerted`]), both from the pushes, ms.
pub(crate) struct PairTiming {
    pub answered_ms: f64,
    pub alerted_ms: Option<f64>,
}

/// Pushes a head-on pair at 6,000 m on latitude `lat`: party index 0's aircraft `want[0]` at
/// `lons.0` flying east, party index 1's `want[1]` at `lons.1` flying west, both reported at
/// `now_ms`, and times it.
pub(crate) async fn head_on_pair(
    clients: &[PartyClient],
    now_ms: i64,
    want: [String; 2],
    lat: f64,
    lons: (f64, f64),
    alerts: &mut mpsc::UnboundedReceiver<(usize, String, Instant)>,
) -> Result<PairTiming, BenchError> {
    let a = report(want[0].clone(), now_ms, lat, lons.0, 6000.0, 90.0);
    let b = report(want[1].clone(), now_ms, lat, lons.1, 6000.0, 270.0);
    let t0 = Instant::now();
    let (ra, rb) = tokio::join!(
        clients[0].call::<_, TracksAccepted>("POST", "/v1/tracks", Some(&a)),
        clients[1].call::<_, TracksAccepted>("POST", "/v1/tracks", Some(&b)),
    );
    ra?;
    rb?;
    let answered_ms = t0.elapsed().as_secs_f64() * 1000.0;
    Ok(PairTiming {
        answered_ms,
        alerted_ms: both_alerted(alerts, &want, t0).await,
    })
}

/// Where a benchmark's background aircraft fly: a grid from (`lat0`, `lon0`) with `columns`
/// aircraft a row, `step_deg` apart; each party at its own altitude, 6,000 m apart, so the
/// background holds no conflict.
pub(crate) struct Grid {
    pub lat0: f64,
    pub lon0: f64,
    pub columns: usize,
    pub step_deg: f64,
}

/// The grid of `bench service`.
const BENCH_GRID: Grid = Grid {
    lat0: 30.0,
    lon0: 30.0,
    columns: 100,
    step_deg: 0.1,
};

/// Background aircraft `i` of party index `party` on `grid`, reported at `t_ms`, flying east.
pub(crate) fn background(grid: &Grid, i: usize, t_ms: i64, party: usize) -> TrackReportIn {
    let (row, col) = (i / grid.columns, i % grid.columns);
    report(
        format!("bg-{i}"),
        t_ms,
        grid.lat0 + row as f64 * grid.step_deg,
        grid.lon0 + col as f64 * grid.step_deg,
        3000.0 + party as f64 * 6000.0,
        90.0,
    )
}

pub(crate) fn report(
    track: String,
    t_ms: i64,
    lat: f64,
    lon: f64,
    alt: f64,
    trk: f64,
) -> TrackReportIn {
    TrackReportIn {
        track_id: track,
        time_unix_ms: t_ms,
        lat_deg: lat,
        lon_deg: lon,
        alt_m: alt,
        track_deg: trk,
        ground_speed_mps: 150.0,
        vertical_rate_mps: 0.0,
        callsign: None,
        aircraft_type: None,
        icao24: None,
        squawk: None,
    }
}

/// A service on loopback over a fresh store in `dir`, the agreement signed by every party, the
/// per-party rate limit lifted; the parties' clients.
pub(crate) async fn start(
    scenario: &Scenario,
    dir: &std::path::Path,
    clock: &Arc<dyn Clock>,
) -> Result<(Arc<State>, crate::loopback::Loopback, Vec<PartyClient>), BenchError> {
    let agreement = scenario.agreement();
    // Every party signs: the agreement is in force only with all its signatures on record.
    let mut signatures = Vec::new();
    for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
        let pid = deconflict_agreement::PartyId::new(&party.id).map_err(setup)?;
        signatures.push(
            deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &key)
                .map_err(setup)?,
        );
    }
    let terms = deconflict_service::terms::Terms::from_agreement(&agreement)
        .map_err(setup)?
        .with_signatures(signatures);
    let store = deconflict_store::SqliteStore::open(&dir.join("store.sqlite")).map_err(setup)?;
    let config = Config {
        // The benchmark measures the service, not the per-party rate limit.
        rate_requests_per_s: 1e9,
        rate_burst_requests: 1e9,
        ..Config::default()
    };
    let signed_by: Vec<String> = terms.parties.iter().map(|p| p.id.clone()).collect();
    let state =
        State::open(config, terms.clone(), true, Box::new(store), clock.clone()).map_err(setup)?;
    // The record, as `serve` keeps it: the cycle's alerts and each cycle's report batches are
    // signed into it, at the cost they have in service.
    let log = deconflict_service::log_entries::ServiceLog::open(
        &deconflict_service::datadir::DataDir::new(dir),
        &terms,
        &signed_by,
        clock.now_ms(),
    )
    .map_err(setup)?;
    state.attach_log(Arc::new(log));
    let service = crate::loopback::Loopback::start(state.clone(), true)
        .await
        .map_err(setup)?;
    let mut clients = Vec::new();
    for (p, key) in scenario.parties.iter().zip(scenario.keys()) {
        let sk = datadir::signing_key(&key).ok_or_else(|| setup("key"))?;
        clients.push(PartyClient::new(&service.base, &p.id, sk, clock.clone()));
    }
    Ok((state, service, clients))
}

/// Throughput: N/2 tracks per party on a grid, parties 6000 m apart vertically, pushed in
/// batches by every pusher for `seconds`; returns the reports accepted per second.
async fn throughput(
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    n: usize,
    seconds: u64,
) -> f64 {
    let per_party = n / 2;
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (pi, c) in clients.iter().enumerate() {
        for k in 0..PUSHERS_PER_PARTY {
            let c = c.clone();
            let accepted = accepted.clone();
            let clock = clock.clone();
            tasks.push(tokio::spawn(async move {
                let mut next = k * BATCH_REPORTS;
                while Instant::now() < deadline {
                    let now = clock.now_ms();
                    let reports = (0..BATCH_REPORTS.min(per_party))
                        .map(|j| background(&BENCH_GRID, (next + j) % per_party, now, pi))
                        .collect();
                    next = (next + PUSHERS_PER_PARTY * BATCH_REPORTS) % per_party.max(1);
                    let r: Result<TracksAccepted, _> = c
                        .call("POST", "/v1/tracks/batch", Some(&TrackBatchIn { reports }))
                        .await;
                    if let Ok(a) = r {
                        accepted.fetch_add(a.accepted as u64, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    accepted.load(Ordering::Relaxed) as f64 / elapsed
}

/// Reports per frame on the track stream, at most (fewer when a stream's share of the
/// aircraft is smaller: a frame reports each aircraft once).
pub const FRAME_REPORTS: usize = 5_000;
/// Track streams per party.
pub const STREAMS_PER_PARTY: usize = 2;
/// Frames each track stream keeps sent and not yet answered.
pub const FRAMES_IN_FLIGHT: usize = 4;
/// Reports per second into one service that the track stream must take (issue target: 100k
/// tracks at 1 Hz with three times headroom).
pub const STREAM_REPORTS_PER_S_TARGET: f64 = 300_000.0;

/// Throughput on the track stream (`GET /v1/tracks/stream`): as [`throughput`], each party
/// over [`STREAMS_PER_PARTY`] streams of frames of [`FRAME_REPORTS`] reports, each stream
/// keeping [`FRAMES_IN_FLIGHT`] frames unanswered; returns the reports answered `accepted`
/// per second. A frame refused or a stream broken fails the run: the stream is measured
/// taking everything.
async fn stream_throughput(
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    n: usize,
    seconds: u64,
) -> Result<f64, BenchError> {
    // Each stream reports its own share of its party's aircraft, each at most once a frame:
    // every report is one the picture takes (newer than the track's last).
    let per_stream = (n / 2 / STREAMS_PER_PARTY).max(1);
    let frame_reports = FRAME_REPORTS.min(per_stream);
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (pi, c) in clients.iter().enumerate() {
        for k in 0..STREAMS_PER_PARTY {
            let mut stream = deconflict_client::track_stream::TrackStream::open(c).await?;
            let accepted = accepted.clone();
            let clock = clock.clone();
            tasks.push(tokio::spawn(async move {
                // The stream's aircraft, held as a party's system holds its tracks: each frame
                // sends the next of them, their times moved to now.
                let mut held: Vec<TrackReportIn> = (0..per_stream)
                    .map(|j| background(&BENCH_GRID, k * per_stream + j, 0, pi))
                    .collect();
                let mut next = 0;
                let mut in_flight = 0;
                loop {
                    while in_flight < FRAMES_IN_FLIGHT && Instant::now() < deadline {
                        let now = clock.now_ms();
                        let end = (next + frame_reports).min(per_stream);
                        let reports = &mut held[next..end];
                        for r in reports.iter_mut() {
                            r.time_unix_ms = now;
                        }
                        stream.send(reports).await?;
                        next = end % per_stream;
                        in_flight += 1;
                    }
                    if in_flight == 0 {
                        break;
                    }
                    let a = stream.answer().await?;
                    in_flight -= 1;
                    match a.accepted {
                        Some(k) => {
                            accepted.fetch_add(k as u64, Ordering::Relaxed);
                        }
                        None => {
                            return Err(BenchError::Setup(format!(
                                "frame {} not accepted: {:?}",
                                a.frame,
                                a.refused.or(a.error)
                            )));
                        }
                    }
                }
                let _ = stream.close().await;
                Ok::<_, BenchError>(())
            }));
        }
    }
    for t in tasks {
        t.await.map_err(setup)??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(accepted.load(Ordering::Relaxed) as f64 / elapsed)
}

/// Latency: both streams open from their current end; pairs of head-on aircraft pushed at
/// spread-out phases of the cycle, each timed until both parties' streams carried its alert.
/// Returns the samples (ms) and how many never arrived.
async fn latency(
    state: &Arc<State>,
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
) -> Result<(Vec<f64>, usize), BenchError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut readers = Vec::new();
    for (pi, c) in clients.iter().enumerate() {
        let last = state
            .with_store({
                let p = c.party().to_string();
                move |s| s.last_seq(&p)
            })
            .await
            .map_err(|e| setup(e.body.message))?
            .map_err(setup)?;
        let mut stream = c.stream(Some(last)).await?;
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(Some(m)) = stream.next().await {
                if m.event != "alert" {
                    continue;
                }
                if let Ok(a) = serde_json::from_str::<AlertView>(&m.data)
                    && a.kind == "new"
                {
                    let id = a.own.map(|t| t.track_id).unwrap_or_default();
                    let _ = tx.send((pi, id, Instant::now()));
                }
            }
        }));
    }
    let mut samples = Vec::new();
    let mut lost = 0;
    for s in 0..LATENCY_SAMPLES {
        // Each sample starts right after the previous alert, i.e. right after a cycle.
        pause_to_phase(s).await;
        // Head-on at 6000 m, 20 km apart, south of the background grid.
        let want = [format!("lat-c-{s}"), format!("lat-r-{s}")];
        let lat = 20.0 + s as f64 * 0.5;
        let timing = head_on_pair(clients, clock.now_ms(), want, lat, (40.0, 40.22), &mut rx);
        match timing.await?.alerted_ms {
            Some(ms) => samples.push(ms),
            None => lost += 1,
        }
    }
    for r in readers {
        r.abort();
    }
    Ok((samples, lost))
}

/// One track count's line, and its track stream rate for the verdict.
struct Measured {
    line: String,
    streamed: f64,
}

async fn one(n: usize, seconds: u64) -> Result<Measured, BenchError> {
    let scenario = Scenario::generate(&deconflict_sim::Config::default()).map_err(setup)?;
    let dir = tempfile::tempdir().map_err(setup)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (state, service, clients) = start(&scenario, dir.path(), &clock).await?;
    let rate = throughput(&clients, &clock, n, seconds).await;
    let streamed = stream_throughput(&clients, &clock, n, seconds).await?;
    let (mut samples, lost) = latency(&state, &clients, &clock).await?;
    let cycle_max_ms = state.metrics.cycle_us_max.load(Ordering::Relaxed) as f64 / 1000.0;
    service.stop().await;
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if samples.is_empty() {
            return f64::NAN;
        }
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i.min(samples.len() - 1)]
    };
    let line = format!(
        "{n:>6}  {rate:>12.0}  {streamed:>13.0}  {:>11.2}  {:>17.1}  {:>17.0} ms  {:>5.0} ms  {lost:>4}  {cycle_max_ms:>6.1} ms",
        streamed / rate,
        streamed / n as f64,
        pct(0.5),
        pct(0.99),
    );
    Ok(Measured { line, streamed })
}
