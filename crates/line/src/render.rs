//! Renderings: a message (or a conversation, or what the line did) as text in a reader's
//! language, with every quantity in the reader's units and time zone. Derived, never stored.
//!
//! Every number is formatted here from integers, so a rendering is exact and reproducible:
//! altitudes in whole feet and whole metres, distances in NM and km to 0.001, times to the
//! second in UTC and in the reader's local time.

use fluent_bundle::FluentValue;

use crate::ids::{MessageId, OfficerName, PartyId};
use crate::lang::{CoordFormat, Language, ReaderProfile};
use crate::message::{
    Activity, Alteration, Body, ConflictAlert, Decision, Manoeuvre, Message, Subject, SubjectKind,
    TrackRef, TurnSense, VerticalSense,
};
use crate::units::{Altitude, AltitudeBlock, Area, Distance, Position, TimeWindow, Timestamp};

fn s(v: impl Into<String>) -> FluentValue<'static> {
    FluentValue::from(v.into())
}
fn n(v: i64) -> FluentValue<'static> {
    FluentValue::from(v)
}

/// A party as the reader calls it: its name from the reader's names table (the service in the
/// reader's words), else its id.
fn party(reader: &ReaderProfile, id: &PartyId) -> FluentValue<'static> {
    match reader.names() {
        Some(n) if n.is_service(id) => s(reader.lang.tr("party-service", &[])),
        names => s(names.and_then(|n| n.party(id)).unwrap_or(id.as_str())),
    }
}

/// An officer as the reader calls them: a party's command in the reader's words, else the
/// name on the roster.
fn officer(reader: &ReaderProfile, o: &OfficerName) -> FluentValue<'static> {
    match reader.names().and_then(|n| n.command_of(o)) {
        Some(p) => s(reader.lang.tr("officer-command", &[("party", s(p))])),
        None => s(o.as_str()),
    }
}

/// `value / 1000` with three decimals and the language's decimal separator.
fn fixed3(lang: Language, value_x1000: i64) -> String {
    let sep = lang.tr("meta-decimal-separator", &[]);
    let sign = if value_x1000 < 0 { "-" } else { "" };
    let a = value_x1000.unsigned_abs();
    format!("{sign}{}{sep}{:03}", a / 1000, a % 1000)
}

/// A time in UTC and in the reader's local time (fixed offset).
pub fn format_time(reader: &ReaderProfile, t: Timestamp) -> String {
    reader.lang.tr(
        "fmt-time",
        &[
            ("utc", s(t.civil(crate::units::UtcOffset::UTC).to_string())),
            ("local", s(t.civil(reader.utc_offset).to_string())),
            ("offset", s(reader.utc_offset.to_string())),
        ],
    )
}

/// An altitude (or a vertical distance) in feet and metres.
pub fn format_altitude(reader: &ReaderProfile, a: Altitude) -> String {
    reader
        .lang
        .tr("fmt-altitude", &[("ft", n(a.ft())), ("m", n(a.m()))])
}

fn format_vertical(reader: &ReaderProfile, d: Distance) -> String {
    reader
        .lang
        .tr("fmt-altitude", &[("ft", n(d.ft())), ("m", n(d.m()))])
}

/// A horizontal distance in nautical miles and kilometres.
pub fn format_distance(reader: &ReaderProfile, d: Distance) -> String {
    reader.lang.tr(
        "fmt-distance",
        &[
            ("nm", s(fixed3(reader.lang, d.nm_x1000()))),
            ("km", s(fixed3(reader.lang, d.m()))),
        ],
    )
}

fn format_angle(lang: Language, format: CoordFormat, udeg: i32, pos: &str, neg: &str) -> String {
    let hemi = lang.tr(if udeg < 0 { neg } else { pos }, &[]);
    let a = i64::from(udeg).unsigned_abs();
    match format {
        CoordFormat::Decimal => {
            let sep = lang.tr("meta-decimal-separator", &[]);
            format!("{}{sep}{:06}° {hemi}", a / 1_000_000, a % 1_000_000)
        }
        CoordFormat::Dms => {
            // Tenths of an arc-second: 1° = 36 000 tenths, so tenths = µ° × 36 000 / 10⁶.
            let tenths = (a * 36 + 500) / 1000;
            let deg = tenths / 36_000;
            let min = tenths % 36_000 / 600;
            let sec10 = tenths % 600;
            let sep = lang.tr("meta-decimal-separator", &[]);
            format!(
                "{deg}°{min:02}′{:02}{sep}{}″ {hemi}",
                sec10 / 10,
                sec10 % 10
            )
        }
    }
}

/// A position in the reader's coordinate format.
pub fn format_position(reader: &ReaderProfile, p: Position) -> String {
    let lat = format_angle(
        reader.lang,
        reader.coordinates,
        p.lat_udeg.udeg(),
        "hemi-n",
        "hemi-s",
    );
    let lon = format_angle(
        reader.lang,
        reader.coordinates,
        p.lon_udeg.udeg(),
        "hemi-e",
        "hemi-w",
    );
    reader
        .lang
        .tr("fmt-position", &[("lat", s(lat)), ("lon", s(lon))])
}

/// Which grammatical use a duration has: stand-alone ("deadline 2 minutes") or after "in" /
/// "after" (Russian takes the accusative there: «через 1 минуту»).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUse {
    Nominative,
    After,
}

/// A duration in hours, minutes and seconds (rounded to the second), zero parts omitted.
pub fn format_duration(reader: &ReaderProfile, ms: i64, usage: DurationUse) -> String {
    let total = crate::units::div_round(ms.max(0), 1000);
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    let suffix = match usage {
        DurationUse::Nominative => "",
        DurationUse::After => "-acc",
    };
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(
            reader
                .lang
                .tr(&format!("dur-hours{suffix}"), &[("n", n(h))]),
        );
    }
    if m > 0 {
        parts.push(
            reader
                .lang
                .tr(&format!("dur-minutes{suffix}"), &[("n", n(m))]),
        );
    }
    if sec > 0 || parts.is_empty() {
        parts.push(
            reader
                .lang
                .tr(&format!("dur-seconds{suffix}"), &[("n", n(sec))]),
        );
    }
    parts.join(" ")
}

fn format_block(reader: &ReaderProfile, b: AltitudeBlock) -> String {
    reader.lang.tr(
        "fmt-block",
        &[
            ("lower", s(format_altitude(reader, b.lower()))),
            ("upper", s(format_altitude(reader, b.upper()))),
        ],
    )
}

fn format_window(reader: &ReaderProfile, w: TimeWindow) -> String {
    reader.lang.tr(
        "fmt-window",
        &[
            ("start", s(format_time(reader, w.start()))),
            ("end", s(format_time(reader, w.end()))),
        ],
    )
}

fn format_area(reader: &ReaderProfile, a: &Area) -> String {
    match a {
        Area::Circle { centre, radius } => reader.lang.tr(
            "area-circle",
            &[
                ("radius", s(format_distance(reader, *radius))),
                ("centre", s(format_position(reader, *centre))),
            ],
        ),
        Area::Polygon { vertices } => {
            let list: Vec<String> = vertices
                .iter()
                .map(|p| format!("({})", format_position(reader, *p)))
                .collect();
            reader
                .lang
                .tr("area-polygon", &[("vertices", s(list.join(" ")))])
        }
    }
}

fn format_alteration(reader: &ReaderProfile, a: &Alteration) -> String {
    match a {
        Alteration::AltitudeBlock { altitude_block } => reader.lang.tr(
            "proposal-altitude-block",
            &[("block", s(format_block(reader, *altitude_block)))],
        ),
        Alteration::TimeWindow { window } => reader.lang.tr(
            "proposal-time-window",
            &[("window", s(format_window(reader, *window)))],
        ),
    }
}

/// A suggested manoeuvre: "climb to FL300 or above; turn right to 210° or more". The flight
/// level and the direction are rounded away from the conflict (up for a climb or a right turn,
/// down for a descent or a left turn), so that the value said is never inside the band.
pub fn format_manoeuvre(reader: &ReaderProfile, m: &Manoeuvre) -> String {
    let l = reader.lang;
    // Hundreds of feet, as a fraction num/den of millimetres: ft/100 = mm·10 / (3048·100).
    let (fl_den, deg_den) = (crate::units::MM_PER_FT_X10 * 100, 1000);
    let vertical = match (m.vertical, m.altitude_mm) {
        (sense, Some(a)) => {
            let num = a.mm() * 10;
            let (id, fl) = match sense {
                VerticalSense::Climb => (
                    "adv-climb-to",
                    num.div_euclid(fl_den) + i64::from(num.rem_euclid(fl_den) != 0),
                ),
                VerticalSense::Descend => ("adv-descend-to", num.div_euclid(fl_den)),
            };
            l.tr(id, &[("fl", s(format!("{fl:03}")))])
        }
        (VerticalSense::Climb, None) => l.tr("adv-climb", &[]),
        (VerticalSense::Descend, None) => l.tr("adv-descend", &[]),
    };
    let turn = match (m.turn, m.direction_mdeg) {
        (sense, Some(d)) => {
            let mdeg = i64::from(d.mdeg());
            let (id, deg) = match sense {
                TurnSense::Right => ("adv-turn-right-to", (mdeg + deg_den - 1) / deg_den % 360),
                TurnSense::Left => ("adv-turn-left-to", mdeg / deg_den),
            };
            l.tr(id, &[("deg", s(format!("{deg:03}")))])
        }
        (TurnSense::Right, None) => l.tr("adv-turn-right", &[]),
        (TurnSense::Left, None) => l.tr("adv-turn-left", &[]),
    };
    l.tr(
        "adv-manoeuvre",
        &[("vertical", s(vertical)), ("turn", s(turn))],
    )
}

/// The subject as a short phrase (`alert A-17`, `оповещение A-17`).
pub fn format_subject(reader: &ReaderProfile, subject: &Subject) -> String {
    let id = match subject.kind {
        SubjectKind::Alert => "subject-alert",
        SubjectKind::Notification => "subject-notification",
        SubjectKind::Incident => "subject-incident",
        SubjectKind::LinkTest => "subject-link-test",
        SubjectKind::General => "subject-general",
    };
    reader.lang.tr(id, &[("id", s(subject.id.as_str()))])
}

fn tracks(
    reader: &ReaderProfile,
    a: &TrackRef,
    b: &TrackRef,
) -> [(&'static str, FluentValue<'static>); 4] {
    [
        ("party_a", party(reader, &a.party)),
        ("track_a", s(a.track.as_str())),
        ("party_b", party(reader, &b.party)),
        ("track_b", s(b.track.as_str())),
    ]
}

/// The body alone, one paragraph.
pub fn render_body(reader: &ReaderProfile, body: &Body) -> String {
    let l = reader.lang;
    match body {
        Body::LinkTest { scheduled_at_ms } => l.tr(
            "body-link-test",
            &[("scheduled", s(format_time(reader, *scheduled_at_ms)))],
        ),
        Body::NotificationOfOperations {
            notification_id,
            area,
            altitude_block,
            window,
            callsigns,
        } => {
            let callsigns = if callsigns.is_empty() {
                l.tr("callsigns-none", &[])
            } else {
                callsigns
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            l.tr(
                "body-notification-of-operations",
                &[
                    ("notification", s(notification_id.as_str())),
                    ("area", s(format_area(reader, area))),
                    ("block", s(format_block(reader, *altitude_block))),
                    ("window", s(format_window(reader, *window))),
                    ("callsigns", s(callsigns)),
                ],
            )
        }
        Body::StrikeWarning {
            activity,
            area,
            altitude_block,
            window,
        } => l.tr(
            "body-strike-warning",
            &[
                (
                    "activity",
                    s(match activity {
                        Activity::Strike => "strike",
                        Activity::Activity => "activity",
                    }),
                ),
                ("area", s(format_area(reader, area))),
                ("block", s(format_block(reader, *altitude_block))),
                ("window", s(format_window(reader, *window))),
            ],
        ),
        Body::ConflictAlert(a) => conflict_alert_body(reader, a),
        Body::RequestToAlter {
            regarding,
            proposal,
        } => l.tr(
            "body-request-to-alter",
            &[
                ("regarding", s(regarding.as_str())),
                ("proposal", s(format_alteration(reader, proposal))),
            ],
        ),
        Body::Reply {
            in_reply_to,
            answer,
        } => {
            let answer = match answer {
                Decision::Accept => l.tr("answer-accept", &[]),
                Decision::Reject => l.tr("answer-reject", &[]),
                Decision::Counter { proposal } => l.tr(
                    "answer-counter",
                    &[("proposal", s(format_alteration(reader, proposal)))],
                ),
            };
            l.tr(
                "body-reply",
                &[
                    ("in_reply_to", s(in_reply_to.as_str())),
                    ("answer", s(answer)),
                ],
            )
        }
        Body::IncidentReport {
            incident_id,
            at_ms,
            position,
            track_a,
            track_b,
            closest_horizontal_mm,
            closest_vertical_mm,
        } => {
            let mut args = vec![
                ("incident", s(incident_id.as_str())),
                ("at", s(format_time(reader, *at_ms))),
                ("position", s(format_position(reader, *position))),
                (
                    "closest_h",
                    s(format_distance(reader, *closest_horizontal_mm)),
                ),
                (
                    "closest_v",
                    s(format_vertical(reader, *closest_vertical_mm)),
                ),
            ];
            args.extend(tracks(reader, track_a, track_b));
            l.tr("body-incident-report", &args)
        }
        Body::InvestigationRequest {
            incident_id,
            reply_by_ms,
        } => l.tr(
            "body-investigation-request",
            &[
                ("incident", s(incident_id.as_str())),
                ("reply_by", s(format_time(reader, *reply_by_ms))),
            ],
        ),
        Body::Acknowledgement { of, officer: o } => acknowledgement_body(reader, of, o),
        Body::FreeText { written_in, text } => l.tr(
            "body-free-text",
            &[
                ("written_in", s(written_in.as_str())),
                ("text", s(text.as_str())),
            ],
        ),
    }
}

/// A conflict alert: the tracks, the level, the time to loss of separation, the closest
/// approach, and each aircraft's manoeuvre when advice was given.
fn conflict_alert_body(reader: &ReaderProfile, a: &ConflictAlert) -> String {
    let l = reader.lang;
    let mut args = vec![
        ("alert", s(a.alert_id.as_str())),
        ("level", n(i64::from(a.level.get()))),
        (
            "time_to_los",
            s(format_duration(
                reader,
                a.time_to_los_ms.ms(),
                DurationUse::After,
            )),
        ),
        ("cpa_h", s(format_distance(reader, a.cpa_horizontal_mm))),
        ("cpa_v", s(format_vertical(reader, a.cpa_vertical_mm))),
    ];
    args.extend(tracks(reader, &a.track_a, &a.track_b));
    let mut text = l.tr("body-conflict-alert", &args);
    if let Some(advice) = &a.advice {
        for (id, m) in [("advice-own", &advice.own), ("advice-other", &advice.other)] {
            text.push(' ');
            text.push_str(&l.tr(
                id,
                &[
                    ("party", party(reader, &m.track.party)),
                    ("track", s(m.track.track.as_str())),
                    ("manoeuvre", s(format_manoeuvre(reader, m))),
                ],
            ));
        }
    }
    text
}

/// An acknowledgement, by its officer (or by the role alone when the officer is on the roster
/// under the role's own name).
fn acknowledgement_body(reader: &ReaderProfile, of: &MessageId, o: &OfficerName) -> String {
    let l = reader.lang;
    // An officer on the roster under the role's own name ("Дежурный офицер") is not
    // printed as "Дежурный офицер: Дежурный офицер".
    let role = l.tr("role-duty-officer", &[]);
    if o.as_str().trim().to_lowercase() == role.to_lowercase() {
        l.tr("body-acknowledgement-by-role", &[("of", s(of.as_str()))])
    } else {
        l.tr(
            "body-acknowledgement",
            &[("of", s(of.as_str())), ("officer", officer(reader, o))],
        )
    }
}

/// A whole message: header line, subject line, body.
pub fn render_message(reader: &ReaderProfile, m: &Message) -> String {
    let l = reader.lang;
    let header = l.tr(
        "msg-header",
        &[
            ("id", s(m.id().as_str())),
            ("from", party(reader, m.from())),
            ("to", party(reader, m.to())),
            ("sent", s(format_time(reader, m.sent_at()))),
        ],
    );
    let subject = l.tr(
        "msg-subject",
        &[("subject", s(format_subject(reader, m.subject())))],
    );
    format!("{header}\n{subject}\n{}\n", render_body(reader, m.body()))
}

/// What the line did, as one line of text.
pub fn render_effect(reader: &ReaderProfile, effect: &crate::machine::Effect) -> String {
    use crate::machine::Effect as E;
    let l = reader.lang;
    let at = |t: &Timestamp| s(format_time(reader, *t));
    match effect {
        E::Deliver {
            message_id,
            party: p,
            officer: o,
            at_ms,
            ..
        } => l.tr(
            "fx-deliver",
            &[
                ("at", at(at_ms)),
                ("id", s(message_id.as_str())),
                ("party", party(reader, p)),
                ("officer", officer(reader, o)),
            ],
        ),
        E::Overdue {
            message_id,
            recipient,
            deadline_ms,
            at_ms,
            ..
        } => l.tr(
            "fx-overdue",
            &[
                ("at", at(at_ms)),
                ("id", s(message_id.as_str())),
                ("party", party(reader, recipient)),
                (
                    "deadline",
                    s(format_duration(
                        reader,
                        i64::try_from(*deadline_ms).unwrap_or(i64::MAX),
                        DurationUse::Nominative,
                    )),
                ),
            ],
        ),
        E::Escalated {
            message_id,
            recipient,
            from_officer,
            to_officer,
            level,
            at_ms,
            ..
        } => l.tr(
            "fx-escalated",
            &[
                ("at", at(at_ms)),
                ("id", s(message_id.as_str())),
                ("party", party(reader, recipient)),
                ("from_officer", officer(reader, from_officer)),
                ("to_officer", officer(reader, to_officer)),
                ("level", n(i64::from(*level))),
            ],
        ),
        E::Acknowledged {
            message_id,
            recipient,
            officer: o,
            latency_ms,
            late,
            at_ms,
            ..
        } => l.tr(
            "fx-acknowledged",
            &[
                ("at", at(at_ms)),
                ("id", s(message_id.as_str())),
                ("party", party(reader, recipient)),
                ("officer", officer(reader, o)),
                (
                    "latency",
                    s(format_duration(
                        reader,
                        i64::try_from(*latency_ms).unwrap_or(i64::MAX),
                        DurationUse::After,
                    )),
                ),
                ("late", s(if *late { "yes" } else { "no" })),
            ],
        ),
        E::Unanswered {
            message_id,
            recipient,
            at_ms,
            ..
        } => l.tr(
            "fx-unanswered",
            &[
                ("at", at(at_ms)),
                ("id", s(message_id.as_str())),
                ("party", party(reader, recipient)),
            ],
        ),
    }
}

/// Messages threaded by subject, threads in order of their first message, messages in the
/// order given (the line's receipt order).
pub fn render_conversation<'a>(
    reader: &ReaderProfile,
    messages: impl IntoIterator<Item = &'a Message>,
) -> String {
    let mut threads: Vec<(&Subject, Vec<&Message>)> = Vec::new();
    for m in messages {
        match threads.iter_mut().find(|(s, _)| *s == m.subject()) {
            Some((_, list)) => list.push(m),
            None => threads.push((m.subject(), vec![m])),
        }
    }
    let mut out = String::new();
    for (subject, list) in threads {
        out.push_str(&reader.lang.tr(
            "conv-header",
            &[
                ("subject", s(format_subject(reader, subject))),
                ("count", n(list.len() as i64)),
            ],
        ));
        out.push('\n');
        for m in list {
            out.push('\n');
            out.push_str(&render_message(reader, m));
        }
        out.push('\n');
    }
    out
}

/// Link-test figures for one party over a window.
pub fn render_reachability(
    reader: &ReaderProfile,
    p: &PartyId,
    window: TimeWindow,
    r: &crate::machine::Reachability,
) -> String {
    reader.lang.tr(
        "reach-line",
        &[
            ("party", party(reader, p)),
            ("start", s(format_time(reader, window.start()))),
            ("end", s(format_time(reader, window.end()))),
            ("in_time", n(i64::from(r.in_time))),
            ("late", n(i64::from(r.late))),
            ("missed", n(i64::from(r.missed))),
            ("pending", n(i64::from(r.pending))),
        ],
    )
}

/// The agreement's declared state, as the agreement crate reports it; the line only shows it
/// next to its own measured reachability and never infers one from the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredState {
    NotInForce,
    InForce,
    Suspended,
}

/// "Agreement suspended (declared). Line answering (measured)."
pub fn render_agreement_state(
    reader: &ReaderProfile,
    state: DeclaredState,
    answering: bool,
) -> String {
    let l = reader.lang;
    let state = l.tr(
        match state {
            DeclaredState::NotInForce => "agreement-not-in-force",
            DeclaredState::InForce => "agreement-in-force",
            DeclaredState::Suspended => "agreement-suspended",
        },
        &[],
    );
    l.tr(
        "agreement-state",
        &[
            ("state", s(state)),
            ("reachable", s(if answering { "yes" } else { "no" })),
        ],
    )
}
