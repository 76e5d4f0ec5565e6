//! Golden tests against DAIDALUS v2.0.4's own DaidalusAlerting output (testdata/daidalus, NOSA).
//!
//! For every `generated/alerting/<scenario>__<conf>.csv` (73 files) and the upstream gold
//! DaidalusAlerting CSVs: a non-SUM configuration must reproduce the header, the units line, the
//! sequence of (time, ownship, traffic, alerter) rows and the alert level of every row exactly,
//! and every numeric column within `ABS_TOL` (in the printed unit) or `REL_TOL` relative;
//! a SUM configuration must be rejected with an error naming the key that selects SUM.
//! Differences are printed row by row (file, time, traffic, column, expected, got).

use std::path::{Path, PathBuf};

use deconflict_wellclear::{ErrorKind, Ownship, alerting_csv, parse_conf, parse_encounter};

/// Largest absolute difference accepted in a numeric column, in the unit it is printed in
/// (the golden files print 6 decimals).
const ABS_TOL: f64 = 1e-5;
/// Largest relative difference accepted in a numeric column.
const REL_TOL: f64 = 1e-8;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/daidalus")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn scenario_path(name: &str) -> PathBuf {
    let d = data();
    match name {
        "H0_0_120_xyz" => d.join("scenarios/H0_0_120.xyz"),
        "MULTI" | "MultiAircraft" => d.join(format!("scenarios_historical/{name}.daa")),
        _ => d.join(format!("scenarios/{name}.daa")),
    }
}

#[derive(Default)]
struct Tally {
    files: usize,
    files_matching: usize,
    sum_rejected: usize,
    sum_files: usize,
    rows: usize,
    level_rows_matching: usize,
    rows_matching: usize,
    rows_identical: usize,
    failures: Vec<String>,
}

fn numbers_agree(exp: &str, got: &str) -> bool {
    if exp == got {
        return true;
    }
    match (exp.parse::<f64>(), got.parse::<f64>()) {
        (Ok(e), Ok(g)) if e.is_finite() && g.is_finite() => {
            (e - g).abs() <= ABS_TOL.max(REL_TOL * e.abs())
        }
        _ => false,
    }
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

/// Runs one scenario × configuration and compares with the golden CSV.
fn check(label: &str, scenario: &Path, conf: &Path, golden: &Path, t: &mut Tally) {
    t.files += 1;
    let conf_name = conf
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expected = read(golden);
    let exp_lines = data_lines(&expected);
    let config = parse_conf(&conf_name, &read(conf));
    // The two configurations of the data set that select SUM detectors (see its README).
    if conf_name == "DO_365A_SUM.conf" || conf_name == "DO_365B_SUM.conf" {
        t.sum_files += 1;
        match config {
            Err(e) => match &e.kind {
                ErrorKind::SumNotSupported { key, .. } if key.contains("_load_core_detection_") => {
                    assert!(e.to_string().contains(key.as_str()), "{e}");
                    t.sum_rejected += 1;
                }
                _ => t.failures.push(format!(
                    "{label}: SUM configuration rejected for the wrong reason: {e}"
                )),
            },
            Ok(_) => t
                .failures
                .push(format!("{label}: SUM configuration was accepted")),
        }
        return;
    }
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            t.rows += exp_lines.len().saturating_sub(2);
            t.failures
                .push(format!("{label}: configuration rejected: {e}"));
            return;
        }
    };
    let scen_name = scenario
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let encounter = match parse_encounter(&scen_name, &read(scenario)) {
        Ok(e) => e,
        Err(e) => {
            t.failures.push(format!("{label}: encounter rejected: {e}"));
            return;
        }
    };
    let got = alerting_csv(&config, &encounter, Ownship::First);
    let got_lines = data_lines(&got);
    let mut diffs = Vec::new();
    for (i, name) in ["header", "units line"].iter().enumerate() {
        if exp_lines.get(i) != got_lines.get(i) {
            diffs.push(format!(
                "{label}: {name}\n  expected: {:?}\n  got:      {:?}",
                exp_lines.get(i),
                got_lines.get(i)
            ));
        }
    }
    let header: Vec<&str> = exp_lines
        .first()
        .map(|h| h.split(", ").map(str::trim).collect())
        .unwrap_or_default();
    let rows = exp_lines.len().max(got_lines.len()).saturating_sub(2);
    t.rows += exp_lines.len().saturating_sub(2);
    let mut all_rows_match = true;
    for i in 2..rows + 2 {
        let (Some(e), Some(g)) = (exp_lines.get(i), got_lines.get(i)) else {
            all_rows_match = false;
            diffs.push(format!(
                "{label}: row {}: expected {:?}, got {:?}",
                i - 1,
                exp_lines.get(i),
                got_lines.get(i)
            ));
            continue;
        };
        let ef: Vec<&str> = e.split(", ").collect();
        let gf: Vec<&str> = g.split(", ").collect();
        let key = ef.iter().take(3).copied().collect::<Vec<_>>().join(", ");
        if ef.len() != gf.len() || ef[..4] != gf[..4] {
            all_rows_match = false;
            diffs.push(format!(
                "{label}: row {}: expected {e:?}\n  got {g:?}",
                i - 1
            ));
            continue;
        }
        if e == g {
            t.rows_identical += 1;
        }
        let level_ok = ef[4] == gf[4];
        if level_ok {
            t.level_rows_matching += 1;
        } else {
            diffs.push(format!(
                "{label}: time/ownship/traffic {key}: Alert Level expected {} got {}",
                ef[4], gf[4]
            ));
        }
        let mut row_ok = level_ok;
        for (c, (x, y)) in ef.iter().zip(&gf).enumerate().skip(5) {
            if !numbers_agree(x.trim(), y.trim()) {
                row_ok = false;
                let col = header.get(c).copied().unwrap_or("(trailing field)");
                diffs.push(format!("{label}: {key}: {col} expected {x:?} got {y:?}"));
            }
        }
        if row_ok {
            t.rows_matching += 1;
        } else {
            all_rows_match = false;
        }
    }
    if diffs.is_empty() && all_rows_match {
        t.files_matching += 1;
    } else {
        let n = diffs.len();
        let mut shown: Vec<String> = diffs.into_iter().take(40).collect();
        if n > 40 {
            shown.push(format!("{label}: ... and {} more differences", n - 40));
        }
        t.failures.push(shown.join("\n"));
    }
}

#[test]
fn daidalus_alerting_golden_files() {
    let d = data();
    let mut t = Tally::default();
    let mut files: Vec<_> = std::fs::read_dir(d.join("generated/alerting"))
        .expect("generated/alerting")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 73, "the generated/alerting set has 73 files");
    for golden in &files {
        let stem = golden
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (scen, conf) = stem.split_once("__").expect("<scenario>__<conf>.csv");
        check(
            &stem,
            &scenario_path(scen),
            &d.join(format!("configurations/{conf}.conf")),
            golden,
            &mut t,
        );
    }
    check(
        "gold/DaidalusqAlerting-no_sum",
        &d.join("scenarios/H1.daa"),
        &d.join("configurations/DO_365B_no_SUM.conf"),
        &d.join("gold/DaidalusqAlerting-no_sum.csv"),
        &mut t,
    );
    check(
        "gold/DaidalusAlerting-sum",
        &d.join("scenarios/H1_SUM.daa"),
        &d.join("configurations/DO_365B_SUM.conf"),
        &d.join("gold/DaidalusAlerting-sum.csv"),
        &mut t,
    );
    let non_sum = t.files - t.sum_files;
    println!(
        "golden: {} files ({} SUM rejected as required); non-SUM files fully matching: {}/{}; rows with matching alert level: {}/{}; rows fully matching (alert level and every numeric column within {ABS_TOL:e} abs / {REL_TOL:e} rel): {}/{}; rows byte-identical: {}/{}",
        t.files,
        t.sum_rejected,
        t.files_matching,
        non_sum,
        t.level_rows_matching,
        t.rows,
        t.rows_matching,
        t.rows,
        t.rows_identical,
        t.rows
    );
    for f in &t.failures {
        println!("{f}\n");
    }
    assert!(
        t.failures.is_empty(),
        "{} golden files differ (see the rows above)",
        t.failures.len()
    );
}
