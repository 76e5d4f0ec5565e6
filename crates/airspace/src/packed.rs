//! Packed runs of 4D boxes: the strategic index's filter.
//!
//! A [`Run`] holds boxes sorted by [`sort_key`] (a Hilbert curve over their footprints' and
//! windows' centres), in flat arrays, with a hierarchy of enclosing boxes above them (each of
//! [`NODE`] consecutive boxes of the level below), built bottom-up in one pass. Neighbours on the
//! curve are neighbours on the ground and in time, so a query descends a few narrow nodes and
//! scans short contiguous stretches of boxes. What a query reads, the boxes and the levels
//! above them, is kept in the run's [`Grid`] (16 bits a bound, rounded outwards: half the cache
//! lines of single precision) and in huge pages (see [`Pages`]). A run is immutable; the index
//! keeps a few of them, of sizes growing geometrically, and merges them as inserts arrive (see
//! `StrategicIndex`).
//!
//! Boxes are closed: two boxes sharing a face intersect. The filter only ever widens what the
//! exact test sees, never narrows it.

use crate::pages::Pages;

/// A box in (x, y, altitude, time): lower corner in `[0..4]`, upper corner in `[4..8]`.
pub(crate) type Box4 = [f64; 8];

/// A [`Box4`] as stored: single precision, time counted from the index's origin, every bound
/// rounded outwards and then moved one more step outwards (so the box contains the exact one
/// whatever the rounding of the subtraction). Half the bytes to read per box.
pub(crate) type Box32 = [f32; 8];

/// `b` as a [`Box32`], time (index 3 and 7) taken from `t0`.
pub(crate) fn narrow(b: &Box4, t0: f64) -> Box32 {
    let mut out = [0f32; 8];
    for d in 0..4 {
        let shift = if d == 3 { t0 } else { 0.0 };
        let lo = b[d] - shift;
        let hi = b[d + 4] - shift;
        out[d] = (lo as f32).next_down();
        if f64::from(out[d]) > lo {
            out[d] = out[d].next_down();
        }
        out[d + 4] = (hi as f32).next_up();
        if f64::from(out[d + 4]) < hi {
            out[d + 4] = out[d + 4].next_up();
        }
    }
    out
}

/// Boxes per node at every level.
const NODE: usize = 16;

/// Closed intersection of two boxes, fine ([`Box32`]) or coarse ([`Box16`]), without branches:
/// all eight comparisons are made.
#[inline]
pub(crate) fn intersects<T: PartialOrd>(a: &[T; 8], b: &[T; 8]) -> bool {
    (a[0] <= b[4])
        & (b[0] <= a[4])
        & (a[1] <= b[5])
        & (b[1] <= a[5])
        & (a[2] <= b[6])
        & (b[2] <= a[6])
        & (a[3] <= b[7])
        & (b[3] <= a[7])
}

/// The empty box: every minimum above every maximum, so it intersects nothing, and enclosing it
/// with any box gives that box.
const EMPTY: Box32 = [
    f32::INFINITY,
    f32::INFINITY,
    f32::INFINITY,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NEG_INFINITY,
    f32::NEG_INFINITY,
    f32::NEG_INFINITY,
];

fn enclose(boxes: &[Box32]) -> Box32 {
    let mut out = EMPTY;
    for b in boxes {
        for d in 0..4 {
            out[d] = out[d].min(b[d]);
            out[d + 4] = out[d + 4].max(b[d + 4]);
        }
    }
    out
}

/// One stored box: what it bounds (a slot of the index), the slot's generation when it was
/// stored (a box whose slot was freed since is stale and skipped) and the volume's party (so that
/// a party's own volumes are skipped without looking them up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    pub(crate) bounds: Box32,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) party: u32,
}

/// Speed relating the sort key's time axis to its ground axes: a volume 10 km across and 2 h
/// long is about as long in time as it is wide, so a run's neighbours are near in time as well as
/// on the ground (most volumes near a query on the ground are far from it in time).
const KEY_SPEED_M_PER_S: f64 = 5_000.0 / 3_600.0;

/// Bits per axis of the sort key's curve.
const KEY_BITS: u32 = 16;

/// Sort key of a box: the epoch of its centre's time (a span of `2 * half_m / KEY_SPEED_M_PER_S`
/// seconds, about 16.7 days for a 1,000 km frame), then the position of its centre (footprint
/// and time, altitude aside) on a 3D Hilbert curve over the cube `[-half_m, half_m]²` × epoch,
/// clamped to it. Any times are ordered (epochs first), and within an epoch neighbours in the
/// key are neighbours in space and time.
pub(crate) fn sort_key(b: &Box32, half_m: f64) -> u64 {
    const SIDE: f64 = (1u64 << KEY_BITS) as f64;
    let epoch_s = 2.0 * half_m / KEY_SPEED_M_PER_S;
    let cell = |t: f64| -> u32 {
        // NaN and out-of-range centres clamp to the cube's faces.
        (t * SIDE).clamp(0.0, SIDE - 1.0) as u32
    };
    let ground =
        |lo: f32, hi: f32| cell(((f64::from(lo) + f64::from(hi)) / 2.0 + half_m) / (2.0 * half_m));
    let t = (f64::from(b[3]) + f64::from(b[7])) / 2.0 / epoch_s;
    let epoch = t.floor();
    // Epochs from the origin's, offset to be unsigned, clamped to 16 bits (about ±1,500 years for a 1,000 km frame).
    let e = (epoch + 32_768.0).clamp(0.0, 65_535.0) as u64;
    let within = if epoch.is_finite() { t - epoch } else { 0.0 };
    let h = hilbert3(
        [ground(b[0], b[4]), ground(b[1], b[5]), cell(within)],
        KEY_BITS,
    );
    (e << (3 * KEY_BITS)) | h
}

/// Position of the cell `x` (each coordinate below `2^bits`) on a 3D Hilbert curve of that
/// order (J. Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707, 2004: the axes
/// transposed, then their bits interleaved).
fn hilbert3(mut x: [u32; 3], bits: u32) -> u64 {
    let m = 1u32 << (bits - 1);
    let mut q = m;
    while q > 1 {
        let p = q - 1;
        for i in 0..3 {
            if x[i] & q != 0 {
                x[0] ^= p;
            } else {
                let t = (x[0] ^ x[i]) & p;
                x[0] ^= t;
                x[i] ^= t;
            }
        }
        q >>= 1;
    }
    for i in 1..3 {
        x[i] ^= x[i - 1];
    }
    let mut t = 0;
    let mut q = m;
    while q > 1 {
        if x[2] & q != 0 {
            t ^= q - 1;
        }
        q >>= 1;
    }
    let mut h = 0u64;
    for bit in (0..bits).rev() {
        for xi in &mut x {
            if bit == bits - 1 {
                *xi ^= t;
            }
            h = (h << 1) | u64::from((*xi >> bit) & 1);
        }
    }
    h
}

/// An immutable packed run.
#[derive(Debug, Default)]
pub(crate) struct Run {
    keys: Vec<u64>,
    /// The entries' boxes: what merges and removals read. A query reads their coarse copies.
    boxes: Vec<Box32>,
    ids: Vec<(u32, u32, u32)>,
    /// The grid of the coarse boxes: the run's enclosing box in [`CELLS`] cells per axis.
    grid: Grid,
    /// The boxes in the grid, in the same order.
    coarse: Pages<Box16>,
    /// `levels[0]` encloses groups of [`NODE`] boxes, `levels[k]` groups of `levels[k - 1]`;
    /// the last level has one box. In the grid, as the boxes. What a query reads, in huge
    /// pages when large (see [`Pages`]).
    levels: Vec<Pages<Box16>>,
}

/// A box in a run's grid: per axis the cell of its lower bound (`[0..4]`, rounded down) and of
/// its upper bound (`[4..8]`, rounded up). Half the bytes of a [`Box32`]: a node's sixteen fit
/// in four cache lines.
pub(crate) type Box16 = [u16; 8];

/// Cells per axis of a run's grid (one value of `u16` is left above them, see [`DEAD`]).
const CELLS: f32 = 65_534.0;

/// The coarse box of an entry that matches nothing (removed): its lower bound on the first axis
/// is above every cell.
const DEAD: Box16 = [u16::MAX, 0, 0, 0, 0, 0, 0, 0];

/// A run's grid: the run's enclosing box cut in [`CELLS`] cells per axis (about 15 m over a
/// 1,000 km frame, 1.3 s over a day).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    origin: [f32; 4],
    /// Cells per unit; 0 when the box is flat or empty on that axis (every bound is then in
    /// cell 0).
    scale: [f32; 4],
}

impl Grid {
    fn over(b: &Box32) -> Grid {
        let mut g = Grid::default();
        for d in 0..4 {
            let w = b[d + 4] - b[d];
            if b[d].is_finite() && w > 0.0 && (CELLS / w).is_finite() {
                g.origin[d] = b[d];
                g.scale[d] = CELLS / w;
            }
        }
        g
    }

    /// `b` in the grid: lower bounds rounded down, upper bounds up, each clamped to the grid.
    /// Conservative for a query and a stored box alike, by monotonicity: a rounded subtraction,
    /// a multiplication by a number not negative and a clamp never reverse an order, so a box's
    /// lower bound at most a query's upper has a cell at most the query's (rounded down, then
    /// up), and likewise above. An empty box becomes [`DEAD`].
    fn coarse(&self, b: &Box32) -> Box16 {
        if (0..4).any(|d| b[d].partial_cmp(&b[d + 4]).is_none_or(|o| o.is_gt())) {
            return DEAD;
        }
        let mut out = [0u16; 8];
        for d in 0..4 {
            let cell = |x: f32| {
                let c = (x - self.origin[d]) * self.scale[d];
                // Clamped to [0, CELLS] (NaN to 0).
                let c = if c > 0.0 { c } else { 0.0 };
                if c < CELLS { c } else { CELLS }
            };
            // In [0, CELLS]: the truncation is the floor, and the ceiling one more unless exact
            // (no library call for either).
            let lo = cell(b[d]);
            out[d] = lo as u16;
            let hi = cell(b[d + 4]);
            let t = hi as u16;
            out[d + 4] = t + u16::from(f32::from(t) < hi);
        }
        out
    }
}

impl Run {
    /// Packs `keyed` (entries with their keys, in any order).
    pub(crate) fn build(mut keyed: Vec<(u64, Entry)>) -> Run {
        keyed.sort_by_key(|(k, _)| *k);
        let n = keyed.len();
        let (mut keys, mut boxes, mut ids) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (k, e) in keyed {
            keys.push(k);
            boxes.push(e.bounds);
            ids.push((e.slot, e.generation, e.party));
        }
        Run::of(keys, boxes, ids)
    }

    /// The run of these arrays (in key order), with its levels.
    fn of(keys: Vec<u64>, boxes: Vec<Box32>, ids: Vec<(u32, u32, u32)>) -> Run {
        let levels = levels_over(&boxes);
        let grid = levels
            .last()
            .map_or(Grid::default(), |top| Grid::over(&top[0]));
        let in_grid = |level: &[Box32]| Pages::new(level.iter().map(|b| grid.coarse(b)).collect());
        Run {
            keys,
            coarse: in_grid(&boxes),
            levels: levels.iter().map(|l| in_grid(l)).collect(),
            boxes,
            ids,
            grid,
        }
    }

    /// The entries of `a` and `b` (each in key order) for which `keep(slot, generation)` holds,
    /// packed in one run: a linear merge, straight into the new arrays.
    ///
    /// `kept(from_a, index)` is called for each entry kept, in the merged order.
    pub(crate) fn merge(
        a: Run,
        b: Run,
        keep: impl Fn(u32, u32) -> bool,
        mut kept: impl FnMut(bool, usize),
    ) -> Run {
        let n = a.len() + b.len();
        let (mut keys, mut boxes, mut ids) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let from_a = j == b.len() || (i < a.len() && a.keys[i] <= b.keys[j]);
            let (r, k) = if from_a {
                i += 1;
                (&a, i - 1)
            } else {
                j += 1;
                (&b, j - 1)
            };
            let (slot, generation, _) = r.ids[k];
            if keep(slot, generation) {
                kept(from_a, k);
                keys.push(r.keys[k]);
                boxes.push(r.boxes[k]);
                ids.push(r.ids[k]);
            }
        }
        Run::of(keys, boxes, ids)
    }
}

/// The levels of enclosing boxes over `boxes`, bottom-up, up to one box.
fn levels_over(boxes: &[Box32]) -> Vec<Vec<Box32>> {
    let mut levels: Vec<Vec<Box32>> = Vec::new();
    if !boxes.is_empty() {
        let mut level: Vec<Box32> = boxes.chunks(NODE).map(enclose).collect();
        loop {
            let next = (level.len() > 1).then(|| level.chunks(NODE).map(enclose).collect());
            levels.push(level);
            match next {
                Some(n) => level = n,
                None => break,
            }
        }
    }
    levels
}

impl Run {
    pub(crate) fn len(&self) -> usize {
        self.boxes.len()
    }

    /// `(slot, generation, party)` of every entry, in run order.
    pub(crate) fn ids(&self) -> &[(u32, u32, u32)] {
        &self.ids
    }

    /// Makes the entry of `slot` at `generation`, stored under `key`, match no query (its box
    /// becomes empty; the boxes above it stay as they are, still enclosing). Whether it was
    /// found.
    pub(crate) fn kill(&mut self, key: u64, slot: u32, generation: u32) -> bool {
        let from = self.keys.partition_point(|&k| k < key);
        let to = from + self.keys[from..].partition_point(|&k| k == key);
        for j in from..to {
            if self.ids[j].0 == slot && self.ids[j].1 == generation {
                self.boxes[j] = EMPTY;
                self.coarse[j] = DEAD;
                return true;
            }
        }
        false
    }

    /// The entries with their keys, in key order.
    pub(crate) fn into_keyed(self) -> impl Iterator<Item = (u64, Entry)> {
        let Run {
            keys, boxes, ids, ..
        } = self;
        keys.into_iter()
            .zip(ids)
            .enumerate()
            .map(move |(j, (k, (slot, generation, party)))| {
                (
                    k,
                    Entry {
                        bounds: boxes[j],
                        slot,
                        generation,
                        party,
                    },
                )
            })
    }

    /// Calls `f(index)` for every box intersecting `q`, and perhaps a few more near it (`index`:
    /// the entry's position in the run, also that of its [`Run::ids`]). See [`query_runs`].
    pub(crate) fn query(&self, q: &Box32, f: &mut impl FnMut(usize)) {
        query_runs(1, |_| self, q, &mut |_, j| f(j));
    }

    /// The child level of level `height` (counted from the boxes: the boxes are below level 0).
    fn below(&self, height: usize) -> &[Box16] {
        match height {
            0 => &self.coarse,
            h => &self.levels[h - 1],
        }
    }
}

/// Calls `f(r, index)` for every box of run `run(r)` (`r < runs`) intersecting `q` (`index`: the
/// entry's position in its run, also that of its [`Run::ids`]), and perhaps a few boxes near it
/// that do not: boxes are tested in their run's grid, rounded outwards (see [`Grid`]), so a
/// caller tests exactly what it is given.
///
/// Level by level rather than depth first, and all runs together: at each step the nodes of every
/// run that intersect `q` are listed, then all their children are read from memory at once (one
/// load per cache line, none waiting on another) and only then tested, so that the loads of
/// different nodes and different runs overlap (a query over a million boxes is bound by memory
/// latency, not by the comparisons; testing while loading keeps only a few nodes' loads in
/// flight). The runs join so that all reach their boxes in the same step. The lists are kept
/// per thread and reused (a query allocates nothing) and filled without branches.
pub(crate) fn query_runs<'a>(
    runs: usize,
    run: impl Fn(usize) -> &'a Run,
    q: &Box32,
    f: &mut impl FnMut(usize, usize),
) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut lists) => descend(runs, &run, q, &mut lists, f),
        // Only if `f` queries a run itself.
        Err(_) => descend(runs, &run, q, &mut Vec::new(), f),
    });
}

fn descend<'a>(
    runs: usize,
    run: &impl Fn(usize) -> &'a Run,
    q: &Box32,
    lists: &mut Vec<Lists>,
    f: &mut impl FnMut(usize, usize),
) {
    if lists.len() < runs {
        lists.resize_with(runs, Default::default);
    }
    for (r, (frontier, _, q16)) in lists.iter_mut().enumerate().take(runs) {
        frontier.clear();
        *q16 = run(r).grid.coarse(q);
    }
    let height = |r: usize| run(r).levels.len();
    let top = (0..runs).map(height).max().unwrap_or(0);
    // Step `h` tests the children of the listed nodes at height `h`.
    for h in (0..top).rev() {
        let mut warm = 0u32;
        for (r, (frontier, _, q16)) in lists.iter_mut().enumerate().take(runs) {
            let run = run(r);
            if height(r) == h + 1 && intersects(&run.levels[h][0], q16) {
                frontier.push(0);
            }
            if !frontier.is_empty() {
                warm = warm.wrapping_add(touch(run.below(h), frontier));
            }
        }
        std::hint::black_box(warm);
        for (r, (frontier, next, q16)) in lists.iter_mut().enumerate().take(runs) {
            if !frontier.is_empty() {
                select(run(r).below(h), frontier, q16, next);
                std::mem::swap(frontier, next);
            }
        }
    }
    for (r, (found, _, _)) in lists.iter().enumerate().take(runs) {
        for &j in found {
            f(r, j as usize);
        }
    }
}

/// Per run, the two lists of node indices a query's descent fills, and the query in the run's
/// grid.
type Lists = (Vec<u32>, Vec<u32>, Box16);

thread_local! {
    /// The [`Lists`] of every run.
    static SCRATCH: std::cell::RefCell<Vec<Lists>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A sum over the children of `nodes` in `level`, one read per cache line: brings them into
/// cache, every load independent of the others. Portable in place of a prefetch instruction,
/// which needs `unsafe`.
fn touch(level: &[Box16], nodes: &[u32]) -> u32 {
    let mut warm = 0u32;
    for &i in nodes {
        let lo = i as usize * NODE;
        let hi = (lo + NODE).min(level.len());
        // Four boxes of 16 bytes per 64-byte line.
        for b in level[lo..hi].iter().step_by(4) {
            warm = warm.wrapping_add(u32::from(b[0]));
        }
    }
    warm
}

/// Into `out`, the indices of the boxes of `level` that intersect `q` among the children of
/// `nodes` (node `i` has children `i * NODE ..`).
fn select(level: &[Box16], nodes: &[u32], q: &Box16, out: &mut Vec<u32>) {
    out.clear();
    out.resize(nodes.len() * NODE, 0);
    let mut n = 0;
    for &i in nodes {
        let lo = i as usize * NODE;
        let hi = (lo + NODE).min(level.len());
        for (j, b) in level[lo..hi].iter().enumerate() {
            out[n] = (lo + j) as u32;
            n += usize::from(intersects(b, q));
        }
    }
    out.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x: f32, y: f32, s: f32) -> Box32 {
        [x, y, 0.0, 0.0, x + s, y + s, 10.0, 10.0]
    }

    fn run_of(boxes: &[Box32]) -> Run {
        let keyed = boxes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                (
                    sort_key(b, 1_000.0),
                    Entry {
                        bounds: *b,
                        slot: i as u32,
                        generation: 0,
                        party: 0,
                    },
                )
            })
            .collect();
        Run::build(keyed)
    }

    /// The slots of the boxes found intersecting `q`, after checking that what the query gave
    /// holds every one of them.
    fn found(run: &Run, q: &Box32) -> Vec<u32> {
        let mut given = Vec::new();
        run.query(q, &mut |j| given.push(j));
        let mut v: Vec<u32> = given
            .iter()
            .filter(|&&j| intersects(&run.boxes[j], q))
            .map(|&j| run.ids()[j].0)
            .collect();
        v.sort_unstable();
        let all = (0..run.len())
            .filter(|&j| intersects(&run.boxes[j], q))
            .count();
        assert_eq!(v.len(), all, "a box intersecting {q:?} was not given");
        v
    }

    #[test]
    fn a_query_finds_exactly_the_intersecting_boxes_at_every_size() {
        // Sizes around the node width and its powers, so partial nodes at every level occur.
        for n in [0, 1, 15, 16, 17, 255, 256, 257, 4_100] {
            let boxes: Vec<Box32> = (0..n)
                .map(|i| {
                    let (x, y) = ((i * 37 % 101) as f32 * 9.0, (i * 53 % 97) as f32 * 9.0);
                    bx(x - 450.0, y - 450.0, 5.0 + (i % 7) as f32)
                })
                .collect();
            let run = run_of(&boxes);
            assert_eq!(run.len(), n);
            for q in [
                bx(-450.0, -450.0, 30.0),
                bx(0.0, 0.0, 100.0),
                bx(-1e4, -1e4, 2e4),
            ] {
                let expect: Vec<u32> = (0..n as u32)
                    .filter(|&i| intersects(&boxes[i as usize], &q))
                    .collect();
                assert_eq!(found(&run, &q), expect, "n = {n}, query {q:?}");
            }
        }
    }

    #[test]
    fn runs_of_different_heights_queried_together_find_what_each_finds() {
        // Heights 0 (empty) to 4, so that runs join the descent at different steps.
        let sizes = [0, 5, 17, 300, 5_000, 70_000];
        let runs: Vec<Run> = sizes
            .iter()
            .map(|&n| {
                let boxes: Vec<Box32> = (0..n)
                    .map(|i| {
                        let (x, y) = ((i * 37 % 1009) as f32, (i * 53 % 997) as f32);
                        bx(x - 500.0, y - 500.0, 3.0 + (i % 5) as f32)
                    })
                    .collect();
                run_of(&boxes)
            })
            .collect();
        for q in [
            bx(-500.0, -500.0, 30.0),
            bx(0.0, 0.0, 2.0),
            bx(-1e4, -1e4, 2e4),
            bx(5e3, 5e3, 1.0),
        ] {
            let mut together: Vec<(usize, u32)> = Vec::new();
            query_runs(runs.len(), |r| &runs[r], &q, &mut |r, j| {
                if intersects(&runs[r].boxes[j], &q) {
                    together.push((r, runs[r].ids()[j].0))
                }
            });
            together.sort_unstable();
            let alone: Vec<(usize, u32)> = runs
                .iter()
                .enumerate()
                .flat_map(|(r, run)| found(run, &q).into_iter().map(move |s| (r, s)))
                .collect();
            assert_eq!(together, alone, "query {q:?}");
            // And what each finds is what intersects.
            for (r, run) in runs.iter().enumerate() {
                let expect = (0..run.len())
                    .filter(|&j| intersects(&run.boxes[j], &q))
                    .count();
                assert_eq!(found(run, &q).len(), expect, "run {r}, query {q:?}");
            }
        }
    }

    #[test]
    fn merging_two_runs_packs_what_building_once_packs_minus_what_is_dropped() {
        let boxes: Vec<Box32> = (0..700)
            .map(|i| {
                let (x, y) = ((i * 37 % 101) as f32 * 9.0, (i * 53 % 97) as f32 * 9.0);
                bx(x - 450.0, y - 450.0, 5.0)
            })
            .collect();
        let keyed = |range: std::ops::Range<usize>| -> Vec<(u64, Entry)> {
            range
                .map(|i| {
                    let e = Entry {
                        bounds: boxes[i],
                        slot: i as u32,
                        generation: (i % 3) as u32,
                        party: 0,
                    };
                    (sort_key(&boxes[i], 1_000.0), e)
                })
                .collect()
        };
        let mut order = Vec::new();
        let merged = Run::merge(
            Run::build(keyed(0..650)),
            Run::build(keyed(650..700)),
            |_, g| g != 1,
            |from_a, k| order.push((from_a, k)),
        );
        assert_eq!(order.len(), merged.len());
        assert_eq!(order.iter().filter(|(from_a, _)| !from_a).count(), 50 - 16);
        let whole = Run::build(keyed(0..700));
        let kept: Vec<(u64, Entry)> = whole
            .into_keyed()
            .filter(|(_, e)| e.generation != 1)
            .collect();
        let got: Vec<(u64, Entry)> = merged.into_keyed().collect();
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "in key order");
        let sorted = |mut v: Vec<(u64, Entry)>| {
            v.sort_by_key(|(k, e)| (*k, e.slot));
            v
        };
        assert_eq!(sorted(got), sorted(kept));
        let mut run = Run::merge(
            Run::build(keyed(0..650)),
            Run::build(keyed(650..700)),
            |_, g| g != 1,
            |_, _| {},
        );
        let q = bx(-1e4, -1e4, 2e4);
        let live = (0..700).filter(|i| i % 3 != 1).count();
        assert_eq!(found(&run, &q).len(), live);
        // A killed entry is found no more; a wrong generation kills nothing.
        let key = sort_key(&boxes[3], 1_000.0);
        assert!(!run.kill(key, 3, 1));
        assert!(run.kill(key, 3, 0));
        assert!(!found(&run, &q).contains(&3));
        assert_eq!(found(&run, &q).len(), live - 1);
    }

    #[test]
    fn coarse_boxes_keep_every_box_that_meets_and_drop_those_well_apart() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut pick = |scale: f32| -> Box32 {
            let mut b = [0f32; 8];
            for d in 0..4 {
                let lo = rng.gen_range(-scale..scale);
                // Some flat boxes, some with sides single precision barely resolves.
                let w = match rng.gen_range(0..4) {
                    0 => 0.0,
                    1 => lo.abs() * 1e-7,
                    _ => rng.gen_range(0.0..scale),
                };
                b[d] = lo;
                b[d + 4] = lo + w;
            }
            b
        };
        let (mut kept, mut dropped) = (0, 0);
        for round in 0..3_000 {
            let scale = [1.0, 1e3, 1e6][round % 3];
            let boxes: Vec<Box32> = (0..20).map(|_| pick(scale)).collect();
            let grid = Grid::over(&enclose(&boxes));
            for _ in 0..20 {
                // Queries inside, across and outside the grid's box.
                let q = pick(scale * 1.5);
                let q16 = grid.coarse(&q);
                for b in &boxes {
                    let meet = intersects(&grid.coarse(b), &q16);
                    if intersects(b, &q) {
                        assert!(meet, "{b:?} meets {q:?} in {grid:?}");
                        kept += 1;
                    } else if !meet {
                        dropped += 1;
                    }
                    // Apart by more than a cell on an axis, within the grid: dropped.
                    let apart = (0..4).any(|d| {
                        let cell = 1.0 / f64::from(grid.scale[d]);
                        let (g0, g1) = (
                            f64::from(grid.origin[d]),
                            f64::from(grid.origin[d]) + f64::from(CELLS) * cell,
                        );
                        let (lo, hi) = (f64::from(b[d]), f64::from(b[d + 4]));
                        let (qlo, qhi) = (f64::from(q[d]), f64::from(q[d + 4]));
                        grid.scale[d] > 0.0
                            && (lo - qhi > 1.01 * cell && qhi >= g0
                                || qlo - hi > 1.01 * cell && qlo <= g1)
                    });
                    assert!(!apart || !meet, "{b:?} apart from {q:?} in {grid:?}");
                }
            }
        }
        assert!(
            kept > 1_000 && dropped > 100_000,
            "{kept} kept, {dropped} dropped"
        );
        // A removed box meets nothing, not even a query over everything; an empty box is one.
        let everything = [
            f32::MIN,
            f32::MIN,
            f32::MIN,
            f32::MIN,
            f32::MAX,
            f32::MAX,
            f32::MAX,
            f32::MAX,
        ];
        let grid = Grid::over(&bx(0.0, 0.0, 10.0));
        assert!(!intersects(&DEAD, &grid.coarse(&everything)));
        assert!(intersects(
            &grid.coarse(&bx(1.0, 1.0, 1.0)),
            &grid.coarse(&everything)
        ));
        assert_eq!(grid.coarse(&EMPTY), DEAD);
        // A flat grid puts everything in cell 0 on that axis.
        let flat = Grid::over(&[0.0, 0.0, 5.0, 5.0, 10.0, 10.0, 5.0, 5.0]);
        assert!(intersects(
            &flat.coarse(&bx(1.0, 1.0, 1.0)),
            &flat.coarse(&bx(0.0, 0.0, 3.0))
        ));
    }

    #[test]
    fn boxes_sharing_only_a_face_or_a_corner_intersect() {
        let run = run_of(&[bx(0.0, 0.0, 10.0)]);
        assert_eq!(found(&run, &bx(10.0, 0.0, 5.0)), vec![0]);
        assert_eq!(found(&run, &bx(10.0, 10.0, 5.0)), vec![0]);
        assert!(found(&run, &bx(10.001, 0.0, 5.0)).is_empty());
        // Touching in time only at an instant still intersects: the filter is closed.
        let mut later = bx(0.0, 0.0, 10.0);
        later[3] = 10.0;
        later[7] = 20.0;
        assert_eq!(found(&run, &later), vec![0]);
    }

    #[test]
    fn the_curve_visits_a_corner_cube_cell_by_neighbouring_cell() {
        // The first 8³ positions of the order-16 curve fill the 8 × 8 × 8 corner, each a face
        // neighbour of the one before: what makes key order keep neighbours together.
        let mut at = vec![None; 512];
        for x in 0..8u32 {
            for y in 0..8u32 {
                for z in 0..8u32 {
                    let h = hilbert3([x, y, z], KEY_BITS) as usize;
                    assert!(h < 512, "{x} {y} {z} -> {h}");
                    assert!(at[h].is_none(), "{h} twice");
                    at[h] = Some([x, y, z]);
                }
            }
        }
        for w in at.windows(2) {
            let (a, b) = (w[0].expect("filled"), w[1].expect("filled"));
            let d: u32 = (0..3).map(|i| a[i].abs_diff(b[i])).sum();
            assert_eq!(d, 1, "{a:?} then {b:?}");
        }
    }

    #[test]
    fn keys_order_epochs_first_and_clamp_outside() {
        let at = |x: f32, t: f32| [x, 0.0, 0.0, t, x + 1.0, 1.0, 1.0, t + 60.0];
        let epoch_s = (2.0 * 1_000.0 / KEY_SPEED_M_PER_S) as f32;
        // Whatever the place, a later epoch sorts after an earlier one, and before the origin.
        assert!(sort_key(&at(900.0, 0.0), 1_000.0) < sort_key(&at(-900.0, epoch_s), 1_000.0));
        assert!(sort_key(&at(900.0, -epoch_s), 1_000.0) < sort_key(&at(-900.0, 0.0), 1_000.0));
        // Far outside, infinite and NaN centres do not panic.
        let _ = sort_key(&at(1e30, 1e30), 1_000.0);
        let _ = sort_key(&at(-1e30, -1e30), 1_000.0);
        let _ = sort_key(&[f32::NAN; 8], 1_000.0);
        let _ = sort_key(&at(f32::INFINITY, f32::NEG_INFINITY), 1_000.0);
    }

    #[test]
    fn narrowed_boxes_contain_the_exact_ones() {
        // Values that f32 cannot hold, and times far from and near the origin.
        let t0 = 1_795_564_800.0;
        for b in [
            [
                0.1,
                -999_999.3,
                12.7,
                t0 + 0.001,
                0.3,
                999_999.7,
                12.9,
                t0 + 86_400.123,
            ],
            [-1e-9, 1e-9, 0.0, t0 - 3e7, 1e-9, 2e-9, 1e-12, t0 + 3e8],
        ] {
            let n = narrow(&b, t0);
            for d in 0..4 {
                let shift = if d == 3 { t0 } else { 0.0 };
                assert!(f64::from(n[d]) + shift <= b[d], "lower {d} of {b:?}: {n:?}");
                assert!(
                    f64::from(n[d + 4]) + shift >= b[d + 4],
                    "upper {d} of {b:?}: {n:?}"
                );
            }
        }
    }
}
