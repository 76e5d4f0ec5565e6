//! `deconflict log open` over the record the demo leaves: every committed field is opened by
//! the service's openings file, and each value shown opens the very commitment of that entry and
//! field; without some openings those fields stay sealed; a damaged openings line stops it,
//! naming the line.

use std::path::Path;
use std::process::{Command, Output};

use deconflict_log::{FieldValue, Opening, SignedEntry};

mod common;

use common::{BIN, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every committed field of the export: (entry index, field name, commitment).
fn commitments(export: &Path) -> Vec<(u64, String, deconflict_log::Hash)> {
    let text = std::fs::read_to_string(export).unwrap();
    let mut out = Vec::new();
    let entries = text.lines().filter(|l| l.starts_with(r#"{"entry":"#));
    for (i, l) in entries.enumerate() {
        let e = SignedEntry::from_bytes(l.as_bytes()).unwrap();
        if let Some(fields) = e.entry().body().fields() {
            for (name, v) in fields.iter() {
                if let FieldValue::Commitment(c) = v {
                    out.push((i as u64, name.to_string(), *c));
                }
            }
        }
    }
    out
}

#[test]
fn open_shows_each_committed_value_and_only_what_the_openings_open() {
    let tmp = TempDir::new("log-open");
    let data = tmp.0.join("data");
    let o = run(&["demo", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let export = tmp.0.join("log.export");
    let o = run(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);
    assert!(o.status.success());
    let committed = commitments(&export);
    assert!(
        committed.len() >= 4,
        "the demo's undisclosed fields are committed: {committed:?}"
    );
    let openings = data.join("log-openings.jsonl");
    let salts: Vec<Opening> = std::fs::read_to_string(&openings)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_value(
                serde_json::from_str::<serde_json::Value>(l).unwrap()["opening"].clone(),
            )
            .unwrap()
        })
        .collect();

    let open = |openings: &Path| {
        run(&[
            "log",
            "open",
            s(&export),
            "--openings",
            s(openings),
            "--json",
        ])
    };
    let o = open(&openings);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), committed.len());
    for (line, (i, name, c)) in lines.iter().zip(&committed) {
        assert_eq!(
            (line["entry"].as_u64(), line["field"].as_str()),
            (Some(*i), Some(name.as_str()))
        );
        // The value shown opens this entry's commitment with one of the salts kept.
        let value: FieldValue =
            serde_json::from_value(line["value"].clone()).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            salts.iter().any(|o| Opening {
                salt: o.salt,
                value: value.clone()
            }
            .verify(c)
            .is_ok()),
            "{line} does not open entry {i}'s {name}"
        );
    }

    // Only every other opening given: the others stay sealed, and nothing else changes.
    let half = tmp.0.join("half.jsonl");
    let all = std::fs::read_to_string(&openings).unwrap();
    let kept: Vec<&str> = all.lines().step_by(2).collect();
    std::fs::write(&half, kept.join("\n") + "\n").unwrap();
    let o = open(&half);
    assert!(o.status.success());
    let sealed = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains(r#""sealed":true"#))
        .count();
    assert_eq!(sealed, committed.len() - kept.len());

    // A value changed in an opening, or a line that is not one: exit 1 naming the line.
    let mut damaged: Vec<String> = std::fs::read_to_string(&openings)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    damaged[1] = damaged[1]
        .replacen(r#""value":{"int":"#, r#""value":{"int":9"#, 1)
        .replacen(r#""value":{"text":""#, r#""value":{"text":"X"#, 1);
    for (bad, says) in [
        (damaged.join("\n"), "line 2: the opening hashes to"),
        ("{\"commitment\":\"00\"}\n".to_string(), "line 1:"),
    ] {
        let file = tmp.0.join("bad.jsonl");
        std::fs::write(&file, bad).unwrap();
        let o = open(&file);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
    }
}

/// The service rotates its openings file past a size bound (`log-openings.<N>.jsonl`); `log
/// open` and the start-up binding check (`verify --data-dir`, the same check `serve` runs) read
/// the rotated files too, so nothing opened before a rotation is lost.
#[test]
fn rotated_openings_files_are_read_by_log_open_and_the_binding_check() {
    let tmp = TempDir::new("log-open-rotated");
    let data = tmp.0.join("data");
    let o = run(&["demo", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let export = tmp.0.join("log.export");
    let o = run(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);
    assert!(o.status.success());
    let live = data.join("log-openings.jsonl");
    let verify = || {
        let o = run(&["verify", "--data-dir", s(&data)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The export it makes has a fresh temporary name each time.
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.contains("deconflict-verify-"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = verify();
    let open = || {
        let o = run(&["log", "open", s(&export), "--openings", s(&live)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The summary is on stderr.
        let text = String::from_utf8_lossy(&o.stderr).to_string();
        text.lines().last().unwrap_or_default().to_string()
    };
    let summary = open();
    assert!(summary.contains(" 0 still sealed"), "{summary}");

    // As the service leaves it after two rotations: the oldest lines in .1, then .2, the newest
    // in the live file.
    let text = std::fs::read_to_string(&live).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "{lines:?}");
    let third = lines.len() / 3;
    let part = |l: &[&str]| l.iter().map(|l| format!("{l}\n")).collect::<String>();
    std::fs::write(data.join("log-openings.1.jsonl"), part(&lines[..third])).unwrap();
    std::fs::write(
        data.join("log-openings.2.jsonl"),
        part(&lines[third..2 * third]),
    )
    .unwrap();
    std::fs::write(&live, part(&lines[2 * third..])).unwrap();
    assert_eq!(
        open(),
        summary,
        "the same fields opened across the rotated files"
    );
    assert_eq!(verify(), before);

    // Without the rotated files the same openings are missing: they are really read.
    std::fs::remove_file(data.join("log-openings.1.jsonl")).unwrap();
    let fewer = open();
    assert!(!fewer.contains(" 0 still sealed"), "{fewer}");
}
