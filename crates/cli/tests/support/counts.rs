//! An independent reader of an exported record: it knows only the export format (plain JSON
//! lines, not the log's types) and the report's documented definitions, and counts per week
//! (weeks start on Monday 00:00 UTC) what the working group's report must show.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const DAY_MS: u64 = 86_400_000;

/// Monday 00:00 UTC of the week holding `t_ms` (1970-01-01 was a Thursday).
pub fn week_of(t_ms: u64) -> u64 {
    let day = t_ms / DAY_MS;
    (day - (day + 3) % 7) * DAY_MS
}

/// What the reader counts, keyed by the week's start (UNIX ms).
#[derive(Debug, Default, PartialEq)]
pub struct Counts {
    /// (week, party, kind) → (due, on time, unanswered).
    pub acks: BTreeMap<(u64, String, String), (u64, u64, u64)>,
    /// (week, party) → (link tests sent, answered in time).
    pub link_tests: BTreeMap<(u64, String), (u64, u64)>,
    /// (week, party) → withdrawals.
    pub withdrawn: BTreeMap<(u64, String), u64>,
    /// (week, level) → alerts.
    pub alerts: BTreeMap<(u64, String), u64>,
    /// (week, geography / nonconformance) → events.
    pub events: BTreeMap<(u64, String), u64>,
    /// week → (filed, agreed, disputed, not assessed).
    pub incidents: BTreeMap<u64, (u64, u64, u64, u64)>,
}

fn field_text<'a>(fields: &'a Value, name: &str) -> Option<&'a str> {
    fields.get(name)?.get("text")?.as_str()
}

/// One incident as the reader folds it: its first entry's time and each party's latest view.
#[derive(Default)]
struct Incident {
    first_ms: u64,
    views: BTreeMap<String, String>,
}

/// Reads the export line by line: a header with `keys` and `log`, then entries
/// `{"entry":{"author","body":{"<kind>":{…}},"time_ms"}}`. `deadlines` is the report's
/// `deadlines` object (per-kind acknowledgement deadlines and the link tests' reply deadline).
pub fn count(export: &str, deadlines: &Value) -> Counts {
    let mut lines = export.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let log = header["log"].as_str().unwrap();
    let mut messages = Vec::new();
    let mut acks: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut incidents: BTreeMap<String, Incident> = BTreeMap::new();
    // Authors of assessments (working-group members) and of anything else (parties).
    let (mut assessors, mut others) = (BTreeSet::new(), BTreeSet::new());
    let mut c = Counts::default();
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let Some(e) = v.get("entry") else { continue };
        let author = e["author"].as_str().unwrap().to_string();
        let t = e["time_ms"].as_u64().unwrap();
        let week = week_of(t);
        let (kind, body) = e["body"].as_object().unwrap().iter().next().unwrap();
        let assessment =
            kind == "incident_report" && field_text(&body["fields"], "risk_category").is_some();
        if assessment {
            assessors.insert(author.clone());
        } else {
            others.insert(author.clone());
        }
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
            "notification_withdrawal" => *c.withdrawn.entry((week, author)).or_default() += 1,
            "alert" => {
                // Geography and nonconformance events are reported per party, not as alerts.
                let level = body["level"].as_str().unwrap().to_string();
                let into = if level == "geography" || level == "nonconformance" {
                    &mut c.events
                } else {
                    &mut c.alerts
                };
                *into.entry((week, level)).or_default() += 1
            }
            "incident_report" => {
                let id = body["incident_id"].as_str().unwrap().to_string();
                let i = incidents.entry(id).or_insert(Incident {
                    first_ms: t,
                    views: BTreeMap::new(),
                });
                i.first_ms = i.first_ms.min(t);
                let f = &body["fields"];
                if let Some(category) = field_text(f, "risk_category")
                    && ["A", "B", "C", "D", "E"].contains(&category)
                {
                    let of = field_text(f, "assessed_for").map_or(author, str::to_string);
                    i.views.insert(of, category.to_string());
                }
            }
            _ => {}
        }
    }
    let parties: BTreeSet<String> = header["keys"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != log && (!assessors.contains(*k) || others.contains(*k)))
        .cloned()
        .collect();
    for (id, kind, to, t) in messages {
        if !parties.contains(&to) {
            continue;
        }
        let week = week_of(t);
        let ack = acks.get(&(to.clone(), id)).copied();
        if kind == "link_test" {
            let d = deadlines["link_test_reply_ms"].as_u64().unwrap();
            let e = c.link_tests.entry((week, to)).or_default();
            e.0 += 1;
            e.1 += u64::from(ack.is_some_and(|a| a < t + d));
            continue;
        }
        let Some(d) = deadlines["ack_ms"][&kind].as_u64() else {
            continue;
        };
        let e = c.acks.entry((week, to, kind)).or_default();
        e.0 += 1;
        e.1 += u64::from(ack.is_some_and(|a| a < t + d));
        e.2 += u64::from(ack.is_none());
    }
    for i in incidents.values() {
        let e = c.incidents.entry(week_of(i.first_ms)).or_default();
        e.0 += 1;
        let categories: BTreeSet<&String> = i.views.values().collect();
        if categories.len() > 1 {
            e.2 += 1;
        } else if !categories.is_empty() && parties.iter().all(|p| i.views.contains_key(p)) {
            e.1 += 1;
        } else {
            e.3 += 1;
        }
    }
    c
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// The same figures as the report's JSON gives them, week by week.
pub fn from_report(report: &Value) -> Counts {
    let mut c = Counts::default();
    for w in report["weeks"].as_array().unwrap() {
        let week = u(&w["start_unix_ms"]);
        for a in w["acknowledgements"].as_array().unwrap() {
            let e = c
                .acks
                .entry((week, s(&a["party"]), s(&a["kind"])))
                .or_default();
            e.0 += u(&a["due"]);
            e.1 += u(&a["on_time"]);
            e.2 += u(&a["unanswered"]);
        }
        for l in w["link_tests"].as_array().unwrap() {
            let e = c.link_tests.entry((week, s(&l["party"]))).or_default();
            e.0 += u(&l["sent"]);
            e.1 += u(&l["answered_in_time"]);
        }
        for p in w["parties"].as_array().unwrap() {
            for (field, kind) in [
                ("geography_events", "geography"),
                ("nonconformances", "nonconformance"),
            ] {
                let n = u(&p[field]);
                if n > 0 {
                    *c.events.entry((week, kind.into())).or_default() += n;
                }
            }
            let n = u(&p["withdrawn"]);
            if n > 0 {
                *c.withdrawn.entry((week, s(&p["party"]))).or_default() += n;
            }
        }
        for a in w["alerts"].as_array().unwrap() {
            *c.alerts.entry((week, s(&a["level"]))).or_default() += u(&a["count"]);
        }
        let i = &w["incidents"];
        if u(&i["filed"]) > 0 {
            c.incidents.insert(
                week,
                (
                    u(&i["filed"]),
                    u(&i["agreed"]),
                    u(&i["disputed"]),
                    u(&i["not_assessed"]),
                ),
            );
        }
    }
    c
}
