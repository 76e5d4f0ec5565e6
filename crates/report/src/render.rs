//! The report as one HTML page (inline CSS and SVG, no script, nothing fetched; printable), as
//! JSON (the [`Report`] with its formula) or as CSV (one figure per row).

use std::fmt::Write as _;

use crate::figures::{Report, Week, date_text};
use crate::text::{Lang, Words};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// The report as JSON.
    Json,
    /// `week_start,figure,party,subject,value` rows.
    Csv,
}

impl Format {
    /// `html`, `json` or `csv`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// The report in `format`; `lang` chooses the words of the HTML page and of the JSON formula.
pub fn render(report: &Report, format: Format, lang: Lang) -> Vec<u8> {
    match format {
        Format::Html => html(report, lang).into_bytes(),
        Format::Json => json(report, lang),
        Format::Csv => csv(report).into_bytes(),
    }
}

fn json(report: &Report, lang: Lang) -> Vec<u8> {
    let mut v = serde_json::to_value(report)
        .unwrap_or_else(|e| unreachable!("a report always serialises: {e}"));
    if let Some(o) = v.as_object_mut() {
        o.insert("trust_formula".into(), lang.words().formula.into());
    }
    let mut out = serde_json::to_vec_pretty(&v)
        .unwrap_or_else(|e| unreachable!("a JSON value always serialises: {e}"));
    out.push(b'\n');
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv(r: &Report) -> String {
    let mut out = String::from("week_start,figure,party,subject,value\n");
    let mut row = |w: &str, figure: &str, party: &str, subject: &str, value: String| {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            w,
            figure,
            csv_field(party),
            csv_field(subject),
            value
        );
    };
    for w in &r.weeks {
        let ws = w.week_start.as_str();
        for a in &w.acknowledgements {
            for (name, v) in [
                ("acknowledgements_due", a.due.to_string()),
                ("acknowledgements_on_time", a.on_time.to_string()),
                ("acknowledgements_late", a.late.to_string()),
                ("acknowledgements_unanswered", a.unanswered.to_string()),
                ("time_to_acknowledge_median_ms", opt(a.median_ms)),
                ("time_to_acknowledge_p95_ms", opt(a.p95_ms)),
            ] {
                row(ws, name, &a.party, &a.kind, v);
            }
        }
        for l in &w.link_tests {
            row(ws, "link_tests_sent", &l.party, "", l.sent.to_string());
            row(
                ws,
                "link_tests_answered_in_time",
                &l.party,
                "",
                l.answered_in_time.to_string(),
            );
        }
        for p in &w.parties {
            for (name, v) in [
                ("notifications_withdrawn", p.withdrawn),
                ("notifications_withdrawn_late", p.withdrawn_late),
                (
                    "notifications_withdrawn_undetermined",
                    p.withdrawn_undetermined,
                ),
                ("nonconformances", p.nonconformances),
                ("geography_events", p.geography_events),
            ] {
                row(ws, name, &p.party, "", v.to_string());
            }
        }
        row(ws, "flight_hours", "", "", format!("{:.3}", w.flight_hours));
        for a in &w.alerts {
            row(ws, "alerts", "", &a.level, a.count.to_string());
            row(
                ws,
                "alerts_per_1000_flight_hours",
                "",
                &a.level,
                opt(a.per_1000_flight_hours.map(|x| format!("{x:.3}"))),
            );
        }
        let i = &w.incidents;
        row(ws, "incidents_filed", "", "", i.filed.to_string());
        row(ws, "incidents_agreed", "", "", i.agreed.to_string());
        row(ws, "incidents_disputed", "", "", i.disputed.to_string());
        row(
            ws,
            "incidents_not_assessed",
            "",
            "",
            i.not_assessed.to_string(),
        );
        for (c, n) in &i.agreed_by_category {
            row(ws, "incidents_agreed_by_category", "", c, n.to_string());
        }
        row(
            ws,
            "trust_index",
            "",
            "",
            opt(w.trust_index.map(|x| format!("{x:.3}"))),
        );
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(x: Option<f64>, w: &Words) -> String {
    x.map_or_else(|| w.no_data.to_string(), |x| format!("{:.1} %", 100.0 * x))
}

fn secs(ms: Option<u64>) -> String {
    ms.map_or_else(
        || "–".to_string(),
        |ms| format!("{:.1} s", ms as f64 / 1000.0),
    )
}

const STYLE: &str = "body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:2em auto;\
max-width:60em;color:#111;line-height:1.4}h1{margin-bottom:0}h2{border-bottom:1px solid #999;\
margin-top:2em}table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px \
solid #bbb;padding:.2em .5em;text-align:right}th:first-child,td:first-child{text-align:left}\
th{background:#eee}dt{font-weight:bold}dd{margin:0 0 .4em 1em;word-break:break-all}\
svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#333}.muted{color:#555}\
@media print{body{margin:0;max-width:none}section{break-inside:avoid}h2{break-after:avoid}}";

/// Colours for parties in charts (cycled).
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

fn html(r: &Report, lang: Lang) -> String {
    let w = lang.words();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {}–{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        lang.tag(),
        escape(w.title),
        date_text(r.from_unix_ms),
        date_text(r.to_unix_ms.saturating_sub(1)),
    );
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p class=\"muted\">{}</p>\n",
        escape(w.title),
        escape(w.subtitle)
    );
    // Source.
    let _ = write!(
        h,
        "<section>\n<h2>{}</h2>\n<dl>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{} {}, {} {}</dd>\n\
         <dd>{}</dd>\n<dt>{}</dt><dd>{} – {} (UTC)</dd>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n</dl>\n</section>\n",
        escape(w.source),
        escape(w.log),
        escape(&r.log),
        escape(w.tree_head),
        escape(w.size),
        r.tree_size,
        escape(w.root),
        escape(&r.tree_root),
        escape(if r.keys_pinned {
            w.keys_pinned
        } else {
            w.keys_from_export
        }),
        escape(w.window),
        date_text(r.from_unix_ms),
        date_text(r.to_unix_ms.saturating_sub(1)),
        escape(w.parties),
        escape(&r.parties.join(", ")),
        escape(w.deadlines),
        escape(&deadlines_text(r)),
    );
    trust_section(&mut h, r, w);
    acks_section(&mut h, r, w);
    link_tests_section(&mut h, r, w);
    parties_section(&mut h, r, w);
    alerts_section(&mut h, r, w);
    incidents_section(&mut h, r, w);
    let _ = write!(
        h,
        "<section>\n<h2>{}</h2>\n<p>{}</p>\n<ul>\n",
        escape(w.formula_title),
        escape(w.formula)
    );
    for d in w.definitions {
        let _ = writeln!(h, "<li>{}</li>", escape(d));
    }
    h.push_str("</ul>\n</section>\n</body>\n</html>\n");
    h
}

fn deadlines_text(r: &Report) -> String {
    let mut parts: Vec<String> = r
        .deadlines
        .ack_ms
        .iter()
        .map(|(k, ms)| format!("{k} {} s", ms / 1000))
        .collect();
    parts.push(format!(
        "link_test {} s",
        r.deadlines.link_test_reply_ms / 1000
    ));
    format!("{} ({})", parts.join(", "), r.deadlines.source)
}

fn trust_section(h: &mut String, r: &Report, w: &Words) {
    let _ = write!(h, "<section>\n<h2>{}</h2>\n", escape(w.trust));
    let trend = r.trust_trend_per_week.map_or_else(
        || w.no_data.to_string(),
        |s| format!("{s:+.2} {}", w.points_per_week),
    );
    let _ = writeln!(
        h,
        "<p>{}: <strong>{}</strong></p>",
        escape(w.trust_trend),
        escape(&trend)
    );
    h.push_str(&line_chart(r, w));
    let _ = write!(
        h,
        "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
        escape(w.week),
        escape(w.trust),
        escape(w.change),
        escape(w.acks_title),
        escape(w.link_tests_title),
        escape(w.withdrawn),
        escape(w.incidents_title),
    );
    for wk in &r.weeks {
        let c = &wk.trust_components;
        let _ = writeln!(
            h,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            wk.week_start,
            wk.iso_week,
            wk.trust_index
                .map_or_else(|| w.no_data.to_string(), |x| format!("{x:.1}")),
            wk.trust_change
                .map_or_else(|| "–".to_string(), |x| format!("{x:+.1}")),
            pct(c.acknowledged_on_time, w),
            pct(c.link_tests_answered, w),
            pct(c.withdrawals_in_time, w),
            pct(c.incidents_agreed, w),
        );
    }
    h.push_str("</table>\n</section>\n");
}

/// Chart geometry.
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const MARGIN_L: f64 = 40.0;
const MARGIN_B: f64 = 40.0;
const MARGIN_T: f64 = 10.0;

fn x_of(i: usize, n: usize) -> f64 {
    let plot = CHART_W - MARGIN_L - 10.0;
    MARGIN_L + plot * (i as f64 + 0.5) / n.max(1) as f64
}

fn y_of(v: f64) -> f64 {
    let plot = CHART_H - MARGIN_B - MARGIN_T;
    MARGIN_T + plot * (1.0 - v.clamp(0.0, 100.0) / 100.0)
}

/// Axes 0–100 with week labels (every few weeks when there are many).
fn axes(out: &mut String, weeks: &[Week]) {
    for v in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let y = y_of(v);
        let _ = write!(
            out,
            "<line x1=\"{MARGIN_L}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            CHART_W - 10.0,
            MARGIN_L - 4.0,
            y + 4.0
        );
    }
    let n = weeks.len();
    let every = n.div_ceil(8).max(1);
    for (i, wk) in weeks.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x_of(i, n),
                CHART_H - MARGIN_B + 16.0,
                wk.week_start
            );
        }
    }
}

fn line_chart(r: &Report, w: &Words) -> String {
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_W} {CHART_H}\" \
         width=\"{CHART_W}\" height=\"{CHART_H}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        escape(w.trust),
        escape(w.trust)
    );
    axes(&mut s, &r.weeks);
    let n = r.weeks.len();
    let points: Vec<(f64, f64)> = r
        .weeks
        .iter()
        .enumerate()
        .filter_map(|(i, wk)| wk.trust_index.map(|v| (x_of(i, n), y_of(v))))
        .collect();
    if points.len() > 1 {
        let p: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>",
            p.join(" ")
        );
    }
    for (x, y) in &points {
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#1f77b4\"/>"
        );
    }
    s.push_str("</svg>\n");
    s
}

fn acks_section(h: &mut String, r: &Report, w: &Words) {
    let _ = write!(h, "<section>\n<h2>{}</h2>\n", escape(w.acks_title));
    // Chart: share on time per party per week, one bar per party.
    let n = r.weeks.len();
    let parties = &r.parties;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_W} {CHART_H}\" \
         width=\"{CHART_W}\" height=\"{CHART_H}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        escape(w.acks_chart),
        escape(w.acks_chart)
    );
    axes(&mut s, &r.weeks);
    let slot = (CHART_W - MARGIN_L - 10.0) / n.max(1) as f64;
    let bar = (slot * 0.8 / parties.len().max(1) as f64).max(1.0);
    for (i, wk) in r.weeks.iter().enumerate() {
        for (j, p) in parties.iter().enumerate() {
            let (due, on_time) = wk
                .acknowledgements
                .iter()
                .filter(|a| &a.party == p)
                .fold((0, 0), |(d, o), a| (d + a.due, o + a.on_time));
            if due == 0 {
                continue;
            }
            let share = 100.0 * on_time as f64 / due as f64;
            let x = x_of(i, n) - slot * 0.4 + j as f64 * bar;
            let y = y_of(share);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {share:.1} %</title></rect>",
                y_of(0.0) - y,
                COLOURS[j % COLOURS.len()],
                escape(p),
                wk.week_start
            );
        }
    }
    // Legend.
    for (j, p) in parties.iter().enumerate() {
        let x = MARGIN_L + j as f64 * 120.0;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            CHART_H - 14.0,
            COLOURS[j % COLOURS.len()],
            x + 14.0,
            CHART_H - 5.0,
            escape(p)
        );
    }
    s.push_str("</svg>\n");
    h.push_str(&s);
    let _ = write!(
        h,
        "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
        escape(w.week),
        escape(w.party),
        escape(w.kind),
        escape(w.due),
        escape(w.on_time),
        escape(w.late),
        escape(w.unanswered),
        escape(w.median),
        escape(w.p95),
    );
    for wk in &r.weeks {
        for a in &wk.acknowledgements {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                wk.week_start,
                escape(&a.party),
                escape(&a.kind),
                a.due,
                a.on_time,
                a.late,
                a.unanswered,
                secs(a.median_ms),
                secs(a.p95_ms)
            );
        }
    }
    h.push_str("</table>\n</section>\n");
}

/// A section with a table: its title, then one header cell per name (escaped here).
fn open_table(h: &mut String, title: &str, headers: &[String]) {
    let _ = write!(h, "<section>\n<h2>{}</h2>\n<table>\n<tr>", escape(title));
    for c in headers {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr>\n");
}

/// One row of cells, already escaped where they hold outside text.
fn row(h: &mut String, cells: &[String]) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<td>{c}</td>");
    }
    h.push_str("</tr>\n");
}

fn close_table(h: &mut String) {
    h.push_str("</table>\n</section>\n");
}

fn names(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

fn link_tests_section(h: &mut String, r: &Report, w: &Words) {
    open_table(
        h,
        w.link_tests_title,
        &names(&[w.week, w.party, w.sent, w.answered]),
    );
    for wk in &r.weeks {
        for l in &wk.link_tests {
            row(
                h,
                &[
                    wk.week_start.clone(),
                    escape(&l.party),
                    l.sent.to_string(),
                    l.answered_in_time.to_string(),
                ],
            );
        }
    }
    close_table(h);
}

fn parties_section(h: &mut String, r: &Report, w: &Words) {
    open_table(
        h,
        w.parties_title,
        &names(&[
            w.week,
            w.party,
            w.withdrawn,
            w.withdrawn_late,
            w.undetermined,
            w.nonconformances,
            w.geography,
        ]),
    );
    for wk in &r.weeks {
        for p in &wk.parties {
            row(
                h,
                &[
                    wk.week_start.clone(),
                    escape(&p.party),
                    p.withdrawn.to_string(),
                    p.withdrawn_late.to_string(),
                    p.withdrawn_undetermined.to_string(),
                    p.nonconformances.to_string(),
                    p.geography_events.to_string(),
                ],
            );
        }
    }
    close_table(h);
}

fn alerts_section(h: &mut String, r: &Report, w: &Words) {
    open_table(
        h,
        w.alerts_title,
        &names(&[w.week, w.flight_hours, w.level, w.count, w.per_1000]),
    );
    for wk in &r.weeks {
        let hours = format!("{:.1}", wk.flight_hours);
        if wk.alerts.is_empty() {
            row(
                h,
                &[
                    wk.week_start.clone(),
                    hours.clone(),
                    "–".into(),
                    "0".into(),
                    "–".into(),
                ],
            );
        }
        for a in &wk.alerts {
            let rate = a
                .per_1000_flight_hours
                .map_or_else(|| w.no_data.to_string(), |x| format!("{x:.1}"));
            row(
                h,
                &[
                    wk.week_start.clone(),
                    hours.clone(),
                    escape(&a.level),
                    a.count.to_string(),
                    escape(&rate),
                ],
            );
        }
    }
    close_table(h);
}

fn incidents_section(h: &mut String, r: &Report, w: &Words) {
    let categories = crate::figures::risk_categories();
    let mut headers = names(&[w.week, w.filed, w.agreed, w.disputed, w.not_assessed]);
    headers.extend(categories.iter().map(|c| format!("{} {c}", w.category)));
    open_table(h, w.incidents_title, &headers);
    for wk in &r.weeks {
        let i = &wk.incidents;
        let mut cells = vec![
            wk.week_start.clone(),
            i.filed.to_string(),
            i.agreed.to_string(),
            i.disputed.to_string(),
            i.not_assessed.to_string(),
        ];
        cells.extend(categories.iter().map(|c| {
            i.agreed_by_category
                .get(*c)
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        row(h, &cells);
    }
    close_table(h);
}
