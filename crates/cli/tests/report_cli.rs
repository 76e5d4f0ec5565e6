//! `deconflict report` over the record the demo leaves: its figures, week by week, equal counts
//! taken from the exported record by a reader written from the export format alone
//! (`support/counts.rs`: plain JSON, not the log's types); the data directory and its export
//! give the same figures; the page is written in the language asked; a changed export gives no
//! report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
#[path = "support/counts.rs"]
mod counts;

use common::{BIN, TempDir};
use counts::{count, from_report};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the demo into `tmp/data` and exports its record to `tmp/log.export`.
fn demo_record(tmp: &TempDir) -> (PathBuf, PathBuf) {
    let data = tmp.0.join("data");
    ok(&["demo", "--data-dir", s(&data)]);
    let export = tmp.0.join("log.export");
    ok(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);
    (data, export)
}

#[test]
fn the_report_over_the_demo_equals_counts_taken_from_its_export() {
    let tmp = TempDir::new("report");
    let (data, export) = demo_record(&tmp);

    let json = tmp.0.join("report.json");
    let out = ok(&[
        "report",
        "--log",
        s(&export),
        "--format",
        "json",
        "--out",
        s(&json),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("written to"));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let text = std::fs::read_to_string(&export).unwrap();
    let expected = count(&text, &report["deadlines"]);
    // The demo's record has something in each of these, or the comparison proves little.
    assert!(!expected.acks.is_empty(), "{expected:?}");
    assert!(!expected.link_tests.is_empty(), "{expected:?}");
    assert!(!expected.alerts.is_empty(), "{expected:?}");
    assert_eq!(from_report(&report), expected);
    // The demo's incident is counted, disputed; its working-group members are not parties.
    assert_eq!(
        report["parties"],
        serde_json::json!(["coalition", "russia"]),
        "{}",
        report["parties"]
    );
    let incidents = &report["weeks"][0]["incidents"];
    assert_eq!(
        (incidents["filed"].as_u64(), incidents["disputed"].as_u64()),
        (Some(1), Some(1)),
        "{incidents}"
    );

    // From the data directory (its agreement pins the keys and sets the deadlines) the
    // report covers the same tree.
    let from_dir = tmp.0.join("dir.json");
    ok(&[
        "report",
        "--data-dir",
        s(&data),
        "--format",
        "json",
        "--out",
        s(&from_dir),
    ]);
    let dir: Value = serde_json::from_slice(&std::fs::read(&from_dir).unwrap()).unwrap();
    assert_eq!(dir["tree_size"], report["tree_size"]);
    assert_eq!(dir["keys_pinned"], Value::Bool(true));
    assert_eq!(report["keys_pinned"], Value::Bool(false));
    assert_eq!(from_report(&dir), count(&text, &dir["deadlines"]));

    // The page, in Russian.
    let html = tmp.0.join("report.html");
    ok(&[
        "report",
        "--data-dir",
        s(&data),
        "--lang",
        "ru",
        "--out",
        s(&html),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
    assert!(page.contains("Индекс доверия"));
    assert!(page.contains("<svg") && !page.contains("<script"));

    // CSV carries the same alert counts.
    let csv = tmp.0.join("report.csv");
    ok(&[
        "report",
        "--log",
        s(&export),
        "--format",
        "csv",
        "--out",
        s(&csv),
    ]);
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut alerts: BTreeMap<String, u64> = BTreeMap::new();
    for row in csv.lines().skip(1) {
        let cols: Vec<&str> = row.split(',').collect();
        if cols[1] == "alerts" {
            *alerts.entry(cols[3].into()).or_default() += cols[4].parse::<u64>().unwrap();
        }
    }
    let mut by_level: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, level), n) in &expected.alerts {
        *by_level.entry(level.clone()).or_default() += n;
    }
    assert_eq!(alerts, by_level);
}

#[test]
fn bad_arguments_and_a_changed_export_give_no_report() {
    let tmp = TempDir::new("report-bad");
    let (_, export) = demo_record(&tmp);
    let out_file = tmp.0.join("r.html");
    let o = s(&out_file);
    let e = s(&export);
    for (args, says) in [
        (
            vec!["report", "--log", e, "--out", o, "--format", "pdf"],
            "--format",
        ),
        (
            vec!["report", "--log", e, "--out", o, "--lang", "fr"],
            "--lang",
        ),
        (
            vec!["report", "--log", e, "--out", o, "--from", "2026-02-30"],
            "--from",
        ),
        (
            vec![
                "report",
                "--log",
                e,
                "--out",
                o,
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-01",
            ],
            "after --to",
        ),
        (
            vec![
                "report",
                "--log",
                e,
                "--out",
                o,
                "--from",
                "1990-01-01",
                "--to",
                "2026-03-01",
            ],
            "weeks",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // One changed digit of an entry's time.
    let mut bytes = std::fs::read(&export).unwrap();
    let at = bytes
        .windows(10)
        .position(|w| w == b"\"time_ms\":")
        .unwrap()
        + 12;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    let bad = tmp.0.join("bad.export");
    std::fs::write(&bad, &bytes).unwrap();
    let out = run(&["report", "--log", s(&bad), "--out", o]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
    assert!(!out_file.exists());
}
