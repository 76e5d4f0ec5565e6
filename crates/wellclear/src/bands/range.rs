//! The range of values of one kind of band at one step.

use super::colors::{self, IntervalSet, aeq, agt, safe_modulo};
use super::trajectory::{self, modulo};
use super::{Kind, Region};
use crate::conf::BandsConfig;

/// The range of values of one kind at one step (DAIDALUS's checked input).
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueRange {
    pub(super) val: f64,
    pub(super) min_param: f64,
    pub(super) max_param: f64,
    pub(super) min_val: f64,
    pub(super) max_val: f64,
    pub(super) modulus: f64,
    pub(super) circular: bool,
    pub(super) step: f64,
    pub(super) maxdown: i64,
    pub(super) maxup: i64,
}

impl ValueRange {
    pub(super) fn new(c: &BandsConfig, kind: Kind, val: f64) -> Option<Self> {
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

    pub(super) fn saturated(&self) -> IntervalSet {
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

    pub(super) fn initial_colors(&self) -> Vec<colors::ColorValue> {
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
    pub(super) fn add_none(&self, set: &mut IntervalSet, lb: f64, ub: f64) {
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
    pub(super) fn none_set_of(&self, ints: &[(i64, i64)], add: f64) -> IntervalSet {
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
