//! `deconflict bench load`: the whole live path under a steady load, as party systems and duty
//! officers would load it.
//!
//! A service on loopback (system clock, durable store and the record in a temporary directory,
//! as `serve` keeps them, its own cycle every second) takes N tracks refreshed R times a second by P pushers (split between the two
//! parties, each pushing its share of the tracks as signed batches at its pace), while S event
//! stream clients (half per party) read every event. Every two seconds or so, at phases of the
//! cycle spread by golden-ratio steps, a pair of new aircraft on a collision course is pushed,
//! and the time until its `new` alert reached both parties' first streams is one latency sample
//! (the time until its pushes were answered is printed beside it): new aircraft are graded on
//! arrival, between cycles. Every three seconds, apart from those, a pair of aircraft already in
//! the picture turns into a collision course ([`held_pair`]): the cycle's path, timed the same way
//! and printed, its latency not judged (DO-365's filters may hold the first sample back). Each
//! second the process's resident memory is sampled.
//!
//! Printed: reports accepted per second against N × R, reports refused for capacity (429, 503,
//! 413) and failed otherwise, alert latency p50/p99/max of both kinds of pairs, stream lag (an
//! alert's creation to its arrival, p99 over every stream), events dropped (a gap in a stream's
//! sequence numbers, or a stream short of what the store held when the load stopped), RSS over
//! time. The last line judges the targets — 0 refused for capacity, 0 dropped, no pair of either
//! kind left without its alert, alert p99 of the new pairs ≤ 1,100 ms, RSS growth over
//! the last 30 s ≤ 5 % (over the second half of a run shorter than a minute; the peak of the
//! window's second half against the peak of its first) — and the command exits 1 when one is
//! missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deconflict_sim::Scenario;
use tokio::sync::{Mutex, mpsc};

use deconflict_client::clock::{Clock, SystemClock};
use deconflict_client::wire::*;
use deconflict_client::{ClientError, PartyClient};

use crate::bench::{
    BenchError, Grid, PairTiming, background, head_on_pair, pause_to_phase, setup, start,
};

/// Where the background aircraft fly: 300 a row, 0.05° apart (100k tracks fit in 25°–33° N).
const LOAD_GRID: Grid = Grid {
    lat0: 25.0,
    lon0: 30.0,
    columns: 300,
    step_deg: 0.05,
};

/// Alert latency the live path must keep at p99, ms (a 1 s cycle plus 100 ms).
pub const ALERT_P99_MS_TARGET: f64 = 1_100.0;
/// Resident memory growth allowed over the last 30 s, in percent.
pub const RSS_GROWTH_PCT_TARGET: f64 = 5.0;
/// The window of the run's end over which memory growth is judged, s.
pub const RSS_WINDOW_S: u64 = 30;
/// Reports in one pushed batch at most (the batch endpoint's limit is 10,000).
pub const BATCH_MAX: usize = 5_000;
/// Seconds between two timed collision pairs.
const PAIR_EVERY_S: u64 = 2;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub tracks: usize,
    pub hz: f64,
    pub pushers: usize,
    pub seconds: u64,
    pub streams: usize,
    /// How the pushers feed the service.
    pub via: FeedPath,
}

/// The feed path the pushers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPath {
    /// Signed `POST /v1/tracks/batch` requests, each answered before the next.
    Batch,
    /// One track stream (`GET /v1/tracks/stream`) per pusher, a frame per batch, every frame
    /// of a refresh sent before its answers are read.
    Stream,
}

impl std::fmt::Display for FeedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FeedPath::Batch => "batch",
            FeedPath::Stream => "stream",
        })
    }
}

/// What the run measured; `Display` is the printed report, its last line the verdict.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub options: Option<LoadOptions>,
    pub accepted_per_s: f64,
    pub refused_capacity: u64,
    pub failed: u64,
    pub latency_ms: Vec<f64>,
    /// Of each timed pair, how long its pushes took to be answered (durable), ms: the part of
    /// the latency spent before the reports could join the picture.
    pub answered_ms: Vec<f64>,
    pub lost_pairs: usize,
    /// Pairs of aircraft already in the picture that turn into a conflict, timed from the
    /// turning reports to the `new` alert on both streams, ms: the cycle's path (not judged;
    /// see [`held_pair`]).
    pub held_latency_ms: Vec<f64>,
    pub held_lost: usize,
    pub lag_ms: Vec<f64>,
    /// Events missing from the streams: gaps in their sequence numbers, and what a stream
    /// still lacked at the end of what the store held when the load stopped.
    pub dropped: u64,
    /// Of `dropped`, those a stream still lacked at the end (after [`CATCH_UP_S_MAX`]).
    pub short_at_end: u64,
    /// Streams that ended before the run did (the service or the connection closed them).
    pub streams_ended: usize,
    /// (second, RSS in MiB).
    pub rss_mib: Vec<(u64, f64)>,
    /// The service's cycle, stage by stage, over the run.
    pub stages: Vec<deconflict_service::metrics::StageFigures>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl LoadOutcome {
    /// RSS growth over the last 30 s of the run (over its second half when it is shorter than
    /// a minute, so that the start-up is not judged), in percent: the peak of the window's
    /// second half against the peak of its first. The allocator gives memory back and takes it
    /// again from one second to the next (±10 % at 100k tracks); a leak raises the later peak.
    pub fn rss_growth_pct(&self) -> f64 {
        let Some(&(end_s, _)) = self.rss_mib.last() else {
            return f64::NAN;
        };
        let window = RSS_WINDOW_S.min(end_s / 2).max(1).min(end_s);
        let peak = |from: u64, to: u64| {
            self.rss_mib
                .iter()
                .filter(|(s, _)| (from..to).contains(s))
                .map(|(_, m)| *m)
                .fold(f64::NAN, f64::max)
        };
        let start = end_s - window;
        let middle = start + window.div_ceil(2);
        let (before, after) = (peak(start, middle), peak(middle, end_s + 1));
        100.0 * (after - before) / before.max(1.0)
    }

    /// Whether every target of the live path is met.
    pub fn met(&self) -> bool {
        self.refused_capacity == 0
            && self.dropped == 0
            && self.lost_pairs == 0
            && self.held_lost == 0
            && pct(&self.latency_ms, 0.99) <= ALERT_P99_MS_TARGET
            && self.rss_growth_pct() <= RSS_GROWTH_PCT_TARGET
    }
}

impl std::fmt::Display for LoadOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(o) = &self.options else {
            return Ok(());
        };
        let offered = o.tracks as f64 * o.hz;
        writeln!(f, "RSS over time (s: MiB):")?;
        let cells: Vec<String> = self
            .rss_mib
            .iter()
            .filter(|(s, _)| s % 5 == 0)
            .map(|(s, m)| format!("{s}: {m:.0}"))
            .collect();
        writeln!(f, "  {}", cells.join(", "))?;
        writeln!(
            f,
            "reports accepted {:.0}/s of {offered:.0}/s offered ({:.2}); refused for capacity {}, failed otherwise {}",
            self.accepted_per_s,
            self.accepted_per_s / offered.max(1.0),
            self.refused_capacity,
            self.failed
        )?;
        writeln!(
            f,
            "alert latency push -> both streams: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} pairs, {} never alerted); of which the pushes answered (durable): p50 {:.0} ms, p99 {:.0} ms",
            pct(&self.latency_ms, 0.5),
            pct(&self.latency_ms, 0.99),
            self.latency_ms.last().copied().unwrap_or(f64::NAN),
            self.latency_ms.len(),
            self.lost_pairs,
            pct(&self.answered_ms, 0.5),
            pct(&self.answered_ms, 0.99),
        )?;
        writeln!(
            f,
            "alert latency of aircraft already in the picture turning into conflict (graded by the cycle, not judged): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} pairs, {} never alerted or refused)",
            pct(&self.held_latency_ms, 0.5),
            pct(&self.held_latency_ms, 0.99),
            self.held_latency_ms.last().copied().unwrap_or(f64::NAN),
            self.held_latency_ms.len(),
            self.held_lost,
        )?;
        writeln!(
            f,
            "stream lag (alert created -> received, {} streams): p50 {:.0} ms, p99 {:.0} ms; events dropped {} ({} in gaps, {} short at the end); streams ended early {}",
            o.streams,
            pct(&self.lag_ms, 0.5),
            pct(&self.lag_ms, 0.99),
            self.dropped,
            self.dropped - self.short_at_end,
            self.short_at_end,
            self.streams_ended
        )?;
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                format!(
                    "{} {:.0}/{:.0}",
                    s.stage.as_str(),
                    s.mean_us / 1e3,
                    s.max_us as f64 / 1e3
                )
            })
            .collect();
        writeln!(
            f,
            "cycle stages, mean/max ms over {} cycles: {}",
            self.stages.first().map_or(0, |s| s.count),
            stages.join(", ")
        )?;
        writeln!(
            f,
            "bench load, {} tracks at {} Hz, {} pushers via {}, {} streams, {} s: refused {} (target 0) · dropped {} (target 0) · alerts never come {} (target 0) · alert p99 {:.0} ms (target <= {ALERT_P99_MS_TARGET:.0}) · RSS growth {:.1} % over the last 30 s (target <= {RSS_GROWTH_PCT_TARGET:.0}) — {}",
            o.tracks,
            o.hz,
            o.pushers,
            o.via,
            o.streams,
            o.seconds,
            self.refused_capacity,
            self.dropped,
            self.lost_pairs + self.held_lost,
            pct(&self.latency_ms, 0.99),
            self.rss_growth_pct(),
            if self.met() {
                "targets met"
            } else {
                "targets missed"
            }
        )
    }
}

/// Resident memory of this process, MiB (Linux; `None` elsewhere).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Runs the load and returns what it measured.
pub fn run(o: &LoadOptions) -> Result<LoadOutcome, BenchError> {
    if o.tracks < 2
        || o.pushers < 2
        || o.streams < 2
        || o.seconds == 0
        || !o.hz.is_finite()
        || o.hz <= 0.0
    {
        return Err(setup(
            "--tracks, --pushers and --streams must be at least 2, --seconds and --hz above 0",
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup)?;
    rt.block_on(run_async(o))
}

/// One stream client's tally.
#[derive(Default)]
struct StreamTally {
    last_seq: u64,
    dropped: u64,
    lag_ms: Vec<f64>,
    /// The stream ended (it is read until the run stops it).
    ended: bool,
}

/// How long the streams may take, once the load stops, to reach what the store held then.
const CATCH_UP_S_MAX: u64 = 10;

async fn run_async(o: &LoadOptions) -> Result<LoadOutcome, BenchError> {
    let scenario = Scenario::generate(&deconflict_sim::Config::default()).map_err(setup)?;
    let dir = tempfile::tempdir().map_err(setup)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (state, service, clients) = start(&scenario, dir.path(), &clock).await?;
    let stop_at = Instant::now() + Duration::from_secs(o.seconds);

    let (mut alerts_rx, held_rx, streams, tallies) =
        open_streams(&clients, &clock, o.streams).await?;
    let counts = Counts::default();
    let started = Instant::now();
    let pushers = spawn_pushers(o, &clients, &clock, &counts, stop_at);
    let held = tokio::spawn(held_pairs(clients.clone(), clock.clone(), held_rx, stop_at));
    // Memory, once a second, on a task of its own: a timed pair does not delay a sample.
    let memory = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while Instant::now() < stop_at {
            tick.tick().await;
            if let Some(m) = rss_mib() {
                samples.push((started.elapsed().as_secs(), m));
            }
        }
        samples
    });

    // Timed collision pairs until the end.
    let mut outcome = LoadOutcome {
        options: Some(o.clone()),
        ..LoadOutcome::default()
    };
    let mut s = 0u64;
    let mut pair = 0usize;
    while Instant::now() < stop_at {
        if s.is_multiple_of(PAIR_EVERY_S) && s > 0 {
            pause_to_phase(pair).await;
            let timing = timed_pair(&clients, &clock, pair, &mut alerts_rx).await?;
            outcome.answered_ms.push(timing.answered_ms);
            match timing.alerted_ms {
                Some(ms) => outcome.latency_ms.push(ms),
                None => outcome.lost_pairs += 1,
            }
            pair += 1;
        } else {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        s = started.elapsed().as_secs();
    }
    for p in pushers {
        let _ = p.await;
    }
    outcome.rss_mib = memory.await.unwrap_or_default();
    if let Ok((latency, lost)) = held.await {
        outcome.held_latency_ms = latency;
        outcome.held_lost = lost;
    }
    let elapsed = started.elapsed().as_secs_f64();
    outcome.accepted_per_s = counts.accepted.load(Ordering::Relaxed) as f64 / elapsed;
    outcome.refused_capacity = counts.refused.load(Ordering::Relaxed);
    outcome.failed = counts.failed.load(Ordering::Relaxed);

    // What the store holds once the load stops is what every stream must reach; they have
    // CATCH_UP_S_MAX to (events committed after this, e.g. conflicts ending as the tracks go
    // stale, are not counted).
    let mut held = Vec::new();
    for (pi, _) in &tallies {
        let party = clients[*pi].party().to_string();
        let last = state
            .with_store(move |s| s.last_seq(&party))
            .await
            .map_err(|e| setup(e.body.message))?
            .map_err(setup)?;
        held.push(last);
    }
    let caught_up_by = Instant::now() + Duration::from_secs(CATCH_UP_S_MAX);
    loop {
        let mut behind = false;
        for ((_, tally), &h) in tallies.iter().zip(&held) {
            let t = tally.lock().await;
            behind |= !t.ended && t.last_seq < h;
        }
        if !behind || Instant::now() >= caught_up_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for ((_, tally), &h) in tallies.iter().zip(&held) {
        let mut t = tally.lock().await;
        let short = h.saturating_sub(t.last_seq);
        outcome.short_at_end += short;
        outcome.dropped += t.dropped + short;
        outcome.streams_ended += usize::from(t.ended);
        outcome.lag_ms.append(&mut t.lag_ms);
    }
    outcome.stages = state.metrics.stages();
    service.stop().await;
    for s in streams {
        s.abort();
    }
    outcome.latency_ms.sort_by(f64::total_cmp);
    outcome.held_latency_ms.sort_by(f64::total_cmp);
    outcome.answered_ms.sort_by(f64::total_cmp);
    outcome.lag_ms.sort_by(f64::total_cmp);
    Ok(outcome)
}

/// Alerts the first stream of each party saw: (party index, own track, when).
type AlertsSeen = mpsc::UnboundedReceiver<(usize, String, Instant)>;

/// Each stream's party index and tally.
type Tallies = Vec<(usize, Arc<Mutex<StreamTally>>)>;

/// Opens `n` event streams, half per party, from the start; the first of each party also
/// reports its `new` alerts: those of held pairs ([`HELD_PREFIX`]) on the second channel, the
/// others on the first.
async fn open_streams(
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    n: usize,
) -> Result<
    (
        AlertsSeen,
        AlertsSeen,
        Vec<tokio::task::JoinHandle<()>>,
        Tallies,
    ),
    BenchError,
> {
    let (alerts_tx, alerts_rx) = mpsc::unbounded_channel::<(usize, String, Instant)>();
    let (held_tx, held_rx) = mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut streams = Vec::new();
    let mut tallies = Vec::new();
    for k in 0..n {
        let pi = k % 2;
        let mut stream = clients[pi].stream(Some(0)).await?;
        let tally = Arc::new(Mutex::new(StreamTally::default()));
        tallies.push((pi, tally.clone()));
        let tx = (k < 2).then(|| (alerts_tx.clone(), held_tx.clone()));
        let clock = clock.clone();
        streams.push(tokio::spawn(async move {
            while let Ok(Some(m)) = stream.next().await {
                let seq: u64 = m.id.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
                let mut t = tally.lock().await;
                if seq > t.last_seq + 1 {
                    t.dropped += seq - t.last_seq - 1;
                }
                t.last_seq = t.last_seq.max(seq);
                if m.event != "alert" {
                    continue;
                }
                let Ok(a) = serde_json::from_str::<AlertView>(&m.data) else {
                    continue;
                };
                t.lag_ms
                    .push((clock.now_ms() - a.created_unix_ms).max(0) as f64);
                if let Some((tx, held)) = &tx
                    && a.kind == "new"
                {
                    let id = a.own.map(|x| x.track_id).unwrap_or_default();
                    let to = if id.starts_with(HELD_PREFIX) {
                        held
                    } else {
                        tx
                    };
                    let _ = to.send((pi, id, Instant::now()));
                }
            }
            tally.lock().await.ended = true;
        }));
    }
    drop(alerts_tx);
    drop(held_tx);

    Ok((alerts_rx, held_rx, streams, tallies))
}

/// Reports accepted, refused for capacity, failed otherwise.
#[derive(Clone, Default)]
struct Counts {
    accepted: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

/// Starts the pushers: each owns a slice of its party's tracks and refreshes it at the rate
/// asked until `stop_at`.
fn spawn_pushers(
    o: &LoadOptions,
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    counts: &Counts,
    stop_at: Instant,
) -> Vec<tokio::task::JoinHandle<()>> {
    let per_party = o.tracks / 2;
    let per_pusher = per_party.div_ceil(o.pushers / 2).max(1);
    let period = Duration::from_secs_f64(1.0 / o.hz);
    let mut pushers = Vec::new();
    for k in 0..o.pushers {
        let pi = k % 2;
        let first = (k / 2) * per_pusher;
        let last = (first + per_pusher).min(per_party);
        if first >= last {
            continue;
        }
        let c = clients[pi].clone();
        let clock = clock.clone();
        if o.via == FeedPath::Stream {
            pushers.push(tokio::spawn(stream_pusher(
                c,
                clock,
                counts.clone(),
                pi,
                first,
                last,
                period,
                stop_at,
            )));
            continue;
        }
        let Counts {
            accepted,
            refused,
            failed,
        } = counts.clone();
        pushers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < stop_at {
                tick.tick().await;
                let now = clock.now_ms();
                let mut i = first;
                while i < last {
                    let end = (i + BATCH_MAX).min(last);
                    let reports = (i..end)
                        .map(|j| background(&LOAD_GRID, j, now, pi))
                        .collect();
                    let r: Result<TracksAccepted, _> = c
                        .call("POST", "/v1/tracks/batch", Some(&TrackBatchIn { reports }))
                        .await;
                    match r {
                        Ok(a) => {
                            accepted.fetch_add(a.accepted as u64, Ordering::Relaxed);
                        }
                        Err(ClientError::Status {
                            status: 413 | 429 | 503,
                            ..
                        }) => {
                            refused.fetch_add((end - i) as u64, Ordering::Relaxed);
                        }
                        Err(_) => {
                            failed.fetch_add((end - i) as u64, Ordering::Relaxed);
                        }
                    }
                    i = end;
                }
            }
        }));
    }

    pushers
}

/// A pusher on the track stream: tracks `first..last` of party `pi` refreshed every `period`
/// until `stop_at`, each refresh's frames all sent and then their answers read. A frame refused
/// counts its reports refused; a stream that ends counts every report it still owed failed.
#[allow(clippy::too_many_arguments)]
async fn stream_pusher(
    c: PartyClient,
    clock: Arc<dyn Clock>,
    counts: Counts,
    pi: usize,
    first: usize,
    last: usize,
    period: Duration,
    stop_at: Instant,
) {
    use deconflict_client::track_stream::TrackStream;
    let owed = |n: usize| {
        counts.failed.fetch_add(n as u64, Ordering::Relaxed);
    };
    let Ok(mut stream) = TrackStream::open(&c).await else {
        owed(last - first);
        return;
    };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < stop_at {
        tick.tick().await;
        let now = clock.now_ms();
        let mut sizes = std::collections::VecDeque::new();
        let mut i = first;
        while i < last || !sizes.is_empty() {
            // Send while the service reads ahead; then take the oldest answer.
            if i < last && sizes.len() < deconflict_client::wire::frame::STREAM_FRAMES_AHEAD_MAX {
                let end = (i + BATCH_MAX).min(last);
                let reports: Vec<TrackReportIn> = (i..end)
                    .map(|j| background(&LOAD_GRID, j, now, pi))
                    .collect();
                if stream.send(&reports).await.is_err() {
                    owed(last - i + sizes.iter().sum::<usize>());
                    return;
                }
                sizes.push_back(end - i);
                i = end;
                continue;
            }
            let n = sizes.pop_front().unwrap_or(0);
            match stream.answer().await {
                Ok(a) => match a.accepted {
                    Some(k) => {
                        counts.accepted.fetch_add(k as u64, Ordering::Relaxed);
                    }
                    None => {
                        counts.refused.fetch_add(n as u64, Ordering::Relaxed);
                    }
                },
                Err(_) => {
                    owed(n + last - i + sizes.iter().sum::<usize>());
                    return;
                }
            }
        }
    }
    let _ = stream.close().await;
}

/// Pushes collision pair `k` (head-on at 6,000 m, 20 km apart, south of the background) and
/// returns the time until its `new` alert reached both parties' first streams, ms.
async fn timed_pair(
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    k: usize,
    alerts: &mut mpsc::UnboundedReceiver<(usize, String, Instant)>,
) -> Result<PairTiming, BenchError> {
    let lat = 10.0 + (k % 20) as f64 * 0.5;
    let lon = 40.0 + (k / 20) as f64 * 0.5;
    let want = [format!("load-c-{k}"), format!("load-r-{k}")];
    head_on_pair(clients, clock.now_ms(), want, lat, (lon, lon + 0.2), alerts).await
}

/// Track ids of the held pairs start so.
const HELD_PREFIX: &str = "load-h";
/// Seconds between two held pairs.
const HELD_EVERY_S: u64 = 3;
/// How long a held pair flies apart before it turns, ms: over a cycle, so that a tick has
/// graded it (and its alerting history holds it clear) before the turn.
const HELD_APART_MS: u64 = 1_500;

/// Held pairs until `stop_at`, one every [`HELD_EVERY_S`]: (latencies, pairs never alerted or
/// refused).
async fn held_pairs(
    clients: Vec<PartyClient>,
    clock: Arc<dyn Clock>,
    mut alerts: AlertsSeen,
    stop_at: Instant,
) -> (Vec<f64>, usize) {
    let (mut latency, mut lost) = (Vec::new(), 0);
    let mut k = 0;
    tokio::time::sleep(Duration::from_secs(HELD_EVERY_S)).await;
    while Instant::now() + Duration::from_secs(HELD_EVERY_S) < stop_at {
        let next = Instant::now() + Duration::from_secs(HELD_EVERY_S);
        match held_pair(&clients, &clock, k, &mut alerts).await {
            Ok(Some(ms)) => latency.push(ms),
            // Never alerted, or a push refused: either way no latency to count.
            Ok(None) | Err(_) => lost += 1,
        }
        k += 1;
        tokio::time::sleep_until(next.into()).await;
    }
    (latency, lost)
}

/// Pair `k` of aircraft already in the picture: pushed flying apart at 6,000 m, 20 km from each
/// other, north of the background; after [`HELD_APART_MS`], at a phase of the cycle, both turn
/// head-on (the turning reports pushed together), and the time from those pushes until the
/// `new` alert reached both parties' first streams is returned. This is the cycle's path: the
/// pair is held, so no pass on arrival grades it, and its alerting history from the ticks before
/// applies DO-365's filters (DO_365B_no_SUM: a level held by 2 of the last 4 samples), so the
/// first tick after the turn may hold the alert back for the next.
async fn held_pair(
    clients: &[PartyClient],
    clock: &Arc<dyn Clock>,
    k: usize,
    alerts: &mut AlertsSeen,
) -> Result<Option<f64>, BenchError> {
    let lat = 40.0 + (k % 20) as f64 * 0.5;
    let lon = 40.0 + (k / 20) as f64 * 0.5;
    let want = [format!("{HELD_PREFIX}c-{k}"), format!("{HELD_PREFIX}r-{k}")];
    let push = |trk: [f64; 2]| {
        let now = clock.now_ms();
        let a = crate::bench::report(want[0].clone(), now, lat, lon, 6000.0, trk[0]);
        let b = crate::bench::report(want[1].clone(), now, lat, lon + 0.2, 6000.0, trk[1]);
        async move {
            let (ra, rb) = tokio::join!(
                clients[0].call::<_, TracksAccepted>("POST", "/v1/tracks", Some(&a)),
                clients[1].call::<_, TracksAccepted>("POST", "/v1/tracks", Some(&b)),
            );
            ra?;
            rb?;
            Ok::<_, BenchError>(())
        }
    };
    push([270.0, 90.0]).await?;
    tokio::time::sleep(Duration::from_millis(HELD_APART_MS)).await;
    pause_to_phase(k).await;
    let t0 = Instant::now();
    push([90.0, 270.0]).await?;
    Ok(crate::bench::both_alerted(alerts, &want, t0).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(rss: &[(u64, f64)], latency_ms: &[f64]) -> LoadOutcome {
        LoadOutcome {
            rss_mib: rss.to_vec(),
            latency_ms: latency_ms.to_vec(),
            ..LoadOutcome::default()
        }
    }

    #[test]
    fn memory_is_judged_over_the_end_of_the_run_only() {
        // 60 s: start-up from 50 to 400 MiB, then flat; the last 30 s grew 2 %.
        let mut rss: Vec<(u64, f64)> = (0..=60).map(|s| (s, 400.0)).collect();
        rss[0].1 = 50.0;
        rss[60].1 = 408.0;
        let o = outcome(&rss, &[900.0]);
        assert!((o.rss_growth_pct() - 2.0).abs() < 1e-9);
        assert!(o.met());
        // A 10 s run is judged over its second half: peaks 170 (5–7 s) and 200 (8–10 s).
        let rss: Vec<(u64, f64)> = (0..=10).map(|s| (s, 100.0 + 10.0 * s as f64)).collect();
        let o = outcome(&rss, &[900.0]);
        assert!((o.rss_growth_pct() - 100.0 * 30.0 / 170.0).abs() < 1e-9);
        assert!(!o.met());
        // Memory given back and taken again, second by second, is not growth.
        let rss: Vec<(u64, f64)> = (0..=60)
            .map(|s| (s, if s % 3 == 0 { 420.0 } else { 515.0 }))
            .collect();
        let o = outcome(&rss, &[900.0]);
        assert_eq!(o.rss_growth_pct(), 0.0);
        assert!(o.met());
        // A steady leak is: 1 MiB a second over 400 MiB.
        let rss: Vec<(u64, f64)> = (0..=60).map(|s| (s, 400.0 + s as f64)).collect();
        assert!(outcome(&rss, &[900.0]).rss_growth_pct() > 3.0);
    }

    #[test]
    fn any_refusal_drop_lost_pair_or_slow_alert_misses_the_targets() {
        let rss = [(0, 100.0), (1, 100.0)];
        let ok = || outcome(&rss, &[500.0, 1000.0]);
        assert!(ok().met());
        let mut o = ok();
        o.refused_capacity = 1;
        assert!(!o.met());
        let mut o = ok();
        o.dropped = 1;
        assert!(!o.met());
        let mut o = ok();
        o.lost_pairs = 1;
        assert!(!o.met());
        // A held pair never alerted is a missed alert; its latency is not judged.
        let mut o = ok();
        o.held_latency_ms = vec![2500.0];
        assert!(o.met());
        o.held_lost = 1;
        assert!(!o.met());
        let o = outcome(&rss, &[500.0, 1101.0]);
        assert!(!o.met());
        // No pair timed at all is not a pass.
        assert!(!outcome(&rss, &[]).met());
    }
}
