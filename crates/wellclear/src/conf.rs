//! DAIDALUS v2.0.4 configuration files (`.conf`): `key = value [unit]` lines.
//!
//! The parser is pure (text in, [`Config`] out). It reads what alerting needs — lookahead,
//! hysteresis, persistence, M-of-N, alerting logic, corrective region, the alerters with their
//! levels and detectors — and accepts, without using, the keys that only configure maneuver
//! guidance (bands). Any other key, an unknown unit, a unit of the wrong dimension, or a value
//! out of range is an error naming the line and column. Sensor-uncertainty-mitigation (SUM)
//! detectors are rejected with an error naming the key that selects them.
//!
//! `lookahead_time` and `alerters` are required. Absent keys take these values: `hysteresis_time`
//! and `persistence_time` 0 s, `alerting_m`/`alerting_n` 0 (M-of-N off), `ownship_centric_alerting`
//! true, `corrective_region` MID, a level's `early_alerting_time` its `alerting_time`. A number
//! without a unit is taken in SI, as DAIDALUS does.

use std::collections::{BTreeMap, HashSet};

use crate::detect::{Cylinder, WcvTaumod};
use crate::error::{ErrorKind, Location, ParseError};
use crate::tcas::{TCAS_LEVELS, TcasTable};
use crate::units::{self, Dimension};

/// Largest configuration file accepted, bytes.
pub const CONF_BYTES_MAX: usize = 1 << 20;
/// Longest line accepted, bytes.
pub const CONF_LINE_BYTES_MAX: usize = 4096;
/// Most `key = value` entries accepted in one file.
pub const CONF_KEYS_MAX: usize = 10_000;
/// Most alerters in one configuration.
pub const ALERTERS_MAX: usize = 16;
/// Most alert levels in one alerter.
pub const LEVELS_MAX: usize = 8;
/// Largest N of the M-of-N filter.
pub const MOFN_N_MAX: u32 = 64;

/// Bands region an alert level corresponds to (DO-365 guidance colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// No guidance (e.g. the DO-365 preventive level).
    None,
    /// Far region.
    Far,
    /// Mid region (DO-365 corrective).
    Mid,
    /// Near region (DO-365 warning).
    Near,
}

/// The detector (well-clear volume) of one alert level.
#[derive(Debug, Clone, PartialEq)]
pub enum Detector {
    /// DO-365 `WCV_TAUMOD` thresholds.
    WcvTaumod(WcvTaumod),
    /// The CD3D cylinder.
    Cylinder(Cylinder),
    /// Idealised TCAS II.
    Tcas3d(Box<TcasTable>),
}

/// One alert level of an alerter (DO-365 alerting thresholds: preventive, corrective, warning).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLevel {
    region: Region,
    alerting_time_s: f64,
    early_alerting_time_s: f64,
    detector: Detector,
}

impl AlertLevel {
    /// Guidance region of this level.
    pub fn region(&self) -> Region {
        self.region
    }
    /// A loss of the level's volume predicted within this time raises the level.
    pub fn alerting_time_s(&self) -> f64 {
        self.alerting_time_s
    }
    /// Alerting time used while the level is already raised (hysteresis on entry).
    pub fn early_alerting_time_s(&self) -> f64 {
        self.early_alerting_time_s
    }
    /// The level's volume.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }
}

/// An alerter: alert levels ordered from least (1) to most severe.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerter {
    name: String,
    levels: Vec<AlertLevel>,
}

impl Alerter {
    /// The alerter's name in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Levels, index 0 = alert level 1.
    pub fn levels(&self) -> &[AlertLevel] {
        &self.levels
    }
    /// First level whose region is `region`, 1-based.
    pub fn level_for_region(&self, region: Region) -> Option<usize> {
        self.levels
            .iter()
            .position(|l| l.region == region)
            .map(|i| i + 1)
    }
}

/// M-of-N filter parameters: an alert level is output when M of the last N raw levels reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MofN {
    m: u32,
    n: u32,
}

impl MofN {
    /// `Some` when 0 < m ≤ n ≤ [`MOFN_N_MAX`]; DAIDALUS switches the filter off otherwise.
    pub fn new(m: u32, n: u32) -> Option<Self> {
        (m > 0 && m <= n && n <= MOFN_N_MAX).then_some(Self { m, n })
    }
    /// M.
    pub fn m(&self) -> u32 {
        self.m
    }
    /// N.
    pub fn n(&self) -> u32 {
        self.n
    }
}

/// A unit used to print a CSV column: its name and the factor from SI.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputUnit {
    /// Name as written between brackets.
    pub name: String,
    /// Value in SI times `1 / to_si` gives the value in this unit.
    pub to_si: f64,
}

/// Units DaidalusAlerting prints its columns in: those of `min_horizontal_recovery`,
/// `min_vertical_recovery`, `step_hs` and `step_vs`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputUnits {
    /// Horizontal distances.
    pub horizontal: OutputUnit,
    /// Vertical distances.
    pub vertical: OutputUnit,
    /// Horizontal speeds.
    pub horizontal_speed: OutputUnit,
    /// Vertical speeds.
    pub vertical_speed: OutputUnit,
}

/// A validated alerting configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    lookahead_s: f64,
    hysteresis_s: f64,
    persistence_s: f64,
    mofn: Option<MofN>,
    ownship_centric: bool,
    corrective_region: Region,
    alerters: Vec<Alerter>,
    output_units: OutputUnits,
    bands: BandsConfig,
}

impl Config {
    /// Lookahead time, s.
    pub fn lookahead_s(&self) -> f64 {
        self.lookahead_s
    }
    /// Hysteresis time, s: alert history older than this is forgotten.
    pub fn hysteresis_s(&self) -> f64 {
        self.hysteresis_s
    }
    /// Persistence time, s: a raised level is held at least this long.
    pub fn persistence_s(&self) -> f64 {
        self.persistence_s
    }
    /// M-of-N filter, if enabled.
    pub fn mofn(&self) -> Option<MofN> {
        self.mofn
    }
    /// True when the ownship's alerter is used for every intruder; false: each intruder's own.
    pub fn ownship_centric(&self) -> bool {
        self.ownship_centric
    }
    /// Region of the corrective alert.
    pub fn corrective_region(&self) -> Region {
        self.corrective_region
    }
    /// Alerters; index 0 = alerter 1.
    pub fn alerters(&self) -> &[Alerter] {
        &self.alerters
    }
    /// Units of the CSV columns.
    pub fn output_units(&self) -> &OutputUnits {
        &self.output_units
    }
    /// Guidance bands parameters.
    pub fn bands(&self) -> &BandsConfig {
        &self.bands
    }
    /// The same configuration with instantaneous bands (no turn rate, bank angle or
    /// accelerations), as DaidalusBatch's `--instantaneous` sets it.
    pub fn with_instantaneous_bands(mut self) -> Self {
        self.bands.turn_rate_rps = 0.0;
        self.bands.bank_angle_rad = 0.0;
        self.bands.horizontal_accel_mps2 = 0.0;
        self.bands.vertical_accel_mps2 = 0.0;
        self
    }
    /// Largest number of levels over all alerters.
    pub fn max_alert_level(&self) -> usize {
        self.alerters
            .iter()
            .map(|a| a.levels.len())
            .max()
            .unwrap_or(0)
    }
}

/// Global keys of DAIDALUS v2.0.4 that neither alerting nor guidance bands use here: sensor
/// uncertainty parameters (SUM detectors are refused), the horizontal contour threshold (contours
/// are not computed), the terminal-area (DTA) geometry (DTA logic is refused unless 0), and the
/// minimum airspeed that only matters with `hdir_bands_below_min_as` (refused unless 0). They are
/// read for syntax and units.
const UNUSED_KEYS: &[&str] = &[
    "min_airspeed",
    "h_pos_z_score",
    "h_vel_z_score_min",
    "h_vel_z_score_max",
    "h_vel_z_distance",
    "v_pos_z_score",
    "v_vel_z_score",
    "contour_thr",
    "dta_latitude",
    "dta_longitude",
    "dta_radius",
    "dta_height",
    "dta_alerter",
];

struct Entry {
    value: String,
    unit: Option<(String, units::Unit)>,
    line: usize,
    key_col: usize,
    value_col: usize,
    unit_col: usize,
}

struct Entries<'a> {
    file: &'a str,
    map: BTreeMap<String, Entry>,
    used: HashSet<String>,
    last_line: usize,
}

impl Entries<'_> {
    fn err_at(&self, line: usize, column: usize, kind: ErrorKind) -> ParseError {
        ParseError {
            location: Location {
                file: self.file.to_string(),
                line,
                column,
            },
            kind,
        }
    }

    fn missing(&self, key: &str) -> ParseError {
        self.err_at(
            self.last_line + 1,
            1,
            ErrorKind::Missing(format!("key '{key}'")),
        )
    }

    fn get(&mut self, key: &str) -> Option<&Entry> {
        let e = self.map.get(key)?;
        self.used.insert(key.to_string());
        Some(e)
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ParseError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        if e.unit.is_some() {
            let (line, col) = (e.line, e.unit_col);
            let unit = e.unit.as_ref().map(|u| u.0.clone()).unwrap_or_default();
            return Err(self.err_at(
                line,
                col,
                ErrorKind::WrongUnit {
                    unit,
                    expected: "nothing (a name)",
                    field: key.into(),
                },
            ));
        }
        Ok(Some(e.value.clone()))
    }

    /// A number in SI. Without a unit the value is taken as SI, as DAIDALUS does.
    fn number(&mut self, key: &str, dim: Dimension) -> Result<Option<f64>, ParseError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        let (line, vcol, ucol) = (e.line, e.value_col, e.unit_col);
        let value: f64 = match e.value.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let kind = ErrorKind::NotANumber {
                    field: key.into(),
                    value: e.value.clone(),
                };
                return Err(self.err_at(line, vcol, kind));
            }
        };
        match &e.unit {
            None => Ok(Some(value)),
            Some((name, unit)) if unit.dimension == dim => Ok(Some(value * unit.to_si)),
            Some((name, _)) => {
                let kind = ErrorKind::WrongUnit {
                    unit: name.clone(),
                    expected: dimension_name(dim),
                    field: key.into(),
                };
                Err(self.err_at(line, ucol, kind))
            }
        }
    }

    fn non_negative(&mut self, key: &str, dim: Dimension) -> Result<Option<f64>, ParseError> {
        match self.number(key, dim)? {
            Some(v) if v < 0.0 => Err(self.out_of_range(key, v, "must be ≥ 0")),
            other => Ok(other),
        }
    }

    fn out_of_range(&self, key: &str, v: f64, range: &'static str) -> ParseError {
        let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
        self.err_at(
            line,
            col,
            ErrorKind::OutOfRange {
                field: key.into(),
                value: v.to_string(),
                range,
            },
        )
    }

    fn integer(&mut self, key: &str) -> Result<Option<u32>, ParseError> {
        let Some(v) = self.number(key, Dimension::None)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(self.out_of_range(key, v, "a non-negative integer"));
        }
        Ok(Some(v as u32))
    }

    fn boolean(&mut self, key: &str) -> Result<Option<bool>, ParseError> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => {
                let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
                Err(self.err_at(
                    line,
                    col,
                    ErrorKind::Syntax(format!("{key}: expected true or false, found '{s}'")),
                ))
            }
        }
    }

    fn region(&mut self, key: &str) -> Result<Option<Region>, ParseError> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        let r = match s.to_ascii_uppercase().as_str() {
            "NONE" => Region::None,
            "FAR" => Region::Far,
            "MID" => Region::Mid,
            "NEAR" => Region::Near,
            _ => {
                let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
                return Err(self.err_at(
                    line,
                    col,
                    ErrorKind::Syntax(format!(
                        "{key}: expected NONE, FAR, MID or NEAR, found '{s}'"
                    )),
                ));
            }
        };
        Ok(Some(r))
    }

    fn output_unit(&self, key: &str, default: &str) -> OutputUnit {
        let (name, to_si) = match self.map.get(key).and_then(|e| e.unit.as_ref()) {
            Some((n, u)) => (n.clone(), u.to_si),
            None => (
                default.to_string(),
                units::lookup(default).map_or(1.0, |u| u.to_si),
            ),
        };
        OutputUnit { name, to_si }
    }
}

fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::Length => "length",
        Dimension::Time => "time",
        Dimension::Speed => "speed",
        Dimension::Angle => "angle",
        Dimension::Acceleration => "acceleration",
        Dimension::AngularRate => "angular rate",
        Dimension::None => "nothing (a plain number)",
    }
}

/// 1-based character column at which `sub`, a slice of `line`, starts.
pub(crate) fn column_of(line: &str, sub: &str) -> usize {
    let offset = (sub.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len());
    line.get(..offset).map_or(offset, |p| p.chars().count()) + 1
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses a DAIDALUS `.conf` text. `file` names the input in error messages.
pub fn parse_conf(file: &str, text: &str) -> Result<Config, ParseError> {
    let err = |line, column, kind| ParseError {
        location: Location {
            file: file.to_string(),
            line,
            column,
        },
        kind,
    };
    if text.len() > CONF_BYTES_MAX {
        return Err(err(
            1,
            1,
            ErrorKind::TooLarge {
                bytes: text.len(),
                limit: CONF_BYTES_MAX,
            },
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Entries {
        file,
        map: BTreeMap::new(),
        used: HashSet::new(),
        last_line: 0,
    };
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        entries.last_line = line;
        if raw.len() > CONF_LINE_BYTES_MAX {
            return Err(err(
                line,
                1,
                ErrorKind::LineTooLong {
                    bytes: raw.len(),
                    limit: CONF_LINE_BYTES_MAX,
                },
            ));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col_of = |sub: &str| column_of(raw, sub);
        let Some(eq) = raw.find('=') else {
            return Err(err(
                line,
                col_of(raw.trim_start()),
                ErrorKind::Syntax("expected 'key = value [unit]'".into()),
            ));
        };
        let key = raw[..eq].trim();
        let key_col = col_of(raw[..eq].trim_start());
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(err(
                line,
                key_col,
                ErrorKind::Syntax(format!("'{key}' is not a key (letters, digits, '_')")),
            ));
        }
        let rest = &raw[eq + 1..];
        let mut value = rest.trim();
        let value_col = col_of(rest.trim_start());
        let mut unit = None;
        let mut unit_col = value_col;
        if value.ends_with(']') {
            let Some(open) = value.rfind('[') else {
                return Err(err(
                    line,
                    value_col,
                    ErrorKind::Syntax("']' without '['".into()),
                ));
            };
            let name = value[open + 1..value.len() - 1].trim();
            unit_col = col_of(&rest.trim_start()[open..]);
            let Some(u) = units::lookup(name) else {
                return Err(err(line, unit_col, ErrorKind::UnknownUnit(name.into())));
            };
            unit = Some((name.to_string(), u));
            value = value[..open].trim();
        }
        if entries.map.len() >= CONF_KEYS_MAX {
            return Err(err(
                line,
                key_col,
                ErrorKind::TooMany {
                    what: "keys",
                    limit: CONF_KEYS_MAX,
                },
            ));
        }
        if let Some(prev) = entries.map.get(key) {
            return Err(err(
                line,
                key_col,
                ErrorKind::Duplicate(format!("key '{key}' (first on line {})", prev.line)),
            ));
        }
        entries.map.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                unit,
                line,
                key_col,
                value_col,
                unit_col,
            },
        );
    }
    build(&mut entries)
}

fn build(e: &mut Entries<'_>) -> Result<Config, ParseError> {
    let lookahead_s = e
        .number("lookahead_time", Dimension::Time)?
        .ok_or_else(|| e.missing("lookahead_time"))?;
    if lookahead_s <= 0.0 {
        return Err(e.out_of_range("lookahead_time", lookahead_s, "must be > 0"));
    }
    let hysteresis_s = e
        .non_negative("hysteresis_time", Dimension::Time)?
        .unwrap_or(0.0);
    let persistence_s = e
        .non_negative("persistence_time", Dimension::Time)?
        .unwrap_or(0.0);
    let m = e.integer("alerting_m")?.unwrap_or(0);
    let n = e.integer("alerting_n")?.unwrap_or(0);
    if n > MOFN_N_MAX {
        return Err(e.out_of_range("alerting_n", f64::from(n), "at most MOFN_N_MAX = 64"));
    }
    let mofn = MofN::new(m, n);
    let ownship_centric = e.boolean("ownship_centric_alerting")?.unwrap_or(true);
    let corrective_region = e.region("corrective_region")?.unwrap_or(Region::Mid);
    if let Some(dta) = e.integer_signed("dta_logic")?
        && dta != 0
    {
        let (line, col) = e
            .map
            .get("dta_logic")
            .map_or((0, 1), |x| (x.line, x.value_col));
        return Err(e.err_at(
            line,
            col,
            ErrorKind::Unsupported {
                key: "dta_logic".into(),
                value: dta.to_string(),
                why: "DAA terminal-area (DTA) logic is not supported yet; set dta_logic = 0",
            },
        ));
    }
    for key in UNUSED_KEYS {
        let _ = e.get(key);
    }
    let bands = build_bands(e)?;
    let output_units = OutputUnits {
        horizontal: e.output_unit("min_horizontal_recovery", "nmi"),
        vertical: e.output_unit("min_vertical_recovery", "ft"),
        horizontal_speed: e.output_unit("step_hs", "knot"),
        vertical_speed: e.output_unit("step_vs", "fpm"),
    };
    let names = e.string("alerters")?.ok_or_else(|| e.missing("alerters"))?;
    let names: Vec<String> = names
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(e.missing("alerter names in 'alerters'"));
    }
    if names.len() > ALERTERS_MAX {
        let (line, col) = e
            .map
            .get("alerters")
            .map_or((0, 1), |x| (x.line, x.value_col));
        return Err(e.err_at(
            line,
            col,
            ErrorKind::TooMany {
                what: "alerters",
                limit: ALERTERS_MAX,
            },
        ));
    }
    let mut alerters = Vec::with_capacity(names.len());
    for name in names {
        alerters.push(build_alerter(e, &name)?);
    }
    // Everything else is unknown: a typo must not silently fall back to a default.
    let unused = e
        .map
        .iter()
        .filter(|(k, _)| !e.used.contains(*k))
        .min_by_key(|(_, x)| x.line);
    if let Some((key, x)) = unused {
        return Err(e.err_at(x.line, x.key_col, ErrorKind::UnknownKey(key.clone())));
    }
    Ok(Config {
        lookahead_s,
        hysteresis_s,
        persistence_s,
        mofn,
        ownship_centric,
        corrective_region,
        alerters,
        output_units,
        bands,
    })
}

/// Guidance bands parameters of a configuration (DAIDALUS v2.0.4 `DaidalusParameters`), SI units.
/// Absent keys take DAIDALUS's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BandsConfig {
    /// Left and right limits of direction bands relative to the current direction, rad.
    pub left_hdir_rad: f64,
    /// See `left_hdir_rad`.
    pub right_hdir_rad: f64,
    /// Horizontal speed range, m/s.
    pub min_hs_mps: f64,
    /// See `min_hs_mps`.
    pub max_hs_mps: f64,
    /// Vertical speed range, m/s.
    pub min_vs_mps: f64,
    /// See `min_vs_mps`.
    pub max_vs_mps: f64,
    /// Altitude range, m.
    pub min_alt_m: f64,
    /// See `min_alt_m`.
    pub max_alt_m: f64,
    /// Band granularity: direction rad, horizontal speed m/s, vertical speed m/s, altitude m.
    pub step_hdir_rad: f64,
    /// See `step_hdir_rad`.
    pub step_hs_mps: f64,
    /// See `step_hdir_rad`.
    pub step_vs_mps: f64,
    /// See `step_hdir_rad`.
    pub step_alt_m: f64,
    /// Horizontal acceleration of speed maneuvers, m/s² (0: instantaneous speed bands).
    pub horizontal_accel_mps2: f64,
    /// Vertical acceleration, m/s² (0: instantaneous vertical speed and altitude bands).
    pub vertical_accel_mps2: f64,
    /// Turn rate, rad/s; when 0 the bank angle gives it; both 0: instantaneous direction bands.
    pub turn_rate_rps: f64,
    /// Bank angle, rad.
    pub bank_angle_rad: f64,
    /// Vertical rate of altitude maneuvers, m/s (0: instantaneous altitude bands).
    pub vertical_rate_mps: f64,
    /// Recovery volume, m (horizontal, vertical); 0 takes the TCAS II RA miss distance and
    /// altitude threshold of the ownship's sensitivity level (at least 3).
    pub min_horizontal_recovery_m: f64,
    /// See `min_horizontal_recovery_m`.
    pub min_vertical_recovery_m: f64,
    /// Recovery bands enabled for direction, horizontal speed, vertical speed, altitude.
    pub recovery: [bool; 4],
    /// Collision-avoidance bands: shrink the recovery volume down to the NMAC cylinder.
    pub ca_bands: bool,
    /// Shrinking factor of the recovery volume at each collision-avoidance iteration.
    pub ca_factor: f64,
    /// NMAC cylinder, m (horizontal, vertical).
    pub horizontal_nmac_m: f64,
    /// See `horizontal_nmac_m`.
    pub vertical_nmac_m: f64,
    /// Time added to the first recovery time found, s.
    pub recovery_stability_time_s: f64,
    /// Keep a conflict band around the current value for the persistence time.
    pub bands_persistence: bool,
    /// Changes of resolution smaller than these keep the previous one (direction rad, speeds
    /// m/s, altitude m), in the order of `recovery`.
    pub persistence_preferred: [f64; 4],
    /// Units the DaidalusBatch text prints direction, horizontal speed, vertical speed and
    /// altitude in (those of `step_hdir`, `step_hs`, `step_vs`, `step_alt`).
    pub units: [OutputUnit; 4],
}

/// Most band steps on one side of the current value: bounds the work of one band computation.
pub const BAND_STEPS_MAX: f64 = 100_000.0;

fn build_bands(e: &mut Entries<'_>) -> Result<BandsConfig, ParseError> {
    use std::f64::consts::PI;
    let deg = PI / 180.0;
    let kt = units::KNOT_MPS;
    let fpm = units::FPM_MPS;
    let ft = units::FT_M;
    let num = |e: &mut Entries<'_>, key: &str, dim, default: f64| -> Result<f64, ParseError> {
        Ok(e.number(key, dim)?.unwrap_or(default))
    };
    use Dimension::{Acceleration, Angle, AngularRate, Length, None as Plain, Speed};
    let c = BandsConfig {
        left_hdir_rad: num(e, "left_hdir", Angle, PI)?,
        right_hdir_rad: num(e, "right_hdir", Angle, PI)?,
        min_hs_mps: num(e, "min_hs", Speed, 10.0 * kt)?,
        max_hs_mps: num(e, "max_hs", Speed, 700.0 * kt)?,
        min_vs_mps: num(e, "min_vs", Speed, -6000.0 * fpm)?,
        max_vs_mps: num(e, "max_vs", Speed, 6000.0 * fpm)?,
        min_alt_m: num(e, "min_alt", Length, 100.0 * ft)?,
        max_alt_m: num(e, "max_alt", Length, 50000.0 * ft)?,
        step_hdir_rad: num(e, "step_hdir", Angle, deg)?,
        step_hs_mps: num(e, "step_hs", Speed, 5.0 * kt)?,
        step_vs_mps: num(e, "step_vs", Speed, 100.0 * fpm)?,
        step_alt_m: num(e, "step_alt", Length, 100.0 * ft)?,
        horizontal_accel_mps2: num(e, "horizontal_accel", Acceleration, 2.0)?,
        vertical_accel_mps2: num(e, "vertical_accel", Acceleration, 0.25 * units::G_MPS2)?,
        turn_rate_rps: num(e, "turn_rate", AngularRate, 3.0 * deg)?,
        bank_angle_rad: num(e, "bank_angle", Angle, 0.0)?,
        vertical_rate_mps: num(e, "vertical_rate", Speed, 500.0 * fpm)?,
        min_horizontal_recovery_m: num(e, "min_horizontal_recovery", Length, 0.66 * units::NMI_M)?,
        min_vertical_recovery_m: num(e, "min_vertical_recovery", Length, 450.0 * ft)?,
        recovery: [
            e.boolean("recovery_hdir")?.unwrap_or(true),
            e.boolean("recovery_hs")?.unwrap_or(true),
            e.boolean("recovery_vs")?.unwrap_or(true),
            e.boolean("recovery_alt")?.unwrap_or(true),
        ],
        ca_bands: e.boolean("ca_bands")?.unwrap_or(false),
        ca_factor: num(e, "ca_factor", Plain, 0.2)?,
        horizontal_nmac_m: num(e, "horizontal_nmac", Length, 500.0 * ft)?,
        vertical_nmac_m: num(e, "vertical_nmac", Length, 100.0 * ft)?,
        recovery_stability_time_s: num(e, "recovery_stability_time", Dimension::Time, 3.0)?,
        bands_persistence: e.boolean("bands_persistence")?.unwrap_or(false),
        persistence_preferred: [
            num(e, "persistence_preferred_hdir", Angle, 0.0)?,
            num(e, "persistence_preferred_hs", Speed, 0.0)?,
            num(e, "persistence_preferred_vs", Speed, 0.0)?,
            num(e, "persistence_preferred_alt", Length, 0.0)?,
        ],
        units: [
            e.output_unit("step_hdir", "deg"),
            e.output_unit("step_hs", "knot"),
            e.output_unit("step_vs", "fpm"),
            e.output_unit("step_alt", "ft"),
        ],
    };
    // Ranges and steps.
    let positive = [
        ("step_hdir", c.step_hdir_rad),
        ("step_hs", c.step_hs_mps),
        ("step_vs", c.step_vs_mps),
        ("step_alt", c.step_alt_m),
        ("horizontal_nmac", c.horizontal_nmac_m),
        ("vertical_nmac", c.vertical_nmac_m),
    ];
    for (key, v) in positive {
        if v <= 0.0 {
            return Err(e.out_of_range(key, v, "must be > 0"));
        }
    }
    let non_negative = [
        ("horizontal_accel", c.horizontal_accel_mps2),
        ("vertical_accel", c.vertical_accel_mps2),
        ("turn_rate", c.turn_rate_rps),
        ("vertical_rate", c.vertical_rate_mps),
        ("recovery_stability_time", c.recovery_stability_time_s),
        ("min_horizontal_recovery", c.min_horizontal_recovery_m),
        ("min_vertical_recovery", c.min_vertical_recovery_m),
        ("persistence_preferred_hdir", c.persistence_preferred[0]),
        ("persistence_preferred_hs", c.persistence_preferred[1]),
        ("persistence_preferred_vs", c.persistence_preferred[2]),
        ("persistence_preferred_alt", c.persistence_preferred[3]),
        ("min_hs", c.min_hs_mps),
        ("min_alt", c.min_alt_m),
    ];
    for (key, v) in non_negative {
        if v < 0.0 {
            return Err(e.out_of_range(key, v, "must be ≥ 0"));
        }
    }
    if !(0.0..PI / 2.0).contains(&c.bank_angle_rad) {
        return Err(e.out_of_range("bank_angle", c.bank_angle_rad, "must be in [0, 90) deg"));
    }
    if !(0.0..=PI).contains(&c.left_hdir_rad) {
        return Err(e.out_of_range("left_hdir", c.left_hdir_rad, "must be in [0, 180] deg"));
    }
    if !(0.0..=PI).contains(&c.right_hdir_rad) {
        return Err(e.out_of_range("right_hdir", c.right_hdir_rad, "must be in [0, 180] deg"));
    }
    if !(0.0..1.0).contains(&c.ca_factor) || c.ca_factor == 0.0 {
        return Err(e.out_of_range("ca_factor", c.ca_factor, "must be in (0, 1)"));
    }
    for (lo, hi, khi) in [
        (c.min_hs_mps, c.max_hs_mps, "max_hs"),
        (c.min_vs_mps, c.max_vs_mps, "max_vs"),
        (c.min_alt_m, c.max_alt_m, "max_alt"),
    ] {
        if lo >= hi {
            return Err(e.out_of_range(khi, hi, "must be greater than its minimum"));
        }
    }
    for (range, step, key) in [
        (2.0 * PI, c.step_hdir_rad, "step_hdir"),
        (c.max_hs_mps - c.min_hs_mps, c.step_hs_mps, "step_hs"),
        (c.max_vs_mps - c.min_vs_mps, c.step_vs_mps, "step_vs"),
        (c.max_alt_m - c.min_alt_m, c.step_alt_m, "step_alt"),
    ] {
        if range / step > BAND_STEPS_MAX {
            return Err(e.out_of_range(
                key,
                step,
                "too small: more than BAND_STEPS_MAX = 100000 steps",
            ));
        }
    }
    // What is refused rather than silently ignored.
    let refuse = |e: &Entries<'_>, key: &str, value: String, why: &'static str| {
        let (line, col) = e.map.get(key).map_or((0, 1), |x| (x.line, x.value_col));
        e.err_at(
            line,
            col,
            ErrorKind::Unsupported {
                key: key.into(),
                value,
                why,
            },
        )
    };
    for (key, dim) in [
        ("below_relative_hs", Speed),
        ("above_relative_hs", Speed),
        ("below_relative_vs", Speed),
        ("above_relative_vs", Speed),
        ("below_relative_alt", Length),
        ("above_relative_alt", Length),
    ] {
        if let Some(v) = e.number(key, dim)?
            && v != 0.0
        {
            return Err(refuse(
                e,
                key,
                v.to_string(),
                "bands relative to the current value are not supported; set it to 0",
            ));
        }
    }
    for key in ["conflict_crit", "recovery_crit"] {
        if e.boolean(key)? == Some(true) {
            return Err(refuse(
                e,
                key,
                "true".into(),
                "implicit coordination criteria are not supported; set it to false",
            ));
        }
    }
    if e.boolean("bands_add_time_to_maneuver")? == Some(true) {
        return Err(refuse(
            e,
            "bands_add_time_to_maneuver",
            "true".into(),
            "not supported; set it to false",
        ));
    }
    if let Some(v) = e.integer_signed("hdir_bands_below_min_as")?
        && v != 0
    {
        return Err(refuse(
            e,
            "hdir_bands_below_min_as",
            v.to_string(),
            "direction bands below the minimum airspeed are not supported; set it to 0",
        ));
    }
    Ok(c)
}

impl Entries<'_> {
    fn integer_signed(&mut self, key: &str) -> Result<Option<i64>, ParseError> {
        let Some(v) = self.number(key, Dimension::None)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || v.abs() > 1e9 {
            return Err(self.out_of_range(key, v, "an integer"));
        }
        Ok(Some(v as i64))
    }
}

fn build_alerter(e: &mut Entries<'_>, name: &str) -> Result<Alerter, ParseError> {
    let mut levels = Vec::new();
    for k in 1.. {
        let p = format!("{name}_alert_{k}_");
        let Some(region) = e.region(&format!("{p}region"))? else {
            break;
        };
        if k > LEVELS_MAX {
            let (line, col) = e
                .map
                .get(&format!("{p}region"))
                .map_or((0, 1), |x| (x.line, x.key_col));
            return Err(e.err_at(
                line,
                col,
                ErrorKind::TooMany {
                    what: "alert levels",
                    limit: LEVELS_MAX,
                },
            ));
        }
        let alerting_time_s = e
            .non_negative(&format!("{p}alerting_time"), Dimension::Time)?
            .ok_or_else(|| e.missing(&format!("{p}alerting_time")))?;
        let early_alerting_time_s = e
            .non_negative(&format!("{p}early_alerting_time"), Dimension::Time)?
            .unwrap_or(alerting_time_s);
        for (spread, dim) in [
            ("spread_hdir", Dimension::Angle),
            ("spread_hs", Dimension::Speed),
            ("spread_vs", Dimension::Speed),
            ("spread_alt", Dimension::Length),
        ] {
            let key = format!("{p}{spread}");
            if let Some(v) = e.number(&key, dim)?
                && v != 0.0
            {
                let (line, col) = e.map.get(&key).map_or((0, 1), |x| (x.line, x.value_col));
                return Err(e.err_at(
                        line,
                        col,
                        ErrorKind::Unsupported {
                            key,
                            value: v.to_string(),
                            why: "alerting on maneuver spreads (kinematic alerting) is not supported; set it to 0",
                        },
                    ));
            }
        }
        let det_key = format!("{p}detector");
        let det_id = e.string(&det_key)?.ok_or_else(|| e.missing(&det_key))?;
        let detector = build_detector(e, name, &det_id)?;
        levels.push(AlertLevel {
            region,
            alerting_time_s,
            early_alerting_time_s,
            detector,
        });
    }
    if levels.is_empty() {
        return Err(e.missing(&format!(
            "{name}_alert_1_region (alerter '{name}' has no levels)"
        )));
    }
    Ok(Alerter {
        name: name.to_string(),
        levels,
    })
}

fn build_detector(e: &mut Entries<'_>, alerter: &str, id: &str) -> Result<Detector, ParseError> {
    let class_key = format!("{alerter}_load_core_detection_{id}");
    let class = e.string(&class_key)?.ok_or_else(|| e.missing(&class_key))?;
    let short = class.rsplit('.').next().unwrap_or(&class).to_string();
    let p = format!("{alerter}_{id}_");
    let need = |e: &mut Entries<'_>, param: &str, dim: Dimension| -> Result<f64, ParseError> {
        let key = format!("{p}{param}");
        e.non_negative(&key, dim)?.ok_or_else(|| e.missing(&key))
    };
    let at_class = |e: &Entries<'_>, kind: ErrorKind| {
        let (line, col) = e
            .map
            .get(&class_key)
            .map_or((0, 1), |x| (x.line, x.value_col));
        e.err_at(line, col, kind)
    };
    match short.as_str() {
        "WCV_TAUMOD" => {
            let dthr = need(e, "WCV_DTHR", Dimension::Length)?;
            let zthr = need(e, "WCV_ZTHR", Dimension::Length)?;
            let tthr = need(e, "WCV_TTHR", Dimension::Time)?;
            let tcoa = need(e, "WCV_TCOA", Dimension::Time)?;
            WcvTaumod::new(dthr, zthr, tthr, tcoa)
                .map(Detector::WcvTaumod)
                .ok_or_else(|| {
                    at_class(
                        e,
                        ErrorKind::Syntax(format!(
                            "invalid WCV_TAUMOD thresholds for {alerter}_{id}"
                        )),
                    )
                })
        }
        "CDCylinder" => {
            let d = need(e, "D", Dimension::Length)?;
            let h = need(e, "H", Dimension::Length)?;
            Cylinder::new(d, h).map(Detector::Cylinder).ok_or_else(|| {
                at_class(
                    e,
                    ErrorKind::Syntax(format!("{alerter}_{id}: D and H must be > 0")),
                )
            })
        }
        "TCAS3D" => {
            let mut levels_m = [0.0; TCAS_LEVELS - 1];
            for (i, x) in levels_m.iter_mut().enumerate() {
                *x = need(e, &format!("TCAS_level_{}", i + 1), Dimension::Length)?;
            }
            let col =
                |e: &mut Entries<'_>, name: &str, dim| -> Result<[f64; TCAS_LEVELS], ParseError> {
                    let mut out = [0.0; TCAS_LEVELS];
                    for (i, x) in out.iter_mut().enumerate() {
                        *x = need(e, &format!("TCAS_{name}_{}", i + 1), dim)?;
                    }
                    Ok(out)
                };
            let tau_s = col(e, "TAU", Dimension::Time)?;
            let tcoa_s = col(e, "TCOA", Dimension::Time)?;
            let dmod_m = col(e, "DMOD", Dimension::Length)?;
            let zthr_m = col(e, "ZTHR", Dimension::Length)?;
            let hmd_m = col(e, "HMD", Dimension::Length)?;
            let hmd_filter = e.boolean(&format!("{p}TCAS_HMDFilter"))?.unwrap_or(false);
            TcasTable::new(levels_m, tau_s, tcoa_s, dmod_m, zthr_m, hmd_m, hmd_filter)
                .map(|t| Detector::Tcas3d(Box::new(t)))
                .ok_or_else(|| {
                    at_class(
                        e,
                        ErrorKind::Syntax(format!("{alerter}_{id}: TCAS levels must increase")),
                    )
                })
        }
        s if s.ends_with("_SUM") => Err(at_class(
            e,
            ErrorKind::SumNotSupported {
                key: class_key.clone(),
                class: class.clone(),
            },
        )),
        _ => Err(at_class(
            e,
            ErrorKind::Unsupported {
                key: class_key.clone(),
                value: class.clone(),
                why: "detector not supported (supported: WCV_TAUMOD, CDCylinder, TCAS3D)",
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "\
lookahead_time = 180.0 [s]
hysteresis_time = 5 [s]
alerting_m = 2
alerting_n = 4
alerters = A
A_alert_1_region = MID
A_alert_1_alerting_time = 55.0 [s]
A_alert_1_early_alerting_time = 75.0 [s]
A_alert_1_detector = det_1
A_det_1_WCV_DTHR = 0.66 [nmi]
A_det_1_WCV_ZTHR = 450.0 [ft]
A_det_1_WCV_TTHR = 35.0 [s]
A_det_1_WCV_TCOA = 0.0 [s]
A_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.WCV_TAUMOD
";

    fn check_err(text: &str, line: usize, needle: &str) {
        let e = parse_conf("t.conf", text).expect_err("must be rejected");
        let msg = e.to_string();
        assert_eq!(e.location.line, line, "{msg}");
        assert!(msg.contains(needle), "'{msg}' should mention '{needle}'");
    }

    #[test]
    fn minimal_config_is_read_in_si() {
        let c = parse_conf("t.conf", MINIMAL).unwrap();
        assert_eq!(c.lookahead_s(), 180.0);
        assert_eq!(c.mofn(), MofN::new(2, 4));
        assert_eq!(c.alerters().len(), 1);
        let Detector::WcvTaumod(w) = c.alerters()[0].levels()[0].detector() else {
            panic!()
        };
        assert!((w.dthr_m() - 0.66 * 1852.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_unit_is_an_error_with_position() {
        check_err(
            &MINIMAL.replace("450.0 [ft]", "450.0 [fathom]"),
            11,
            "unknown unit [fathom]",
        );
        let e = parse_conf("t.conf", &MINIMAL.replace("450.0 [ft]", "450.0 [fathom]")).unwrap_err();
        assert_eq!(e.location.column, 26);
        assert!(e.to_string().starts_with("t.conf:11:26:"));
    }

    #[test]
    fn wrong_dimension_unknown_key_and_nan_are_errors() {
        check_err(
            &MINIMAL.replace("450.0 [ft]", "450.0 [s]"),
            11,
            "not a unit of length",
        );
        check_err(
            &format!("{MINIMAL}lookahed_time = 3 [s]\n"),
            15,
            "unknown configuration key 'lookahed_time'",
        );
        check_err(
            &MINIMAL.replace("180.0 [s]", "NaN [s]"),
            1,
            "not a finite number",
        );
        check_err(&MINIMAL.replace("180.0 [s]", "-1 [s]"), 1, "out of range");
        check_err(
            &format!("{MINIMAL}hysteresis_time = 1 [s]\n"),
            15,
            "duplicate key",
        );
    }

    #[test]
    fn sum_configuration_is_rejected_naming_the_key() {
        let e = parse_conf(
            "t.conf",
            &MINIMAL.replace("WCV_TAUMOD\n", "WCV_TAUMOD_SUM\n"),
        )
        .unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::SumNotSupported { ref key, .. } if key == "A_load_core_detection_det_1")
        );
        assert_eq!(e.location.line, 14);
    }
}
