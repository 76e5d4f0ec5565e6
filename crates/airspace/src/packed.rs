//! Packed runs of 4D boxes: the strategic index's filter.
//!
//! A [`Run`] holds boxes sorted along a Hilbert curve over their footprints' centres, in flat
//! arrays, with a hierarchy of enclosing boxes above them (each of [`NODE`] consecutive boxes
//! of the level below), built bottom-up in one pass. Neighbours on the curve are neighbours on
//! the ground, so a query descends a few narrow nodes and scans short contiguous stretches of
//! boxes. A run is immutable; the index keeps a few of them, of sizes growing geometrically, and
//! merges them as inserts arrive (see `StrategicIndex`).
//!
//! Boxes are closed: two boxes sharing a face intersect. The filter only ever widens what the
//! exact test sees, never narrows it.

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

/// Closed intersection of two boxes (without branches: all eight comparisons are made).
#[inline]
pub(crate) fn intersects(a: &Box32, b: &Box32) -> bool {
    (a[0] <= b[4])
        & (b[0] <= a[4])
        & (a[1] <= b[5])
        & (b[1] <= a[5])
        & (a[2] <= b[6])
        & (b[2] <= a[6])
        & (a[3] <= b[7])
        & (b[3] <= a[7])
}

fn enclose(boxes: &[Box32]) -> Box32 {
    let mut out = [
        f32::INFINITY,
        f32::INFINITY,
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    ];
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

/// Sort key of a box: the position of its footprint's centre on a Hilbert curve of order 16 over
/// the square `[-half_m, half_m]²` (clamped to it).
pub(crate) fn sort_key(b: &Box32, half_m: f64) -> u64 {
    u64::from(hilbert(b, half_m))
}

fn hilbert(b: &Box32, half_m: f64) -> u32 {
    const SIDE: u32 = 1 << 16;
    let cell = |lo: f32, hi: f32| -> u32 {
        let t = ((f64::from(lo) + f64::from(hi)) / 2.0 + half_m) / (2.0 * half_m);
        // NaN and out-of-range centres clamp to the square's edges.
        (t * SIDE as f64).clamp(0.0, (SIDE - 1) as f64) as u32
    };
    let (mut x, mut y) = (cell(b[0], b[4]), cell(b[1], b[5]));
    let mut d: u32 = 0;
    let mut s = SIDE / 2;
    while s > 0 {
        let rx = u32::from(x & s != 0);
        let ry = u32::from(y & s != 0);
        d = d.wrapping_add(s.wrapping_mul(s).wrapping_mul((3 * rx) ^ ry));
        if ry == 0 {
            if rx == 1 {
                x = SIDE - 1 - x;
                y = SIDE - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// An immutable packed run.
#[derive(Debug, Default)]
pub(crate) struct Run {
    keys: Vec<u64>,
    boxes: Vec<Box32>,
    ids: Vec<(u32, u32, u32)>,
    /// `levels[0]` encloses groups of [`NODE`] boxes, `levels[k]` groups of `levels[k - 1]`;
    /// the last level has one box.
    levels: Vec<Vec<Box32>>,
}

impl Run {
    /// Packs `keyed` (entries with their keys, in any order).
    pub(crate) fn build(mut keyed: Vec<(u64, Entry)>) -> Run {
        keyed.sort_by_key(|(k, _)| *k);
        let mut run = Run {
            keys: Vec::with_capacity(keyed.len()),
            boxes: Vec::with_capacity(keyed.len()),
            ids: Vec::with_capacity(keyed.len()),
            levels: Vec::new(),
        };
        for (k, e) in keyed {
            run.keys.push(k);
            run.boxes.push(e.bounds);
            run.ids.push((e.slot, e.generation, e.party));
        }
        run.levels = levels_over(&run.boxes);
        run
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
        let mut run = Run {
            keys: Vec::with_capacity(n),
            boxes: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            levels: Vec::new(),
        };
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
                run.keys.push(r.keys[k]);
                run.boxes.push(r.boxes[k]);
                run.ids.push(r.ids[k]);
            }
        }
        run.levels = levels_over(&run.boxes);
        run
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
                self.boxes[j] = [
                    f32::INFINITY,
                    f32::INFINITY,
                    f32::INFINITY,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NEG_INFINITY,
                    f32::NEG_INFINITY,
                    f32::NEG_INFINITY,
                ];
                return true;
            }
        }
        false
    }

    /// The entries with their keys, in key order.
    pub(crate) fn into_keyed(self) -> impl Iterator<Item = (u64, Entry)> {
        self.keys.into_iter().zip(self.boxes).zip(self.ids).map(
            |((k, bounds), (slot, generation, party))| {
                (
                    k,
                    Entry {
                        bounds,
                        slot,
                        generation,
                        party,
                    },
                )
            },
        )
    }

    /// Calls `f(index, slot, generation, party)` for every box intersecting `q` (`index`: the
    /// entry's position in the run).
    ///
    /// Level by level rather than depth first: the nodes of one level that intersect `q` are
    /// listed, then all their children are tested, so the loads of different nodes do not wait
    /// on each other (a query over a million boxes is bound by memory latency, not by the
    /// comparisons). The lists are filled without branches.
    pub(crate) fn query(&self, q: &Box32, f: &mut impl FnMut(usize, u32, u32, u32)) {
        let Some(top) = self.levels.len().checked_sub(1) else {
            return;
        };
        if !intersects(&self.levels[top][0], q) {
            return;
        }
        let mut frontier: Vec<u32> = vec![0];
        let mut next: Vec<u32> = Vec::new();
        for level in (0..top).rev() {
            select(&self.levels[level], &frontier, q, &mut next);
            std::mem::swap(&mut frontier, &mut next);
        }
        select(&self.boxes, &frontier, q, &mut next);
        for &j in &next {
            let (slot, generation, party) = self.ids[j as usize];
            f(j as usize, slot, generation, party);
        }
    }
}

/// Into `out`, the indices of the boxes of `level` that intersect `q` among the children of
/// `nodes` (node `i` has children `i * NODE ..`).
fn select(level: &[Box32], nodes: &[u32], q: &Box32, out: &mut Vec<u32>) {
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

    fn found(run: &Run, q: &Box32) -> Vec<u32> {
        let mut v = Vec::new();
        run.query(q, &mut |_, slot, _, _| v.push(slot));
        v.sort_unstable();
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
    fn hilbert_keys_are_distinct_on_a_grid_and_clamp_outside() {
        let mut keys: Vec<u32> = (0..64)
            .flat_map(|i| {
                (0..64).map(move |j| {
                    hilbert(
                        &bx(i as f32 * 30.0 - 960.0, j as f32 * 30.0 - 960.0, 0.0),
                        1_000.0,
                    )
                })
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 64 * 64);
        // Far outside and NaN centres do not panic and land on the square's edge.
        let _ = hilbert(&bx(1e12, -1e12, 0.0), 1_000.0);
        let _ = hilbert(&[f32::NAN; 8], 1_000.0);
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
