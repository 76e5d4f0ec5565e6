//! Idealised TCAS II thresholds (DAIDALUS `TCASTable`): per sensitivity level, the modified-tau
//! threshold TAU, the co-altitude threshold TCOA, the distance modification DMOD, the altitude
//! threshold ZTHR and the horizontal miss-distance filter HMD (RTCA DO-185B tables).

/// Number of sensitivity levels (level boundaries are one fewer).
pub const TCAS_LEVELS: usize = 8;

/// A TCAS threshold table. Level `k` (1-based) covers altitudes up to `levels_m[k-1]`
/// (inclusive); the last level covers everything above.
#[derive(Debug, Clone, PartialEq)]
pub struct TcasTable {
    levels_m: [f64; TCAS_LEVELS - 1],
    tau_s: [f64; TCAS_LEVELS],
    tcoa_s: [f64; TCAS_LEVELS],
    dmod_m: [f64; TCAS_LEVELS],
    zthr_m: [f64; TCAS_LEVELS],
    hmd_m: [f64; TCAS_LEVELS],
    hmd_filter: bool,
}

impl TcasTable {
    /// A table; `None` unless the level altitudes increase and every value is finite and ≥ 0
    /// (level altitudes may be any finite value).
    pub fn new(
        levels_m: [f64; TCAS_LEVELS - 1],
        tau_s: [f64; TCAS_LEVELS],
        tcoa_s: [f64; TCAS_LEVELS],
        dmod_m: [f64; TCAS_LEVELS],
        zthr_m: [f64; TCAS_LEVELS],
        hmd_m: [f64; TCAS_LEVELS],
        hmd_filter: bool,
    ) -> Option<Self> {
        let increasing =
            levels_m.windows(2).all(|w| w[0] < w[1]) && levels_m.iter().all(|x| x.is_finite());
        let values_ok = [tau_s, tcoa_s, dmod_m, zthr_m, hmd_m]
            .iter()
            .flatten()
            .all(|x| x.is_finite() && *x >= 0.0);
        (increasing && values_ok).then_some(Self {
            levels_m,
            tau_s,
            tcoa_s,
            dmod_m,
            zthr_m,
            hmd_m,
            hmd_filter,
        })
    }

    /// Sensitivity level (1-based) at altitude `alt_m`.
    pub fn sensitivity_level(&self, alt_m: f64) -> usize {
        self.levels_m
            .iter()
            .position(|l| alt_m <= *l)
            .map_or(TCAS_LEVELS, |i| i + 1)
    }

    /// Thresholds (TAU s, TCOA s, DMOD m, ZTHR m, HMD m) of sensitivity level `sl` (1-based).
    pub fn thresholds(&self, sl: usize) -> (f64, f64, f64, f64, f64) {
        let i = sl.clamp(1, TCAS_LEVELS) - 1;
        (
            self.tau_s[i],
            self.tcoa_s[i],
            self.dmod_m[i],
            self.zthr_m[i],
            self.hmd_m[i],
        )
    }

    /// True when the HMD filter is on (resolution advisories only if the miss distance is small).
    pub fn hmd_filter(&self) -> bool {
        self.hmd_filter
    }

    /// Altitude range `(lower, upper]` of sensitivity level `sl`, metres (infinite at the ends).
    pub fn level_bounds_m(&self, sl: usize) -> (f64, f64) {
        let sl = sl.clamp(1, TCAS_LEVELS);
        let lower = if sl >= 2 {
            self.levels_m[sl - 2]
        } else {
            f64::NEG_INFINITY
        };
        let upper = if sl < TCAS_LEVELS {
            self.levels_m[sl - 1]
        } else {
            f64::INFINITY
        };
        (lower, upper)
    }
}

use crate::detect::{Loss, PairState, delta, theta_d, theta_h};
use crate::geom::{Vec2, almost_equals, almost_less};

/// Time interval within `[0, lookahead_s]` during which the idealised TCAS II logic would issue
/// an advisory with this table (DAIDALUS `TCAS3D`): horizontal modified tau within TAU or range
/// within DMOD, vertical time to co-altitude within TCOA or altitude difference within ZTHR, and,
/// with the HMD filter, a predicted horizontal miss distance within HMD. The sensitivity level
/// follows the ownship's altitude along its vertical path.
pub fn detect(table: &TcasTable, p: &PairState, lookahead_s: f64) -> Loss {
    let (b, t) = (0.0, lookahead_s);
    let (so, vo) = (p.so, p.vo);
    let sl_first = table.sensitivity_level(so.z + b * vo.z);
    let sl_last = table.sensitivity_level(so.z + t * vo.z);
    if sl_first == sl_last || almost_equals(vo.z, 0.0) {
        let (tin, tout) = interval(table, sl_first, p, b, t);
        return Loss::new(tin, tout);
    }
    let (mut tin, mut tout) = (f64::INFINITY, f64::NEG_INFINITY);
    let climbing = sl_first < sl_last;
    let mut sl = sl_first;
    let mut t_b = b;
    // Each sensitivity level crossed is visited once; the loop is bounded by TCAS_LEVELS.
    for _ in 0..TCAS_LEVELS {
        if t_b >= t {
            break;
        }
        let (lower, upper) = table.level_bounds_m(sl);
        let level = if climbing { upper } else { lower };
        let t_level = if level.is_finite() {
            (level - so.z) / vo.z
        } else {
            f64::INFINITY
        };
        let (i, o) = interval(table, sl, p, t_b, t_level.min(t));
        if almost_less(i, o) {
            tin = tin.min(i);
            tout = tout.max(o);
        }
        t_b = t_level;
        if sl == sl_last {
            break;
        }
        sl = if climbing { sl + 1 } else { sl - 1 };
    }
    Loss::new(tin, tout)
}

/// Whether the horizontal miss distance is within `hmd` at some time after `t`.
fn cd2d_after(hmd: f64, s: Vec2, vo: Vec2, vi: Vec2, t: f64) -> bool {
    let v = vo - vi;
    (vo.almost_equals(vi) && s.sqv() <= hmd * hmd)
        || (v.sqv() > 0.0
            && delta(s, v, hmd) >= 0.0
            && theta_d(s, v, 1.0, hmd).is_some_and(|x| x >= t))
}

/// Smaller (`eps` = −1) or larger root of `a t² + b t + c`; `None` without a real root.
fn root(a: f64, b: f64, c: f64, eps: f64) -> Option<f64> {
    if a == 0.0 && b == 0.0 {
        None
    } else if a == 0.0 {
        Some(-c / b)
    } else {
        let (sqb, ac) = (b * b, 4.0 * a * c);
        (almost_equals(sqb, ac) || sqb > ac)
            .then(|| (-b + eps * (sqb - ac).max(0.0).sqrt()) / (2.0 * a))
    }
}

/// Horizontal advisory interval within [b, t] (range within DMOD or modified tau within TAU).
fn horizontal_interval(
    dmod: f64,
    tau: f64,
    b: f64,
    t: f64,
    s: Vec2,
    vo: Vec2,
    vi: Vec2,
) -> (f64, f64) {
    let v = vo - vi;
    let (sqs, sdotv, sqd, sqv) = (s.sqv(), s.dot(v), dmod * dmod, v.sqv());
    if vo.almost_equals(vi) && sqs <= sqd {
        return (b, t);
    }
    if sqs <= sqd {
        return (
            b,
            crate::geom::root2b(sqv, sdotv, sqs - sqd, 1.0).unwrap_or(t),
        );
    }
    let bb = 2.0 * sdotv + tau * sqv;
    let cc = sqs + tau * sdotv - sqd;
    if sdotv >= 0.0 || bb * bb - 4.0 * sqv * cc < 0.0 {
        return (t + 1.0, 0.0);
    }
    let Some(t_in) = root(sqv, bb, cc, -1.0) else {
        return (t + 1.0, 0.0);
    };
    let t_out = if delta(s, v, dmod) >= 0.0 {
        theta_d(s, v, 1.0, dmod)
    } else {
        root(sqv, bb, cc, 1.0)
    };
    (t_in, t_out.unwrap_or(t))
}

/// Advisory interval within [b, t] at sensitivity level `sl`; empty as (t, b).
fn interval(table: &TcasTable, sl: usize, p: &PairState, b: f64, t: f64) -> (f64, f64) {
    let none = (t, b);
    let (tau, tcoa, dmod, zthr, hmd) = table.thresholds(sl);
    let (s2, vo2, vi2) = (p.s().xy(), p.vo.xy(), p.vi.xy());
    let v2 = vo2 - vi2;
    let (sz, vz) = (p.so.z - p.si.z, p.vo.z - p.vi.z);
    let filter = table.hmd_filter();
    if filter && !cd2d_after(hmd, s2, vo2, vi2, b) {
        return none;
    }
    let level_flight = almost_equals(p.vo.z, p.vi.z);
    if level_flight && sz.abs() > zthr {
        return none;
    }
    let (tentry, texit) = if level_flight {
        (b, t)
    } else {
        let act_h = zthr.max(vz.abs() * tcoa);
        (theta_h(sz, vz, -1.0, act_h), theta_h(sz, vz, 1.0, zthr))
    };
    let ventry = v2.scal_add(tentry, s2);
    let exit_at_entry = ventry.dot(v2) >= 0.0;
    let los_at_entry = ventry.sqv() <= hmd * hmd;
    if texit < b || t < tentry {
        return none;
    }
    let (tin, tout) = (b.max(tentry), t.min(texit));
    let (ra_in, ra_out) = horizontal_interval(dmod, tau, tin, tout, s2, vo2, vi2);
    let ra_in_l = tin.max(tout.min(ra_in));
    let ra_out_l = tin.max(tout.min(ra_out));
    if ra_in > ra_out
        || ra_out < tin
        || ra_in > tout
        || (filter && hmd < dmod && exit_at_entry && !los_at_entry)
    {
        return none;
    }
    if filter && hmd < dmod {
        let exit_theta = if v2.sqv() > 0.0 {
            theta_d(s2, v2, 1.0, hmd).map_or(t, |x| b.max(x.min(t)))
        } else {
            t
        };
        (ra_in_l, ra_out_l.min(exit_theta))
    } else {
        (ra_in_l, ra_out_l)
    }
}
