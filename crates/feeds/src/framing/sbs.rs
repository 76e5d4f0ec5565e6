//! SBS-1 BaseStation CSV (the port 30003 format): `MSG,<type>,…` lines of 22 fields.
//!
//! Field numbers (1-based): 1 `MSG`, 2 transmission type 1–8, 3 session id, 4 aircraft id,
//! 5 hex ident (ICAO address), 6 flight id, 7–8 date and time generated (`YYYY/MM/DD`,
//! `HH:MM:SS.sss`, UTC), 9–10 date and time logged, 11 callsign, 12 altitude (ft),
//! 13 ground speed (kt), 14 track (deg), 15 latitude, 16 longitude, 17 vertical rate (ft/min),
//! 18 squawk, 19 alert, 20 emergency, 21 SPI, 22 on ground. Empty fields are unknown.
//! Other record kinds (`SEL`, `ID`, `AIR`, `STA`, `CLK`) carry nothing for tracks: counted as
//! ignored. A malformed line is counted and skipped; it never stops the stream.

use super::lines::{LineFormat, LineFramer, LineRecord};
use crate::frame::{Record, RecordTime};

/// Fields in an SBS `MSG` line.
pub const SBS_FIELDS: usize = 22;

pub use crate::frame::SbsMessage;

/// Why a line was rejected: the 1-based field number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadField(pub usize);

/// Names of the 22 fields, for messages.
const FIELD_NAMES: [&str; SBS_FIELDS] = [
    "message type",
    "transmission type",
    "session id",
    "aircraft id",
    "hex ident",
    "flight id",
    "date generated",
    "time generated",
    "date logged",
    "time logged",
    "callsign",
    "altitude",
    "ground speed",
    "track",
    "latitude",
    "longitude",
    "vertical rate",
    "squawk",
    "alert",
    "emergency",
    "SPI",
    "on ground",
];

impl std::fmt::Display for BadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => write!(f, "not UTF-8 text"),
            n @ 1..=SBS_FIELDS => write!(
                f,
                "field {n} ({}): bad or out-of-range value",
                FIELD_NAMES[n - 1]
            ),
            n => write!(f, "{} fields or more, expected {SBS_FIELDS}", n),
        }
    }
}

/// SBS-1 (BaseStation) text lines; only `MSG` records are decoded.
#[derive(Debug)]
pub struct Sbs;

/// The framer of Sbs: the shared line framer reading lines as [`Sbs`].
pub type SbsFramer = LineFramer<Sbs>;

fn num(s: &str, field: usize, lo: f64, hi: f64) -> Result<Option<f64>, BadField> {
    if s.is_empty() {
        return Ok(None);
    }
    let v: f64 = s.parse().map_err(|_| BadField(field))?;
    if !v.is_finite() || v < lo || v > hi {
        return Err(BadField(field));
    }
    Ok(Some(v))
}

fn flag(s: &str, field: usize) -> Result<Option<bool>, BadField> {
    match s {
        "" => Ok(None),
        "0" => Ok(Some(false)),
        "1" | "-1" => Ok(Some(true)),
        _ => Err(BadField(field)),
    }
}

/// `YYYY/MM/DD` and `HH:MM:SS[.sss]` (UTC) to unix seconds.
fn unix_time(date: &str, time_of_day: &str) -> Option<f64> {
    let mut d = date.split('/').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1970..=9999).contains(&y) {
        return None;
    }
    // A day the month does not have (31 April, 29 February of a common year) is refused.
    let month = time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let day = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(da).ok()?)
        .ok()?;
    let mut t = time_of_day.split(':');
    let (h, mi, s) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    if t.next().is_some()
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    let midnight_s = day.midnight().assume_utc().unix_timestamp();
    Some((midnight_s + h * 3600 + mi * 60) as f64 + s)
}

/// Parses one line. `Ok(None)` for a blank line or a record kind that is not `MSG`.
pub fn parse_line(line: &str) -> Result<Option<SbsMessage>, BadField> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let mut f: [&str; SBS_FIELDS] = [""; SBS_FIELDS];
    let mut n = 0;
    for part in line.split(',') {
        if n == SBS_FIELDS {
            return Err(BadField(SBS_FIELDS + 1));
        }
        f[n] = part.trim();
        n += 1;
    }
    if f[0] != "MSG" {
        return match f[0] {
            "SEL" | "ID" | "AIR" | "STA" | "CLK" => Ok(None),
            _ => Err(BadField(1)),
        };
    }
    // Some receivers send only the first 10 or so fields for some types; missing ones are unknown.
    if n < 10 {
        return Err(BadField(n + 1));
    }
    let transmission_type: u8 = f[1].parse().map_err(|_| BadField(2))?;
    if !(1..=8).contains(&transmission_type) {
        return Err(BadField(2));
    }
    let icao = (f[4].len() == 6)
        .then(|| u32::from_str_radix(f[4], 16).ok())
        .flatten()
        .ok_or(BadField(5))?;
    let time = match (f[6], f[7]) {
        ("", "") => RecordTime::None,
        (d, t) => RecordTime::Unix(unix_time(d, t).ok_or(BadField(7))?),
    };
    let callsign = match f[10].trim_end() {
        "" => None,
        c if c.len() <= 8 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') => {
            Some(c.to_string())
        }
        _ => return Err(BadField(11)),
    };
    let squawk = match f[17] {
        "" => None,
        s if s.len() == 4 && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
            Some(u16::from_str_radix(s, 16).map_err(|_| BadField(18))?)
        }
        _ => return Err(BadField(18)),
    };
    let lat_deg = num(f[14], 15, -90.0, 90.0)?;
    let lon_deg = num(f[15], 16, -180.0, 180.0)?;
    if lat_deg.is_some() != lon_deg.is_some() {
        return Err(BadField(if lat_deg.is_none() { 15 } else { 16 }));
    }
    Ok(Some(SbsMessage {
        transmission_type,
        icao,
        time,
        callsign,
        alt_ft: num(f[11], 12, -2_000.0, 130_000.0)?,
        gs_kt: num(f[12], 13, 0.0, 4_000.0)?,
        trk_deg: num(f[13], 14, -360.0, 360.0)?.map(|t| t.rem_euclid(360.0)),
        lat_deg,
        lon_deg,
        vs_fpm: num(f[16], 17, -100_000.0, 100_000.0)?,
        squawk,
        on_ground: flag(f[21], 22)?,
    }))
}

impl LineFormat for Sbs {
    fn parse(line: &[u8]) -> LineRecord {
        let Ok(text) = std::str::from_utf8(line) else {
            return LineRecord::Malformed(BadField(0).to_string());
        };
        if text.trim().is_empty() {
            return LineRecord::Nothing;
        }
        match parse_line(text) {
            Ok(Some(m)) => LineRecord::Record(Record::Sbs(m)),
            Ok(None) => LineRecord::Ignored,
            Err(e) => LineRecord::Malformed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Framer;

    #[test]
    fn position_line_from_the_lax_capture() {
        let m = parse_line("MSG,3,,,4B1908,,,,,,,2525,,,33.96693,-118.25598,,,0,0,0,0")
            .unwrap()
            .unwrap();
        assert_eq!(m.icao, 0x4b1908);
        assert_eq!(m.alt_ft, Some(2525.0));
        assert_eq!(m.lat_deg, Some(33.96693));
        assert_eq!(m.lon_deg, Some(-118.25598));
        assert_eq!(m.on_ground, Some(false));
        assert_eq!(m.time, RecordTime::None);
    }

    #[test]
    fn dump1090_line_with_dates_and_callsign() {
        let m = parse_line("MSG,1,1,1,4CA7B3,1,2023/10/24,12:29:24.451,2023/10/24,12:29:24.459,KLM1302 ,,,,,,,,0,0,0,0")
            .unwrap()
            .unwrap();
        assert_eq!(m.callsign.as_deref(), Some("KLM1302"));
        // 2023-10-24T12:29:24.451Z
        assert!((m.time.unix_s().unwrap() - 1_698_150_564.451).abs() < 1e-6);
    }

    /// The calendar is the `time` crate's: leap days where they are, and a day the month does
    /// not have is a bad date (field 7), not the first days of the next month.
    #[test]
    fn dates_follow_the_calendar() {
        let at = |date: &str| {
            parse_line(&format!(
                "MSG,3,1,1,4CA7B3,1,{date},00:00:00.000,{date},00:00:00.000,,,,,,,,,0,0,0,0"
            ))
            .map(|m| m.map(|m| m.time.unix_s()))
        };
        assert_eq!(at("1970/01/01"), Ok(Some(Some(0.0))));
        assert_eq!(at("2024/02/29"), Ok(Some(Some(1_709_164_800.0))));
        assert_eq!(at("2023/02/29"), Err(BadField(7)));
        assert_eq!(at("2023/04/31"), Err(BadField(7)));
        assert_eq!(at("2023/13/01"), Err(BadField(7)));
        assert_eq!(at("1969/12/31"), Err(BadField(7)));
    }

    #[test]
    fn rejections_say_which_line_and_which_field() {
        let mut f = SbsFramer::new();
        let input = "MSG,3,,,4B1908,,,,,,,2525,,,33.9,-118.2,,,0,0,0,0\n\nMSG,3,,,4B1908,,,,,,,2525,,,133.9,-118.2,,,0,0,0,0\n";
        crate::framing::feed_all(&mut f, input.as_bytes(), |_| {});
        let r = f.take_rejections();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].to_string(),
            "line 3: field 15 (latitude): bad or out-of-range value"
        );
        assert!(f.take_rejections().is_empty());
    }

    #[test]
    fn bad_fields_name_the_field() {
        assert_eq!(
            parse_line("MSG,9,,,4B1908,,,,,,,,,,,,,,,,,"),
            Err(BadField(2))
        );
        assert_eq!(
            parse_line("MSG,3,,,4B19,,,,,,,,,,,,,,,,,"),
            Err(BadField(5))
        );
        assert_eq!(
            parse_line("MSG,3,,,4B1908,,,,,,,,,,200.0,1.0,,,,,,"),
            Err(BadField(15))
        );
        assert_eq!(
            parse_line("MSG,3,,,4B1908,,,,,,,,,,NaN,1.0,,,,,,"),
            Err(BadField(15))
        );
        assert_eq!(
            parse_line("MSG,3,,,4B1908,,,,,,,,,,1.0,,,,,,,"),
            Err(BadField(16))
        );
        assert_eq!(
            parse_line("MSG,6,,,4B1908,,,,,,,,,,,,,8888,,,,"),
            Err(BadField(18))
        );
        assert_eq!(
            parse_line("MSG,3,,,4B1908,,,,,,,,,,,,,,,,,,,"),
            Err(BadField(23))
        );
        assert_eq!(parse_line("XYZ,3"), Err(BadField(1)));
        assert_eq!(parse_line("STA,,5,179,400AE7"), Ok(None));
    }
}
