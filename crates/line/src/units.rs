//! Quantities carried by line messages. Every stored quantity is an integer in an SI-derived
//! unit (milliseconds, millimetres, micro-degrees), so the canonical JSON form (RFC 8785) holds
//! no floating-point numbers and a signature covers exactly one byte string. Feet, nautical
//! miles and degrees-minutes-seconds exist only in `from_*` constructors and in rendering.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Millimetres in one international foot (exact by definition, 1959 agreement).
pub const MM_PER_FT_X10: i64 = 3048;
/// Millimetres in one international nautical mile (exact by definition).
pub const MM_PER_NM: i64 = 1_852_000;
/// Latest instant accepted: 9999-12-31T23:59:59.999Z, so every time renders as a 4-digit year.
pub const TIMESTAMP_MS_MAX: i64 = 253_402_300_799_999;
/// Altitudes accepted: from the Dead Sea shore to well above any aircraft (millimetres).
pub const ALT_MM_MIN: i64 = -1_000_000;
pub const ALT_MM_MAX: i64 = 100_000_000;
/// Longest distance accepted: half the Earth's circumference, rounded up (millimetres).
pub const DISTANCE_MM_MAX: i64 = 20_100_000_000;
/// Longest duration a message field may carry (7 days, milliseconds).
pub const DURATION_MS_MAX: i64 = 7 * 24 * 3_600_000;

/// A value outside its domain, with the domain named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    #[error("{what} {value} is outside {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error("{what} is not a finite number")]
    NotFinite { what: &'static str },
    #[error("{0}")]
    Invalid(String),
}

fn check(what: &'static str, value: i64, min: i64, max: i64) -> Result<i64, RangeError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(RangeError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

fn finite_round(what: &'static str, value: f64) -> Result<i64, RangeError> {
    if !value.is_finite() || value.abs() > 9.0e15 {
        return Err(RangeError::NotFinite { what });
    }
    // `as` saturates; the bound above keeps the value exactly representable.
    Ok(value.round() as i64)
}

/// Integer division rounding half away from zero (the rounding every rendering uses).
pub(crate) fn div_round(n: i64, d: i64) -> i64 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// Millimetres, rounded half away from zero, in `ft` international feet (saturating).
fn ft_to_mm(ft: i64) -> i64 {
    div_round(ft.saturating_mul(MM_PER_FT_X10), 10)
}

/// Whole feet in `mm` millimetres, rounded half away from zero.
fn mm_to_ft(mm: i64) -> i64 {
    div_round(mm * 10, MM_PER_FT_X10)
}

/// The serde form of a quantity is its integer: `TryFrom<i64>` through the checking
/// constructor, `Into<i64>` of the stored value. (A blanket impl over a trait would collide
/// with the standard library's own `TryFrom` impl, hence a macro.)
macro_rules! integer_form {
    ($($ty:ident: $new:ident),+ $(,)?) => {$(
        impl TryFrom<i64> for $ty {
            type Error = RangeError;
            fn try_from(v: i64) -> Result<Self, RangeError> {
                $ty::$new(v)
            }
        }
        impl From<$ty> for i64 {
            fn from(v: $ty) -> i64 {
                i64::from(v.0)
            }
        }
    )+};
}

integer_form!(
    Timestamp: from_unix_ms,
    Altitude: from_mm,
    Distance: from_mm,
    Span: from_ms,
    Direction: from_mdeg,
    Latitude: from_udeg,
    Longitude: from_udeg,
);

/// An instant, milliseconds since 1970-01-01T00:00:00Z (UTC, leap seconds not counted, as POSIX).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Timestamp(i64);

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    pub fn from_unix_ms(ms: i64) -> Result<Self, RangeError> {
        check("time (ms since 1970)", ms, 0, TIMESTAMP_MS_MAX).map(Timestamp)
    }
    pub fn unix_ms(self) -> i64 {
        self.0
    }
    /// `self + d`, saturating at the last representable instant.
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms).min(TIMESTAMP_MS_MAX))
    }
    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
    /// Civil date and time of day at `offset` from UTC.
    pub fn civil(self, offset: UtcOffset) -> Civil {
        let local_ms = self.0 + i64::from(offset.minutes()) * 60_000;
        // Past the last instant at a positive offset lies the year 10000, beyond the calendar
        // of `time`: it reads as the calendar's last second.
        let t = time::macros::datetime!(1970-01-01 00:00)
            .checked_add(time::Duration::milliseconds(local_ms))
            .unwrap_or(time::PrimitiveDateTime::MAX);
        Civil {
            year: t.year(),
            month: u8::from(t.month()),
            day: t.day(),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
        }
    }
    /// Seconds since 00:00 UTC of this instant's day.
    pub fn second_of_day_utc(self) -> u32 {
        (self.0.rem_euclid(86_400_000) / 1000) as u32
    }
    /// 00:00:00 UTC of this instant's day.
    pub fn start_of_day_utc(self) -> Timestamp {
        Timestamp(self.0 - self.0.rem_euclid(86_400_000))
    }
}

/// A calendar date and time of day, already shifted to some offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl fmt::Display for Civil {
    /// ISO 8601 calendar date and time, space-separated (`2026-11-25 09:30:00`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A reader's local time as a fixed offset from UTC, in minutes (e.g. `+03:00` for Moscow
/// and Qatar). A fixed offset, not an IANA zone, so rendering never needs a time-zone database
/// at run time; a reader's profile changes its offset when its zone changes (daylight saving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UtcOffset(i16);

impl UtcOffset {
    pub const UTC: UtcOffset = UtcOffset(0);
    /// ISO 8601 allows ±18:00 at most (chrono and `time` agree); real zones use ±14:00.
    pub const MINUTES_MAX: i16 = 18 * 60;

    pub fn from_minutes(minutes: i16) -> Result<Self, RangeError> {
        check(
            "UTC offset (minutes)",
            i64::from(minutes),
            -i64::from(Self::MINUTES_MAX),
            i64::from(Self::MINUTES_MAX),
        )
        .map(|_| UtcOffset(minutes))
    }
    pub fn minutes(self) -> i16 {
        self.0
    }
    /// Parses `+03:00`, `-05:30`, `+0300`, `Z` or `UTC`.
    pub fn parse(text: &str) -> Result<Self, RangeError> {
        let bad =
            || RangeError::Invalid(format!("UTC offset {text:?} is not ±HH:MM (e.g. +03:00)"));
        if text == "Z" || text.eq_ignore_ascii_case("utc") {
            return Ok(UtcOffset::UTC);
        }
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1i16, &text[1..]),
            Some(b'-') => (-1i16, &text[1..]),
            _ => return Err(bad()),
        };
        let (hh, mm) = match rest.split_once(':') {
            Some(parts) => parts,
            None if rest.len() == 4 && rest.is_ascii() => rest.split_at(2),
            None => return Err(bad()),
        };
        if hh.len() != 2 || mm.len() != 2 {
            return Err(bad());
        }
        let h: i16 = hh.parse().map_err(|_| bad())?;
        let m: i16 = mm.parse().map_err(|_| bad())?;
        if m >= 60 {
            return Err(bad());
        }
        UtcOffset::from_minutes(sign * (h * 60 + m))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", a / 60, a % 60)
    }
}
impl TryFrom<String> for UtcOffset {
    type Error = RangeError;
    fn try_from(s: String) -> Result<Self, RangeError> {
        UtcOffset::parse(&s)
    }
}
impl From<UtcOffset> for String {
    fn from(o: UtcOffset) -> String {
        o.to_string()
    }
}

/// An altitude above mean sea level, millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Altitude(i64);

impl Altitude {
    pub fn from_mm(mm: i64) -> Result<Self, RangeError> {
        check("altitude (mm)", mm, ALT_MM_MIN, ALT_MM_MAX).map(Altitude)
    }
    pub fn from_m(m: f64) -> Result<Self, RangeError> {
        Self::from_mm(finite_round("altitude (m)", m * 1000.0)?)
    }
    /// Exact for whole feet: rendering gives the same number of feet back.
    pub fn from_ft(ft: i64) -> Result<Self, RangeError> {
        Self::from_mm(ft_to_mm(ft))
    }
    pub fn mm(self) -> i64 {
        self.0
    }
    /// Whole feet, rounded half away from zero.
    pub fn ft(self) -> i64 {
        mm_to_ft(self.0)
    }
    /// Whole metres, rounded half away from zero.
    pub fn m(self) -> i64 {
        div_round(self.0, 1000)
    }
}

/// A non-negative distance (horizontal or vertical), millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Distance(i64);

impl Distance {
    pub fn from_mm(mm: i64) -> Result<Self, RangeError> {
        check("distance (mm)", mm, 0, DISTANCE_MM_MAX).map(Distance)
    }
    pub fn from_m(m: f64) -> Result<Self, RangeError> {
        Self::from_mm(finite_round("distance (m)", m * 1000.0)?)
    }
    pub fn from_ft(ft: i64) -> Result<Self, RangeError> {
        Self::from_mm(ft_to_mm(ft))
    }
    pub fn from_nm(nm: f64) -> Result<Self, RangeError> {
        Self::from_mm(finite_round("distance (NM)", nm * MM_PER_NM as f64)?)
    }
    pub fn mm(self) -> i64 {
        self.0
    }
    pub fn ft(self) -> i64 {
        mm_to_ft(self.0)
    }
    pub fn m(self) -> i64 {
        div_round(self.0, 1000)
    }
    /// Thousandths of a nautical mile (1.852 m), rounded.
    pub fn nm_x1000(self) -> i64 {
        div_round(self.0 * 1000, MM_PER_NM)
    }
}

/// A non-negative span of time carried in a message (e.g. time to loss of separation),
/// milliseconds, at most [`DURATION_MS_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Span(i64);

impl Span {
    pub fn from_ms(ms: i64) -> Result<Self, RangeError> {
        check("duration (ms)", ms, 0, DURATION_MS_MAX).map(Span)
    }
    pub fn from_s(s: f64) -> Result<Self, RangeError> {
        Self::from_ms(finite_round("duration (s)", s * 1000.0)?)
    }
    pub fn ms(self) -> i64 {
        self.0
    }
    /// Whole seconds, rounded half up.
    pub fn s(self) -> i64 {
        div_round(self.0, 1000)
    }
}

/// A direction (track over the ground) from true north, clockwise, millidegrees in
/// `0..360_000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Direction(u32);

impl Direction {
    pub fn from_mdeg(mdeg: i64) -> Result<Self, RangeError> {
        check("direction (m°)", mdeg, 0, 359_999).map(|v| Direction(v as u32))
    }
    /// Any finite angle in degrees, brought into `0..360` and rounded to the millidegree.
    pub fn from_deg(deg: f64) -> Result<Self, RangeError> {
        let mdeg = finite_round("direction (°)", deg * 1000.0)?;
        Self::from_mdeg(mdeg.rem_euclid(360_000))
    }
    pub fn mdeg(self) -> u32 {
        self.0
    }
}

/// Latitude, micro-degrees (WGS 84), north positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Latitude(i32);
/// Longitude, micro-degrees (WGS 84), east positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Longitude(i32);

impl Latitude {
    pub fn from_udeg(udeg: i64) -> Result<Self, RangeError> {
        check("latitude (µ°)", udeg, -90_000_000, 90_000_000).map(|v| Latitude(v as i32))
    }
    pub fn from_deg(deg: f64) -> Result<Self, RangeError> {
        Self::from_udeg(finite_round("latitude (°)", deg * 1e6)?)
    }
    pub fn udeg(self) -> i32 {
        self.0
    }
}
impl Longitude {
    pub fn from_udeg(udeg: i64) -> Result<Self, RangeError> {
        check("longitude (µ°)", udeg, -180_000_000, 180_000_000).map(|v| Longitude(v as i32))
    }
    pub fn from_deg(deg: f64) -> Result<Self, RangeError> {
        Self::from_udeg(finite_round("longitude (°)", deg * 1e6)?)
    }
    pub fn udeg(self) -> i32 {
        self.0
    }
}

/// A point on the WGS 84 ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub lat_udeg: Latitude,
    pub lon_udeg: Longitude,
}

impl Position {
    pub fn from_deg(lat: f64, lon: f64) -> Result<Self, RangeError> {
        Ok(Position {
            lat_udeg: Latitude::from_deg(lat)?,
            lon_udeg: Longitude::from_deg(lon)?,
        })
    }
}

/// A closed altitude block, lower strictly below upper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawBlock", into = "RawBlock")]
pub struct AltitudeBlock {
    lower: Altitude,
    upper: Altitude,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    lower_mm: Altitude,
    upper_mm: Altitude,
}

impl AltitudeBlock {
    pub fn new(lower: Altitude, upper: Altitude) -> Result<Self, RangeError> {
        if lower >= upper {
            return Err(RangeError::Invalid(format!(
                "altitude block lower {} mm is not below upper {} mm",
                lower.mm(),
                upper.mm()
            )));
        }
        Ok(AltitudeBlock { lower, upper })
    }
    pub fn from_ft(lower_ft: i64, upper_ft: i64) -> Result<Self, RangeError> {
        Self::new(Altitude::from_ft(lower_ft)?, Altitude::from_ft(upper_ft)?)
    }
    pub fn lower(self) -> Altitude {
        self.lower
    }
    pub fn upper(self) -> Altitude {
        self.upper
    }
}
impl TryFrom<RawBlock> for AltitudeBlock {
    type Error = RangeError;
    fn try_from(r: RawBlock) -> Result<Self, RangeError> {
        AltitudeBlock::new(r.lower_mm, r.upper_mm)
    }
}
impl From<AltitudeBlock> for RawBlock {
    fn from(b: AltitudeBlock) -> RawBlock {
        RawBlock {
            lower_mm: b.lower,
            upper_mm: b.upper,
        }
    }
}

/// A time window, start strictly before end, at most [`DURATION_MS_MAX`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow", into = "RawWindow")]
pub struct TimeWindow {
    start: Timestamp,
    end: Timestamp,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start_ms: Timestamp,
    end_ms: Timestamp,
}

impl TimeWindow {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, RangeError> {
        let len = end.ms_since(start);
        if len <= 0 {
            return Err(RangeError::Invalid(format!(
                "time window end {} ms is not after start {} ms",
                end.unix_ms(),
                start.unix_ms()
            )));
        }
        check("time window length (ms)", len, 1, DURATION_MS_MAX)?;
        Ok(TimeWindow { start, end })
    }
    pub fn start(self) -> Timestamp {
        self.start
    }
    pub fn end(self) -> Timestamp {
        self.end
    }
    pub fn contains(self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}
impl TryFrom<RawWindow> for TimeWindow {
    type Error = RangeError;
    fn try_from(r: RawWindow) -> Result<Self, RangeError> {
        TimeWindow::new(r.start_ms, r.end_ms)
    }
}
impl From<TimeWindow> for RawWindow {
    fn from(w: TimeWindow) -> RawWindow {
        RawWindow {
            start_ms: w.start,
            end_ms: w.end,
        }
    }
}

/// Vertices a polygon area may have.
pub const POLYGON_VERTICES_MAX: usize = 64;
/// Largest circle radius accepted (millimetres): 500 km.
pub const RADIUS_MM_MAX: i64 = 500_000_000;

/// Where an operation takes place: a circle or a simple polygon (vertices in order, not closed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawArea", into = "RawArea")]
pub enum Area {
    Circle { centre: Position, radius: Distance },
    Polygon { vertices: Vec<Position> },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
enum RawArea {
    Circle {
        centre: Position,
        radius_mm: Distance,
    },
    Polygon {
        vertices: Vec<Position>,
    },
}

impl Area {
    pub fn circle(centre: Position, radius: Distance) -> Result<Self, RangeError> {
        check("circle radius (mm)", radius.mm(), 1, RADIUS_MM_MAX)?;
        Ok(Area::Circle { centre, radius })
    }
    pub fn polygon(vertices: Vec<Position>) -> Result<Self, RangeError> {
        check(
            "polygon vertex count",
            vertices.len() as i64,
            3,
            POLYGON_VERTICES_MAX as i64,
        )?;
        Ok(Area::Polygon { vertices })
    }
}
impl TryFrom<RawArea> for Area {
    type Error = RangeError;
    fn try_from(r: RawArea) -> Result<Self, RangeError> {
        match r {
            RawArea::Circle { centre, radius_mm } => Area::circle(centre, radius_mm),
            RawArea::Polygon { vertices } => Area::polygon(vertices),
        }
    }
}
impl From<Area> for RawArea {
    fn from(a: Area) -> RawArea {
        match a {
            Area::Circle { centre, radius } => RawArea::Circle {
                centre,
                radius_mm: radius,
            },
            Area::Polygon { vertices } => RawArea::Polygon { vertices },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_at_known_instants() {
        let t = |ms| Timestamp::from_unix_ms(ms).unwrap();
        assert_eq!(
            t(0).civil(UtcOffset::UTC).to_string(),
            "1970-01-01 00:00:00"
        );
        // 2000-02-29 12:00:00 UTC = 951825600 s (leap day of a century leap year).
        assert_eq!(
            t(951_825_600_000).civil(UtcOffset::UTC).to_string(),
            "2000-02-29 12:00:00"
        );
        let moscow = UtcOffset::parse("+03:00").unwrap();
        // 2015-09-30 22:30:00 UTC is 01:30 the next day in Moscow.
        assert_eq!(
            t(1_443_652_200_000).civil(moscow).to_string(),
            "2015-10-01 01:30:00"
        );
        assert_eq!(
            t(TIMESTAMP_MS_MAX).civil(UtcOffset::UTC).to_string(),
            "9999-12-31 23:59:59"
        );
    }

    #[test]
    fn offsets_parse_and_print() {
        assert_eq!(UtcOffset::parse("-05:30").unwrap().minutes(), -330);
        assert_eq!(UtcOffset::parse("+0300").unwrap().to_string(), "+03:00");
        assert_eq!(UtcOffset::parse("Z").unwrap(), UtcOffset::UTC);
        for bad in ["", "3", "+3:00", "+03:60", "+19:00", "+03:0x", "03:00", "+"] {
            assert!(UtcOffset::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn feet_round_trip_exactly() {
        for ft in [-1000, 0, 1, 499, 500, 15_000, 25_000, 60_000] {
            assert_eq!(Altitude::from_ft(ft).unwrap().ft(), ft);
        }
        assert_eq!(Altitude::from_ft(20_000).unwrap().mm(), 6_096_000);
        assert_eq!(Distance::from_nm(1.0).unwrap().mm(), MM_PER_NM);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        assert!(Latitude::from_deg(200.0).is_err());
        assert!(Latitude::from_deg(f64::NAN).is_err());
        assert!(Longitude::from_deg(f64::INFINITY).is_err());
        assert!(Distance::from_m(-1.0).is_err());
        assert!(Span::from_s(-0.5).is_err());
        assert!(Timestamp::from_unix_ms(-1).is_err());
        assert!(AltitudeBlock::from_ft(20_000, 20_000).is_err());
        let t = Timestamp::from_unix_ms(1000).unwrap();
        assert!(TimeWindow::new(t, t).is_err());
    }
}
