//! The whole picture at once: every pair of tracks (of different parties, unless configured
//! otherwise) predicted to be inside both separation minima within the lookahead.
//!
//! [`probe`] runs the broad phase ([`crate::broad`]) and the exact narrow phase
//! ([`crate::encounter`]); [`probe_exact`] runs the narrow phase on every pair and is the oracle the
//! tests compare against. Both return the same pairs with the same numbers: the narrow phase is
//! one function, always called with the pair in identifier order.

use std::collections::HashMap;

use crate::broad::{self, BroadStats, PairFilter};
pub use crate::config::{
    ConfigError, H_SEP_M_MAX, LOOKAHEAD_S_MAX, PairPolicy, ProbeConfig, V_SEP_M_MAX,
};
use crate::encounter::{ConflictWindow, Kin, narrow};
use crate::ids::{PartyId, TrackId};
use crate::kinematics::{AircraftState, GS_MPS_MAX};

/// Most tracks in one snapshot.
pub const SNAPSHOT_TRACKS_MAX: usize = 1_000_000;
/// One aircraft of a snapshot: who it is, whose it is, its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    id: TrackId,
    party: PartyId,
    state: AircraftState,
}

impl Track {
    /// A track.
    #[must_use]
    pub fn new(id: TrackId, party: PartyId, state: AircraftState) -> Self {
        Self { id, party, state }
    }
    /// Its identifier.
    #[must_use]
    pub fn id(&self) -> &TrackId {
        &self.id
    }
    /// Its party.
    #[must_use]
    pub fn party(&self) -> &PartyId {
        &self.party
    }
    /// Its state.
    #[must_use]
    pub fn state(&self) -> &AircraftState {
        &self.state
    }
}

/// Why a set of tracks is not a snapshot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Two tracks share an identifier.
    #[error("duplicate track id {id}")]
    DuplicateId {
        /// The identifier.
        id: TrackId,
    },
    /// More than [`SNAPSHOT_TRACKS_MAX`] tracks.
    #[error("{count} tracks, more than the limit of {max}")]
    TooManyTracks {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// Tracks all at one instant, with unique identifiers, held in identifier order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    tracks: Vec<Track>,
}

impl Snapshot {
    /// Checks uniqueness and the size limit.
    pub fn new(mut tracks: Vec<Track>) -> Result<Self, SnapshotError> {
        if tracks.len() > SNAPSHOT_TRACKS_MAX {
            return Err(SnapshotError::TooManyTracks {
                count: tracks.len(),
                max: SNAPSHOT_TRACKS_MAX,
            });
        }
        tracks.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = tracks.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(SnapshotError::DuplicateId {
                id: w[0].id.clone(),
            });
        }
        Ok(Self { tracks })
    }
    /// The tracks, in identifier order.
    #[must_use]
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }
    /// How many tracks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tracks.len()
    }
    /// No tracks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

/// A predicted loss of separation between tracks `a` and `b`, with `a < b`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictPair {
    a: TrackId,
    b: TrackId,
    window: ConflictWindow,
}

impl ConflictPair {
    /// The first track (the smaller identifier).
    #[must_use]
    pub fn a(&self) -> &TrackId {
        &self.a
    }
    /// The second track.
    #[must_use]
    pub fn b(&self) -> &TrackId {
        &self.b
    }
    /// When and how close.
    #[must_use]
    pub fn window(&self) -> &ConflictWindow {
        &self.window
    }
    /// First time inside both minima, seconds (0 if already inside).
    #[must_use]
    pub fn t_in_s(&self) -> f64 {
        self.window.t_in_s()
    }
    /// Last time inside, clipped to the lookahead, seconds.
    #[must_use]
    pub fn t_out_s(&self) -> f64 {
        self.window.t_out_s()
    }
    /// Smallest horizontal distance while inside, metres.
    #[must_use]
    pub fn h_min_m(&self) -> f64 {
        self.window.h_min_m()
    }
}

/// What a probe did: the figures the benchmark prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStats {
    /// Tracks probed.
    pub tracks: u64,
    /// The broad phase's own figures (zero for [`probe_exact`]).
    pub broad: BroadStats,
    /// Pairs examined by the narrow phase.
    pub narrow_pairs: u64,
    /// Pairs in conflict.
    pub conflicts: u64,
}

/// A conflict between the tracks at indices `a < b` of the (identifier-ordered) input.
pub(crate) type IndexedConflict = (u32, u32, ConflictWindow);

/// The broad and narrow phases over precomputed states in identifier order; `party` holds a small
/// integer per track. Output sorted by (a, b).
pub(crate) fn run(
    kins: &[Kin],
    party: &[u32],
    config: &ProbeConfig,
    exact: bool,
) -> (Vec<IndexedConflict>, ProbeStats) {
    assert_eq!(kins.len(), party.len());
    let mut out = Vec::new();
    let mut stats = ProbeStats {
        tracks: kins.len() as u64,
        ..ProbeStats::default()
    };
    let same_party = config.pairs() == PairPolicy::AllPairs;
    let mut narrow_pairs = 0;
    let mut check = |i: u32, j: u32, a: &Kin, b: &Kin| {
        narrow_pairs += 1;
        if let Some(w) = narrow(a, b, config) {
            out.push((i, j, w));
        }
    };
    if exact {
        let n = u32::try_from(kins.len()).expect("track count fits u32 (bounded by tracks_max)");
        for i in 0..n {
            for j in i + 1..n {
                if same_party || party[i as usize] != party[j as usize] {
                    check(i, j, &kins[i as usize], &kins[j as usize]);
                }
            }
        }
    } else {
        let filter = PairFilter { party, same_party };
        stats.broad = broad::for_each_candidate(kins, filter, config, &mut check);
        out.sort_unstable_by_key(|&(i, j, _)| (i, j));
    }
    stats.narrow_pairs = narrow_pairs;
    stats.conflicts = out.len() as u64;
    (out, stats)
}

fn prepare(snapshot: &Snapshot) -> (Vec<Kin>, Vec<u32>) {
    let kins = snapshot.tracks.iter().map(|t| Kin::new(&t.state)).collect();
    let mut parties: HashMap<&PartyId, u32> = HashMap::new();
    let party = snapshot
        .tracks
        .iter()
        .map(|t| {
            let next = parties.len() as u32;
            *parties.entry(&t.party).or_insert(next)
        })
        .collect();
    (kins, party)
}

fn named(snapshot: &Snapshot, found: Vec<IndexedConflict>) -> Vec<ConflictPair> {
    found
        .into_iter()
        .map(|(i, j, window)| ConflictPair {
            a: snapshot.tracks[i as usize].id.clone(),
            b: snapshot.tracks[j as usize].id.clone(),
            window,
        })
        .collect()
}

/// Every pair in conflict, broad then narrow phase; sorted by (a, b).
#[must_use]
pub fn probe(snapshot: &Snapshot, config: &ProbeConfig) -> Vec<ConflictPair> {
    probe_with_stats(snapshot, config).0
}

/// [`probe`], with the figures of what it did.
#[must_use]
pub fn probe_with_stats(
    snapshot: &Snapshot,
    config: &ProbeConfig,
) -> (Vec<ConflictPair>, ProbeStats) {
    let (kins, party) = prepare(snapshot);
    let (found, stats) = run(&kins, &party, config, false);
    (named(snapshot, found), stats)
}

/// Every pair in conflict by the narrow phase on all N(N−1)/2 pairs: the oracle.
#[must_use]
pub fn probe_exact(snapshot: &Snapshot, config: &ProbeConfig) -> Vec<ConflictPair> {
    probe_exact_with_stats(snapshot, config).0
}

/// [`probe_exact`], with the figures of what it did.
#[must_use]
pub fn probe_exact_with_stats(
    snapshot: &Snapshot,
    config: &ProbeConfig,
) -> (Vec<ConflictPair>, ProbeStats) {
    let (kins, party) = prepare(snapshot);
    let (found, stats) = run(&kins, &party, config, true);
    (named(snapshot, found), stats)
}

// GS_MPS_MAX is part of the reach bound described in `broad`.
const _: () = assert!(GS_MPS_MAX * LOOKAHEAD_S_MAX * 2.0 + H_SEP_M_MAX < 2_000_000.0);
