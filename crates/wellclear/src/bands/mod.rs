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
mod range;
mod search;
mod trajectory;

use crate::conf::{self, BandsConfig, Config, Detector};
use crate::detect::{Cylinder, PairState};
use crate::geom::Vec3;

pub use colors::BandsRange;
use colors::IntervalSet;
use persistence::{BandsMemory, Settings};
use range::ValueRange;
use search::Search;
pub use trajectory::Own;
use trajectory::{compass, is_instantaneous};

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
    use super::search::{combine, free_runs};

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
