//! DAIDALUS encounter files (`.daa` geodetic, `.xyz` Euclidean): a header of column names, a line
//! of units, then one row per aircraft per time step.
//!
//! Fields are separated by commas and/or white space; blank lines and lines starting with `#`
//! are ignored. Columns are recognised by name (case-insensitive): `name`; `lat lon alt` or
//! `sx sy sz`; `trk gs vs` or `vx vy vz`; `time`; optional `heading airspeed` (air velocity: wind),
//! `alerter` (1-based alerter index), and the sensor-uncertainty columns (`s_EW_std`...), which are
//! read for validity but not used. Other columns are ignored and listed in
//! [`Encounter::ignored_columns`]. Every value is converted to SI once, here.

use std::collections::{BTreeMap, HashMap};

use crate::conf::column_of;
use crate::error::{ErrorKind, ParseError};
use crate::geom::Vec3;
use crate::projection::LatLonAlt;
use crate::units::{self, Dimension, Unit};

/// Largest encounter file accepted, bytes.
pub const ENCOUNTER_BYTES_MAX: usize = 256 << 20;
/// Longest line accepted, bytes.
pub const ENCOUNTER_LINE_BYTES_MAX: usize = 4096;
/// Most columns in the header.
pub const COLUMNS_MAX: usize = 64;
/// Most aircraft rows in one file.
pub const ROWS_MAX: usize = 4_000_000;
/// Most aircraft in one time step.
pub const AIRCRAFT_PER_STEP_MAX: usize = 10_000;
/// Longest aircraft name, bytes.
pub const NAME_BYTES_MAX: usize = 64;

/// Position of an aircraft, in the frame the file uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Geodetic (`.daa`).
    Geodetic(LatLonAlt),
    /// Local Euclidean East/North/Up, metres (`.xyz`).
    Euclidean(Vec3),
}

/// One aircraft at one time step, SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct AircraftState {
    /// Aircraft name.
    pub id: String,
    /// Position.
    pub position: Position,
    /// Ground velocity East/North/Up, m/s.
    pub velocity_mps: Vec3,
    /// Air velocity as (heading rad, airspeed m/s) when the file gives it.
    pub air_velocity: Option<(f64, f64)>,
    /// 1-based alerter index from the `alerter` column; 0 means none.
    pub alerter: Option<u32>,
    /// Line of the row in the file.
    pub line: usize,
}

/// All aircraft of one time step, ordered by each aircraft's first appearance anywhere in the
/// file (DAIDALUS's order: the first present is the default ownship).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Time, seconds.
    pub time_s: f64,
    /// Aircraft, ordered by first appearance in the file.
    pub aircraft: Vec<AircraftState>,
}

/// A parsed encounter: time steps in increasing time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    /// Steps, increasing time.
    pub steps: Vec<Step>,
    /// True for lat/lon/alt files.
    pub geodetic: bool,
    /// Header columns that were not recognised and were ignored.
    pub ignored_columns: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    Name,
    Lat,
    Lon,
    Alt,
    Sx,
    Sy,
    Sz,
    Trk,
    Gs,
    Vs,
    Vx,
    Vy,
    Vz,
    Time,
    Heading,
    Airspeed,
    Alerter,
    Uncertainty,
    Ignored,
}

impl Col {
    fn from_name(n: &str) -> Col {
        match n.to_ascii_lowercase().as_str() {
            "name" | "aircraft" | "id" => Col::Name,
            "lat" | "latitude" => Col::Lat,
            "lon" | "long" | "longitude" => Col::Lon,
            "alt" | "altitude" => Col::Alt,
            "sx" => Col::Sx,
            "sy" => Col::Sy,
            "sz" => Col::Sz,
            "trk" | "track" => Col::Trk,
            "gs" | "groundspeed" | "groundspd" => Col::Gs,
            "vs" | "verticalspeed" | "hdot" => Col::Vs,
            "vx" => Col::Vx,
            "vy" => Col::Vy,
            "vz" => Col::Vz,
            "time" | "tm" | "st" => Col::Time,
            "heading" => Col::Heading,
            "airspeed" => Col::Airspeed,
            "alerter" => Col::Alerter,
            "s_ew_std" | "s_ns_std" | "s_en_std" | "sz_std" | "v_ew_std" | "v_ns_std"
            | "v_en_std" | "vz_std" => Col::Uncertainty,
            _ => Col::Ignored,
        }
    }

    fn dimension(self) -> Option<Dimension> {
        Some(match self {
            Col::Lat | Col::Lon | Col::Trk | Col::Heading => Dimension::Angle,
            Col::Alt | Col::Sx | Col::Sy | Col::Sz => Dimension::Length,
            Col::Gs | Col::Vs | Col::Vx | Col::Vy | Col::Vz | Col::Airspeed => Dimension::Speed,
            Col::Time => Dimension::Time,
            Col::Name | Col::Alerter => Dimension::None,
            Col::Uncertainty | Col::Ignored => return None,
        })
    }
}

/// Splits a line into fields (separators: commas and white space), with their 1-based columns.
fn fields(line: &str) -> Vec<(usize, &str)> {
    line.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|f| !f.is_empty())
        .map(|f| (column_of(line, f), f))
        .collect()
}

struct Layout {
    cols: Vec<(Col, Unit)>,
    geodetic: bool,
    polar_velocity: bool,
}

impl Layout {
    fn index(&self, c: Col) -> Option<usize> {
        self.cols.iter().position(|(x, _)| *x == c)
    }
}

/// Builds the errors of one input file.
struct At<'a> {
    file: &'a str,
}

impl At<'_> {
    fn err(&self, line: usize, column: usize, kind: ErrorKind) -> ParseError {
        ParseError::at(self.file, line, column, kind)
    }

    fn check_len(&self, n: usize, l: &str) -> Result<(), ParseError> {
        ParseError::check_line(self.file, n, l, ENCOUNTER_LINE_BYTES_MAX)
    }
}

/// Parses an encounter file. `file` names the input in error messages.
pub fn parse_encounter(file: &str, text: &str) -> Result<Encounter, ParseError> {
    let at = At { file };
    ParseError::check_size(file, text, ENCOUNTER_BYTES_MAX)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
    let Some((hline, header)) = lines.next() else {
        return Err(at.err(
            1,
            1,
            ErrorKind::Missing("header line of column names".into()),
        ));
    };
    let names = read_names(&at, hline, header)?;
    let Some((uline, units_text)) = lines.next() else {
        return Err(at.err(
            hline + 1,
            1,
            ErrorKind::Missing("line of units after the header".into()),
        ));
    };
    let (cols, ignored_columns) = read_columns(&at, (hline, &names), (uline, units_text))?;
    let layout = check_columns(&at, hline, cols)?;
    let steps = read_rows(&at, lines, &layout)?;
    Ok(Encounter {
        steps,
        geodetic: layout.geodetic,
        ignored_columns,
    })
}

/// The column names of the header line, with their columns.
fn read_names<'t>(
    at: &At,
    hline: usize,
    header: &'t str,
) -> Result<Vec<(usize, &'t str)>, ParseError> {
    at.check_len(hline, header)?;
    let names = fields(header);
    if names.len() > COLUMNS_MAX {
        return Err(at.err(
            hline,
            1,
            ErrorKind::TooMany {
                what: "columns",
                limit: COLUMNS_MAX,
            },
        ));
    }
    Ok(names)
}

/// Each column the header names that is read, with its unit.
type Columns = Vec<(Col, Unit)>;

/// The columns the header names, each with its unit from the line of units, and the names of
/// the columns ignored.
fn read_columns(
    at: &At,
    (hline, names): (usize, &[(usize, &str)]),
    (uline, units_text): (usize, &str),
) -> Result<(Columns, Vec<String>), ParseError> {
    at.check_len(uline, units_text)?;
    let unit_fields = fields(units_text);
    if unit_fields.len() != names.len() {
        return Err(at.err(
            uline,
            1,
            ErrorKind::Syntax(format!(
                "{} units for {} columns",
                unit_fields.len(),
                names.len()
            )),
        ));
    }
    let mut cols = Vec::with_capacity(names.len());
    let mut ignored_columns = Vec::new();
    for ((ncol, name), (ucol, unit_text)) in names.iter().zip(&unit_fields) {
        let c = Col::from_name(name);
        if c == Col::Ignored {
            ignored_columns.push((*name).to_string());
        } else if c != Col::Uncertainty && cols.iter().any(|(x, _): &(Col, Unit)| *x == c) {
            return Err(at.err(
                hline,
                *ncol,
                ErrorKind::Duplicate(format!("column '{name}'")),
            ));
        }
        let uname = unit_text
            .strip_prefix('[')
            .and_then(|u| u.strip_suffix(']'))
            .unwrap_or(unit_text);
        let Some(unit) = units::lookup(uname) else {
            return Err(at.err(uline, *ucol, ErrorKind::UnknownUnit(uname.into())));
        };
        if let Some(dim) = c.dimension()
            && unit.dimension != dim
        {
            return Err(at.err(
                uline,
                *ucol,
                ErrorKind::WrongUnit {
                    unit: uname.into(),
                    expected: dim_name(dim),
                    field: (*name).into(),
                },
            ));
        }
        cols.push((c, unit));
    }
    Ok((cols, ignored_columns))
}

/// Checks that the columns say where and how fast each aircraft is in exactly one way.
fn check_columns(at: &At, hline: usize, cols: Columns) -> Result<Layout, ParseError> {
    let has = |c| cols.iter().any(|(x, _)| *x == c);
    let missing = |what: &str| at.err(hline, 1, ErrorKind::Missing(format!("column(s) {what}")));
    if !has(Col::Name) {
        return Err(missing("'name'"));
    }
    if !has(Col::Time) {
        return Err(missing("'time'"));
    }
    let geodetic = has(Col::Lat) || has(Col::Lon) || has(Col::Alt);
    if geodetic && !(has(Col::Lat) && has(Col::Lon) && has(Col::Alt)) {
        return Err(missing("'lat lon alt'"));
    }
    if geodetic && (has(Col::Sx) || has(Col::Sy) || has(Col::Sz)) {
        return Err(at.err(
            hline,
            1,
            ErrorKind::Syntax("both 'lat lon alt' and 'sx sy sz' columns".into()),
        ));
    }
    let euclidean = has(Col::Sx) && has(Col::Sy) && has(Col::Sz);
    if !geodetic && !euclidean {
        return Err(missing("'lat lon alt' or 'sx sy sz'"));
    }
    let polar_velocity = has(Col::Trk) || has(Col::Gs) || has(Col::Vs);
    let cartesian_velocity = has(Col::Vx) || has(Col::Vy) || has(Col::Vz);
    if polar_velocity == cartesian_velocity
        || (polar_velocity && !(has(Col::Trk) && has(Col::Gs) && has(Col::Vs)))
        || (cartesian_velocity && !(has(Col::Vx) && has(Col::Vy) && has(Col::Vz)))
    {
        return Err(missing("exactly one of 'trk gs vs' or 'vx vy vz'"));
    }
    if has(Col::Heading) != has(Col::Airspeed) {
        return Err(missing("'heading' and 'airspeed' together"));
    }
    Ok(Layout {
        cols,
        geodetic,
        polar_velocity,
    })
}

/// The data rows, grouped into time steps in time order; in each step the aircraft are in the
/// order they first appear in the file.
fn read_rows<'t>(
    at: &At,
    lines: impl Iterator<Item = (usize, &'t str)>,
    layout: &Layout,
) -> Result<Vec<Step>, ParseError> {
    let mut steps: BTreeMap<u64, Step> = BTreeMap::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut rows = 0usize;
    for (n, line) in lines {
        at.check_len(n, line)?;
        rows += 1;
        if rows > ROWS_MAX {
            return Err(at.err(
                n,
                1,
                ErrorKind::TooMany {
                    what: "rows",
                    limit: ROWS_MAX,
                },
            ));
        }
        let f = fields(line);
        if f.len() != layout.cols.len() {
            let col = f
                .get(layout.cols.len())
                .map_or(line.chars().count() + 1, |x| x.0);
            return Err(at.err(
                n,
                col,
                ErrorKind::Syntax(format!(
                    "{} fields, the header has {} columns",
                    f.len(),
                    layout.cols.len()
                )),
            ));
        }
        let (time_s, ac) = parse_row(at.file, n, &f, layout)?;
        let key = ordered_key(time_s);
        let step = steps.entry(key).or_insert_with(|| Step {
            time_s,
            aircraft: Vec::new(),
        });
        if let Some(prev) = step.aircraft.iter().find(|a| a.id == ac.id) {
            let col = layout
                .index(Col::Name)
                .and_then(|i| f.get(i))
                .map_or(1, |x| x.0);
            return Err(at.err(
                n,
                col,
                ErrorKind::Duplicate(format!(
                    "aircraft '{}' at time {time_s} s (first on line {})",
                    ac.id, prev.line
                )),
            ));
        }
        if step.aircraft.len() >= AIRCRAFT_PER_STEP_MAX {
            return Err(at.err(
                n,
                1,
                ErrorKind::TooMany {
                    what: "aircraft in one time step",
                    limit: AIRCRAFT_PER_STEP_MAX,
                },
            ));
        }
        let order = first_seen.len();
        first_seen.entry(ac.id.clone()).or_insert(order);
        step.aircraft.push(ac);
    }
    let mut steps: Vec<Step> = steps.into_values().collect();
    for step in &mut steps {
        step.aircraft
            .sort_by_key(|a| first_seen.get(&a.id).copied().unwrap_or(usize::MAX));
    }
    Ok(steps)
}

/// Key whose order is the numeric order of finite doubles.
fn ordered_key(t: f64) -> u64 {
    let b = t.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn dim_name(d: Dimension) -> &'static str {
    match d {
        Dimension::Length => "length",
        Dimension::Time => "time",
        Dimension::Speed => "speed",
        Dimension::Angle => "angle",
        Dimension::Acceleration => "acceleration",
        Dimension::AngularRate => "angular rate",
        Dimension::None => "nothing (none/unitless)",
    }
}

fn parse_row(
    file: &str,
    n: usize,
    f: &[(usize, &str)],
    layout: &Layout,
) -> Result<(f64, AircraftState), ParseError> {
    let err = |column, kind| ParseError::at(file, n, column, kind);
    let raw = |c: Col| layout.index(c).and_then(|i| f.get(i).map(|x| (i, *x)));
    // A numeric field in SI; absent columns read as None.
    let num = |c: Col| -> Result<Option<f64>, ParseError> {
        let Some((i, (col, text))) = raw(c) else {
            return Ok(None);
        };
        let name = format!("{c:?}").to_ascii_lowercase();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v * layout.cols[i].1.to_si)),
            _ => Err(err(
                col,
                ErrorKind::NotANumber {
                    field: name,
                    value: text.into(),
                },
            )),
        }
    };
    let need = |c: Col| -> Result<f64, ParseError> {
        num(c)?.ok_or_else(|| err(1, ErrorKind::Missing(format!("{c:?}"))))
    };
    let out_of_range = |c: Col, v: f64, range: &'static str| {
        let col = raw(c).map_or(1, |(_, (col, _))| col);
        err(
            col,
            ErrorKind::OutOfRange {
                field: format!("{c:?}").to_ascii_lowercase(),
                value: v.to_string(),
                range,
            },
        )
    };
    let Some((_, (ncol, id))) = raw(Col::Name) else {
        return Err(err(1, ErrorKind::Missing("name".into())));
    };
    if id.len() > NAME_BYTES_MAX {
        return Err(err(
            ncol,
            ErrorKind::OutOfRange {
                field: "name".into(),
                value: id.into(),
                range: "at most NAME_BYTES_MAX = 64 bytes",
            },
        ));
    }
    let time_s = need(Col::Time)?;
    let position = if layout.geodetic {
        let lat = need(Col::Lat)?;
        let lon = need(Col::Lon)?;
        let alt = need(Col::Alt)?;
        if lat.abs() > std::f64::consts::FRAC_PI_2 {
            return Err(out_of_range(Col::Lat, lat.to_degrees(), "-90..=90 deg"));
        }
        if lon.abs() > std::f64::consts::PI {
            return Err(out_of_range(Col::Lon, lon.to_degrees(), "-180..=180 deg"));
        }
        Position::Geodetic(LatLonAlt {
            lat_rad: lat,
            lon_rad: lon,
            alt_m: alt,
        })
    } else {
        Position::Euclidean(Vec3::new(need(Col::Sx)?, need(Col::Sy)?, need(Col::Sz)?))
    };
    let velocity_mps = if layout.polar_velocity {
        let trk = need(Col::Trk)?;
        let gs = need(Col::Gs)?;
        if gs < 0.0 {
            return Err(out_of_range(Col::Gs, gs, "ground speed must be ≥ 0"));
        }
        Vec3::new(gs * trk.sin(), gs * trk.cos(), need(Col::Vs)?)
    } else {
        Vec3::new(need(Col::Vx)?, need(Col::Vy)?, need(Col::Vz)?)
    };
    let air_velocity = match (num(Col::Heading)?, num(Col::Airspeed)?) {
        (Some(h), Some(a)) if a < 0.0 => {
            let _ = h;
            return Err(out_of_range(Col::Airspeed, a, "airspeed must be ≥ 0"));
        }
        (Some(h), Some(a)) => Some((h, a)),
        _ => None,
    };
    let alerter = match raw(Col::Alerter) {
        None => None,
        Some((_, (col, text))) => match text.parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => {
                return Err(err(
                    col,
                    ErrorKind::OutOfRange {
                        field: "alerter".into(),
                        value: text.into(),
                        range: "a non-negative integer",
                    },
                ));
            }
        },
    };
    // The uncertainty columns are not used, but a malformed number is still an error.
    for (i, (c, _)) in layout.cols.iter().enumerate() {
        if *c == Col::Uncertainty
            && let Some((col, text)) = f.get(i)
            && !text.parse::<f64>().is_ok_and(f64::is_finite)
        {
            return Err(err(
                *col,
                ErrorKind::NotANumber {
                    field: "uncertainty".into(),
                    value: (*text).into(),
                },
            ));
        }
    }
    Ok((
        time_s,
        AircraftState {
            id: id.to_string(),
            position,
            velocity_mps,
            air_velocity,
            alerter,
            line: n,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str =
        "NAME lat lon alt trk gs vs time\n[none] [deg] [deg] [ft] [deg] [knot] [fpm] [s]\n";

    fn check_err(body: &str, line: usize, column: usize, needle: &str) {
        let e = parse_encounter("e.daa", &format!("{H}{body}")).expect_err("must be rejected");
        let msg = e.to_string();
        assert!(msg.contains(needle), "'{msg}' should mention '{needle}'");
        assert_eq!(
            (e.location.line, e.location.column),
            (line, column),
            "{msg}"
        );
    }

    #[test]
    fn rows_group_into_steps_in_si() {
        let e = parse_encounter(
            "e.daa",
            &format!("{H}# comment\n\nA, 10, 20, 1000, 90, 100, 60, 0\nB 10.1 20 1000 270 100 0 0\nA, 10, 20.01, 1000, 90, 100, 60, 1\n"),
        )
        .unwrap();
        assert_eq!(e.steps.len(), 2);
        assert_eq!(e.steps[0].aircraft.len(), 2);
        assert_eq!(e.steps[0].aircraft[0].id, "A");
        let a = &e.steps[0].aircraft[0];
        assert!((a.velocity_mps.x - 100.0 * 1852.0 / 3600.0).abs() < 1e-9);
        assert!((a.velocity_mps.z - 0.3048).abs() < 1e-12);
        let Position::Geodetic(p) = a.position else {
            panic!()
        };
        assert!((p.alt_m - 304.8).abs() < 1e-9);
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        check_err("A, 200, 20, 1000, 90, 100, 60, 0\n", 3, 4, "-90..=90");
        check_err(
            "A, 10, 20, 1000, 90, NaN, 60, 0\n",
            3,
            22,
            "not a finite number",
        );
        check_err("A, 10, 20, 1000, 90, -5, 60, 0\n", 3, 22, "ground speed");
        check_err("A, 10, 20, 1000, 90, 5, 60\n", 3, 27, "7 fields");
        check_err(
            "A, 10, 20, 1000, 90, 5, 60, 0\nA, 10, 20, 1000, 90, 5, 60, 0\n",
            4,
            1,
            "duplicate aircraft 'A'",
        );
    }

    #[test]
    fn header_problems_are_errors() {
        let e = parse_encounter(
            "e.daa",
            "NAME lat lon alt trk gs vs time\n[none] [deg] [deg] [fathom] [deg] [knot] [fpm] [s]\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("e.daa:2:20: unknown unit [fathom]"),
            "{e}"
        );
        let e = parse_encounter(
            "e.daa",
            "NAME lat lon trk gs vs time\n[none] [deg] [deg] [deg] [knot] [fpm] [s]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("'lat lon alt'"), "{e}");
        let e = parse_encounter("e.daa", "").unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
        let e = parse_encounter(
            "e.daa",
            "NAME lat lon alt trk gs vs time\n[none] [deg] [deg] [deg] [deg] [knot] [fpm] [s]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a unit of length"), "{e}");
    }

    #[test]
    fn milliseconds_and_euclidean_frame() {
        let e = parse_encounter(
            "e.xyz",
            "NAME sx sy sz vx vy vz time alerter\n[none] [nmi] [nmi] [ft] [knot] [knot] [fpm] [ms] [none]\nA 1 2 3 4 5 6 1500 2\n",
        )
        .unwrap();
        assert!(!e.geodetic);
        assert_eq!(e.steps[0].time_s, 1.5);
        assert_eq!(e.steps[0].aircraft[0].alerter, Some(2));
        assert_eq!(
            e.steps[0].aircraft[0].position,
            Position::Euclidean(Vec3::new(1852.0, 3704.0, 3.0 * 0.3048))
        );
    }
}
