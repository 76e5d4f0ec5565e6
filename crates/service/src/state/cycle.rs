//! The desk's part of the fixed-rate cycle ([`crate::cycle`] runs the whole): the desk's tick,
//! its outputs turned into stored alerts, geography and nonconformance events, one commit per
//! cycle; and the conflicts the core is given back at start.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use deconflict_desk as desk;
use deconflict_store::{Alert, NewEvent, Store, Write};

use crate::error::ApiError;
use crate::metrics::CycleStage;
use deconflict_client::wire::*;

use super::{State, alert_for, to_json};

/// What the desk does in a [`State::desk_step`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The cycle's tick: every track.
    Tick,
    /// A pass on arrival: the tracks new since the last tick or pass.
    Arrivals,
}

impl State {
    // ---- the cycle -------------------------------------------------------------------

    /// The desk's part of a cycle at `now_ms` ([`crate::cycle`] runs the rest): the core
    /// ticks (broad phase, the alerter on the candidates), and its outputs become stored
    /// alerts and events, committed together. Gives the alerts stored.
    pub(crate) async fn desk_cycle(self: &Arc<Self>, now_ms: i64) -> Result<Vec<Alert>, ApiError> {
        self.desk_step(now_ms, Step::Tick).await
    }

    /// Between cycles, when tracks new to the picture wait: the core grades them against the
    /// picture at `now_ms` ([`desk::Desk::grade_arrivals`]) and the conflicts they open become
    /// stored alerts and events at once, not at the next cycle. Gives the alerts stored (none
    /// when nothing waited).
    pub(crate) async fn arrivals_step(
        self: &Arc<Self>,
        now_ms: i64,
    ) -> Result<Vec<Alert>, ApiError> {
        if !self.arrivals_wait() {
            return Ok(Vec::new());
        }
        self.desk_step(now_ms, Step::Arrivals).await
    }

    /// Whether tracks new to the picture wait for a pass on arrival.
    pub fn arrivals_wait(&self) -> bool {
        self.arrivals_waiting.load(Ordering::Relaxed) > 0
    }

    /// Records how many new tracks wait for a pass on arrival, as `d` says.
    pub(super) fn note_arrivals(&self, d: &desk::Desk) {
        self.arrivals_waiting
            .store(d.arrivals_waiting(), Ordering::Relaxed);
    }

    async fn desk_step(self: &Arc<Self>, now_ms: i64, step: Step) -> Result<Vec<Alert>, ApiError> {
        let me = self.clone();
        let us = |t: std::time::Instant| t.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        // The cycle goes first: from the tick on, report pushes wait before their work and
        // yield the store (a batch already being stored finishes), so that they neither take
        // the cores the tick needs nor hold the store when the cycle's alerts are ready.
        let cycle_first = (step == Step::Tick).then(|| self.store_turns.cycle_first());
        let turn = self.outputs_turn.lock().await;
        // The stored alerts and events are built under the same hold of the desk as the tick:
        // taking the desk again would first take in the reports that came meanwhile, and wait
        // behind their hand-over, on the way from the tick to the streams.
        let (all, writes, live, ticked, graded) = tokio::task::spawn_blocking(move || {
            let mut d = me.desk()?;
            let ticked = std::time::Instant::now();
            let mut graded = false;
            match step {
                Step::Tick => {
                    d.tick(now_ms);
                    me.metrics.stage(CycleStage::Desk, us(ticked));
                }
                Step::Arrivals => {
                    let before = d.counters().arrivals_graded;
                    d.grade_arrivals(now_ms);
                    graded = d.counters().arrivals_graded > before;
                }
            }
            me.note_arrivals(&d);
            me.metrics
                .tracks_dropped_stale_total
                .store(d.picture_counters().tracks_expired, Ordering::Relaxed);
            let c = d.counters();
            me.metrics
                .conflicts_active
                .store(c.conflicts_active, Ordering::Relaxed);
            me.metrics
                .arrivals_graded_total
                .store(c.arrivals_graded, Ordering::Relaxed);
            me.metrics
                .arrivals_left_to_cycle_total
                .store(c.arrivals_left_to_tick, Ordering::Relaxed);
            me.metrics
                .arrival_conflicts_total
                .store(c.arrival_conflicts, Ordering::Relaxed);
            // Outputs a failed commit left over come first, in the order the core produced
            // them. They are valid even if a panic poisoned the lock; dropping them would lose
            // alerts.
            let mut all = std::mem::take(
                &mut *me
                    .pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            all.extend(d.poll());
            let stage = std::time::Instant::now();
            let writes = me.writes_for(&d, &all);
            if step == Step::Tick {
                me.metrics.stage(CycleStage::Events, us(stage));
            }
            Ok::<_, ApiError>((all, writes, d.tracks().count(), ticked, graded))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
        self.metrics
            .tracks_live
            .store(live as u64, Ordering::Relaxed);
        let alerts: Vec<Alert> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Alert(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        let stage = std::time::Instant::now();
        let committed = if writes.is_empty() {
            Ok(())
        } else {
            self.commit(writes).await
        };
        if step == Step::Tick {
            self.metrics.stage(CycleStage::Store, us(stage));
        }
        drop(cycle_first);
        if let Err(e) = committed {
            if let Ok(mut p) = self.pending.lock() {
                let later = std::mem::take(&mut *p);
                *p = all;
                p.extend(later);
            }
            return Err(e);
        }
        drop(turn);
        if graded {
            self.metrics.stage(CycleStage::Arrivals, us(ticked));
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
        Ok(alerts)
    }

    /// The stored alerts and stream events for the core's outputs, with the tracks as `d`
    /// holds them.
    fn writes_for(&self, d: &desk::Desk, outputs: &[desk::Output]) -> Vec<Write> {
        let mut writes = Vec::new();
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
pub(super) fn restore_conflicts(
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
pub(super) fn conflict_key(conflict: &str, parties: &[String]) -> Option<(String, String)> {
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
