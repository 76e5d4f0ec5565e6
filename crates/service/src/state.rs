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
use deconflict_ledger::{Opening, SignedEntry};
use deconflict_store::{
    AgreementVersion, Alert, NewEvent, Notification, NotificationStatus, Store, TrackReport, Write,
};
use tokio::sync::watch;

use crate::auth::NonceCache;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::lifecycle::LifecycleHistory;
use crate::metrics::Metrics;
use crate::notification_entry::EntryIn;
use crate::terms::{Lifecycle, Status, Terms};
use crate::wire::*;

/// Requests per second each party may make on average.
pub const RATE_REQUESTS_PER_S: f64 = 200.0;
/// Requests a party may make in one burst.
pub const RATE_BURST_REQUESTS: f64 = 400.0;
/// Most live tracks in the picture, and how long a track without a report stays: the core's.
pub use deconflict_desk::desk::{TRACK_AGE_S_MAX, TRACKS_MAX};
/// Largest request body accepted, bytes (a batch of 10,000 reports fits).
pub const BODY_BYTES_MAX: usize = 4 << 20;
/// Most alerts listed by one `GET /v1/alerts`.
pub const ALERTS_LIST_MAX: usize = 1000;

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cycle_interval_ms: 1000,
            rate_requests_per_s: RATE_REQUESTS_PER_S,
            rate_burst_requests: RATE_BURST_REQUESTS,
            alerter: None,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Shared state of a running service.
pub struct State {
    pub config: Config,
    pub terms: Terms,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Requests signed before this instant are refused (replay across a restart).
    pub started_s: i64,
    store: Arc<Mutex<Box<dyn Store>>>,
    /// The agreement's signed history and its fold.
    lifecycle: Mutex<LifecycleHistory>,
    /// Held from a statement's check until its record is stored, so two statements never
    /// both pass against the same history.
    lifecycle_gate: tokio::sync::Mutex<()>,
    /// The desk core: tracks, notifications, the tactical picture, geography, conformance.
    desk: Mutex<desk::Desk>,
    /// The core's outputs not yet stored: a failed commit leaves them for the next cycle.
    pending: Mutex<Vec<desk::Output>>,
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
    /// Record entries whose batch failed to commit to the store: bound as never stored by the
    /// next commit.
    unstored: Mutex<Vec<(u64, deconflict_ledger::Hash)>>,
    /// The shared record, when attached (`serve` and the demo attach one).
    log: std::sync::OnceLock<Arc<crate::record::ServiceLog>>,
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

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serialising the service's own types cannot fail (no maps with non-string keys).
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
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
        let alerter = match &config.alerter {
            Some(a) => a.clone(),
            None => crate::desk_wire::alerter(&terms).map_err(StartError::Engine)?,
        };
        let setup = crate::desk_wire::setup(&terms, alerter).map_err(StartError::Engine)?;
        let mut desk = desk::Desk::new(setup).map_err(|e| StartError::Engine(e.to_string()))?;
        for r in store.latest_reports()? {
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
        let mut streams = HashMap::new();
        for p in &terms.parties {
            let (tx, _) = watch::channel(store.last_seq(&p.id)?);
            streams.insert(p.id.clone(), tx);
        }
        // Conflicts alerted before a restart and not yet ended: the first cycle after the
        // restart neither announces them again nor forgets to announce their end.
        let restored = restore_conflicts(store.as_ref(), &mut desk)?;
        let line = crate::line::LineState::open(&terms, store.as_mut(), now_ms)
            .map_err(StartError::Line)?;
        let (shutdown, _) = watch::channel(false);
        let state = Arc::new(State {
            started_s: clock.now_s(),
            config,
            terms,
            clock,
            metrics: Metrics::default(),
            store: Arc::new(Mutex::new(store)),
            lifecycle: Mutex::new(history),
            lifecycle_gate: tokio::sync::Mutex::new(()),
            signed_at_open: Mutex::new(signed_at_open),
            desk: Mutex::new(desk),
            pending: Mutex::new(Vec::new()),
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

    /// Runs `f` on the store in a blocking task (SQLite calls block on fsync).
    pub async fn with_store<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn Store) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let store = self.store.clone();
        let me = self.clone();
        me.metrics.store_waiting.fetch_add(1, Ordering::Relaxed);
        let r = tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| ApiError::internal("store lock poisoned"))?;
            Ok(f(guard.as_mut()))
        })
        .await;
        self.metrics.store_waiting.fetch_sub(1, Ordering::Relaxed);
        match r {
            Ok(r) => r,
            Err(e) => Err(ApiError::internal(format!("store task failed: {e}"))),
        }
    }

    /// Attaches the shared record: from now on every commit is logged before it is stored.
    /// Returns false when one was attached already.
    /// A record that began before this start gets the signatures that entered the history
    /// since (a new record starts with them already).
    pub fn attach_log(&self, log: Arc<crate::record::ServiceLog>) -> bool {
        if !log.started_new()
            && let Ok(mut pending) = self.signed_at_open.lock()
            && !pending.0.is_empty()
        {
            let (parties, in_force) = std::mem::take(&mut *pending);
            if let Err(e) =
                log.record_signatures(&self.terms, &parties, in_force, self.clock.now_ms())
            {
                tracing::error!(error = %e, ?parties, "signatures not recorded in the shared record");
            }
        }
        match crate::incidents::restore(self, &log) {
            Ok(skipped) => {
                for s in skipped {
                    tracing::error!(entry = s.entry_index, why = %s.why, "an incident step of the record does not apply");
                }
            }
            Err(e) => tracing::error!(error = %e, "incidents not restored from the record"),
        }
        self.log.set(log).is_ok()
    }

    /// The shared record, when attached.
    pub fn log(&self) -> Option<&Arc<crate::record::ServiceLog>> {
        self.log.get()
    }

    /// Commits a batch and wakes the streams that received events. With a record attached,
    /// the batch's entries are durable in the journal first: a failed append fails the request
    /// and nothing is stored or acknowledged.
    pub async fn commit(self: &Arc<Self>, writes: Vec<Write>) -> Result<(), ApiError> {
        self.commit_authored(Vec::new(), Vec::new(), writes).await
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
        then: impl FnOnce(&[(u64, deconflict_ledger::Hash)]) -> Vec<Write>,
    ) -> Result<Vec<(u64, deconflict_ledger::Hash)>, ApiError> {
        let Some(log) = self.log.get().cloned() else {
            return self.store_commit(writes).await.map(|()| Vec::new());
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
            return self.store_commit(writes).await.map(|()| Vec::new());
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
        let places: Vec<(u64, deconflict_ledger::Hash)> =
            recorded.iter().map(|(i, h, _)| (*i, *h)).collect();
        let mut all = writes;
        all.extend(then(&places));
        all.extend(crate::binding::unstored_writes(&earlier));
        let bindings = crate::binding::bind_batch(&recorded, &all);
        all.extend(bindings.into_iter().map(Write::Binding));
        if let Some(end) = recorded.iter().map(|(i, _, _)| i + 1).max() {
            all.push(Write::RecordMark(end));
        }
        if let Err(e) = self.store_commit(all).await {
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
        Ok(places)
    }

    /// Commits a batch to the store and wakes the streams that received events.
    async fn store_commit(self: &Arc<Self>, writes: Vec<Write>) -> Result<(), ApiError> {
        let committed = self.with_store(move |s| s.commit(&writes)).await??;
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
        Ok(())
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
        self.desk.lock().map_or(0, |d| d.notifications_len())
    }

    pub fn health(&self) -> Health {
        let now = self.clock.now_ms();
        let heard = self
            .last_heard_ms
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let last_cycle = self.last_cycle_ms.load(Ordering::Relaxed);
        let last_tests = crate::line::last_link_tests(self, now);
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
            link_tests: crate::line::link_tests(self, now),
        }
    }

    // ---- tracks ----------------------------------------------------------------------

    /// Accepts a batch of the party's reports: all or none.
    pub async fn push_reports(
        self: &Arc<Self>,
        party: &str,
        reports: Vec<TrackReportIn>,
        batch: bool,
    ) -> Result<TracksAccepted, ApiError> {
        self.require_in_force()?;
        if reports.len() > REPORTS_PER_BATCH_MAX {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_reports",
                format!(
                    "{} reports; at most {REPORTS_PER_BATCH_MAX} per batch",
                    reports.len()
                ),
            )
            .with_field("reports"));
        }
        let now = self.clock.now_ms();
        let mut writes = Vec::with_capacity(reports.len());
        let mut engine_reports = Vec::with_capacity(reports.len());
        for (i, r) in reports.iter().enumerate() {
            let field = if batch {
                format!("reports[{i}]")
            } else {
                String::new()
            };
            r.validate(&field, now)?;
            let report = crate::desk_wire::report(r);
            desk::Desk::check_report(party, &report).map_err(|e| {
                ApiError::invalid(
                    if batch {
                        format!("reports[{i}]")
                    } else {
                        "track_id".into()
                    },
                    e.to_string(),
                )
            })?;
            engine_reports.push(report);
            writes.push(Write::TrackReport(TrackReport {
                party: party.to_string(),
                track_id: r.track_id.clone(),
                time_ms: r.time_unix_ms,
                body: to_json(r),
            }));
        }
        let n = reports.len();
        self.commit(writes).await?;
        // Durable: now into the core. A report older than the one held is kept in the store's
        // history but does not move the picture (the core counts it).
        let now_ms = self.clock.now_ms();
        if let Ok(mut d) = self.desk.lock() {
            for r in engine_reports {
                let _ = d.report(now_ms, party, r);
            }
        }
        self.metrics
            .reports_accepted_total
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(TracksAccepted { accepted: n })
    }

    /// Records decoded from `party`'s receiver feed `feed` ([`crate::feed`]), into the desk at
    /// the clock's now: each joins the party's track of the same `icao24`. Not stored (see
    /// [`crate::feed`]); refused, each, while the agreement is not in force.
    pub fn receiver_reports(
        &self,
        party: &str,
        feed: &str,
        records: Vec<desk::ReceiverReport>,
    ) -> Vec<Result<(), desk::ReportError>> {
        if self.require_in_force().is_err() {
            return records
                .iter()
                .map(|_| {
                    Err(desk::ReportError::Refused(
                        "the agreement is not in force".into(),
                    ))
                })
                .collect();
        }
        let now_ms = self.clock.now_ms();
        let Ok(mut d) = self.desk.lock() else {
            return records
                .iter()
                .map(|_| Err(desk::ReportError::Refused("desk lock poisoned".into())))
                .collect();
        };
        records
            .into_iter()
            .map(|r| d.receiver(now_ms, party, feed, r))
            .collect()
    }

    /// Tracks visible to `viewer`: its own in full, the others' disclosed fields only.
    pub fn tracks_for(&self, viewer: &str) -> Vec<TrackView> {
        let Ok(d) = self.desk.lock() else {
            return Vec::new();
        };
        let mut out: Vec<TrackView> = d
            .tracks()
            .map(|t| {
                let mut v =
                    self.track_view(viewer, &t.party, &crate::desk_wire::report_in(&t.report));
                if viewer == t.party {
                    v.sources = t.sources.iter().cloned().collect();
                }
                v
            })
            .collect();
        out.sort_by(|a, b| (&a.party, &a.track_id).cmp(&(&b.party, &b.track_id)));
        out
    }

    fn track_view(&self, viewer: &str, owner: &str, r: &TrackReportIn) -> TrackView {
        let own = viewer == owner;
        let shows = |field: &str| {
            own || self
                .terms
                .party(owner)
                .is_some_and(|p| p.disclose_track.contains(field))
        };
        let pos = shows("position");
        let vel = shows("velocity");
        TrackView {
            party: owner.to_string(),
            track_id: r.track_id.clone(),
            time_unix_ms: r.time_unix_ms,
            lat_deg: pos.then_some(r.lat_deg),
            lon_deg: pos.then_some(r.lon_deg),
            alt_m: shows("altitude").then_some(r.alt_m),
            track_deg: vel.then_some(r.track_deg),
            ground_speed_mps: vel.then_some(r.ground_speed_mps),
            vertical_rate_mps: vel.then_some(r.vertical_rate_mps),
            callsign: if shows("callsign") {
                r.callsign.clone()
            } else {
                None
            },
            aircraft_type: if shows("aircraft_type") {
                r.aircraft_type.clone()
            } else {
                None
            },
            icao24: if shows("icao24") {
                r.icao24.clone()
            } else {
                None
            },
            squawk: if shows("squawk") {
                r.squawk.clone()
            } else {
                None
            },
            sources: Vec::new(),
        }
    }

    // ---- notifications ---------------------------------------------------------------

    pub fn notification_view(&self, viewer: &str, n: &NotificationStored) -> NotificationView {
        let own = viewer == n.party;
        let shows = |field: &str| {
            own || self
                .terms
                .party(&n.party)
                .is_some_and(|p| p.disclose_notification.contains(field))
        };
        let b = &n.notification;
        let window = shows("time_window");
        let band = shows("altitude_band");
        NotificationView {
            id: n.id.clone(),
            party: n.party.clone(),
            revision: n.revision,
            status: n.status.clone(),
            area: shows("area").then(|| b.area.clone()),
            alt_min_m: band.then_some(b.alt_min_m),
            alt_max_m: band.then_some(b.alt_max_m),
            start_unix_ms: window.then_some(b.start_unix_ms),
            end_unix_ms: window.then_some(b.end_unix_ms),
            callsigns: shows("callsigns").then(|| b.callsigns.clone()),
            aircraft_count: if shows("aircraft_count") {
                b.aircraft_count
            } else {
                None
            },
            aircraft_type: if shows("aircraft_type") {
                b.aircraft_type.clone()
            } else {
                None
            },
            remarks: if shows("remarks") {
                b.remarks.clone()
            } else {
                None
            },
            strike_warning: b.strike_warning,
        }
    }

    fn stored_from(n: &Notification) -> Option<NotificationStored> {
        serde_json::from_str(&n.body).ok()
    }

    /// Every notification visible to `viewer` (all parties', with disclosure applied).
    pub async fn notifications_for(
        self: &Arc<Self>,
        viewer: &str,
    ) -> Result<Vec<NotificationView>, ApiError> {
        let all = self.with_store(|s| s.notifications(None)).await??;
        Ok(all
            .iter()
            .filter_map(Self::stored_from)
            .map(|n| self.notification_view(viewer, &n))
            .collect())
    }

    pub async fn notification_for(
        self: &Arc<Self>,
        viewer: &str,
        id: String,
    ) -> Result<NotificationView, ApiError> {
        let idc = id.clone();
        let n = self
            .with_store(move |s| s.notification(&idc))
            .await??
            .and_then(|n| Self::stored_from(&n))
            .ok_or_else(|| ApiError::not_found("notification", &id))?;
        Ok(self.notification_view(viewer, &n))
    }

    /// Creates, updates (`revision` = the one replaced) or withdraws (`body` = None).
    pub async fn write_notification(
        self: &Arc<Self>,
        party: &str,
        id: String,
        expected_revision: u64,
        body: Option<NotificationIn>,
        entry: EntryIn,
    ) -> Result<NotificationAccepted, ApiError> {
        self.require_in_force()?;
        if let Some(b) = &body {
            b.validate()?;
        }
        // One notification at a time from the read of what is stored to its commit: the
        // strategic check sees every notification accepted before it.
        let _gate = self.notify_gate.lock().await;
        let idc = id.clone();
        let stored = self.with_store(move |s| s.notification(&idc)).await??;
        let previous = stored.as_ref().and_then(Self::stored_from);
        if let Some(prev) = &previous
            && prev.party != party
        {
            // Another party's notification: indistinguishable from an absent one.
            return Err(ApiError::not_found("notification", &id));
        }
        let stored_revision = previous.as_ref().map_or(0, |p| p.revision);
        if expected_revision == 0 && stored_revision > 0 {
            // A retried create: the same content answers with what is stored.
            if let (Some(prev), Some(b)) = (&previous, &body)
                && &prev.notification == b
                && prev.status == "active"
            {
                return Ok(NotificationAccepted {
                    notification: prev.clone(),
                    conflicts: Vec::new(),
                });
            }
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!("notification {id:?} already exists; update it with its revision"),
            )
            .with_field("id"));
        }
        if expected_revision != stored_revision {
            if stored_revision == 0 {
                return Err(ApiError::not_found("notification", &id));
            }
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "revision_conflict",
                format!(
                    "revision {expected_revision} is not the stored revision {stored_revision}"
                ),
            )
            .with_field("revision"));
        }
        if previous.as_ref().is_some_and(|p| p.status == "withdrawn") {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "withdrawn",
                format!("notification {id:?} was withdrawn"),
            ));
        }
        let now = self.clock.now_ms();
        let (status, content) = match body {
            Some(b) => (NotificationStatus::Active, b),
            None => match &previous {
                Some(p) => (NotificationStatus::Withdrawn, p.notification.clone()),
                None => return Err(ApiError::not_found("notification", &id)),
            },
        };
        let record = NotificationStored {
            id: id.clone(),
            party: party.to_string(),
            revision: stored_revision + 1,
            status: match status {
                NotificationStatus::Active => "active".into(),
                NotificationStatus::Withdrawn => "withdrawn".into(),
            },
            recorded_unix_ms: now,
            notification: content,
        };
        let (authored, openings) =
            self.authored_notification_entry(&record, status, &entry, now)?;
        // The strategic check against every other party's active notification, through the
        // core's index; the core holds the new revision from here, and lets it go again if the
        // commit below fails.
        let (conflicts, undo) = if status == NotificationStatus::Active {
            let n = crate::strategic::notification(&record)
                .map_err(|(field, msg)| ApiError::invalid(field, msg))?;
            let (ids, undo) = self
                .desk
                .lock()
                .map_err(|_| ApiError::internal("desk lock poisoned"))?
                .notify(n, record.notification.callsigns.clone())
                .map_err(|e| ApiError::invalid("notification.area", e.to_string()))?;
            let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_string()).collect();
            let found = self
                .with_store(move |s| {
                    let mut out = Vec::new();
                    for i in &ids {
                        if let Some(n) = s.notification(i)? {
                            out.push(n);
                        }
                    }
                    Ok::<_, deconflict_store::StoreError>(out)
                })
                .await?;
            let found = match found {
                Ok(f) => f,
                Err(e) => {
                    self.undo_notify(undo);
                    return Err(e.into());
                }
            };
            let others: Vec<NotificationStored> = found
                .iter()
                .filter_map(Self::stored_from)
                .filter(|o| o.party != party && o.status == "active")
                .collect();
            (others, Some(undo))
        } else {
            (Vec::new(), None)
        };
        let mut writes = vec![Write::Notification(Notification {
            id: id.clone(),
            party: party.to_string(),
            revision: record.revision,
            status,
            body: to_json(&record),
            recorded_ms: now,
        })];
        // Every other party sees the notification (with its disclosure) on its stream.
        for p in &self.terms.parties {
            let data = if p.id == party {
                serde_json::to_value(&record).unwrap_or_default()
            } else {
                serde_json::to_value(self.notification_view(&p.id, &record)).unwrap_or_default()
            };
            writes.push(Write::Event(NewEvent {
                party: p.id.clone(),
                kind: "notification".into(),
                body: data.to_string(),
                created_ms: now,
            }));
        }
        let parties_involved: Vec<String> = vec![party.to_string()];
        let mut conflict_views = Vec::new();
        for other in &conflicts {
            let conflict_id = format!("s:{}:{}", id, other.id);
            let alert_id = format!("{conflict_id}:r{}:r{}", record.revision, other.revision);
            let mut parties = parties_involved.clone();
            parties.push(other.party.clone());
            parties.sort();
            parties.dedup();
            let mk = |viewer: &str, own_id: &str, other_n: &NotificationStored| AlertView {
                alert_id: alert_id.clone(),
                conflict_id: conflict_id.clone(),
                kind: "strategic".into(),
                level: "strategic".into(),
                alert_level: None,
                created_unix_ms: now,
                parties: parties.clone(),
                time_to_los_s: None,
                time_los_end_s: None,
                closest_h_m: None,
                closest_in_s: None,
                closest_v_m: None,
                own: None,
                other: None,
                own_notification: Some(own_id.to_string()),
                other_notification: Some(self.notification_view(viewer, other_n)),
                advice: None,
            };
            let to_me = mk(party, &id, other);
            let to_them = mk(&other.party, &other.id, &record);
            writes.push(Write::Alert(Alert {
                id: alert_id.clone(),
                conflict: conflict_id.clone(),
                kind: "strategic".into(),
                parties: parties.clone(),
                // The stored alert keeps both recipients' views; each reader gets its own.
                body: to_json(&serde_json::json!({ party: &to_me, other.party.clone(): &to_them })),
                created_ms: now,
            }));
            writes.push(Write::Event(NewEvent {
                party: party.to_string(),
                kind: "alert".into(),
                body: to_json(&to_me),
                created_ms: now,
            }));
            writes.push(Write::Event(NewEvent {
                party: other.party.clone(),
                kind: "alert".into(),
                body: to_json(&to_them),
                created_ms: now,
            }));
            self.metrics.alert("strategic");
            conflict_views.push(self.notification_view(party, other));
        }
        if let Err(e) = self.commit_authored(vec![authored], openings, writes).await {
            if let Some(undo) = undo {
                self.undo_notify(undo);
            }
            return Err(e);
        }
        if status == NotificationStatus::Withdrawn
            && let (Ok(mut d), Ok(nid)) = (
                self.desk.lock(),
                deconflict_airspace::NotificationId::new(id.clone()),
            )
        {
            d.withdraw(&nid);
        }
        self.metrics
            .notifications_accepted_total
            .fetch_add(1, Ordering::Relaxed);
        Ok(NotificationAccepted {
            notification: record,
            conflicts: conflict_views,
        })
    }

    fn undo_notify(&self, undo: desk::Undo) {
        if let Ok(mut d) = self.desk.lock() {
            d.undo(undo);
        }
    }

    /// The party's own signed entry for `record` (a revision, or its withdrawal), rebuilt
    /// from what it sent and checked with its key from the agreement; and the openings of its
    /// commitments.
    fn authored_notification_entry(
        &self,
        record: &NotificationStored,
        status: NotificationStatus,
        entry: &EntryIn,
        now_ms: i64,
    ) -> Result<(SignedEntry, Vec<Opening>), ApiError> {
        use crate::notification_entry as ne;
        let field = |e: ne::NotificationEntryError| match e {
            ne::NotificationEntryError::Field { field, message } => {
                ApiError::invalid(field, message)
            }
            other => ApiError::invalid("notification", other.to_string()),
        };
        let time_ms = crate::lifecycle::entry_time(entry.time_ms, now_ms)?;
        let party = self
            .terms
            .party(&record.party)
            .ok_or_else(|| ApiError::internal(format!("{} is not a party", record.party)))?;
        let salts = ne::parse_salts(&entry.salts).map_err(field)?;
        let (unsigned, openings) = match status {
            NotificationStatus::Active => {
                ne::check_disclosure(&record.notification, &party.disclose_notification, &salts)
                    .map_err(field)?;
                ne::notification_entry(
                    &record.party,
                    &record.id,
                    record.revision,
                    &record.notification,
                    &salts,
                    time_ms,
                )
                .map_err(field)?
            }
            NotificationStatus::Withdrawn => (
                ne::withdrawal_entry(&record.party, &record.id, time_ms).map_err(field)?,
                Vec::new(),
            ),
        };
        let signed = crate::line::ledger::signed_entry(unsigned, &entry.signature, &party.key)
            .map_err(crate::lifecycle::entry_signature_refused)?;
        Ok((signed, openings))
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
        let p = party.to_string();
        Ok(self
            .with_store(move |s| s.events_after(&p, after, limit))
            .await??)
    }

    // ---- the cycle -------------------------------------------------------------------

    /// One cycle at the clock's now: the core ticks (broad phase, the alerter on the
    /// candidates), and its outputs become stored alerts and events, committed together.
    pub async fn run_cycle(self: &Arc<Self>) -> Result<usize, ApiError> {
        let started = std::time::Instant::now();
        let now_ms = self.clock.now_ms();
        let me = self.clone();
        let (outputs, live) = tokio::task::spawn_blocking(move || {
            let mut d = me
                .desk
                .lock()
                .map_err(|_| ApiError::internal("desk lock poisoned"))?;
            d.tick(now_ms);
            me.metrics
                .tracks_dropped_stale_total
                .store(d.picture_counters().tracks_expired, Ordering::Relaxed);
            me.metrics
                .conflicts_active
                .store(d.counters().conflicts_active, Ordering::Relaxed);
            Ok::<_, ApiError>((d.poll(), d.tracks().count()))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
        self.metrics
            .tracks_live
            .store(live as u64, Ordering::Relaxed);
        // Outputs a failed commit left over come first, in the order the core produced them.
        let mut all = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        all.extend(outputs);
        let writes = self.writes_for(&all);
        let alerts: Vec<Alert> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Alert(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        let n = alerts.len();
        if !writes.is_empty()
            && let Err(e) = self.commit(writes).await
        {
            if let Ok(mut p) = self.pending.lock() {
                let later = std::mem::take(&mut *p);
                *p = all;
                p.extend(later);
            }
            return Err(e);
        }
        for o in &all {
            match o {
                desk::Output::Tactical(t) => {
                    self.metrics.alert(t.change.as_str());
                    if t.change != desk::Change::Ended {
                        self.metrics.level(t.level().as_str());
                    }
                }
                desk::Output::Geography(g) => self.metrics.geography(&g.party),
                desk::Output::Nonconformance(c) => self.metrics.nonconformance(&c.party),
            }
        }
        // The line's turn: conversations for the new alerts, deadlines, link tests. Its
        // failure does not undo the alerts (they are stored and streamed already).
        if let Err(e) = crate::line::after_cycle(self, &alerts, now_ms).await {
            tracing::error!(error = ?e.body, "line cycle failed");
        }
        if let Err(e) = crate::incidents::tick(self, now_ms).await {
            tracing::error!(error = ?e.body, "incident deadlines not checked");
        }
        // The cycle's accepted reports, committed to the record per party.
        if let Err(e) = crate::reports::commit_batches(self, now_ms).await {
            tracing::error!(error = ?e.body, "report batches not committed");
        }
        self.last_cycle_ms.store(now_ms, Ordering::Relaxed);
        self.metrics
            .cycle(started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64);
        Ok(n)
    }

    /// The stored alerts and stream events for the core's outputs.
    fn writes_for(&self, outputs: &[desk::Output]) -> Vec<Write> {
        let mut writes = Vec::new();
        let Ok(d) = self.desk.lock() else {
            return writes;
        };
        let report = |party: &str, track: &str| {
            d.track(party, track)
                .map(|t| crate::desk_wire::report_in(&t.report))
        };
        for o in outputs {
            match o {
                desk::Output::Tactical(t) => self.tactical_writes(&mut writes, t, &report),
                desk::Output::Geography(g) => self.geography_writes(&mut writes, g),
                desk::Output::Nonconformance(c) => {
                    let view = NonconformanceView {
                        event_id: format!("n:{}/{}:{}", c.party, c.track_id, c.t_ms),
                        party: c.party.clone(),
                        track_id: c.track_id.clone(),
                        callsign: c.callsign.clone(),
                        notifications: c.notifications.clone(),
                        time_unix_ms: c.t_ms,
                        lat_deg: c.lat_deg,
                        lon_deg: c.lon_deg,
                        alt_m: c.alt_m,
                    };
                    writes.push(Write::Event(NewEvent {
                        party: c.party.clone(),
                        kind: "nonconformance".into(),
                        body: to_json(&view),
                        created_ms: c.t_ms,
                    }));
                }
            }
        }
        writes
    }

    fn geography_writes(&self, writes: &mut Vec<Write>, g: &desk::GeographyEvent) {
        let (kind, line, into, zone) = match &g.kind {
            desk::GeographyKind::LineCrossed { line, into_side_of } => (
                "line_crossed",
                Some(line.clone()),
                Some(into_side_of.clone()),
                None,
            ),
            desk::GeographyKind::ZoneEntered { zone } => {
                ("zone_entered", None, None, Some(zone.clone()))
            }
        };
        let place = line.as_deref().or(zone.as_deref()).unwrap_or_default();
        for p in &self.terms.parties {
            let own = p.id == g.party;
            let shows_callsign = own
                || self
                    .terms
                    .party(&g.party)
                    .is_some_and(|o| o.disclose_track.contains("callsign"));
            let view = GeographyView {
                event_id: format!("g:{}/{}:{}:{place}", g.party, g.track_id, g.t_ms),
                kind: kind.into(),
                party: g.party.clone(),
                track_id: g.track_id.clone(),
                callsign: g.callsign.clone().filter(|_| shows_callsign),
                line: line.clone(),
                into_side_of: into.clone(),
                zone: zone.clone(),
                time_unix_ms: g.t_ms,
                lat_deg: g.lat_deg,
                lon_deg: g.lon_deg,
                alt_m: g.alt_m,
            };
            writes.push(Write::Event(NewEvent {
                party: p.id.clone(),
                kind: "geography".into(),
                body: to_json(&view),
                created_ms: g.t_ms,
            }));
        }
    }

    /// One side's suggestion as a party sees it: its own in full with its bands; the other
    /// party's senses, and the values to reach only where that party discloses the field.
    fn manoeuvre_view(&self, side: &desk::SideAdvice, own: bool) -> ManoeuvreView {
        let shows = |field: &str| {
            own || self
                .terms
                .party(&side.party)
                .is_some_and(|p| p.disclose_track.contains(field))
        };
        let band = |r: &desk::Range, scale: f64| BandView {
            low: r.low * scale,
            up: r.up * scale,
            region: r.region.name().to_string(),
        };
        let list = |v: &[desk::Range], scale: f64| v.iter().map(|r| band(r, scale)).collect();
        ManoeuvreView {
            party: side.party.clone(),
            track_id: side.track_id.clone(),
            vertical: desk::advice::vertical_name(side.vertical).to_string(),
            altitude_m: side.altitude_m.filter(|_| shows("altitude")),
            turn: desk::advice::turn_name(side.turn).to_string(),
            direction_deg: side
                .direction_rad
                .map(|d| d.to_degrees().rem_euclid(360.0))
                .filter(|_| shows("velocity")),
            bands: own.then(|| BandsView {
                direction_deg: list(&side.bands.direction_rad, 180.0 / std::f64::consts::PI),
                horizontal_speed_mps: list(&side.bands.horizontal_speed_mps, 1.0),
                vertical_speed_mps: list(&side.bands.vertical_speed_mps, 1.0),
                altitude_m: list(&side.bands.altitude_m, 1.0),
            }),
        }
    }

    fn tactical_writes(
        &self,
        writes: &mut Vec<Write>,
        t: &desk::TacticalAlert,
        report: &dyn Fn(&str, &str) -> Option<TrackReportIn>,
    ) {
        let [a, b] = &t.sides;
        let mut parties = vec![a.party.clone(), b.party.clone()];
        parties.sort();
        parties.dedup();
        // With advice, each side's track is the report the advice was computed from (what the
        // record's track summary then holds), not whatever report came in since.
        let report_of = |i: usize| {
            let side = &t.sides[i];
            match &t.advice {
                Some(adv) => Some(crate::desk_wire::report_in(&adv.basis[i])),
                None => report(&side.party, &side.track_id),
            }
        };
        let view_for = |i: usize| {
            let (own, other) = (&t.sides[i], &t.sides[1 - i]);
            AlertView {
                alert_id: t.alert_id.clone(),
                conflict_id: t.conflict_id.clone(),
                kind: t.change.as_str().to_string(),
                level: own.level.as_str().to_string(),
                alert_level: Some(own.alert_level),
                created_unix_ms: t.at_ms,
                parties: parties.clone(),
                time_to_los_s: own.time_to_violation_s,
                time_los_end_s: None,
                closest_h_m: own.closest.map(|c| c.horizontal_m),
                closest_in_s: own.closest.map(|c| c.in_s),
                closest_v_m: own.closest.map(|c| c.vertical_m),
                own: report_of(i).map(|r| self.track_view(&own.party, &own.party, &r)),
                other: report_of(1 - i).map(|r| self.track_view(&own.party, &other.party, &r)),
                own_notification: None,
                other_notification: None,
                advice: t.advice.as_ref().map(|adv| AdviceView {
                    own: self.manoeuvre_view(&adv.sides[i], true),
                    other: self.manoeuvre_view(&adv.sides[1 - i], false),
                }),
            }
        };
        let to_a = view_for(0);
        let to_b = view_for(1);
        writes.push(Write::Alert(Alert {
            id: t.alert_id.clone(),
            conflict: t.conflict_id.clone(),
            kind: t.change.as_str().to_string(),
            parties: parties.clone(),
            body: to_json(&serde_json::json!({ a.party.clone(): &to_a, b.party.clone(): &to_b })),
            created_ms: t.at_ms,
        }));
        for (party, view) in [(&a.party, &to_a), (&b.party, &to_b)] {
            writes.push(Write::Event(NewEvent {
                party: party.clone(),
                kind: "alert".into(),
                body: to_json(view),
                created_ms: t.at_ms,
            }));
        }
    }
}

/// Gives the core the tactical conflicts whose latest stored alert is not their end (the store
/// finds each conflict's latest alert over all alerts, however long ago); returns how many.
fn restore_conflicts(
    store: &dyn Store,
    desk: &mut desk::Desk,
) -> Result<u64, deconflict_store::StoreError> {
    let mut n = 0;
    for a in store.open_conflicts()? {
        let conflict = a.conflict.clone();
        let alerts =
            a.id.strip_prefix(&format!("{conflict}:"))
                .and_then(|n| n.parse::<u64>().ok());
        let key = conflict_key(&conflict, &a.parties);
        // Each side's level as its party was told.
        let level_of = |track: &str| {
            let party = track.split_once('/').map(|(p, _)| p)?;
            let v = alert_for(&a, party)?;
            desk::Level::from_name(&v.level)
        };
        match (alerts, key) {
            (Some(alerts), Some((ta, tb))) => {
                let levels = [
                    level_of(&ta).unwrap_or(desk::Level::None),
                    level_of(&tb).unwrap_or(desk::Level::None),
                ];
                desk.restore_conflict(&ta, &tb, &conflict, alerts, levels);
                n += 1;
            }
            _ => {
                tracing::warn!(%conflict, alert = %a.id, "stored alert not understood; conflict not restored")
            }
        }
    }
    Ok(n)
}

/// The engine track pair of a conflict id `c:<party>/<track>:<party>/<track>:<ms>` (track ids
/// may contain `:`; party ids may not): the split where the second half starts with another
/// party of the alert. `None` when no split, or more than one, fits.
fn conflict_key(conflict: &str, parties: &[String]) -> Option<(String, String)> {
    let pair = conflict.strip_prefix("c:")?.rsplit_once(':')?.0;
    let starts = |s: &str| {
        s.split_once('/')
            .is_some_and(|(p, t)| !t.is_empty() && parties.iter().any(|x| x == p))
    };
    let mut fits = pair
        .match_indices(':')
        .map(|(i, _)| (&pair[..i], &pair[i + 1..]))
        .filter(|(a, b)| starts(a) && starts(b));
    let (a, b) = fits.next()?;
    if fits.next().is_some() {
        return None;
    }
    Some((a.to_string(), b.to_string()))
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
    use super::conflict_key;

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
