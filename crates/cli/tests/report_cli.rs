//! `deconflict report` over the record the demo leaves: its figures equal counts taken from
//! the exported record by a reader written here from the export format alone (plain JSON, not
//! the ledger's types); the data directory and its export give the same figures; the page is
//! written in the language asked; a changed export gives no report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::{BIN, TempDir};

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

/// What the independent reader counts over the whole record.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    /// (party, kind) → (due, on time, unanswered).
    acks: BTreeMap<(String, String), (u64, u64, u64)>,
    /// party → (link tests sent, answered in time).
    link_tests: BTreeMap<String, (u64, u64)>,
    /// party → withdrawals.
    withdrawn: BTreeMap<String, u64>,
    /// level → alerts.
    alerts: BTreeMap<String, u64>,
    /// geography / nonconformance → events.
    events: BTreeMap<String, u64>,
}

fn field_text<'a>(fields: &'a Value, name: &str) -> Option<&'a str> {
    fields.get(name)?.get("text")?.as_str()
}

/// Reads the export line by line as JSON, knowing only the format: a header with `keys` and
/// `log`, entries `{"entry":{"author","body":{"<kind>":{…}},"time_ms"}}`.
fn count(export: &str, deadlines: &Value) -> Counts {
    let mut lines = export.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let log = header["log"].as_str().unwrap();
    let parties: BTreeSet<&str> = header["keys"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != log)
        .collect();
    let mut messages = Vec::new();
    let mut acks: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut c = Counts::default();
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let Some(e) = v.get("entry") else { continue };
        let author = e["author"].as_str().unwrap().to_string();
        let t = e["time_ms"].as_u64().unwrap();
        let (kind, body) = e["body"].as_object().unwrap().iter().next().unwrap();
        match kind.as_str() {
            "line_message" => {
                let f = &body["fields"];
                messages.push((
                    body["message_id"].as_str().unwrap().to_string(),
                    field_text(f, "kind").unwrap().to_string(),
                    field_text(f, "to").unwrap().to_string(),
                    t,
                ));
            }
            "acknowledgement" => {
                let k = (author, body["acknowledges"].as_str().unwrap().to_string());
                let at = acks.entry(k).or_insert(t);
                *at = (*at).min(t);
            }
            "notification_withdrawal" => *c.withdrawn.entry(author).or_default() += 1,
            "alert" => {
                // Geography and nonconformance events are reported per party, not as alerts.
                let level = body["level"].as_str().unwrap();
                let into = if level == "geography" || level == "nonconformance" {
                    &mut c.events
                } else {
                    &mut c.alerts
                };
                *into.entry(level.into()).or_default() += 1
            }
            _ => {}
        }
    }
    for (id, kind, to, t) in messages {
        if !parties.contains(to.as_str()) {
            continue;
        }
        let ack = acks.get(&(to.clone(), id)).copied();
        if kind == "link_test" {
            let d = deadlines["link_test_reply_ms"].as_u64().unwrap();
            let e = c.link_tests.entry(to).or_default();
            e.0 += 1;
            e.1 += u64::from(ack.is_some_and(|a| a < t + d));
            continue;
        }
        let Some(d) = deadlines["ack_ms"][&kind].as_u64() else {
            continue;
        };
        let e = c.acks.entry((to, kind)).or_default();
        e.0 += 1;
        e.1 += u64::from(ack.is_some_and(|a| a < t + d));
        e.2 += u64::from(ack.is_none());
    }
    c
}

/// The same totals summed over the report's weeks.
fn totals(report: &Value) -> Counts {
    let mut c = Counts::default();
    for w in report["weeks"].as_array().unwrap() {
        for a in w["acknowledgements"].as_array().unwrap() {
            let e = c
                .acks
                .entry((
                    a["party"].as_str().unwrap().into(),
                    a["kind"].as_str().unwrap().into(),
                ))
                .or_default();
            e.0 += a["due"].as_u64().unwrap();
            e.1 += a["on_time"].as_u64().unwrap();
            e.2 += a["unanswered"].as_u64().unwrap();
        }
        for l in w["link_tests"].as_array().unwrap() {
            let e = c
                .link_tests
                .entry(l["party"].as_str().unwrap().into())
                .or_default();
            e.0 += l["sent"].as_u64().unwrap();
            e.1 += l["answered_in_time"].as_u64().unwrap();
        }
        for p in w["parties"].as_array().unwrap() {
            for (field, kind) in [
                ("geography_events", "geography"),
                ("nonconformances", "nonconformance"),
            ] {
                let n = p[field].as_u64().unwrap();
                if n > 0 {
                    *c.events.entry(kind.into()).or_default() += n;
                }
            }
            let n = p["withdrawn"].as_u64().unwrap();
            if n > 0 {
                *c.withdrawn
                    .entry(p["party"].as_str().unwrap().into())
                    .or_default() += n;
            }
        }
        for a in w["alerts"].as_array().unwrap() {
            *c.alerts
                .entry(a["level"].as_str().unwrap().into())
                .or_default() += a["count"].as_u64().unwrap();
        }
    }
    c
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
    assert_eq!(totals(&report), expected);
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
    assert_eq!(totals(&dir), count(&text, &dir["deadlines"]));

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
    assert_eq!(alerts, expected.alerts);
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
