//! The demo scenario: two parties over a Syria-like area, a default agreement, notifications
//! (one overlapping the other party's), and sorties with one designed conflict and one
//! dividing-line crossing.

use std::fmt::Write as _;

use deconflict_agreement::{Agreement, SecretKey, parse_toml};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::flight::{Kinematics, Leg, Sortie};
use crate::geo::LatLon;
use crate::party_keys;

/// Shortest scenario: the designed encounter needs about 12 minutes.
pub const DURATION_S_MIN: u32 = 720;
/// Longest scenario (one day).
pub const DURATION_S_MAX: u32 = 86_400;
/// Most background aircraft per party (for load tests).
pub const BACKGROUND_PER_PARTY_MAX: usize = 10_000;

/// The Euphrates from Jarabulus to Abu Kamal, as the agreement's dividing line (lat, lon).
pub const EUPHRATES: [LatLon; 6] = [
    LatLon::new(36.82, 38.01),
    LatLon::new(35.87, 38.55),
    LatLon::new(35.95, 39.01),
    LatLon::new(35.33, 40.14),
    LatLon::new(35.02, 40.45),
    LatLon::new(34.45, 40.92),
];
/// Centre of the al-Tanf zone.
pub const AL_TANF: LatLon = LatLon::new(33.50, 38.66);
/// Radius of the al-Tanf zone, metres.
pub const AL_TANF_RADIUS_M: u32 = 55_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub seed: u64,
    /// Scenario start, Unix milliseconds (passed in: the sim reads no clock).
    pub start_unix_ms: i64,
    pub duration_s: u32,
    /// Racetrack aircraft per party besides the designed ones, each in its own party's area.
    pub background_per_party: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 1,
            // 2017-04-12T08:00:00Z.
            start_unix_ms: 1_491_984_000_000,
            duration_s: 900,
            background_per_party: 3,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("duration_s must be within {DURATION_S_MIN}..={DURATION_S_MAX}, got {0}")]
    Duration(u32),
    #[error("background_per_party must be at most {BACKGROUND_PER_PARTY_MAX}, got {0}")]
    Background(usize),
    #[error("start_unix_ms must be within 0..=2^53-1, got {0}")]
    Start(i64),
}

/// A party in the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimParty {
    pub id: String,
    pub name: String,
    pub language: String,
}

/// A notified operation's area.
#[derive(Debug, Clone, PartialEq)]
pub enum NotifiedArea {
    /// Closed ring (first point repeated last), degrees.
    Polygon(Vec<LatLon>),
    Circle {
        center: LatLon,
        radius_m: f64,
    },
}

/// A notification of operations: where, how high and when a party will fly — never targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: String,
    pub party: String,
    pub area: NotifiedArea,
    pub floor_m: f64,
    pub ceiling_m: f64,
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
    pub callsigns: Vec<String>,
}

/// One track report: what a party's systems push for one aircraft at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    pub t_unix_ms: i64,
    pub party: String,
    pub aircraft_id: String,
    pub callsign: String,
    pub aircraft_type: String,
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Altitude above mean sea level, metres.
    pub alt_m: f64,
    pub ground_speed_mps: f64,
    /// Course over ground, degrees clockwise from true north.
    pub track_deg: f64,
    pub vertical_speed_mps: f64,
}

/// The encounter the scenario was built to contain, in the designer's own terms (local plane at
/// the crossing point). Tests check it against the reports with independent formulas.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignedConflict {
    pub aircraft_a: String,
    pub aircraft_b: String,
    /// Seconds after the scenario start of the closest point of approach (a whole second).
    pub t_cpa_s: u32,
    pub miss_m: f64,
    /// Altitude of b minus altitude of a, metres.
    pub dz_m: f64,
}

/// The aircraft built to cross the dividing line, and roughly when.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignedCrossing {
    pub aircraft_id: String,
    pub line_id: String,
}

/// Everything the demo needs, as plain data.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub config: Config,
    pub parties: Vec<SimParty>,
    /// The default agreement (TOML), with the parties' keys from [`party_keys`].
    pub agreement_toml: String,
    pub notifications: Vec<Notification>,
    pub sorties: Vec<Sortie>,
    pub conflict: DesignedConflict,
    pub crossing: DesignedCrossing,
    /// Ids of the two notifications built to overlap (one per party).
    pub overlapping_notifications: (String, String),
}

const COALITION: &str = "coalition";
const RUSSIA: &str = "russia";

/// Background boxes (south, west, north, east) each party keeps its racetracks in: far apart,
/// so background aircraft of different parties never come within the minima.
const COALITION_BOX: [f64; 4] = [35.9, 40.9, 36.7, 41.9];
const RUSSIA_BOX: [f64; 4] = [34.9, 36.6, 35.7, 37.4];

impl Scenario {
    /// Generates the scenario; the same config always gives the same scenario, bit for bit.
    pub fn generate(config: &Config) -> Result<Scenario, ConfigError> {
        if !(DURATION_S_MIN..=DURATION_S_MAX).contains(&config.duration_s) {
            return Err(ConfigError::Duration(config.duration_s));
        }
        if config.background_per_party > BACKGROUND_PER_PARTY_MAX {
            return Err(ConfigError::Background(config.background_per_party));
        }
        if !(0..=(1i64 << 53) - 1).contains(&config.start_unix_ms) {
            return Err(ConfigError::Start(config.start_unix_ms));
        }
        let mut rng = ChaCha20Rng::seed_from_u64(config.seed);
        let duration_s = config.duration_s;
        let parties = vec![
            SimParty {
                id: COALITION.into(),
                name: "Coalition".into(),
                language: "en".into(),
            },
            SimParty {
                id: RUSSIA.into(),
                name: "Russian Federation".into(),
                language: "ru".into(),
            },
        ];
        let keys = party_keys(config.seed, parties.len());
        let agreement_toml = agreement_toml(&keys, &crate::member_keys(config.seed, parties.len()));

        let (designed, conflict) = designed_conflict(&mut rng, duration_s);
        let mut sorties = Vec::from(designed);
        sorties.push(crossing_sortie(&mut rng, duration_s));
        for (party, bbox, prefix, ty, alt_lo) in [
            (COALITION, COALITION_BOX, "coalition", "F15E", 8000.0),
            (RUSSIA, RUSSIA_BOX, "russia", "SU35", 3000.0),
        ] {
            for i in 0..config.background_per_party {
                sorties.push(racetrack(
                    &mut rng, party, bbox, prefix, ty, alt_lo, i, duration_s,
                ));
            }
        }

        let start_ms = config.start_unix_ms;
        let notifications = notifications(start_ms, start_ms + i64::from(duration_s) * 1000);

        Ok(Scenario {
            config: config.clone(),
            parties,
            agreement_toml,
            notifications,
            sorties,
            conflict,
            crossing: DesignedCrossing {
                aircraft_id: "russia-02".into(),
                line_id: "euphrates".into(),
            },
            overlapping_notifications: ("coalition-n1".into(), "russia-n1".into()),
        })
    }

    /// The parties' secret keys, in party order (deterministic from the seed: tests only).
    pub fn keys(&self) -> Vec<SecretKey> {
        party_keys(self.config.seed, self.parties.len())
    }

    /// The working-group members' ids, in party order (one per party: `<party>-wg`).
    pub fn members(&self) -> Vec<String> {
        self.parties.iter().map(|p| member_id(&p.id)).collect()
    }

    /// The working-group members' secret keys, in party order (deterministic: tests only).
    pub fn member_keys(&self) -> Vec<SecretKey> {
        crate::member_keys(self.config.seed, self.parties.len())
    }

    /// The default agreement, parsed and validated.
    pub fn agreement(&self) -> Agreement {
        // The text is built by this crate from constants and valid keys; a parse failure is a
        // bug here, and the tests parse every generated agreement.
        parse_toml(&self.agreement_toml).expect("the sim's agreement is valid")
    }

    /// Reports of every airborne aircraft at `t_s` seconds after the start, in sortie order.
    pub fn reports_at(&self, t_s: u32) -> Vec<TrackReport> {
        let t_unix_ms = self.config.start_unix_ms + i64::from(t_s) * 1000;
        self.sorties
            .iter()
            .filter_map(|s| {
                let k = s.kinematics_at(f64::from(t_s))?;
                let pos = s.anchor.offset(k.east_m, k.north_m);
                // True course and speed at `pos`: map where the grid velocity leads in 1 s.
                // (Grid north differs from true north away from the anchor's meridian.)
                let h = k.track_deg.to_radians();
                let ahead = s.anchor.offset(
                    k.east_m + k.ground_speed_mps * h.sin(),
                    k.north_m + k.ground_speed_mps * h.cos(),
                );
                let track_deg = pos.bearing_deg(ahead);
                let ground_speed_mps = pos.distance_m(ahead);
                Some(TrackReport {
                    t_unix_ms,
                    party: s.party.clone(),
                    aircraft_id: s.aircraft_id.clone(),
                    callsign: s.callsign.clone(),
                    aircraft_type: s.aircraft_type.clone(),
                    // Fixed point at the report edge: 1e-7 degree, centimetres.
                    lat_deg: round_to(pos.lat_deg, 1e7),
                    lon_deg: round_to(pos.lon_deg, 1e7),
                    alt_m: round_to(k.alt_m, 100.0),
                    ground_speed_mps: round_to(ground_speed_mps, 100.0),
                    track_deg: round_to(track_deg, 1e4).rem_euclid(360.0),
                    vertical_speed_mps: round_to(k.vertical_speed_mps, 100.0),
                })
            })
            .collect()
    }

    /// All reports, one per airborne aircraft per second, ordered by time then sortie.
    pub fn reports(&self) -> Vec<TrackReport> {
        (0..=self.config.duration_s)
            .flat_map(|t| self.reports_at(t))
            .collect()
    }

    /// The reports as CSV (header line first), for recordings and byte-for-byte comparisons.
    pub fn reports_csv(&self) -> String {
        let mut out = String::from(
            "t_unix_ms,party,aircraft_id,callsign,aircraft_type,lat_deg,lon_deg,alt_m,ground_speed_mps,track_deg,vertical_speed_mps\n",
        );
        for r in self.reports() {
            // `writeln!` into a String cannot fail.
            let _ = writeln!(
                out,
                "{},{},{},{},{},{:.7},{:.7},{:.2},{:.2},{:.4},{:.2}",
                r.t_unix_ms,
                r.party,
                r.aircraft_id,
                r.callsign,
                r.aircraft_type,
                r.lat_deg,
                r.lon_deg,
                r.alt_m,
                r.ground_speed_mps,
                r.track_deg,
                r.vertical_speed_mps
            );
        }
        out
    }
}

fn round_to(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

/// (east, north) velocity in m/s for a ground speed and a course.
fn velocity(gs_mps: f64, track_deg: f64) -> (f64, f64) {
    let h = track_deg.to_radians();
    (gs_mps * h.sin(), gs_mps * h.cos())
}

/// Vertical distance at which the designed Russian aircraft approaches, metres (575 ft:
/// inside DO-365's 700 ft preventive volume, outside the 450 ft corrective one).
const APPROACH_DZ_M: f64 = 175.0;
/// When the designed Russian aircraft starts closing to the designed vertical miss, seconds
/// before the CPA, and how long it takes (at most 325 m in 30 s, about 2100 ft/min).
const DESCENT_BEFORE_CPA_S: u32 = 75;
const DESCENT_S: u32 = 30;

/// Longest straight flown after a designed manoeuvre before the sortie ends (leaves coverage),
/// so that long scenarios do not carry designed aircraft out of the area or into other traffic.
const DESIGNED_TAIL_S: u32 = 300;

/// Extends `legs` with a straight leg of up to [`DESIGNED_TAIL_S`], within the scenario.
fn fill(mut legs: Vec<Leg>, start_s: u32, duration_s: u32, gs: f64) -> Vec<Leg> {
    let used: u32 = legs.iter().map(|l| l.duration_s).sum();
    let rest = duration_s
        .saturating_sub(start_s + used)
        .min(DESIGNED_TAIL_S);
    if rest > 0 {
        legs.push(Leg::straight(rest, gs));
    }
    legs
}

/// The designed conflict: a westbound coalition aircraft and a northbound Russian one cross
/// near P with a miss distance well inside the 9 260 m minimum; returns both sorties.
fn designed_conflict(rng: &mut ChaCha20Rng, duration_s: u32) -> ([Sortie; 2], DesignedConflict) {
    let p = LatLon::new(
        35.2 + rng.gen_range(-0.05..0.05),
        39.3 + rng.gen_range(-0.05..0.05),
    );
    let t_cpa_s: u32 = rng.gen_range(300..=420);
    let miss_m: f64 = rng.gen_range(300.0..1500.0);
    let dz_m: f64 = rng.gen_range(-150.0..150.0);
    let alt_a_m: f64 = rng.gen_range(6500.0..7500.0);
    let track_a_deg: f64 = 270.0 + rng.gen_range(-20.0..20.0);
    let track_b_deg: f64 = rng.gen_range(-20.0f64..20.0).rem_euclid(360.0);
    let (gs_a, gs_b) = (230.0, 220.0);
    let va = velocity(gs_a, track_a_deg);
    let vb = velocity(gs_b, track_b_deg);
    let rel = (vb.0 - va.0, vb.1 - va.1);
    let rel_len = (rel.0 * rel.0 + rel.1 * rel.1).sqrt();
    // Offset of b from a at the CPA, perpendicular to the relative velocity, so that the
    // closest approach is exactly `miss_m` at exactly `t_cpa_s`.
    let n = (-rel.1 / rel_len, rel.0 / rel_len);
    let lead_s: u32 = 240;
    let t0 = t_cpa_s - lead_s;
    let straight_s = 2 * lead_s;
    let designed = |id: &str,
                    party: &str,
                    callsign: &str,
                    ty: &str,
                    e0: f64,
                    n0: f64,
                    alt: f64,
                    track: f64,
                    gs: f64,
                    turn: f64| Sortie {
        party: party.into(),
        aircraft_id: id.into(),
        callsign: callsign.into(),
        aircraft_type: ty.into(),
        start_s: t0,
        anchor: p,
        initial: Kinematics {
            east_m: e0,
            north_m: n0,
            alt_m: alt,
            track_deg: track,
            ground_speed_mps: gs,
            vertical_speed_mps: 0.0,
        },
        legs: fill(
            vec![Leg::straight(straight_s, gs), Leg::turn(30, gs, turn)],
            t0,
            duration_s,
            gs,
        ),
    };
    let lead = f64::from(lead_s);
    // After the encounter both turn left — the coalition aircraft towards south, the Russian
    // one towards west, staying on its side of the river — so they diverge. Turning towards
    // each other's path brought a pair back together (seed 8851605980112230466 did, 386 s
    // after the designed CPA); turning east took the Russian aircraft across the Euphrates.
    let coalition = designed(
        "coalition-01",
        COALITION,
        "VIPER11",
        "F16",
        -va.0 * lead,
        -va.1 * lead,
        alt_a_m,
        track_a_deg,
        gs_a,
        -3.0,
    );
    // The Russian aircraft approaches APPROACH_DZ_M above or below the coalition one (a
    // DO-365 preventive alert: inside 700 ft, outside 450 ft), then closes to `dz_m` over
    // DESCENT_S, ending well before the CPA (corrective, then warning). Only the vertical
    // profile changes: the horizontal paths, the CPA and the miss are as designed.
    let approach_dz_m = if dz_m < 0.0 {
        -APPROACH_DZ_M
    } else {
        APPROACH_DZ_M
    };
    let mut russian = designed(
        "russia-01",
        RUSSIA,
        "SOKOL21",
        "SU34",
        miss_m * n.0 - vb.0 * lead,
        miss_m * n.1 - vb.1 * lead,
        alt_a_m + approach_dz_m,
        track_b_deg,
        gs_b,
        -3.0,
    );
    let level_s = lead_s - DESCENT_BEFORE_CPA_S;
    let mut legs = vec![
        Leg::straight(level_s, gs_b),
        Leg {
            vertical_speed_mps: (dz_m - approach_dz_m) / f64::from(DESCENT_S),
            ..Leg::straight(DESCENT_S, gs_b)
        },
        Leg::straight(straight_s - level_s - DESCENT_S, gs_b),
    ];
    // The designed legs after the straight one (the turn away, the tail) are kept.
    legs.extend(russian.legs.iter().skip(1).copied());
    russian.legs = legs;
    (
        [coalition, russian],
        DesignedConflict {
            aircraft_a: "coalition-01".into(),
            aircraft_b: "russia-01".into(),
            t_cpa_s,
            miss_m,
            dz_m,
        },
    )
}

/// The dividing-line crossing: a Russian aircraft west of the river between Deir ez-Zor and
/// al-Mayadin heads north-east across it, turns about and crosses back.
fn crossing_sortie(rng: &mut ChaCha20Rng, duration_s: u32) -> Sortie {
    let start = LatLon::new(
        35.0 + rng.gen_range(-0.02..0.02),
        40.1 + rng.gen_range(-0.02..0.02),
    );
    let cross_start_s: u32 = rng.gen_range(30..90);
    let gs_c = 200.0;
    Sortie {
        party: RUSSIA.into(),
        aircraft_id: "russia-02".into(),
        callsign: "SOKOL22".into(),
        aircraft_type: "SU24".into(),
        start_s: cross_start_s,
        anchor: start,
        initial: Kinematics {
            east_m: 0.0,
            north_m: 0.0,
            alt_m: 5000.0,
            track_deg: 45.0,
            ground_speed_mps: gs_c,
            vertical_speed_mps: 0.0,
        },
        legs: fill(
            vec![Leg::straight(200, gs_c), Leg::turn(60, gs_c, 3.0)],
            cross_start_s,
            duration_s,
            gs_c,
        ),
    }
}

/// The notifications: two that overlap (area, height and time), and each party's background box.
fn notifications(start_ms: i64, end_ms: i64) -> Vec<Notification> {
    let box_ring = |b: [f64; 4]| {
        NotifiedArea::Polygon(vec![
            LatLon::new(b[0], b[1]),
            LatLon::new(b[0], b[3]),
            LatLon::new(b[2], b[3]),
            LatLon::new(b[2], b[1]),
            LatLon::new(b[0], b[1]),
        ])
    };
    vec![
        // Coalition: east of the river around Deir ez-Zor …
        Notification {
            id: "coalition-n1".into(),
            party: COALITION.into(),
            area: box_ring([34.8, 40.2, 35.5, 41.2]),
            floor_m: 3000.0,
            ceiling_m: 9000.0,
            start_unix_ms: start_ms,
            end_unix_ms: end_ms,
            callsigns: vec!["VIPER11".into()],
        },
        // … which the Russian circle west of Deir ez-Zor overlaps (area, height and time).
        Notification {
            id: "russia-n1".into(),
            party: RUSSIA.into(),
            area: NotifiedArea::Circle {
                center: LatLon::new(35.2, 40.0),
                radius_m: 40_000.0,
            },
            floor_m: 4000.0,
            ceiling_m: 10_000.0,
            start_unix_ms: start_ms,
            end_unix_ms: end_ms,
            callsigns: vec!["SOKOL22".into()],
        },
        Notification {
            id: "coalition-n2".into(),
            party: COALITION.into(),
            area: box_ring(COALITION_BOX),
            floor_m: 7500.0,
            ceiling_m: 10_500.0,
            start_unix_ms: start_ms,
            end_unix_ms: end_ms,
            callsigns: vec![],
        },
        Notification {
            id: "russia-n2".into(),
            party: RUSSIA.into(),
            area: box_ring(RUSSIA_BOX),
            floor_m: 2500.0,
            ceiling_m: 5500.0,
            start_unix_ms: start_ms,
            end_unix_ms: end_ms,
            callsigns: vec![],
        },
    ]
}

/// A racetrack (two 18 km straights joined by half turns) inside `bbox`, for the whole scenario.
#[allow(clippy::too_many_arguments)]
fn racetrack(
    rng: &mut ChaCha20Rng,
    party: &str,
    bbox: [f64; 4],
    prefix: &str,
    aircraft_type: &str,
    alt_lo_m: f64,
    index: usize,
    duration_s: u32,
) -> Sortie {
    // 0.25° margin (≥ 20 km) keeps a racetrack of at most 18 km × 6 km inside the box.
    let anchor = LatLon::new(
        rng.gen_range(bbox[0] + 0.25..bbox[2] - 0.25),
        rng.gen_range(bbox[1] + 0.25..bbox[3] - 0.25),
    );
    let gs = 150.0;
    let track_deg = rng.gen_range(0.0..360.0);
    let alt_m = alt_lo_m + rng.gen_range(0.0..2000.0);
    let start_s = rng.gen_range(0..60);
    let mut legs = Vec::new();
    let mut t = start_s;
    while t < duration_s {
        for leg in [Leg::straight(120, gs), Leg::turn(60, gs, 3.0)] {
            let d = leg.duration_s.min(duration_s - t);
            if d > 0 {
                legs.push(Leg {
                    duration_s: d,
                    ..leg
                });
                t += d;
            }
        }
    }
    // Background aircraft are numbered from 11; 01–10 are kept for designed sorties.
    let n = index + 11;
    Sortie {
        party: party.into(),
        aircraft_id: format!("{prefix}-{n:02}"),
        callsign: format!(
            "{}{:03}",
            if party == COALITION {
                "COBRA"
            } else {
                "BERKUT"
            },
            n
        ),
        aircraft_type: aircraft_type.into(),
        start_s,
        anchor,
        initial: Kinematics {
            east_m: 0.0,
            north_m: 0.0,
            alt_m,
            track_deg,
            ground_speed_mps: gs,
            vertical_speed_mps: 0.0,
        },
        legs,
    }
}

/// The working-group member of `party`.
pub fn member_id(party: &str) -> String {
    format!("{party}-wg")
}

/// The default agreement for the scenario's two parties, each with one working-group member.
fn agreement_toml(keys: &[SecretKey], members: &[SecretKey]) -> String {
    let line: Vec<String> = EUPHRATES
        .iter()
        .map(|p| format!("[{},{}]", p.lon_deg, p.lat_deg))
        .collect();
    format!(
        r#"format = "deconflict.agreement.v1"
title = "Memorandum of understanding on flight safety (demo)"
revision = 1

[separation]
horizontal_m = 9260
vertical_m = 305
lookahead_s = 120
alerter = "DO_365B_no_SUM"

[link_test]
interval_s = 3600
offset_s = 0
reply_deadline_s = 60

[ack_deadline_s]
strike_warning = 120
conflict_alert = 60
request = 600
link_test = 60

[[party]]
id = "{COALITION}"
name = "Coalition"
language = "en"
public_key = "{}"
disclose_track = ["position", "altitude", "velocity", "callsign"]
disclose_notification = ["area", "altitude_band", "time_window"]

[party.names]
ru = "Коалиция"

[[party.member]]
id = "{COALITION}-wg"
name = "Coalition airspace safety officer"
public_key = "{}"

[[party.contact]]
name = "CAOC duty officer"
role = "duty officer"
shift_utc = "00:00-24:00"
channel = "line 1"

[[party]]
id = "{RUSSIA}"
name = "Russian Federation"
language = "ru"
public_key = "{}"
disclose_track = ["position", "altitude", "velocity"]
disclose_notification = ["area", "altitude_band", "time_window"]

[party.names]
ru = "Российская Федерация"

[[party.member]]
id = "{RUSSIA}-wg"
name = "Офицер по безопасности полётов"
public_key = "{}"

[[party.contact]]
name = "Дежурный офицер"
role = "дежурный"
shift_utc = "00:00-24:00"

[[frequency]]
name = "Guard"
hz = 121500000

[[dividing_line]]
id = "euphrates"
name = "Euphrates"
left_party = "{COALITION}"
right_party = "{RUSSIA}"
geometry = '{{"type":"LineString","coordinates":[{}]}}'

[[zone]]
id = "al-tanf"
name = "al-Tanf 55 km zone"
geometry = '{{"type":"Point","coordinates":[{},{}]}}'
radius_m = {AL_TANF_RADIUS_M}
excluded_parties = ["{RUSSIA}"]
"#,
        keys[0].public_key(),
        members[0].public_key(),
        keys[1].public_key(),
        members[1].public_key(),
        line.join(","),
        AL_TANF.lon_deg,
        AL_TANF.lat_deg,
    )
}
