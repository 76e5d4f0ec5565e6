//! The figures of a small record whose every figure is worked out by hand below; the window;
//! the export's verification (a changed byte, or a key the reader pins that the export
//! contradicts, gives no report); random bytes never panic.

use deconflict_log::export::{EndCounts, end_line, header_line};
use deconflict_log::field::Salt;
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, SignedEntry, SignedTreeHead, SigningKey,
    Text, Tree, TreeHead, VerifyOptions,
};
use deconflict_report::figures::{DAY_MS, HOUR_MS, WEEK_MS};
use deconflict_report::{
    Deadlines, Format, Lang, Options, Report, ReportError, compute, read_export, render,
};
use proptest::prelude::*;

/// Monday 2026-11-02 00:00 UTC.
const T0: u64 = 1_793_577_600_000;
const S: u64 = 1000;

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&[name.as_bytes()[0]; 32])
}

/// Entries in the order written, each with its author.
struct Log(Vec<(String, Entry)>);

impl Log {
    fn add(&mut self, author: &str, time_ms: u64, body: EntryBody) {
        self.0.push((
            author.into(),
            Entry::new(id(author), time_ms, body).unwrap(),
        ));
    }

    fn message(&mut self, id_: &str, kind: &str, from: &str, to: &str, at: u64) {
        let fields = Fields::new()
            .with("kind", FieldValue::text(kind).unwrap())
            .unwrap()
            .with("from", FieldValue::text(from).unwrap())
            .unwrap()
            .with("to", FieldValue::text(to).unwrap())
            .unwrap();
        self.add(
            from,
            at,
            EntryBody::LineMessage {
                fields,
                message_id: text(id_),
            },
        );
    }

    fn ack(&mut self, party: &str, message: &str, at: u64) {
        self.add(
            party,
            at,
            EntryBody::Acknowledgement {
                acknowledges: text(message),
                fields: Fields::new(),
            },
        );
    }

    fn notification(&mut self, party: &str, nid: &str, at: u64, window: Option<(u64, u64)>) {
        let mut fields = Fields::new()
            .with("party", FieldValue::text(party).unwrap())
            .unwrap()
            .with("aircraft_count", FieldValue::int(2).unwrap())
            .unwrap();
        match window {
            Some((s, e)) => {
                fields
                    .insert("start_unix_ms", FieldValue::int(s as i64).unwrap())
                    .unwrap();
                fields
                    .insert("end_unix_ms", FieldValue::int(e as i64).unwrap())
                    .unwrap();
            }
            None => {
                let (c, _) =
                    FieldValue::commit(FieldValue::int(1).unwrap(), Salt([9; 32])).unwrap();
                fields.insert("start_unix_ms", c).unwrap();
            }
        }
        self.add(
            party,
            at,
            EntryBody::Notification {
                fields,
                notification_id: text(nid),
            },
        );
    }

    fn withdraw(&mut self, party: &str, nid: &str, at: u64) {
        self.add(
            party,
            at,
            EntryBody::NotificationWithdrawal {
                notification_id: text(nid),
                reason: None,
            },
        );
    }

    fn alert(&mut self, aid: &str, level: &str, fields: Fields, party: &str, at: u64) {
        self.add(
            "service",
            at,
            EntryBody::Alert {
                alert_id: text(aid),
                fields,
                level: text(level),
                parties: vec![id(party)],
            },
        );
    }

    fn incident(&mut self, author: &str, iid: &str, category: Option<&str>, at: u64) {
        let mut fields = Fields::new();
        if let Some(c) = category {
            fields
                .insert("risk_category", FieldValue::text(c).unwrap())
                .unwrap();
        }
        self.add(
            author,
            at,
            EntryBody::IncidentReport {
                fields,
                incident_id: text(iid),
            },
        );
    }

    /// A working-group member's assessment on `party`'s behalf.
    fn assessment(&mut self, member: &str, party: &str, iid: &str, category: &str, at: u64) {
        let fields = Fields::new()
            .with("risk_category", FieldValue::text(category).unwrap())
            .unwrap()
            .with("assessed_for", FieldValue::text(party).unwrap())
            .unwrap();
        self.add(
            member,
            at,
            EntryBody::IncidentReport {
                fields,
                incident_id: text(iid),
            },
        );
    }

    /// The export, as the log file writes it: header, entries, one tree head, end record.
    fn export(&self) -> Vec<u8> {
        let mut keys = KeyRing::new();
        let authors = self.0.iter().map(|(a, _)| a.as_str());
        let names: std::collections::BTreeSet<&str> = ["service", "alpha", "bravo"]
            .into_iter()
            .chain(authors)
            .collect();
        for p in names {
            keys.insert(id(p), key(p).verifying_key()).unwrap();
        }
        let mut out = header_line(&id("service"), &keys);
        out.push(b'\n');
        let mut tree = Tree::new();
        for (author, e) in &self.0 {
            let s = SignedEntry::sign(e.clone(), &key(author)).unwrap();
            tree.push(s.as_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
        let th = TreeHead::new(id("service"), tree.len(), tree.root(), T0 + 5 * WEEK_MS).unwrap();
        out.extend_from_slice(SignedTreeHead::sign(th, &key("service")).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&end_line(EndCounts {
            entries: tree.len(),
            tree_heads: 1,
        }));
        out.push(b'\n');
        out
    }
}

/// Three weeks: the first with everything, the second all on time, the third empty.
fn log() -> Log {
    let mut l = Log(Vec::new());
    let h = HOUR_MS;
    // Week 0. Link tests: alpha answers in 60 s (in time, 300 s), bravo in 400 s (late).
    l.message("lt-1", "link_test", "service", "alpha", T0 + h);
    l.message("lt-2", "link_test", "service", "bravo", T0 + h);
    l.ack("alpha", "lt-1", T0 + h + 60 * S);
    l.ack("bravo", "lt-2", T0 + h + 400 * S);
    // Strike warnings to alpha (deadline 120 s): 10 s, 200 s, never.
    l.message("sw-1", "strike_warning", "bravo", "alpha", T0 + 2 * h);
    l.ack("alpha", "sw-1", T0 + 2 * h + 10 * S);
    l.message("sw-2", "strike_warning", "bravo", "alpha", T0 + 3 * h);
    l.ack("alpha", "sw-2", T0 + 3 * h + 200 * S);
    // bravo acknowledging alpha's message is not alpha acknowledging it.
    l.ack("bravo", "sw-2", T0 + 3 * h + 5 * S);
    l.message("sw-3", "strike_warning", "bravo", "alpha", T0 + 4 * h);
    // Free text needs no acknowledgement; a message to the service is nobody's duty.
    l.message("ft-1", "free_text", "alpha", "bravo", T0 + 4 * h);
    l.message("sw-4", "strike_warning", "alpha", "service", T0 + 4 * h);
    // Notifications: 2 aircraft × 2 h; 2 × 1 h withdrawn 30 min after it began (late, still
    // flown); bravo's with a sealed window withdrawn (undetermined, no hours).
    l.notification("alpha", "n-1", T0, Some((T0 + DAY_MS, T0 + DAY_MS + 2 * h)));
    l.notification(
        "alpha",
        "n-2",
        T0,
        Some((T0 + 2 * DAY_MS, T0 + 2 * DAY_MS + h)),
    );
    l.withdraw("alpha", "n-2", T0 + 2 * DAY_MS + h / 2);
    l.notification("bravo", "n-3", T0, None);
    l.withdraw("bravo", "n-3", T0 + 3 * DAY_MS);
    // A notification withdrawn before it began: no flight hours, not late.
    l.notification(
        "bravo",
        "n-4",
        T0,
        Some((T0 + 4 * DAY_MS, T0 + 4 * DAY_MS + 10 * h)),
    );
    l.withdraw("bravo", "n-4", T0 + 3 * DAY_MS);
    // Alerts: one warning, two cautions; a geography event and a nonconformance.
    l.alert("a-1", "warning", Fields::new(), "alpha", T0 + 5 * h);
    l.alert("a-2", "caution", Fields::new(), "alpha", T0 + 5 * h);
    l.alert("a-3", "caution", Fields::new(), "bravo", T0 + 6 * h);
    l.alert("g-1", "geography", Fields::new(), "bravo", T0 + 6 * h);
    let nc = Fields::new()
        .with("kind", FieldValue::text("nonconformance").unwrap())
        .unwrap()
        .with("party", FieldValue::text("alpha").unwrap())
        .unwrap();
    l.alert("c-1", "advisory", nc, "bravo", T0 + 6 * h);
    // Incidents: I-1 agreed B (alpha first said C, then B), I-2 disputed, I-3 only filed.
    l.incident("alpha", "I-1", None, T0 + 7 * h);
    l.incident("alpha", "I-1", Some("C"), T0 + 8 * h);
    l.incident("alpha", "I-1", Some("B"), T0 + 9 * h);
    l.incident("bravo", "I-1", Some("B"), T0 + 9 * h);
    l.incident("alpha", "I-2", Some("C"), T0 + 9 * h);
    l.incident("bravo", "I-2", Some("D"), T0 + 9 * h);
    l.incident("bravo", "I-3", Some("Z"), T0 + 9 * h);
    // Week 1: everything on time.
    let w1 = T0 + WEEK_MS;
    l.message("lt-3", "link_test", "service", "alpha", w1 + h);
    l.ack("alpha", "lt-3", w1 + h + 5 * S);
    l.message("lt-4", "link_test", "service", "bravo", w1 + h);
    l.ack("bravo", "lt-4", w1 + h + 5 * S);
    l.message("sw-5", "strike_warning", "alpha", "bravo", w1 + 2 * h);
    l.ack("bravo", "sw-5", w1 + 2 * h + 30 * S);
    // Week 2 holds only this, outside a window ending with week 1 but inside one that doesn't.
    l.alert(
        "a-4",
        "warning",
        Fields::new(),
        "alpha",
        T0 + 2 * WEEK_MS + h,
    );
    l
}

fn options(from: Option<u64>, to: Option<u64>) -> Options {
    Options {
        from_unix_ms: from,
        to_unix_ms: to,
        deadlines: Deadlines::line_defaults(),
    }
}

fn report(from: Option<u64>, to: Option<u64>) -> Report {
    let facts = read_export(&log().export(), VerifyOptions::default()).unwrap();
    compute(&facts, &options(from, to)).unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn every_figure_of_the_first_week_is_the_one_worked_out_by_hand() {
    let r = report(Some(T0), Some(T0 + 3 * WEEK_MS));
    assert_eq!(r.parties, ["alpha", "bravo"]);
    assert_eq!(r.weeks.len(), 3);
    let w = &r.weeks[0];
    assert_eq!(w.week_start, "2026-11-02");
    assert_eq!(w.iso_week, "2026-W45");

    assert_eq!(w.acknowledgements.len(), 1, "{:?}", w.acknowledgements);
    let a = &w.acknowledgements[0];
    assert_eq!(
        (a.party.as_str(), a.kind.as_str()),
        ("alpha", "strike_warning")
    );
    assert_eq!((a.due, a.on_time, a.late, a.unanswered), (3, 1, 1, 1));
    // Nearest rank over [10 s, 200 s]: the median is the first, the 95th the second.
    assert_eq!((a.median_ms, a.p95_ms), (Some(10 * S), Some(200 * S)));

    let lt: Vec<_> = w
        .link_tests
        .iter()
        .map(|l| (l.party.as_str(), l.sent, l.answered_in_time))
        .collect();
    assert_eq!(lt, [("alpha", 1, 1), ("bravo", 1, 0)]);

    let p: Vec<_> = w
        .parties
        .iter()
        .map(|p| {
            (
                p.party.as_str(),
                p.withdrawn,
                p.withdrawn_late,
                p.withdrawn_undetermined,
                p.nonconformances,
                p.geography_events,
            )
        })
        .collect();
    assert_eq!(p, [("alpha", 1, 1, 0, 1, 0), ("bravo", 2, 0, 1, 0, 1)]);

    // 2 aircraft × 2 h + 2 aircraft × 1 h.
    assert!((w.flight_hours - 6.0).abs() < 1e-9, "{}", w.flight_hours);
    let alerts: Vec<_> = w
        .alerts
        .iter()
        .map(|a| (a.level.as_str(), a.count))
        .collect();
    assert_eq!(alerts, [("caution", 2), ("warning", 1)]);
    assert!(close(w.alerts[0].per_1000_flight_hours, 2000.0 / 6.0));
    assert!(close(w.alerts[1].per_1000_flight_hours, 1000.0 / 6.0));

    let i = &w.incidents;
    assert_eq!(
        (i.filed, i.agreed, i.disputed, i.not_assessed),
        (3, 1, 1, 1)
    );
    assert_eq!(
        i.agreed_by_category.iter().collect::<Vec<_>>(),
        [(&"B".to_string(), &1)]
    );

    // Shares: acks 1/3, link tests 1/2, withdrawals 1/2 in time (n-4 in time, n-2 late; n-3
    // undetermined), incidents 1/2.
    let c = &w.trust_components;
    assert!(close(c.acknowledged_on_time, 1.0 / 3.0));
    assert!(close(c.link_tests_answered, 0.5));
    assert!(close(c.withdrawals_in_time, 0.5));
    assert!(close(c.incidents_agreed, 0.5));
    let index0 = 100.0 * (1.0 / 3.0 + 0.5 + 0.5 + 0.5) / 4.0;
    assert!(close(w.trust_index, index0));
    assert_eq!(w.trust_change, None);
}

#[test]
fn a_members_assessment_is_its_partys_view() {
    let mut l = Log(Vec::new());
    let h = HOUR_MS;
    // I-1: each party's member assesses C on its party's behalf: agreed.
    l.incident("alpha", "I-1", None, T0 + h);
    l.assessment("mike", "alpha", "I-1", "C", T0 + 2 * h);
    l.assessment("nina", "bravo", "I-1", "C", T0 + 2 * h);
    // I-2: both members assess on alpha's behalf: bravo gave no view, so it is not agreed.
    l.incident("alpha", "I-2", None, T0 + h);
    l.assessment("mike", "alpha", "I-2", "C", T0 + 2 * h);
    l.assessment("nina", "alpha", "I-2", "C", T0 + 3 * h);
    // I-3: the members differ: disputed.
    l.incident("bravo", "I-3", None, T0 + h);
    l.assessment("mike", "alpha", "I-3", "B", T0 + 2 * h);
    l.assessment("nina", "bravo", "I-3", "D", T0 + 2 * h);
    let facts = read_export(&l.export(), VerifyOptions::default()).unwrap();
    let r = compute(&facts, &options(Some(T0), Some(T0 + WEEK_MS))).unwrap();
    // The members signed only assessments: they are not parties.
    assert_eq!(r.parties, ["alpha", "bravo"]);
    let i = &r.weeks[0].incidents;
    assert_eq!(
        (i.filed, i.agreed, i.disputed, i.not_assessed),
        (3, 1, 1, 1)
    );
    assert_eq!(
        i.agreed_by_category.iter().collect::<Vec<_>>(),
        [(&"C".to_string(), &1)]
    );
}

#[test]
fn the_index_improves_and_its_trend_is_the_slope_over_the_weeks_that_have_one() {
    let r = report(Some(T0), Some(T0 + 3 * WEEK_MS));
    let index0 = 100.0 * (1.0 / 3.0 + 0.5 + 0.5 + 0.5) / 4.0;
    let w1 = &r.weeks[1];
    let a: Vec<_> = w1
        .acknowledgements
        .iter()
        .map(|a| (a.party.as_str(), a.due, a.on_time, a.median_ms))
        .collect();
    assert_eq!(a, [("bravo", 1, 1, Some(30 * S))]);
    assert!(close(w1.trust_index, 100.0));
    assert!(close(w1.trust_change, 100.0 - index0));
    // Week 2 has an alert but nothing the index counts; no flight hours either.
    let w2 = &r.weeks[2];
    assert_eq!(w2.trust_index, None);
    assert_eq!(w2.alerts[0].count, 1);
    assert_eq!(w2.alerts[0].per_1000_flight_hours, None);
    assert!(close(r.trust_trend_per_week, 100.0 - index0));
}

#[test]
fn only_the_window_counts() {
    // Week 1 alone: week 0's messages are out, its acknowledgements too.
    let r = report(Some(T0 + WEEK_MS), Some(T0 + 2 * WEEK_MS));
    assert_eq!(r.weeks.len(), 1);
    assert_eq!(r.weeks[0].week_start, "2026-11-09");
    assert!(r.weeks[0].alerts.is_empty());
    assert_eq!(r.weeks[0].incidents.filed, 0);
    // Without a window the report runs from the first entry to the last.
    let all = report(None, None);
    assert_eq!(all.weeks.len(), 3);
    assert_eq!(all.weeks[2].alerts[0].count, 1);
    // An inverted window is refused.
    let facts = read_export(&log().export(), VerifyOptions::default()).unwrap();
    assert!(matches!(
        compute(&facts, &options(Some(T0 + DAY_MS), Some(T0))),
        Err(ReportError::Window { .. })
    ));
    assert!(matches!(
        compute(&facts, &options(Some(0), Some(T0))),
        Err(ReportError::TooManyWeeks { .. })
    ));
}

#[test]
fn a_changed_byte_or_a_contradicted_pinned_key_gives_no_report() {
    let bytes = log().export();
    // Change one digit of a time in some entry: its signature no longer verifies.
    let at = bytes
        .windows(10)
        .position(|w| w == b"\"time_ms\":")
        .unwrap()
        + 12;
    let mut bad = bytes.clone();
    bad[at] = if bad[at] == b'1' { b'2' } else { b'1' };
    assert!(matches!(
        read_export(&bad, VerifyOptions::default()),
        Err(ReportError::Verify(_))
    ));
    // A reader who pins another key for alpha refuses the export.
    let mut pinned = KeyRing::new();
    pinned
        .insert(
            id("alpha"),
            SigningKey::from_bytes(&[7; 32]).verifying_key(),
        )
        .unwrap();
    pinned
        .insert(id("bravo"), key("bravo").verifying_key())
        .unwrap();
    pinned
        .insert(id("service"), key("service").verifying_key())
        .unwrap();
    let options = VerifyOptions {
        pinned_keys: Some(pinned),
        since: None,
    };
    assert!(matches!(
        read_export(&bytes, options),
        Err(ReportError::Verify(_))
    ));
}

#[test]
fn the_page_is_self_contained_and_speaks_the_language_asked() {
    let r = report(Some(T0), Some(T0 + 3 * WEEK_MS));
    for (lang, title) in [
        (Lang::En, "Working group report"),
        (Lang::Ru, "Отчёт рабочей группы"),
    ] {
        let page = String::from_utf8(render(&r, Format::Html, lang)).unwrap();
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\""),
            "{lang:?}"
        );
        assert!(page.contains(title));
        assert!(page.contains("<svg"));
        assert!(page.trim_end().ends_with("</html>"));
        // Nothing to fetch, nothing to run: the only URL is the SVG namespace.
        assert!(!page.contains("<script"));
        assert_eq!(
            page.matches("http").count(),
            page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        // The formula is in the page itself.
        assert!(page.contains(lang.words().formula.split_whitespace().next().unwrap()));
    }
}

#[test]
fn json_and_csv_carry_the_same_figures() {
    let r = report(Some(T0), Some(T0 + 3 * WEEK_MS));
    let json: serde_json::Value =
        serde_json::from_slice(&render(&r, Format::Json, Lang::En)).unwrap();
    assert_eq!(
        json["weeks"][0]["acknowledgements"][0]["on_time"],
        serde_json::json!(1)
    );
    assert!(json["trust_formula"].as_str().unwrap().contains("100 ×"));
    let csv = String::from_utf8(render(&r, Format::Csv, Lang::En)).unwrap();
    assert!(csv.starts_with("week_start,figure,party,subject,value\n"));
    assert!(csv.contains("2026-11-02,acknowledgements_unanswered,alpha,strike_warning,1\n"));
    assert!(csv.contains("2026-11-02,link_tests_answered_in_time,bravo,,0\n"));
    assert!(csv.contains("2026-11-02,incidents_disputed,,,1\n"));
}

#[test]
fn text_is_escaped_for_html() {
    assert_eq!(
        deconflict_report::render::escape("<b>&\"'"),
        "&lt;b&gt;&amp;&quot;&#39;"
    );
}

proptest! {
    #[test]
    fn random_bytes_are_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(read_export(&bytes, VerifyOptions::default()).is_err());
    }

    #[test]
    fn a_valid_export_with_one_byte_changed_is_refused_or_unchanged(at in 0usize..100_000, to in any::<u8>()) {
        let bytes = log().export();
        let at = at % bytes.len();
        let mut bad = bytes.clone();
        bad[at] = to;
        if bad != bytes {
            prop_assert!(read_export(&bad, VerifyOptions::default()).is_err());
        }
    }
}
