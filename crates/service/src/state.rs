//! The service's state and its operations, independent of HTTP: the handlers in [`crate::api`]
//! are thin wrappers, and tests may call these directly.
//!
//! Order of every write: validate → commit to the store (durable) → update memory → notify
//! streams → answer. A failure before the commit changes nothing; memory only ever holds what
//! the store holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use deconflict_desk as desk;
use deconflict_log::{Opening, SignedEntry};
use deconflict_store::{AgreementVersion, Alert, NewEvent, Store, Write};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::lifecycle::LifecycleHistory;
use crate::metrics::Metrics;
use crate::terms::{Lifecycle, Status, Terms};
use deconflict_client::auth::NonceCache;
use deconflict_client::clock::Clock;
use deconflict_client::wire::*;

mod cycle;
mod notifications;
mod recent;
mod store_turns;
mod tracks;
pub use tracks::Pushed;

use cycle::restore_conflicts;

/// Requests per second each party may make on average.
pub const RATE_REQUESTS_PER_S: f64 = 200.0;
/// Requests a party may make in one burst.
pub const RATE_BURST_REQUESTS: f64 = 400.0;
/// Most live tracks in the picture, and how long a track without a report stays: the core's.
pub use deconflict_desk::desk::{TRACK_AGE_S_MAX, TRACKS_MAX};
/// Most alerts listed by one `GET /v1/alerts`.
pub const ALERTS_LIST_MAX: usize = 1000;
/// Most accepted reports waiting to enter the desk (about two cycles at 100,000 tracks a
/// second); past it a push hands its reports to the desk itself, waiting for a running tick.
pub const DESK_INBOX_REPORTS_MAX: usize = 250_000;
/// How often, between cycles, the reports waiting in the inbox are handed to the desk, ms.
pub const DESK_INBOX_HAND_OVER_MS: u64 = 25;
/// Least time between two passes grading tracks new to the picture between cycles, ms: a pass
/// costs about 7 ms of one core at 100,000 tracks (it reads every track's position), so passes
/// take at most 7 % of a core however fast new tracks come.
pub const ARRIVALS_PASS_EVERY_MS: u64 = 100;
/// Latest events of each party's stream kept in memory for the streams that are up to date.
pub const STREAM_RECENT_EVENTS_MAX: usize = 4096;

/// Settings of one service instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Period of the fixed-rate cycle, milliseconds (1 Hz by default).
    pub cycle_interval_ms: u64,
    /// Requests per second per party, and burst.
    pub rate_requests_per_s: f64,
    pub rate_burst_requests: f64,
    /// The alerter to run instead of the agreement's (`replay --alerter`).
    pub alerter: Option<deconflict_desk::Alerter>,
    /// Most accepted reports waiting to enter the desk ([`DESK_INBOX_REPORTS_MAX`]).
    pub desk_inbox_reports_max: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cycle_interval_ms: 1000,
            rate_requests_per_s: RATE_REQUESTS_PER_S,
            rate_burst_requests: RATE_BURST_REQUESTS,
            alerter: None,
            desk_inbox_reports_max: DESK_INBOX_REPORTS_MAX,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// When a caller takes the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Before any bulk writer: alerts, streams, the line, every read.
    Before,
    /// After everyone else waiting: a push of reports.
    Bulk,
}

/// Shared state of a running service.
pub struct State {
    pub config: Config,
    pub terms: Terms,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// How request bodies are read when the server did not say (a router driven in process):
    /// the default limits, counted in `metrics`.
    pub(crate) default_body_limits: crate::limits::BodyLimits,
    /// Requests signed before this instant are refused (replay across a restart).
    pub started_s: i64,
    store: Arc<Mutex<Box<dyn Store>>>,
    /// Report pushes yield the store to every other waiter ([`store_turns`]).
    store_turns: Arc<store_turns::StoreTurns>,
    /// The agreement's signed history and its fold.
    lifecycle: Mutex<LifecycleHistory>,
    /// Held from a statement's check until its record is stored, so two statements never
    /// both pass against the same history.
    lifecycle_gate: tokio::sync::Mutex<()>,
    /// The desk core: tracks, notifications, the tactical picture, geography, conformance.
    /// Reached through [`State::desk`] only, which first hands it the reports waiting in
    /// `inbox`.
    desk: Mutex<desk::Desk>,
    /// Reports stored and acknowledged, waiting to enter the desk, in the order they were
    /// accepted, each with its arrival time. A push never waits for the desk (which a tick holds
    /// for the whole broad and narrow phase); whoever takes the desk next hands them over first,
    /// so the desk sees every report before anything reads it, at the time it arrived.
    inbox: Mutex<Vec<(i64, String, desk::Report)>>,
    /// The latest events of each party's stream, appended under the store's lock in the order
    /// they were committed (at most [`STREAM_RECENT_EVENTS_MAX`] each): a stream that is up to
    /// date reads them here and does not queue for the store behind the writers.
    recent: Mutex<recent::RecentEvents>,
    /// The core's outputs not yet stored: a failed commit leaves them for the next cycle.
    pending: Mutex<Vec<desk::Output>>,
    /// Held from taking the core's outputs until they are stored, by the cycle and by the
    /// passes on arrival between cycles: outputs reach the store, hence the streams, in the
    /// order the core produced them.
    outputs_turn: tokio::sync::Mutex<()>,
    /// Tracks new to the picture waiting for a pass on arrival, as the desk last said.
    arrivals_waiting: std::sync::atomic::AtomicUsize,
    /// The leaves of reports accepted since their party's last batch, computed as each push is
    /// stored (with the record only), for the cycle's report batches.
    pub(crate) pending_leaves: crate::report_leaves::PendingLeaves,
    /// Track streams open per party ([`crate::track_stream::Held`]).
    pub(crate) track_streams: Mutex<HashMap<String, usize>>,
    /// Held from a notification's strategic check until it is stored (or undone): the check
    /// and the commit are one step, so two overlapping notifications sent at the same moment
    /// are each checked against the other.
    notify_gate: tokio::sync::Mutex<()>,
    pub(crate) nonces: Mutex<NonceCache>,
    buckets: Mutex<HashMap<String, Bucket>>,
    last_heard_ms: Mutex<HashMap<String, i64>>,
    last_cycle_ms: AtomicI64,
    streams: HashMap<String, watch::Sender<u64>>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Held from a batch's append to the record until its store commit.
    record_gate: tokio::sync::Mutex<()>,
    /// Log entries whose batch failed to commit to the store: bound as never stored by the
    /// next commit.
    unstored: Mutex<Vec<(u64, deconflict_log::Hash)>>,
    /// The shared log, when attached (`serve` and the demo attach one).
    log: std::sync::OnceLock<Arc<crate::log_entries::ServiceLog>>,
    /// Parties whose signature entered the history at this start, and whether that brought the
    /// agreement into force: logged when a record that began earlier is attached.
    signed_at_open: Mutex<(Vec<String>, bool)>,
    /// The deconfliction line between the parties ([`crate::line`]).
    pub(crate) line: crate::line::LineState,
    /// Incidents before the working group, folded from the record ([`crate::incidents`]).
    pub(crate) incidents: crate::incidents::Incidents,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("terms", &self.terms.id)
            .finish_non_exhaustive()
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] deconflict_store::StoreError),
    #[error(
        "the stored agreement differs from the one given: the data directory belongs to agreement {stored}, not {given}"
    )]
    AgreementMismatch { stored: String, given: String },
    #[error("engine configuration: {0}")]
    Engine(String),
    #[error("line: {0}")]
    Line(String),
    /// The stored agreement history does not replay (a tampered or foreign store).
    #[error("agreement history: {0}")]
    History(String),
    /// The caller said every party signed, but not every signature was given.
    #[error(
        "the agreement is not signed by {missing}: give every party's signature (datadir::load_agreement reads them, or Terms::with_signatures)"
    )]
    Unsigned { missing: String },
}

/// A type whose JSON form cannot fail to be written, so the store never holds a placeholder in
/// its place. serde_json refuses only a map keyed by something other than a string and a
/// hand-written `Serialize` that returns an error (a non-finite number becomes `null`). Each
/// type below derives `Serialize`, and every type it holds is one of the client crate's `wire`
/// documents or a primitive: `wire` has no hand-written `Serialize` and no map keyed by other
/// than `String`; a `serde_json::Value`'s keys are strings. Implement it only after checking
/// the same of a new type.
pub(crate) trait InfallibleJson: serde::Serialize {}

impl InfallibleJson for AgreementDoc {}
impl InfallibleJson for serde_json::Value {}
impl InfallibleJson for deconflict_client::wire::TrackReportIn {}
impl InfallibleJson for deconflict_client::wire::NotificationStored {}
impl InfallibleJson for deconflict_client::wire::AlertView {}
impl InfallibleJson for deconflict_client::wire::GeographyView {}
impl InfallibleJson for deconflict_client::wire::NonconformanceView {}

fn to_json<T: InfallibleJson>(v: &T) -> String {
    serde_json::to_string(v).expect(
        "an InfallibleJson type has no map keyed by other than strings and no failing Serialize",
    )
}

impl State {
    /// Opens the service over a store: records the agreement as version 1 if the store is new,
    /// reloads the lifecycle, the live tracks and the stream cursors otherwise.
    /// `all_signed`: every party's signature over the agreement verified; until then the
    /// agreement is a draft and operational writes are refused.
    pub fn open(
        config: Config,
        terms: Terms,
        all_signed: bool,
        mut store: Box<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<State>, StartError> {
        let mut versions = store.agreement_versions()?;
        let now_ms = clock.now_ms();
        match versions.first() {
            None => {
                let doc = AgreementDoc {
                    id: terms.id.clone(),
                    document: String::from_utf8_lossy(&terms.document).into_owned(),
                };
                let adopted = AgreementVersion {
                    version: 1,
                    status: Status::Draft.as_str().into(),
                    document: to_json(&doc).into_bytes(),
                    recorded_ms: now_ms,
                };
                store.commit(&[Write::AgreementVersion(adopted.clone())])?;
                versions.push(adopted);
            }
            Some(first) => {
                let doc: Option<AgreementDoc> = serde_json::from_slice(&first.document).ok();
                let stored = doc.map(|d| d.id).unwrap_or_default();
                if stored != terms.id {
                    return Err(StartError::AgreementMismatch {
                        stored,
                        given: terms.id.clone(),
                    });
                }
            }
        }
        // Every stored event is verified again: a store edited behind the service's back is
        // refused here, naming the version.
        let mut history = LifecycleHistory::load(terms.agreement.clone(), &versions)
            .map_err(|e| StartError::History(e.to_string()))?;
        // Signatures found beside the agreement that the history does not hold yet: each one
        // is a new event (a draft comes into force with the last one).
        let mut signed_at_open = (Vec::new(), false);
        for sig in &terms.signatures {
            if history.state().status() != Status::Draft
                || history.state().signed().contains(sig.party())
            {
                continue;
            }
            let event = deconflict_agreement::Event::Sign(sig.clone());
            let (record, next) = history
                .next_record(event, now_ms)
                .map_err(|e| StartError::History(format!("{}'s signature: {e}", sig.party())))?;
            store.commit(&[Write::AgreementVersion(LifecycleHistory::version_of(
                &record,
                next.status(),
            ))])?;
            history
                .accept(&record)
                .map_err(|e| StartError::History(format!("{}'s signature: {e}", sig.party())))?;
            signed_at_open.0.push(sig.party().to_string());
            signed_at_open.1 = next.status() == Status::InForce;
        }
        if all_signed && history.state().status() == Status::Draft {
            let missing: Vec<String> = history
                .state()
                .unsigned(&terms.agreement)
                .map(|p| p.to_string())
                .collect();
            return Err(StartError::Unsigned {
                missing: missing.join(", "),
            });
        }
        let (desk, restored) = Self::open_desk(&config, &terms, store.as_ref(), now_ms)?;
        let mut streams = HashMap::new();
        for p in &terms.parties {
            let (tx, _) = watch::channel(store.last_seq(&p.id)?);
            streams.insert(p.id.clone(), tx);
        }
        let line = crate::line::LineState::open(&terms, store.as_mut(), now_ms)
            .map_err(StartError::Line)?;
        let (shutdown, _) = watch::channel(false);
        let metrics = Metrics::default();
        let default_body_limits = crate::limits::BodyLimits::new(
            &crate::limits::Limits::default(),
            metrics.server.clone(),
        );
        let state = Arc::new(State {
            started_s: clock.now_s(),
            config,
            terms,
            clock,
            metrics,
            default_body_limits,
            store: Arc::new(Mutex::new(store)),
            store_turns: Arc::default(),
            lifecycle: Mutex::new(history),
            lifecycle_gate: tokio::sync::Mutex::new(()),
            signed_at_open: Mutex::new(signed_at_open),
            desk: Mutex::new(desk),
            inbox: Mutex::new(Vec::new()),
            recent: Mutex::new(recent::RecentEvents::new(STREAM_RECENT_EVENTS_MAX)),
            pending: Mutex::new(Vec::new()),
            outputs_turn: tokio::sync::Mutex::new(()),
            arrivals_waiting: std::sync::atomic::AtomicUsize::new(0),
            pending_leaves: Default::default(),
            track_streams: Default::default(),
            notify_gate: tokio::sync::Mutex::new(()),
            record_gate: tokio::sync::Mutex::new(()),
            unstored: Mutex::new(Vec::new()),
            nonces: Mutex::new(NonceCache::default()),
            buckets: Mutex::new(HashMap::new()),
            last_heard_ms: Mutex::new(HashMap::new()),
            last_cycle_ms: AtomicI64::new(0),
            streams,
            shutdown,
            log: std::sync::OnceLock::new(),
            line,
            incidents: crate::incidents::Incidents::default(),
        });
        state
            .metrics
            .conflicts_active
            .store(restored, Ordering::Relaxed);
        Ok(state)
    }

    /// The desk as the store leaves it: the agreement's setup, the latest report of each track
    /// still young enough, the active notifications, and the conflicts alerted before a restart
    /// and not yet ended (so that the first cycle neither announces them again nor forgets to
    /// announce their end). Gives the desk and how many conflicts it holds open.
    fn open_desk(
        config: &Config,
        terms: &Terms,
        store: &dyn Store,
        now_ms: i64,
    ) -> Result<(desk::Desk, u64), StartError> {
        let alerter = match &config.alerter {
            Some(a) => a.clone(),
            None => crate::desk_wire::alerter(terms).map_err(StartError::Engine)?,
        };
        let setup = crate::desk_wire::setup(terms, alerter).map_err(StartError::Engine)?;
        let mut desk = desk::Desk::new(setup).map_err(|e| StartError::Engine(e.to_string()))?;
        // Only what the picture still keeps: a track silent longer than it keeps tracks is
        // not live, and the runs of a long full-rate feed before it are not read.
        let since_ms = now_ms.saturating_sub((desk::desk::TRACK_AGE_S_MAX * 1000.0) as i64);
        for r in store.latest_reports_since(since_ms)? {
            let Ok(report) = serde_json::from_str::<TrackReportIn>(&r.body) else {
                continue;
            };
            // Reports too old for the picture are simply not live any more.
            let _ = desk.report(now_ms, &r.party, crate::desk_wire::report(&report));
        }
        for n in store.notifications(None)? {
            let Some(n) = Self::stored_from(&n).filter(|n| n.status == "active") else {
                continue;
            };
            match crate::strategic::notification(&n) {
                Ok(an) => {
                    if let Err(e) = desk.restore(an, n.notification.callsigns.clone()) {
                        tracing::warn!(id = %n.id, error = %e, "stored notification not held by the desk");
                    }
                }
                Err((field, e)) => {
                    tracing::warn!(id = %n.id, %field, error = %e, "stored notification not understood")
                }
            }
        }
        // What the reports above revealed was announced before the restart.
        let _ = desk.poll();
        let restored = restore_conflicts(store, &mut desk)?;
        Ok((desk, restored))
    }

    /// Records that a cycle ran at `now_ms` (shown by health and status).
    pub(crate) fn cycle_ran(&self, now_ms: i64) {
        self.last_cycle_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Runs `f` on the store in a blocking task (SQLite calls block on fsync).
    pub async fn with_store<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn Store) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        self.with_store_as(Turn::Before, f).await
    }

    /// As [`Self::with_store`], taking the store as `turn` says.
    async fn with_store_as<R: Send + 'static>(
        self: &Arc<Self>,
        turn: Turn,
        f: impl FnOnce(&mut dyn Store) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let store = self.store.clone();
        let turns = self.store_turns.clone();
        let me = self.clone();
        me.metrics.store_waiting.fetch_add(1, Ordering::Relaxed);
        let r = tokio::task::spawn_blocking(move || {
            let lock = || {
                store
                    .lock()
                    .map_err(|_| ApiError::internal("store lock poisoned"))
            };
            let mut guard = match turn {
                Turn::Before => {
                    let _waiting = turns.wait();
                    lock()?
                }
                Turn::Bulk => turns.take_bulk(lock)?,
            };
            Ok(f(guard.as_mut()))
        })
        .await;
        self.metrics.store_waiting.fetch_sub(1, Ordering::Relaxed);
        match r {
            Ok(r) => r,
            Err(e) => Err(ApiError::internal(format!("store task failed: {e}"))),
        }
    }

    /// Attaches the shared log: from now on every commit is logged before it is stored.
    /// Returns false when one was attached already.
    /// A record that began before this start gets the signatures that entered the history
    /// since (a new record starts with them already).
    pub fn attach_log(&self, log: Arc<crate::log_entries::ServiceLog>) -> bool {
        if !log.started_new()
            && let Ok(mut pending) = self.signed_at_open.lock()
            && !pending.0.is_empty()
        {
            let (parties, in_force) = std::mem::take(&mut *pending);
            if let Err(e) =
                log.record_signatures(&self.terms, &parties, in_force, self.clock.now_ms())
            {
                tracing::error!(error = %e, ?parties, "signatures not recorded in the shared log");
            }
        }
        match self
            .incidents
            .restore(&self.terms, &log, self.clock.now_ms())
        {
            Ok(skipped) => {
                for s in skipped {
                    tracing::error!(entry = s.entry_index, why = %s.why, "an incident step of the record does not apply");
                }
            }
            Err(e) => tracing::error!(error = %e, "incidents not restored from the record"),
        }
        self.log.set(log).is_ok()
    }

    /// The shared log, when attached.
    pub fn log(&self) -> Option<&Arc<crate::log_entries::ServiceLog>> {
        self.log.get()
    }

    /// Commits a batch and wakes the streams that received events. With a record attached,
    /// the batch's entries are durable in the log file first: a failed append fails the request
    /// and nothing is stored or acknowledged.
    pub async fn commit(self: &Arc<Self>, writes: Vec<Write>) -> Result<(), ApiError> {
        self.commit_authored(Vec::new(), Vec::new(), writes).await
    }

    /// As [`Self::commit`], for a push of reports: it takes the store after every other
    /// waiter ([`Turn::Bulk`]).
    pub(crate) async fn commit_reports(
        self: &Arc<Self>,
        writes: Vec<Write>,
    ) -> Result<Vec<u64>, ApiError> {
        self.commit_recorded_as(Turn::Bulk, Vec::new(), Vec::new(), writes, |_| Vec::new())
            .await
            .map(|(_, seqs)| seqs)
    }

    /// As [`Self::commit`], with entries their parties signed (and the openings of their
    /// commitments) recorded first, ahead of the entries the writes become.
    pub async fn commit_authored(
        self: &Arc<Self>,
        authored: Vec<SignedEntry>,
        authored_openings: Vec<Opening>,
        writes: Vec<Write>,
    ) -> Result<(), ApiError> {
        self.commit_recorded(authored, authored_openings, writes, |_| Vec::new())
            .await
            .map(|_| ())
    }

    /// As [`Self::commit_authored`]; `then` adds to the same store batch the rows that name
    /// the entries' places in the record (index, leaf hash), in the order given. Returns them.
    pub async fn commit_recorded(
        self: &Arc<Self>,
        authored: Vec<SignedEntry>,
        authored_openings: Vec<Opening>,
        writes: Vec<Write>,
        then: impl FnOnce(&[(u64, deconflict_log::Hash)]) -> Vec<Write>,
    ) -> Result<Vec<(u64, deconflict_log::Hash)>, ApiError> {
        self.commit_recorded_as(Turn::Before, authored, authored_openings, writes, then)
            .await
            .map(|(places, _)| places)
    }

    async fn commit_recorded_as(
        self: &Arc<Self>,
        turn: Turn,
        authored: Vec<SignedEntry>,
        authored_openings: Vec<Opening>,
        writes: Vec<Write>,
        then: impl FnOnce(&[(u64, deconflict_log::Hash)]) -> Vec<Write>,
    ) -> Result<(Vec<(u64, deconflict_log::Hash)>, Vec<u64>), ApiError> {
        let Some(log) = self.log.get().cloned() else {
            return self
                .store_commit(turn, writes)
                .await
                .map(|seqs| (Vec::new(), seqs));
        };
        let me = self.clone();
        let now_ms = self.clock.now_ms();
        let task_log = log.clone();
        let (writes, entries, openings) = tokio::task::spawn_blocking(move || {
            let (derived, derived_openings) = task_log
                .entries_for(&me.terms, &writes, now_ms)
                .map_err(|e| ApiError::internal(format!("record: {e}")))?;
            let mut entries = authored;
            entries.extend(derived);
            let mut openings = authored_openings;
            openings.extend(derived_openings);
            Ok::<_, ApiError>((writes, entries, openings))
        })
        .await
        .map_err(|e| ApiError::internal(format!("record task failed: {e}")))??;
        if entries.is_empty() && openings.is_empty() {
            return self
                .store_commit(turn, writes)
                .await
                .map(|seqs| (Vec::new(), seqs));
        }
        // From the append to the store commit, one batch at a time: an entry whose row is not
        // stored can then only be the record's last (see `crate::binding`).
        let _gate = self.record_gate.lock().await;
        let stands: Vec<_> = entries
            .iter()
            .map(|e| crate::binding::stands_for(e.entry()))
            .collect();
        let recorded = tokio::task::spawn_blocking(move || log.record(entries, &openings))
            .await
            .map_err(|e| ApiError::internal(format!("record task failed: {e}")))?
            .map_err(|e| ApiError::internal(format!("record: {e}")))?;
        let recorded: Vec<_> = recorded
            .into_iter()
            .zip(stands)
            .map(|((index, hash), stands)| (index, hash, stands))
            .collect();
        let earlier = std::mem::take(
            &mut *self
                .unstored
                .lock()
                .map_err(|_| ApiError::internal("unstored lock poisoned"))?,
        );
        let places: Vec<(u64, deconflict_log::Hash)> =
            recorded.iter().map(|(i, h, _)| (*i, *h)).collect();
        let mut all = writes;
        all.extend(then(&places));
        all.extend(crate::binding::unstored_writes(&earlier));
        let bindings = crate::binding::bind_batch(&recorded, &all);
        all.extend(bindings.into_iter().map(Write::Binding));
        if let Some(end) = recorded.iter().map(|(i, _, _)| i + 1).max() {
            all.push(Write::RecordMark(end));
        }
        let seqs = match self.store_commit(turn, all).await {
            Ok(seqs) => seqs,
            Err(e) => {
                // The entries are in the record, their rows are not: the next commit binds them
                // as never stored (and a start does, if none comes first).
                let mut failed = earlier;
                failed.extend(
                    recorded
                        .iter()
                        .filter(|(_, _, s)| s.is_some())
                        .map(|(i, h, _)| (*i, *h)),
                );
                self.metrics
                    .record_entries_unstored
                    .fetch_add((failed.len()) as u64, Ordering::Relaxed);
                if let Ok(mut u) = self.unstored.lock() {
                    u.extend(failed);
                }
                return Err(e);
            }
        };
        Ok((places, seqs))
    }

    /// Commits a batch to the store and wakes the streams that received events. Gives the
    /// sequence numbers the batch's track reports were given, in order.
    async fn store_commit(
        self: &Arc<Self>,
        turn: Turn,
        writes: Vec<Write>,
    ) -> Result<Vec<u64>, ApiError> {
        let me = self.clone();
        let committed = self
            .with_store_as(turn, move |s| {
                let committed = s.commit(&writes)?;
                // Still under the store's lock: the recent events grow in commit order.
                if let Ok(mut recent) = me.recent.lock() {
                    recent.remember(&committed.events);
                }
                Ok::<_, deconflict_store::StoreError>(committed)
            })
            .await??;
        self.metrics
            .events_total
            .fetch_add(committed.events.len() as u64, Ordering::Relaxed);
        for e in &committed.events {
            if let Some(tx) = self.streams.get(&e.party) {
                tx.send_if_modified(|v| {
                    let changed = e.seq > *v;
                    *v = (*v).max(e.seq);
                    changed
                });
            }
        }
        Ok(committed.report_seqs)
    }

    /// A receiver that changes whenever `party`'s stream grows.
    pub fn subscribe(&self, party: &str) -> Option<watch::Receiver<u64>> {
        self.streams.get(party).map(|tx| tx.subscribe())
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Asks every stream to end and the cycle to stop.
    pub fn begin_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Per-party token bucket; `Err` when the party is over its rate.
    pub fn take_token(&self, party: &str) -> Result<(), ApiError> {
        let now = self.clock.now_ms();
        let mut b = self
            .buckets
            .lock()
            .map_err(|_| ApiError::internal("lock"))?;
        let bucket = b.entry(party.to_string()).or_insert(Bucket {
            tokens: self.config.rate_burst_requests,
            at_ms: now,
        });
        let dt_s = ((now - bucket.at_ms).max(0) as f64) / 1000.0;
        bucket.tokens = (bucket.tokens + dt_s * self.config.rate_requests_per_s)
            .min(self.config.rate_burst_requests);
        bucket.at_ms = now;
        if bucket.tokens < 1.0 {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests per second (burst {})",
                    self.config.rate_requests_per_s, self.config.rate_burst_requests
                ),
            ));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    pub fn heard_from(&self, party: &str) {
        if let Ok(mut m) = self.last_heard_ms.lock() {
            m.insert(party.to_string(), self.clock.now_ms());
        }
    }

    /// A copy of the agreement's whole signed history (for tests and tools; hot paths use
    /// [`Self::status`]).
    pub fn lifecycle(&self) -> Lifecycle {
        match self.lifecycle.lock() {
            Ok(d) => d.history().clone(),
            Err(p) => p.into_inner().history().clone(),
        }
    }

    /// The agreement's declared status.
    pub fn status(&self) -> Status {
        match self.lifecycle.lock() {
            Ok(d) => d.state().status(),
            Err(p) => p.into_inner().state().status(),
        }
    }

    /// Refuses operational writes unless the agreement is in force.
    fn require_in_force(&self) -> Result<(), ApiError> {
        let status = self.status();
        if status != Status::InForce {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "agreement_not_in_force",
                format!("the agreement is {}", status.as_str()),
            ));
        }
        Ok(())
    }

    // ---- agreement -------------------------------------------------------------------

    pub async fn agreement_view(self: &Arc<Self>) -> AgreementView {
        let health = self.health();
        let mut view = AgreementView {
            id: self.terms.id.clone(),
            title: self.terms.title.clone(),
            status: String::new(),
            version: 0,
            head_seq: 0,
            basis_seq: 0,
            parties: self
                .terms
                .parties
                .iter()
                .map(|p| PartyView {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    language: p.language.clone(),
                    public_key: p.key_text.clone(),
                })
                .collect(),
            signed_by: Vec::new(),
            suspension: None,
            reason: None,
            conditions: None,
            reactivation: None,
            reactivation_signed_by: Vec::new(),
            termination: None,
            history: Vec::new(),
            history_omitted: 0,
            reachability: ReachabilityView {
                line: health.line,
                link_tests: health.link_tests,
            },
        };
        match self.lifecycle.lock() {
            Ok(d) => d.fill_view(&mut view),
            Err(p) => p.into_inner().fill_view(&mut view),
        }
        view
    }

    /// Accepts one party's signed lifecycle statement (see [`crate::lifecycle`] for every check
    /// and its answer). Order: check → the party's own entry durable in the record → the
    /// record stored as the next agreement version (with an event on every party's stream) →
    /// memory → answer. A refused statement changes nothing.
    pub async fn lifecycle_action(
        self: &Arc<Self>,
        party: &str,
        request: AgreementActionRequest,
    ) -> Result<AgreementView, ApiError> {
        let now = self.clock.now_ms();
        let (statement, entry) =
            crate::lifecycle::check_request(&self.terms.agreement, party, request, now)?;
        let _gate = self.lifecycle_gate.lock().await;
        let (record, next) = {
            let history = self
                .lifecycle
                .lock()
                .map_err(|_| ApiError::internal("lifecycle lock poisoned"))?;
            history
                .next_record(deconflict_agreement::Event::Statement(statement), now)
                .map_err(|e| crate::lifecycle::refusal(&e))?
        };
        let event = serde_json::json!({
            "agreement": self.terms.id,
            "status": next.status().as_str(),
            "basis_seq": next.basis_seq(),
            "event": crate::lifecycle::history_item(&record, next.status()),
        });
        let mut writes = vec![Write::AgreementVersion(LifecycleHistory::version_of(
            &record,
            next.status(),
        ))];
        for p in &self.terms.parties {
            writes.push(Write::Event(NewEvent {
                party: p.id.clone(),
                kind: "agreement".into(),
                body: event.to_string(),
                created_ms: record.at_unix_ms(),
            }));
        }
        // The party's own signed entry, unchanged, before the store commit: nothing is stored
        // or acknowledged that the record does not hold.
        self.commit_authored(vec![entry], Vec::new(), writes)
            .await?;
        {
            let mut history = self
                .lifecycle
                .lock()
                .map_err(|_| ApiError::internal("lifecycle lock poisoned"))?;
            history
                .accept(&record)
                .map_err(|e| ApiError::internal(format!("stored but not applied: {e}")))?;
        }
        Ok(self.agreement_view().await)
    }

    /// Active notifications the desk holds for the strategic check.
    pub fn notifications_held(&self) -> usize {
        self.desk().map_or(0, |d| d.notifications_len())
    }

    pub fn health(&self) -> Health {
        let now = self.clock.now_ms();
        let heard = self
            .last_heard_ms
            .lock()
            // A panic elsewhere while holding the map leaves its entries valid: read them
            // rather than report every party unheard.
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let last_cycle = self.last_cycle_ms.load(Ordering::Relaxed);
        let last_tests = self.line.last_link_tests(&self.terms, now);
        Health {
            service: "ok".into(),
            agreement_status: self.status().as_str().into(),
            line: self
                .terms
                .parties
                .iter()
                .map(|p| {
                    // Reachable is what the line's link tests measured: the latest decided
                    // test was answered (in time or late). A request heard is not an answer.
                    let test = last_tests.get(&p.id).copied();
                    LineReachability {
                        party: p.id.clone(),
                        reachable: test
                            .is_some_and(|t| t != deconflict_line::LinkTestOutcome::Missed),
                        last_link_test: test.map(|t| t.as_str().to_string()),
                        last_heard_unix_ms: heard.get(&p.id).copied(),
                    }
                })
                .collect(),
            last_cycle_unix_ms: (last_cycle > 0).then_some(last_cycle),
            link_tests: self.line.link_tests(&self.terms, now),
        }
    }

    // ---- alerts and events -------------------------------------------------------------

    pub async fn alerts_for(
        self: &Arc<Self>,
        viewer: &str,
        limit: usize,
    ) -> Result<Vec<AlertView>, ApiError> {
        let v = viewer.to_string();
        let alerts = self
            .with_store(move |s| s.alerts_for(&v, limit.min(ALERTS_LIST_MAX)))
            .await??;
        Ok(alerts.iter().filter_map(|a| alert_for(a, viewer)).collect())
    }

    pub async fn alert_for(
        self: &Arc<Self>,
        viewer: &str,
        id: String,
    ) -> Result<AlertView, ApiError> {
        let idc = id.clone();
        let alert = self.with_store(move |s| s.alert(&idc)).await??;
        alert
            .as_ref()
            .filter(|a| a.parties.iter().any(|p| p == viewer))
            .and_then(|a| alert_for(a, viewer))
            .ok_or_else(|| ApiError::not_found("alert", &id))
    }

    pub async fn events_after(
        self: &Arc<Self>,
        party: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<deconflict_store::Event>, ApiError> {
        let recent = self.recent.lock().ok();
        if let Some(events) = recent.and_then(|r| r.after(party, after, limit)) {
            return Ok(events);
        }
        let p = party.to_string();
        Ok(self
            .with_store(move |s| s.events_after(&p, after, limit))
            .await??)
    }
}

/// The recipient's view stored in an alert body.
fn alert_for(a: &Alert, viewer: &str) -> Option<AlertView> {
    let v: serde_json::Value = serde_json::from_str(&a.body).ok()?;
    serde_json::from_value(v.get(viewer)?.clone()).ok()
}

/// What the store keeps as agreement version 1: the adopted agreement. Later versions hold
/// the history's records ([`crate::lifecycle::LifecycleHistory`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AgreementDoc {
    id: String,
    /// The canonical agreement document.
    document: String,
}

#[cfg(test)]
mod tests {
    use super::cycle::conflict_key;
    use super::to_json;

    /// What `InfallibleJson` rests on: a non-finite number is written as `null` rather than
    /// refused, and a `Value`'s keys are strings, so a stored body is always a JSON document.
    #[test]
    fn a_non_finite_number_is_written_as_null_not_refused() {
        let view = deconflict_client::wire::GeographyView {
            event_id: "g:a/t1:0:l".into(),
            kind: "line_crossed".into(),
            party: "a".into(),
            track_id: "t1".into(),
            callsign: None,
            line: Some("l".into()),
            into_side_of: Some("b".into()),
            zone: None,
            time_unix_ms: 0,
            lat_deg: f64::NAN,
            lon_deg: f64::INFINITY,
            alt_m: 1000.0,
        };
        let text = to_json(&view);
        let back: serde_json::Value = serde_json::from_str(&text).expect("a JSON document");
        assert_eq!(back["lat_deg"], serde_json::Value::Null);
        assert_eq!(back["lon_deg"], serde_json::Value::Null);
        assert_eq!(back["alt_m"], 1000.0);
        let both = serde_json::json!({ "a": &view, "b": 1 });
        assert!(to_json(&both).starts_with('{'));
    }

    fn parties() -> Vec<String> {
        vec!["coalition".into(), "russia".into()]
    }

    #[test]
    fn conflict_keys_split_where_the_second_party_begins() {
        let k = |s: &str| conflict_key(s, &parties());
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(
            k("c:coalition/c1:russia/r1:1491984000000"),
            pair("coalition/c1", "russia/r1")
        );
        // Track ids may contain ':'.
        assert_eq!(
            k("c:coalition/a:b:russia/x:y:5"),
            pair("coalition/a:b", "russia/x:y")
        );
        // Ambiguous, unknown party, strategic or malformed: not restored.
        assert_eq!(k("c:coalition/a:russia/b:russia/c:5"), None);
        assert_eq!(k("c:coalition/a:nato/b:5"), None);
        assert_eq!(k("s:n1:n2"), None);
        assert_eq!(k("c:coalition/:russia/r1:5"), None);
    }
}
