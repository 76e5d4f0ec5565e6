//! The strategic index: every notification's volumes as (x, y, altitude, time) boxes in packed
//! runs, then the exact test on each candidate.
//!
//! The boxes are a conservative filter (closed, and widened by the buffers plus a margin larger
//! than any rounding), so the filter never drops a candidate that the exact test would keep; the
//! exact test alone decides. The answer is therefore the same as comparing every pair, which
//! [`brute_force`] does and the property tests check.
//!
//! Inserts go to a small buffer, scanned box by box; a full buffer becomes a packed run (see
//! [`crate::packed`]), and a run is merged into the one before it while that one is less than
//! [`MERGE_FACTOR`] times larger, so runs grow geometrically: O(log n) of them, each entry
//! re-packed O(log n) times over its life (amortised O(log n) per insert; merging is linear
//! because every run is kept in the same key order). Each run keeps, in its own order, what
//! the exact test reads (bands, windows, footprints, ids), so a query reads no slot. Removal
//! empties the volume's box in its run (found by its key) and bumps its slot's generation (which
//! the buffer and merges check); stale entries are dropped at the next merge, or all at once
//! when they outnumber the live ones.

use std::collections::HashMap;

use crate::error::{Error, Rule};
use crate::packed::{Box4, Box32, Entry, Run, intersects, narrow, query_runs, sort_key};
use crate::pages::Pages;
use crate::planar::{Frame, Planar, Shape, Vertex, shapes_conflict};
use crate::volume::{AltitudeBand, LonLat, Notification, NotificationId, PartyId, TimeWindow};

/// Default for the most volumes one index holds.
pub const VOLUMES_MAX: usize = 16_000_000;

/// Separation minima applied to a strategic check.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Buffers {
    h_m: f64,
    v_m: f64,
}

impl Buffers {
    /// Horizontal and vertical buffers, metres; finite and not negative.
    pub fn new(h_m: f64, v_m: f64) -> Result<Self, Rule> {
        for b in [h_m, v_m] {
            if !b.is_finite() || b < 0.0 {
                return Err(Rule::Other(format!(
                    "buffer {b} m is not a finite, non-negative number"
                )));
            }
        }
        Ok(Buffers { h_m, v_m })
    }
    pub fn h_m(&self) -> f64 {
        self.h_m
    }
    pub fn v_m(&self) -> f64 {
        self.v_m
    }
}

/// A volume in a frame: what the exact test compares.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanarVolume {
    pub footprint: Planar,
    pub band: AltitudeBand,
    pub window: TimeWindow,
}

impl PlanarVolume {
    /// The exact 4D test: footprints (closed) intersect or come closer than `h_m`; altitude
    /// bands overlap once widened by `v_m` (half-open); time windows overlap (half-open).
    pub fn conflicts_with(&self, other: &PlanarVolume, buffers: Buffers) -> bool {
        self.window.overlaps(&other.window)
            && self.band.overlaps(&other.band, buffers.v_m)
            && self.footprint.conflicts_with(&other.footprint, buffers.h_m)
    }

    fn envelope(&self, widen_h_m: f64, widen_v_m: f64) -> Box4 {
        let [x0, y0, x1, y1] = self.footprint.bbox();
        let (alt, t) = axis_scales();
        [
            x0 - widen_h_m,
            y0 - widen_h_m,
            (self.band.lower_m() - widen_v_m) * alt,
            self.window.start_ms() as f64 * t,
            x1 + widen_h_m,
            y1 + widen_h_m,
            (self.band.upper_m() + widen_v_m) * alt,
            self.window.end_ms() as f64 * t,
        ]
    }
}

/// Projects every volume of `n` into `frame`, naming the volume that does not fit.
pub fn project(frame: &Frame, n: &Notification) -> Result<Vec<PlanarVolume>, Error> {
    n.volumes()
        .iter()
        .enumerate()
        .map(|(k, v)| {
            Ok(PlanarVolume {
                footprint: frame
                    .footprint(&v.footprint)
                    .map_err(|rule| Error::InvalidVolume {
                        volume: format!("notification {:?} volume {}", n.id().as_str(), k + 1),
                        rule,
                    })?,
                band: v.band,
                window: v.window,
            })
        })
        .collect()
}

/// Altitude (metres) and time (milliseconds) scaled to box coordinates: metres and seconds.
/// Positive constants keep the boxes' comparisons monotone, so still conservative.
fn axis_scales() -> (f64, f64) {
    (1.0, 0.001)
}

/// Widening of query boxes beyond the buffer: larger than any rounding in the exact test, so
/// the box filter stays conservative.
fn margin(b: f64) -> f64 {
    b + b * 1e-9 + 1e-6
}

/// Default for the most volumes buffered before they are packed into a run.
pub const BUFFER_MAX: usize = 256;

/// A run is merged into the one before it while that one holds fewer than this many times its
/// entries.
pub const MERGE_FACTOR: usize = 4;

#[derive(Debug)]
struct Stored {
    notification: NotificationId,
    /// The slot's generation when this was stored.
    generation: u32,
    volume: PlanarVolume,
}

/// What the exact test reads of each entry of a run, in the run's order, so that the candidates
/// of one query, neighbours on the ground and in time, are neighbours in memory too (a query
/// over a million volumes waits on memory: entries kept in insertion order would cost a page
/// each). In huge pages when large, as the run's boxes (see [`Pages`]).
#[derive(Debug, Default)]
struct Shapes {
    /// One cache line per entry, at the entry's position in the run.
    meta: Pages<Meta>,
    /// Per entry: a polygon's bounding box (its two corners) then its closed ring; a circle's
    /// centre then its radius (as `x`). One after the other.
    coords: Pages<[f64; 2]>,
    /// Notification ids (UTF-8), one after the other.
    names: Pages<u8>,
}

/// [`Shapes`] being filled, before it is fixed.
#[derive(Debug, Default)]
struct ShapesBuilder {
    meta: Vec<Meta>,
    coords: Vec<[f64; 2]>,
    names: Vec<u8>,
}

/// An entry's band, window and party, and where its coordinates and id are: one cache line, so
/// that a candidate costs one load before its coordinates (whose place it gives).
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Meta {
    /// The band's bounds, metres.
    band: [f64; 2],
    /// The window's bounds, ms.
    window: [i64; 2],
    coords: [u32; 2],
    name: [u32; 2],
    party: u32,
    /// 1 for a circle, 0 for a polygon.
    circle: u32,
    _unused: [u32; 2],
}

const _: () = assert!(std::mem::size_of::<Meta>() == 64);

impl Meta {
    fn band(&self) -> AltitudeBand {
        AltitudeBand::from_parts(self.band[0], self.band[1])
    }
    fn window(&self) -> TimeWindow {
        TimeWindow::from_parts(self.window[0], self.window[1])
    }
}

impl ShapesBuilder {
    fn with_capacity(n: usize, coords: usize, names: usize) -> Self {
        ShapesBuilder {
            meta: Vec::with_capacity(n),
            coords: Vec::with_capacity(coords),
            names: Vec::with_capacity(names),
        }
    }

    fn push(&mut self, id: &str, v: &PlanarVolume, party: u32) {
        let start = self.coords.len() as u32;
        let circle = match &v.footprint {
            Planar::Polygon { polygon, .. } => {
                let [x0, y0, x1, y1] = v.footprint.bbox();
                self.coords.push([x0, y0]);
                self.coords.push([x1, y1]);
                self.coords
                    .extend(polygon.exterior().0.iter().map(|c| [c.x, c.y]));
                false
            }
            Planar::Circle { centre, radius_m } => {
                self.coords.push([centre.x, centre.y]);
                self.coords.push([*radius_m, 0.0]);
                true
            }
        };
        let name_start = self.names.len() as u32;
        self.names.extend_from_slice(id.as_bytes());
        self.meta.push(Meta {
            band: [v.band.lower_m(), v.band.upper_m()],
            window: [v.window.start_ms(), v.window.end_ms()],
            coords: [start, self.coords.len() as u32],
            name: [name_start, self.names.len() as u32],
            party,
            circle: u32::from(circle),
            _unused: [0; 2],
        });
    }

    fn push_from(&mut self, other: &Shapes, k: usize) {
        let m = other.meta[k];
        let start = self.coords.len() as u32;
        self.coords
            .extend_from_slice(&other.coords[m.coords[0] as usize..m.coords[1] as usize]);
        let name_start = self.names.len() as u32;
        self.names
            .extend_from_slice(&other.names[m.name[0] as usize..m.name[1] as usize]);
        self.meta.push(Meta {
            coords: [start, self.coords.len() as u32],
            name: [name_start, self.names.len() as u32],
            ..m
        });
    }

    fn build(self) -> Shapes {
        Shapes {
            meta: Pages::new(self.meta),
            coords: Pages::new(self.coords),
            names: Pages::new(self.names),
        }
    }
}

impl Shapes {
    /// The arrays as slices, for a query to look at many entries.
    fn view(&self) -> View<'_> {
        View {
            meta: &self.meta,
            coords: &self.coords,
            names: &self.names,
        }
    }
}

/// A [`Shapes`] borrowed as slices.
#[derive(Clone, Copy)]
struct View<'a> {
    meta: &'a [Meta],
    coords: &'a [[f64; 2]],
    names: &'a [u8],
}

impl<'a> View<'a> {
    fn name(&self, k: usize) -> &'a str {
        let [a, b] = self.meta[k].name;
        std::str::from_utf8(&self.names[a as usize..b as usize]).expect("ids are stored whole")
    }

    /// Entry `k`'s footprint, borrowed.
    fn shape(&self, k: usize) -> Shape<'a, [f64; 2]> {
        let m = &self.meta[k];
        let c = &self.coords[m.coords[0] as usize..m.coords[1] as usize];
        if m.circle != 0 {
            Shape::Circle {
                centre: c[0].coord(),
                radius_m: c[1][0],
            }
        } else {
            Shape::Polygon {
                ring: &c[2..],
                bbox: [c[0][0], c[0][1], c[1][0], c[1][1]],
            }
        }
    }

    /// A sum over the entry's coordinates and id, one read per cache line: brings them into
    /// cache.
    fn first_bytes(&self, k: usize) -> f64 {
        let m = &self.meta[k];
        let coords = &self.coords[m.coords[0] as usize..m.coords[1] as usize];
        coords.iter().step_by(4).map(|c| c[0]).sum::<f64>()
            + f64::from(self.names[m.name[0] as usize])
    }
}

/// A packed run and the exact test's data of its entries, in the same order.
#[derive(Debug)]
struct Packed {
    run: Run,
    shapes: Shapes,
}

#[derive(Debug)]
struct Record {
    notification: Notification,
    slots: Vec<u32>,
}

/// Notifications of every party, indexed for strategic checks and point look-ups.
#[derive(Debug)]
pub struct StrategicIndex {
    frame: Frame,
    volumes_max: usize,
    buffer_max: usize,
    /// Packed runs, largest (oldest) first.
    runs: Vec<Packed>,
    /// Inserted since the last packing.
    buffer: Vec<Entry>,
    /// Origin of the stored boxes' time axis, seconds (the first volume's start).
    t0: Option<f64>,
    /// Stale entries (their slot was freed) still in `runs` or `buffer`.
    stale: usize,
    slots: Vec<Option<Stored>>,
    /// Per slot: bumped when the slot is freed, so entries stored before are recognised stale.
    generations: Vec<u32>,
    free: Vec<u32>,
    records: HashMap<NotificationId, Record>,
    parties: HashMap<PartyId, u32>,
}

impl StrategicIndex {
    pub fn new(frame: Frame) -> Self {
        StrategicIndex::with_capacity_limit(frame, VOLUMES_MAX)
    }

    pub fn with_capacity_limit(frame: Frame, volumes_max: usize) -> Self {
        StrategicIndex::with_limits(frame, volumes_max, BUFFER_MAX)
    }

    /// `buffer_max` (at least 1): how many inserted volumes are buffered before being packed
    /// into a run; small values make runs merge often (the tests use them for that).
    pub fn with_limits(frame: Frame, volumes_max: usize, buffer_max: usize) -> Self {
        StrategicIndex {
            frame,
            volumes_max,
            buffer_max: buffer_max.max(1),
            runs: Vec::new(),
            buffer: Vec::new(),
            t0: None,
            stale: 0,
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            records: HashMap::new(),
            parties: HashMap::new(),
        }
    }

    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Number of notifications held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Number of volumes held.
    pub fn volumes_len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn get(&self, id: &NotificationId) -> Option<&Notification> {
        self.records.get(id).map(|r| &r.notification)
    }

    pub fn notifications(&self) -> impl Iterator<Item = &Notification> {
        self.records.values().map(|r| &r.notification)
    }

    fn party_key(&mut self, party: &PartyId) -> u32 {
        let next = self.parties.len() as u32;
        *self.parties.entry(party.clone()).or_insert(next)
    }

    /// Adds a notification. Nothing is changed when it fails.
    pub fn insert(&mut self, n: Notification) -> Result<(), Error> {
        let entries = self.stage(n)?;
        self.buffer.extend(entries);
        if self.buffer.len() >= self.buffer_max {
            self.pack();
        }
        Ok(())
    }

    /// Builds an index from many notifications at once (packed in one run). Fails on the first
    /// invalid or duplicate one.
    pub fn bulk_load(frame: Frame, notifications: Vec<Notification>) -> Result<Self, Error> {
        let mut index = StrategicIndex::new(frame);
        for n in notifications {
            let entries = index.stage(n)?;
            index.buffer.extend(entries);
        }
        index.compact();
        Ok(index)
    }

    fn half_m(&self) -> f64 {
        self.frame.radius_m_max()
    }

    /// `b` as stored boxes are (a query box before any volume is stored: origin 0).
    fn narrow(&self, b: &Box4) -> Box32 {
        narrow(b, self.t0.unwrap_or(0.0))
    }

    fn live(&self, slot: u32, generation: u32) -> bool {
        self.generations[slot as usize] == generation
    }

    /// The buffer's live entries with their keys, emptying it.
    fn drain_buffer(&mut self) -> Vec<(u64, Entry)> {
        let half_m = self.half_m();
        let mut buffer = std::mem::take(&mut self.buffer);
        let before = buffer.len();
        buffer.retain(|e| self.live(e.slot, e.generation));
        self.stale -= before - buffer.len();
        buffer
            .into_iter()
            .map(|e| (sort_key(&e.bounds, half_m), e))
            .collect()
    }

    /// Packs the buffer into a run, then merges runs while the one before the last is less than
    /// [`MERGE_FACTOR`] times larger than the last.
    fn pack(&mut self) {
        let keyed = self.drain_buffer();
        if !keyed.is_empty() {
            let packed = self.packed(Run::build(keyed));
            self.runs.push(packed);
        }
        while self.runs.len() >= 2 {
            let last = self.runs[self.runs.len() - 1].run.len();
            let before = self.runs[self.runs.len() - 2].run.len();
            if before >= MERGE_FACTOR * last {
                break;
            }
            let b = self.runs.pop().expect("two runs");
            let a = self.runs.pop().expect("two runs");
            let both = a.run.len() + b.run.len();
            let mut shapes = ShapesBuilder::with_capacity(
                both,
                a.shapes.coords.len() + b.shapes.coords.len(),
                a.shapes.names.len() + b.shapes.names.len(),
            );
            let kept = |from_a: bool, k: usize| {
                shapes.push_from(if from_a { &a.shapes } else { &b.shapes }, k)
            };
            let run = if self.stale == 0 {
                Run::merge(a.run, b.run, |_, _| true, kept)
            } else {
                let generations = &self.generations;
                Run::merge(
                    a.run,
                    b.run,
                    |slot, generation| generations[slot as usize] == generation,
                    kept,
                )
            };
            self.stale -= both - run.len();
            self.runs.push(Packed {
                run,
                shapes: shapes.build(),
            });
        }
    }

    /// `run` with its entries' exact data, read from their slots.
    fn packed(&self, run: Run) -> Packed {
        let mut shapes = ShapesBuilder::with_capacity(run.len(), run.len() * 14, run.len() * 8);
        for &(slot, _, party) in run.ids() {
            let stored = self.slots[slot as usize]
                .as_ref()
                .expect("a packed entry's slot is live");
            shapes.push(stored.notification.as_str(), &stored.volume, party);
        }
        Packed {
            run,
            shapes: shapes.build(),
        }
    }

    /// All entries in one run, stale ones dropped.
    fn compact(&mut self) {
        let mut keyed = self.drain_buffer();
        for packed in std::mem::take(&mut self.runs) {
            keyed.extend(packed.run.into_keyed());
        }
        let keyed = self.live_keyed(keyed.into_iter());
        if !keyed.is_empty() {
            let packed = self.packed(Run::build(keyed));
            self.runs.push(packed);
        }
    }

    /// `entries` without the stale ones (counted off `stale`).
    fn live_keyed(&mut self, entries: impl Iterator<Item = (u64, Entry)>) -> Vec<(u64, Entry)> {
        if self.stale == 0 {
            // Nothing was removed since the last clean-up: no slot to look up.
            return entries.collect();
        }
        let mut out = Vec::with_capacity(entries.size_hint().0);
        let mut dropped = 0;
        for (k, e) in entries {
            if self.live(e.slot, e.generation) {
                out.push((k, e));
            } else {
                dropped += 1;
            }
        }
        self.stale -= dropped;
        out
    }

    /// Calls `f(stored)` for every live entry whose box intersects `q`.
    fn candidates<'a>(&'a self, q: &Box4, mut f: impl FnMut(&'a Stored)) {
        let q = &self.narrow(q);
        let mut each = |slot: u32, generation: u32| {
            if let Some(stored) = &self.slots[slot as usize]
                && stored.generation == generation
            {
                f(stored);
            }
        };
        for packed in &self.runs {
            let ids = packed.run.ids();
            packed.run.query(q, &mut |j| {
                let (slot, generation, _) = ids[j];
                each(slot, generation);
            });
        }
        for e in &self.buffer {
            if intersects(&e.bounds, q) {
                each(e.slot, e.generation);
            }
        }
    }

    /// Checks `n`, stores it and returns the entries still to be added.
    fn stage(&mut self, n: Notification) -> Result<Vec<Entry>, Error> {
        if self.records.contains_key(n.id()) {
            return Err(Error::DuplicateNotification {
                id: n.id().as_str().to_owned(),
            });
        }
        let planar = project(&self.frame, &n)?;
        let held = self.slots.len() - self.free.len();
        if held + planar.len() > self.volumes_max {
            return Err(Error::IndexFull {
                id: n.id().as_str().to_owned(),
                max: self.volumes_max,
            });
        }
        let party = self.party_key(n.party());
        let mut slots = Vec::with_capacity(planar.len());
        let mut entries = Vec::with_capacity(planar.len());
        for volume in planar {
            let exact = volume.envelope(0.0, 0.0);
            let t0 = *self.t0.get_or_insert(exact[3]);
            let bounds = narrow(&exact, t0);
            let generation = self
                .free
                .last()
                .map_or(0, |&s| self.generations[s as usize]);
            let stored = Stored {
                notification: n.id().clone(),
                generation,
                volume,
            };
            let slot = match self.free.pop() {
                Some(s) => {
                    self.slots[s as usize] = Some(stored);
                    s
                }
                None => {
                    self.slots.push(Some(stored));
                    self.generations.push(0);
                    (self.slots.len() - 1) as u32
                }
            };
            entries.push(Entry {
                bounds,
                slot,
                generation,
                party,
            });
            slots.push(slot);
        }
        self.records.insert(
            n.id().clone(),
            Record {
                notification: n,
                slots,
            },
        );
        Ok(entries)
    }

    /// Removes a notification and returns it.
    pub fn remove(&mut self, id: &NotificationId) -> Result<Notification, Error> {
        let record = self
            .records
            .remove(id)
            .ok_or_else(|| Error::UnknownNotification {
                id: id.as_str().to_owned(),
            })?;
        let (t0, half_m) = (self.t0.unwrap_or(0.0), self.half_m());
        for slot in record.slots {
            // Its boxes in the runs are made to match nothing (queries of runs do not look at
            // slots); one in the buffer is recognised by its generation.
            if let Some(stored) = &self.slots[slot as usize] {
                let key = sort_key(&narrow(&stored.volume.envelope(0.0, 0.0), t0), half_m);
                for packed in &mut self.runs {
                    if packed.run.kill(key, slot, stored.generation) {
                        break;
                    }
                }
            }
            self.slots[slot as usize] = None;
            let g = &mut self.generations[slot as usize];
            *g = g.wrapping_add(1);
            self.stale += 1;
            self.free.push(slot);
        }
        // Stale entries cost queries time and memory: once they outnumber the live ones, drop
        // them all (amortised O(1) re-packings per removal).
        if self.stale > self.volumes_len() + self.buffer_max {
            self.compact();
        }
        Ok(record.notification)
    }

    /// Replaces a notification with a new version of it (same id). When the new version is
    /// invalid the old one stays.
    pub fn update(&mut self, n: Notification) -> Result<Notification, Error> {
        // Validate the projection before touching anything.
        project(&self.frame, &n)?;
        let old = self.remove(n.id())?;
        if let Err(e) = self.insert(n) {
            self.insert(old)
                .expect("re-inserting the notification just removed");
            return Err(e);
        }
        Ok(old)
    }

    /// Every notification of another party with a volume in conflict with a volume of `n`,
    /// sorted by id, each once. `n` itself need not be (and, if present, is not reported).
    pub fn conflicts(
        &self,
        n: &Notification,
        buffers: Buffers,
    ) -> Result<Vec<NotificationId>, Error> {
        let planar = project(&self.frame, n)?;
        let party = self.parties.get(n.party()).copied();
        let mut found: Vec<&str> = Vec::new();
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        let views: Vec<View<'_>> = self.runs.iter().map(|p| p.shapes.view()).collect();
        for volume in &planar {
            let query = volume.envelope(margin(buffers.h_m), margin(buffers.v_m));
            let q = self.narrow(&query);
            // Packed runs: removed entries match no box, so no slot is looked up.
            candidates.clear();
            query_runs(self.runs.len(), |r| &self.runs[r].run, &q, &mut |r, j| {
                candidates.push((r, j))
            });
            // Every candidate's data is read from memory first, all at once (independent loads
            // overlap): its line of band, window and party, then its coordinates and id (whose
            // place that line gives); the exact tests then run on what is already in cache.
            let lines = candidates.iter().fold(0u32, |acc, &(r, j)| {
                acc.wrapping_add(views[r].meta[j].party)
            });
            std::hint::black_box(lines);
            candidates.retain(|&(r, j)| Some(views[r].meta[j].party) != party);
            let warm: f64 = candidates
                .iter()
                .map(|&(r, j)| views[r].first_bytes(j))
                .sum();
            std::hint::black_box(warm);
            for &(r, j) in &candidates {
                let view = &views[r];
                let m = &view.meta[j];
                // As `PlanarVolume::conflicts_with`, the query's volume first.
                if volume.window.overlaps(&m.window())
                    && volume.band.overlaps(&m.band(), buffers.v_m)
                    && shapes_conflict(volume.footprint.shape(), view.shape(j), buffers.h_m)
                {
                    found.push(view.name(j));
                }
            }
            // The buffer, box by box, from the slots.
            for e in &self.buffer {
                if Some(e.party) == party || !intersects(&e.bounds, &q) {
                    continue;
                }
                if let Some(stored) = &self.slots[e.slot as usize]
                    && stored.generation == e.generation
                    && volume.conflicts_with(&stored.volume, buffers)
                {
                    found.push(stored.notification.as_str());
                }
            }
        }
        // `n` itself, when stored (its own volumes conflict with it), is not reported.
        found.retain(|&name| name != n.id().as_str());
        found.sort_unstable();
        found.dedup();
        let ids: Vec<NotificationId> = found
            .into_iter()
            .map(NotificationId::from_checked)
            .collect();
        Ok(ids)
    }

    /// Notifications (with their party) having a volume that contains the point at `t_ms`:
    /// footprint closed, altitude band and time window half-open.
    pub fn active_at(
        &self,
        position: LonLat,
        alt_m: f64,
        t_ms: i64,
    ) -> Vec<(&NotificationId, &PartyId)> {
        let p = self.frame.project(position);
        // The same scaling as the stored boxes.
        let (alt_scale, t_scale) = axis_scales();
        let (a, t) = (alt_m * alt_scale, t_ms as f64 * t_scale);
        let query = [p.x, p.y, a, t, p.x, p.y, a, t];
        let mut out: Vec<(&NotificationId, &PartyId)> = Vec::new();
        self.candidates(&query, |stored| {
            let v = &stored.volume;
            if v.window.contains(t_ms) && v.band.contains(alt_m) && v.footprint.contains(p) {
                let party = &self.records[&stored.notification].notification;
                out.push((&stored.notification, party.party()));
            }
        });
        out.sort();
        out.dedup();
        out
    }
}

/// The oracle: compares `n` with every volume of every notification in `existing`, exactly,
/// without any index.
pub fn brute_force(
    frame: &Frame,
    existing: &[Notification],
    n: &Notification,
    buffers: Buffers,
) -> Result<Vec<NotificationId>, Error> {
    let planar = project(frame, n)?;
    let mut found = Vec::new();
    for other in existing {
        if other.party() == n.party() || other.id() == n.id() {
            continue;
        }
        let other_planar = project(frame, other)?;
        if planar
            .iter()
            .any(|a| other_planar.iter().any(|b| a.conflicts_with(b, buffers)))
        {
            found.push(other.id().clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}
