//! Deterministic scenario generator for the demo, tests and benchmarks.
//!
//! From a seed it builds two parties ("Coalition", English; "Russian Federation", Russian) over
//! a Syria-like area (about 32–37.5° N, 35.5–42.5° E), their default agreement (the Euphrates as
//! a dividing line, the 55 km al-Tanf zone, 5 NM / 1000 ft minima, 120 s lookahead),
//! notifications of operations (one overlapping the other party's), and sorties flown as
//! straight legs and constant-rate turns, reported every second — with one designed conflict
//! between the parties and one dividing-line crossing.
//!
//! What it owns: the scenario and its designed facts ([`DesignedConflict`], [`DesignedCrossing`]).
//! What it must never do: read a clock, the network or files, use unseeded randomness, or depend
//! on the service. Output is plain data in SI units, positions in degrees.

pub mod flight;
pub mod geo;
pub mod scenario;

use deconflict_agreement::SecretKey;
use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub use flight::{Kinematics, Leg, Sortie};
pub use geo::{EARTH_RADIUS_M, LatLon};
pub use scenario::{
    Config, ConfigError, DesignedConflict, DesignedCrossing, Notification, NotifiedArea, Scenario,
    SimParty, TrackReport,
};

/// `n` Ed25519 keys, the same for the same `seed`. For tests and the demo only: anyone who knows
/// the seed has the keys.
pub fn party_keys(seed: u64, n: usize) -> Vec<SecretKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ scenario_key_domain());
    (0..n)
        .map(|_| {
            let mut key_seed = [0u8; 32];
            rng.fill_bytes(&mut key_seed);
            SecretKey::from_seed(key_seed)
        })
        .collect()
}

/// The keys of the parties' working-group members: the `n` keys after the parties' own in the
/// same stream.
pub fn member_keys(seed: u64, n: usize) -> Vec<SecretKey> {
    party_keys(seed, 2 * n).split_off(n)
}

const fn scenario_key_domain() -> u64 {
    // ASCII "keys-sim": keeps the key stream apart from the scenario's own stream.
    0x6b65_7973_2d73_696d
}
