//! A synthetic world: aircraft of several parties over a square area, reproducible from a seed.
//! Shared by the property tests, the benchmark and the demo so that all see the same traffic.
//!
//! The mix is meant to be realistic where it matters to the engine: ground speeds 60–300 m/s,
//! most aircraft level at flight levels (so many pairs share an altitude band), some level at
//! arbitrary low altitudes, and some climbing or descending at 500–4000 ft/min.
//!
//! Positions are laid out in the tangent plane at the centre and put back on the ellipsoid through
//! ECEF, so a world centred on a pole or across the antimeridian is generated correctly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::geodesy::{EnuFrame, ecef_to_geodetic};
use crate::ids::{PartyId, TrackId};
use crate::kinematics::{AircraftState, Position, Velocity};
use crate::probe::{SNAPSHOT_TRACKS_MAX, Snapshot, Track};
use crate::units::{fpm_to_mps, ft_to_m};

/// Party names used by the generator, in order.
pub const PARTY_NAMES: [&str; 4] = ["blue", "red", "green", "white"];

/// What world to make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldConfig {
    /// How many aircraft, at most [`SNAPSHOT_TRACKS_MAX`].
    pub tracks: usize,
    /// How many parties, 1 to 4.
    pub parties: usize,
    /// Side of the square area, metres, at most 4,000 km.
    pub side_m: f64,
    /// Centre latitude, degrees.
    pub center_lat_deg: f64,
    /// Centre longitude, degrees.
    pub center_lon_deg: f64,
    /// Fraction of aircraft level at flight levels FL200–FL410 (the rest split between low level
    /// and climbing or descending).
    pub flight_level_fraction: f64,
}

impl Default for WorldConfig {
    /// 100,000 aircraft of 3 parties over 2,000 × 2,000 km centred on the eastern Mediterranean.
    fn default() -> Self {
        Self {
            tracks: 100_000,
            parties: 3,
            side_m: 2_000_000.0,
            center_lat_deg: 34.0,
            center_lon_deg: 38.0,
            flight_level_fraction: 0.6,
        }
    }
}

/// Why a world configuration is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// A field out of its range.
    #[error("world configuration: {0}")]
    Invalid(&'static str),
}

/// Makes the world described by `config`; the same seed always gives the same world.
pub fn world(config: &WorldConfig, seed: u64) -> Result<Snapshot, WorldError> {
    if config.tracks > SNAPSHOT_TRACKS_MAX {
        return Err(WorldError::Invalid("tracks above SNAPSHOT_TRACKS_MAX"));
    }
    if !(1..=PARTY_NAMES.len()).contains(&config.parties) {
        return Err(WorldError::Invalid("parties must be 1 to 4"));
    }
    if !(config.side_m.is_finite() && config.side_m > 0.0 && config.side_m <= 4_000_000.0) {
        return Err(WorldError::Invalid("side_m must be in (0, 4,000,000]"));
    }
    if !((-90.0..=90.0).contains(&config.center_lat_deg)
        && (-180.0..=180.0).contains(&config.center_lon_deg))
    {
        return Err(WorldError::Invalid("centre out of range"));
    }
    if !(0.0..=1.0).contains(&config.flight_level_fraction) {
        return Err(WorldError::Invalid(
            "flight_level_fraction must be in [0, 1]",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let frame = EnuFrame::at(
        config.center_lat_deg.to_radians(),
        config.center_lon_deg.to_radians(),
    );
    let parties: Vec<PartyId> = PARTY_NAMES[..config.parties]
        .iter()
        .map(|p| PartyId::new(p).expect("party names are valid identifiers"))
        .collect();
    let half = config.side_m / 2.0;
    let rest = (1.0 - config.flight_level_fraction) / 2.0;
    let mut tracks = Vec::with_capacity(config.tracks);
    for i in 0..config.tracks {
        let (e, n) = (rng.gen_range(-half..=half), rng.gen_range(-half..=half));
        let (lat, lon, _) = ecef_to_geodetic(frame.to_ecef([e, n, 0.0]));
        let kind: f64 = rng.r#gen();
        let (alt_ft, vs_fpm, gs_mps) = if kind < config.flight_level_fraction {
            let fl: i32 = rng.gen_range(20..=41);
            (f64::from(fl) * 1000.0, 0.0, rng.gen_range(180.0..=300.0))
        } else if kind < config.flight_level_fraction + rest {
            (
                rng.gen_range(1_000.0..=20_000.0),
                0.0,
                rng.gen_range(60.0..=200.0),
            )
        } else {
            let rate: f64 = rng.gen_range(500.0..=4_000.0);
            let sign = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
            (
                rng.gen_range(2_000.0..=35_000.0),
                sign * rate,
                rng.gen_range(80.0..=260.0),
            )
        };
        let trk_deg: f64 = rng.gen_range(0.0..360.0);
        let party = parties[rng.gen_range(0..parties.len())].clone();
        let position = Position::new(
            lat.to_degrees().clamp(-90.0, 90.0),
            lon.to_degrees().clamp(-180.0, 180.0),
            ft_to_m(alt_ft),
        )
        .expect("generated positions are in range");
        let velocity = Velocity::new(trk_deg, gs_mps, fpm_to_mps(vs_fpm))
            .expect("generated velocities are in range");
        let id = TrackId::new(&(i + 1).to_string()).expect("decimal ids are valid");
        tracks.push(Track::new(
            id,
            party,
            AircraftState::new(position, velocity),
        ));
    }
    Ok(Snapshot::new(tracks).expect("generated ids are unique and within the limit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world_different_seed_different_world() {
        let c = WorldConfig {
            tracks: 50,
            ..WorldConfig::default()
        };
        assert_eq!(world(&c, 7).unwrap(), world(&c, 7).unwrap());
        assert_ne!(world(&c, 7).unwrap(), world(&c, 8).unwrap());
    }

    #[test]
    fn worlds_on_the_pole_and_the_antimeridian_are_valid() {
        for (lat, lon) in [(90.0, 0.0), (-89.5, 170.0), (10.0, 180.0), (0.0, -180.0)] {
            let c = WorldConfig {
                tracks: 200,
                center_lat_deg: lat,
                center_lon_deg: lon,
                side_m: 500_000.0,
                ..WorldConfig::default()
            };
            assert_eq!(world(&c, 1).unwrap().len(), 200);
        }
    }
}
