//! The working group's report over two weeks of record, opened in real Chromium: the demo runs
//! fourteen days on its virtual clock (`demo --days 14`), its record is exported, and the JSON
//! report's figures, week by week, equal counts taken from the export by a reader that knows
//! only the export format (`support/counts.rs`). The HTML page of the same record, loaded by
//! Debian's `chromium` (headless) from the file, has its DOM as the browser built it read back
//! and its tables compared cell by cell with the JSON. The charts are in the page; a screenshot
//! goes to `target/console-artefacts/report.png`.
//!
//! Needs `chromium` (or `DECONFLICT_CHROMIUM`); `scripts/test` installs it. Without it the test
//! says so and returns, unless `DECONFLICT_REQUIRE_PEERS=1` (as in CI): then it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
#[path = "support/counts.rs"]
mod counts;

use common::{BIN, TempDir};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn chromium() -> Option<PathBuf> {
    let c = std::env::var_os("DECONFLICT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    c.exists().then_some(c)
}

const FLAGS: [&str; 6] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
];

/// The page's DOM, as Chromium built it from the file.
fn dom(chromium: &Path, page: &Path, home: &Path) -> String {
    let o = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", home.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Text of `html` without tags, entities of the report decoded, whitespace trimmed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .trim()
        .to_string()
}

/// The rows of data cells of the table in the section titled `title`.
fn table(dom: &str, title: &str) -> Vec<Vec<String>> {
    let h2 = format!("<h2>{title}</h2>");
    let start = dom
        .find(&h2)
        .unwrap_or_else(|| panic!("no section {title:?} in the page"));
    let section = &dom[start..];
    let section = &section[..section.find("</section>").unwrap()];
    section
        .split("<tr>")
        .skip(1)
        .filter(|r| r.contains("<td>"))
        .map(|r| {
            r.split("<td>")
                .skip(1)
                .map(|c| text(&c[..c.find("</td>").unwrap()]))
                .collect()
        })
        .collect()
}

/// The cells of one table row, as strings.
fn cells(values: &[&Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect()
}

/// The record of two weeks (`demo --days 14`) is counted, independently, as the report counts.
fn two_weeks_are_counted(report: &Value, export: &Path) {
    let weeks = report["weeks"].as_array().unwrap();
    // 2017-04-12 (a Wednesday) to 2017-04-26: three ISO weeks.
    assert_eq!(weeks.len(), 3, "{}", report["weeks"]);
    let text = std::fs::read_to_string(export).unwrap();
    let expected = counts::count(&text, &report["deadlines"]);
    assert_eq!(counts::from_report(report), expected);
    // Each part of the comparison has something to compare in each full week, or it proves
    // little: link tests, acknowledgements late and on time, alerts, withdrawals (some late),
    // incidents agreed and disputed.
    for w in &weeks[..2] {
        let week = w["start_unix_ms"].as_u64().unwrap();
        let in_week = |k: &(u64, String)| k.0 == week;
        assert!(expected.link_tests.keys().filter(|k| in_week(k)).count() == 2);
        assert!(expected.alerts.keys().any(in_week), "alerts in {week}");
        assert!(
            expected.withdrawn.keys().any(in_week),
            "withdrawals in {week}"
        );
        let acks: Vec<_> = expected.acks.iter().filter(|(k, _)| k.0 == week).collect();
        assert!(acks.iter().any(|(_, v)| v.1 < v.0), "late acks in {week}");
        assert!(acks.iter().any(|(_, v)| v.1 > 0), "acks on time in {week}");
    }
    let late_link_tests = expected.link_tests.values().filter(|v| v.1 < v.0).count();
    assert!(late_link_tests > 0, "{:?}", expected.link_tests);
    let withdrawn_late: u64 = weeks
        .iter()
        .flat_map(|w| w["parties"].as_array().unwrap())
        .map(|p| p["withdrawn_late"].as_u64().unwrap())
        .sum();
    assert!(withdrawn_late > 0);
    let (agreed, disputed) = expected
        .incidents
        .values()
        .fold((0, 0), |(a, d), v| (a + v.1, d + v.2));
    assert_eq!((agreed, disputed), (1, 2), "{:?}", expected.incidents);
}

#[test]
fn two_weeks_of_record_open_in_chromium_with_the_figures_counted_from_the_export() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("DECONFLICT_REQUIRE_PEERS").is_none(),
            "chromium is required (DECONFLICT_REQUIRE_PEERS is set)"
        );
        eprintln!("report_browser: no chromium (set DECONFLICT_CHROMIUM): not run");
        return;
    };
    let tmp = TempDir::new("report-browser");
    let data = tmp.0.join("data");
    let o = run(&["demo", "--days", "14", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(summary.contains("Days 2–14 of duty"), "{summary}");
    let export = tmp.0.join("log.export");
    let o = run(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = tmp.0.join("report.json");
    let html = tmp.0.join("report.html");
    let html_ru = tmp.0.join("report-ru.html");
    for (out, format, lang) in [
        (&json, "json", "en"),
        (&html, "html", "en"),
        (&html_ru, "html", "ru"),
    ] {
        let o = run(&[
            "report",
            "--data-dir",
            s(&data),
            "--format",
            format,
            "--lang",
            lang,
            "--out",
            s(out),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    two_weeks_are_counted(&report, &export);
    let weeks = report["weeks"].as_array().unwrap();
    let home = tmp.0.join("chromium-home");

    let page = dom(&chromium, &html, &home);
    // The charts are drawn in the page (inline SVG, nothing fetched).
    assert!(page.matches("<svg").count() >= 2, "no charts in the page");
    for fetch in ["src=\"http", "href=\"http", "url(http", "<script"] {
        assert!(
            !page.contains(fetch),
            "the page fetches or runs something: {fetch}"
        );
    }

    // Incidents: filed, agreed, disputed, not assessed, then agreed by category A–E.
    let rows = table(&page, "Incidents");
    assert_eq!(rows.len(), weeks.len());
    for (row, w) in rows.iter().zip(weeks) {
        let i = &w["incidents"];
        let mut expected = vec![
            w["week_start"].as_str().unwrap().to_string(),
            i["filed"].to_string(),
            i["agreed"].to_string(),
            i["disputed"].to_string(),
            i["not_assessed"].to_string(),
        ];
        for c in ["A", "B", "C", "D", "E"] {
            expected.push(i["agreed_by_category"][c].as_u64().unwrap_or(0).to_string());
        }
        assert_eq!(row, &expected);
    }
    assert_eq!(
        rows[0][3], "1",
        "the first day's incident is disputed: {rows:?}"
    );

    // Acknowledgements: one row per week, party and kind.
    let rows = table(&page, "Acknowledgements");
    let expected: Vec<Vec<String>> = weeks
        .iter()
        .flat_map(|w| {
            w["acknowledgements"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |a| {
                    let mut r = cells(&[
                        &w["week_start"],
                        &a["party"],
                        &a["kind"],
                        &a["due"],
                        &a["on_time"],
                        &a["late"],
                        &a["unanswered"],
                    ]);
                    // Median and 95th percentile, in seconds to a tenth.
                    for q in ["median_ms", "p95_ms"] {
                        r.push(a[q].as_u64().map_or("–".into(), |ms| {
                            format!("{}.{} s", ms / 1000, ms % 1000 / 100)
                        }));
                    }
                    r
                })
        })
        .collect();
    assert!(expected.len() > 4);
    assert_eq!(rows, expected);

    // Withdrawals, nonconformances and geography events: one row per week and party.
    let rows = table(
        &page,
        "Notifications withdrawn, nonconformances and geography events",
    );
    let expected: Vec<Vec<String>> = weeks
        .iter()
        .flat_map(|w| {
            w["parties"].as_array().unwrap().iter().map(move |p| {
                cells(&[
                    &w["week_start"],
                    &p["party"],
                    &p["withdrawn"],
                    &p["withdrawn_late"],
                    &p["withdrawn_undetermined"],
                    &p["nonconformances"],
                    &p["geography_events"],
                ])
            })
        })
        .collect();
    assert_eq!(rows, expected);

    // Link tests: one row per week and party.
    let rows = table(&page, "Link tests");
    let expected: Vec<Vec<String>> = weeks
        .iter()
        .flat_map(|w| {
            w["link_tests"].as_array().unwrap().iter().map(move |l| {
                vec![
                    w["week_start"].as_str().unwrap().to_string(),
                    l["party"].as_str().unwrap().to_string(),
                    l["sent"].to_string(),
                    l["answered_in_time"].to_string(),
                ]
            })
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(rows, expected);

    // Alerts by level, with their count.
    let rows = table(&page, "Alerts");
    let expected: Vec<(String, String)> = weeks
        .iter()
        .flat_map(|w| {
            w["alerts"].as_array().unwrap().iter().map(|a| {
                (
                    a["level"].as_str().unwrap().to_string(),
                    a["count"].to_string(),
                )
            })
        })
        .collect();
    let shown: Vec<(String, String)> = rows.iter().map(|r| (r[2].clone(), r[3].clone())).collect();
    assert_eq!(shown, expected);

    // The Russian page: the same figures under Russian titles.
    let page_ru = dom(&chromium, &html_ru, &home);
    assert!(page_ru.contains("lang=\"ru\""));
    let rows_ru = table(&page_ru, "Инциденты");
    assert_eq!(rows_ru, table(&page, "Incidents"));

    // A screenshot of the page as printed to screen, kept with the console's.
    let artefacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let o = Command::new(&chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", home.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,2400")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
}
