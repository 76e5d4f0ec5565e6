//! The tracks: a party's pushed reports, stored and then handed to the desk through the inbox
//! (a push never waits for a running tick), its receivers' records, and each party's view of
//! the picture.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use deconflict_desk as desk;
use deconflict_store::{TrackReport, Write};

use crate::error::ApiError;
use deconflict_client::wire::*;

use super::{State, to_json};

/// How a push's reports came, which names them in errors and decides how they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// One report (`POST /v1/tracks`): errors name its fields; stored as a row.
    One,
    /// A batch (`POST /v1/tracks/batch`, a track stream frame ([`crate::track_stream`]), a
    /// replayed second): errors name `reports[i]`; stored as one run, a row for all its
    /// reports, each still numbered in the party's report log.
    Batch,
}

impl State {
    /// The desk, once the reports waiting in the inbox are in it.
    pub(crate) fn desk(&self) -> Result<std::sync::MutexGuard<'_, desk::Desk>, ApiError> {
        let mut d = self
            .desk
            .lock()
            .map_err(|_| ApiError::internal("desk lock poisoned"))?;
        let waiting = {
            let mut inbox = self
                .inbox
                .lock()
                .map_err(|_| ApiError::internal("desk inbox lock poisoned"))?;
            self.metrics.desk_inbox_reports.store(0, Ordering::Relaxed);
            std::mem::take(&mut *inbox)
        };
        let handed = !waiting.is_empty();
        for (at_ms, party, r) in waiting {
            // A report older than the one held does not move the picture (the core counts it).
            let _ = d.report(at_ms, &party, r);
        }
        if handed {
            self.note_arrivals(&d);
        }
        Ok(d)
    }

    /// Hands the reports waiting in the inbox to the desk now, on a blocking thread (the desk
    /// may be held by a tick). Nothing to do when the inbox is empty.
    pub async fn hand_inbox_to_desk(self: &Arc<Self>) -> Result<(), ApiError> {
        let waiting = self
            .inbox
            .lock()
            .map_err(|_| ApiError::internal("desk inbox lock poisoned"))?
            .len();
        if waiting == 0 {
            return Ok(());
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.desk().map(drop))
            .await
            .map_err(|e| ApiError::internal(format!("desk task failed: {e}")))?
    }

    /// Stored reports of `party` into the desk at `now_ms`: queued while the inbox has room (a
    /// tick may hold the desk), else handed over here, after those queued before them.
    fn to_desk(
        &self,
        now_ms: i64,
        party: &str,
        reports: Vec<desk::Report>,
    ) -> Result<(), ApiError> {
        {
            let mut inbox = self
                .inbox
                .lock()
                .map_err(|_| ApiError::internal("desk inbox lock poisoned"))?;
            if inbox.len() + reports.len() <= self.config.desk_inbox_reports_max {
                inbox.extend(reports.into_iter().map(|r| (now_ms, party.to_string(), r)));
                self.metrics
                    .desk_inbox_reports
                    .store(inbox.len() as u64, Ordering::Relaxed);
                return Ok(());
            }
        }
        self.metrics
            .desk_inbox_full_total
            .fetch_add(1, Ordering::Relaxed);
        let mut d = self.desk()?;
        for r in reports {
            let _ = d.report(now_ms, party, r);
        }
        self.note_arrivals(&d);
        Ok(())
    }

    /// Waits, before a report push begins its work, while a cycle runs from its tick to its
    /// stored alerts, for at most [`BULK_YIELD_MS_MAX`](super::store_turns::BULK_YIELD_MS_MAX): the cycle goes first.
    pub(crate) async fn after_the_cycle(&self) {
        self.store_turns.after_the_cycle().await;
    }

    /// Accepts a batch of the party's reports: all or none. `how` names the reports in errors
    /// and decides how they are stored.
    pub async fn push_reports(
        self: &Arc<Self>,
        party: &str,
        reports: Vec<TrackReportIn>,
        how: Pushed,
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
        let listed = how != Pushed::One;
        let now = self.clock.now_ms();
        let mut stored = Vec::with_capacity(reports.len());
        let mut engine_reports = Vec::with_capacity(reports.len());
        for (i, r) in reports.iter().enumerate() {
            // A batch's field names are built only for an error.
            r.validate("", now).map_err(|mut e| {
                if listed {
                    e.field = format!("reports[{i}].{}", e.field);
                }
                e
            })?;
            let report = crate::desk_wire::report(r);
            desk::Desk::check_report(party, &report).map_err(|e| {
                ApiError::invalid(
                    if listed {
                        format!("reports[{i}]")
                    } else {
                        "track_id".into()
                    },
                    e.to_string(),
                )
            })?;
            engine_reports.push(report);
            stored.push(TrackReport {
                party: party.to_string(),
                track_id: r.track_id.clone(),
                time_ms: r.time_unix_ms,
                body: to_json(r),
            });
        }
        let n = reports.len();
        // With the record, each report's leaf in its coming batch needs the stored body.
        let bodies: Option<Vec<String>> = self
            .log()
            .is_some()
            .then(|| stored.iter().map(|t| t.body.clone()).collect());
        let writes = match how {
            Pushed::Batch if !stored.is_empty() => vec![Write::ReportRun(stored)],
            _ => stored.into_iter().map(Write::TrackReport).collect(),
        };
        let seqs = self.commit_reports(writes).await?;
        if let (Some(log), Some(bodies)) = (self.log(), bodies) {
            self.hold_leaves(&log.report_salt(), party, &seqs, &reports, &bodies);
        }
        // Durable: now into the core. A report older than the one held is kept in the store's
        // history but does not move the picture (the core counts it).
        let now_ms = self.clock.now_ms();
        self.to_desk(now_ms, party, engine_reports)?;
        self.metrics
            .reports_accepted_total
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(TracksAccepted { accepted: n })
    }

    /// Holds the leaves of `party`'s reports just stored as `seqs` (`reports` as accepted,
    /// `bodies` as stored) for the cycle's report batch.
    fn hold_leaves(
        &self,
        salt: &[u8; 32],
        party: &str,
        seqs: &[u64],
        reports: &[TrackReportIn],
        bodies: &[String],
    ) {
        debug_assert_eq!(seqs.len(), reports.len());
        let leaves = seqs
            .iter()
            .zip(reports.iter().zip(bodies))
            .map(|(&seq, (r, body))| {
                (
                    seq,
                    crate::report_leaves::leaf_of_accepted(salt, party, seq, r, body),
                )
            });
        let dropped = self.pending_leaves.hold(party, leaves);
        self.metrics
            .report_leaves_dropped_total
            .fetch_add(dropped as u64, Ordering::Relaxed);
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
        let Ok(mut d) = self.desk() else {
            return records
                .iter()
                .map(|_| Err(desk::ReportError::Refused("desk lock poisoned".into())))
                .collect();
        };
        let taken = records
            .into_iter()
            .map(|r| d.receiver(now_ms, party, feed, r))
            .collect();
        self.note_arrivals(&d);
        taken
    }

    /// Tracks visible to `viewer`: its own in full, the others' disclosed fields only.
    pub fn tracks_for(&self, viewer: &str) -> Vec<TrackView> {
        let Ok(d) = self.desk() else {
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

    pub(super) fn track_view(&self, viewer: &str, owner: &str, r: &TrackReportIn) -> TrackView {
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
}
