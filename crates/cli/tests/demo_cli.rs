//! `deconflict demo` shows the live desk from what happened in the run: the DO-365 levels, the
//! geography events and the nonconformance events it prints equal what its exported record
//! holds (read as plain JSON, knowing only the export format) and what each party's stream
//! holds in the store it leaves.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use deconflict_store::Store as _;
use serde_json::Value;

mod common;

use common::{BIN, TempDir};

fn ok(args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).output().unwrap();
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

/// The lines of the section whose heading starts with `heading`, up to the next blank line,
/// and the heading itself.
fn section<'a>(text: &'a str, heading: &str) -> (&'a str, Vec<&'a str>) {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(heading));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no {heading:?} in the demo's output:\n{text}"));
    (head, lines.take_while(|l| !l.trim().is_empty()).collect())
}

/// `…: N events, M in the record` → (N, M).
fn event_counts(head: &str) -> (u64, u64) {
    let tail = head.rsplit(": ").next().unwrap();
    let nums: Vec<u64> = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    match nums.as_slice() {
        [n, m] => (*n, *m),
        _ => panic!("no counts in {head:?}"),
    }
}

#[test]
fn the_demo_prints_the_live_desk_as_its_record_and_streams_hold_it() {
    let tmp = TempDir::new("demo-summary");
    let data = tmp.0.join("data");
    let text = String::from_utf8(ok(&["demo", "--data-dir", s(&data)]).stdout).unwrap();
    let export = tmp.0.join("log.export");
    ok(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);

    // The record, read knowing only the export format.
    let mut recorded: BTreeMap<String, u64> = BTreeMap::new();
    for line in std::fs::read_to_string(&export).unwrap().lines().skip(1) {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(alert) = v.pointer("/entry/body/alert") {
            *recorded
                .entry(alert["level"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }

    // The streams, as the store holds them.
    let store = deconflict_store::SqliteStore::open(&data.join("store.sqlite")).unwrap();
    let stream = |party: &str| store.events_after(party, 0, 1_000_000).unwrap();
    let start_ms = deconflict_sim::Config::default().start_unix_ms;

    // Geography: the count printed is the record's and the streams'; each event printed is on
    // every party's stream at the sequence number printed.
    let (head, lines) = section(&text, "Geography (");
    let (n, in_record) = event_counts(head);
    assert!(n >= 1, "{head}");
    assert_eq!(n, in_record, "{head}");
    assert_eq!(recorded.get("geography").copied().unwrap_or(0), n, "{head}");
    assert_eq!(lines.len() as u64, n, "{lines:?}");
    for l in &lines {
        let seen = l.rsplit("seen by ").next().unwrap();
        let mut parties = Vec::new();
        for s in seen.split(", ") {
            let (party, seq) = s.split_once(" #").unwrap();
            let seq: u64 = seq.parse().unwrap();
            let e = &stream(party)[seq as usize - 1];
            assert_eq!((e.seq, e.kind.as_str()), (seq, "geography"), "{l}");
            parties.push(party.to_string());
        }
        assert_eq!(parties, ["coalition", "russia"], "{l}");
        assert!(l.contains("crossed dividing line euphrates"), "{l}");
    }
    for party in ["coalition", "russia"] {
        let on_stream = stream(party)
            .iter()
            .filter(|e| e.kind == "geography")
            .count() as u64;
        assert_eq!(on_stream, n, "{party}");
    }

    // Nonconformance: as many as the record holds and the parties' streams carried.
    let (head, lines) = section(&text, "Nonconformance (");
    let (n, in_record) = event_counts(head);
    assert!(n >= 1, "{head}");
    assert_eq!(n, in_record, "{head}");
    assert_eq!(
        recorded.get("nonconformance").copied().unwrap_or(0),
        n,
        "{head}"
    );
    assert_eq!(lines.len() as u64, n, "{lines:?}");
    let on_streams: u64 = ["coalition", "russia"]
        .iter()
        .map(|p| {
            stream(p)
                .iter()
                .filter(|e| e.kind == "nonconformance")
                .count() as u64
        })
        .sum();
    assert_eq!(on_streams, n);

    // DO-365 levels: per party and level, the alerts on its stream, and when the designed
    // encounter first reached the level.
    let (head, lines) = section(&text, "DO-365 levels (");
    assert!(head.contains("alerter DO_365B_no_SUM"), "{head}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let mut reached = 0;
    for l in &lines {
        let mut words = l.split_whitespace();
        let party = words.next().unwrap();
        let events = stream(party);
        let rest = l.trim_start()[party.len()..].trim();
        for cell in rest.split(", ") {
            let (level, tail) = cell.split_once(' ').unwrap();
            let (count, first) = tail.split_once(" (").unwrap();
            let alerts: Vec<Value> = events
                .iter()
                .filter(|e| e.kind == "alert")
                .map(|e| serde_json::from_str::<Value>(&e.body).unwrap())
                .filter(|a| (a["kind"] == "new" || a["kind"] == "level") && a["level"] == level)
                .collect();
            assert_eq!(count.parse::<usize>().unwrap(), alerts.len(), "{l}");
            let designed = alerts.iter().find(|a| {
                let mut ids = [&a["own"]["track_id"], &a["other"]["track_id"]]
                    .map(|v| v.as_str().unwrap_or_default().to_string());
                ids.sort();
                ids == ["coalition-01", "russia-01"]
            });
            match designed {
                Some(a) => {
                    let t = (a["created_unix_ms"].as_i64().unwrap() - start_ms) / 1000;
                    assert_eq!(first, format!("first t+{t} s)"), "{l}");
                    reached += 1;
                }
                None => assert_eq!(first, "not reached)", "{l}"),
            }
        }
    }
    // Built to pass through every level, on both sides.
    assert_eq!(reached, 6, "{lines:?}");
}
