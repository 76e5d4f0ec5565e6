//! The search for the free values of one kind against one intruder: conflict-free runs of
//! candidate values and the recovery searches.

use super::colors::IntervalSet;
use super::range::ValueRange;
use super::trajectory::{self, LevelOff, Own, level_off_state};
use super::{Kind, Vec3};
use crate::conf::{BandsConfig, Detector};
use crate::detect::PairState;

/// Runs of free candidates `0..=max` as integer intervals; a run of a single candidate at `max`
/// is dropped unless `keep_last`.
pub(super) fn free_runs(
    max: i64,
    keep_last: bool,
    mut free: impl FnMut(i64) -> bool,
) -> Vec<(i64, i64)> {
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
pub(super) fn combine(mut left: Vec<(i64, i64)>, right: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
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
pub(super) struct Search<'a> {
    pub(super) c: &'a BandsConfig,
    pub(super) kind: Kind,
    pub(super) own: Own,
    pub(super) si: Vec3,
    pub(super) vi: Vec3,
    pub(super) lookahead: f64,
    pub(super) inst: bool,
    pub(super) tstep: f64,
    pub(super) range: ValueRange,
}

impl Search<'_> {
    pub(super) fn pair(&self, so: Vec3, vo: Vec3, t: f64) -> PairState {
        PairState {
            so,
            vo,
            si: self.si.linear(self.vi, t),
            vi: self.vi,
        }
    }

    pub(super) fn traj(&self, t: f64, up: bool) -> (Vec3, Vec3) {
        trajectory::kinematic(self.c, self.kind, &self.own, t, up)
    }

    /// Conflict in `[max(b, tsk), min(lookahead, t)]` after flying the maneuver for `tsk`.
    pub(super) fn cd_future(
        &self,
        det: &Detector,
        b: f64,
        t: f64,
        state: (Vec3, Vec3),
        tsk: f64,
    ) -> bool {
        let t = t.min(self.lookahead);
        if tsk > t || b > t {
            return false;
        }
        det.conflict_between(&self.pair(state.0, state.1, tsk), b.max(tsk) - tsk, t - tsk)
            .is_some()
    }

    pub(super) fn los_at(&self, det: &Detector, state: (Vec3, Vec3), tsk: f64) -> bool {
        det.violation(&self.pair(state.0, state.1, tsk))
    }

    /// Loss of the volume between this step and the next of the maneuver (flown straight from
    /// this step's state): short losses that fall between two steps are not missed.
    pub(super) fn los_within_step(&self, det: &Detector, state: (Vec3, Vec3), tsk: f64) -> bool {
        det.conflict_between(&self.pair(state.0, state.1, tsk), 0.0, self.tstep)
            .is_some()
    }

    pub(super) fn no_cd(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        up: bool,
        tsk: f64,
    ) -> bool {
        self.clear_from(conflict, rec, b, t, self.traj(tsk, up), tsk)
    }

    /// No conflict in `[b, t]` from `st`, and no recovery-volume conflict before `b`.
    fn clear_from(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        st: (Vec3, Vec3),
        tsk: f64,
    ) -> bool {
        !self.cd_future(conflict, b, t, st, tsk)
            && !rec.is_some_and(|r| self.cd_future(r, 0.0, b, st, tsk))
    }

    pub(super) fn inst_state(&self, up: bool, j: i64) -> (Vec3, Vec3) {
        trajectory::instantaneous(self.c, self.kind, &self.own, up, j, 0.0)
    }

    pub(super) fn no_inst_conflict(
        &self,
        conflict: &Detector,
        rec: Option<&Detector>,
        b: f64,
        t: f64,
        up: bool,
        j: i64,
    ) -> bool {
        self.clear_from(conflict, rec, b, t, self.inst_state(up, j), 0.0)
    }

    pub(super) fn max(&self, up: bool) -> i64 {
        if up {
            self.range.maxup
        } else {
            self.range.maxdown
        }
    }

    pub(super) fn first_los_search_index(
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

    pub(super) fn side(
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
    pub(super) fn none_bands(
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
    pub(super) fn any_red(&self, det: &Detector, b: f64, t: f64) -> bool {
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
    pub(super) fn all_red(&self, det: &Detector, b: f64, t: f64) -> bool {
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

    pub(super) fn alt_target(&self, k: i64) -> f64 {
        self.range.min_val + k as f64 * self.range.step
    }

    /// True when levelling off at candidate altitude `k` stays conflict free.
    pub(super) fn alt_free(
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
    pub(super) fn first_alt(
        &self,
        det: &Detector,
        b: f64,
        t: f64,
        up: bool,
        green: bool,
    ) -> Option<i64> {
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
