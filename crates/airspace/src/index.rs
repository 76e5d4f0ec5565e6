//! The strategic index: every notification's volumes as (x, y, altitude, time) boxes in an
//! R*-tree, then the exact test on each candidate.
//!
//! The boxes are a conservative filter (closed, and widened by the buffers plus a margin larger
//! than any rounding), so the tree never drops a candidate that the exact test would keep; the
//! exact test alone decides. The answer is therefore the same as comparing every pair, which
//! [`brute_force`] does and the property tests check.

use std::collections::HashMap;

use rstar::{AABB, RStarInsertionStrategy, RTree, RTreeObject, RTreeParams};

use crate::error::{Error, Rule};
use crate::planar::{Frame, Planar};
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

    fn envelope(&self, widen_h_m: f64, widen_v_m: f64) -> AABB<[f64; 4]> {
        let [x0, y0, x1, y1] = self.footprint.bbox();
        let (alt, t) = axis_scales();
        AABB::from_corners(
            [
                x0 - widen_h_m,
                y0 - widen_h_m,
                (self.band.lower_m() - widen_v_m) * alt,
                self.window.start_ms() as f64 * t,
            ],
            [
                x1 + widen_h_m,
                y1 + widen_h_m,
                (self.band.upper_m() + widen_v_m) * alt,
                self.window.end_ms() as f64 * t,
            ],
        )
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
/// Raw milliseconds would make the time axis dominate the R* split heuristics (a window of
/// hours spans millions of units against kilometres of footprint) and the tree would sort by
/// time alone. Positive constants keep the boxes' comparisons monotone, so still conservative.
fn axis_scales() -> (f64, f64) {
    (1.0, 0.001)
}

/// Widening of query boxes beyond the buffer: larger than any rounding in the exact test, so
/// the box filter stays conservative.
fn margin(b: f64) -> f64 {
    b + b * 1e-9 + 1e-6
}

/// Wider nodes than rstar's default (6): fewer levels to descend in four dimensions.
#[derive(Debug)]
struct TreeParams;

impl RTreeParams for TreeParams {
    const MIN_SIZE: usize = 5;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    envelope: AABB<[f64; 4]>,
    slot: u32,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 4]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

#[derive(Debug)]
struct Stored {
    notification: NotificationId,
    party: u32,
    volume: PlanarVolume,
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
    tree: RTree<Entry, TreeParams>,
    slots: Vec<Option<Stored>>,
    free: Vec<u32>,
    records: HashMap<NotificationId, Record>,
    parties: HashMap<PartyId, u32>,
}

impl StrategicIndex {
    pub fn new(frame: Frame) -> Self {
        StrategicIndex::with_capacity_limit(frame, VOLUMES_MAX)
    }

    pub fn with_capacity_limit(frame: Frame, volumes_max: usize) -> Self {
        StrategicIndex {
            frame,
            volumes_max,
            tree: RTree::new_with_params(),
            slots: Vec::new(),
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
        self.tree.size()
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
        for entry in self.stage(n)? {
            self.tree.insert(entry);
        }
        Ok(())
    }

    /// Builds an index from many notifications at once (packed bottom-up: a better tree than
    /// one built by single inserts, in less time). Fails on the first invalid or duplicate one.
    pub fn bulk_load(frame: Frame, notifications: Vec<Notification>) -> Result<Self, Error> {
        let mut index = StrategicIndex::new(frame);
        let mut entries = Vec::with_capacity(notifications.len());
        for n in notifications {
            entries.extend(index.stage(n)?);
        }
        index.tree = RTree::bulk_load_with_params(entries);
        Ok(index)
    }

    /// Checks `n`, stores it and returns the tree entries still to be added.
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
            let envelope = volume.envelope(0.0, 0.0);
            let stored = Stored {
                notification: n.id().clone(),
                party,
                volume,
            };
            let slot = match self.free.pop() {
                Some(s) => {
                    self.slots[s as usize] = Some(stored);
                    s
                }
                None => {
                    self.slots.push(Some(stored));
                    (self.slots.len() - 1) as u32
                }
            };
            entries.push(Entry { envelope, slot });
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
        for slot in record.slots {
            if let Some(stored) = self.slots[slot as usize].take() {
                let envelope = stored.volume.envelope(0.0, 0.0);
                let removed = self.tree.remove(&Entry { envelope, slot });
                assert!(removed.is_some(), "index entry missing for slot {slot}");
            }
            self.free.push(slot);
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
        let mut found: Vec<NotificationId> = Vec::new();
        for volume in &planar {
            let query = volume.envelope(margin(buffers.h_m), margin(buffers.v_m));
            for entry in self.tree.locate_in_envelope_intersecting(&query) {
                let Some(stored) = self.slots[entry.slot as usize].as_ref() else {
                    continue;
                };
                if Some(stored.party) == party || &stored.notification == n.id() {
                    continue;
                }
                if volume.conflicts_with(&stored.volume, buffers) {
                    found.push(stored.notification.clone());
                }
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
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
        let query = AABB::from_point([p.x, p.y, alt_m * alt_scale, t_ms as f64 * t_scale]);
        let mut out: Vec<(&NotificationId, &PartyId)> = Vec::new();
        for entry in self.tree.locate_in_envelope_intersecting(&query) {
            let Some(stored) = self.slots[entry.slot as usize].as_ref() else {
                continue;
            };
            let v = &stored.volume;
            if v.window.contains(t_ms) && v.band.contains(alt_m) && v.footprint.contains(p) {
                let party = &self.records[&stored.notification].notification;
                out.push((&stored.notification, party.party()));
            }
        }
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
