//! Guidance bands checked against the detectors themselves, kinematic and instantaneous (no
//! DaidalusBatch reference exists for instantaneous bands), and the configuration keys that
//! bands refuse.

use std::path::Path;

use deconflict_wellclear::bands::{Region, bands_once};
use deconflict_wellclear::batch::prepare;
use deconflict_wellclear::{Config, ErrorKind, Ownship, parse_conf, parse_encounter};

fn data(p: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/daidalus")
        .join(p);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn do365b() -> Config {
    parse_conf(
        "DO_365B_no_SUM.conf",
        &data("configurations/DO_365B_no_SUM.conf"),
    )
    .unwrap()
}

/// At the current value (no maneuver), a region's bands are in conflict whenever an aircraft is
/// in conflict for that region (the converse does not hold: a free current value whose
/// neighbours are in conflict is a single point, which DAIDALUS drops from the free set).
fn current_value_follows_conflict_aircraft(config: &Config, scenario: &str) -> usize {
    let enc = parse_encounter(scenario, &data(scenario)).unwrap();
    let (steps, _) = prepare(config, &enc, Ownship::First);
    let mut checked = 0;
    for st in steps.iter().step_by(3) {
        let b = bands_once(config, &st.own.id, 1, st.own_state, &st.traffic);
        let near = !b.conflict[2].is_empty();
        let mid = !b.conflict[1].is_empty();
        for (k, kind) in b.kinds.iter().enumerate() {
            let r = kind.current;
            let ok = if near {
                matches!(r, Region::Near | Region::Recovery)
            } else if mid {
                matches!(r, Region::Mid | Region::Near | Region::Recovery)
            } else {
                r != Region::Unknown
            };
            assert!(
                ok,
                "{scenario} t={} kind {k}: current region {r:?}, conflict MID {mid} NEAR {near}",
                st.time_s
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn kinematic_current_value_is_in_conflict_with_conflict_aircraft() {
    let c = do365b();
    let n = current_value_follows_conflict_aircraft(&c, "scenarios/H0_0_120.daa")
        + current_value_follows_conflict_aircraft(&c, "scenarios/C1_0_120.daa");
    assert!(n > 300, "{n}");
}

#[test]
fn instantaneous_current_value_is_in_conflict_with_conflict_aircraft() {
    let c = do365b().with_instantaneous_bands();
    let n = current_value_follows_conflict_aircraft(&c, "scenarios/H0_0_120.daa")
        + current_value_follows_conflict_aircraft(&c, "scenarios/C0_0_120.daa");
    assert!(n > 300, "{n}");
}

#[test]
fn instantaneous_bands_differ_from_kinematic_ones_near_the_conflict() {
    let kin = do365b();
    let inst = kin.clone().with_instantaneous_bands();
    let enc = parse_encounter("H0", &data("scenarios/H0_0_120.daa")).unwrap();
    let (steps, _) = prepare(&kin, &enc, Ownship::First);
    let differ = steps
        .iter()
        .filter(|st| {
            let a = bands_once(&kin, &st.own.id, 1, st.own_state, &st.traffic);
            let b = bands_once(&inst, &st.own.id, 1, st.own_state, &st.traffic);
            a.kinds[0].ranges != b.kinds[0].ranges
        })
        .count();
    assert!(differ > 10, "{differ}");
}

fn refused(extra: &str, key: &str) {
    let text = format!("{}{extra}\n", data("configurations/DO_365B_no_SUM.conf"))
        .replace("conflict_crit = false\n", "")
        .replace("below_relative_hs = 0.0 [knot]\n", "")
        .replace("ca_factor = 0.1\n", "")
        .replace("bands_add_time_to_maneuver = false\n", "")
        .replace("hdir_bands_below_min_as = 0\n", "");
    let e = parse_conf("t.conf", &text).expect_err(extra);
    let msg = e.to_string();
    assert!(msg.contains(key), "'{msg}' should name '{key}'");
    assert!(
        matches!(
            e.kind,
            ErrorKind::Unsupported { .. } | ErrorKind::OutOfRange { .. }
        ),
        "{msg}"
    );
}

#[test]
fn bands_keys_that_are_not_honoured_are_refused_by_name() {
    refused("conflict_crit = true", "conflict_crit");
    refused("below_relative_hs = 20 [knot]", "below_relative_hs");
    refused("ca_factor = 0", "ca_factor");
    refused(
        "bands_add_time_to_maneuver = true",
        "bands_add_time_to_maneuver",
    );
    refused("hdir_bands_below_min_as = 1", "hdir_bands_below_min_as");
    let text = data("configurations/DO_365B_no_SUM.conf")
        .replace("step_hdir = 1.0 [deg]", "step_hdir = 0.0001 [deg]");
    let e = parse_conf("t.conf", &text).unwrap_err();
    assert!(e.to_string().contains("step_hdir"), "{e}");
}
