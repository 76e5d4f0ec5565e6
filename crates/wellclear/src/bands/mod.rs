//! Maneuver guidance bands, as DAIDALUS v2.0.4 computes them: for one ownship against its
//! traffic, which horizontal directions, horizontal speeds, vertical speeds and altitudes keep
//! it well clear, graded by region (NONE, FAR, MID, NEAR) from the alert levels of each
//! intruder's alerter, with RECOVERY bands once well clear can no longer be kept; the aircraft
//! behind each region (conflict and peripheral), resolutions, the preferred direction, the time
//! intervals of conflict and the last times to maneuver.
//!
//! How a band is found, per intruder and per kind: candidate values are stepped away from the
//! current one on each side (one `step_*` at a time). Kinematic bands fly the maneuver towards
//! each candidate — a turn at the turn rate, an acceleration, a climb at the vertical rate with
//! level-off — and a candidate is in conflict when the straight flight after the maneuver
//! violates the level's volume within the level's time horizon counted from the end of the
//! maneuver, or when the volume is violated at a step along the way (beyond which every
//! candidate on that side is in conflict). Instantaneous bands change the value at once. A
//! region's conflict-free set is the intersection over the intruders that are in conflict for
//! that region within its alerting time, or would be after a maneuver (peripheral). When the
//! corrective region is saturated, recovery bands look for the earliest time from which the
//! recovery cylinder (then a shrinking one, down to the NMAC cylinder) can be kept.
//!
//! The module is sans-IO: a [`BandsEngine`] keeps the per-kind memory (M-of-N filter of colours,
//! persistence of the conflict band, resolutions and preferred direction) between steps; time
//! is a parameter.

mod colors;
mod persistence;
mod trajectory;

use crate::conf::{self, BandsConfig, Config, Detector};
use crate::detect::{Cylinder, PairState};
use crate::geom::Vec3;

pub use colors::BandsRange;
use colors::{IntervalSet, aeq, agt, safe_modulo};
use persistence::{BandsMemory, Settings};
pub use trajectory::Own;
use trajectory::{LevelOff, compass, is_instantaneous, level_off_state, modulo};

/// The kinds of bands, in DaidalusBatch's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Horizontal direction (track, or heading with wind).
    Direction,
    /// Horizontal speed.
    HorizontalSpeed,
    /// Vertical speed.
    VerticalSpeed,
    /// Altitude.
    Altitude,
}

impl Kind {
    /// All kinds, in output order.
    pub const ALL: [Kind; 4] = [
        Kind::Direction,
        Kind::HorizontalSpeed,
        Kind::VerticalSpeed,
        Kind::Altitude,
    ];

    fn index(self) -> usize {
        match self {
            Kind::Direction => 0,
            Kind::HorizontalSpeed => 1,
            Kind::VerticalSpeed => 2,
            Kind::Altitude => 3,
        }
    }

    fn modulus(self) -> f64 {
        match self {
            Kind::Direction => 2.0 * std::f64::consts::PI,
            _ => 0.0,
        }
    }
}

/// Region of a band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// Not computed or outside the range.
    Unknown,
    /// Conflict free.
    None,
    /// Conflict with the FAR volume.
    Far,
    /// Conflict with the MID volume (DO-365: corrective).
    Mid,
    /// Conflict with the NEAR volume (DO-365: warning).
    Near,
    /// Recovery: the way back to well clear once it cannot be kept.
    Recovery,
}

impl Region {
    /// DAIDALUS's order: NONE 0, FAR 1, MID 2, NEAR 3, RECOVERY 4, unknown −1.
    pub fn order(self) -> i32 {
        match self {
            Region::Unknown => -1,
            Region::None => 0,
            Region::Far => 1,
            Region::Mid => 2,
            Region::Near => 3,
            Region::Recovery => 4,
        }
    }

    fn from_order(i: i32) -> Self {
        match i {
            0 => Region::None,
            1 => Region::Far,
            2 => Region::Mid,
            3 => Region::Near,
            4 => Region::Recovery,
            _ => Region::Unknown,
        }
    }

    /// NONE and RECOVERY: the bands to fly.
    pub fn is_resolution(self) -> bool {
        matches!(self, Region::None | Region::Recovery)
    }

    /// FAR, MID, NEAR.
    pub fn is_conflict(self) -> bool {
        matches!(self, Region::Far | Region::Mid | Region::Near)
    }

    fn conflict_order(self) -> i32 {
        if self.is_resolution() {
            0
        } else {
            self.order()
        }
    }

    /// Name as DAIDALUS prints it.
    pub fn name(self) -> &'static str {
        match self {
            Region::Unknown => "UNKNOWN",
            Region::None => "NONE",
            Region::Far => "FAR",
            Region::Mid => "MID",
            Region::Near => "NEAR",
            Region::Recovery => "RECOVERY",
        }
    }

    fn of_alert(r: conf::Region) -> Self {
        match r {
            conf::Region::None => Region::None,
            conf::Region::Far => Region::Far,
            conf::Region::Mid => Region::Mid,
            conf::Region::Near => Region::Near,
        }
    }
}

/// Conflict regions from the most severe: index 0 NEAR, 1 MID, 2 FAR.
const CONFLICT_REGIONS: [conf::Region; 3] =
    [conf::Region::Near, conf::Region::Mid, conf::Region::Far];

/// An intruder as the bands see it: position and air velocity in the ownship's local frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Intruder {
    /// Name.
    pub id: String,
    /// Position, m.
    pub s: Vec3,
    /// Velocity, m/s.
    pub v: Vec3,
    /// 1-based index of the intruder's own alerter (used unless alerting is ownship-centric).
    pub alerter: u32,
}

/// Recovery information of one kind of bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    /// Time to recovery, s: NaN when no recovery bands, −∞ when none could be found.
    pub time_s: f64,
    /// Times the recovery volume was shrunk (collision-avoidance bands); −1 when not computed.
    pub nfactor: i32,
    /// Horizontal size of the recovery volume used, m.
    pub horizontal_m: f64,
    /// Vertical size of the recovery volume used, m.
    pub vertical_m: f64,
}

impl Recovery {
    const NOT_COMPUTED: Recovery = Recovery {
        time_s: f64::NAN,
        nfactor: -1,
        horizontal_m: f64::NAN,
        vertical_m: f64::NAN,
    };
}

/// Bands of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindBands {
    /// Current value, SI (direction rad in [0, 2π)).
    pub value: f64,
    /// Region of the current value.
    pub current: Region,
    /// The bands, SI, ordered.
    pub ranges: Vec<BandsRange>,
    /// Indices (into the traffic) of the peripheral aircraft of FAR, MID, NEAR.
    pub peripheral: [Vec<usize>; 3],
    /// Closest resolution below / left (NaN: no conflict; −∞: none).
    pub resolution_low: f64,
    /// Closest resolution above / right (NaN: no conflict; +∞: none).
    pub resolution_up: f64,
    /// Preferred direction: up (right, faster, climb) when true.
    pub preferred_up: bool,
    /// Recovery information.
    pub recovery: Recovery,
}

/// Everything the bands say at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBands {
    /// Indices (into the traffic) of the aircraft in conflict for FAR, MID, NEAR.
    pub conflict: [Vec<usize>; 3],
    /// Time interval of conflict for FAR, MID, NEAR, s.
    pub time_interval: [Option<(f64, f64)>; 3],
    /// Per traffic aircraft: interval of violation of the corrective volume within the lookahead.
    pub corrective_interval: Vec<Option<(f64, f64)>>,
    /// Bands per kind, in [`Kind::ALL`] order.
    pub kinds: [KindBands; 4],
    /// Per traffic aircraft, per kind: last time to start a maneuver of that kind that still
    /// avoids the corrective volume, s (NaN: no conflict; −∞: no time).
    pub last_time_to_maneuver: Vec<[f64; 4]>,
}

/// Bands of one ownship, step after step.
#[derive(Debug, Clone)]
pub struct BandsEngine {
    config: Config,
    ownship_id: Option<String>,
    memories: [BandsMemory; 4],
}

impl BandsEngine {
    /// A new engine with no memory.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ownship_id: None,
            memories: Kind::ALL.map(|k| BandsMemory::new(k.modulus())),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bands at time `now_s` for ownship `own_id` (1-based alerter `own_alerter`) in state
    /// `own` against `traffic`.
    pub fn step(
        &mut self,
        now_s: f64,
        own_id: &str,
        own_alerter: u32,
        own: Own,
        traffic: &[Intruder],
    ) -> StepBands {
        if self.ownship_id.as_deref() != Some(own_id) {
            self.memories = Kind::ALL.map(|k| BandsMemory::new(k.modulus()));
            self.ownship_id = Some(own_id.to_string());
        }
        let core = Core::new(&self.config, own_alerter, own, traffic);
        let settings = Settings {
            hysteresis_s: self.config.hysteresis_s(),
            persistence_s: self.config.persistence_s(),
            bands_persistence: self.config.bands().bands_persistence,
            m: self.config.mofn().map_or(0, |m| m.m() as usize),
            n: self.config.mofn().map_or(0, |m| m.n() as usize),
        };
        let kinds = Kind::ALL.map(|k| {
            let mem = &mut self.memories[k.index()];
            core.kind_bands(k, mem, &settings, now_s)
        });
        let last_time_to_maneuver = (0..traffic.len())
            .map(|i| Kind::ALL.map(|k| core.last_time_to_maneuver(k, i)))
            .collect();
        let corrective_interval = (0..traffic.len())
            .map(|i| {
                let (det, _) = core.corrective(i)?;
                det.conflict_between(&core.pair(i), 0.0, self.config.lookahead_s())
            })
            .collect();
        StepBands {
            conflict: [2, 1, 0].map(|cr| core.acs[cr].iter().map(|l| l.ac).collect()),
            time_interval: [2, 1, 0].map(|cr| core.tiov[cr]),
            corrective_interval,
            kinds,
            last_time_to_maneuver,
        }
    }
}

/// Bands of `own` against `traffic` with no memory of earlier steps (no M-of-N, persistence or
/// hysteresis carried over): a pure function of the states.
pub fn bands_once(
    config: &Config,
    own_id: &str,
    own_alerter: u32,
    own: Own,
    traffic: &[Intruder],
) -> StepBands {
    BandsEngine::new(config.clone()).step(0.0, own_id, own_alerter, own, traffic)
}

/// An aircraft with the level and time horizon its bands are computed for.
#[derive(Debug, Clone, Copy)]
struct Ilt {
    ac: usize,
    level: usize,
    t: f64,
}

/// The shared part of one step: conflict aircraft and time intervals per region.
struct Core<'a> {
    config: &'a Config,
    own_alerter: u32,
    own: Own,
    traffic: &'a [Intruder],
    acs: [Vec<Ilt>; 3],
    tiov: [Option<(f64, f64)>; 3],
    bands_for: [bool; 3],
}

impl<'a> Core<'a> {
    fn new(config: &'a Config, own_alerter: u32, own: Own, traffic: &'a [Intruder]) -> Self {
        let mut core = Core {
            config,
            own_alerter,
            own,
            traffic,
            acs: Default::default(),
            tiov: [None; 3],
            bands_for: [false; 3],
        };
        let lookahead = config.lookahead_s();
        for (cr, region) in CONFLICT_REGIONS.into_iter().enumerate() {
            core.bands_for[cr] = if config.ownship_centric() {
                core.alerter_by_index(own_alerter)
                    .is_some_and(|a| a.level_for_region(region).is_some())
            } else {
                config
                    .alerters()
                    .iter()
                    .any(|a| a.level_for_region(region).is_some())
            };
            let mut tin = f64::INFINITY;
            let mut tout = f64::NEG_INFINITY;
            for ac in 0..traffic.len() {
                let Some((alerter, level)) = core.level_for(ac, region) else {
                    continue;
                };
                let l = &alerter.levels()[level - 1];
                let alerting = lookahead.min(l.alerting_time_s());
                if let Some((a, b)) = l
                    .detector()
                    .conflict_between(&core.pair(ac), 0.0, lookahead)
                {
                    // In conflict within the alerting time: bands over the whole lookahead.
                    if a == 0.0 || a < alerting {
                        core.acs[cr].push(Ilt {
                            ac,
                            level,
                            t: lookahead,
                        });
                    }
                    tin = tin.min(a);
                    tout = tout.max(b);
                }
            }
            core.tiov[cr] = (tin <= tout).then_some((tin, tout));
        }
        core
    }

    fn alerter_by_index(&self, idx: u32) -> Option<&'a conf::Alerter> {
        (idx as usize)
            .checked_sub(1)
            .and_then(|i| self.config.alerters().get(i))
    }

    fn alerter_of(&self, ac: usize) -> Option<&'a conf::Alerter> {
        self.alerter_by_index(if self.config.ownship_centric() {
            self.own_alerter
        } else {
            self.traffic[ac].alerter
        })
    }

    fn level_for(&self, ac: usize, region: conf::Region) -> Option<(&'a conf::Alerter, usize)> {
        let a = self.alerter_of(ac)?;
        Some((a, a.level_for_region(region)?))
    }

    fn corrective(&self, ac: usize) -> Option<(&'a Detector, f64)> {
        let (a, level) = self.level_for(ac, self.config.corrective_region())?;
        let l = &a.levels()[level - 1];
        Some((l.detector(), self.config.lookahead_s()))
    }

    fn pair(&self, ac: usize) -> PairState {
        let t = &self.traffic[ac];
        PairState {
            so: self.own.s,
            vo: self.own.v,
            si: t.s,
            vi: t.v,
        }
    }

    fn search(&self, kind: Kind, range: &ValueRange, own: Own, ac: usize) -> Search<'_> {
        let c = self.config.bands();
        let tstep = trajectory::time_step(c, kind, &own);
        Search {
            c,
            kind,
            own,
            si: self.traffic[ac].s,
            vi: self.traffic[ac].v,
            lookahead: self.config.lookahead_s(),
            inst: is_instantaneous(c, kind) || tstep.is_none(),
            tstep: tstep.unwrap_or(1.0),
            range: *range,
        }
    }

    fn kind_bands(
        &self,
        kind: Kind,
        mem: &mut BandsMemory,
        settings: &Settings,
        now: f64,
    ) -> KindBands {
        let c = self.config.bands();
        let value = self.own.value(kind);
        let Some(range) = ValueRange::new(c, kind, value) else {
            mem.reset_unless_continuing(now, settings);
            return KindBands {
                value,
                current: Region::Unknown,
                ranges: Vec::new(),
                peripheral: Default::default(),
                resolution_low: f64::NAN,
                resolution_up: f64::NAN,
                preferred_up: mem.preferred_up(),
                recovery: Recovery::NOT_COMPUTED,
            };
        };
        let lookahead = self.config.lookahead_s();
        // Peripheral aircraft and the aircraft each region's bands are computed for.
        let mut peripheral: [Vec<usize>; 3] = Default::default();
        let mut acs: [Vec<Ilt>; 3] = self.acs.clone();
        for (cr, region) in CONFLICT_REGIONS.into_iter().enumerate() {
            if !self.bands_for[cr] {
                continue;
            }
            for ac in 0..self.traffic.len() {
                let Some((alerter, level)) = self.level_for(ac, region) else {
                    continue;
                };
                let l = &alerter.levels()[level - 1];
                let det = l.detector();
                let t = lookahead.min(l.alerting_time_s());
                if det.conflict_between(&self.pair(ac), 0.0, t).is_none()
                    && self.search(kind, &range, self.own, ac).any_red(det, 0.0, t)
                {
                    peripheral[cr].push(ac);
                    acs[cr].push(Ilt { ac, level, t });
                }
            }
        }
        let recovery_enabled = c.recovery[kind.index()];
        let corrective_cr = (3 - self.config_corrective_order()) as usize;
        let mut none_sets: [IntervalSet; 3] = Default::default();
        let mut recovery_info = Recovery::NOT_COMPUTED;
        let mut recovery = false;
        let mut saturated = false;
        let mut cr = 0;
        while cr < 3 && !saturated {
            if self.bands_for[cr] {
                none_sets[cr] = self.none_set(kind, &range, &acs[cr], None, None, 0.0);
                if recovery_enabled {
                    if none_sets[cr].is_empty() && cr <= corrective_cr {
                        none_sets[corrective_cr] = self.recovery_set(
                            kind,
                            &range,
                            &acs[corrective_cr],
                            &mut recovery_info,
                        );
                        recovery = true;
                    } else if is_instantaneous(c, kind)
                        && cr == corrective_cr
                        && self.tiov[cr].is_some_and(|(a, _)| a == 0.0)
                    {
                        recovery_info = Recovery {
                            time_s: 0.0,
                            nfactor: 0,
                            horizontal_m: c.min_horizontal_recovery_m,
                            vertical_m: c.min_vertical_recovery_m,
                        };
                        recovery = true;
                    }
                }
                saturated = recovery || none_sets[cr].is_empty();
            }
            cr += 1;
        }
        let last = if recovery { corrective_cr } else { cr - 1 };
        let mut lcvs = range.initial_colors();
        for (cr, set) in none_sets.iter().enumerate().take(last + 1) {
            if self.bands_for[cr] {
                colors::insert_none_set(&mut lcvs, set, Region::of_alert(CONFLICT_REGIONS[cr]));
                if set.is_empty() {
                    break;
                }
            }
        }
        if recovery {
            colors::insert_recovery_set(&mut lcvs, &none_sets[last]);
        }
        mem.reset_unless_continuing(now, settings);
        let (ranges, idx) = mem.filter(settings, &mut lcvs, recovery, value);
        let corrective = Region::of_alert(self.config.corrective_region());
        mem.resolutions(
            settings,
            &ranges,
            corrective,
            c.persistence_preferred[kind.index()],
            recovery_info.nfactor,
            value,
            idx,
        );
        KindBands {
            value,
            current: idx.map_or(Region::Unknown, |i| ranges[i].region),
            ranges,
            peripheral: [2, 1, 0].map(|cr| std::mem::take(&mut peripheral[cr])),
            resolution_low: mem.resolution_low,
            resolution_up: mem.resolution_up,
            preferred_up: mem.preferred_up(),
            recovery: recovery_info,
        }
    }

    fn config_corrective_order(&self) -> i32 {
        Region::of_alert(self.config.corrective_region()).order()
    }

    /// Conflict-free set against the aircraft `ilts`: with each one's level detector (or `det`),
    /// a recovery detector over `[0, b]`, from time `b`.
    fn none_set(
        &self,
        kind: Kind,
        range: &ValueRange,
        ilts: &[Ilt],
        det: Option<&Detector>,
        rec: Option<&Detector>,
        b: f64,
    ) -> IntervalSet {
        let mut set = range.saturated();
        for ilt in ilts {
            let Some(alerter) = self.alerter_of(ilt.ac) else {
                continue;
            };
            let detector = det.unwrap_or_else(|| alerter.levels()[ilt.level - 1].detector());
            let s = self.search(kind, range, self.own, ilt.ac);
            let set2 = if b > ilt.t {
                match rec {
                    Some(r) => s.none_bands(r, None, 0.0, ilt.t),
                    None => range.saturated(),
                }
            } else {
                s.none_bands(detector, rec, b, ilt.t)
            };
            set.intersect(&set2);
            if set.is_empty() {
                break;
            }
        }
        set
    }

    fn recovery_set(
        &self,
        kind: Kind,
        range: &ValueRange,
        ilts: &[Ilt],
        info: &mut Recovery,
    ) -> IntervalSet {
        let c = self.config.bands();
        *info = Recovery {
            time_s: f64::NEG_INFINITY,
            nfactor: 0,
            horizontal_m: f64::NEG_INFINITY,
            vertical_m: f64::NEG_INFINITY,
        };
        let t = self.config.lookahead_s();
        let cyl = |h: f64, v: f64| Cylinder::new(h, v).map(Detector::Cylinder);
        let Some(nmac) = cyl(c.horizontal_nmac_m, c.vertical_nmac_m) else {
            return IntervalSet::default();
        };
        let mut set = self.none_set(kind, range, ilts, Some(&nmac), None, 0.0);
        if set.is_empty() {
            return set;
        }
        let (mut h, mut v) = recovery_volume(c, self.own.s.z);
        let factor = 1.0 - c.ca_factor;
        let mut nfactor = 0;
        while h > c.horizontal_nmac_m || v > c.vertical_nmac_m {
            let Some(cd) = cyl(h, v) else {
                break;
            };
            set = self.none_set(kind, range, ilts, Some(&cd), None, 0.0);
            let solid = set.is_empty();
            if solid && !c.ca_bands {
                return set;
            } else if !solid {
                let (mut red, mut green) = (0.0, t + 1.0);
                let mut pivot = green - 1.0;
                while green - red > 0.5 {
                    set = self.none_set(kind, range, ilts, None, Some(&cd), pivot);
                    if set.is_empty() {
                        red = pivot;
                    } else {
                        green = pivot;
                    }
                    pivot = (red + green) / 2.0;
                }
                let time = if green <= t {
                    t.min(green + c.recovery_stability_time_s)
                } else {
                    red
                };
                set = self.none_set(kind, range, ilts, None, Some(&cd), time);
                if !set.is_empty() {
                    *info = Recovery {
                        time_s: time,
                        nfactor,
                        horizontal_m: h,
                        vertical_m: v,
                    };
                    return set;
                } else if !c.ca_bands {
                    return set;
                }
            }
            nfactor += 1;
            info.nfactor = nfactor;
            h = c.horizontal_nmac_m.max(h * factor);
            v = c.vertical_nmac_m.max(v * factor);
        }
        set
    }

    fn last_time_to_maneuver(&self, kind: Kind, ac: usize) -> f64 {
        let c = self.config.bands();
        let Some(range) = ValueRange::new(c, kind, self.own.value(kind)) else {
            return f64::NAN;
        };
        let Some((det, t)) = self.corrective(ac) else {
            return f64::NAN;
        };
        let Some((tin, _)) = det.conflict_between(&self.pair(ac), 0.0, t) else {
            return f64::NAN;
        };
        if tin == 0.0 {
            return f64::NEG_INFINITY;
        }
        let (mut red, mut green) = (tin, 0.0);
        let mut pivot = green;
        while red - green > 0.5 {
            let own = Own {
                s: self.own.s.linear(self.own.v, pivot),
                v: self.own.v,
            };
            let p = self.pair(ac).at(pivot);
            let mut s = self.search(kind, &range, own, ac);
            s.si = p.si;
            if det.violation(&p) || s.all_red(det, 0.0, t) {
                red = pivot;
            } else {
                green = pivot;
            }
            pivot = (red + green) / 2.0;
        }
        if green == 0.0 {
            f64::NEG_INFINITY
        } else {
            green
        }
    }
}

/// The range of values of one kind at one step (DAIDALUS's checked input).
#[derive(Debug, Clone, Copy)]
struct ValueRange {
    val: f64,
    min_param: f64,
    max_param: f64,
    min_val: f64,
    max_val: f64,
    modulus: f64,
    circular: bool,
    step: f64,
    maxdown: i64,
    maxup: i64,
}

impl ValueRange {
    fn new(c: &BandsConfig, kind: Kind, val: f64) -> Option<Self> {
        let modulus = kind.modulus();
        let step = trajectory::step(c, kind);
        let (min_param, max_param, min_rel, max_rel) = match kind {
            Kind::Direction => (0.0, 0.0, c.left_hdir_rad, c.right_hdir_rad),
            Kind::HorizontalSpeed => (c.min_hs_mps, c.max_hs_mps, 0.0, 0.0),
            Kind::VerticalSpeed => (c.min_vs_mps, c.max_vs_mps, 0.0, 0.0),
            Kind::Altitude => (c.min_alt_m, c.max_alt_m, 0.0, 0.0),
        };
        if !val.is_finite() {
            return None;
        }
        let (mut min_val, mut max_val) = (min_param, max_param);
        if min_rel != 0.0 || max_rel != 0.0 {
            min_val = safe_modulo(val - min_rel, modulus);
            max_val = safe_modulo(val + max_rel, modulus);
            if modulus == 0.0 {
                min_val = min_val.max(min_param);
                max_val = max_val.min(max_param);
            }
        }
        let circular = modulus > 0.0 && aeq(min_val, max_val);
        let (min_relative, max_relative) = if circular {
            (modulus / 2.0, modulus / 2.0)
        } else {
            (
                if min_rel > 0.0 {
                    min_rel
                } else {
                    safe_modulo(val - min_val, modulus)
                },
                if max_rel > 0.0 {
                    max_rel
                } else {
                    safe_modulo(max_val - val, modulus)
                },
            )
        };
        let valid = (min_val <= val && val <= max_val && min_val != max_val)
            || (modulus > 0.0
                && (circular
                    || (0.0 <= val && val <= max_val)
                    || (min_val <= val && val <= modulus)));
        if !valid {
            return None;
        }
        let steps = |rel: f64| {
            let mut n = (rel / step).ceil() as i64;
            if modulus > 0.0 && agt(n as f64 * step, modulus / 2.0) {
                n -= 1;
            }
            n
        };
        Some(Self {
            val,
            min_param,
            max_param,
            min_val,
            max_val,
            modulus,
            circular,
            step,
            maxdown: steps(min_relative),
            maxup: steps(max_relative),
        })
    }

    fn saturated(&self) -> IntervalSet {
        let mut s = IntervalSet::default();
        if self.modulus == 0.0 {
            s.add(self.min_val, self.max_val);
        } else if self.circular {
            s.add(0.0, self.modulus);
        } else if self.min_val < self.max_val {
            s.add(self.min_val, self.max_val);
        } else {
            s.add(self.min_val, self.modulus);
            s.add(0.0, self.max_val);
        }
        s
    }

    fn initial_colors(&self) -> Vec<colors::ColorValue> {
        if self.modulus == 0.0 {
            colors::init(
                self.min_param,
                self.max_param,
                self.min_val,
                self.max_val,
                Region::None,
            )
        } else {
            colors::init_with_mod(self.min_val, self.max_val, self.modulus, Region::None)
        }
    }

    /// Adds the values `[lb, ub]` (wrapping for directions) clipped to the range.
    fn add_none(&self, set: &mut IntervalSet, lb: f64, ub: f64) {
        if aeq(lb, ub) {
            return;
        }
        if self.modulus == 0.0 {
            let lb = lb.max(self.min_val);
            let ub = ub.min(self.max_val);
            if colors::alt(lb, ub) {
                set.add(lb, ub);
            }
            return;
        }
        let m = self.modulus;
        let lb = modulo(lb, m);
        let ub = modulo(ub, m);
        let mut minmax = IntervalSet::default();
        if self.circular {
        } else if self.min_val < self.max_val {
            minmax.add(self.min_val, self.max_val);
        } else {
            minmax.add(0.0, self.max_val);
            minmax.add(self.min_val, m);
        }
        let mut lbub = IntervalSet::default();
        if aeq(lb, ub) {
        } else if lb < ub {
            lbub.add(lb, ub);
        } else {
            lbub.add(0.0, ub);
            lbub.add(lb, m);
        }
        if minmax.is_empty() && lbub.is_empty() {
            set.add(0.0, m);
        } else if lbub.is_empty() {
            set.union(&minmax);
        } else {
            if !minmax.is_empty() {
                lbub.intersect(&minmax);
            }
            set.union(&lbub);
        }
    }

    /// Integer bands (in steps) to values.
    fn none_set_of(&self, ints: &[(i64, i64)], add: f64) -> IntervalSet {
        let mut set = IntervalSet::default();
        for &(lb, ub) in ints {
            if lb == ub {
                continue;
            }
            self.add_none(
                &mut set,
                self.step * lb as f64 + add,
                self.step * ub as f64 + add,
            );
        }
        set
    }
}

/// Runs of free candidates `0..=max` as integer intervals; a run of a single candidate at `max`
/// is dropped unless `keep_last`.
fn free_runs(max: i64, keep_last: bool, mut free: impl FnMut(i64) -> bool) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut d: i64 = -1;
    for k in 0..=max {
        if d >= 0 && free(k) {
            continue;
        } else if d >= 0 {
            out.push((d, k - 1));
            d = -1;
        } else if free(k) {
            d = k;
        }
    }
    if d >= 0 && (keep_last || d != max) {
        out.push((d, max));
    }
    out
}

/// Left (negated) and right runs joined into one ordered list of integer intervals.
fn combine(mut left: Vec<(i64, i64)>, right: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    left.reverse();
    for x in left.iter_mut() {
        *x = (-x.1, -x.0);
    }
    let mut right = right.into_iter().peekable();
    if let (Some(last), Some(first)) = (left.last_mut(), right.peek())
        && first.0 - last.1 <= 1
    {
        last.1 = first.1;
        right.next();
    }
    left.extend(right);
    left
}

/// Band search of one kind against one intruder.
struct Search<'a> {
    c: &'a BandsConfig,
    kind: Kind,
    own: Own,
    si: Vec3,
    vi: Vec3,
    lookahead: f64,
    inst: bool,
    tstep: f64,
    range: ValueRange,
}

impl Search<'_> {
    fn pair(&self, so: Vec3, vo: Vec3, t: f64) -> PairState {
        PairState {
            so,
            vo,
            si: self.si.linear(self.vi, t),
            vi: self.vi,
        }
    }

    fn traj(&self, t: f64, up: bool) -> (Vec3, Vec3) {
        trajectory::kinematic(self.c, self.kind, &self.own, t, up)
    }

    /// Conflict in `[max(b, tsk), min(lookahead, t)]` after flying the maneuver for `tsk`.
    fn cd_future(&self, det: &Detector, b: f64, t: f64, state: (Vec3, Vec3), tsk: f64) -> bool {
        let t = t.min(self.lookahead);
        if tsk > t || b > t {
            return false;
        }
        det.conflict_between(&self.pair(state.0, state.1, tsk), b.max(tsk) - tsk, t - tsk)
            .is_some()
    }

    fn los_at(&self, det: &Detector, state: (Vec3, Vec3), tsk: f64) -> bool {
        det.violation(&self.pair(state.0, state.1, tsk))
    }

    /// Loss of the volume between this step and the next of the maneuver (flown straight from
    /// this step's state): short losses that fall between two steps are not missed.
    fn los_within_step(&self, det: &Detector, state: (Vec3, Vec3), tsk: f64) -> bool {
        det.conflict_between(&self.pair(state.0, state.1, tsk), 0.0, self.tstep)
            .is_some()
    }

    fn no_cd(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        up: bool,
        tsk: f64,
    ) -> bool {
        let st = self.traj(tsk, up);
        !self.cd_future(conflict, b, t, st, tsk)
            && !rec.is_some_and(|r| self.cd_future(r, 0.0, b, st, tsk))
    }

    fn inst_state(&self, up: bool, j: i64) -> (Vec3, Vec3) {
        trajectory::instantaneous(self.c, self.kind, &self.own, up, j, 0.0)
    }

    fn no_inst_conflict(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        up: bool,
        j: i64,
    ) -> bool {
        let st = self.inst_state(up, j);
        !self.cd_future(conflict, b, t, st, 0.0)
            && !rec.is_some_and(|r| self.cd_future(r, 0.0, b, st, 0.0))
    }

    fn max(&self, up: bool) -> i64 {
        if up {
            self.range.maxup
        } else {
            self.range.maxdown
        }
    }

    fn first_los_search_index(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        up: bool,
    ) -> i64 {
        let max = self.max(up);
        let k0 = (b / self.tstep).ceil() as i64;
        let n = ((self.lookahead / self.tstep).floor() as i64).min(max);
        let n2 = ((b / self.tstep).floor() as i64).min(max);
        let los = |det: &Detector, from: i64, to: i64| {
            (from..=to).find(|&k| {
                let tsk = k as f64 * self.tstep;
                self.los_within_step(det, self.traj(tsk, up), tsk)
            })
        };
        let init = rec.and_then(|r| los(r, 0, n2)).unwrap_or(max + 1);
        let first = los(conflict, k0, n).unwrap_or(max + 1);
        init.min(first)
    }

    fn side(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        up: bool,
    ) -> Vec<(i64, i64)> {
        if self.inst {
            return free_runs(self.max(up), false, |k| {
                self.no_inst_conflict(conflict, rec, b, t, up, k)
            });
        }
        let bsi = self.first_los_search_index(conflict, rec, b, up);
        if bsi == 0 {
            return Vec::new();
        }
        free_runs(bsi - 1, false, |k| {
            let tsk = k as f64 * self.tstep;
            self.no_cd(conflict, rec, b, t + tsk, up, tsk)
        })
    }

    /// Conflict-free values against this intruder.
    fn none_bands(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
    ) -> IntervalSet {
        if self.kind == Kind::Altitude {
            let maxup =
                ((self.range.max_val - self.range.min_val) / self.range.step).floor() as i64 + 1;
            let ints = free_runs(maxup, true, |k| self.alt_free(conflict, rec, b, t, k));
            return self.range.none_set_of(&ints, self.range.min_val);
        }
        let ints = combine(
            self.side(conflict, rec, b, t, false),
            self.side(conflict, rec, b, t, true),
        );
        self.range.none_set_of(&ints, self.range.val)
    }

    /// True when some value is in conflict within `[b, t]` (peripheral aircraft).
    fn any_red(&self, det: &Detector, b: f64, t: f64) -> bool {
        if self.kind == Kind::Altitude {
            return self.first_alt(det, b, t, true, false).is_some()
                || self.first_alt(det, b, t, false, false).is_some();
        }
        [false, true].into_iter().any(|up| {
            (0..=self.max(up)).any(|k| {
                if self.inst {
                    !self.no_inst_conflict(det, None, b, t, up, k)
                } else {
                    let tsk = k as f64 * self.tstep;
                    self.cd_future(det, b, t + tsk, self.traj(tsk, up), tsk)
                }
            })
        })
    }

    /// True when every value is in conflict within `[b, t]`.
    fn all_red(&self, det: &Detector, b: f64, t: f64) -> bool {
        if self.kind == Kind::Altitude {
            return self.first_alt(det, b, t, true, true).is_none()
                && self.first_alt(det, b, t, false, true).is_none();
        }
        [false, true].into_iter().all(|up| {
            if self.inst {
                return !(0..=self.max(up)).any(|k| self.no_inst_conflict(det, None, b, t, up, k));
            }
            for k in 0..=self.max(up) {
                let tsk = k as f64 * self.tstep;
                let st = self.traj(tsk, up);
                if b <= tsk && self.los_at(det, st, tsk) {
                    return true;
                }
                if self.no_cd(det, None, b, t + tsk, up, tsk) {
                    return false;
                }
            }
            true
        })
    }

    fn alt_target(&self, k: i64) -> f64 {
        self.range.min_val + k as f64 * self.range.step
    }

    /// True when levelling off at candidate altitude `k` stays conflict free.
    fn alt_free(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        k: i64,
    ) -> bool {
        let target = self.alt_target(k);
        if self.inst {
            let st = trajectory::instantaneous(self.c, Kind::Altitude, &self.own, true, 0, target);
            return !self.cd_future(conflict, b, t, st, 0.0)
                && !rec.is_some_and(|r| self.cd_future(r, 0.0, b, st, 0.0));
        }
        let lo = LevelOff::new(
            &self.own,
            self.c.vertical_rate_mps,
            self.c.vertical_accel_mps2,
            target,
        );
        let tstep = 1.0;
        let (t1, t2, t3) = (lo.t1, lo.t2, lo.t3 + tstep);
        let state = |tau: f64| level_off_state(&self.own, &lo, tau);
        let los_free = |from: i64, to: i64| {
            (from..=to).all(|i| {
                let tsi = i as f64 * tstep;
                let st = state(tsi);
                !((b <= tsi && self.los_at(conflict, st, tsi))
                    || rec.is_some_and(|r| tsi <= b && self.los_at(r, st, tsi)))
            })
        };
        if !los_free(0, (t1 / tstep).floor() as i64) {
            return false;
        }
        let tsk1 = t1.max(0.0);
        let st1 = state(tsk1);
        if (t2 >= b && self.cd_future(conflict, b, (t + tsk1).min(t2), st1, tsk1))
            || rec.is_some_and(|r| t2 >= 0.0 && self.cd_future(r, 0.0, b.min(t2), st1, tsk1))
        {
            return false;
        }
        if !los_free((t2 / tstep).ceil() as i64, (t3 / tstep).floor() as i64) {
            return false;
        }
        let tsk3 = t3.max(0.0);
        let st3 = state(tsk3);
        !self.cd_future(conflict, b, t + tsk3, st3, tsk3)
            && !rec.is_some_and(|r| self.cd_future(r, 0.0, b, st3, tsk3))
    }

    /// First candidate altitude from the current one upwards (or downwards) whose freedom is
    /// `green`.
    fn first_alt(&self, det: &Detector, b: f64, t: f64, up: bool, green: bool) -> Option<i64> {
        let r = &self.range;
        let alt = self.own.s.z;
        if alt < r.min_val || alt > r.max_val {
            return None;
        }
        if up {
            let upper = ((r.max_val - r.min_val) / r.step).floor() as i64 + 1;
            let lower = ((alt - r.min_val).ceil() / r.step) as i64;
            (lower..=upper).find(|&k| self.alt_free(det, None, b, t, k) == green)
        } else {
            let upper = ((alt - r.min_val) / r.step).floor() as i64;
            (0..=upper)
                .rev()
                .find(|&k| self.alt_free(det, None, b, t, k) == green)
        }
    }
}

/// TCAS II resolution-advisory thresholds for sensitivity levels 3 to 7 (RTCA DO-185B): lower
/// altitude bound of the level (ft; level 3 also below it), horizontal miss distance (ft),
/// altitude threshold (ft).
const TCAS_RA: [(f64, f64, f64); 6] = [
    (0.0, 1215.0, 600.0),
    (5000.0, 2126.0, 600.0),
    (10_000.0, 3342.0, 600.0),
    (20_000.0, 4861.0, 600.0),
    (42_000.0, 6683.0, 700.0),
    (f64::INFINITY, 6683.0, 700.0),
];

/// The recovery volume (horizontal, vertical), m: the configured one, or where it is 0 the
/// TCAS II RA thresholds of the ownship's altitude `alt_m` (sensitivity level at least 3).
fn recovery_volume(c: &BandsConfig, alt_m: f64) -> (f64, f64) {
    let ft = crate::units::FT_M;
    let alt_ft = alt_m / ft;
    let (_, hmd, zthr) = TCAS_RA
        .iter()
        .zip(TCAS_RA.iter().skip(1))
        .find(|(_, next)| alt_ft < next.0)
        .map_or(TCAS_RA[4], |(this, _)| *this);
    let pick = |configured: f64, table_ft: f64| {
        if configured > 0.0 {
            configured
        } else {
            table_ft * ft
        }
    };
    (
        pick(c.min_horizontal_recovery_m, hmd),
        pick(c.min_vertical_recovery_m, zthr),
    )
}

/// Compass angle of a velocity in [0, 2π).
pub fn direction_of(v: Vec3) -> f64 {
    compass(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_negates_the_left_side_and_joins_at_zero() {
        let l = vec![(0, 3), (6, 9)];
        let r = vec![(0, 2), (5, 7)];
        assert_eq!(combine(l, r), vec![(-9, -6), (-3, 2), (5, 7)]);
    }

    #[test]
    fn free_runs_drop_a_lone_last_candidate() {
        let free = |k: i64| k != 2;
        assert_eq!(free_runs(4, false, free), vec![(0, 1), (3, 4)]);
        let only_last = |k: i64| k == 4;
        assert_eq!(free_runs(4, false, only_last), vec![]);
        assert_eq!(free_runs(4, true, only_last), vec![(4, 4)]);
    }
}
