//! Golden tests of guidance bands against DAIDALUS v2.0.4's own DaidalusBatch output
//! (testdata/daidalus, NOSA): the upstream gold file (H1 × DO_365B_no_SUM) and the 7 generated
//! ones (`generated/batch/<scenario>__<conf>.out`, kinematic bands).
//!
//! Per file, over every band interval DAIDALUS prints (`  [lo, hi] REGION` under one of the
//! four "… Bands:" headings): the fraction whose bounds are both within 1° / 1 kt / 10 fpm /
//! 10 ft of an interval of ours at the same step, for the same kind, with the same region.
//! Every interval DAIDALUS marks in conflict (FAR, MID, NEAR) is also sampled at 9 points
//! (away from its ends by the tolerance): none of them may be shown NONE by us.
//! The figures per file are printed (`cargo test -p deconflict-wellclear --test bands_golden --
//! --nocapture`); the test fails below 99% on any file, or on any conflict point shown NONE.
//! Set `BANDS_DUMP_DIR` to also write our text per reference file there, for `diff -I '^#'`.
//!
//! Hold-out: C1_0_120_W (wind) and MULTI (two alerters, historical configuration) were not
//! looked at while the bands were developed; their figures were measured once at the end.

use std::io::Read;
use std::path::{Path, PathBuf};

use deconflict_wellclear::{Ownship, batch::batch_text, parse_conf, parse_encounter};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/daidalus")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn gunzip(p: &Path) -> String {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    s
}

/// One band interval: kind, low, high, region.
type Band = (String, f64, f64, String);

struct Step {
    lines: Vec<String>,
    bands: Vec<Band>,
}

fn parse(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut kind: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with("Time: ") {
            steps.push(Step {
                lines: Vec::new(),
                bands: Vec::new(),
            });
        }
        let Some(step) = steps.last_mut() else {
            continue;
        };
        step.lines.push(line.to_string());
        if let Some(k) = line.strip_suffix(" Bands:") {
            kind = Some(k.to_string());
            continue;
        }
        if let (Some(k), Some(rest)) = (&kind, line.strip_prefix("  [")) {
            // "lo [u], hi [u]] REGION"
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if parts.len() == 5 {
                let lo = parts[0].parse().unwrap_or(f64::NAN);
                let hi = parts[2].parse().unwrap_or(f64::NAN);
                step.bands.push((k.clone(), lo, hi, parts[4].to_string()));
                continue;
            }
        }
        kind = None;
    }
    steps
}

fn tolerance(kind: &str) -> f64 {
    match kind {
        "Horizontal Direction" | "Horizontal Speed" => 1.0,
        _ => 10.0,
    }
}

#[derive(Debug, Default)]
struct Agreement {
    steps: usize,
    lines: usize,
    lines_equal: usize,
    intervals: usize,
    intervals_matched: usize,
    conflict_samples: usize,
    conflict_shown_none: usize,
}

impl Agreement {
    fn fraction(&self) -> f64 {
        self.intervals_matched as f64 / self.intervals.max(1) as f64
    }
}

fn compare(reference: &str, ours: &str) -> Agreement {
    let r = parse(reference);
    let g = parse(ours);
    assert_eq!(r.len(), g.len(), "number of time steps");
    let mut a = Agreement {
        steps: r.len(),
        ..Agreement::default()
    };
    for (rs, gs) in r.iter().zip(&g) {
        a.lines += rs.lines.len();
        a.lines_equal += rs
            .lines
            .iter()
            .zip(&gs.lines)
            .filter(|(x, y)| x == y)
            .count();
        for (k, lo, hi, region) in &rs.bands {
            let tol = tolerance(k);
            a.intervals += 1;
            let hit = gs.bands.iter().any(|(k2, lo2, hi2, r2)| {
                k2 == k && r2 == region && (lo - lo2).abs() <= tol && (hi - hi2).abs() <= tol
            });
            if hit {
                a.intervals_matched += 1;
            }
            if matches!(region.as_str(), "FAR" | "MID" | "NEAR") && hi - lo > 2.0 * tol {
                for j in 0..9 {
                    let x = lo + tol + j as f64 * (hi - lo - 2.0 * tol) / 8.0;
                    a.conflict_samples += 1;
                    let here: Vec<&str> = gs
                        .bands
                        .iter()
                        .filter(|(k2, lo2, hi2, _)| k2 == k && *lo2 <= x && x <= *hi2)
                        .map(|b| b.3.as_str())
                        .collect();
                    if !here.is_empty() && here.iter().all(|r| *r == "NONE") {
                        a.conflict_shown_none += 1;
                    }
                }
            }
        }
    }
    a
}

fn scenario_path(name: &str) -> PathBuf {
    let d = data();
    match name {
        "H0_0_120_xyz" => d.join("scenarios/H0_0_120.xyz"),
        "MULTI" | "MultiAircraft" => d.join(format!("scenarios_historical/{name}.daa")),
        _ => d.join(format!("scenarios/{name}.daa")),
    }
}

fn conf_path(name: &str) -> PathBuf {
    data().join(format!("configurations/{name}.conf"))
}

fn run(scenario: &Path, conf: &Path) -> String {
    let config = parse_conf(&conf.display().to_string(), &read(conf)).expect("configuration");
    let enc = parse_encounter(&scenario.display().to_string(), &read(scenario)).expect("scenario");
    batch_text(&config, &enc, Ownship::First).0
}

/// (reference file, scenario, configuration, floor of the matched fraction).
fn cases() -> Vec<(PathBuf, PathBuf, PathBuf, f64)> {
    let d = data();
    let mut v = vec![(
        d.join("gold/DaidalusBatch-no_sum.out.gz"),
        scenario_path("H1"),
        conf_path("DO_365B_no_SUM"),
        FLOOR,
    )];
    for (scenario, conf) in [
        ("C0_0_120", "DO_365B_no_SUM"),
        ("C1_0_120", "DO_365B_no_SUM"),
        ("C1_0_120_W", "DO_365B_no_SUM"),
        ("H0_0_120", "DO_365B_no_SUM"),
        ("H0_0_120_xyz", "DO_365B_no_SUM"),
        ("MultiAircraft", "DO_365B_no_SUM"),
        ("MULTI", "MULTI_v2.0.g_historical"),
    ] {
        v.push((
            d.join(format!("generated/batch/{scenario}__{conf}.out.gz")),
            scenario_path(scenario),
            conf_path(conf),
            FLOOR,
        ));
    }
    v
}

/// Smallest fraction of DAIDALUS band intervals matched on any reference file (the acceptance
/// bar; every file reaches 1.0 today).
const FLOOR: f64 = 0.99;

#[test]
fn bands_agree_with_daidalus_batch() {
    let dump = std::env::var_os("BANDS_DUMP_DIR").map(PathBuf::from);
    let mut failures = Vec::new();
    for (reference, scenario, conf, floor) in cases() {
        let ours = run(&scenario, &conf);
        let name = reference.file_name().unwrap().to_string_lossy().to_string();
        if let Some(dir) = &dump {
            std::fs::write(dir.join(name.trim_end_matches(".gz")), &ours).expect("dump");
        }
        let a = compare(&gunzip(&reference), &ours);
        println!(
            "{name}: {} steps, band intervals within tolerance and same region {}/{} ({:.2}%), conflict samples shown NONE {}/{}, identical lines {}/{} ({:.2}%)",
            a.steps,
            a.intervals_matched,
            a.intervals,
            100.0 * a.fraction(),
            a.conflict_shown_none,
            a.conflict_samples,
            a.lines_equal,
            a.lines,
            100.0 * a.lines_equal as f64 / a.lines.max(1) as f64
        );
        if a.fraction() < floor {
            failures.push(format!("{name}: {:.4} < {floor}", a.fraction()));
        }
        if a.conflict_shown_none > 0 {
            failures.push(format!(
                "{name}: {} points DAIDALUS marks in conflict are shown NONE",
                a.conflict_shown_none
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
