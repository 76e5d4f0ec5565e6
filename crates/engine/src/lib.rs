//! Sans-IO conflict engine: units, WGS-84 geodesy, aircraft kinematics, and the all-pairs
//! picture (broad phase + exact narrow phase) that finds every predicted loss of separation
//! between aircraft of different parties.
//!
//! # What it owns
//! - [`units`]: feet, knots, nautical miles, feet per minute ↔ SI, used at the edges only.
//! - [`geodesy`]: WGS-84, ECEF, local East-North-Up frames.
//! - [`kinematics`]: validated aircraft state (position, velocity) and its straight-line
//!   projection in time.
//! - [`encounter`]: the narrow phase, the exact conflict window of one pair.
//! - [`broad`]: the broad phase, a grid over swept volumes that provably never misses a pair.
//! - [`probe`]: the whole picture from a snapshot, and the exact all-pairs oracle.
//! - [`picture`]: the stateful picture the service drives (`update`, `remove`, `tick`).
//! - [`snapshot`]: the snapshot CSV parser (pure, over bytes).
//! - [`synth`]: a synthetic world, reproducible from a seed, for tests and benchmarks.
//!
//! # What it must never do
//! No I/O: no files, sockets, clock, threads or async runtime. Time comes in as a parameter
//! ([`kinematics::Timestamp`]). No panics on outside input: every value from outside goes through a
//! validating constructor that returns `Result`. Units inside are SI (metres, seconds, m/s) with
//! angles in degrees or radians named as such; the unit is the last part of every name.

pub mod broad;
pub mod config;
pub mod encounter;
pub mod geodesy;
pub mod ids;
pub mod kinematics;
pub mod picture;
pub mod probe;
pub mod snapshot;
pub mod synth;
pub mod units;

pub use encounter::{ConflictWindow, EncounterGeometry};
pub use ids::{IdError, PartyId, TrackId};
pub use kinematics::{AircraftState, Position, StateError, Timestamp, Velocity};
pub use picture::{
    Candidates, Conflict, Counters, Picture, PictureConfig, TrackReport, UpdateError, UpdateOutcome,
};
pub use probe::{
    ConfigError, ConflictPair, PairPolicy, ProbeConfig, ProbeStats, Snapshot, SnapshotError, Track,
    probe, probe_exact,
};
