//! One cycle of the desk: the pairs to grade, their grading by each aircraft's alerter, the
//! conflicts open now, what changed since the last cycle, and the alerts published.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deconflict_engine as engine;
use deconflict_wellclear as wellclear;

use super::{
    Active, Change, Closest, Desk, Output, Side, TRACK_AGE_S_MAX, TacticalAlert, split_id,
    to_wellclear,
};
use crate::level::Level;

/// Each aircraft's grading of another, by (own, other) index into the cycle's tracks.
type Graded = HashMap<(u32, u32), wellclear::TrafficAlert>;

/// Conflicts with at least one side alerted, by (track id, track id), with both sides.
type Open = BTreeMap<(String, String), [Side; 2]>;

impl Desk {
    /// One cycle at `now_ms`: drops stale tracks, runs the broad phase, grades each candidate
    /// pair with the alerter from both aircraft's side, and puts every conflict that began,
    /// changed level or ended in the outbox. Returns the number of tactical alerts.
    pub fn tick(&mut self, now_ms: i64) -> usize {
        self.counters.ticks += 1;
        // The tick grades every track: the new ones too.
        self.arrived.clear();
        let now = engine::Timestamp::from_unix_ms(now_ms);
        let c = self.picture.candidates(now, self.exact);
        self.counters.last_candidates = c.pairs.len() as u64;
        let oldest = now_ms.saturating_sub((TRACK_AGE_S_MAX * 1000.0) as i64);
        for mine in self.tracks.values_mut() {
            mine.retain(|_, t| t.report.time_ms >= oldest);
        }
        self.tracks.retain(|_, mine| !mine.is_empty());
        // The cycle's tracks are in identifier order: a track's index is found by a search,
        // without a map of every track built each cycle.
        let ids = Ids(&c.tracks);
        // What the search relies on (linear: checked where tests run).
        debug_assert!(c.tracks.windows(2).all(|w| w[0].0 < w[1].0));
        let pairs = self.pairs_to_grade(&c.pairs, ids);
        let config = self.alerter.config().clone();
        let graded = self.grade(&c, ids, &pairs, now_ms, &config, Histories::Kept);
        self.daa.retain(|id, _| ids.index(id).is_some());
        let now_open = open_conflicts(ids, &pairs, &graded, &config);
        let mut out = self.began_or_changed(&now_open, now_ms);
        out.extend(self.ended(&now_open, now_ms));
        let n = self.publish(out, &config);
        self.counters.conflicts_active = self.active.len() as u64;
        n
    }

    /// How many tracks new to the picture wait for [`Desk::grade_arrivals`].
    pub fn arrivals_waiting(&self) -> usize {
        self.arrived.len()
    }

    /// Grades the tracks that joined the picture since the last tick or pass (at most
    /// [`ARRIVALS_MAX`](super::ARRIVALS_MAX)) at `now_ms`, against every track, without waiting
    /// for the next tick: a conflict that a new aircraft opens is alerted as soon as it is in
    /// the picture. Only pairs that no conflict holds yet are graded, each side by an alerter
    /// with no history — as the next tick's alerter, which has none for a new pair, grades
    /// them — so this opens conflicts and never changes or ends one: the tick that follows
    /// takes the pairs over with their alerting histories. Returns the alerts published.
    pub fn grade_arrivals(&mut self, now_ms: i64) -> usize {
        let waiting = std::mem::take(&mut self.arrived);
        let ids: Vec<engine::TrackId> = waiting
            .iter()
            .filter_map(|id| engine::TrackId::new(id).ok())
            .collect();
        if ids.is_empty() {
            return 0;
        }
        self.counters.arrival_passes += 1;
        self.counters.arrivals_graded += ids.len() as u64;
        let now = engine::Timestamp::from_unix_ms(now_ms);
        let c = self.picture.candidates_of(now, &ids, self.exact);
        let ids = Ids(&c.tracks);
        let pairs: BTreeSet<(u32, u32)> = c
            .pairs
            .iter()
            .copied()
            .filter(|&(i, j)| {
                !self
                    .active
                    .contains_key(&(ids.id(i).to_string(), ids.id(j).to_string()))
            })
            .collect();
        let config = self.alerter.config().clone();
        let graded = self.grade(&c, ids, &pairs, now_ms, &config, Histories::None);
        let now_open = open_conflicts(ids, &pairs, &graded, &config);
        let out = self.began_or_changed(&now_open, now_ms);
        self.counters.arrival_conflicts += out.len() as u64;
        let n = self.publish(out, &config);
        self.counters.conflicts_active = self.active.len() as u64;
        n
    }

    /// The candidate pairs, and the open conflicts whatever the broad phase says (hysteresis
    /// holds them until they end).
    fn pairs_to_grade(&self, candidates: &[(u32, u32)], ids: Ids<'_>) -> BTreeSet<(u32, u32)> {
        let mut pairs: BTreeSet<(u32, u32)> = candidates.iter().copied().collect();
        for (a, b) in self.active.keys() {
            if let (Some(i), Some(j)) = (ids.index(a), ids.index(b)) {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
        pairs
    }

    /// Each aircraft of a pair graded against all its intruders at once by its own alerting
    /// history; the histories of tracks gone from the picture are dropped.
    fn grade(
        &mut self,
        c: &engine::Candidates,
        ids: Ids<'_>,
        pairs: &BTreeSet<(u32, u32)>,
        now_ms: i64,
        config: &wellclear::Config,
        histories: Histories,
    ) -> Graded {
        let mut by_own: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for &(i, j) in pairs {
            by_own.entry(i).or_default().push(j);
            by_own.entry(j).or_default().push(i);
        }
        let states: HashMap<u32, wellclear::encounter::AircraftState> = by_own
            .keys()
            .map(|&i| (i, to_wellclear(ids.id(i), &c.tracks[i as usize].2)))
            .collect();
        let time_s = now_ms as f64 / 1000.0;
        let mut graded: Graded = HashMap::new();
        for (own, intruders) in &by_own {
            let traffic: Vec<wellclear::encounter::AircraftState> =
                intruders.iter().map(|j| states[j].clone()).collect();
            let mut scratch;
            let daa = match histories {
                Histories::Kept => self
                    .daa
                    .entry(ids.id(*own).to_string())
                    .or_insert_with(|| wellclear::Daa::new(config.clone())),
                Histories::None => {
                    scratch = wellclear::Daa::new(config.clone());
                    &mut scratch
                }
            };
            for alert in daa.step(time_s, &states[own], &traffic) {
                // One of this aircraft's few intruders: looked up among them.
                let j = intruders
                    .iter()
                    .copied()
                    .find(|&j| ids.id(j) == alert.traffic_id);
                if let Some(j) = j {
                    graded.insert((*own, j), alert);
                }
            }
        }
        graded
    }

    /// The alerts of conflicts that began or changed level; the record of open conflicts
    /// follows.
    fn began_or_changed(&mut self, now_open: &Open, now_ms: i64) -> Vec<TacticalAlert> {
        let mut out = Vec::new();
        for (key, sides) in now_open.iter() {
            let levels = [sides[0].level, sides[1].level];
            let change = match self.active.get(key) {
                None => {
                    self.active.insert(
                        key.clone(),
                        Active {
                            id: format!("c:{}:{}:{now_ms}", key.0, key.1),
                            alerts: 0,
                            levels,
                        },
                    );
                    Change::New
                }
                Some(a) if a.levels != levels => Change::Level,
                Some(_) => continue,
            };
            let Some(a) = self.active.get_mut(key) else {
                continue;
            };
            a.levels = levels;
            a.alerts += 1;
            out.push(TacticalAlert {
                conflict_id: a.id.clone(),
                alert_id: format!("{}:{}", a.id, a.alerts),
                change,
                at_ms: now_ms,
                sides: sides.clone(),
                advice: None,
            });
        }
        out
    }

    /// The alerts of the open conflicts that `now_open` no longer holds, which the record drops.
    fn ended(&mut self, now_open: &Open, now_ms: i64) -> Vec<TacticalAlert> {
        let mut out = Vec::new();
        let ended: Vec<(String, String)> = self
            .active
            .keys()
            .filter(|k| !now_open.contains_key(*k))
            .cloned()
            .collect();
        for key in ended {
            let Some(mut a) = self.active.remove(&key) else {
                continue;
            };
            a.alerts += 1;
            out.push(TacticalAlert {
                conflict_id: a.id.clone(),
                alert_id: format!("{}:{}", a.id, a.alerts),
                change: Change::Ended,
                at_ms: now_ms,
                sides: [quiet_side(&key.0), quiet_side(&key.1)],
                advice: None,
            });
        }
        out
    }

    /// Adds the coordinated advice to corrective and warning alerts, counts and emits them;
    /// returns how many.
    fn publish(&mut self, out: Vec<TacticalAlert>, config: &wellclear::Config) -> usize {
        let mut n = 0;
        for mut a in out {
            if a.change != Change::Ended && a.level() >= Level::Corrective {
                a.advice = self.advice_for(config, &a);
                if a.advice.is_some() {
                    self.counters.advice_given += 1;
                } else {
                    self.counters.advice_failed += 1;
                }
            }
            let name = match a.change {
                Change::Ended => "ended",
                _ => a.level().as_str(),
            };
            *self.counters.alerts.entry(name).or_default() += 1;
            n += 1;
            self.emit(Output::Tactical(a));
        }
        n
    }

    /// The coordinated advice on `a`, from both aircraft's latest reports.
    fn advice_for(
        &self,
        config: &wellclear::Config,
        a: &TacticalAlert,
    ) -> Option<Box<crate::advice::PairAdvice>> {
        let [sa, sb] = &a.sides;
        let ra = &self.track(&sa.party, &sa.track_id)?.report;
        let rb = &self.track(&sb.party, &sb.track_id)?.report;
        crate::advice::advise(config, a.at_ms, (&sa.party, ra), (&sb.party, rb))
            .ok()
            .map(Box::new)
    }
}

/// Whether a grading steps each aircraft's alerting history (the tick) or grades with none
/// (a pass on arrival, between ticks, which must not step the histories the tick keeps).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Histories {
    Kept,
    None,
}

/// The cycle's tracks, in identifier order, by index.
#[derive(Clone, Copy)]
struct Ids<'a>(&'a [(engine::TrackId, engine::PartyId, engine::AircraftState)]);

impl Ids<'_> {
    /// The identifier of track `i`.
    fn id(&self, i: u32) -> &str {
        self.0[i as usize].0.as_str()
    }

    /// The index of the track `id`, if it is among the cycle's.
    fn index(&self, id: &str) -> Option<u32> {
        let key = engine::TrackId::new(id).ok()?;
        let i = self.0.binary_search_by(|(t, _, _)| t.cmp(&key)).ok()?;
        u32::try_from(i).ok()
    }
}

/// A side with nothing to say: the track of `id` (party and track), no alert.
fn quiet_side(id: &str) -> Side {
    let (party, track) = split_id(id);
    Side {
        party: party.to_string(),
        track_id: track.to_string(),
        level: Level::None,
        alert_level: 0,
        time_to_violation_s: None,
        closest: None,
    }
}

/// `own`'s side of its pair with `other`: its level, time to violation and closest approach.
fn side(ids: Ids<'_>, graded: &Graded, config: &wellclear::Config, own: u32, other: u32) -> Side {
    let mut s = quiet_side(ids.id(own));
    if let Some(a) = graded.get(&(own, other)) {
        s.level = Level::of(config, a.alerter_index, a.alert_level);
        s.alert_level = u8::try_from(a.alert_level).unwrap_or(u8::MAX);
        s.time_to_violation_s = (a.alert_level as usize)
            .checked_sub(1)
            .and_then(|k| a.time_to_volume_s.get(k).copied().flatten());
        let t = a.tcpa_s();
        s.closest = Some(Closest {
            in_s: t,
            horizontal_m: a.dcpa_m(),
            vertical_m: (a.relative_position_m.z + a.relative_velocity_mps.z * t).abs(),
        });
    }
    s
}

/// The pairs where either aircraft's alerter raises an alert, with both sides.
fn open_conflicts(
    ids: Ids<'_>,
    pairs: &BTreeSet<(u32, u32)>,
    graded: &Graded,
    config: &wellclear::Config,
) -> Open {
    let alerted = |own: u32, other: u32| {
        graded
            .get(&(own, other))
            .is_some_and(|a| Level::of(config, a.alerter_index, a.alert_level) != Level::None)
    };
    let mut now_open = Open::new();
    for &(i, j) in pairs {
        // Most candidates raise nothing: build the sides only for those that do.
        if !alerted(i, j) && !alerted(j, i) {
            continue;
        }
        let sides = [
            side(ids, graded, config, i, j),
            side(ids, graded, config, j, i),
        ];
        if sides.iter().any(|s| s.level != Level::None) {
            now_open.insert((ids.id(i).to_string(), ids.id(j).to_string()), sides);
        }
    }
    now_open
}
