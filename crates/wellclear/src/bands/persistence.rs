//! What one kind of bands remembers from step to step (DAIDALUS v2.0.4 bands hysteresis): the
//! M-of-N filter of band colours, the persistence of the conflict band the ownship is in, and
//! the persistence of resolutions and of the preferred direction.

use super::Region;
use super::colors::{
    self, BandsRange, ColorValue, MofNPoint, aeq, aleq, alt, index_of, insert_with_mod,
    make_ranges, region_of, safe_modulo,
};

/// Settings of the hysteresis, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub hysteresis_s: f64,
    pub persistence_s: f64,
    pub bands_persistence: bool,
    pub m: usize,
    pub n: usize,
}

/// The memory of one kind of bands.
#[derive(Debug, Clone)]
pub(crate) struct BandsMemory {
    /// Period of the values (2π for directions, 0 otherwise).
    modulus: f64,
    last_time: Option<f64>,
    mofn: Vec<MofNPoint>,
    preferred_up: bool,
    time_of_dir: Option<f64>,
    conflict_region: Region,
    conflict_low: f64,
    conflict_up: f64,
    time_of_conflict_region: Option<f64>,
    /// Resolutions after persistence: (low/left, up/right).
    pub resolution_low: f64,
    pub resolution_up: f64,
    raw_low: f64,
    raw_up: f64,
    nfactor_low: i32,
    nfactor_up: i32,
}

impl BandsMemory {
    pub fn new(modulus: f64) -> Self {
        Self {
            modulus,
            last_time: None,
            mofn: Vec::new(),
            preferred_up: false,
            time_of_dir: None,
            conflict_region: Region::Unknown,
            conflict_low: f64::NAN,
            conflict_up: f64::NAN,
            time_of_conflict_region: None,
            resolution_low: f64::NAN,
            resolution_up: f64::NAN,
            raw_low: f64::NAN,
            raw_up: f64::NAN,
            nfactor_low: 0,
            nfactor_up: 0,
        }
    }

    /// True when the preferred direction is up (right, faster, climb).
    pub fn preferred_up(&self) -> bool {
        self.preferred_up
    }

    /// Forgets everything unless `now` follows the last step within the hysteresis time.
    pub fn reset_unless_continuing(&mut self, now: f64, s: &Settings) {
        let keep = self
            .last_time
            .is_some_and(|t| now > t && now - t <= s.hysteresis_s);
        if !keep {
            *self = Self::new(self.modulus);
        }
        self.last_time = Some(now);
    }

    fn now(&self) -> f64 {
        self.last_time.unwrap_or(0.0)
    }

    /// Colour points through M-of-N, conflict-band persistence, then ranges. Returns the ranges
    /// and the index of the current value's range.
    pub fn filter(
        &mut self,
        s: &Settings,
        lcvs: &mut Vec<ColorValue>,
        recovery: bool,
        val: f64,
    ) -> (Vec<BandsRange>, Option<usize>) {
        if s.hysteresis_s > 0.0 && s.m > 0 && s.m <= s.n {
            colors::m_of_n(&mut self.mofn, lcvs, s.m, s.n);
        }
        let now = self.now();
        if s.hysteresis_s > 0.0 && s.persistence_s > 0.0 && s.bands_persistence {
            if self.conflict_low.is_finite() && self.conflict_up.is_finite() {
                let current = region_of(lcvs, val);
                if current != Region::Unknown && self.conflict_region.is_conflict() {
                    let held = self.time_of_conflict_region.is_some_and(|t| {
                        current.order() < self.conflict_region.order()
                            && now >= t
                            && now - t < s.persistence_s
                    });
                    if held {
                        insert_with_mod(
                            lcvs,
                            self.conflict_low,
                            self.conflict_up,
                            self.modulus,
                            self.conflict_region,
                        );
                    } else if current.is_conflict()
                        && current.order() > self.conflict_region.order()
                    {
                        self.time_of_conflict_region = Some(now);
                    }
                }
            } else {
                self.time_of_conflict_region = Some(now);
            }
        }
        let ranges = make_ranges(lcvs, recovery);
        let idx = index_of(&ranges, val, self.modulus);
        if self.time_of_conflict_region.is_some() {
            self.conflict_region_persistence(&ranges, idx);
        }
        (ranges, idx)
    }

    fn conflict_region_persistence(&mut self, ranges: &[BandsRange], idx: Option<usize>) {
        let Some(i) = idx.filter(|&i| ranges[i].region.is_conflict()) else {
            self.time_of_conflict_region = None;
            self.conflict_region = Region::Unknown;
            self.conflict_low = f64::NAN;
            self.conflict_up = f64::NAN;
            return;
        };
        let last = ranges.len() - 1;
        self.conflict_region = ranges[i].region;
        if self.modulus == 0.0 || (0 < i && i < last) {
            self.conflict_low = ranges[i].low;
            self.conflict_up = ranges[i].up;
        } else if i == 0 {
            self.conflict_up = ranges[0].up;
            self.conflict_low = if ranges[0].region == ranges[last].region {
                ranges[last].low
            } else {
                ranges[0].low
            };
        } else {
            self.conflict_low = ranges[i].low;
            self.conflict_up = if ranges[0].region == ranges[i].region {
                ranges[0].up
            } else {
                ranges[i].up
            };
        }
    }

    fn to_the_left(&self, a: f64, b: f64) -> bool {
        if aeq(a, b) {
            return true;
        }
        if self.modulus == 0.0 {
            alt(a, b)
        } else {
            alt(
                super::trajectory::modulo(b - a, self.modulus),
                self.modulus / 2.0,
            )
        }
    }

    /// Resolutions and preferred direction from the ranges, with their persistence.
    #[allow(clippy::too_many_arguments)]
    pub fn resolutions(
        &mut self,
        s: &Settings,
        ranges: &[BandsRange],
        corrective: Region,
        delta: f64,
        nfactor: i32,
        val: f64,
        idx: Option<usize>,
    ) {
        let up_from_corrective =
            |r: Region| r.is_conflict() && r.conflict_order() >= corrective.conflict_order();
        self.raw_low = f64::NAN;
        self.raw_up = f64::NAN;
        let mut idx_l: i64 = idx.map_or(-1, |i| i as i64);
        let mut idx_u: i64 = idx_l;
        if let Some(i) = idx
            && up_from_corrective(ranges[i].region)
        {
            let last = ranges.len() as i64 - 1;
            let circular = self.modulus > 0.0;
            self.raw_low = f64::NEG_INFINITY;
            while idx_l >= 0 && up_from_corrective(ranges[idx_l as usize].region) {
                if self.to_the_left(ranges[idx_l as usize].low, val) {
                    if idx_l == 0 && circular {
                        idx_l = last;
                    } else {
                        idx_l -= 1;
                    }
                } else {
                    idx_l = -1;
                }
                if idx_l == i as i64 {
                    idx_l = -1;
                }
            }
            if idx_l >= 0 && ranges[idx_l as usize].region != Region::Unknown {
                self.raw_low = if idx_l == last && circular {
                    0.0
                } else {
                    ranges[idx_l as usize].up
                };
            }
            self.raw_up = f64::INFINITY;
            while idx_u <= last && up_from_corrective(ranges[idx_u as usize].region) {
                if self.to_the_left(val, ranges[idx_u as usize].up) {
                    if idx_u == last && circular {
                        idx_u = 0;
                    } else {
                        idx_u += 1;
                    }
                } else {
                    idx_u = last + 1;
                }
                if idx_u == i as i64 {
                    idx_u = last + 1;
                }
            }
            if idx_u <= last && ranges[idx_u as usize].region != Region::Unknown {
                self.raw_up = ranges[idx_u as usize].low;
            }
        }
        self.resolutions_persistence(s, ranges, corrective, delta, nfactor, val, idx_l, idx_u);
        self.preferred_direction(s, delta, nfactor, val);
    }

    fn below_corrective(corrective: Region, r: Region) -> bool {
        r != Region::Unknown && r.conflict_order() < corrective.conflict_order()
    }

    fn contiguous_resolution(
        &self,
        ranges: &[BandsRange],
        corrective: Region,
        up: bool,
        from: i64,
        to: i64,
    ) -> bool {
        let n = ranges.len() as i64;
        let mut idx = from;
        while idx != to
            && 0 <= idx
            && idx < n
            && Self::below_corrective(corrective, ranges[idx as usize].region)
        {
            if up {
                idx += 1;
                if self.modulus > 0.0 && idx == n {
                    idx = 0;
                }
            } else {
                idx -= 1;
                if self.modulus > 0.0 && idx == -1 {
                    idx = n - 1;
                }
            }
        }
        0 <= idx && idx < n && Self::below_corrective(corrective, ranges[idx as usize].region)
    }

    #[allow(clippy::too_many_arguments)]
    fn resolutions_persistence(
        &mut self,
        s: &Settings,
        ranges: &[BandsRange],
        corrective: Region,
        delta: f64,
        nfactor: i32,
        val: f64,
        idx_l: i64,
        idx_u: i64,
    ) {
        let now = self.now();
        let no_hysteresis =
            s.hysteresis_s <= 0.0 || self.time_of_dir.is_none_or(|t| now <= t) || delta <= 0.0;
        if no_hysteresis {
            self.resolution_low = self.raw_low;
            self.nfactor_low = nfactor;
            self.resolution_up = self.raw_up;
            self.nfactor_up = nfactor;
            self.time_of_dir = None;
            return;
        }
        let since = now - self.time_of_dir.unwrap_or(now);
        // Either side's previous resolution persists while the direction is young, the
        // resolution was found at a lower factor, or it moved less than `delta`, and it still
        // lies, contiguous with the preferred side, in a range of the bands.
        let recent = since < s.persistence_s;
        let keep = |raw: f64, resolution: f64, nfactor_side: i32, idx_from: i64, up: bool| {
            let (left, right, moved) = if up {
                (val, resolution, resolution - raw)
            } else {
                (resolution, val, raw - resolution)
            };
            let held = raw.is_finite()
                && resolution.is_finite()
                && self.to_the_left(left, right)
                && (recent
                    || nfactor_side < nfactor
                    || alt(safe_modulo(moved, self.modulus), delta));
            let idx = if held {
                index_of(ranges, resolution, self.modulus).map_or(-1, |i| i as i64)
            } else {
                -1
            };
            0 <= idx
                && idx < ranges.len() as i64
                && self.contiguous_resolution(ranges, corrective, self.preferred_up, idx_from, idx)
        };
        // Each side reads only its own fields, so both are judged before either changes.
        let keep_up = keep(
            self.raw_up,
            self.resolution_up,
            self.nfactor_up,
            idx_u,
            true,
        );
        let keep_low = keep(
            self.raw_low,
            self.resolution_low,
            self.nfactor_low,
            idx_l,
            false,
        );
        if !keep_up {
            self.resolution_up = self.raw_up;
            self.nfactor_up = nfactor;
        }
        if !keep_low {
            self.resolution_low = self.raw_low;
            self.nfactor_low = nfactor;
        }
    }

    fn switch_dir(&mut self, up: bool, nfactor: i32) {
        self.preferred_up = up;
        self.time_of_dir = self.last_time;
        if nfactor <= self.nfactor_low {
            self.resolution_low = self.raw_low;
        }
        if nfactor <= self.nfactor_up {
            self.resolution_up = self.raw_up;
        }
    }

    fn preferred_direction(&mut self, s: &Settings, delta: f64, nfactor: i32, val: f64) {
        let now = self.now();
        if !self.raw_up.is_finite() && !self.raw_low.is_finite() {
            self.time_of_dir = None;
            self.preferred_up = false;
        } else if !self.raw_up.is_finite() {
            if self.preferred_up {
                self.switch_dir(false, nfactor);
            }
        } else if !self.raw_low.is_finite() {
            if !self.preferred_up {
                self.switch_dir(true, nfactor);
            }
        } else {
            let mod_up = safe_modulo(self.raw_up - val, self.modulus);
            let mod_down = safe_modulo(val - self.raw_low, self.modulus);
            let actual = aleq(mod_up, mod_down);
            if s.hysteresis_s <= 0.0 || self.time_of_dir.is_none_or(|t| now < t) || delta <= 0.0 {
                self.preferred_up = actual;
                self.time_of_dir = Some(now);
            } else if now - self.time_of_dir.unwrap_or(now) < s.persistence_s
                || (mod_up - mod_down).abs() < delta
            {
                // Keep the previous direction.
            } else if (self.preferred_up && self.nfactor_low > self.nfactor_up)
                || (!self.preferred_up && self.nfactor_up > self.nfactor_low)
            {
                // Do not change to a greater N factor.
            } else if self.preferred_up != actual {
                self.switch_dir(actual, nfactor);
            }
        }
    }
}
