//! `deconflict replay`: the same desk the service runs, driven on a virtual clock over recorded
//! reports, writing each party's stream as it would have received it.
//!
//! The data directory gives the agreement (and its signatures); it is read, never changed: the
//! replay runs over a store in memory. Reports are taken in `time_unix_ms` order (ties in file
//! order); the desk ticks every `cycle_ms` of virtual time from the first report to the last,
//! the reports up to each tick pushed before it. Nothing depends on the wall clock, so the same
//! input gives byte-identical output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::datadir::{self, DataDir};
use crate::state::{Config, State};
use deconflict_client::clock::ManualClock;
use deconflict_client::wire::{EventView, REPORTS_PER_BATCH_MAX, TrackReportIn};

/// Largest tracks file line, bytes.
pub const LINE_BYTES_MAX: usize = 64 * 1024;
/// Most reports one replay takes.
pub const REPORTS_MAX: usize = 50_000_000;
/// Most ticks one replay runs (a year at 1 Hz).
pub const TICKS_MAX: i64 = 366 * 86_400;
/// Events read from the store per page when the streams are written out.
const PAGE: usize = 10_000;

/// What a replay is given.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub data_dir: PathBuf,
    pub tracks: PathBuf,
    /// `NAME` (a DAIDALUS configuration) or a path ending in `.conf`.
    pub alerter: Option<String>,
    pub cycle_ms: u64,
    pub out: PathBuf,
    /// Show progress on stderr once the replay has run for a second.
    pub progress: bool,
    /// Receiver recordings (`--feed PARTY=FORMAT:FILE`), each into its party's tracks.
    pub feeds: Vec<crate::feed::FeedSpec>,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub reports: u64,
    /// Records decoded from the receiver recordings (complete aircraft states), and how many
    /// the desk took.
    pub receiver_records: u64,
    pub receiver_taken: u64,
    pub ticks: u64,
    /// Events written, per party, in the agreement's party order.
    pub events: Vec<(String, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Input {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Setup(String),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    party: String,
    report: TrackReportIn,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads `{"party": ID, "report": {…}}` lines; blank lines are skipped.
fn read_tracks(path: &Path) -> Result<Vec<(usize, String, TrackReportIn)>, ReplayError> {
    use std::io::BufRead as _;
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = std::io::BufReader::new(f);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        let n = std::io::Read::take(&mut r, LINE_BYTES_MAX as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io(path))?;
        if n == 0 {
            break;
        }
        let bad = |message: String| ReplayError::Input {
            path: path.to_path_buf(),
            line,
            message,
        };
        if buf.len() > LINE_BYTES_MAX {
            return Err(bad(format!("line longer than {LINE_BYTES_MAX} bytes")));
        }
        let text = std::str::from_utf8(&buf).map_err(|e| bad(format!("not UTF-8: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if out.len() >= REPORTS_MAX {
            return Err(bad(format!("more than {REPORTS_MAX} reports")));
        }
        out.push((line, l.party, l.report));
    }
    Ok(out)
}

fn alerter(spec: &str) -> Result<deconflict_desk::Alerter, ReplayError> {
    if spec.ends_with(".conf") {
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        deconflict_desk::Alerter::from_conf(spec, &text)
            .map_err(|e| ReplayError::Setup(format!("--alerter {spec}: {e}")))
    } else {
        deconflict_desk::Alerter::named(spec)
            .map_err(|e| ReplayError::Setup(format!("--alerter: {e}")))
    }
}

/// Decodes every `--feed` recording: (feed index, order, record), in time order (ties in feed
/// then recording order). A recording's relative or missing record times count from its first
/// position, placed at `anchor_ms` (the first pushed report's time).
fn recordings(
    opts: &ReplayOptions,
    terms: &crate::terms::Terms,
    anchor_ms: Option<i64>,
) -> Result<Vec<(usize, usize, deconflict_desk::ReceiverReport)>, ReplayError> {
    if opts.feeds.len() > crate::feed::FEEDS_MAX {
        return Err(ReplayError::Setup(format!(
            "at most {} --feed recordings",
            crate::feed::FEEDS_MAX
        )));
    }
    let parties: Vec<String> = terms.parties.iter().map(|p| p.id.clone()).collect();
    let mut out = Vec::new();
    for (i, spec) in opts.feeds.iter().enumerate() {
        spec.check_party(&parties)
            .map_err(|e| ReplayError::Setup(e.to_string()))?;
        let path = PathBuf::from(&spec.target);
        let bytes = deconflict_feeds::io::read_recording(&path).map_err(io(&path))?;
        let mut ingest = crate::feed::Ingest::recording(
            &spec.party,
            &spec.name(),
            spec.format,
            anchor_ms.unwrap_or(0),
            std::sync::Arc::new(crate::metrics::FeedStats::default()),
        );
        let records = crate::feed::decode_recording(&mut ingest, &bytes);
        out.extend(records.into_iter().enumerate().map(|(k, r)| (i, k, r)));
    }
    out.sort_by_key(|(i, k, r)| (r.time_ms, *i, *k));
    Ok(out)
}

/// Runs the replay and writes `OUT/<party>.jsonl`.
pub fn run(opts: &ReplayOptions) -> Result<ReplaySummary, ReplayError> {
    if opts.cycle_ms == 0 {
        return Err(ReplayError::Setup("--cycle-ms must be at least 1".into()));
    }
    let dir = DataDir::new(&opts.data_dir);
    let loaded =
        datadir::load_agreement(&dir.agreement()).map_err(|e| ReplayError::Setup(e.to_string()))?;
    if !loaded.all_signed() {
        return Err(ReplayError::Setup(format!(
            "the agreement in {} is not signed by every party (signed by: {}); a replay needs it in force",
            opts.data_dir.display(),
            loaded.signed_by.join(", ")
        )));
    }
    let mut config = Config::default();
    if let Some(a) = &opts.alerter {
        config.alerter = Some(alerter(a)?);
    }
    config.cycle_interval_ms = opts.cycle_ms;
    let mut reports = read_tracks(&opts.tracks)?;
    for (line, party, _) in &reports {
        if loaded.terms.party(party).is_none() {
            return Err(ReplayError::Input {
                path: opts.tracks.clone(),
                line: *line,
                message: format!("{party:?} is not a party to the agreement"),
            });
        }
    }
    // Time order; ties keep the file's order.
    reports.sort_by_key(|(line, _, r)| (r.time_unix_ms, *line));
    let recordings = recordings(
        opts,
        &loaded.terms,
        reports.first().map(|r| r.2.time_unix_ms),
    )?;
    let times = reports
        .iter()
        .map(|r| r.2.time_unix_ms)
        .chain(recordings.iter().map(|r| r.2.time_ms));
    let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
        return Err(ReplayError::Input {
            path: opts.tracks.clone(),
            line: 0,
            message: "no reports".into(),
        });
    };
    let cycle = i64::try_from(opts.cycle_ms).unwrap_or(i64::MAX);
    let ticks = (last - first) / cycle + 1;
    if ticks > TICKS_MAX {
        return Err(ReplayError::Setup(format!(
            "the reports span {} s: more than {TICKS_MAX} ticks of {} ms",
            (last - first) / 1000,
            opts.cycle_ms
        )));
    }
    let feed_stats: Vec<crate::metrics::FeedStats> = opts
        .feeds
        .iter()
        .map(|_| crate::metrics::FeedStats::default())
        .collect();
    let clock = ManualClock::new(first);
    let store = deconflict_store::SqliteStore::open_in_memory()
        .map_err(|e| ReplayError::Setup(format!("store: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io(&opts.out))?;
    let terms = loaded.terms.clone();
    let parties: Vec<String> = terms.parties.iter().map(|p| p.id.clone()).collect();
    let tracks_path = opts.tracks.clone();
    let n_reports = reports.len() as u64;
    let n_records = recordings.len() as u64;
    let progress = opts.progress;
    let mut taken = 0;
    let events = rt.block_on(async {
        let state = State::open(
            config,
            terms,
            true,
            Box::new(store),
            Arc::new(clock.clone()),
        )
        .map_err(|e| ReplayError::Setup(e.to_string()))?;
        let started = std::time::Instant::now();
        let mut shown = false;
        let mut next = 0;
        let mut next_record = 0;
        for k in 0..ticks {
            let now = first + k * cycle;
            clock.set_ms(now);
            // The reports up to this tick, per party, in batches.
            let mut batch: Vec<(usize, String, TrackReportIn)> = Vec::new();
            while next < reports.len() && reports[next].2.time_unix_ms <= now {
                batch.push(reports[next].clone());
                next += 1;
            }
            push_batch(&state, &parties, &batch, &tracks_path).await?;
            // The receiver records up to this tick, per feed, after the pushes.
            let start = next_record;
            while next_record < recordings.len() && recordings[next_record].2.time_ms <= now {
                next_record += 1;
            }
            for (i, stats) in feed_stats.iter().enumerate() {
                let mine: Vec<deconflict_desk::ReceiverReport> = recordings[start..next_record]
                    .iter()
                    .filter(|r| r.0 == i)
                    .map(|r| r.2.clone())
                    .collect();
                if !mine.is_empty() {
                    let spec = &opts.feeds[i];
                    taken += crate::feed::take_into(&state, &spec.party, &spec.name(), stats, mine);
                }
            }
            state
                .run_cycle()
                .await
                .map_err(|e| ReplayError::Setup(format!("cycle at {now}: {}", e.body.message)))?;
            if progress && (shown || started.elapsed().as_secs_f64() > 1.0) {
                shown = true;
                if k % 100 == 0 || k + 1 == ticks {
                    show_progress(k, ticks);
                }
            }
        }
        if shown {
            eprintln!();
        }
        let mut out = Vec::new();
        for p in &parties {
            out.push((p.clone(), party_events(&state, p).await?));
        }
        Ok::<_, ReplayError>(out)
    })?;
    let mut summary = ReplaySummary {
        reports: n_reports,
        receiver_records: n_records,
        receiver_taken: taken,
        ticks: ticks as u64,
        events: Vec::new(),
    };
    summary.events = write_events(&opts.out, events)?;
    Ok(summary)
}

/// Pushes the reports due at a tick, per party, in batches; a refused report is an input error
/// naming its line in the tracks file.
async fn push_batch(
    state: &Arc<State>,
    parties: &[String],
    batch: &[(usize, String, TrackReportIn)],
    tracks_path: &Path,
) -> Result<(), ReplayError> {
    for p in parties {
        let mine: Vec<&(usize, String, TrackReportIn)> =
            batch.iter().filter(|(_, q, _)| q == p).collect();
        for chunk in mine.chunks(REPORTS_PER_BATCH_MAX) {
            let list: Vec<TrackReportIn> = chunk.iter().map(|x| x.2.clone()).collect();
            if let Err(e) = state
                .push_reports(p, list, crate::state::Pushed::Batch)
                .await
            {
                // Name the line of the report refused.
                let line = e
                    .body
                    .field
                    .as_deref()
                    .and_then(|f| f.strip_prefix("reports["))
                    .and_then(|f| f.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| chunk.get(i))
                    .map_or(0, |x| x.0);
                return Err(ReplayError::Input {
                    path: tracks_path.to_path_buf(),
                    line,
                    message: format!(
                        "{}{}",
                        e.body.message,
                        e.body
                            .field
                            .as_deref()
                            .map(|f| format!(" ({f})"))
                            .unwrap_or_default()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A progress bar on standard error after tick `k` of `ticks`.
fn show_progress(k: i64, ticks: i64) {
    let pct = (k + 1) as f64 * 100.0 / ticks as f64;
    let width = 40usize;
    let filled = ((pct / 100.0) * width as f64) as usize;
    eprint!(
        "\rreplay [{}{}] {:>5.1}% {}/{} ticks",
        "#".repeat(filled),
        " ".repeat(width - filled),
        pct,
        k + 1,
        ticks
    );
}

/// Every event on `party`'s stream, read page by page.
async fn party_events(state: &Arc<State>, party: &str) -> Result<Vec<EventView>, ReplayError> {
    let mut views = Vec::new();
    let mut after = 0;
    loop {
        let page = state
            .events_after(party, after, PAGE)
            .await
            .map_err(|e| ReplayError::Setup(e.body.message))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            let data = serde_json::from_str(&e.body).map_err(|err| {
                ReplayError::Setup(format!("stored event {}: body is not JSON: {err}", e.seq))
            })?;
            views.push(EventView {
                seq: e.seq,
                kind: e.kind,
                created_unix_ms: e.created_ms,
                data,
            });
        }
    }
    Ok(views)
}

/// Writes each party's events to `OUT/<party>.jsonl`; returns how many per party.
fn write_events(
    out: &Path,
    events: Vec<(String, Vec<EventView>)>,
) -> Result<Vec<(String, u64)>, ReplayError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut counts = Vec::new();
    for (party, views) in events {
        let path = out.join(format!("{party}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io(&path))?);
        for v in &views {
            let line = serde_json::to_string(v).map_err(|e| ReplayError::Setup(e.to_string()))?;
            writeln!(f, "{line}").map_err(io(&path))?;
        }
        f.flush().map_err(io(&path))?;
        counts.push((party, views.len() as u64));
    }
    Ok(counts)
}
