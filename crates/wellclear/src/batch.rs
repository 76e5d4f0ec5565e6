//! The text DAIDALUS's `DaidalusBatch` (v2.0.4) prints for an encounter: per time step, the
//! aircraft states, the conflict aircraft and time intervals of conflict per region, the alert
//! level per intruder, then for horizontal direction, horizontal speed, vertical speed and
//! altitude the current value and region, the bands, the peripheral aircraft, resolutions,
//! preferred direction and recovery information, and the last times to maneuver. Lines that
//! DAIDALUS starts with `#` (version banners) are not written; compare ignoring them.
//!
//! Values are printed in the configuration's units (those of `step_hdir`, `step_hs`,
//! `step_vs`, `step_alt`, `min_horizontal_recovery`, `min_vertical_recovery`), with 6 decimals
//! and trailing zeros trimmed, as DaidalusAlerting does ([`crate::csv::format_number`]).

use std::collections::HashMap;
use std::fmt::Write;

use crate::alerting::{Daa, Frame};
use crate::bands::{BandsEngine, Intruder, Kind, KindBands, Own, StepBands, direction_of};
use crate::conf::{Config, OutputUnit};
use crate::csv::format_number as f;
use crate::encounter::{AircraftState, Encounter, Position};
use crate::geom::Vec3;
use crate::units;
use crate::{Ownship, RunStats};

fn conv(x: f64, u: &OutputUnit) -> String {
    f(x / u.to_si)
}

fn val_u(x: f64, u: &OutputUnit) -> String {
    format!("{} [{}]", conv(x, u), u.name)
}

fn interval(i: Option<(f64, f64)>) -> String {
    match i {
        Some((a, b)) => format!("[{} [s], {} [s]]", f(a), f(b)),
        None => "[]".into(),
    }
}

fn names(ids: &[usize], traffic: &[Intruder]) -> String {
    let list: Vec<&str> = ids.iter().map(|&i| traffic[i].id.as_str()).collect();
    format!("{{{}}}", list.join(", "))
}

/// Labels of one kind of bands in the text.
struct Labels {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

fn labels(kind: Kind) -> Labels {
    match kind {
        Kind::Direction => Labels {
            name: "Horizontal Direction",
            up: "right",
            down: "left",
        },
        Kind::HorizontalSpeed => Labels {
            name: "Horizontal Speed",
            up: "up",
            down: "down",
        },
        Kind::VerticalSpeed => Labels {
            name: "Vertical Speed",
            up: "up",
            down: "down",
        },
        Kind::Altitude => Labels {
            name: "Altitude",
            up: "up",
            down: "down",
        },
    }
}

fn write_kind(s: &mut String, config: &Config, kind: Kind, b: &KindBands, traffic: &[Intruder]) {
    let l = labels(kind);
    let u = &config.bands().units[match kind {
        Kind::Direction => 0,
        Kind::HorizontalSpeed => 1,
        Kind::VerticalSpeed => 2,
        Kind::Altitude => 3,
    }];
    let ou = config.output_units();
    let name = l.name;
    let _ = writeln!(s, "Ownship {name}: {}", val_u(b.value, u));
    let _ = writeln!(s, "Region of Current {name}: {}", b.current.name());
    let _ = writeln!(s, "{name} Bands:");
    for r in &b.ranges {
        let _ = writeln!(
            s,
            "  [{}, {}] {}",
            val_u(r.low, u),
            val_u(r.up, u),
            r.region.name()
        );
    }
    for (i, region) in ["FAR", "MID", "NEAR"].iter().enumerate() {
        let _ = writeln!(
            s,
            "Peripheral {name} Bands Aircraft ({region}): {}",
            names(&b.peripheral[i], traffic)
        );
    }
    let _ = writeln!(
        s,
        "{name} Resolution ({}): {}",
        l.up,
        val_u(b.resolution_up, u)
    );
    let _ = writeln!(
        s,
        "{name} Resolution ({}): {}",
        l.down,
        val_u(b.resolution_low, u)
    );
    let preferred = if b.preferred_up { l.up } else { l.down };
    let short = match kind {
        Kind::Altitude => "Altitude",
        _ => name,
    };
    let _ = writeln!(s, "Preferred {short}: {preferred}");
    let _ = writeln!(s, "Recovery Information for {name} Bands:");
    let _ = writeln!(s, "  Time to Recovery: {} [s]", f(b.recovery.time_s));
    let _ = writeln!(
        s,
        "  Recovery Horizontal Distance: {}",
        val_u(b.recovery.horizontal_m, &ou.horizontal)
    );
    let _ = writeln!(
        s,
        "  Recovery Vertical Distance: {}",
        val_u(b.recovery.vertical_m, &ou.vertical)
    );
    let _ = writeln!(s, "  Recovery N Factor: {}", b.recovery.nfactor);
}

/// Unit of horizontal positions in the states: DAIDALUS derives it from the speed unit.
fn xy_unit(config: &Config) -> OutputUnit {
    let hs = &config.bands().units[1].name;
    let name = match hs.as_str() {
        "knot" | "kn" | "kts" | "kt" => "nmi",
        "fpm" | "ft/min" => "ft",
        "kph" | "km/h" => "km",
        _ => "m",
    };
    OutputUnit {
        name: name.into(),
        to_si: units::lookup(name).map_or(1.0, |u| u.to_si),
    }
}

fn write_states(
    s: &mut String,
    config: &Config,
    time_s: f64,
    aircraft: &[&AircraftState],
    wind: Vec3,
    geodetic: bool,
) {
    let [_, hs, vs, alt] = &config.bands().units;
    let xy = xy_unit(config);
    let (a, b) = if geodetic {
        ("lat", "lon")
    } else {
        ("sx", "sy")
    };
    let c = if geodetic { "alt" } else { "sz" };
    let _ = writeln!(
        s,
        "NAME {a} {b} {c} trk gs vs heading airspeed time alerter s_EW_std s_NS_std s_EN_std sz_std v_EW_std v_NS_std v_EN_std vz_std"
    );
    let (ua, ub) = if geodetic {
        ("deg".to_string(), "deg".to_string())
    } else {
        (xy.name.clone(), xy.name.clone())
    };
    let _ = writeln!(
        s,
        "[none] [{ua}] [{ub}] [{}] [deg] [{}] [{}] [deg] [{}] [s] [none] [{x}] [{x}] [{x}] [{}] [{}] [{}] [{}] [{}]",
        alt.name,
        hs.name,
        vs.name,
        hs.name,
        alt.name,
        hs.name,
        hs.name,
        hs.name,
        vs.name,
        x = xy.name
    );
    let deg = std::f64::consts::PI / 180.0;
    for ac in aircraft {
        let (p1, p2, p3) = match ac.position {
            Position::Geodetic(p) => (f(p.lat_rad / deg), f(p.lon_rad / deg), conv(p.alt_m, alt)),
            Position::Euclidean(p) => (conv(p.x, &xy), conv(p.y, &xy), conv(p.z, alt)),
        };
        let g = ac.velocity_mps;
        let air = g - wind;
        let _ = writeln!(
            s,
            "{}, {p1}, {p2}, {p3}, {}, {}, {}, {}, {}, {}, {}, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0",
            ac.id,
            f(direction_of(g) / deg),
            conv(g.xy().norm(), hs),
            conv(g.z, vs),
            f(direction_of(air) / deg),
            conv(air.xy().norm(), hs),
            f(time_s),
            ac.alerter.unwrap_or(1),
        );
    }
}

/// Writes one step.
#[allow(clippy::too_many_arguments)]
fn write_step(
    s: &mut String,
    config: &Config,
    time_s: f64,
    aircraft: &[&AircraftState],
    wind: Vec3,
    geodetic: bool,
    traffic: &[Intruder],
    levels: &HashMap<String, u32>,
    b: &StepBands,
) {
    let _ = writeln!(s, "Time: {} [s]", f(time_s));
    write_states(s, config, time_s, aircraft, wind, geodetic);
    s.push_str("Conflict Criteria: Disabled\nRecovery Criteria: Disabled\n");
    s.push_str("Most Urgent Aircraft: _NoAc_\nHorizontal Epsilon: 0\nVertical Epsilon: 0\n");
    for (i, region) in ["FAR", "MID", "NEAR"].iter().enumerate() {
        let _ = writeln!(
            s,
            "Conflict Bands Aircraft ({region}): {}",
            names(&b.conflict[i], traffic)
        );
    }
    for (i, region) in ["FAR", "MID", "NEAR"].iter().enumerate() {
        let _ = writeln!(
            s,
            "Time Interval of Conflict ({region}): {}",
            interval(b.time_interval[i])
        );
    }
    for (i, t) in traffic.iter().enumerate() {
        if let Some(iv) = b.corrective_interval[i] {
            let _ = writeln!(
                s,
                "Time to Corrective Volume with {}: {}",
                t.id,
                interval(Some(iv))
            );
        }
        let level = levels.get(&t.id).map_or(-1, |l| *l as i64);
        let _ = writeln!(s, "Alert Level {level} with {}", t.id);
    }
    for (k, kind) in Kind::ALL.iter().enumerate() {
        write_kind(s, config, *kind, &b.kinds[k], traffic);
    }
    let what = [
        "Horizontal Direction",
        "Horizontal Speed",
        "Vertical Speed",
        "Altitude",
    ];
    for (i, t) in traffic.iter().enumerate() {
        let _ = writeln!(s, "Last Times to Maneuver with Respect to {}", t.id);
        for (k, w) in what.iter().enumerate() {
            let _ = writeln!(
                s,
                "  Last Time to {w} Maneuver: {} [s]",
                f(b.last_time_to_maneuver[i][k])
            );
        }
    }
}

/// One step of an encounter prepared for the bands: the ownship, its traffic in its local
/// frame, and the alert level of each intruder.
pub struct PreparedStep<'a> {
    /// Step time, s.
    pub time_s: f64,
    /// Ownship.
    pub own: &'a AircraftState,
    /// Ownship position and air velocity in its local frame.
    pub own_state: Own,
    /// Every aircraft of the step, ownship first.
    pub aircraft: Vec<&'a AircraftState>,
    /// The intruders.
    pub traffic: Vec<Intruder>,
    /// Alert level per intruder name.
    pub levels: HashMap<String, u32>,
    /// Wind used, m/s.
    pub wind: Vec3,
}

/// Runs alerting over the encounter and yields each step with an ownship, ready for bands.
pub fn prepare<'a>(
    config: &Config,
    encounter: &'a Encounter,
    ownship: Ownship<'_>,
) -> (Vec<PreparedStep<'a>>, RunStats) {
    let mut daa = Daa::new(config.clone());
    let mut out = Vec::new();
    let mut stats = RunStats {
        steps: encounter.steps.len(),
        ..RunStats::default()
    };
    for step in &encounter.steps {
        let own = match ownship {
            Ownship::First => step.aircraft.first(),
            Ownship::Named(name) => step.aircraft.iter().find(|a| a.id == name),
        };
        let Some(own) = own else {
            stats.steps_without_ownship += 1;
            continue;
        };
        let mut others: Vec<&AircraftState> = Vec::new();
        for a in &step.aircraft {
            if a.id == own.id {
                continue;
            }
            match others.iter().position(|o| o.id == a.id) {
                Some(i) => others[i] = a,
                None => others.push(a),
            }
        }
        let owned: Vec<AircraftState> = others.iter().map(|a| (*a).clone()).collect();
        let alerts = daa.step(step.time_s, own, &owned);
        stats.alerts += alerts.len();
        let levels = alerts
            .iter()
            .map(|a| (a.traffic_id.clone(), a.alert_level))
            .collect();
        let wind = daa.wind_mps();
        let frame = Frame::new(own);
        let Some((so, vo)) = frame.state(own, wind) else {
            continue;
        };
        let mut aircraft = vec![own];
        let mut traffic = Vec::new();
        for a in others {
            let Some((s, v)) = frame.state(a, wind) else {
                continue;
            };
            aircraft.push(a);
            traffic.push(Intruder {
                id: a.id.clone(),
                s,
                v,
                alerter: a.alerter.unwrap_or(1),
            });
        }
        out.push(PreparedStep {
            time_s: step.time_s,
            own,
            own_state: Own { s: so, v: vo },
            aircraft,
            traffic,
            levels,
            wind,
        });
    }
    stats.skipped_no_alerter = daa.skipped_no_alerter();
    stats.skipped_other_frame = daa.skipped_other_frame();
    stats.histories_dropped = daa.histories_dropped();
    (out, stats)
}

/// The whole DaidalusBatch text (without its `#` banner lines) for an encounter.
pub fn batch_text(
    config: &Config,
    encounter: &Encounter,
    ownship: Ownship<'_>,
) -> (String, RunStats) {
    let (steps, stats) = prepare(config, encounter, ownship);
    let mut engine = BandsEngine::new(config.clone());
    let mut s = String::new();
    for st in &steps {
        let mut b = engine.step(
            st.time_s,
            &st.own.id,
            st.own.alerter.unwrap_or(1),
            st.own_state,
            &st.traffic,
        );
        // DAIDALUS prints the ownship's values as given (ground velocity minus wind), not as
        // projected into its local frame; bands and regions use the projected ones.
        let air = st.own.velocity_mps - st.wind;
        let alt = match st.own.position {
            Position::Geodetic(p) => p.alt_m,
            Position::Euclidean(p) => p.z,
        };
        let shown = [direction_of(air), air.xy().norm(), air.z, alt];
        for (k, v) in b.kinds.iter_mut().zip(shown) {
            k.value = v;
        }
        write_step(
            &mut s,
            config,
            st.time_s,
            &st.aircraft,
            st.wind,
            encounter.geodetic,
            &st.traffic,
            &st.levels,
            &b,
        );
    }
    (s, stats)
}
