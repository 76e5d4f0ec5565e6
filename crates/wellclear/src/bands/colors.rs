//! The representations bands go through: sets of conflict-free intervals per region, a list of
//! colour points (value with the region on each side) that the regions are painted on, and the
//! final list of ranges. Comparisons are "almost" ones with DAIDALUS's bands tolerance, so that
//! boundaries computed in different ways merge as DAIDALUS merges them.

use std::collections::VecDeque;

use crate::geom::almost_equals_ulps;

use super::Region;
use super::trajectory::modulo;

/// Tolerance of band comparisons, units in the last place (about five significant digits).
pub(crate) const ALMOST_ULPS: u64 = 1_000_000_000_000;

pub(crate) fn aeq(a: f64, b: f64) -> bool {
    almost_equals_ulps(a, b, ALMOST_ULPS)
}
pub(crate) fn alt(a: f64, b: f64) -> bool {
    a < b && !aeq(a, b)
}
pub(crate) fn agt(a: f64, b: f64) -> bool {
    a > b && !aeq(a, b)
}
pub(crate) fn aleq(a: f64, b: f64) -> bool {
    a < b || aeq(a, b)
}
pub(crate) fn ageq(a: f64, b: f64) -> bool {
    a > b || aeq(a, b)
}

/// `val` modulo `m` when `m` > 0.
pub(crate) fn safe_modulo(val: f64, m: f64) -> f64 {
    if m > 0.0 { modulo(val, m) } else { val }
}

/// A sorted set of disjoint closed intervals.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IntervalSet {
    pub items: Vec<(f64, f64)>,
}

impl IntervalSet {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `[lb, ub]`, merging with intervals it overlaps or almost touches.
    pub fn add(&mut self, lb: f64, ub: f64) {
        if alt(ub, lb) || aeq(lb, ub) {
            return;
        }
        let (mut lo, mut hi) = (lb, ub);
        let mut out = Vec::with_capacity(self.items.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.items {
            if alt(b, lo) {
                out.push((a, b));
            } else if alt(hi, a) {
                if !placed {
                    out.push((lo, hi));
                    placed = true;
                }
                out.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed {
            out.push((lo, hi));
        }
        out.sort_by(|x, y| x.0.total_cmp(&y.0));
        self.items = out;
    }

    /// Adds every interval of `o`.
    pub fn union(&mut self, o: &IntervalSet) {
        for &(a, b) in &o.items {
            self.add(a, b);
        }
    }

    /// Keeps what is also in `o`; pieces almost empty are dropped.
    pub fn intersect(&mut self, o: &IntervalSet) {
        let mut out = Vec::new();
        for &(a, b) in &self.items {
            for &(c, d) in &o.items {
                let lo = a.max(c);
                let hi = b.min(d);
                if alt(lo, hi) {
                    out.push((lo, hi));
                }
            }
        }
        out.sort_by(|x, y| x.0.total_cmp(&y.0));
        self.items = out;
    }
}

/// A colour point: the region left and right of a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ColorValue {
    pub left: Region,
    pub val: f64,
    pub right: Region,
}

fn cv(left: Region, val: f64, right: Region) -> ColorValue {
    ColorValue { left, val, right }
}

/// Colour points for a non-circular range `[min, max]` with `[min_val, max_val]` inside painted
/// `color`.
pub(crate) fn init(
    min: f64,
    max: f64,
    min_val: f64,
    max_val: f64,
    color: Region,
) -> Vec<ColorValue> {
    let mut l = Vec::new();
    if alt(min, min_val) {
        l.push(cv(Region::Unknown, min, Region::Unknown));
    }
    l.push(cv(Region::Unknown, min_val, color));
    l.push(cv(color, max_val, Region::Unknown));
    if alt(max_val, max) {
        l.push(cv(Region::Unknown, max, Region::Unknown));
    }
    l
}

/// Colour points for a circular range of period `m` where `[min, max]` (possibly wrapping) is
/// painted `color`.
pub(crate) fn init_with_mod(min: f64, max: f64, m: f64, color: Region) -> Vec<ColorValue> {
    use Region::Unknown as U;
    if m > 0.0 && aeq(modulo(max - min, m), 0.0) {
        return vec![cv(color, 0.0, color), cv(color, m, color)];
    }
    let mut l = Vec::new();
    if aeq(min, max) {
        l.push(cv(U, 0.0, color));
        l.push(cv(color, m, U));
    } else if min < max {
        if !aeq(0.0, min) {
            l.push(cv(U, 0.0, U));
        }
        l.push(cv(U, min, color));
        l.push(cv(color, max, U));
        if !aeq(max, m) {
            l.push(cv(U, m, U));
        }
    } else {
        l.push(cv(color, 0.0, color));
        l.push(cv(color, max, U));
        l.push(cv(U, min, color));
        l.push(cv(color, m, color));
    }
    l
}

/// Paints `[lb, ub]` with `color` where the current colour is less severe (never over unknown).
pub(crate) fn insert(l: &mut Vec<ColorValue>, lb: f64, ub: f64, color: Region) {
    let (Some(first), Some(last)) = (l.first().copied(), l.last().copied()) else {
        return;
    };
    if ageq(lb, ub) || aleq(ub, first.val) || ageq(lb, last.val) {
        return;
    }
    let lb = lb.max(first.val);
    let ub = ub.min(last.val);
    // Point at or before lb.
    let (mut pl, mut pr) = (0usize, l.len() - 1);
    while pl + 1 < pr {
        let mid = (pl + pr) / 2;
        if alt(lb, l[mid].val) {
            pr = mid;
        } else if agt(lb, l[mid].val) {
            pl = mid;
        } else {
            pl = mid;
            pr = mid + 1;
        }
    }
    let _ = pr;
    let weaker = |r: Region| r != Region::Unknown && r.order() < color.order();
    let mut i = pl;
    if i < l.len() - 1 && !aeq(l[i].val, lb) && weaker(l[i].right) {
        let ext = l[i].right;
        l.insert(i + 1, cv(ext, lb, ext));
        i += 1;
    }
    while i < l.len() - 1 && aleq(l[i + 1].val, ub) {
        if weaker(l[i].right) {
            l[i].right = color;
            l[i + 1].left = color;
        }
        i += 1;
    }
    if i < l.len() - 1 && !aeq(l[i].val, ub) && weaker(l[i].right) {
        let ext = l[i].right;
        l[i].right = color;
        l.insert(i + 1, cv(color, ub, ext));
    }
    let n = l.len();
    if l[0].left != Region::Unknown {
        l[0].left = l[n - 1].left;
    }
    if l[n - 1].right != Region::Unknown {
        l[n - 1].right = l[0].right;
    }
}

/// [`insert`] where `lb` > `ub` wraps around a circular range of period `m`.
pub(crate) fn insert_with_mod(l: &mut Vec<ColorValue>, lb: f64, ub: f64, m: f64, color: Region) {
    if lb < ub {
        insert(l, lb, ub, color);
    } else if m > 0.0 {
        insert(l, 0.0, ub, color);
        insert(l, lb, m, color);
    }
}

/// Paints everything outside the intervals of `none` with `bg`.
pub(crate) fn insert_none_set(l: &mut Vec<ColorValue>, none: &IntervalSet, bg: Region) {
    let (Some(first), Some(last)) = (l.first(), l.last()) else {
        return;
    };
    let mut min = first.val;
    let max = last.val;
    for &(a, b) in &none.items {
        insert(l, min, a, bg);
        min = b;
    }
    insert(l, min, max, bg);
}

/// Paints the intervals of `set` RECOVERY.
pub(crate) fn insert_recovery_set(l: &mut Vec<ColorValue>, set: &IntervalSet) {
    for &(a, b) in &set.items {
        insert(l, a, b, Region::Recovery);
    }
}

/// Region at `val` (at a colour point, the resolution side, else the less severe side).
pub(crate) fn region_of(l: &[ColorValue], val: f64) -> Region {
    let Some(i) = l.iter().position(|c| !alt(c.val, val)) else {
        return Region::Unknown;
    };
    let c = l[i];
    if aeq(c.val, val) {
        if c.right.is_resolution() || c.left == Region::Unknown {
            c.right
        } else if c.left.is_resolution()
            || c.right == Region::Unknown
            || c.left.conflict_order() < c.right.conflict_order()
        {
            c.left
        } else {
            c.right
        }
    } else {
        c.left
    }
}

/// One band: an interval and its region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandsRange {
    /// Lower bound, SI.
    pub low: f64,
    /// Upper bound, SI.
    pub up: f64,
    /// Region.
    pub region: Region,
}

/// Ranges from colour points, merging neighbours of the same colour; NONE reads RECOVERY when
/// recovery bands were computed.
pub(crate) fn make_ranges(l: &[ColorValue], recovery: bool) -> Vec<BandsRange> {
    let res = |r: Region| {
        if r.is_resolution() {
            if recovery {
                Region::Recovery
            } else {
                Region::None
            }
        } else {
            r
        }
    };
    let mut ranges = Vec::new();
    let mut next = 0;
    for i in 1..l.len() {
        let (cl, cr) = (res(l[i].left), res(l[i].right));
        if cl != cr || i == l.len() - 1 {
            ranges.push(BandsRange {
                low: l[next].val,
                up: l[i].val,
                region: cl,
            });
            next = i;
        }
    }
    ranges
}

/// Index of the range holding `val`; at a boundary, the less severe valid side. `None` when not
/// found.
pub(crate) fn index_of(ranges: &[BandsRange], val: f64, m: f64) -> Option<usize> {
    let val = safe_modulo(val, m);
    let last = ranges.len().checked_sub(1)?;
    for (i, r) in ranges.iter().enumerate() {
        let inside = aleq(r.low, val) && aleq(val, r.up);
        if !(inside || (i == last && aeq(safe_modulo(r.up - val, m), 0.0))) {
            continue;
        }
        if r.region.is_resolution() {
            return Some(i);
        }
        if aeq(val, r.low) {
            let prev = if i > 0 {
                Some(i - 1)
            } else if m > 0.0 {
                Some(last)
            } else {
                None
            };
            // DAIDALUS compares the previous index with 0 here, so the first range never wins.
            if let Some(p) = prev
                && p > 0
                && r.region != Region::Unknown
            {
                let pr = ranges[p].region;
                return Some(
                    if pr == Region::Unknown || r.region.conflict_order() <= pr.conflict_order() {
                        i
                    } else {
                        p
                    },
                );
            }
            return prev;
        } else if alt(val, r.up) {
            return Some(i);
        } else {
            let next = if i < last {
                Some(i + 1)
            } else if m > 0.0 {
                Some(0)
            } else {
                None
            };
            if let Some(nx) = next
                && nx > 0
                && r.region != Region::Unknown
            {
                let nr = ranges[nx].region;
                return Some(
                    if nr == Region::Unknown || r.region.conflict_order() <= nr.conflict_order() {
                        i
                    } else {
                        nx
                    },
                );
            }
            return next;
        }
    }
    None
}

/// M-of-N filter over region orders (−1 unknown): a value is output when M of the last N
/// values reach it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MofN {
    m: usize,
    max: i32,
    queue: VecDeque<i32>,
}

impl MofN {
    pub fn new(m: usize, n: usize, val: i32) -> Self {
        let queue = (0..n).map(|i| if i < m { val } else { -1 }).collect();
        Self { m, max: val, queue }
    }

    pub fn apply(&mut self, value: i32) -> i32 {
        if self.queue.is_empty() || self.m == 0 {
            return value;
        }
        self.max = self.max.max(value);
        self.queue.pop_front();
        self.queue.push_back(value);
        if self.max < 0 {
            return self.max;
        }
        (0..=self.max)
            .rev()
            .find(|&i| self.queue.iter().filter(|&&v| v >= i).count() >= self.m)
            .unwrap_or(-1)
    }

    fn same_as(&self, o: &MofN) -> bool {
        self.queue == o.queue
    }
}

/// M-of-N filters on both sides of one colour point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MofNPoint {
    val: f64,
    left: MofN,
    right: MofN,
}

/// Filters the colours of `lcvs` through the M-of-N history `hist`, updating both.
pub(crate) fn m_of_n(hist: &mut Vec<MofNPoint>, lcvs: &mut Vec<ColorValue>, m: usize, n: usize) {
    if hist.is_empty() {
        for c in lcvs.iter() {
            hist.push(MofNPoint {
                val: c.val,
                left: MofN::new(m, n, c.left.order()),
                right: MofN::new(m, n, c.right.order()),
            });
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < hist.len() && j < lcvs.len() {
        if aeq(hist[i].val, lcvs[j].val) {
            lcvs[j].left = Region::from_order(hist[i].left.apply(lcvs[j].left.order()));
            lcvs[j].right = Region::from_order(hist[i].right.apply(lcvs[j].right.order()));
            i += 1;
            j += 1;
        } else if alt(hist[i].val, lcvs[j].val) {
            let c = lcvs[j].left;
            lcvs.insert(j, cv(c, hist[i].val, c));
        } else {
            let q = hist[i].left.clone();
            hist.insert(
                i,
                MofNPoint {
                    val: lcvs[j].val,
                    left: q.clone(),
                    right: q,
                },
            );
        }
    }
    let mut k = 1;
    while k + 1 < hist.len() {
        if hist[k].left.same_as(&hist[k].right) {
            hist.remove(k);
        } else {
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_set_paints_the_complement() {
        let mut l = init(0.0, 10.0, 0.0, 10.0, Region::None);
        let mut none = IntervalSet::default();
        none.add(2.0, 4.0);
        none.add(6.0, 8.0);
        insert_none_set(&mut l, &none, Region::Mid);
        let r = make_ranges(&l, false);
        let got: Vec<_> = r.iter().map(|x| (x.low, x.up, x.region)).collect();
        assert_eq!(
            got,
            vec![
                (0.0, 2.0, Region::Mid),
                (2.0, 4.0, Region::None),
                (4.0, 6.0, Region::Mid),
                (6.0, 8.0, Region::None),
                (8.0, 10.0, Region::Mid),
            ]
        );
        // A more severe region paints over a less severe one, never the reverse.
        let mut near_free = IntervalSet::default();
        near_free.add(0.0, 9.0);
        insert_none_set(&mut l, &near_free, Region::Near);
        insert(&mut l, 0.0, 3.0, Region::Far);
        let r = make_ranges(&l, false);
        assert_eq!(
            r.last().map(|x| (x.low, x.region)),
            Some((9.0, Region::Near))
        );
        assert_eq!(r[0].region, Region::Mid);
        assert_eq!((r[1].low, r[1].up, r[1].region), (2.0, 3.0, Region::Far));
        // At a boundary the less severe side holds the value.
        assert_eq!(index_of(&r, 3.0, 0.0), Some(2));
        assert_eq!(index_of(&r, 2.5, 0.0), Some(1));
    }

    #[test]
    fn m_of_n_needs_m_votes() {
        let mut f = MofN::new(2, 4, 0);
        assert_eq!(f.apply(2), 0, "one vote for MID is not enough");
        assert_eq!(f.apply(2), 2);
        assert_eq!(f.apply(0), 2);
        assert_eq!(f.apply(0), 2, "still two MID votes in the last four");
        assert_eq!(f.apply(0), 0);
    }
}
