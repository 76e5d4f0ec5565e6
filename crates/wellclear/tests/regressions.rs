//! Regression tests, one per bug found against the DAIDALUS golden files, each named after it.

use deconflict_wellclear::{Ownship, alerting_csv, parse_conf, parse_encounter};

const CD3D: &str = include_str!("../testdata/daidalus/configurations/CD3D.conf");
const HEADER: &str =
    "NAME sx sy sz trk gs vs time\n[none] [nmi] [nmi] [ft] [deg] [knot] [fpm] [s]\n";

/// Runs CD3D over an inline `.xyz` body and returns the data rows of the CSV.
fn rows(body: &str) -> Vec<String> {
    let config = parse_conf("CD3D.conf", CD3D).unwrap();
    let enc = parse_encounter("inline.xyz", &format!("{HEADER}{body}")).unwrap();
    alerting_csv(&config, &enc, Ownship::First)
        .lines()
        .skip(2)
        .map(str::to_string)
        .collect()
}

fn field(row: &str, i: usize) -> &str {
    row.split(", ").nth(i).unwrap_or("<missing>")
}

#[test]
fn tcpa_of_colocated_aircraft_prints_as_zero_not_minus_zero() {
    // Same place, flying the same direction at different speeds: tcpa = -(0)/v² = -0.
    let r = rows("A 0 0 1000 90 100 0 0\nB 0 0 1000 90 150 0 0\n");
    assert_eq!(field(&r[0], 12), "0.0", "{}", r[0]);
}

#[test]
fn tcoa_is_empty_when_level_at_the_same_altitude() {
    // DaidalusAlerting prints no time to co-altitude without vertical closure, even at co-altitude.
    let r = rows("A 0 0 1000 90 100 0 0\nB 5 0 1000 270 100 0 0\n");
    assert_eq!(field(&r[0], 14), "", "{}", r[0]);
}

#[test]
fn intruders_are_listed_in_order_of_first_appearance_in_the_file() {
    // At t=1 the file lists C before B; DAIDALUS (and we) keep the order of first appearance.
    let r = rows(
        "A 0 0 1000 90 100 0 0\nB 5 0 1000 270 100 0 0\nC 0 5 1000 180 100 0 0\nA 0 0 1000 90 100 0 1\nC 0 5 1000 180 100 0 1\nB 5 0 1000 270 100 0 1\n",
    );
    let order: Vec<&str> = r.iter().map(|x| field(x, 2)).collect();
    assert_eq!(order, ["B", "C", "B", "C"]);
}
