//! Flag values: times (absolute or relative to now), ids, positions, subjects.

use super::*;

// --- Times -------------------------------------------------------------------------------------

/// A time given on the command line: absolute, or relative to the moment the command runs. An
/// absolute time finer than a millisecond keeps both roundings: a start is rounded down, an end
/// up, so that a window never shrinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeArg {
    At { down_ms: i64, up_ms: i64 },
    FromNowMs(i64),
}

impl TimeArg {
    /// The time as an instant or the start of a window (rounded down).
    pub(crate) fn resolve(self, flag: &str, now_ms: i64) -> Result<Timestamp, Failure> {
        self.resolve_rounded(flag, now_ms, Round::Down)
    }

    /// The time as the end of a window or a deadline (rounded up).
    pub(crate) fn resolve_end(self, flag: &str, now_ms: i64) -> Result<Timestamp, Failure> {
        self.resolve_rounded(flag, now_ms, Round::Up)
    }

    pub(super) fn resolve_rounded(
        self,
        flag: &str,
        now_ms: i64,
        round: Round,
    ) -> Result<Timestamp, Failure> {
        let ms = match (self, round) {
            (TimeArg::At { down_ms, .. }, Round::Down) => down_ms,
            (TimeArg::At { up_ms, .. }, Round::Up) => up_ms,
            (TimeArg::FromNowMs(d), _) => now_ms
                .checked_add(d)
                .ok_or_else(|| Failure::usage(flag, "out of range"))?,
        };
        Timestamp::from_unix_ms(ms).map_err(|e| Failure::usage(flag, e))
    }
}

/// `+1h30m`, `-90s`, `10m` (after the sign): a span in milliseconds.
pub(super) fn parse_span_ms(s: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let n_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n_len == 0 {
            return Err(format!("{s:?}: expected a number before {rest:?}"));
        }
        let n: i64 = rest[..n_len]
            .parse()
            .map_err(|_| format!("{s:?}: number too large"))?;
        rest = &rest[n_len..];
        let (unit_ms, unit_len) = match rest.as_bytes().first() {
            Some(b'h') => (3_600_000, 1),
            Some(b'm') if rest.starts_with("ms") => (1, 2),
            Some(b'm') => (60_000, 1),
            Some(b's') => (1000, 1),
            _ => return Err(format!("{s:?}: a number needs a unit (h, m, s or ms)")),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(unit_ms)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= deconflict_line::units::TIMESTAMP_MS_MAX)
            .ok_or_else(|| format!("{s:?}: too long"))?;
    }
    Ok(total)
}

/// An RFC 3339 date-time at any precision, rounded down to the millisecond (the one parser of
/// times from outside, [`deconflict_airspace::instant`]).
#[cfg(test)]
pub(super) fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    parse_rfc3339(s, Round::Down)
}

pub(super) fn parse_rfc3339(s: &str, round: Round) -> Result<i64, String> {
    deconflict_airspace::instant::parse_rfc3339_ms(s, round).map_err(|e| e.to_string())
}

/// Parses a TIME flag value (see [`TIME_HELP`]).
pub(crate) fn parse_time_arg(s: &str) -> Result<TimeArg, String> {
    let rel = s.strip_prefix("now").unwrap_or(s);
    if rel.is_empty() {
        return Ok(TimeArg::FromNowMs(0));
    }
    if let Some(span) = rel.strip_prefix('+') {
        return parse_span_ms(span).map(TimeArg::FromNowMs);
    }
    if let Some(span) = rel.strip_prefix('-') {
        return parse_span_ms(span).map(|ms| TimeArg::FromNowMs(-ms));
    }
    if rel.len() != s.len() {
        return Err(format!("{s:?}: after `now` comes +SPAN or -SPAN"));
    }
    Ok(TimeArg::At {
        down_ms: parse_rfc3339(s, Round::Down)?,
        up_ms: parse_rfc3339(s, Round::Up)?,
    })
}

/// `2017-04-12 09:30:00Z` (UTC) or `2017-04-12 12:30:00+03:00`.
pub(crate) fn format_time(ms: i64, offset: UtcOffset) -> String {
    match Timestamp::from_unix_ms(ms) {
        Ok(t) => {
            let suffix = if offset == UtcOffset::UTC {
                "Z".to_string()
            } else {
                offset.to_string()
            };
            format!("{}{suffix}", t.civil(offset))
        }
        Err(_) => format!("{ms} ms"),
    }
}

/// `1 h 02 min`, `3 min 05 s`, `40 s` (whole seconds, rounded towards zero).
pub(super) fn format_span(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

// --- Flag values -------------------------------------------------------------------------------

pub(super) fn parse_party(s: &str) -> Result<PartyId, String> {
    PartyId::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_message_id(s: &str) -> Result<MessageId, String> {
    MessageId::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_subject_id(s: &str) -> Result<SubjectId, String> {
    SubjectId::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_officer(s: &str) -> Result<OfficerName, String> {
    OfficerName::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_text(s: &str) -> Result<Text, String> {
    Text::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_lang_tag(s: &str) -> Result<LangTag, String> {
    LangTag::new(s).map_err(|e| e.to_string())
}
pub(super) fn parse_latitude(s: &str) -> Result<Latitude, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of degrees"))?;
    Latitude::from_deg(v).map_err(|_| format!("latitude {s}° is outside -90..=90"))
}
pub(super) fn parse_longitude(s: &str) -> Result<Longitude, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of degrees"))?;
    Longitude::from_deg(v).map_err(|_| format!("longitude {s}° is outside -180..=180"))
}
/// `LAT,LON` in decimal degrees.
pub(super) fn parse_position(s: &str) -> Result<Position, String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not LAT,LON (decimal degrees)"))?;
    Ok(Position {
        lat_udeg: parse_latitude(lat.trim())?,
        lon_udeg: parse_longitude(lon.trim())?,
    })
}
pub(crate) fn parse_finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a finite number")),
    }
}
/// `KIND:ID`, e.g. `alert:A-17`, `notification:N-7`, `general:handover`.
pub(super) fn parse_subject(s: &str) -> Result<Subject, String> {
    let (kind, id) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not KIND:ID (e.g. alert:A-17)"))?;
    Ok(Subject::new(
        parse_subject_kind(kind)?,
        parse_subject_id(id)?,
    ))
}
pub(super) fn parse_subject_kind(s: &str) -> Result<SubjectKind, String> {
    Ok(match s {
        "alert" => SubjectKind::Alert,
        "notification" => SubjectKind::Notification,
        "incident" => SubjectKind::Incident,
        "link_test" | "link-test" => SubjectKind::LinkTest,
        "general" => SubjectKind::General,
        _ => {
            return Err(format!(
                "{s:?} is not a subject kind (alert, notification, incident, link_test, general)"
            ));
        }
    })
}
/// `PARTY=TRACK`: `=` appears in neither identifier.
pub(super) fn parse_track_ref(s: &str) -> Result<TrackRef, String> {
    let (party, track) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not PARTY=TRACK (e.g. russia=RUS-31)"))?;
    Ok(TrackRef {
        party: parse_party(party)?,
        track: TrackId::new(track).map_err(|e| e.to_string())?,
    })
}
pub(super) fn parse_time(s: &str) -> Result<TimeArg, String> {
    parse_time_arg(s)
}
